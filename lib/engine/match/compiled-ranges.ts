/**
 * Compiled OSV ranges (issue 16 item 4): the same evaluation as {@link isAffected} in ranges.ts, with
 * the work that depends only on the advisory done once per record revision instead of once per
 * installed version — every event version parsed and validated once, the events sorted once, the
 * limits split out once — and the installed version parsed once per scheme per package
 * ({@link InstalledVersion}) instead of once per comparison.
 *
 * Results are identical to ranges.ts by construction (same comparator, same stable sort, same walk,
 * same messages) and by test (test/engine/match/compiled-ranges.test.ts compares both over every
 * record of the shipped feeds; test/engine/match/matcher.test.ts compares whole scans). ranges.ts stays
 * the reference and the path for anything unusual (a Go `(devel)` version).
 *
 * The cache ({@link RangeCache}) is bounded and can never answer from a stale compiled form: an entry
 * is found by record id + `modified` + position, and used only when it was compiled from the very same
 * `affected[]` object, or from one whose ranges hold exactly the same types and event versions (checked
 * string by string on every hit). A new revision, a store that re-parsed the record, or two stores
 * holding different records under one id and date all fall through to a fresh compile.
 * @packageDocumentation
 */
import { normalizePackageName } from '../advisories/names';
import type { OsvAffected, OsvRange, OsvRecord } from '../advisories/osv';
import type { VersionScheme } from '../versions/scheme';
import { GO_DEVEL, isAffected, type AffectedResult, type RangeHit } from './ranges';

/** OSV's `introduced: "0"`: below every version, never parsed (ranges.ts compares the string `'0'` the same way). */
const ZERO: unique symbol = Symbol('zero');

/** A scheme as the compiled evaluation uses it: parse once, compare parsed values. */
interface Order {
  /** The parsed version, or undefined exactly when the scheme's `isValid` rejects it. */
  parse(v: string): unknown;
  compare(a: unknown, b: unknown): number;
}

const ORDERS = new WeakMap<VersionScheme, Order>();

/**
 * The parsed order of a scheme: its own `parse`/`compareParsed` when it has them, else the string
 * itself as the parsed form (validity checked once, `compare` on strings — still one validity check
 * per version instead of one per comparison).
 */
function orderOf(s: VersionScheme): Order {
  let o = ORDERS.get(s);
  if (!o) {
    const { parse, compareParsed } = s;
    o = parse && compareParsed
      ? { parse: (v) => parse.call(s, v), compare: (a, b) => compareParsed.call(s, a, b) }
      : { parse: (v) => (s.isValid(v) ? v : undefined), compare: (a, b) => s.compare(a as string, b as string) };
    ORDERS.set(s, o);
  }
  return o;
}

/** ranges.ts's `cmp`: `'0'` (here {@link ZERO}) below everything, else the scheme's order. */
function cmp(o: Order, a: unknown, b: unknown): number {
  if (a === ZERO) return b === ZERO ? 0 : -1;
  if (b === ZERO) return 1;
  return o.compare(a, b);
}

const INTRODUCED = 0;
const FIXED = 1;
const LAST_AFFECTED = 2;
const LIMIT = 3;

interface CompiledEvent {
  readonly kind: typeof INTRODUCED | typeof FIXED | typeof LAST_AFFECTED;
  /** The version as the advisory spells it (what a finding reports). */
  readonly raw: string;
  readonly v: unknown;
}

/** One ECOSYSTEM or SEMVER range, ready to evaluate; or the problem that makes it unusable. */
interface CompiledRange {
  readonly type: 'ECOSYSTEM' | 'SEMVER';
  readonly semver: boolean;
  readonly problem?: string;
  readonly limits: readonly { readonly raw: string; readonly v: unknown }[];
  /** Without the limits, sorted as ranges.ts sorts them (stable, same comparator). */
  readonly events: readonly CompiledEvent[];
}

/** One `affected[]` entry compiled for one pair of schemes. */
export interface CompiledAffected {
  /** Per range, in order; undefined for GIT ranges (never evaluated). */
  readonly ranges: readonly (CompiledRange | undefined)[];
  readonly scheme: VersionScheme;
  readonly semver: VersionScheme;
  /** What it was compiled from: every range's type, then its events' kinds and versions, flattened (the hit check). */
  readonly source: readonly string[];
}

const KIND_NAMES = ['i', 'f', 'l', 'x'] as const;

function eventOf(e: OsvRange['events'][number]): [number, string] {
  return 'introduced' in e ? [INTRODUCED, e.introduced] : 'fixed' in e ? [FIXED, e.fixed] : 'last_affected' in e ? [LAST_AFFECTED, e.last_affected] : [LIMIT, e.limit];
}

function compileRange(range: OsvRange, scheme: VersionScheme, isSemver: boolean): CompiledRange | undefined {
  const kind = range.type;
  if (kind === 'GIT') return undefined;
  const o = orderOf(scheme);
  const parsed: { kind: number; raw: string; v: unknown }[] = [];
  const bad: string[] = [];
  for (const e of range.events) {
    const [k, raw] = eventOf(e);
    if (raw === '0') {
      parsed.push({ kind: k, raw, v: ZERO });
      continue;
    }
    const v = o.parse(raw);
    if (v === undefined) bad.push(raw);
    parsed.push({ kind: k, raw, v });
  }
  if (bad.length > 0) {
    return { type: kind, semver: isSemver, problem: `${kind} range has versions ${scheme.name} cannot order: ${bad.slice(0, 3).join(', ')}`, limits: [], events: [] };
  }
  const limits = parsed.filter((e) => e.kind === LIMIT).map(({ raw, v }) => ({ raw, v }));
  const events = parsed.filter((e) => e.kind !== LIMIT).sort((a, b) => cmp(o, a.v, b.v)) as CompiledEvent[];
  return { type: kind, semver: isSemver, limits, events };
}

function sourceOf(affected: OsvAffected): string[] {
  const out: string[] = [];
  for (const r of affected.ranges) {
    out.push(r.type, String(r.events.length));
    for (const e of r.events) {
      const [k, raw] = eventOf(e);
      out.push(KIND_NAMES[k], raw);
    }
  }
  return out;
}

/** True when `affected`'s ranges are exactly those `source` was taken from (no allocation). */
function sameSource(source: readonly string[], affected: OsvAffected): boolean {
  let i = 0;
  for (const r of affected.ranges) {
    if (source[i++] !== r.type || source[i++] !== String(r.events.length)) return false;
    for (const e of r.events) {
      const [k, raw] = eventOf(e);
      if (source[i++] !== KIND_NAMES[k] || source[i++] !== raw) return false;
    }
  }
  return i === source.length;
}

/** Compiles one `affected[]` entry: ECOSYSTEM ranges with `scheme`, SEMVER ranges with `semver`. */
export function compileAffected(affected: OsvAffected, scheme: VersionScheme, semver: VersionScheme): CompiledAffected {
  return {
    ranges: affected.ranges.map((r) => compileRange(r, r.type === 'SEMVER' ? semver : scheme, r.type === 'SEMVER')),
    scheme, semver, source: sourceOf(affected),
  };
}

/**
 * One installed version, parsed at most once per scheme (the package's and SemVer) whatever the number
 * of ranges it is compared with. `'0'` is {@link ZERO}, as ranges.ts compares it.
 */
export class InstalledVersion {
  private eco: unknown;
  private sem: unknown;
  private ecoDone = false;
  private semDone = false;

  constructor(readonly version: string, readonly scheme: VersionScheme, readonly semver: VersionScheme) {}

  /** The parsed version under the range's scheme, or undefined when that scheme rejects it. */
  parsed(isSemver: boolean): unknown {
    if (isSemver) {
      if (!this.semDone) {
        this.sem = this.parse(this.semver);
        this.semDone = true;
      }
      return this.sem;
    }
    if (!this.ecoDone) {
      this.eco = this.parse(this.scheme);
      this.ecoDone = true;
    }
    return this.eco;
  }

  private parse(s: VersionScheme): unknown {
    const v = orderOf(s).parse(this.version);
    return v !== undefined && this.version === '0' ? ZERO : v;
  }
}

/** ranges.ts's `inRange` on a compiled range and a parsed installed version: the hit, the problem, or undefined (not affected). */
function inCompiled(v: unknown, r: CompiledRange, o: Order): RangeHit | string | undefined {
  if (r.problem !== undefined) return r.problem;
  if (r.limits.length > 0) {
    let below = false;
    for (const l of r.limits) {
      if (l.raw === '*' || cmp(o, v, l.v) < 0) {
        below = true;
        break;
      }
    }
    if (!below) return undefined;
  }
  let open: string | undefined;
  let affected = false;
  let fixedAbove: string | undefined;
  let lastAbove: string | undefined;
  for (const e of r.events) {
    if (e.kind === INTRODUCED) {
      if (cmp(o, v, e.v) >= 0) {
        affected = true;
        open = e.raw;
      }
    } else if (e.kind === FIXED) {
      if (cmp(o, v, e.v) >= 0) affected = false;
      else if (affected && fixedAbove === undefined) fixedAbove = e.raw;
    } else if (cmp(o, v, e.v) > 0) affected = false;
    else if (affected && lastAbove === undefined) lastAbove = e.raw;
  }
  if (!affected) return undefined;
  const upper = fixedAbove !== undefined ? `, <${fixedAbove}` : lastAbove !== undefined ? `, <=${lastAbove}` : '';
  return { kind: r.type, range: `>=${open ?? '0'}${upper}`, ...(fixedAbove !== undefined ? { fixed: fixedAbove } : {}) };
}

/**
 * {@link isAffected} on a compiled entry: same result, same problems, same order. `affected` is the
 * entry `compiled` was made from (its `versions` list is read live).
 */
export function isAffectedCompiled(installed: InstalledVersion, affected: OsvAffected, compiled: CompiledAffected): AffectedResult {
  const { version, scheme, semver } = installed;
  if (compiled.scheme !== scheme || compiled.semver !== semver) throw new Error('compiled ranges used with other schemes than they were compiled for');
  if (version === GO_DEVEL && scheme.name === 'go') return isAffected(version, affected, scheme, semver);
  const eco = orderOf(scheme);
  const sem = orderOf(semver);
  if (affected.versions.includes(version)) {
    let fixed: string | undefined;
    for (const r of compiled.ranges) {
      if (!r) continue;
      const v = installed.parsed(r.semver);
      if (v === undefined) continue;
      const h = inCompiled(v, r, r.semver ? sem : eco);
      if (typeof h === 'object' && h.fixed) {
        fixed = h.fixed;
        break;
      }
    }
    return { affected: true, hit: { kind: 'versions', range: `= ${version}`, ...(fixed ? { fixed } : {}) } };
  }
  const problems: string[] = [];
  for (const r of compiled.ranges) {
    if (!r) continue;
    const v = installed.parsed(r.semver);
    if (v === undefined) {
      problems.push(`installed version ${version} is not a valid ${(r.semver ? semver : scheme).name} version`);
      continue;
    }
    const h = inCompiled(v, r, r.semver ? sem : eco);
    if (typeof h === 'object') return { affected: true, hit: h };
    if (h) problems.push(h);
  }
  return { affected: false, problems };
}

/** Records per generation of the default cache: the shared cache holds at most twice this many records' compiled entries. */
export const RANGE_CACHE_GENERATION = 8192;

interface CacheEntry {
  /** The `affected[]` object it was compiled from or last checked against (an identity hit needs no check). */
  readonly affected: OsvAffected;
  readonly compiled: CompiledAffected;
}

/** One record revision's compiled entries, by position in `affected[]`. */
interface Slot {
  readonly modified: string;
  readonly entries: (CacheEntry | undefined)[];
}

/** What a {@link RangeCache} did (tests and benchmarks). */
export interface RangeCacheStats {
  /** Answered for the very same `affected[]` object. */
  hits: number;
  /** Answered for an equal `affected[]` object (a store that parsed the record again), checked event by event. */
  verifiedHits: number;
  /** Compiled: not cached, evicted, a new revision, or cached from different ranges. */
  compiles: number;
  /** Found under the record's id and date but compiled from other ranges or for other schemes: replaced. */
  stale: number;
}

/**
 * Compiled `affected[]` entries by record id, then `modified`, then position, bounded: two generations
 * of at most `generation` records each (a hit in the older one moves to the young one; a full young
 * generation becomes the older one and the oldest is dropped) — an LRU without per-hit deletes. Keyed
 * by the id string itself (no key built per call: V8 keeps a string's hash). Never answers with a form
 * compiled from other ranges or for other schemes (see the module comment).
 */
export class RangeCache {
  private young = new Map<string, Slot>();
  private older = new Map<string, Slot>();
  readonly stats: RangeCacheStats = { hits: 0, verifiedHits: 0, compiles: 0, stale: 0 };

  constructor(readonly generation = RANGE_CACHE_GENERATION) {
    if (!(generation >= 1)) throw new RangeError(`RangeCache generation must be at least 1, got ${generation}`);
  }

  /** Records held (at most twice the generation). */
  get size(): number {
    let n = this.young.size;
    for (const k of this.older.keys()) if (!this.young.has(k)) n++;
    return n;
  }

  /** The compiled form of `record.affected[index]` (which must be `affected`) for these schemes. */
  compiled(record: OsvRecord, index: number, affected: OsvAffected, scheme: VersionScheme, semver: VersionScheme): CompiledAffected {
    let slot = this.young.get(record.id);
    if (slot === undefined) {
      slot = this.older.get(record.id);
      if (slot !== undefined) this.put(record.id, slot);
    }
    if (slot === undefined || slot.modified !== record.modified) {
      if (slot !== undefined) this.stats.stale++;
      slot = { modified: record.modified, entries: [] };
      this.put(record.id, slot);
    }
    const e = slot.entries[index];
    if (e !== undefined && e.compiled.scheme === scheme && e.compiled.semver === semver) {
      if (e.affected === affected) {
        this.stats.hits++;
        return e.compiled;
      }
      if (sameSource(e.compiled.source, affected)) {
        this.stats.verifiedHits++;
        // Keep the newest object, so the next hit on it is an identity hit.
        slot.entries[index] = { affected, compiled: e.compiled };
        return e.compiled;
      }
    }
    if (e !== undefined) this.stats.stale++;
    this.stats.compiles++;
    const compiled = compileAffected(affected, scheme, semver);
    slot.entries[index] = { affected, compiled };
    return compiled;
  }

  private put(id: string, slot: Slot): void {
    if (this.young.size >= this.generation) {
      this.older = this.young;
      this.young = new Map();
    }
    this.young.set(id, slot);
  }
}

const AFFECTED_INDEX = new WeakMap<OsvRecord, { readonly affected: readonly OsvAffected[]; readonly byKey: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>> }>();
const NONE: readonly number[] = [];

/**
 * The positions in `record.affected` whose ecosystem is `ecosystem` and whose normalised name is
 * `norm`, in order — exactly the entries a loop over every entry testing `affected.ecosystem ===
 * ecosystem && normalizePackageName(…) === norm` would keep (a Debian record has one entry per
 * release: that loop normalised every one of them for every lookup). Built once per record object (a
 * WeakMap: a new revision or a re-parsed record is another object and gets its own index) and rebuilt
 * when the record's `affected` array was replaced. Records are never mutated in place (the stores
 * share them between callers).
 */
export function affectedPositions(record: OsvRecord, ecosystem: string, norm: string): readonly number[] {
  let idx = AFFECTED_INDEX.get(record);
  if (idx === undefined || idx.affected !== record.affected) {
    const byKey = new Map<string, Map<string, number[]>>();
    record.affected.forEach((a, i) => {
      let names = byKey.get(a.ecosystem);
      if (!names) byKey.set(a.ecosystem, (names = new Map()));
      const n = normalizePackageName(a.ecosystem, a.name);
      const at = names.get(n);
      if (at) at.push(i);
      else names.set(n, [i]);
    });
    idx = { affected: record.affected, byKey };
    AFFECTED_INDEX.set(record, idx);
  }
  return idx.byKey.get(ecosystem)?.get(norm) ?? NONE;
}
