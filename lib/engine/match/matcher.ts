import { normalizePackageName } from '../advisories/names';
import type { OsvAffected, OsvRecord } from '../advisories/osv';
import type { Finding, Package, Unknown } from '../model';
import type { VersionScheme } from '../versions/scheme';
import { affectedPositions, InstalledVersion, isAffectedCompiled, RangeCache } from './compiled-ranges';
import { isAffected, type RangeHit } from './ranges';
import { detailsSentence, findingCves, knownExploited, resolveSeverity, type KnownExploited, type MatcherStore, type ResolvedSeverity } from './resolve';

export type { KnownExploited, MatcherStore } from './resolve';

/** The version orderings the matcher needs: one per ecosystem, and SemVer for OSV `SEMVER` ranges. */
export interface SchemeRegistry {
  schemeFor(ecosystem: string): VersionScheme | undefined;
  readonly semver: VersionScheme;
}

/** How a package was matched to an advisory (`findings[].match` in the JSON report). */
export interface MatchDetail {
  /** The OSV ecosystem looked up, e.g. `Debian:12`, `npm`. */
  readonly ecosystem: string;
  /** The name looked up: the package's, or its source package's for Debian, Ubuntu and Alpine. */
  readonly name: string;
  readonly via: 'package' | 'source package';
  /** The version compared: the source version for source-package matches. */
  readonly version: string;
  readonly kind: RangeHit['kind'];
  readonly range: string;
}

/** A vulnerability finding with the fields only vulnerabilities have. */
export interface VulnerabilityFinding extends Finding, ResolvedSeverity {
  readonly type: 'vulnerability';
  readonly package: string;
  readonly installedVersion: string;
  /** Set when CISA's KEV catalog lists the vulnerability's CVE: the default policy quarantines it whatever its severity. */
  readonly knownExploited?: KnownExploited;
  readonly match: MatchDetail;
  /** The records' `summary`, else the first sentence of their `details` (else of NVD's description). */
  readonly summary?: string;
  /** OSV `upstream`: the vulnerabilities this distro record derives from (a DEBIAN-CVE's CVE). */
  readonly upstream?: readonly string[];
  /** The earliest OSV `published` of the records behind the finding (the policy's grace period counts from it). */
  readonly published?: string;
}

/**
 * A package version OpenSSF's malicious-packages data (OSV `MAL-` records, part of OSV's npm and PyPI
 * exports; https://github.com/ossf/malicious-packages) lists as malicious: a `malware` finding, which the
 * policy's baseline quarantines — not a vulnerability with a severity and a fix.
 */
export interface MaliciousPackageFinding extends Finding {
  readonly type: 'malware';
  readonly package: string;
  readonly installedVersion: string;
  readonly match: MatchDetail;
  readonly summary?: string;
  readonly published?: string;
}

/** What the matcher reports: vulnerabilities, and malicious package versions. */
export type MatchedFinding = VulnerabilityFinding | MaliciousPackageFinding;

/** True for findings the matcher makes (they are made again on every re-evaluation, never stored with the inventory). */
export function isMatcherFinding(f: Finding): boolean {
  return f.type === 'vulnerability' || (f.type === 'malware' && typeof (f as { match?: unknown }).match === 'object' && (f as { match?: unknown }).match !== null);
}

/**
 * The matcher plug-in: its version is part of every stored evaluation (DESIGN.md "Rules of the house").
 * 1.1.0: severity from NVD, every record's ratings and the alias join; KEV; MAL- records as malware; summaries from details.
 */
export const MATCHER = { name: 'osv-matcher', version: '1.1.0' } as const;

/** Distributions whose OSV records name source packages (DSA/DLA/DEBIAN-CVE, UBUNTU-CVE/USN, ALPINE-CVE). */
const SOURCE_KEYED = new Set(['Debian', 'Ubuntu', 'Alpine']);

/** The lookups for one package: which OSV ecosystem, which name, which version to compare. */
export function lookupKeys(p: Package): { ecosystem: string; name: string; version: string; via: MatchDetail['via'] }[] | string {
  // A language package an OS package installed is judged by the distribution's feed through its owner
  // (catalog/owners.ts): no lookup of its own, and so no `no-vulnerability-data` either.
  if (p.ownedBy) return [];
  const os = p.ecosystem === 'Debian' || p.ecosystem === 'Ubuntu' || p.ecosystem === 'Alpine' || p.ecosystem === 'RPM';
  if (!os) return [{ ecosystem: p.ecosystem, name: p.name, version: p.version, via: 'package' }];
  if (!p.distro) return 'the distribution release is unknown (no usable os-release): OS packages cannot be matched';
  const base = p.distro.split(':')[0];
  if (SOURCE_KEYED.has(base)) {
    // DESIGN.md "Match": OS packages match on the source package and the distro release. Debian's
    // binNMUs (`+b1`) and Ubuntu's rebuilds give binaries versions the advisories never name.
    const name = p.sourceName ?? p.name;
    return [{ ecosystem: p.distro, name, version: p.sourceVersion ?? p.version, via: name === p.name ? 'package' : 'source package' }];
  }
  // RPM distributions (AlmaLinux, Rocky Linux) publish advisories per binary package.
  return [{ ecosystem: p.distro, name: p.name, version: p.version, via: 'package' }];
}

/** Native advisory databases per ecosystem: their ids come first after a CVE. */
const NATIVE_PREFIX: Record<string, readonly string[]> = {
  Go: ['GO-'], 'crates.io': ['RUSTSEC-'], PyPI: ['PYSEC-'], Debian: ['DSA-', 'DLA-', 'DEBIAN-'], Ubuntu: ['USN-', 'UBUNTU-'],
  Alpine: ['ALPINE-'], AlmaLinux: ['ALSA-', 'ALBA-', 'ALEA-'], 'Rocky Linux': ['RLSA-', 'RXSA-'],
};

/**
 * The id a finding is reported under, out of every id its records and their aliases carry: the CVE when
 * there is exactly one (what people search for, as Trivy and Grype report), else the ecosystem's own
 * database id, else GHSA, else the smallest id.
 */
export function primaryId(ids: readonly string[], ecosystem: string): string {
  const cves = ids.filter((i) => i.startsWith('CVE-'));
  if (cves.length === 1) return cves[0];
  const native = NATIVE_PREFIX[ecosystem.split(':')[0]] ?? [];
  return ids.find((i) => native.some((n) => i.startsWith(n))) ?? ids.find((i) => i.startsWith('GHSA-')) ?? [...ids].sort()[0];
}

/** Groups records that name each other (id or alias in common): one finding per vulnerability. */
function aliasGroups(hits: readonly { record: OsvRecord }[]): number[][] {
  const parent = hits.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const owner = new Map<string, number>();
  hits.forEach((h, i) => {
    for (const id of [h.record.id, ...h.record.aliases]) {
      const j = owner.get(id);
      if (j === undefined) owner.set(id, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, number[]>();
  hits.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
  return [...groups.values()];
}

/** How {@link matchPackage} and {@link matchPackages} evaluate ranges. */
export interface MatchOptions {
  /**
   * Where compiled ranges come from (compiled-ranges.ts): the process-wide bounded cache by default, a
   * cache of one's own, or `'reference'` — ranges.ts's plain evaluation, nothing compiled or cached
   * (the differential tests compare both).
   */
  readonly ranges?: RangeCache | 'reference';
}

/** The process-wide compiled-range cache (bounded: compiled-ranges.ts RANGE_CACHE_GENERATION entries per generation, two generations). */
const SHARED_RANGE_CACHE = new RangeCache();

/** One lookup key's answer: the records that hold its version, and the problems of those that could not be evaluated. */
export interface KeyResult {
  /** The lookup's result it was computed from (a per-scan memo entry is used only for the same array). */
  readonly records: readonly OsvRecord[];
  readonly hits: readonly { record: OsvRecord; affected: OsvAffected; hit: RangeHit }[];
  /** `<record id>: <problem>`, in evaluation order. */
  readonly problems: readonly string[];
}

/** Lookup answers per generation of a {@link KeyResultCache} (the cache holds at most twice this many). */
export const KEY_RESULT_GENERATION = 4096;

interface KeyResultEntry {
  /** The records it was evaluated over, in order (a copy: the store's array is the caller's). */
  readonly records: readonly OsvRecord[];
  readonly scheme: VersionScheme;
  readonly semver: VersionScheme;
  readonly result: KeyResult;
}

/** What a {@link KeyResultCache} did (tests and benchmarks). */
export interface KeyResultCacheStats {
  hits: number;
  /** Not held, evicted, or held for other record objects or other schemes. */
  misses: number;
}

/**
 * One lookup's answer (which records hold an installed version, and the problems of those that could
 * not be evaluated) across scans, by ecosystem + normalised name + installed version. An answer is a
 * pure function of the records, the version and the schemes, and records are never mutated in place;
 * so an entry is used only when the lookup returned the very same record objects, in the same order,
 * and the schemes are the same objects. A new revision of any record, a record added or withdrawn, or
 * a record the store read again is another object and the question is evaluated afresh. Bounded like
 * compiled-ranges.ts RangeCache: two generations of at most `generation` entries.
 */
export class KeyResultCache {
  private young = new Map<string, KeyResultEntry>();
  private older = new Map<string, KeyResultEntry>();
  readonly stats: KeyResultCacheStats = { hits: 0, misses: 0 };

  constructor(readonly generation = KEY_RESULT_GENERATION) {
    if (!(generation >= 1)) throw new RangeError(`KeyResultCache generation must be at least 1, got ${generation}`);
  }

  /** The answer held for `key` when it was computed from exactly these record objects and schemes (returned with `records` as its lookup result). */
  get(key: string, records: readonly OsvRecord[], scheme: VersionScheme, semver: VersionScheme): KeyResult | undefined {
    let e = this.young.get(key);
    if (e === undefined) {
      e = this.older.get(key);
      if (e !== undefined) this.put(key, e);
    }
    if (e === undefined || e.scheme !== scheme || e.semver !== semver || e.records.length !== records.length) {
      this.stats.misses++;
      return undefined;
    }
    for (let i = 0; i < records.length; i++) {
      if (e.records[i] !== records[i]) {
        this.stats.misses++;
        return undefined;
      }
    }
    this.stats.hits++;
    return { ...e.result, records };
  }

  set(key: string, records: readonly OsvRecord[], scheme: VersionScheme, semver: VersionScheme, result: KeyResult): void {
    this.put(key, { records: [...records], scheme, semver, result });
  }

  private put(key: string, e: KeyResultEntry): void {
    if (this.young.size >= this.generation) {
      this.older = this.young;
      this.young = new Map();
    }
    this.young.set(key, e);
  }
}

const KEY_RESULTS = new WeakMap<RangeCache, KeyResultCache>();

/** The lookup answers kept beside a range cache (one per cache: a test's own cache starts empty). */
export function keyResultCacheOf(ranges: RangeCache): KeyResultCache {
  let c = KEY_RESULTS.get(ranges);
  if (!c) KEY_RESULTS.set(ranges, (c = new KeyResultCache()));
  return c;
}

/** Every record of one lookup against one installed version: the first matching `affected[]` entry per record, else its problems. */
function evaluateKey(
  ecosystem: string, norm: string, version: string, records: readonly OsvRecord[], scheme: VersionScheme, semver: VersionScheme, ranges: RangeCache | 'reference',
): KeyResult {
  const hits: { record: OsvRecord; affected: OsvAffected; hit: RangeHit }[] = [];
  const problems: string[] = [];
  const installed = ranges === 'reference' ? undefined : new InstalledVersion(version, scheme, semver);
  for (const record of records) {
    if (record.withdrawn) continue;
    // The reference path keeps the plain loop over every entry; the compiled path visits only this
    // lookup's entries, from an index built once per record (compiled-ranges.ts affectedPositions).
    const positions = ranges === 'reference' ? undefined : affectedPositions(record, ecosystem, norm);
    const n = positions ? positions.length : record.affected.length;
    for (let j = 0; j < n; j++) {
      const i = positions ? positions[j] : j;
      const affected = record.affected[i];
      if (!positions && (affected.ecosystem !== ecosystem || normalizePackageName(affected.ecosystem, affected.name) !== norm)) continue;
      const r = ranges === 'reference'
        ? isAffected(version, affected, scheme, semver)
        : isAffectedCompiled(installed!, affected, ranges.compiled(record, i, affected, scheme, semver));
      if (r.affected) {
        hits.push({ record, affected, hit: r.hit });
        break;
      }
      for (const problem of r.problems) problems.push(`${record.id}: ${problem}`);
    }
  }
  return { records, hits, problems };
}

/** Matches one package against the records the store holds for it. */
export async function matchPackage(p: Package, store: MatcherStore, schemes: SchemeRegistry, opts: MatchOptions = {}): Promise<{ findings: MatchedFinding[]; unknowns: Unknown[] }> {
  return matchOne(p, store, schemes, opts, undefined);
}

/** Per-scan memos: lookup answers, and the per-vulnerability facts of each answer's findings. */
interface ScanMemo {
  readonly keys: Map<string, KeyResult>;
  readonly groups: WeakMap<KeyResult, Promise<GroupFacts[]>>;
}

/** A record that holds the package's version, with the lookup that found it. */
type Hit = { record: OsvRecord; affected: OsvAffected; hit: RangeHit; key: Exclude<ReturnType<typeof lookupKeys>, string>[number] };

/**
 * What one finding says that does not depend on which package it is reported for: the records behind
 * it (positions in the hits), their ids, severity, KEV entry, fix, summary. Every binary of one source
 * package has the same hits from the same lookup answer: these are worked out once per answer per scan
 * (the store's reads by id, NVD and KEV, are this scan's), and each package's finding is built from them.
 */
interface GroupFacts {
  readonly members: readonly number[];
  readonly ids: readonly string[];
  readonly upstream: readonly string[];
  readonly published?: string;
  readonly malicious: readonly string[];
  /** Malware: the member named; else the member the severity came from (else the first). */
  readonly best: number;
  readonly sev?: ResolvedSeverity;
  readonly kev?: KnownExploited;
  readonly fixedIn?: string;
  readonly summary?: string;
}

async function groupFacts(hits: readonly Hit[], store: MatcherStore, schemes: SchemeRegistry): Promise<GroupFacts[]> {
  const groups = aliasGroups(hits).map((group) => {
    const members = group.map((i) => hits[i]);
    const ids = [...new Set(members.flatMap((m) => [m.record.id, ...m.record.aliases]))];
    const upstream = [...new Set(members.flatMap((m) => m.record.upstream))].filter((u) => !ids.includes(u)).sort();
    return { group, members, ids, upstream };
  });
  // Every group's reads by id (NVD, KEV, alias records) are asked at once: a store that batches reads
  // (the shared advisory cache, advisories/shared-cache.ts) sends them together. Malware needs none.
  const enriched = await Promise.all(groups.map(({ members, ids, upstream }) => (ids.some((i) => i.startsWith('MAL-'))
    ? undefined
    : Promise.all([resolveSeverity(members, ids, upstream, store), knownExploited(findingCves(ids, upstream), store)]))));
  return groups.map(({ group, members, ids, upstream }, g): GroupFacts => {
    const published = members.map((m) => m.record.published).filter((p): p is string => p !== undefined && !Number.isNaN(Date.parse(p)))
      .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    const malicious = ids.filter((i) => i.startsWith('MAL-')).sort();
    const base = { members: group, ids, upstream, malicious, ...(published !== undefined ? { published } : {}) };
    if (malicious.length > 0) {
      const at = members.findIndex((m) => m.record.id === malicious[0]);
      const mal = members[at === -1 ? 0 : at];
      return { ...base, best: group[at === -1 ? 0 : at], summary: mal.record.summary ?? detailsSentence(mal.record) };
    }
    const fixes = members.map((m) => m.hit.fixed).filter((f): f is string => f !== undefined);
    // The severity from every source (resolve.ts), and the lowest version that fixes it in every member.
    const [sev, kev] = enriched[g]!;
    // The member the severity came from names the match (else the first).
    const at = members.findIndex((m) => m.record.id === sev.severities[0]?.record);
    const best = members[at === -1 ? 0 : at];
    const scheme = schemes.schemeFor(best.key.ecosystem)!;
    const fixedIn = fixes.length === 0 ? undefined : fixes.reduce((a, b) => (safeCompare(scheme, a, b) >= 0 ? a : b));
    const summary = best.record.summary ?? members.find((m) => m.record.summary)?.record.summary
      ?? detailsSentence(best.record) ?? firstOf(members, (m) => detailsSentence(m.record))
      ?? firstOf(sev.nvdRecords, detailsSentence);
    const { nvdRecords: _n, ...resolved } = sev;
    return { ...base, best: group[at === -1 ? 0 : at], sev: resolved, ...(kev ? { kev } : {}), ...(fixedIn !== undefined ? { fixedIn } : {}), ...(summary ? { summary } : {}) };
  });
}

async function matchOne(p: Package, store: MatcherStore, schemes: SchemeRegistry, opts: MatchOptions, scan: ScanMemo | undefined): Promise<{ findings: MatchedFinding[]; unknowns: Unknown[] }> {
  const at = p.locations[0] ?? { layer: '', path: '' };
  // Not matched = no vulnerability data for it; a range that cannot be evaluated could hide one (parse-error).
  const unknown = (reason: string, cls: Unknown['class'] = 'no-vulnerability-data'): Unknown => ({ layer: at.layer, path: at.path, reason: `${p.purl}: ${reason}`, class: cls, consumer: MATCHER.name });
  const keys = lookupKeys(p);
  if (typeof keys === 'string') return { findings: [], unknowns: [unknown(keys)] };
  const unknowns: Unknown[] = [];
  const hits: Hit[] = [];
  const answers: KeyResult[] = [];
  for (const key of keys) {
    const scheme = schemes.schemeFor(key.ecosystem);
    if (!scheme) {
      unknowns.push(unknown(`no version ordering for ecosystem ${key.ecosystem}`));
      continue;
    }
    const norm = normalizePackageName(key.ecosystem, key.name);
    const records = await store.lookup(key.ecosystem, norm);
    // Every binary of one source package asks the same question: answered once per scan.
    const memoKey = `${key.ecosystem}\u0000${norm}\u0000${key.version}`;
    let r = scan?.keys.get(memoKey);
    if (!r || r.records !== records) {
      const ranges = opts.ranges ?? SHARED_RANGE_CACHE;
      // Across scans: the same question about the very same record objects (compiled path only).
      const across = ranges === 'reference' ? undefined : keyResultCacheOf(ranges);
      r = across?.get(memoKey, records, scheme, schemes.semver);
      if (!r) {
        r = evaluateKey(key.ecosystem, norm, key.version, records, scheme, schemes.semver, ranges);
        across?.set(memoKey, records, scheme, schemes.semver, r);
      }
      scan?.keys.set(memoKey, r);
    }
    answers.push(r);
    for (const h of r.hits) hits.push({ ...h, key });
    for (const pr of r.problems) unknowns.push(unknown(pr, 'parse-error'));
  }
  if (hits.length === 0) return { findings: [], unknowns };
  // One answer (every package today has one lookup): its facts are shared by every package that got it
  // this scan; hits are that answer's, in its order, so member positions mean the same records.
  let facts: Promise<GroupFacts[]> | undefined;
  if (scan && answers.length === 1) {
    facts = scan.groups.get(answers[0]);
    if (!facts) scan.groups.set(answers[0], (facts = groupFacts(hits, store, schemes)));
  } else facts = groupFacts(hits, store, schemes);
  const findings: MatchedFinding[] = [];
  for (const f of await facts) {
    const best = hits[f.best];
    const match: MatchDetail = { ecosystem: best.key.ecosystem, name: best.key.name, via: best.key.via, version: best.key.version, kind: best.hit.kind, range: best.hit.range };
    const { summary, published } = f;
    if (f.malicious.length > 0) {
      // OpenSSF malicious-packages: the version is malware, whatever other records say about it.
      const mal = f.malicious[0];
      findings.push({
        type: 'malware', id: mal, aliases: f.ids.filter((i) => i !== mal).sort(), severity: 'critical',
        package: p.purl, installedVersion: p.version, layer: at.layer, path: at.path,
        match,
        ...(summary ? { summary } : {}),
        ...(published ? { published } : {}),
        message: `${p.name} ${p.version} is a known malicious package version (${mal}, OpenSSF malicious-packages)${summary ? `: ${summary}` : ''}`,
      });
      continue;
    }
    const id = primaryId(f.ids, p.ecosystem === 'Debian' || p.ecosystem === 'Ubuntu' || p.ecosystem === 'Alpine' ? hits[f.members[0]].key.ecosystem : p.ecosystem);
    const sev = f.sev!;
    const { kev, fixedIn, upstream } = f;
    findings.push({
      type: 'vulnerability',
      id,
      aliases: f.ids.filter((i) => i !== id).sort(),
      severity: sev.severity,
      ...(sev.score !== undefined ? { score: sev.score } : {}),
      ...(sev.vector !== undefined ? { vector: sev.vector } : {}),
      severitySource: sev.severitySource,
      severities: sev.severities,
      ...(sev.cvssV4 ? { cvssV4: sev.cvssV4 } : {}),
      ...(kev ? { knownExploited: kev } : {}),
      package: p.purl,
      installedVersion: p.version,
      ...(fixedIn !== undefined ? { fixedIn } : {}),
      layer: at.layer,
      path: at.path,
      match,
      ...(summary ? { summary } : {}),
      ...(upstream.length ? { upstream } : {}),
      ...(published ? { published } : {}),
      message: `${p.name} ${p.version}${best.key.via === 'source package' ? ` (source ${best.key.name} ${best.key.version})` : ''} is affected by ${id}${fixedIn ? `; fixed in ${fixedIn}` : '; no fix published'}${kev ? `; known exploited (CISA KEV, added ${kev.dateAdded})` : ''}${sev.severity === 'unknown' ? '; severity unknown to every source' : ''}${summary ? `: ${summary}` : ''}`,
    });
  }
  return { findings, unknowns };
}

/** The first truthy `f(x)`, computing no more than needed (`xs.map(f).find(…)` scores every member's details). */
function firstOf<T>(xs: readonly T[], f: (x: T) => string | undefined): string | undefined {
  for (const x of xs) {
    const v = f(x);
    if (v) return v;
  }
  return undefined;
}

function safeCompare(s: VersionScheme, a: string, b: string): number {
  try {
    return s.compare(a, b);
  } catch {
    return 0;
  }
}

/** Package lookups in flight at once in {@link matchPackages}. */
const LOOKUP_CONCURRENCY = 16;

/**
 * Packages × advisories → vulnerability findings (DESIGN.md "The data's way", step 3). Packages that
 * look the same up (every binary of one Debian source package) share one store lookup.
 */
export async function matchPackages(packages: readonly Package[], store: MatcherStore, schemes: SchemeRegistry, opts: MatchOptions = {}): Promise<{ findings: MatchedFinding[]; unknowns: Unknown[] }> {
  const findings: MatchedFinding[] = [];
  const unknowns: Unknown[] = [];
  const cached = new Map<string, Promise<readonly OsvRecord[]>>();
  // Reads by id (NVD, KEV, alias records) are shared the same way: every package with a CVE asks once.
  const got = new Map<string, Promise<OsvRecord | undefined>>();
  const memo: MatcherStore = {
    lookup: (e, n) => {
      const k = `${e}\0${n}`;
      let v = cached.get(k);
      if (!v) cached.set(k, (v = store.lookup(e, n)));
      return v;
    },
    get: (id) => {
      let v = got.get(id);
      if (!v) got.set(id, (v = store.get(id)));
      return v;
    },
  };
  // Lookups first, a few at a time; then every package is matched at once from the memo, so that
  // their reads by id go out together (one batch per turn when the store batches them).
  const keys = packages.flatMap((p) => {
    const ks = lookupKeys(p);
    return typeof ks === 'string' ? [] : ks.filter((k) => schemes.schemeFor(k.ecosystem)).map((k) => [k.ecosystem, normalizePackageName(k.ecosystem, k.name)] as const);
  });
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, keys.length) }, async () => {
    while (next < keys.length) {
      const [e, n] = keys[next++];
      await memo.lookup(e, n);
    }
  }));
  const scan: ScanMemo = { keys: new Map(), groups: new WeakMap() };
  for (const r of await Promise.all(packages.map((p) => matchOne(p, memo, schemes, opts, scan)))) {
    findings.push(...r.findings);
    unknowns.push(...r.unknowns);
  }
  return { findings, unknowns };
}
