/**
 * What a finding says about its vulnerability beyond the records that matched (issue 14, Deliver items
 * 1, 5 and 6): its severity from every source, whether CISA lists it as known exploited, and a summary
 * for records that have none. The sources are read by id from the advisory store
 * (`AdvisoryStore.get`): NVD's CVE records and KEV entries (advisories/enrichment.ts) and the records
 * other feeds hold under the finding's aliases.
 *
 * ## Severity: which source wins, and why
 *
 * First that rates wins (every source's rating is still listed in `severities`, the chosen one first):
 *
 * | # | source | why here |
 * |---|---|---|
 * | a | NVD, for the finding's CVE (its id, an alias, or an OSV `upstream` CVE; several CVEs → the most severe) — {@link nvdSeverity}: Primary before CNA/ADP, the highest v3.x, else v4.0, else v2 | one scale, comparable across every ecosystem and distro, and what Trivy and Grype fall back to; the "Done when": a finding whose CVE has an NVD record carries that record's severity |
 * | b | the matched records' own CVSS vectors | a vector the advisory's authors scored, when NVD has none |
 * | c | the matched records' database ratings: ecosystem_specific / database_specific severity, GHSA's `database_specific.severity`, RubySec's numeric `cvss_v3`/`cvss_v2` | a rating without a vector |
 * | d | the alias join: the records other feeds hold under the finding's aliases (a GO-/PYSEC-/DEBIAN-/ALPINE- record takes the CVSS or rating of the GHSA- or other record for the same CVE) — their CVSS first, then their database ratings | the same vulnerability, scored elsewhere |
 * | e | distribution ratings: Debian urgency, Ubuntu priority (of the matched records, then of alias records) | last: they rate the distribution's packaging and exposure, not the vulnerability (Debian calls many serious library bugs `unimportant` for its own build) |
 * | f | `unknown` | nothing rates it; the policy decides what that means (`vulnerabilities.unknownSeverityAs`, high by default) |
 *
 * Every CVSS vector is scored by the calculator ({@link scoreCvss}); published scores are not trusted.
 * @packageDocumentation
 */
import { KEV_ID_PREFIX, kevId, kevOf, nvdId } from '../advisories/enrichment';
import type { OsvAffected, OsvRecord } from '../advisories/osv';
import type { Severity } from '../model';
import type { AdvisoryStore } from '../ports';
import { advisoryRatings as rateAdvisory, nvdSeverity as rateNvd, type AdvisorySeverity, type SeverityRating } from './severity';

/*
 * Per-record memos (issue 16 item 4): what a finding takes from one record alone — its ratings (CVSS
 * vectors scored), NVD's choice among its metrics, the first sentence of its details — is worked out
 * once per record object, not once per package that matches it. Keyed by the record object itself
 * (WeakMap): a new revision, or a record read again, is another object and is worked out afresh; an
 * evicted record frees its entry. Records are never mutated in place (the stores share them), and what
 * is memoised is only read by the callers (findings copy what they show).
 */
const RATINGS = new WeakMap<OsvRecord, Map<OsvAffected | undefined, ReturnType<typeof rateAdvisory>>>();
const NVD = new WeakMap<OsvRecord, ReturnType<typeof rateNvd>>();
const SENTENCE = new WeakMap<OsvRecord, string | undefined>();

/** severity.ts `advisoryRatings`, memoised per record object and `affected[]` entry. */
export function advisoryRatings(record: OsvRecord, affected?: OsvAffected): ReturnType<typeof rateAdvisory> {
  let byEntry = RATINGS.get(record);
  if (!byEntry) RATINGS.set(record, (byEntry = new Map()));
  let r = byEntry.get(affected);
  if (r === undefined) byEntry.set(affected, (r = rateAdvisory(record, affected)));
  return r;
}

/** severity.ts `nvdSeverity`, memoised per record object. */
export function nvdSeverity(record: OsvRecord): ReturnType<typeof rateNvd> {
  if (NVD.has(record)) return NVD.get(record);
  const r = rateNvd(record);
  NVD.set(record, r);
  return r;
}

/** {@link firstSentence} of a record's `details`, memoised per record object. */
export function detailsSentence(record: OsvRecord): string | undefined {
  if (SENTENCE.has(record)) return SENTENCE.get(record);
  const r = firstSentence(record.details);
  SENTENCE.set(record, r);
  return r;
}

/** The store as the matcher reads it: package lookups, and reads by id for NVD, KEV and alias records (required: a store that could not read them would silently drop known-exploited quarantines). */
export type MatcherStore = Pick<AdvisoryStore, 'lookup' | 'get'>;

/** CVEs per finding whose NVD and KEV records are read (a record aliasing more is rare; each costs two reads). */
export const MAX_CVES_PER_FINDING = 6;
/** Alias records read per finding for the alias join. */
export const MAX_ALIAS_GETS_PER_FINDING = 6;

/** `findings[].knownExploited`: the CISA KEV entry of the finding's CVE (https://www.cisa.gov/known-exploited-vulnerabilities-catalog). */
export interface KnownExploited {
  /** The CVE the catalog lists. */
  readonly cve: string;
  /** When CISA added it (YYYY-MM-DD). */
  readonly dateAdded: string;
  /** CISA's remediation due date for federal agencies (YYYY-MM-DD). */
  readonly dueDate?: string;
  /** `knownRansomwareCampaignUse`: `Known` or `Unknown`. */
  readonly ransomware?: string;
}

/** The severity fields of a finding. */
export interface ResolvedSeverity {
  readonly severity: Severity;
  readonly score?: number;
  readonly vector?: string;
  /** The winning source, in words: `NVD CVSS v3.1 (nvd@nist.gov, Primary)`, `CVSS_V3`, `GHSA-… CVSS_V3 (alias)`, `none`. */
  readonly severitySource: string;
  /** Every source's rating, the chosen one first. */
  readonly severities: readonly SeverityRating[];
  /** NVD's CVSS v4.0 score, shown beside a v3 decision. */
  readonly cvssV4?: { readonly score: number; readonly vector: string };
}

const RANK: Record<Severity, number> = { unknown: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** The most severe rating, ties by the higher score; first listed on a full tie. */
function worst<T extends { severity: Severity; score?: number }>(xs: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (!best || RANK[x.severity] > RANK[best.severity] || (RANK[x.severity] === RANK[best.severity] && (x.score ?? -1) > (best.score ?? -1))) best = x;
  return best;
}

function asRating(recordId: string, origin: SeverityRating['origin'], a: AdvisorySeverity): SeverityRating {
  return { record: recordId, source: a.source, origin, severity: a.severity, ...(a.score !== undefined ? { score: a.score } : {}), ...(a.vector !== undefined ? { vector: a.vector } : {}) };
}

/** `NVD CVSS v3.1 (nvd@nist.gov, Primary)`, `GHSA-x CVSS_V3 (alias)`, `CVSS_V3`. */
function describeSource(r: SeverityRating): string {
  if (r.origin === 'nvd') return `${r.source} (${r.assessor ?? 'unknown'}, ${r.type ?? 'Secondary'})`;
  if (r.origin === 'alias') return `${r.record} ${r.source} (alias)`;
  return r.source;
}

/** The CVE ids a finding names: its ids (id and aliases) and its records' `upstream`, capped. */
export function findingCves(ids: readonly string[], upstream: readonly string[]): string[] {
  return [...new Set([...ids, ...upstream].filter((i) => /^CVE-\d{4}-\d{4,}$/.test(i)))].sort().slice(0, MAX_CVES_PER_FINDING);
}


/**
 * The severity of a finding from every source, in the order of this module's table. `members` are the
 * records that matched (with the `affected[]` entry each matched), `ids` every id and alias they carry,
 * `upstream` their OSV `upstream` ids.
 */
export async function resolveSeverity(
  members: readonly { record: OsvRecord; affected: OsvAffected }[], ids: readonly string[], upstream: readonly string[], store: MatcherStore,
): Promise<ResolvedSeverity & { nvdRecords: OsvRecord[] }> {
  const cves = findingCves(ids, upstream);
  const own = new Set(members.map((m) => m.record.id));
  const aliasIds = ids.filter((i) => !own.has(i) && !i.startsWith('CVE-')).sort().slice(0, MAX_ALIAS_GETS_PER_FINDING);
  // CVE-… ids are read too when no member is one: OSV's own CVE records (and a feed that stores them) are the alias join's "CVE scored elsewhere".
  const cveAliases = ids.filter((i) => !own.has(i) && i.startsWith('CVE-')).sort().slice(0, 2);
  // NVD and alias records asked together: a batching store reads them in one request.
  const [nvdGot, aliasGot] = await Promise.all([
    Promise.all(cves.map((c) => store.get(nvdId(c)))),
    Promise.all([...aliasIds, ...cveAliases].map((i) => store.get(i))),
  ]);
  const nvdRecords = nvdGot.filter((r): r is OsvRecord => r !== undefined);
  const nvd = nvdRecords.map((r) => nvdSeverity(r)).filter((x): x is NonNullable<typeof x> => x !== undefined);
  const aliasRecords = aliasGot.filter((r): r is OsvRecord => r !== undefined && !r.withdrawn && r.id !== undefined && !own.has(r.id));

  const ownRatings = members.map((m) => ({ id: m.record.id, r: advisoryRatings(m.record, m.affected) }));
  const aliasRatings = aliasRecords.map((r) => ({ id: r.id, r: advisoryRatings(r) }));

  const tiers: SeverityRating[][] = [
    nvd.map((n) => n.rating),
    ownRatings.flatMap((o) => (o.r.cvss ? [asRating(o.id, 'advisory', o.r.cvss)] : [])),
    ownRatings.flatMap((o) => (o.r.database ? [asRating(o.id, 'advisory', o.r.database)] : [])),
    aliasRatings.flatMap((o) => (o.r.cvss ? [asRating(o.id, 'alias', o.r.cvss)] : [])),
    aliasRatings.flatMap((o) => (o.r.database ? [asRating(o.id, 'alias', o.r.database)] : [])),
    ownRatings.flatMap((o) => (o.r.distro ? [asRating(o.id, 'advisory', o.r.distro)] : [])),
    aliasRatings.flatMap((o) => (o.r.distro ? [asRating(o.id, 'alias', o.r.distro)] : [])),
  ];
  const all = tiers.flat();
  let chosen: SeverityRating | undefined;
  for (const tier of tiers) {
    chosen = worst(tier);
    if (chosen) break;
  }
  const cvssV4 = chosen?.origin === 'nvd' ? nvd.find((n) => n.rating === chosen)?.cvssV4 : undefined;
  if (!chosen) {
    const none = ownRatings.find((o) => o.r.none.source !== 'none')?.r.none.source ?? 'none';
    return { severity: 'unknown', severitySource: none, severities: all, nvdRecords };
  }
  return {
    severity: chosen.severity,
    ...(chosen.score !== undefined ? { score: chosen.score } : {}),
    ...(chosen.vector !== undefined ? { vector: chosen.vector } : {}),
    severitySource: describeSource(chosen),
    severities: [chosen, ...all.filter((r) => r !== chosen)],
    ...(cvssV4 ? { cvssV4 } : {}),
    nvdRecords,
  };
}

/**
 * The KEV entry of the finding's CVE (id, alias, upstream), or undefined. Several → the one added first
 * (the longest known to be exploited).
 */
export async function knownExploited(cves: readonly string[], store: MatcherStore): Promise<KnownExploited | undefined> {
  const entries = (await Promise.all(cves.map((c) => store.get(kevId(c)))))
    .map((r) => ({ r, kev: kevOf(r) }))
    .filter((x): x is { r: OsvRecord; kev: NonNullable<ReturnType<typeof kevOf>> } => x.kev !== undefined)
    .sort((a, b) => a.kev.dateAdded.localeCompare(b.kev.dateAdded));
  const first = entries[0];
  if (!first) return undefined;
  return {
    cve: first.r.id.slice(KEV_ID_PREFIX.length), dateAdded: first.kev.dateAdded,
    ...(first.kev.dueDate ? { dueDate: first.kev.dueDate } : {}),
    ...(first.kev.ransomware ? { ransomware: first.kev.ransomware } : {}),
  };
}

/** Longest summary taken from `details` (the table shows 60 characters; the JSON report the whole). */
export const MAX_DERIVED_SUMMARY = 200;

/** Words a period ends without ending a sentence. */
const ABBREVIATIONS = new Set(['e.g', 'i.e', 'etc', 'vs', 'cf', 'approx', 'incl', 'al', 'resp', 'no', 'fig', 'ca', 'inc', 'ltd', 'corp', 'dr', 'mr', 'ms', 'st', 'jr', 'sr']);

/**
 * The first sentence of a text for people (an OSV `details`, NVD's description): whitespace collapsed,
 * Markdown headings and rules skipped, cut at the first `.`, `!` or `?` followed by blank space and not
 * by a lower-case letter, unless the word before it is an abbreviation (`e.g.`, `etc.`) — a version like
 * `1.2.3` has no blank after its dots and is never cut; `before 1.2.3. An attacker` is cut after `1.2.3.`.
 * Longer than `max` characters → cut at a word boundary with `…`. Undefined for blank text.
 */
export function firstSentence(text: string | undefined, max = MAX_DERIVED_SUMMARY): string | undefined {
  if (typeof text !== 'string') return undefined;
  // Markdown structure first: headings, rules and emphasis-only lines (MAL- records' "_-= Per source details =-_") are not prose.
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/^(#+\s|---+$|\*\*\*+$|_.*_$)/.test(l));
  const flat = lines.join(' ').replace(/\s+/g, ' ').trim();
  if (flat === '') return undefined;
  let end = flat.length;
  const re = /[.!?](?=\s|$)/g;
  for (let m = re.exec(flat); m; m = re.exec(flat)) {
    const before = /(\S+)$/.exec(flat.slice(0, m.index))?.[1] ?? '';
    if (m[0] === '.' && ABBREVIATIONS.has(before.toLowerCase().replace(/^[("'[]+/, ''))) continue;
    const next = flat.slice(m.index + 1).trimStart()[0];
    if (next !== undefined && /[a-z]/.test(next)) continue;
    end = m.index + 1;
    break;
  }
  const sentence = flat.slice(0, end);
  if (sentence.length <= max) return sentence;
  const cut = sentence.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, '')}…`;
}
