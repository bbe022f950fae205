import type { OsvRecord } from './osv';

/**
 * Enrichment records (issue 14): data about a vulnerability that is not an advisory about a package —
 * NVD's CVSS metrics for a CVE and CISA's known-exploited catalog — kept in the same advisory store as
 * OSV records so that every store (memory, embedded, DynamoDB) holds, revises and syncs them with the
 * machinery it already has (newest `modified` wins, per-source feed state, changed ids re-judge digests).
 *
 * They are stored as {@link OsvRecord}s under their own id namespace, so they can never collide with an
 * OSV id (OSV's own `CVE-` records, if ever synced, stay distinct):
 *
 * | kind | id | aliases | modified | affected | payload |
 * |---|---|---|---|---|---|
 * | NVD CVE | `nvd:CVE-…` | `[CVE-…]` | NVD `lastModified` (as RFC 3339, `Z`) | `[]` | `databaseSpecific.nvd`: {@link NvdEnrichment} |
 * | KEV entry | `kev:CVE-…` | `[CVE-…]` | see the KEV converter | `[]` | `databaseSpecific.kev`: {@link KevEnrichment} |
 *
 * With no `affected[]` they are never returned by `lookup(ecosystem, name)`; the matcher reads them by id
 * (`AdvisoryStore.get`). `summary`/`details` of an NVD record carry its English description; `severity`
 * carries its CVSS vectors as OSV severity entries (`CVSS_V2`/`CVSS_V3`/`CVSS_V4`), so code that only
 * knows OSV still sees them; `published` is NVD's `published`. A CVE NVD rejects (`vulnStatus: Rejected`)
 * is stored with `withdrawn` set.
 */

/** Id prefix of NVD enrichment records. */
export const NVD_ID_PREFIX = 'nvd:';
/** Id prefix of CISA KEV enrichment records. */
export const KEV_ID_PREFIX = 'kev:';

/** The store id of the NVD record for `cve` (`CVE-2023-0286` → `nvd:CVE-2023-0286`). */
export const nvdId = (cve: string): string => `${NVD_ID_PREFIX}${cve}`;
/** The store id of the KEV entry for `cve`. */
export const kevId = (cve: string): string => `${KEV_ID_PREFIX}${cve}`;

/** True for ids of enrichment records (never reported as a finding's id). */
export const isEnrichmentId = (id: string): boolean => id.startsWith(NVD_ID_PREFIX) || id.startsWith(KEV_ID_PREFIX);

/** The CVE an enrichment id is about (`nvd:CVE-…` → `CVE-…`), or undefined for other ids. */
export function enrichedCve(id: string): string | undefined {
  if (id.startsWith(NVD_ID_PREFIX)) return id.slice(NVD_ID_PREFIX.length);
  if (id.startsWith(KEV_ID_PREFIX)) return id.slice(KEV_ID_PREFIX.length);
  return undefined;
}

/**
 * One CVSS metric of an NVD record (NVD CVE API 2.0 `metrics.cvssMetricV2|V30|V31|V40[]`,
 * https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema), as given by NVD.
 */
export interface NvdMetric {
  /** Who scored it: `nvd@nist.gov` (NVD itself), a CNA's or ADP's identifier (e.g. CISA-ADP's UUID). */
  readonly source: string;
  /** `Primary` = NVD's own assessment (or the CNA's when NVD has none); `Secondary` = a CNA/ADP. */
  readonly type: 'Primary' | 'Secondary';
  readonly version: '2.0' | '3.0' | '3.1' | '4.0';
  readonly vector: string;
  /** `cvssData.baseScore` as NVD publishes it. */
  readonly baseScore?: number;
  /** `cvssData.baseSeverity` (v3/v4) or the metric's `baseSeverity` (v2), as NVD publishes it. */
  readonly baseSeverity?: string;
}

/** `databaseSpecific.nvd` of an NVD enrichment record. */
export interface NvdEnrichment {
  readonly vulnStatus?: string;
  readonly sourceIdentifier?: string;
  /** Every CVSS metric of the record, in NVD's order within each version. */
  readonly metrics: readonly NvdMetric[];
}

/** `databaseSpecific.kev` of a KEV enrichment record (CISA KEV catalog fields, https://www.cisa.gov/known-exploited-vulnerabilities-catalog). */
export interface KevEnrichment {
  /** `dateAdded` (YYYY-MM-DD). */
  readonly dateAdded: string;
  /** `dueDate` (YYYY-MM-DD). */
  readonly dueDate?: string;
  /** `knownRansomwareCampaignUse`: `Known` or `Unknown`. */
  readonly ransomware?: string;
  readonly vendorProject?: string;
  readonly product?: string;
  readonly vulnerabilityName?: string;
  /** `catalogVersion` of the catalog the entry was read from. */
  readonly catalogVersion?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The NVD payload of an enrichment record, or undefined when `record` is not one. */
export function nvdOf(record: OsvRecord | undefined): NvdEnrichment | undefined {
  if (!record || !record.id.startsWith(NVD_ID_PREFIX)) return undefined;
  const nvd = record.databaseSpecific?.nvd;
  return isObject(nvd) && Array.isArray(nvd.metrics) ? (nvd as unknown as NvdEnrichment) : undefined;
}

/** The KEV payload of an enrichment record, or undefined when `record` is not one. */
export function kevOf(record: OsvRecord | undefined): KevEnrichment | undefined {
  if (!record || !record.id.startsWith(KEV_ID_PREFIX) || record.withdrawn) return undefined;
  const kev = record.databaseSpecific?.kev;
  return isObject(kev) && typeof kev.dateAdded === 'string' ? (kev as unknown as KevEnrichment) : undefined;
}
