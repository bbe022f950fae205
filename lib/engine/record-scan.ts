/**
 * Step 5 of DESIGN.md "The data's way" ("Record"): a scan's verdicts, inventories and package index go
 * into the {@link VerdictStore}, one verdict per digest — every platform manifest, and the index's
 * aggregate under the index digest, so that whatever digest a deploy names, its verdict covers what
 * the node pulls (RELIABILITY.md 42). Pure over the port: the CLI passes the embedded store, the
 * pipeline the DynamoDB one.
 */
import { catalogerFingerprint, CATALOGERS } from './catalog/catalogers';
import type { Check } from './checks/types';
import { isMatcherFinding, MATCHER } from './match/matcher';
import type { Digest, Finding, Verdict, VerdictStatus } from './model';
import type { FeedInfo, ImageScan, ScanResult } from './scan-image';
import { NO_VULNERABILITY_DATA } from './scan-image';
import { countBySeverity, instantNanos } from './verdicts/order';
import type { SeverityCounts, StoredInventory, StoredVerdict, StoredVerdictReason, VerdictEvaluation, VerdictStore } from './verdicts/port';
import { inventoryPackageKeys } from './verdicts/keys';
import type { Cataloger } from './catalog/types';

/** The feed revision of an evaluation that used no feed (verdicts/port.ts `feedRevision`). */
export const NO_FEED_REVISION = '1970-01-01T00:00:00Z';

/**
 * What the advisories were as of a scan: the newest `syncedAt` or record `modified` over its feeds
 * (an instant, compared as one by the store), {@link NO_FEED_REVISION} when there were none.
 */
export function feedRevisionOf(feeds: readonly FeedInfo[] | undefined): string {
  let best: string | undefined;
  let bestNs = -1n;
  for (const f of feeds ?? []) {
    for (const t of [f.syncedAt, f.modified]) {
      if (!t) continue;
      let ns: bigint;
      try {
        ns = instantNanos(t);
      } catch {
        continue; // a feed with an unreadable timestamp says nothing about the revision
      }
      if (ns > bestNs) [best, bestNs] = [t, ns];
    }
  }
  return best ?? NO_FEED_REVISION;
}

/** Every plug-in that took part in a scan, as sorted `name@version` (catalogers, checks, matcher). */
export function pluginsOf(opts: { catalogers?: readonly Cataloger[]; checks?: readonly Check[] } = {}): string[] {
  const catalogers = catalogerFingerprint(opts.catalogers ?? CATALOGERS).split(',').filter(Boolean);
  const checks = (opts.checks ?? []).map((c) => `${c.name}@${c.version}`);
  return [...new Set([...catalogers, ...checks, `${MATCHER.name}@${MATCHER.version}`])].sort();
}

/** A verdict as the policy returns it (evaluate.ts PolicyVerdict): reasons may name their findings. */
type JudgedVerdict = Verdict & { readonly policyHash?: string };

const reasonsOf = (v: JudgedVerdict): StoredVerdictReason[] =>
  (v.reasons as readonly { rule: string; message: string; findings?: readonly string[] }[])
    .map((r) => ({ rule: r.rule, message: r.message, findings: [...(r.findings ?? [])] }));

/** Counts over several platforms: a finding (id, package, path) shared by platforms counts once. */
const unionCounts = (images: readonly ImageScan[]): SeverityCounts => {
  const seen = new Map<string, Finding>();
  for (const i of images) for (const f of i.findings) seen.set(`${f.id}\0${f.package ?? ''}\0${f.path ?? ''}`, f);
  return countBySeverity([...seen.values()]);
};

/** Options of {@link verdictEvaluations} and {@link recordScan}. */
export interface RecordOptions {
  /** When the evaluation finished (RFC 3339). Default: now. */
  readonly evaluatedAt?: string;
  /** The plug-ins of the scan ({@link pluginsOf}). */
  readonly plugins: readonly string[];
  /** The policy hash when a verdict does not carry one (a baseline-only verdict). */
  readonly policyHash?: string;
}

/**
 * The evaluations a scan yields: one per platform manifest digest, then the index aggregate under the
 * index digest (its reasons are the platforms', prefixed; its counts their sum).
 */
export function verdictEvaluations(result: ScanResult, opts: RecordOptions): VerdictEvaluation[] {
  const evaluatedAt = opts.evaluatedAt ?? new Date().toISOString();
  const feedRevision = feedRevisionOf(result.feeds);
  const feeds = (result.feeds ?? []).map((f) => ({ source: f.source, ...(f.revision !== undefined ? { revision: f.revision } : {}), ...(f.status !== undefined ? { status: f.status } : {}) }));
  const base = { ref: result.ref, feedRevision, ...(feeds.length > 0 ? { feeds } : {}), plugins: [...opts.plugins], evaluatedAt };
  const platformHash = (i: ImageScan) => (i.verdict as JudgedVerdict).policyHash ?? opts.policyHash ?? 'none';
  const perImage: VerdictEvaluation[] = result.images.map((i) => ({
    ...base, digest: i.manifestDigest, status: i.verdict.status, reasons: reasonsOf(i.verdict as JudgedVerdict),
    counts: countBySeverity(i.findings), policyHash: platformHash(i),
  }));
  if (!result.isIndex) {
    // A single manifest: the scan's verdict is the image's (the same digest; the aggregate is itself).
    return perImage.length > 0 ? perImage : [{
      ...base, digest: result.digest, status: result.verdict.status, reasons: reasonsOf(result.verdict as JudgedVerdict),
      counts: countBySeverity([]), policyHash: opts.policyHash ?? 'none',
    }];
  }
  const hashes = [...new Set(perImage.map((e) => e.policyHash))];
  const aggregate: VerdictEvaluation = {
    ...base, digest: result.digest, status: result.verdict.status, reasons: reasonsOf(result.verdict as JudgedVerdict),
    counts: unionCounts(result.images), policyHash: hashes.length === 1 ? hashes[0] : opts.policyHash ?? hashes.join(','),
  };
  // Only some platforms scanned: the aggregate would speak for the whole index; record platforms only.
  return result.partial ? perImage : [...perImage, aggregate];
}

/**
 * The inventory kept for re-evaluation: packages, OS, unknowns, layers, and the findings that do not
 * come from advisories (a re-evaluation matches the packages again and must not count old matches);
 * likewise the matcher's unknowns (no vulnerability data, ranges it could not order) are left out —
 * the re-evaluation asks the feeds again, and a feed synced since then must be able to lift them.
 */
export function storedInventoryOf(image: ImageScan): StoredInventory {
  // The matcher's findings (vulnerabilities, and malicious package versions from MAL- records) are made again.
  const findings: Finding[] = image.findings.filter((f) => !isMatcherFinding(f) && f.id !== NO_VULNERABILITY_DATA.id);
  return {
    ...(image.os ? { os: image.os } : {}),
    packages: image.packages, unknowns: image.unknowns.filter((u) => u.consumer !== MATCHER.name), findings, layers: image.layers,
  };
}

/** What recording one digest's evaluation did. */
export interface RecordedVerdict {
  readonly digest: Digest;
  /** True when this evaluation was stored (false: the store holds a newer or the same one). */
  readonly written: boolean;
  /** The digest's verdict after recording. */
  readonly current: StoredVerdict;
  /** The status before this evaluation, undefined when the digest had none. */
  readonly previousStatus?: VerdictStatus;
  /** The verdict this evaluation replaced (the revision just before it), when there was one. */
  readonly previous?: StoredVerdict;
  /** True when the status differs from the previous one (or there was none): a tag and maybe an alert are due. */
  readonly changed: boolean;
}

/**
 * Records a scan: inventories and package keys of every scanned platform, then every verdict (platforms
 * first, the index aggregate last, so that a reader that sees the aggregate finds its platforms).
 * Concurrent recorders of the same digest are safe: the store keeps the newest evaluation
 * (RELIABILITY.md 29–30).
 */
export async function recordScan(store: VerdictStore, result: ScanResult, opts: RecordOptions): Promise<RecordedVerdict[]> {
  for (const image of result.images) {
    // Unscannable images have nothing to re-evaluate from: no inventory, so a rescan re-reads them.
    if (image.packages.length === 0 && image.layers.length === 0) continue;
    await store.putInventory(image.manifestDigest, storedInventoryOf(image));
    await store.indexPackages(image.manifestDigest, inventoryPackageKeys(image.packages));
  }
  const out: RecordedVerdict[] = [];
  for (const evaluation of verdictEvaluations(result, opts)) {
    const put = await store.put(evaluation);
    // The revision just before ours, from the history (not a read before the put: a concurrent
    // writer may land in between, and the transition is relative to what we replaced).
    const previous = put.written && put.revision !== undefined && put.revision > 1
      ? (await store.history(evaluation.digest, { limit: 2 })).find((h) => h.revision === put.revision! - 1)
      : undefined;
    const previousStatus = previous?.status;
    out.push({
      digest: evaluation.digest, written: put.written, current: put.current,
      ...(previous ? { previous, previousStatus: previous.status } : {}),
      changed: put.written && previousStatus !== put.current.status,
    });
  }
  return out;
}
