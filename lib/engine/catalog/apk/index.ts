import { boundedLines, checkTextSize } from '../bounds';
import { fileCataloger } from '../file-cataloger';
import { purl } from '../purl';
import type { Cataloger } from '../types';

/** One installed package from the apk-tools database. */
export interface ApkEntry {
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  /** `o:` origin — the aport (source package) the package was built from; the name when absent. */
  readonly origin: string;
}

/** Packages and the records/lines that could not be used. */
export interface ApkParseResult {
  readonly entries: ApkEntry[];
  readonly problems: string[];
}

/**
 * Parses `/lib/apk/db/installed` (apk-tools "installed database", the same `K:value` record format as
 * APKINDEX, https://wiki.alpinelinux.org/wiki/Apk_spec): one line per field with a one-letter key,
 * records separated by a blank line. Used keys: `P` name, `V` version, `A` architecture, `o` origin.
 * File-list keys (`F`, `R`, `Z`, `a`, `M`) and the rest are ignored. Throws a `LimitExceededError` for
 * a text or a line past `PARSE_BOUNDS`.
 */
export function parseApkInstalled(text: string): ApkParseResult {
  const entries: ApkEntry[] = [];
  const problems: string[] = [];
  let rec: Map<string, string> | undefined;
  let start = 0;
  const flush = (): void => {
    if (!rec) return;
    const name = rec.get('P');
    const version = rec.get('V');
    if (name && version) {
      const arch = rec.get('A');
      entries.push({ name, version, ...(arch ? { arch } : {}), origin: rec.get('o') || name });
    } else {
      problems.push(`line ${start}: record ${name ? `"${name}" ` : ''}without ${name ? 'V:' : 'P:'}`);
    }
    rec = undefined;
  };
  checkTextSize(text.length, 'apk database');
  for (const [line, no] of boundedLines(text, 'apk database')) {
    const i = no - 1;
    if (line.trim() === '') { flush(); continue; }
    if (line.length < 2 || line[1] !== ':') { problems.push(`line ${i + 1}: not a "K:value" line`); continue; }
    if (!rec) { rec = new Map(); start = i + 1; }
    const key = line[0];
    // First occurrence wins for the package keys; repeated keys (F/R/Z) belong to the file list.
    if (!rec.has(key)) rec.set(key, line.slice(2).trim());
  }
  flush();
  return { entries, problems };
}

const INSTALLED = '/lib/apk/db/installed';

/**
 * The apk cataloger: ecosystem `Alpine`, source package = origin, source version = version (apk
 * builds every subpackage of an aport at the aport's version), purl
 * `pkg:apk/alpine/<name>@<version>?arch=<arch>` (purl-spec PURL-TYPES "apk").
 */
export const apkCataloger: Cataloger = fileCataloger<ApkEntry>({
  name: 'apk-db',
  version: '1.1.0',
  wants: (path: string): boolean => path === INSTALLED,
  onlyWanted: true,
  truncated: { policy: 'parse-then-note', reason: () => 'apk database truncated at the read limit: packages after the cut are missing' },
  parse: (f) => {
    const { entries, problems } = parseApkInstalled(f.body.toString('utf8'));
    return { items: entries, problems };
  },
  unreadableReason: (e) => `apk database unreadable: ${(e as Error).message}`,
  problemReason: (p) => `apk database: ${p}`,
  toPackage: (e) => ({
    ecosystem: 'Alpine', name: e.name, version: e.version,
    purl: purl('apk', 'alpine', e.name, e.version, { arch: e.arch }),
    sourceName: e.origin, sourceVersion: e.version,
    ...(e.arch ? { arch: e.arch } : {}),
  }),
});
