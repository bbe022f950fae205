import { createHash } from 'node:crypto';
import { CATALOGERS, catalogerFingerprint } from './catalog/catalogers';
import { catalogLayer, catalogWants, overlayInventories, type LayerInventory } from './catalog/inventory';
import { detectOs, osWants } from './catalog/os';
import { applyDistro } from './catalog/os/distro';
import { attributeOwnedPackages, ownerDbWants } from './catalog/owners';
import type { Cataloger } from './catalog/types';
import { CompressionError, LimitExceededError, ManifestError, TarFormatError, TrustError, UnsupportedMediaTypeError } from './errors';
import { FileTree } from './layers/file-tree';
import { fromLayerRecord, LAYER_RECORD_VERSION, toLayerRecord } from './layers/layer-record';
import { fillHardlinkTargets, missingHardlinkTargets, type BodyConsumer, type BodyExtractor, type EntryInfo, type LayerResult, type ReadLayerOptions } from './layers/layer-reader';
import { BuildInfoExtractor, GO_WHOLE_BINARY_BYTES } from './catalog/golang/buildinfo';
import { ExecutableExtractor, MIN_EXECUTABLE_BYTES } from './catalog/binary-extractor';
import { checkFingerprint } from './checks/fingerprint';
import type { Check, CheckResult, FileCheck, ImageCheck, ImageCheckContext } from './checks/types';
import { readVerifiedLayer } from './inspect-image';
import { layerConcurrency, layerWorkerHeapMb, mapInOrder } from './layer-pool';
import { LayerWorkersUnavailable, sharedLayerWorkerPool, type LayerWorkerPool } from './layer-worker/pool';
import { checksFromSpec, layerReadFingerprint, type FreshLayer, type LayerWorkerSpec } from './layer-worker/wire';
import { withDeadline } from './registry/deadline';
import type { Limits } from './limits';
import { formatPlatform, type Digest, type FeedInfo, type Finding, type Inventory, type LayerScan, type Package, type Platform, type Unknown } from './model';
import { aggregateVerdict, baselineVerdict } from './policy/baseline';
import { DEFAULT_POLICY } from './policy/default-policy';
import { evaluatePolicy } from './policy/evaluate';
import type { Policy } from './policy/schema';
import type { Verdict } from './model';
import type { AdvisoryStore, CachedLayer, LayerCache } from './ports';
import { matchPackages, type SchemeRegistry } from './match/matcher';
import { uncoveredPackages } from './match/coverage';
import { mergeFindings } from './match/merge-findings';
import { resolveImage, type ResolvedImage } from './registry/resolve';
import type { ImageSource } from './registry/source';

export type { FeedInfo, Inventory, LayerScan } from './model';

/** Options of {@link scanImage}. */
export interface ScanOptions {
  readonly limits: Limits;
  /** Only this platform of a multi-platform image (default: every platform). */
  readonly platform?: Platform;
  /** Package catalogers (default: {@link CATALOGERS}). */
  readonly catalogers?: readonly Cataloger[];
  /** Malware, secrets, misconfiguration and base-image checks (default: none; the CLI passes checks.ts's list). */
  readonly checks?: readonly Check[];
  /** The policy that turns findings into the verdict (default: {@link DEFAULT_POLICY}). */
  readonly policy?: Policy;
  /** The evaluation time (exception expiry, feed staleness); default now. */
  readonly now?: () => Date;
  /** Where layer results are kept between scans; none = every layer is read. */
  readonly cache?: LayerCache;
  /**
   * Vulnerability data to match packages against. Absent means there is none: the image gets an
   * `unscannable` finding (RELIABILITY.md 46: never silently "clean").
   */
  readonly advisories?: AdvisorySource;
  /** Called after each layer is handled (read or taken from the cache): a CLI progress bar, a log line. */
  readonly onProgress?: (p: ScanProgress) => void;
  /**
   * Layers read at once (default: the cores, bounded by memory — {@link layerConcurrency}). Whatever
   * the value, the result, the cache writes and the progress events are those of reading the layers
   * one after another.
   */
  readonly layerConcurrency?: number;
  /**
   * Read layers on worker threads (lib/engine/layer-worker), so layers read at once use as many
   * cores: how the workers rebuild {@link checks} (which must be what this spec stands for: a worker
   * whose checks differ is never used). Only with the default catalogers and when two or more layers
   * are read at once; absent or `false`, or when no worker can start: on the main thread. Either
   * way the result, the cache writes and the progress events are the same.
   */
  readonly workers?: LayerWorkerSpec | false;
}

/** Where a scan is: one event per layer handled. */
export interface ScanProgress {
  /** The platform image being scanned (`linux/amd64`). */
  readonly platform: string;
  /** Layers of this image handled so far, and in all. */
  readonly layersDone: number;
  readonly layersTotal: number;
  /** Compressed bytes of this image's layers handled so far, and in all (manifest sizes). */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The layer just handled, and whether it came from the cache (nothing downloaded). */
  readonly layer: Digest;
  readonly cached: boolean;
}

/** Advisories for matching, and what the report says about where they came from. */
export interface AdvisorySource {
  /** `get` (every AdvisoryStore has it) lets the matcher read NVD, KEV and alias records; without it findings carry only their own records' ratings. */
  readonly store: Pick<AdvisoryStore, 'lookup' | 'get'>;
  readonly schemes: SchemeRegistry;
  /** The feeds behind the store (source, last sync, newest record), reported with every scan. */
  readonly feeds: readonly FeedInfo[];
}

/** The result for one platform image (one manifest digest). */
export interface ImageScan extends Inventory {
  readonly platform: string;
  readonly manifestDigest: Digest;
  readonly configDigest: Digest;
  readonly layers: readonly LayerScan[];
  readonly findings: readonly Finding[];
  readonly verdict: Verdict;
}

/** What `trustctl scan` reports: one entry per platform image plus the aggregate verdict. */
export interface ScanResult {
  readonly ref: string;
  /** The digest the user's reference resolved to (an index digest for a multi-platform image). */
  readonly digest: Digest;
  readonly mediaType: string;
  readonly isIndex: boolean;
  readonly images: readonly ImageScan[];
  /** An index is trusted only when every platform scanned is. */
  readonly verdict: Verdict;
  /** The vulnerability feeds the packages were matched against (absent: none). */
  readonly feeds?: readonly FeedInfo[];
  /**
   * True when only some platforms of an index were scanned (`--platform`): the aggregate verdict then
   * speaks for those platforms only and is never recorded under the index digest (RELIABILITY.md 42).
   */
  readonly partial?: boolean;
}

/**
 * The layer-cache key: layer digest, every cataloger's name and version, the record format and the
 * read limits (a body cut at a smaller cap gives a different inventory) — DESIGN.md "Rules of the
 * house": fixing a parser re-scans what it touched.
 */
export function layerCacheKey(layer: Digest, limits: Limits, catalogers: readonly Cataloger[] = CATALOGERS, checks: readonly Check[] = []): string {
  const h = createHash('sha256')
    .update(`${LAYER_RECORD_VERSION}\n${catalogerFingerprint(catalogers)}\n${checkFingerprint(checks)}\n${JSON.stringify(limits)}`)
    .digest('hex')
    .slice(0, 32);
  return `${layer}/${h}`;
}

/**
 * Errors that say the *image* cannot be vouched for (caps, corrupt tar or compression, unknown media
 * types): they become an `unscannable` finding and a quarantined verdict. Transport and integrity
 * errors (digest or size mismatch, registry and auth failures) are not a property of the image we can
 * record — RELIABILITY.md 18/19: "abort, no verdict from it" — so they propagate.
 */
export function isUnscannable(e: unknown): e is TrustError {
  return UNSCANNABLE.some((c) => e instanceof c);
}
const UNSCANNABLE = [LimitExceededError, TarFormatError, CompressionError, UnsupportedMediaTypeError, ManifestError];

/** The finding recorded when an image cannot be read to the end. */
export function unscannableFinding(e: TrustError): Finding {
  return { type: 'unscannable', id: e.code, aliases: [], severity: 'unknown', message: e.message };
}

/**
 * The inventory of squashed layers: each layer's packages that are still visible, completed with the
 * distribution found in the release files (DESIGN.md "The data's way", step 2).
 */
export function inventoryOf(layers: readonly LayerResult[], inventories: readonly LayerInventory[], tree: FileTree): Inventory {
  const os = detectOs((p) => tree.readFile(p));
  return {
    ...(os ? { os } : {}),
    // Language packages a distribution installed are its OS packages' (issue 14): only the file lists
    // of the image's own, visible package database count.
    packages: attributeOwnedPackages(applyDistro(overlayInventories(inventories, tree), os), (p) => tree.readFile(p)),
    unknowns: [...layers.flatMap((l) => l.unknowns), ...tree.unknowns, ...inventories.flatMap((i) => i.unknowns)],
  };
}

/**
 * The predicate handed to the layer reader for bodies captured whole: files some cataloger wants,
 * the release files, and what image checks read from the tree. Content checks capture nothing: they
 * stream ({@link openFileChecks}).
 */
export function scanWants(catalogers: readonly Cataloger[], checks: readonly Check[] = []): (path: string, info?: EntryInfo) => boolean {
  const cat = catalogWants(catalogers);
  const keep = keptBodies(checks);
  return (path, info) => osWants(path) || cat(path) || (info !== undefined && keep(path, info));
}

/**
 * Bodies the layer record keeps for the overlay: release files, the package databases' file lists
 * (which language packages an OS package installed: catalog/owners.ts) and what image checks read
 * from the tree.
 */
export function keptBodies(checks: readonly Check[]): (path: string, info: EntryInfo) => boolean {
  const image = checks.filter((c): c is ImageCheck => c.kind === 'image' && c.wants !== undefined);
  return (path, info) => osWants(path) || ownerDbWants(path) || image.some((c) => c.wants!(path, info));
}

/**
 * Everything the layer reader needs to serve the catalogers: the bodies to capture whole, the Go
 * binaries too large to hold (their build info is found as they stream by: {@link BuildInfoExtractor}),
 * every other regular file looked at by content for a Go or cargo-auditable binary
 * ({@link ExecutableExtractor}: kept only when it is one), and who wanted a path (the consumer of a
 * `cut-by-cap` unknown).
 */
export function captureRules(catalogers: readonly Cataloger[], checks: readonly Check[] = []): Required<Pick<ReadLayerOptions, 'wants' | 'wantedBy'>> & Pick<ReadLayerOptions, 'extract'> {
  const wants = scanWants(catalogers, checks);
  const go = catalogers.find((c) => c.name === 'go-binary');
  const byContent = catalogers.some((c) => c.wantsBody !== undefined);
  const extract = (path: string, info: EntryInfo): BodyExtractor | undefined => {
    if (osWants(path)) return undefined;
    if (go && info.size > GO_WHOLE_BINARY_BYTES && go.wants(path)) return new BuildInfoExtractor(info.size);
    // Found by content: regular files no one captures whole (hardlinks are found at their target).
    if (!byContent || info.type !== 'file' || info.size < MIN_EXECUTABLE_BYTES || wants(path, info)) return undefined;
    return new ExecutableExtractor(info.size);
  };
  return {
    wants,
    wantedBy: (path) => catalogers.filter((c) => c.wants(path)).map((c) => c.name).join(',') || (osWants(path) ? 'os-release' : ownerDbWants(path) ? 'os-package-files' : 'image-checks'),
    ...(go || byContent ? { extract } : {}),
  };
}

/** One layer's pass of every file check, as the reader's streaming consumers. */
export interface FileCheckRuns {
  readonly consumers: readonly BodyConsumer[];
  /** Every check's findings and unknowns once the layer was read to the end. */
  finish(): Promise<CheckResult>;
  /** The layer could not be read: release what the checks hold. */
  abort(): void;
}

/**
 * Opens every file check on one layer: each becomes a {@link BodyConsumer} of the reader, so every
 * regular-file member's bytes pass through it as they stream (RELIABILITY.md 10, 53).
 */
export function openFileChecks(layer: Digest, checks: readonly Check[]): FileCheckRuns {
  const runs = checks.filter((c): c is FileCheck => c.kind === 'file').map((check) => ({ check, run: check.openLayer(layer) }));
  return {
    consumers: runs.map(({ check, run }) => ({ name: check.name, file: (path: string, info: EntryInfo) => run.file(path, info) })),
    finish: () => runChecks(layer, runs.map(({ check, run }) => ({ check, run: () => run.finish() }))),
    abort() {
      for (const { run } of runs) run.abort();
    },
  };
}

/**
 * Reads one layer of a registry image: catalogers' bodies captured, every file check streamed, and —
 * when a wanted hardlink's same-layer target was not captured (`/var/lib/dpkg/status` linked to
 * `/x`) — a second pass over the blob for those targets' bytes. A wanted hardlink to a lower layer's
 * file is a `body-not-read` unknown: catalogers work per layer and never see those bytes.
 */
export async function readLayerForScan(source: ImageSource, image: ResolvedImage, i: number, limits: Limits, catalogers: readonly Cataloger[], checks: readonly Check[]): Promise<{ result: LayerResult; checked: CheckResult }> {
  const desc = image.manifest.layers[i];
  const rules = captureRules(catalogers, checks);
  const runs = openFileChecks(desc.digest, checks);
  let result: LayerResult;
  try {
    result = await readVerifiedLayer(source, image, i, limits, { ...rules, consumers: runs.consumers });
  } catch (e) {
    runs.abort();
    throw e;
  }
  const missing = missingHardlinkTargets(result);
  if (missing.size > 0) {
    const again = await readVerifiedLayer(source, image, i, limits, { captureMembers: missing });
    fillHardlinkTargets(result, again.capturedMembers ?? new Map(), limits.maxCatalogFileBytes, rules.wantedBy);
  }
  noteLowerHardlinks(result, rules.wantedBy);
  return { result, checked: await runs.finish() };
}

/**
 * Drops the bodies captured for one layer's catalogers once they have run (issue 16: they were held to
 * the end of the scan, ~200 MiB of a 1.3 GB image's peak). What stays is what the rest of the scan
 * reads: the bodies {@link keptBodies} names (the release files, the package databases' file lists,
 * the image checks' files — all the squashed tree is read for, and what a layer-cache hit holds), and
 * the body of every same-layer hardlink's target (a kept path may be such a hardlink). A hardlink in a
 * HIGHER layer to a released body finds no bytes, as on a cache hit: catalogers never see those bytes
 * (a `body-not-read` unknown, {@link noteLowerHardlinks}) and the tree records it as not captured.
 */
export function releaseCatalogBodies(l: LayerResult, keep: (path: string, info: EntryInfo) => boolean): void {
  const targets = new Set<object>();
  for (const e of l.entries.values()) if (e.linkTarget) targets.add(e.linkTarget);
  for (const [p, e] of l.entries) if (e.body !== undefined && !targets.has(e) && !keep(p, e)) delete e.body;
}

/** Wanted hardlinks to a lower layer's file: their bytes are not in this layer (see {@link readLayerForScan}). */
export function noteLowerHardlinks(l: LayerResult, wantedBy: (path: string) => string): void {
  for (const e of l.entries.values()) {
    if (e.type === 'hardlink' && e.wanted && !e.linkTarget && !e.body) {
      l.unknowns.push({ layer: l.digest, path: e.path, reason: `hardlink to ${e.linkname} in a lower layer: the cataloger does not see its bytes`, class: 'body-not-read', consumer: wantedBy(e.path) });
    }
  }
}

/** Runs every image check over the squashed tree and the config. */
function checkImage(ctx: ImageCheckContext, checks: readonly Check[]): Promise<CheckResult> {
  const image = checks.filter((c): c is ImageCheck => c.kind === 'image');
  return runChecks(ctx.manifestDigest, image.map((check) => ({ check, run: () => check.run(ctx) })));
}

/**
 * Runs checks one after another and gathers what they found. A check that throws must not abort the
 * scan, nor let what it was to examine pass as clean: it becomes a `scanner-unavailable` unknown.
 */
async function runChecks(layer: string, runs: readonly { readonly check: Check; readonly run: () => Promise<CheckResult> }[]): Promise<CheckResult> {
  const findings: Finding[] = [];
  const unknowns: Unknown[] = [];
  for (const { check, run } of runs) {
    try {
      const r = await run();
      findings.push(...r.findings);
      unknowns.push(...r.unknowns);
    } catch (err) {
      unknowns.push({ layer, path: '/', reason: `${check.name}@${check.version} failed: ${(err as Error).message}`, class: 'scanner-unavailable', consumer: check.name });
    }
  }
  return { findings, unknowns };
}

/** What one layer contributes to the image scan, read or taken from the cache. */
interface ScannedLayer {
  readonly result: LayerResult;
  readonly inventory: LayerInventory;
  readonly findings: readonly Finding[];
  readonly scan: LayerScan;
  /** Read, not taken from the cache, with a cache to write to: what to write under its key (in layer order). */
  readonly put?: CachedLayer;
}

/**
 * Every layer of one platform image, read {@link ScanOptions.layerConcurrency} at a time
 * (lib/engine/layer-pool.ts) and merged in layer order: the cache writes, the progress events and
 * what is returned come out exactly as when the layers are read one after another, and so does a
 * failure — the lowest layer that fails decides, layers above it are aborted (a sequential scan never
 * reached them), layers below it are still cached.
 */
async function scanLayers(source: ImageSource, image: ResolvedImage, opts: ScanOptions, catalogers: readonly Cataloger[]) {
  const { limits, cache } = opts;
  const checks = opts.checks ?? [];
  const descs = image.manifest.layers;
  const total = descs.reduce((n, d) => n + d.size, 0);
  if (total > limits.maxImageBytes) throw new LimitExceededError('maxImageBytes', limits.maxImageBytes, `image ${image.manifestDigest} layers total ${total} bytes`);
  const keep = keptBodies(checks);
  const keys = descs.map((d) => layerCacheKey(d.digest, limits, catalogers, checks));
  // A layer repeated in one image is a cache hit the second time when read in sequence: its lookup
  // waits until the first one was written.
  const taken = descs.map(() => deferred());
  const firstOf = keys.map((k) => keys.indexOf(k));

  const scanOne = async (i: number, signal: AbortSignal): Promise<ScannedLayer> => {
    const desc = descs[i];
    const expected = image.config.rootfs.diff_ids[i];
    if (cache && firstOf[i] < i) await Promise.race([taken[firstOf[i]].promise, aborted(signal)]);
    signal.throwIfAborted();
    const hit = await cache?.get(keys[i]);
    if (hit && hit.record.diffId === expected && hit.record.digest === desc.digest) {
      return {
        result: fromLayerRecord(hit.record),
        inventory: { layer: desc.digest, packages: hit.packages, unknowns: hit.unknowns },
        findings: hit.findings,
        scan: { digest: desc.digest, cached: true, packages: hit.packages.length, ...(hit.record.coverage ? { coverage: hit.record.coverage } : {}) },
      };
    }
    signal.throwIfAborted();
    const { result, inventory: inv, checked } = await readFresh(i, signal);
    const unknowns = [...inv.unknowns, ...checked.unknowns];
    const put = cache ? { record: toLayerRecord(result, (p) => { const e = result.entries.get(p); return e !== undefined && keep(p, e); }), packages: inv.packages, unknowns, findings: [...checked.findings] } : undefined;
    // The catalogers are done with this layer: hold only what the squashed tree is read for.
    releaseCatalogBodies(result, keep);
    return {
      result,
      inventory: { ...inv, unknowns },
      findings: checked.findings,
      scan: { digest: desc.digest, cached: false, packages: inv.packages.length, ...(result.coverage ? { coverage: result.coverage } : {}) },
      ...(put ? { put } : {}),
    };
  };

  const concurrency = opts.layerConcurrency ?? layerConcurrency(limits);
  const workers = await layerWorkersFor(opts, catalogers, checks, Math.min(concurrency, descs.length));
  /** One layer read: on a worker when there are workers, else (or when none could start) here. */
  const readFresh = async (i: number, signal: AbortSignal): Promise<FreshLayer> => {
    // The signal closes this layer's blob streams: a lower layer failed, this one is not wanted.
    const guarded = withDeadline(source, signal);
    if (workers) {
      try {
        const answer = await workers.pool.read({ source: guarded, image, index: i, limits, spec: workers.spec }, signal);
        // Never an answer from other checks than the caller's (a signature file changed under the scan).
        if (answer.fingerprint !== workers.fingerprint) throw new TrustError('LAYER_WORKER_CHECKS', `a layer worker ran other checks (${answer.fingerprint}) than the scan's (${workers.fingerprint})`);
        return answer.value;
      } catch (e) {
        if (!(e instanceof LayerWorkersUnavailable)) throw e;
      }
    }
    const { result, checked } = await readLayerForScan(guarded, image, i, limits, catalogers, checks);
    return { result, inventory: catalogLayer(result, catalogers), checked };
  };

  const layerFindings: Finding[] = [];
  const layers: LayerResult[] = [];
  const inventories: LayerInventory[] = [];
  const scans: LayerScan[] = [];
  let bytesDone = 0;
  await mapInOrder(descs.length, concurrency, scanOne, async (i, l) => {
    if (l.put) await cache!.put(keys[i], l.put);
    taken[i].resolve();
    layers.push(l.result);
    inventories.push(l.inventory);
    layerFindings.push(...l.findings);
    scans.push(l.scan);
    bytesDone += descs[i].size;
    opts.onProgress?.({
      platform: formatPlatform(image.platform), layersDone: i + 1, layersTotal: descs.length,
      bytesDone, bytesTotal: total, layer: descs[i].digest, cached: l.scan.cached,
    });
  });
  return { layers, inventories, scans, layerFindings };
}

/**
 * The worker pool of a scan and what its workers' checks must be, or `undefined` to read on the
 * main thread: no spec, custom catalogers (a worker knows only {@link CATALOGERS}), fewer than two
 * layers at once (nothing to run side by side), or a spec whose checks are not the scan's.
 */
async function layerWorkersFor(opts: ScanOptions, catalogers: readonly Cataloger[], checks: readonly Check[], atOnce: number): Promise<{ pool: LayerWorkerPool; spec: LayerWorkerSpec; fingerprint: string } | undefined> {
  const spec = opts.workers;
  if (!spec || catalogers !== CATALOGERS || atOnce < 2) return undefined;
  const fingerprint = layerReadFingerprint(checks);
  // A spec that cannot even be built here (a signature file gone since the caller loaded it) is no worker's either.
  const specFingerprint = await checksFromSpec(spec).then(layerReadFingerprint, () => undefined);
  if (specFingerprint !== fingerprint) return undefined;
  return { pool: sharedLayerWorkerPool(atOnce, { maxOldGenerationSizeMb: layerWorkerHeapMb(atOnce) }), spec, fingerprint };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Settles once `signal` fires (never rejects: the caller checks the signal). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** The finding recorded when there is no vulnerability data to match against. */
export const NO_VULNERABILITY_DATA: Finding = {
  type: 'unscannable', id: 'NO_VULNERABILITY_DATA', aliases: [], severity: 'unknown',
  message: 'no vulnerability data: packages were not matched against any advisory (run `trustctl feeds sync`, or pass --feed)',
};

/** Step 3 of DESIGN.md "The data's way": packages × advisories. */
async function vulnerabilities(packages: readonly Package[], advisories: AdvisorySource | undefined): Promise<{ findings: Finding[]; unknowns: Unknown[] }> {
  if (!advisories) return { findings: [NO_VULNERABILITY_DATA], unknowns: [] };
  const matched = await matchPackages(packages, advisories.store, advisories.schemes);
  // RELIABILITY.md 55: an ecosystem no complete feed covers was not asked, which is not "no vulnerabilities".
  // One finding per (vulnerability, package, version), however many copies the image holds.
  return { findings: mergeFindings(matched.findings), unknowns: [...matched.unknowns, ...uncoveredPackages(packages, advisories.feeds)] };
}

/**
 * Step 4 of DESIGN.md "The data's way": the policy turns findings and feed ages into the verdict; the
 * baseline (unscannable, malware) can never be lifted by it.
 */
function judge(ref: string, digest: Digest, findings: readonly Finding[], unknowns: readonly Unknown[], opts: Pick<ScanOptions, 'policy' | 'now' | 'advisories'>, indexDigest?: Digest): Verdict {
  return evaluatePolicy(opts.policy ?? DEFAULT_POLICY, {
    ref, digest, ...(indexDigest ? { indexDigest } : {}), findings, unknowns, feeds: opts.advisories?.feeds ?? [], now: opts.now?.() ?? new Date(),
  });
}

/** Scans one platform image; an image that cannot be read to the end is quarantined with the reason. */
async function scanPlatformImage(source: ImageSource, image: ResolvedImage, opts: ScanOptions, catalogers: readonly Cataloger[], indexDigest?: Digest): Promise<ImageScan> {
  const head = { platform: formatPlatform(image.platform), manifestDigest: image.manifestDigest, configDigest: image.configDigest };
  try {
    const { layers, inventories, scans, layerFindings } = await scanLayers(source, image, opts, catalogers);
    const tree = FileTree.squash(layers, opts.limits);
    const inventory = inventoryOf(layers, inventories, tree);
    const vulns = await vulnerabilities(inventory.packages, opts.advisories);
    const checked = await checkImage({ config: image.config, tree, layers: layers.map((l) => l.digest), manifestDigest: image.manifestDigest }, opts.checks ?? []);
    const findings = [...vulns.findings, ...layerFindings, ...checked.findings];
    const unknowns = [...inventory.unknowns, ...vulns.unknowns, ...checked.unknowns];
    return { ...head, ...inventory, unknowns, layers: scans, findings, verdict: judge(source.name, image.manifestDigest, findings, unknowns, opts, indexDigest) };
  } catch (e) {
    if (!isUnscannable(e)) throw e;
    const findings = [unscannableFinding(e)];
    return { ...head, packages: [], unknowns: [], layers: [], findings, verdict: judge(source.name, image.manifestDigest, findings, [], opts, indexDigest) };
  }
}

/**
 * The whole flow for one image reference (DESIGN.md "The data's way", steps 2–4): resolve the
 * manifest (an index → every platform, or the one asked for); per layer reuse the cached result or
 * stream the blob once — verify, decompress, walk, hand each cataloger the files it asked for — and
 * cache it; squash with overlay semantics; complete OS packages with the distribution; judge.
 */
export async function scanImage(source: ImageSource, opts: ScanOptions): Promise<ScanResult> {
  const catalogers = opts.catalogers ?? CATALOGERS;
  let target: Awaited<ReturnType<typeof resolveImage>>;
  try {
    target = await resolveImage(source, opts);
  } catch (e) {
    // An index the runtime could still pull from but we cannot follow to the end (nested too deep,
    // too many entries, a lying entry) is an unscannable image with a verdict under its digest —
    // quarantined and recorded, never dropped (RELIABILITY.md 59).
    if (!isUnscannable(e)) throw e;
    return unscannableRoot(source, e, opts);
  }
  const images: ImageScan[] = [];
  for (const image of target.images) images.push(await scanPlatformImage(source, image, opts, catalogers, target.isIndex ? target.rootDigest : undefined));
  return {
    ref: source.name,
    digest: target.rootDigest,
    mediaType: target.rootMediaType,
    isIndex: target.isIndex,
    images,
    verdict: aggregateVerdict(images.map((i) => ({ platform: i.platform, verdict: i.verdict }))),
    ...(opts.advisories ? { feeds: opts.advisories.feeds } : {}),
    ...(target.isIndex && opts.platform ? { partial: true } : {}),
  };
}

/**
 * Scans a tree that was read some other way than from a registry — a directory on disk (`dir:`
 * target) — as one platform-less image whose digest is its only layer's. `checked` is what the file
 * checks found while the tree was read ({@link openFileChecks}).
 */
export async function scanReadLayer(ref: string, layer: LayerResult, opts: Pick<ScanOptions, 'limits' | 'catalogers' | 'advisories' | 'checks' | 'policy' | 'now'>, checked: CheckResult = { findings: [], unknowns: [] }): Promise<ScanResult> {
  const catalogers = opts.catalogers ?? CATALOGERS;
  const inv = catalogLayer(layer, catalogers);
  const tree = FileTree.squash([layer], opts.limits);
  const inventory = inventoryOf([layer], [inv], tree);
  const vulns = await vulnerabilities(inventory.packages, opts.advisories);
  // A directory has no image config: only the content checks apply; they ran as it was read (`checked`).
  const findings = [...vulns.findings, ...checked.findings];
  const unknowns = [...inventory.unknowns, ...vulns.unknowns, ...checked.unknowns];
  const verdict = judge(ref, layer.digest, findings, unknowns, opts);
  const image: ImageScan = {
    platform: 'unknown', manifestDigest: layer.digest, configDigest: layer.digest,
    ...inventory,
    unknowns,
    layers: [{ digest: layer.digest, cached: false, packages: inv.packages.length, ...(layer.coverage ? { coverage: layer.coverage } : {}) }],
    findings, verdict,
  };
  return { ref, digest: layer.digest, mediaType: layer.mediaType, isIndex: false, images: [image], verdict, ...(opts.advisories ? { feeds: opts.advisories.feeds } : {}) };
}

/** The result for an image whose manifest or index could be read but not followed: quarantined under the root digest. */
async function unscannableRoot(source: ImageSource, e: TrustError, opts: ScanOptions): Promise<ScanResult> {
  const root = await source.getRootManifest();
  const findings = [unscannableFinding(e)];
  const verdict = judge(source.name, root.digest, findings, [], opts);
  const image: ImageScan = { platform: 'unknown', manifestDigest: root.digest, configDigest: root.digest, packages: [], unknowns: [], layers: [], findings, verdict };
  return { ref: source.name, digest: root.digest, mediaType: root.mediaType, isIndex: false, images: [image], verdict, ...(opts.advisories ? { feeds: opts.advisories.feeds } : {}) };
}

/**
 * The result for a digest given up before it could be read — the pipeline's scan deadline hit on the
 * message's last attempt (lib/engine/pipeline/scan.ts): `finding` (an `unscannable` one) under `digest`,
 * quarantined by the baseline. No inventory: a re-evaluation leaves it as it is; a push after the feeds changed scans again.
 */
export function unscannableDigest(ref: string, digest: Digest, finding: Finding, opts: Pick<ScanOptions, 'policy' | 'now' | 'advisories'>): ScanResult {
  const findings = [finding];
  const verdict = judge(ref, digest, findings, [], opts);
  const image: ImageScan = { platform: 'unknown', manifestDigest: digest, configDigest: digest, packages: [], unknowns: [], layers: [], findings, verdict };
  return { ref, digest, mediaType: 'unknown', isIndex: false, images: [image], verdict, ...(opts.advisories ? { feeds: opts.advisories.feeds } : {}) };
}

/** The result for a target that could not be read to the end before any digest was known (a `dir:` over a cap). */
export function unscannableScan(ref: string, e: TrustError): ScanResult {
  const findings = [unscannableFinding(e)];
  const verdict = baselineVerdict(findings);
  const digest = `sha256:${createHash('sha256').update(ref).digest('hex')}` as Digest;
  const image: ImageScan = { platform: 'unknown', manifestDigest: digest, configDigest: digest, packages: [], unknowns: [], layers: [], findings, verdict };
  return { ref, digest, mediaType: 'unknown', isIndex: false, images: [image], verdict };
}
