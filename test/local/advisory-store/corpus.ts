/**
 * Real OSV records from ../shared/corpus/osv (read-only) in the engine's {@link OsvRecord} shape, for
 * the advisory store tests and their crash child process.
 */
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { toOsvRecord, type Raw } from '../../helpers/osv';

export { toOsvRecord };

import { corpusBytes } from '../../helpers/corpus';

export function loadCorpus(): OsvRecord[] {
  const index = JSON.parse(corpusBytes('osv', 'index.json').toString('utf8')) as { file: string }[];
  return index.map((e) => toOsvRecord(JSON.parse(corpusBytes('osv', e.file).toString('utf8')) as Raw));
}

/** The corpus with one record per id, as a store must hold it: the newest `modified` wins, the first on a tie. */
export function newestById(records: readonly OsvRecord[]): Map<string, OsvRecord> {
  const out = new Map<string, OsvRecord>();
  for (const r of records) {
    const old = out.get(r.id);
    if (!old || Date.parse(r.modified) > Date.parse(old.modified)) out.set(r.id, r);
  }
  return out;
}
