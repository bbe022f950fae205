import type { OsvAffected, OsvEvent, OsvRange } from '../advisories/osv';
import type { VersionScheme } from '../versions/scheme';

/** Why a version is affected: the explicit list, or one range with its bounds. */
export interface RangeHit {
  readonly kind: 'versions' | 'ECOSYSTEM' | 'SEMVER';
  /** The bounds that hold the version, e.g. `>=0, <3.0.11-1~deb12u2` or `= 1.2.3`. */
  readonly range: string;
  /** The first version that is not affected any more, when the advisory names one above the installed version. */
  readonly fixed?: string;
}

/** The outcome of checking one installed version against one `affected[]` entry. */
export type AffectedResult =
  | { readonly affected: true; readonly hit: RangeHit }
  | { readonly affected: false; readonly problems: readonly string[] };

const eventVersion = (e: OsvEvent): string =>
  'introduced' in e ? e.introduced : 'fixed' in e ? e.fixed : 'last_affected' in e ? e.last_affected : e.limit;

/**
 * One OSV range against one version, following the schema's evaluation algorithm
 * (https://ossf.github.io/osv-schema/#evaluation): events sorted by version (`introduced: "0"` first);
 * walking them, an `introduced` at or below the version opens an affected interval, a `fixed` at or
 * below it closes it, a `last_affected` below it closes it; `limit` events cap the range (a version at
 * or above every limit is never affected). Events whose version the scheme cannot order make the
 * range unusable: it is reported as a problem instead of guessed.
 */
export function inRange(version: string, range: OsvRange, scheme: VersionScheme): { hit?: RangeHit; problem?: string } {
  const kind = range.type;
  if (kind === 'GIT') return {};
  const bad = range.events.map(eventVersion).filter((v) => v !== '0' && !scheme.isValid(v));
  if (bad.length > 0) return { problem: `${kind} range has versions ${scheme.name} cannot order: ${bad.slice(0, 3).join(', ')}` };
  const cmp = (a: string, b: string): number => (a === '0' ? (b === '0' ? 0 : -1) : b === '0' ? 1 : scheme.compare(a, b));
  const limits = range.events.filter((e): e is { limit: string } => 'limit' in e).map((e) => e.limit);
  if (limits.length > 0 && !limits.some((l) => l === '*' || cmp(version, l) < 0)) return {};
  const events = range.events.filter((e) => !('limit' in e)).sort((a, b) => cmp(eventVersion(a), eventVersion(b)));
  let open: string | undefined;
  let affected = false;
  let fixedAbove: string | undefined;
  let lastAbove: string | undefined;
  for (const e of events) {
    if ('introduced' in e) {
      if (cmp(version, e.introduced) >= 0) {
        affected = true;
        open = e.introduced;
      }
    } else if ('fixed' in e) {
      if (cmp(version, e.fixed) >= 0) affected = false;
      else if (affected && fixedAbove === undefined) fixedAbove = e.fixed;
    } else if ('last_affected' in e) {
      if (cmp(version, e.last_affected) > 0) affected = false;
      else if (affected && lastAbove === undefined) lastAbove = e.last_affected;
    }
  }
  if (!affected) return {};
  const upper = fixedAbove !== undefined ? `, <${fixedAbove}` : lastAbove !== undefined ? `, <=${lastAbove}` : '';
  return { hit: { kind, range: `>=${open ?? '0'}${upper}`, ...(fixedAbove !== undefined ? { fixed: fixedAbove } : {}) } };
}

/** The version Go gives a module built from a source tree, not a release (`runtime/debug` `(devel)`). */
export const GO_DEVEL = '(devel)';

/**
 * True for a range that holds every version: an `introduced: "0"` and nothing that ever closes or
 * caps it (no `fixed`, `last_affected` or `limit` other than `*`).
 */
export function coversEveryVersion(range: OsvRange): boolean {
  if (range.type === 'GIT') return false;
  const e = range.events;
  return e.some((x) => 'introduced' in x && x.introduced === '0')
    && e.every((x) => 'introduced' in x || ('limit' in x && x.limit === '*'));
}

/**
 * A Go module at `(devel)` (a main module built from a checkout, a dependency replaced by a local
 * directory: catalog/golang) has no place in any order: it could be any commit. It is affected only
 * where the advisory says every version is (a range `introduced: "0"` that nothing closes — e.g. a
 * module abandoned with the flaw) and otherwise not matched; it is never a parse problem (issue 14 item 4).
 */
function develAffected(affected: OsvAffected): AffectedResult {
  const all = affected.ranges.find(coversEveryVersion);
  if (all) return { affected: true, hit: { kind: all.type === 'SEMVER' ? 'SEMVER' : 'ECOSYSTEM', range: '>=0' } };
  return { affected: false, problems: [] };
}

/**
 * One installed version against one `affected[]` entry: its explicit `versions` list (exact string
 * match, as OSV defines it) or any of its ECOSYSTEM/SEMVER ranges, the SEMVER ones ordered by
 * `semver`. A range that cannot be evaluated is a problem, never a silent "not affected" when nothing
 * else matched.
 */
export function isAffected(version: string, affected: OsvAffected, scheme: VersionScheme, semver: VersionScheme): AffectedResult {
  if (version === GO_DEVEL && scheme.name === 'go') return develAffected(affected);
  const problems: string[] = [];
  const fixedOf = (): string | undefined => {
    for (const r of affected.ranges) {
      const s = r.type === 'SEMVER' ? semver : scheme;
      if (r.type === 'GIT' || !s.isValid(version)) continue;
      const h = inRange(version, r, s).hit;
      if (h?.fixed) return h.fixed;
    }
    return undefined;
  };
  if (affected.versions.includes(version)) {
    const fixed = fixedOf();
    return { affected: true, hit: { kind: 'versions', range: `= ${version}`, ...(fixed ? { fixed } : {}) } };
  }
  for (const r of affected.ranges) {
    if (r.type === 'GIT') continue;
    const s = r.type === 'SEMVER' ? semver : scheme;
    if (!s.isValid(version)) {
      problems.push(`installed version ${version} is not a valid ${s.name} version`);
      continue;
    }
    const { hit, problem } = inRange(version, r, s);
    if (hit) return { affected: true, hit };
    if (problem) problems.push(problem);
  }
  return { affected: false, problems };
}
