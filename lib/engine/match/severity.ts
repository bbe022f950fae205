/**
 * Severity of an OSV advisory for vulnerability findings: the CVSS base score when the record carries a
 * usable vector, else the rating its database gives (GHSA, Debian, Ubuntu), else `unknown`.
 *
 * Scoring is done by `ae-cvss-calculator` (Apache-2.0, no dependencies, no install scripts); this module
 * validates vectors strictly itself (the library accepts partial vectors and repeated metrics) and hands
 * it canonical base-only vectors. The library was checked over the whole base-metric space against
 * independent implementations, with zero differences: all 2,592 v3.0 and v3.1 base vectors against the
 * equations of https://www.first.org/cvss/v3.1/specification-document (section 7.1, Roundup of Appendix A);
 * all 104,976 v4.0 base vectors against the algorithm of FIRST's reference calculator
 * (https://www.first.org/cvss/calculator/4.0, maintained as https://github.com/RedHatProductSecurity/cvss-v4-calculator,
 * with the half-up rounding fix of its PR #67); all 729 v2 base vectors against `@pandatix/js-cvss`.
 *
 * @packageDocumentation
 */
import { Cvss2, Cvss3P0, Cvss3P1, Cvss4P0 } from 'ae-cvss-calculator';
import type { OsvAffected, OsvRecord, OsvSeverity } from '../advisories/osv';
import type { Severity } from '../model';
import { nvdOf } from '../advisories/enrichment';

/** The CVSS versions {@link scoreCvss} understands. */
export type CvssVersion = '2.0' | '3.0' | '3.1' | '4.0';

/** A scored CVSS vector: its version and its base score (0.0–10.0, one decimal). */
export interface CvssScore {
  readonly version: CvssVersion;
  readonly score: number;
}

/** Where an advisory's severity came from, with the CVSS details when a vector decided it. */
export interface AdvisorySeverity {
  readonly severity: Severity;
  /** The CVSS base score, when a vector decided the severity. */
  readonly score?: number;
  /** The vector string as the record gives it, when a vector decided the severity. */
  readonly vector?: string;
  /**
   * What decided it: the OSV severity type (`CVSS_V4`, `CVSS_V3`, `CVSS_V2`), `GHSA database_specific.severity`
   * (or `database_specific.severity` for other databases), `ecosystem_specific.severity` or
   * `affected database_specific.severity` (a rating on the `affected[]` entry), `Debian urgency`,
   * `Ubuntu severity`, or `none` when nothing rated the record (`Debian urgency (not yet assigned)` when
   * Debian says so explicitly).
   */
  readonly source: string;
}

type MetricTable = ReadonlyMap<string, readonly string[]>;

const HLN = ['H', 'L', 'N'];

/** CVSS v3.0/v3.1 metrics and values (https://www.first.org/cvss/v3.1/specification-document section 6, Table 15; the same in v3.0). */
const V3_METRICS: MetricTable = new Map(Object.entries({
  AV: ['N', 'A', 'L', 'P'], AC: ['L', 'H'], PR: ['N', 'L', 'H'], UI: ['N', 'R'], S: ['U', 'C'], C: HLN, I: HLN, A: HLN,
  E: ['X', 'H', 'F', 'P', 'U'], RL: ['X', 'U', 'W', 'T', 'O'], RC: ['X', 'C', 'R', 'U'],
  CR: ['X', 'H', 'M', 'L'], IR: ['X', 'H', 'M', 'L'], AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'], MAC: ['X', 'L', 'H'], MPR: ['X', 'N', 'L', 'H'], MUI: ['X', 'N', 'R'], MS: ['X', 'U', 'C'],
  MC: ['X', ...HLN], MI: ['X', ...HLN], MA: ['X', ...HLN],
}));
const V3_BASE = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'];

/** CVSS v4.0 metrics and values (https://www.first.org/cvss/v4-0/specification-document section 7, "Vector String"). */
const V4_METRICS: MetricTable = new Map(Object.entries({
  AV: ['N', 'A', 'L', 'P'], AC: ['L', 'H'], AT: ['N', 'P'], PR: ['N', 'L', 'H'], UI: ['N', 'P', 'A'],
  VC: HLN, VI: HLN, VA: HLN, SC: HLN, SI: HLN, SA: HLN,
  E: ['X', 'A', 'P', 'U'],
  CR: ['X', 'H', 'M', 'L'], IR: ['X', 'H', 'M', 'L'], AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'], MAC: ['X', 'L', 'H'], MAT: ['X', 'N', 'P'], MPR: ['X', 'N', 'L', 'H'], MUI: ['X', 'N', 'P', 'A'],
  MVC: ['X', ...HLN], MVI: ['X', ...HLN], MVA: ['X', ...HLN], MSC: ['X', ...HLN], MSI: ['X', 'S', ...HLN], MSA: ['X', 'S', ...HLN],
  S: ['X', 'N', 'P'], AU: ['X', 'N', 'Y'], R: ['X', 'A', 'U', 'I'], V: ['X', 'D', 'C'], RE: ['X', 'L', 'M', 'H'],
  U: ['X', 'Clear', 'Green', 'Amber', 'Red'],
}));
const V4_BASE = ['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA'];

/** CVSS v2 metrics and values (https://www.first.org/cvss/v2/guide, section 2.4, Table 13). */
const V2_METRICS: MetricTable = new Map(Object.entries({
  AV: ['L', 'A', 'N'], AC: ['H', 'M', 'L'], Au: ['M', 'S', 'N'], C: ['N', 'P', 'C'], I: ['N', 'P', 'C'], A: ['N', 'P', 'C'],
  E: ['U', 'POC', 'F', 'H', 'ND'], RL: ['OF', 'TF', 'W', 'U', 'ND'], RC: ['UC', 'UR', 'C', 'ND'],
  CDP: ['N', 'L', 'LM', 'MH', 'H', 'ND'], TD: ['N', 'L', 'M', 'H', 'ND'], CR: ['L', 'M', 'H', 'ND'], IR: ['L', 'M', 'H', 'ND'], AR: ['L', 'M', 'H', 'ND'],
}));
const V2_BASE = ['AV', 'AC', 'Au', 'C', 'I', 'A'];

/**
 * The base metrics of a vector body (`AV:N/AC:L/...`) in canonical order, or undefined unless every
 * part is a known `metric:value` pair, no metric repeats, and every base metric is present
 * (v3.1 spec section 6: "All Base metrics must be included… must not include the same metric more than
 * once"). Metrics are accepted in any order: v3.1 requires readers to ("Programs reading CVSS v3.1 vector
 * strings must accept metrics in any order"), v4.0's text contradicts itself on order, and real advisories
 * carry reordered v4 vectors (github/advisory-database#7448).
 */
function baseMetrics(body: string, table: MetricTable, base: readonly string[]): string | undefined {
  const seen = new Map<string, string>();
  for (const part of body.split('/')) {
    const m = /^([A-Za-z]+):([A-Za-z]+)$/.exec(part);
    if (!m) return undefined;
    const [, metric, value] = m;
    if (seen.has(metric) || !table.get(metric)?.includes(value)) return undefined;
    seen.set(metric, value);
  }
  if (!base.every((b) => seen.has(b))) return undefined;
  return base.map((b) => `${b}:${seen.get(b)}`).join('/');
}

/** Scores already computed, by canonical base vector: bounded by the finite base-metric space (about 108k). */
const scoreCache = new Map<string, number | undefined>();

function baseScore(version: CvssVersion, canonical: string): number | undefined {
  const key = `${version}|${canonical}`;
  if (scoreCache.has(key)) return scoreCache.get(key);
  let score: number | undefined;
  try {
    // Only base metrics are passed, so every library score below is the base score
    // (for v4.0 that is CVSS-B: threat and environmental metrics are not applied).
    if (version === '2.0') score = new Cvss2(canonical).calculateScores().base;
    else if (version === '3.0') score = new Cvss3P0(`CVSS:3.0/${canonical}`).calculateScores().base;
    else if (version === '3.1') score = new Cvss3P1(`CVSS:3.1/${canonical}`).calculateScores().base;
    else score = new Cvss4P0(`CVSS:4.0/${canonical}`).calculateScores().base;
  } catch {
    score = undefined;
  }
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 10) score = undefined;
  scoreCache.set(key, score);
  return score;
}

/**
 * The base score of a CVSS vector string, or undefined for anything that is not a complete, valid vector
 * (never throws).
 *
 * - v3.0 / v3.1 (`CVSS:3.x/AV:…`): the Base Score of the v3.1 specification, section 7.1, with the
 *   Roundup of Appendix A (https://www.first.org/cvss/v3.1/specification-document). Temporal and
 *   environmental metrics are validated but not applied.
 * - v4.0 (`CVSS:4.0/AV:…`): the CVSS-B score (https://www.first.org/cvss/v4-0/specification-document,
 *   section 8: MacroVector lookup plus interpolation, as FIRST's reference calculator computes it). Threat,
 *   environmental and supplemental metrics are validated but not applied: they can only lower a
 *   published score (E:X counts as the worst case, Attacked), so the base score is the conservative one.
 * - v2 (bare `AV:N/AC:L/Au:N/C:P/I:P/A:P`): the Base Score of the v2 guide, section 3.2.1
 *   (https://www.first.org/cvss/v2/guide).
 *
 * Metrics may come in any order; each must be known, carry a valid value and appear once, and every base
 * metric must be present. Surrounding whitespace is ignored; metric names and values are case-sensitive.
 */
export function scoreCvss(vector: string): CvssScore | undefined {
  if (typeof vector !== 'string') return undefined;
  const v = vector.trim();
  const prefixed = /^CVSS:(3\.0|3\.1|4\.0)\/(.*)$/s.exec(v);
  let version: CvssVersion;
  let canonical: string | undefined;
  if (prefixed) {
    version = prefixed[1] as CvssVersion;
    canonical = version === '4.0' ? baseMetrics(prefixed[2], V4_METRICS, V4_BASE) : baseMetrics(prefixed[2], V3_METRICS, V3_BASE);
  } else {
    if (v.startsWith('CVSS:')) return undefined;
    version = '2.0';
    canonical = baseMetrics(v, V2_METRICS, V2_BASE);
  }
  if (canonical === undefined) return undefined;
  const score = baseScore(version, canonical);
  return score === undefined ? undefined : { version, score };
}

/**
 * The qualitative rating of a CVSS score.
 *
 * v3.x and v4.0 use FIRST's Qualitative Severity Rating Scale (v3.1 spec section 5, v4.0 spec section 6):
 * 0.1–3.9 Low, 4.0–6.9 Medium, 7.0–8.9 High, 9.0–10.0 Critical. FIRST's 0.0 "None" has no counterpart in
 * {@link Severity}: it maps to `low`, the least severe known rating, because a 0.0 is an assessment (all
 * impacts None), not missing data, while `unknown` means "nothing rated this" and strict policies may treat
 * it as possibly severe.
 *
 * CVSS v2 defines no qualitative scale; pass `version: '2.0'` for NVD's v2 bands
 * (https://nvd.nist.gov/vuln-metrics/cvss): 0.0–3.9 Low, 4.0–6.9 Medium, 7.0–10.0 High (never critical).
 *
 * Scores outside 0–10 (or NaN) rate `unknown`.
 */
export function ratingOf(score: number, version?: CvssVersion): Severity {
  if (!Number.isFinite(score) || score < 0 || score > 10) return 'unknown';
  if (version === '2.0') return score >= 7 ? 'high' : score >= 4 ? 'medium' : 'low';
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}

const VERSION_RANK: Record<CvssVersion, number> = { '2.0': 0, '3.0': 1, '3.1': 2, '4.0': 3 };

/** The OSV severity type each CVSS version must be filed under (https://ossf.github.io/osv-schema/#severitytype-field). */
const TYPE_OF: Record<CvssVersion, string> = { '2.0': 'CVSS_V2', '3.0': 'CVSS_V3', '3.1': 'CVSS_V3', '4.0': 'CVSS_V4' };

/**
 * The best CVSS entry of a severity list: the highest version that scores (v4.0 over v3.1 over v3.0 over
 * v2), then the highest score, then the first listed. Entries whose vector does not match their declared
 * type (a `CVSS:4.0/…` string filed as `CVSS_V3`) are skipped as malformed.
 */
function bestCvss(entries: readonly OsvSeverity[]): AdvisorySeverity | undefined {
  let best: { entry: OsvSeverity; scored: CvssScore } | undefined;
  for (const entry of entries) {
    if (entry.type !== 'CVSS_V2' && entry.type !== 'CVSS_V3' && entry.type !== 'CVSS_V4') continue;
    const scored = scoreCvss(entry.score);
    if (!scored || TYPE_OF[scored.version] !== entry.type) continue;
    if (!best) best = { entry, scored };
    else {
      const byVersion = VERSION_RANK[scored.version] - VERSION_RANK[best.scored.version];
      if (byVersion > 0 || (byVersion === 0 && scored.score > best.scored.score)) best = { entry, scored };
    }
  }
  if (!best) return undefined;
  const { entry, scored } = best;
  return { severity: ratingOf(scored.score, scored.version), score: scored.score, vector: entry.score, source: entry.type };
}

/** GHSA's `database_specific.severity` scale (LOW/MODERATE/HIGH/CRITICAL), also used by other databases' `severity` fields. */
const GENERIC_SCALE: Readonly<Record<string, Severity>> = { low: 'low', moderate: 'medium', medium: 'medium', high: 'high', critical: 'critical' };

/**
 * Debian security tracker urgencies (https://security-team.debian.org/security_tracker.html, "Severity levels"),
 * as the OSV converter copies them into `affected[].ecosystem_specific.urgency`. `unimportant` (no security
 * impact on Debian as packaged) maps to `low`, the least severe known rating, as Trivy does; `not yet
 * assigned` and `end-of-life` are no rating. Trailing `*`s (tracker annotations, as in `low**`) are ignored.
 */
const DEBIAN_URGENCY: Readonly<Record<string, Severity>> = { unimportant: 'low', low: 'low', medium: 'medium', high: 'high' };

/**
 * Ubuntu CVE priorities (https://ubuntu.com/security/cves/about, "Priority"), OSV severity type `Ubuntu`:
 * `negligible` maps to `low` like Debian's `unimportant`; `untriaged` is no rating.
 */
const UBUNTU_PRIORITY: Readonly<Record<string, Severity>> = { negligible: 'low', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };

function rated(scale: Readonly<Record<string, Severity>>, value: unknown): Severity | undefined {
  if (typeof value !== 'string') return undefined;
  const key = value.trim().replace(/\*+$/, '').toLowerCase();
  return Object.hasOwn(scale, key) ? scale[key] : undefined;
}

/** The most severe of several database ratings (when no single `affected[]` entry was given). */
function mostSevere(ratings: readonly (Severity | undefined)[]): Severity | undefined {
  const order: Severity[] = ['critical', 'high', 'medium', 'low'];
  return order.find((s) => ratings.includes(s));
}

/** RubySec's numeric CVSS base scores (`database_specific.cvss_v3` / `cvss_v2`, ruby-advisory-db's `cvss_v3:`/`cvss_v2:` keys). */
function rubysecRating(record: OsvRecord): AdvisorySeverity | undefined {
  const db = record.databaseSpecific;
  for (const [key, version] of [['cvss_v3', '3.1'], ['cvss_v2', '2.0']] as const) {
    const v = db?.[key];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 10) {
      return { severity: ratingOf(v, version), score: v, source: `RubySec database_specific.${key}` };
    }
  }
  return undefined;
}

/**
 * An OSV record's ratings by kind, each the first that applies in {@link advisorySeverity}'s order:
 * `cvss` (its own vectors), `database` (a database's own rating: ecosystem_specific / affected
 * database_specific / GHSA `database_specific.severity`, RubySec's numeric CVSS), `distro` (Debian
 * urgency, Ubuntu priority: ratings of a distribution's packaging). `none` is what applies when none does.
 */
export function advisoryRatings(record: OsvRecord, affected?: OsvAffected): { cvss?: AdvisorySeverity; database?: AdvisorySeverity; distro?: AdvisorySeverity; none: AdvisorySeverity } {
  const entries = affected ? [affected] : record.affected;
  const cvssLists: (readonly OsvSeverity[])[] = affected
    ? [affected.severity, record.severity]
    : [record.severity, record.affected.flatMap((a) => a.severity)];
  let cvss: AdvisorySeverity | undefined;
  for (const list of cvssLists) {
    cvss = bestCvss(list);
    if (cvss) break;
  }

  let database: AdvisorySeverity | undefined;
  for (const [field, label] of [['ecosystemSpecific', 'ecosystem_specific.severity'], ['databaseSpecific', 'affected database_specific.severity']] as const) {
    const s = mostSevere(entries.map((a) => rated(GENERIC_SCALE, a[field]?.severity)));
    if (s) {
      database = { severity: s, source: label };
      break;
    }
  }
  const db = rated(GENERIC_SCALE, record.databaseSpecific?.severity);
  if (!database && db) database = { severity: db, source: record.id.startsWith('GHSA-') ? 'GHSA database_specific.severity' : 'database_specific.severity' };
  database ??= rubysecRating(record);

  let distro: AdvisorySeverity | undefined;
  const urgencies = entries.map((a) => a.ecosystemSpecific?.urgency).filter((u): u is string => typeof u === 'string');
  const urgency = mostSevere(urgencies.map((u) => rated(DEBIAN_URGENCY, u)));
  if (urgency) distro = { severity: urgency, source: 'Debian urgency' };
  else {
    const ubuntu = [...entries.flatMap((a) => a.severity), ...record.severity].filter((s) => s.type === 'Ubuntu');
    const priority = mostSevere(ubuntu.map((s) => rated(UBUNTU_PRIORITY, s.score)));
    if (priority) distro = { severity: priority, source: 'Ubuntu severity' };
  }

  const none: AdvisorySeverity = urgencies.some((u) => u.trim().toLowerCase() === 'not yet assigned')
    ? { severity: 'unknown', source: 'Debian urgency (not yet assigned)' }
    : { severity: 'unknown', source: 'none' };
  return { ...(cvss ? { cvss } : {}), ...(database ? { database } : {}), ...(distro ? { distro } : {}), none };
}

/**
 * The severity of an OSV record, for the `affected[]` entry a package matched (or for the record as a
 * whole when none is given). First match wins:
 *
 * 1. CVSS vectors (https://ossf.github.io/osv-schema/#severity-field): the entry's `affected[].severity`,
 *    then the record's top-level `severity` (without an entry: top-level first, then every `affected[]`).
 *    Within a list the highest version that scores wins (v4.0 > v3.1 > v3.0 > v2), ties by the higher
 *    score; the rating is {@link ratingOf} its base score ({@link scoreCvss}). Invalid vectors are skipped.
 * 2. A `severity` in the entry's `ecosystem_specific` or `database_specific` (LOW/MODERATE/MEDIUM/HIGH/CRITICAL).
 * 3. The record's `database_specific.severity`: GitHub's rating in GHSA records (MODERATE is `medium`);
 *    else RubySec's numeric `database_specific.cvss_v3` (rated on the v3 scale), else its `cvss_v2`
 *    (NVD's v2 bands) — ruby-advisory-db gives a score without a vector.
 * 4. Debian's `ecosystem_specific.urgency` (DEBIAN-CVE records): `unimportant` and `low` are `low`.
 * 5. `Ubuntu` severity entries (UBUNTU-CVE records): `negligible` and `low` are `low`.
 * 6. Otherwise `unknown` (Alpine records and others that carry no rating).
 *
 * CVSS comes first even where a distribution rates the issue lower for its own packaging (DEBIAN-CVE-2016-1585
 * is `unimportant` to Debian, 9.8 by the CVSS vector it carries): a vector is the only rating comparable across sources.
 * A finding's severity adds NVD and the alias join around this ({@link resolveSeverity}).
 */
export function advisorySeverity(record: OsvRecord, affected?: OsvAffected): AdvisorySeverity {
  const r = advisoryRatings(record, affected);
  return r.cvss ?? r.database ?? r.distro ?? r.none;
}

/** One source's rating of a finding (`findings[].severities[]` in the JSON report): every source is listed, the chosen one first. */
export interface SeverityRating {
  /** The record that gave it: `nvd:CVE-…` (NVD), the finding's own record (`GO-…`, `DEBIAN-CVE-…`) or an alias's (`GHSA-…`). */
  readonly record: string;
  /** How: `NVD CVSS v3.1`, the record's OSV type (`CVSS_V3`), `GHSA database_specific.severity`, `Debian urgency`… */
  readonly source: string;
  /** `nvd` (NVD's CVE record), `advisory` (a record that matched), `alias` (a record under one of the finding's aliases). */
  readonly origin: 'nvd' | 'advisory' | 'alias';
  readonly severity: Severity;
  readonly score?: number;
  readonly vector?: string;
  /** NVD: who scored it (`nvd@nist.gov`, a CNA's or ADP's identifier) and whether it is NVD's Primary or a Secondary score. */
  readonly assessor?: string;
  readonly type?: 'Primary' | 'Secondary';
  /** Something a reviewer should know (NVD's published baseScore disagreeing with the computed one). */
  readonly note?: string;
}

/** NVD's decision for one CVE: the rating chosen, and NVD's best v4.0 score shown beside a v3 decision. */
export interface NvdSeverity {
  readonly rating: SeverityRating;
  readonly cvssV4?: { readonly score: number; readonly vector: string };
}

const NVD_ASSESSOR = 'nvd@nist.gov';

/**
 * The severity NVD gives a CVE (its enrichment record, advisories/enrichment.ts), or undefined when NVD
 * gives none: a rejected CVE (`vulnStatus: Rejected`, stored withdrawn) is ignored, and so is one
 * without a usable metric (`Awaiting Analysis` with empty `metrics`), so the finding falls through to
 * the next source.
 *
 * Order (issue 14, "Primary (NVD) score first, CNA score next, the highest of v3.x when several; v4
 * shown beside it"): NVD's own metric (source `nvd@nist.gov`, `Primary`) first, then any other Primary,
 * then the CNA/ADP (`Secondary`) metrics. Within one of these tiers: the highest-scoring v3.x (v3.1
 * before v3.0 on a tie); if no v3.x, the highest v4.0; if neither, the highest v2 (NVD's v2 bands, never
 * critical). v3 comes before v4 because it is what NVD, Trivy and Grype report today and what every other
 * source's score is comparable with; the best v4.0 is returned beside it as `cvssV4`.
 *
 * Every vector is scored with {@link scoreCvss}: NVD's `baseScore` is not trusted. When it disagrees with
 * the computed score the computed one is kept and the rating says so (`note`).
 */
export function nvdSeverity(record: OsvRecord): NvdSeverity | undefined {
  const nvd = nvdOf(record);
  if (!nvd || record.withdrawn || nvd.vulnStatus === 'Rejected') return undefined;
  const scored = nvd.metrics.flatMap((m) => {
    const s = scoreCvss(m.vector);
    return s && s.version === m.version ? [{ m, s }] : [];
  });
  const tiers = [
    scored.filter((x) => x.m.type === 'Primary' && x.m.source === NVD_ASSESSOR),
    scored.filter((x) => x.m.type === 'Primary' && x.m.source !== NVD_ASSESSOR),
    scored.filter((x) => x.m.type !== 'Primary'),
  ];
  const highest = (xs: typeof scored): (typeof scored)[number] | undefined =>
    [...xs].sort((a, b) => b.s.score - a.s.score || VERSION_RANK[b.s.version] - VERSION_RANK[a.s.version])[0];
  let chosen: (typeof scored)[number] | undefined;
  for (const tier of tiers) {
    chosen = highest(tier.filter((x) => x.s.version === '3.1' || x.s.version === '3.0'))
      ?? highest(tier.filter((x) => x.s.version === '4.0'))
      ?? highest(tier.filter((x) => x.s.version === '2.0'));
    if (chosen) break;
  }
  if (!chosen) return undefined;
  const { m, s } = chosen;
  const note = m.baseScore !== undefined && m.baseScore !== s.score
    ? `NVD publishes baseScore ${m.baseScore} for this vector; the computed base score ${s.score} is used` : undefined;
  const rating: SeverityRating = {
    record: record.id, source: `NVD CVSS v${s.version}`, origin: 'nvd', severity: ratingOf(s.score, s.version), score: s.score, vector: m.vector,
    assessor: m.source, type: m.type, ...(note ? { note } : {}),
  };
  let v4: (typeof scored)[number] | undefined;
  if (s.version !== '4.0') {
    for (const tier of tiers) {
      v4 = highest(tier.filter((x) => x.s.version === '4.0'));
      if (v4) break;
    }
  }
  return { rating, ...(v4 ? { cvssV4: { score: v4.s.score, vector: v4.m.vector } } : {}) };
}
