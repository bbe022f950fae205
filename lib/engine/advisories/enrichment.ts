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

/** NVD's timestamps are UTC without an offset (`2023-10-08T14:15:11.703`): make them RFC 3339. */
function nvdTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/.test(v)) return undefined;
  const t = /(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : `${v}Z`;
  return Number.isNaN(Date.parse(t)) ? undefined : t;
}

/** The metric arrays of NVD CVE API 2.0 `metrics`, and the CVSS version each holds. */
const NVD_METRIC_KEYS: readonly (readonly [string, NvdMetric['version']])[] = [
  ['cvssMetricV40', '4.0'], ['cvssMetricV31', '3.1'], ['cvssMetricV30', '3.0'], ['cvssMetricV2', '2.0'],
];
const OSV_TYPE: Record<NvdMetric['version'], string> = { '2.0': 'CVSS_V2', '3.0': 'CVSS_V3', '3.1': 'CVSS_V3', '4.0': 'CVSS_V4' };
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const MAX_DESCRIPTION = 16_384;

/**
 * One NVD CVE API 2.0 `cve` object (https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema,
 * `vulnerabilities[].cve`) as an enrichment record, or the reason it cannot be one. Only what severity
 * needs is kept: id, dates, status, English description, CVSS metrics (each must carry a vector string
 * and a version matching the array it is in; others are dropped). Never throws.
 */
export function nvdRecord(cve: unknown): OsvRecord | { readonly skip: string } {
  if (!isObject(cve)) return { skip: 'not an object' };
  const id = cve.id;
  if (typeof id !== 'string' || !CVE_ID.test(id)) return { skip: `bad id ${JSON.stringify(id)?.slice(0, 80)}` };
  const modified = nvdTime(cve.lastModified);
  if (!modified) return { skip: `${id}: no usable lastModified` };
  const published = nvdTime(cve.published);
  const metrics: NvdMetric[] = [];
  const raw = isObject(cve.metrics) ? cve.metrics : {};
  for (const [key, version] of NVD_METRIC_KEYS) {
    const list = raw[key];
    if (!Array.isArray(list)) continue;
    for (const m of list.slice(0, 64)) {
      if (!isObject(m) || !isObject(m.cvssData)) continue;
      const d = m.cvssData;
      if (d.version !== version || typeof d.vectorString !== 'string' || d.vectorString.length > 256) continue;
      const baseSeverity = typeof d.baseSeverity === 'string' ? d.baseSeverity : typeof m.baseSeverity === 'string' ? m.baseSeverity : undefined;
      metrics.push({
        source: typeof m.source === 'string' ? m.source.slice(0, 256) : 'unknown',
        // NVD's schema requires `type`; a metric without one is not NVD's own assessment.
        type: m.type === 'Primary' ? 'Primary' : 'Secondary',
        version,
        vector: d.vectorString,
        ...(typeof d.baseScore === 'number' && Number.isFinite(d.baseScore) ? { baseScore: d.baseScore } : {}),
        ...(baseSeverity !== undefined ? { baseSeverity: baseSeverity.slice(0, 32) } : {}),
      });
    }
  }
  const descriptions = Array.isArray(cve.descriptions) ? cve.descriptions : [];
  const english = descriptions.find((d): d is { lang: string; value: string } => isObject(d) && d.lang === 'en' && typeof d.value === 'string');
  const details = english?.value.slice(0, MAX_DESCRIPTION);
  const vulnStatus = typeof cve.vulnStatus === 'string' ? cve.vulnStatus.slice(0, 64) : undefined;
  const nvd: NvdEnrichment = {
    ...(vulnStatus !== undefined ? { vulnStatus } : {}),
    ...(typeof cve.sourceIdentifier === 'string' ? { sourceIdentifier: cve.sourceIdentifier.slice(0, 256) } : {}),
    metrics,
  };
  return {
    id: nvdId(id),
    modified,
    ...(published ? { published } : {}),
    ...(vulnStatus === 'Rejected' ? { withdrawn: modified } : {}),
    aliases: [id],
    related: [],
    upstream: [],
    ...(details ? { details } : {}),
    severity: metrics.map((m) => ({ type: OSV_TYPE[m.version], score: m.vector })),
    affected: [],
    references: [],
    databaseSpecific: { nvd },
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The entries of a CISA KEV catalog (`known_exploited_vulnerabilities.json`, schema
 * `known_exploited_vulnerabilities_schema.json` beside it) as enrichment records. Every record's
 * `modified` is the catalog's `dateReleased` (entries carry no modification time of their own, and CISA
 * does revise entries, e.g. `knownRansomwareCampaignUse`): a newer catalog supersedes every entry, and a
 * feed reader that wants only real changes compares payloads. Entries without a CVE id or `dateAdded` are
 * skipped with a reason. Never throws.
 */
export function kevRecords(catalog: unknown): { readonly records: OsvRecord[]; readonly skipped: { readonly ref: string; readonly reason: string }[]; readonly catalogVersion?: string } {
  const skipped: { ref: string; reason: string }[] = [];
  if (!isObject(catalog) || !Array.isArray(catalog.vulnerabilities)) return { records: [], skipped: [{ ref: 'catalog', reason: 'not a KEV catalog (no vulnerabilities[])' }] };
  const released = nvdTime(catalog.dateReleased);
  if (!released) return { records: [], skipped: [{ ref: 'catalog', reason: 'no usable dateReleased' }] };
  const catalogVersion = typeof catalog.catalogVersion === 'string' ? catalog.catalogVersion.slice(0, 64) : undefined;
  const str = (v: unknown, max = 512): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);
  const records: OsvRecord[] = [];
  catalog.vulnerabilities.forEach((e: unknown, i: number) => {
    if (!isObject(e) || typeof e.cveID !== 'string' || !CVE_ID.test(e.cveID)) return skipped.push({ ref: `vulnerabilities[${i}]`, reason: 'no valid cveID' });
    if (typeof e.dateAdded !== 'string' || !DATE.test(e.dateAdded)) return skipped.push({ ref: e.cveID, reason: 'no valid dateAdded' });
    const kev: KevEnrichment = {
      dateAdded: e.dateAdded,
      ...(typeof e.dueDate === 'string' && DATE.test(e.dueDate) ? { dueDate: e.dueDate } : {}),
      ...(str(e.knownRansomwareCampaignUse, 32) !== undefined ? { ransomware: str(e.knownRansomwareCampaignUse, 32) } : {}),
      ...(str(e.vendorProject) !== undefined ? { vendorProject: str(e.vendorProject) } : {}),
      ...(str(e.product) !== undefined ? { product: str(e.product) } : {}),
      ...(str(e.vulnerabilityName) !== undefined ? { vulnerabilityName: str(e.vulnerabilityName) } : {}),
      ...(catalogVersion !== undefined ? { catalogVersion } : {}),
    };
    records.push({
      id: kevId(e.cveID), modified: released, published: `${e.dateAdded}T00:00:00Z`, aliases: [e.cveID], related: [], upstream: [],
      ...(str(e.shortDescription, MAX_DESCRIPTION) ? { details: str(e.shortDescription, MAX_DESCRIPTION) } : {}),
      severity: [], affected: [], references: [], databaseSpecific: { kev },
    });
    return undefined;
  });
  return { records, skipped, ...(catalogVersion !== undefined ? { catalogVersion } : {}) };
}
