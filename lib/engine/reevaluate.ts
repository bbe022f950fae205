/**
 * Re-judging a digest without its layers (DESIGN.md "The data's way", step 7 "Re-verify": feed-sync's
 * targeted rescans and the nightly run re-evaluate from stored inventories — never downloading a
 * layer). The stored inventory holds the packages and the findings that do not come from advisories
 * (record-scan.ts `storedInventoryOf`); re-evaluation matches the packages against the advisory store
 * as it is now, adds those findings back, applies the policy and records the verdict through the
 * {@link VerdictStore} under its usual write rule (a stale evaluation never overwrites a newer one).
 *
 * An image index has no inventory of its own: its verdict is the aggregate over its platforms
 * (policy/baseline.ts `aggregateVerdict`). So that the aggregate can be re-judged too, a scan of an
 * index also stores an **index record** under the index digest ({@link recordScanWithIndex}): an
 * inventory with no packages whose `index.platforms` lists the platform manifests, and the index
 * digest is indexed under the union of its platforms' package keys, so a feed change that affects a
 * platform targets the index as well.
 */
import type { Digest, Finding, Package, Unknown } from './model';
import { isDigest } from './model';
import { matchPackage, matchPackages, MATCHER, type MatchedFinding, type MatcherStore, type SchemeRegistry } from './match/matcher';
import { uncoveredPackages } from './match/coverage';
import { mergeFindings } from './match/merge-findings';
import { DEFAULT_POLICY } from './policy/default-policy';
import { evaluatePolicy } from './policy/evaluate';
import type { Policy } from './policy/schema';
import { recordScan, verdictEvaluations, type RecordedVerdict, type RecordOptions } from './record-scan';
import type { AdvisorySource, ImageScan, ScanResult } from './scan-image';
import { inventoryPackageKeys } from './verdicts/keys';
import { aggregateVerdict } from './policy/baseline';
import type { PutVerdictOptions, StoredInventory, StoredVerdict, VerdictEvaluation, VerdictStore } from './verdicts/port';

/** Version of the index record's shape (a reader that does not know it treats the record as absent). */
export const INDEX_RECORD_VERSION = 1;

/** One platform manifest of an index. */
export interface IndexPlatform {
  readonly digest: Digest;
  /** `linux/amd64`, as the scan named it. */
  readonly platform: string;
}

/**
 * The inventory stored under an index digest: no packages of its own, and the platform manifests the
 * aggregate is made of. It travels through {@link VerdictStore.putInventory} like any inventory (the
 * stores keep an inventory's JSON as is).
 */
export interface IndexRecord extends StoredInventory {
  readonly index: { readonly version: number; readonly platforms: readonly IndexPlatform[] };
}

/** The platforms of an index record, or undefined when `inventory` is a platform's own (or unknown) inventory. */
export function indexPlatformsOf(inventory: StoredInventory | undefined): readonly IndexPlatform[] | undefined {
  const idx = (inventory as Partial<IndexRecord> | undefined)?.index;
  if (!idx || idx.version !== INDEX_RECORD_VERSION || !Array.isArray(idx.platforms)) return undefined;
  const ok = idx.platforms.every((p) => typeof p === 'object' && p !== null && isDigest(p.digest) && typeof p.platform === 'string');
  return ok ? idx.platforms : undefined;
}

/**
 * {@link recordScan}, plus — for a whole index (not a `--platform` subset) — the index record and the
 * index digest's package keys, written before any verdict: a reader that sees the aggregate verdict
 * can always re-judge it.
 */
export async function recordScanWithIndex(store: VerdictStore, result: ScanResult, opts: RecordOptions): Promise<RecordedVerdict[]> {
  if (result.isIndex && !result.partial && result.images.length > 0) {
    const record: IndexRecord = {
      packages: [], unknowns: [], findings: [], layers: [],
      index: { version: INDEX_RECORD_VERSION, platforms: result.images.map((i) => ({ digest: i.manifestDigest, platform: i.platform })) },
    };
    await store.putInventory(result.digest, record);
    await store.indexPackages(result.digest, inventoryPackageKeys(result.images.flatMap((i) => i.packages)));
  }
  return recordScan(store, result, opts);
}

/** What matching one package gave. */
type MatchResult = { readonly findings: readonly MatchedFinding[]; readonly unknowns: readonly Unknown[] };

/**
 * Match results shared by the re-evaluations of one batch — the nightly run or a feed change judging
 * thousands of digests that share base layers and popular packages. A package with the same
 * ecosystem, name, version, source, distribution, purl and location always matches the same
 * advisories, so it is matched once per batch. Valid for one state of the advisory store only: make
 * a new cache whenever advisories may have changed (it is never kept across feed syncs).
 */
export class MatchCache {
  /** Results already settled, answered without waiting. */
  private readonly done = new Map<string, MatchResult>();
  private readonly pending = new Map<string, Promise<MatchResult>>();
  /** Packages matched, and packages answered from the cache. */
  misses = 0;
  hits = 0;

  /** @param maxEntries Most packages remembered; beyond, the oldest are forgotten. Default 500,000. */
  constructor(private readonly maxEntries = 500_000) {}

  /** What identifies a package's match: the purl names ecosystem, name and version; the rest (owner included) is what else the matcher reads. */
  static keyOf(p: Package): string {
    const at = p.locations[0];
    return `${p.purl}\0${p.ecosystem}\0${p.distro ?? ''}\0${p.sourceName ?? ''}\0${p.sourceVersion ?? ''}\0${p.ownedBy?.purl ?? ''}\0${at ? `${at.layer}\0${at.path}` : ''}`;
  }

  /** The settled result of `key`, if any (no await needed). */
  settled(key: string): MatchResult | undefined {
    const r = this.done.get(key);
    if (r) this.hits++;
    return r;
  }

  /**
   * The findings and unknowns of `p` (whose key is `key`), matched once. `store` must offer `get` for
   * severities, KEV and the alias join to reflect the store as it is now (NVD/KEV records synced since the scan).
   */
  async match(p: Package, key: string, store: MatcherStore, schemes: SchemeRegistry): Promise<MatchResult> {
    const running = this.pending.get(key);
    if (running) {
      this.hits++;
      return running;
    }
    this.misses++;
    const r = matchPackage(p, store, schemes);
    this.pending.set(key, r);
    try {
      const value = await r;
      if (this.done.size >= this.maxEntries) this.done.delete(this.done.keys().next().value as string);
      this.done.set(key, value);
      return value;
    } finally {
      // A failed lookup is not remembered: the next digest asks again.
      this.pending.delete(key);
    }
  }
}

/** Packages × advisories, through the batch's {@link MatchCache} when there is one. */
async function matchAll(packages: readonly Package[], opts: ReevaluateOptions): Promise<{ findings: MatchedFinding[]; unknowns: Unknown[] }> {
  const cache = opts.matchCache;
  // RELIABILITY.md 55: asked again on every evaluation, so that a feed synced since the scan lifts it.
  const uncovered = uncoveredPackages(packages, opts.advisories.feeds);
  if (!cache) {
    const r = await matchPackages(packages, opts.advisories.store, opts.advisories.schemes);
    return { findings: r.findings, unknowns: [...r.unknowns, ...uncovered] };
  }
  const findings: MatchedFinding[] = [];
  const unknowns: Unknown[] = [...uncovered];
  for (const p of packages) {
    const key = MatchCache.keyOf(p);
    const r = cache.settled(key) ?? (await cache.match(p, key, opts.advisories.store, opts.advisories.schemes));
    if (r.findings.length > 0) findings.push(...r.findings);
    if (r.unknowns.length > 0) unknowns.push(...r.unknowns);
  }
  return { findings, unknowns };
}

/** Options of {@link reevaluateDigest}. */
export interface ReevaluateOptions {
  /** The advisories as they are now, the schemes, and the feeds (their sync times make the feed revision). */
  readonly advisories: AdvisorySource;
  /** Default {@link DEFAULT_POLICY}. */
  readonly policy?: Policy;
  /** The plug-ins recorded with the evaluation (record-scan.ts `pluginsOf`), matcher included. */
  readonly plugins: readonly string[];
  /** The policy's clock (exception expiry, feed staleness, grace periods). Default now. */
  readonly now?: () => Date;
  /** The evaluation's `evaluatedAt` (RFC 3339). Default: `now()`. */
  readonly evaluatedAt?: string;
  /** Match results shared with the other re-evaluations of a batch (same advisory-store state). */
  readonly matchCache?: MatchCache;
  /** What asked for the re-evaluation (the rescan message's `reason`), passed to the store: nightly history may expire. */
  readonly trigger?: string;
}

/** What {@link reevaluateDigest} did. */
export type ReevaluationOutcome =
  /** Judged from the stored inventory and recorded (`recorded.written` false: the store holds a newer or the same evaluation). */
  | { readonly status: 'recorded'; readonly digest: Digest; readonly recorded: RecordedVerdict; readonly platforms?: number }
  /**
   * Nothing to judge from: no inventory (the image was unscannable, or never scanned here). The
   * current verdict, if any, is left as it is — an unscannable image stays quarantined whatever the feeds say.
   */
  | { readonly status: 'no-inventory'; readonly digest: Digest; readonly current?: StoredVerdict }
  /**
   * The inventory was made by other catalogers or checks than the current ones: re-judging it would
   * keep a fixed parser's old answer (DESIGN.md "Rules of the house"), so the image must be scanned again.
   */
  | { readonly status: 'stale-inventory'; readonly digest: Digest; readonly current: StoredVerdict };

const isMatcher = (p: string): boolean => p.startsWith(`${MATCHER.name}@`);

/** True when two plug-in lists name the same catalogers and checks (the matcher is re-run anyway). */
export function sameScanPlugins(a: readonly string[], b: readonly string[]): boolean {
  const norm = (xs: readonly string[]): string => [...new Set(xs.filter((x) => !isMatcher(x)))].sort().join(',');
  return norm(a) === norm(b);
}

/** One platform image rebuilt from its inventory, judged against the advisories of `opts`. */
async function judgeInventory(ref: string, digest: Digest, platform: string, inv: StoredInventory, opts: ReevaluateOptions, now: Date, indexDigest?: Digest): Promise<ImageScan> {
  const packages: readonly Package[] = inv.packages;
  const vulns = await matchAll(packages, opts);
  // One finding per (vulnerability, package, version), as the scan reports it (scan-image.ts).
  const findings: Finding[] = [...mergeFindings(vulns.findings), ...(inv.findings ?? [])];
  // The stored unknowns are judged again: what the scan could not examine is still unexamined.
  const unknowns = [...inv.unknowns.filter((u) => u.consumer !== MATCHER.name), ...vulns.unknowns];
  const verdict = evaluatePolicy(opts.policy ?? DEFAULT_POLICY, {
    ref, digest, ...(indexDigest ? { indexDigest } : {}), findings, unknowns, feeds: opts.advisories.feeds, now,
  });
  return {
    platform, manifestDigest: digest, configDigest: digest,
    ...(inv.os ? { os: inv.os } : {}),
    packages, unknowns, layers: inv.layers ?? [],
    findings, verdict,
  };
}

/** A platform of an index that has no inventory (it was unscannable): quarantined, as its scan was. */
function missingPlatform(ref: string, p: IndexPlatform, opts: ReevaluateOptions, now: Date, indexDigest: Digest): ImageScan {
  const findings: Finding[] = [{
    type: 'unscannable', id: 'NO_STORED_INVENTORY', aliases: [], severity: 'unknown',
    message: `platform ${p.platform} (${p.digest}) has no stored inventory: it could not be scanned`,
  }];
  const verdict = evaluatePolicy(opts.policy ?? DEFAULT_POLICY, { ref, digest: p.digest, indexDigest, findings, feeds: opts.advisories.feeds, now });
  return { platform: p.platform, manifestDigest: p.digest, configDigest: p.digest, packages: [], unknowns: [], layers: [], findings, verdict };
}

/**
 * Puts one evaluation and reports what it did, like {@link recordScan} does for each of a scan's
 * verdicts (the previous revision from the history, not a read before the put).
 */
export async function recordEvaluation(store: VerdictStore, evaluation: VerdictEvaluation, options?: PutVerdictOptions): Promise<RecordedVerdict> {
  const put = await store.put(evaluation, options);
  const previous = put.written && put.revision !== undefined && put.revision > 1
    ? (await store.history(evaluation.digest, { limit: 2 })).find((h) => h.revision === put.revision! - 1)
    : undefined;
  return {
    digest: evaluation.digest, written: put.written, current: put.current,
    ...(previous ? { previous, previousStatus: previous.status } : {}),
    changed: put.written && previous?.status !== put.current.status,
  };
}

/**
 * Re-judges one digest from what the store holds — a platform manifest from its inventory, an index
 * from its platforms' inventories — and records the verdict of that one digest (an index's
 * platforms are recorded by their own re-evaluations). Never reads the registry.
 */
export async function reevaluateDigest(store: VerdictStore, digest: Digest, opts: ReevaluateOptions): Promise<ReevaluationOutcome> {
  const [inventory, current] = await Promise.all([store.getInventory(digest), store.get(digest)]);
  if (!inventory) return { status: 'no-inventory', digest, ...(current ? { current } : {}) };
  if (current && !sameScanPlugins(current.plugins, opts.plugins)) return { status: 'stale-inventory', digest, current };
  const now = opts.now?.() ?? new Date();
  const evaluatedAt = opts.evaluatedAt ?? now.toISOString();
  // The reference the image was known by: the registries rule and repository-scoped exceptions read it.
  const ref = current?.ref ?? digest;
  const platforms = indexPlatformsOf(inventory);
  let result: ScanResult;
  if (platforms) {
    const images: ImageScan[] = [];
    for (const p of platforms) {
      const inv = await store.getInventory(p.digest);
      images.push(inv ? await judgeInventory(ref, p.digest, p.platform, inv, opts, now, digest) : missingPlatform(ref, p, opts, now, digest));
    }
    result = {
      ref, digest, mediaType: 'index', isIndex: true, images,
      verdict: aggregateVerdict(images.map((i) => ({ platform: i.platform, verdict: i.verdict }))),
      feeds: opts.advisories.feeds,
    };
  } else {
    const image = await judgeInventory(ref, digest, 'unknown', inventory, opts, now);
    result = { ref, digest, mediaType: 'manifest', isIndex: false, images: [image], verdict: image.verdict, feeds: opts.advisories.feeds };
  }
  const evaluations = verdictEvaluations(result, { plugins: opts.plugins, evaluatedAt });
  // An index: the aggregate is the last evaluation; the platforms are recorded by their own messages.
  const evaluation = evaluations[evaluations.length - 1];
  const recorded = await recordEvaluation(store, evaluation, opts.trigger === undefined ? undefined : { trigger: opts.trigger });
  return { status: 'recorded', digest, recorded, ...(platforms ? { platforms: platforms.length } : {}) };
}
