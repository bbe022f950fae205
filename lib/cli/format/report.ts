import { sumCoverage, unknownClass, UNKNOWN_CLASSES, type Coverage, type Finding, type Package, type Unknown, type UnknownClass, type Verdict } from '../../engine/model';
import type { FeedInfo, ImageScan, ScanResult } from '../../engine/scan-image';

/** Version of the JSON report (DESIGN.md "Contracts": field names are stable; fields are added, never renamed). */
export const REPORT_SCHEMA_VERSION = 1;

/** One package as the JSON report prints it (DESIGN.md "Contracts": packages[]). */
export interface ReportPackage {
  readonly ecosystem: string;
  readonly name: string;
  readonly version: string;
  readonly purl: string;
  readonly sourceName?: string;
  readonly sourceVersion?: string;
  readonly arch?: string;
  readonly distro?: string;
  /** A language package an OS package installed: that OS package (judged by the distribution's feed). */
  readonly ownedBy?: { readonly purl: string; readonly name: string };
  readonly locations: readonly { readonly layer: string; readonly path: string }[];
  /** `name@version` of the cataloger that found it. */
  readonly cataloger: string;
}

/** One platform image of a multi-platform report. */
export interface ReportPlatform {
  readonly platform: string;
  readonly digest: string;
  readonly os?: string;
  readonly verdict: Verdict;
  readonly packages: readonly ReportPackage[];
  readonly findings: readonly Finding[];
  readonly unknowns: readonly Unknown[];
  readonly coverage?: ReportCoverage;
}

/**
 * What the scan examined, next to what it could not (issue 13): tar members, regular-file bytes present
 * vs examined in full by the content checks, bytes per consumer, and the unknowns by class.
 */
export interface ReportCoverage extends Coverage {
  readonly unknowns: Readonly<Record<UnknownClass, number>>;
}

function reportCoverage(layers: readonly { readonly coverage?: Coverage }[], unknowns: readonly Unknown[]): ReportCoverage | undefined {
  const c = sumCoverage(layers);
  if (!c) return undefined;
  const byClass = Object.fromEntries(UNKNOWN_CLASSES.map((k) => [k, 0])) as Record<UnknownClass, number>;
  for (const u of unknowns) byClass[unknownClass(u)]++;
  return { ...c, unknowns: byClass };
}

/** The document `trustctl scan --format json` prints (DESIGN.md "Contracts"). */
export interface ScanReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly image: { readonly ref: string; readonly digest: string; readonly mediaType: string; readonly platform: string | null; readonly os?: string };
  readonly verdict: Verdict;
  readonly packages: readonly ReportPackage[];
  readonly findings: readonly Finding[];
  /** Files that could not be read, with their layer and path (Syft's "unknowns"). */
  readonly unknowns: readonly Unknown[];
  /** Present for a multi-platform image: each platform's own verdict and contents. */
  readonly platforms?: readonly ReportPlatform[];
  /** For one platform: its coverage (several: each platform's, in `platforms`). */
  readonly coverage?: ReportCoverage;
  /** The vulnerability feeds the packages were matched against: source, last sync, newest record. */
  readonly feeds?: readonly FeedInfo[];
}

function reportPackage(p: Package): ReportPackage {
  return {
    ecosystem: p.ecosystem, name: p.name, version: p.version, purl: p.purl,
    ...(p.sourceName !== undefined ? { sourceName: p.sourceName } : {}),
    ...(p.sourceVersion !== undefined ? { sourceVersion: p.sourceVersion } : {}),
    ...(p.arch !== undefined ? { arch: p.arch } : {}),
    ...(p.distro !== undefined ? { distro: p.distro } : {}),
    ...(p.ownedBy !== undefined ? { ownedBy: { purl: p.ownedBy.purl, name: p.ownedBy.name } } : {}),
    locations: p.locations.map((l) => ({ layer: l.layer, path: l.path })),
    cataloger: `${p.cataloger.name}@${p.cataloger.version}`,
  };
}

/** "Debian GNU/Linux 12 (bookworm)", else "debian 12". */
export function osName(i: ImageScan): string | undefined {
  return i.os ? i.os.prettyName ?? `${i.os.id} ${i.os.versionId}`.trim() : undefined;
}

/** The same item from several platforms once, first occurrence first. */
function unique<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** True for a finding CISA's KEV catalog lists (match/resolve.ts `knownExploited`). */
export function isKnownExploited(f: Finding): boolean {
  const k = (f as { knownExploited?: unknown }).knownExploited;
  return typeof k === 'object' && k !== null;
}

/**
 * Known-exploited findings first (issue 14: what attackers use now is what a reviewer reads first), the
 * rest in the order the scan found them. Stable: nothing else is reordered.
 */
export function knownExploitedFirst(findings: readonly Finding[]): Finding[] {
  return [...findings.filter(isKnownExploited), ...findings.filter((f) => !isKnownExploited(f))];
}

const packageKey = (p: ReportPackage): string => `${p.purl}\0${p.locations.map((l) => `${l.layer}:${l.path}`).join(',')}`;

/**
 * The DESIGN.md report for a scan. One platform: its packages and findings. Several: the aggregate
 * verdict, the union of packages and findings, and `platforms` with each platform's own.
 */
export function toScanReport(r: ScanResult): ScanReport {
  const single = r.images.length === 1 ? r.images[0] : undefined;
  const platforms: ReportPlatform[] = r.images.map((i) => {
    const coverage = reportCoverage(i.layers, i.unknowns);
    return {
      platform: i.platform, digest: i.manifestDigest,
      ...(osName(i) ? { os: osName(i) } : {}),
      verdict: i.verdict, packages: i.packages.map(reportPackage), findings: knownExploitedFirst(i.findings), unknowns: i.unknowns,
      ...(coverage ? { coverage } : {}),
    };
  });
  const os = single ? osName(single) : undefined;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    image: { ref: r.ref, digest: r.digest, mediaType: r.mediaType, platform: single ? single.platform : null, ...(os ? { os } : {}) },
    verdict: r.verdict,
    packages: unique(platforms.flatMap((p) => p.packages), packageKey),
    findings: knownExploitedFirst(unique(platforms.flatMap((p) => p.findings), (f) => JSON.stringify(f))),
    unknowns: unique(platforms.flatMap((p) => p.unknowns), (u) => `${u.layer}\0${u.path}\0${u.reason}`),
    ...(single ? (platforms[0].coverage ? { coverage: platforms[0].coverage } : {}) : { platforms }),
    ...(r.feeds ? { feeds: r.feeds } : {}),
  };
}
