/**
 * Real OSV records from ../shared/corpus/osv (read-only) in the engine's {@link OsvRecord} shape, for
 * the advisory store tests and their crash child process.
 */
import type { OsvAffected, OsvRange, OsvRecord, OsvSeverity } from '../../../lib/engine/advisories/osv';

import { corpusBytes } from '../../helpers/corpus';

type Raw = Record<string, unknown>;

function arr<T>(v: unknown): T[] {
  // `versions: null` occurs in a real legacy Alpine record (CVE-2012-2812): absent and null both mean none.
  return Array.isArray(v) ? (v as T[]) : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Readonly<Record<string, unknown>> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * What the feed reader does, as far as these tests need it: arrays default to [], snake_case
 * `*_specific` fields become camelCase, fields the engine does not model are dropped.
 */
export function toOsvRecord(raw: Raw): OsvRecord {
  const affected: OsvAffected[] = arr<Raw>(raw.affected).map((a) => {
    const pkg = obj(a.package) ?? {};
    return {
      ecosystem: String(pkg.ecosystem),
      name: String(pkg.name),
      ...(str(pkg.purl) ? { purl: str(pkg.purl) } : {}),
      ranges: arr<Raw>(a.ranges).map((r): OsvRange => ({
        type: r.type as OsvRange['type'],
        ...(str(r.repo) ? { repo: str(r.repo) } : {}),
        events: arr<OsvRange['events'][number]>(r.events),
      })),
      versions: arr<string>(a.versions),
      severity: arr<OsvSeverity>(a.severity),
      ...(obj(a.ecosystem_specific) ? { ecosystemSpecific: obj(a.ecosystem_specific) } : {}),
      ...(obj(a.database_specific) ? { databaseSpecific: obj(a.database_specific) } : {}),
    };
  });
  return {
    id: String(raw.id),
    modified: String(raw.modified),
    ...(str(raw.published) ? { published: str(raw.published) } : {}),
    ...(str(raw.withdrawn) ? { withdrawn: str(raw.withdrawn) } : {}),
    aliases: arr<string>(raw.aliases),
    related: arr<string>(raw.related),
    upstream: arr<string>(raw.upstream),
    ...(str(raw.summary) ? { summary: str(raw.summary) } : {}),
    ...(str(raw.details) ? { details: str(raw.details) } : {}),
    severity: arr<OsvSeverity>(raw.severity),
    affected,
    references: arr<{ type: string; url: string }>(raw.references),
    ...(obj(raw.database_specific) ? { databaseSpecific: obj(raw.database_specific) } : {}),
  };
}

/** Every record file of the corpus, in index.json order (two ids occur twice: spec example and real record). */
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
