import { normalizePackageName } from '../advisories/names';
import type { OsvAffected, OsvRecord } from '../advisories/osv';
import type { Finding, Package, Unknown } from '../model';
import type { AdvisoryStore } from '../ports';
import type { VersionScheme } from '../versions/scheme';
import { isAffected, type RangeHit } from './ranges';
import { advisorySeverity } from './severity';

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
export interface VulnerabilityFinding extends Finding {
  readonly type: 'vulnerability';
  readonly package: string;
  readonly installedVersion: string;
  readonly score?: number;
  readonly vector?: string;
  readonly severitySource: string;
  readonly match: MatchDetail;
  readonly summary?: string;
  /** OSV `upstream`: the vulnerabilities this distro record derives from (a DEBIAN-CVE's CVE). */
  readonly upstream?: readonly string[];
  /** The earliest OSV `published` of the records behind the finding (the policy's grace period counts from it). */
  readonly published?: string;
}

/** The matcher plug-in: its version is part of every stored evaluation (DESIGN.md "Rules of the house"). */
export const MATCHER = { name: 'osv-matcher', version: '1.0.0' } as const;

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

const SEVERITY_ORDER = ['unknown', 'low', 'medium', 'high', 'critical'];

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

/** Matches one package against the records the store holds for it. */
export async function matchPackage(p: Package, store: Pick<AdvisoryStore, 'lookup'>, schemes: SchemeRegistry): Promise<{ findings: VulnerabilityFinding[]; unknowns: Unknown[] }> {
  const at = p.locations[0] ?? { layer: '', path: '' };
  // Not matched = no vulnerability data for it; a range that cannot be evaluated could hide one (parse-error).
  const unknown = (reason: string, cls: Unknown['class'] = 'no-vulnerability-data'): Unknown => ({ layer: at.layer, path: at.path, reason: `${p.purl}: ${reason}`, class: cls, consumer: MATCHER.name });
  const keys = lookupKeys(p);
  if (typeof keys === 'string') return { findings: [], unknowns: [unknown(keys)] };
  const unknowns: Unknown[] = [];
  const hits: { record: OsvRecord; affected: OsvAffected; hit: RangeHit; key: (typeof keys)[number] }[] = [];
  for (const key of keys) {
    const scheme = schemes.schemeFor(key.ecosystem);
    if (!scheme) {
      unknowns.push(unknown(`no version ordering for ecosystem ${key.ecosystem}`));
      continue;
    }
    const norm = normalizePackageName(key.ecosystem, key.name);
    for (const record of await store.lookup(key.ecosystem, norm)) {
      if (record.withdrawn) continue;
      for (const affected of record.affected) {
        if (affected.ecosystem !== key.ecosystem || normalizePackageName(affected.ecosystem, affected.name) !== norm) continue;
        const r = isAffected(key.version, affected, scheme, schemes.semver);
        if (r.affected) {
          hits.push({ record, affected, hit: r.hit, key });
          break;
        }
        for (const problem of r.problems) unknowns.push(unknown(`${record.id}: ${problem}`, 'parse-error'));
      }
    }
  }
  const findings: VulnerabilityFinding[] = [];
  for (const group of aliasGroups(hits)) {
    const members = group.map((i) => hits[i]);
    const ids = [...new Set(members.flatMap((m) => [m.record.id, ...m.record.aliases]))];
    const id = primaryId(ids, p.ecosystem === 'Debian' || p.ecosystem === 'Ubuntu' || p.ecosystem === 'Alpine' ? members[0].key.ecosystem : p.ecosystem);
    // The most severe rating any member gives, and the lowest version that fixes it in every member.
    const rated = members.map((m) => ({ m, s: advisorySeverity(m.record, m.affected) }))
      .sort((a, b) => SEVERITY_ORDER.indexOf(b.s.severity) - SEVERITY_ORDER.indexOf(a.s.severity) || (b.s.score ?? 0) - (a.s.score ?? 0));
    const best = rated[0];
    const fixes = members.map((m) => m.hit.fixed).filter((f): f is string => f !== undefined);
    const scheme = schemes.schemeFor(best.m.key.ecosystem)!;
    const fixedIn = fixes.length === 0 ? undefined : fixes.reduce((a, b) => (safeCompare(scheme, a, b) >= 0 ? a : b));
    const summary = best.m.record.summary ?? members.find((m) => m.record.summary)?.record.summary;
    const upstream = [...new Set(members.flatMap((m) => m.record.upstream))].filter((u) => !ids.includes(u)).sort();
    const published = members.map((m) => m.record.published).filter((p): p is string => p !== undefined && !Number.isNaN(Date.parse(p)))
      .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    findings.push({
      type: 'vulnerability',
      id,
      aliases: ids.filter((i) => i !== id).sort(),
      severity: best.s.severity,
      ...(best.s.score !== undefined ? { score: best.s.score } : {}),
      ...(best.s.vector !== undefined ? { vector: best.s.vector } : {}),
      severitySource: best.s.source,
      package: p.purl,
      installedVersion: p.version,
      ...(fixedIn !== undefined ? { fixedIn } : {}),
      layer: at.layer,
      path: at.path,
      match: { ecosystem: best.m.key.ecosystem, name: best.m.key.name, via: best.m.key.via, version: best.m.key.version, kind: best.m.hit.kind, range: best.m.hit.range },
      ...(summary ? { summary } : {}),
      ...(upstream.length ? { upstream } : {}),
      ...(published ? { published } : {}),
      message: `${p.name} ${p.version}${best.m.key.via === 'source package' ? ` (source ${best.m.key.name} ${best.m.key.version})` : ''} is affected by ${id}${fixedIn ? `; fixed in ${fixedIn}` : '; no fix published'}${summary ? `: ${summary}` : ''}`,
    });
  }
  return { findings, unknowns };
}

function safeCompare(s: VersionScheme, a: string, b: string): number {
  try {
    return s.compare(a, b);
  } catch {
    return 0;
  }
}

/**
 * Packages × advisories → vulnerability findings (DESIGN.md "The data's way", step 3). Packages that
 * look the same up (every binary of one Debian source package) share one store lookup.
 */
export async function matchPackages(packages: readonly Package[], store: Pick<AdvisoryStore, 'lookup'>, schemes: SchemeRegistry): Promise<{ findings: VulnerabilityFinding[]; unknowns: Unknown[] }> {
  const findings: VulnerabilityFinding[] = [];
  const unknowns: Unknown[] = [];
  const cached = new Map<string, Promise<readonly OsvRecord[]>>();
  const memo: Pick<AdvisoryStore, 'lookup'> = {
    lookup: (e, n) => {
      const k = `${e}\0${n}`;
      let v = cached.get(k);
      if (!v) cached.set(k, (v = store.lookup(e, n)));
      return v;
    },
  };
  for (const p of packages) {
    const r = await matchPackage(p, memo, schemes);
    findings.push(...r.findings);
    unknowns.push(...r.unknowns);
  }
  return { findings, unknowns };
}
