/**
 * Steps 1–5 of DESIGN.md "The data's way" for one digest of a registry: a push event (scan queue) or
 * a digest the nightly sweep found without a verdict (rescan queue) is scanned through a
 * {@link RegistrySource} and recorded. Every delivery may arrive more than once, and at once
 * (RELIABILITY.md 24–27): a digest already judged with the same feeds, policy and plug-ins is not
 * scanned again, concurrent deliveries are serialised by a short claim, and the store's conditional
 * write keeps one verdict per evaluation whatever gets through.
 */
import type { Readable } from 'node:stream';
import { formatImageRef, type Descriptor, type Digest, type ImageRef, type VerdictStatus } from '../model';
import { policyHash } from '../policy/schema';
import { feedRevisionOf, type RecordedVerdict } from '../record-scan';
import { recordScanWithIndex } from '../reevaluate';
import { formatDuration } from '../duration';
import { ScanTimeoutError } from '../errors';
import { startDeadline, withDeadline, type Deadline } from '../registry/deadline';
import { RegistrySource } from '../registry/registry-source';
import type { ImageSource, ManifestBytes } from '../registry/source';
import { scanImage, unscannableDigest } from '../scan-image';
import type { StoredVerdict } from '../verdicts/port';
import { advisorySourceOf, alreadyAnswered, describeError, feedInfoOf, pluginsFor } from './common';
import { parseEcrEvent, type EcrPush, type IgnoredEvent } from './messages';
import { SILENT_LOGGER, type ScanPorts } from './ports';
import { lastScanAttempt } from './retries';

/** What to scan: a digest in a repository of a registry, as events and messages name it. */
export interface ScanTarget {
  readonly registry: string;
  readonly repository: string;
  readonly digest: Digest;
  /** The tag it was pushed with (recorded in the verdict's `ref`, for humans). */
  readonly tag?: string;
  /** When the scan was asked for (the push event's time, the sweep's run). */
  readonly requestedAt?: string;
}

/** What {@link scanPushed} / {@link scanDigest} did. */
export type ScanOutcome =
  /** An ECR event that is not a successful push (DELETE, a failed push, a scan-result event), or a digest that is an attestation/signature artifact. */
  | { readonly status: 'ignored'; readonly reason: string }
  /** The digest was already judged with the same feeds, policy and plug-ins: nothing scanned, nothing written. */
  | { readonly status: 'duplicate'; readonly digest: Digest; readonly current: StoredVerdict; readonly reason: string }
  /** Another worker holds the digest's scan claim right now: it records the verdict. */
  | { readonly status: 'in-progress'; readonly digest: Digest }
  | {
      readonly status: 'scanned';
      readonly digest: Digest;
      readonly ref: string;
      readonly verdict: VerdictStatus;
      /** One per recorded digest: the platforms, then an index's aggregate. */
      readonly recorded: readonly RecordedVerdict[];
      /** Layers whose blobs were downloaded, and layers taken from the layer cache. */
      readonly layersRead: number;
      readonly layersCached: number;
    }
  /**
   * The scan hit its deadline on the message's last attempt (retries.ts): given up, recorded as
   * quarantined with an `unscannable` finding `SCAN_TIMEOUT` — admission denies with that reason, the
   * nightly sweep does not enqueue it again; a push of the digest after the feeds changed scans it again (with the same feeds it is answered: `duplicate`).
   */
  | {
      readonly status: 'unscannable';
      readonly digest: Digest;
      readonly ref: string;
      readonly verdict: VerdictStatus;
      readonly recorded: readonly RecordedVerdict[];
      /** Why this attempt was the last one. */
      readonly reason: string;
    };

/**
 * Layer media types of artifacts that ride in image manifests but hold no filesystem: in-toto
 * attestations (BuildKit's attestation manifests, the `unknown/unknown` entries of an index;
 * docker/buildx docs "Attestation storage"), DSSE envelopes, cosign simple signing payloads, SBOM documents.
 */
const ARTIFACT_LAYER_TYPES = new Set<string>([
  'application/vnd.in-toto+json',
  'application/vnd.dsse.envelope.v1+json',
  'application/vnd.dev.cosign.simplesigning.v1+json',
  'application/spdx+json',
  'application/vnd.cyclonedx+json',
]);

/**
 * Why `bytes` (a manifest named alone — a push event for it, a digest the sweep listed) is an
 * attestation or signature rather than an image, or undefined. Only a manifest EVERY layer of which is
 * an artifact type counts: no runtime can unpack such layers, so nothing of it can run, and skipping
 * it records no verdict (admission keeps denying the digest: never a false TRUSTED). A manifest with
 * one filesystem layer is scanned, whatever its annotations say (RELIABILITY.md 59).
 */
export function artifactManifestReason(bytes: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined; // the scan reports what it cannot parse
  }
  const layers = (doc as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers) || layers.length === 0) return undefined;
  const types = layers.map((l) => (l as { mediaType?: unknown } | null)?.mediaType);
  if (!types.every((t) => typeof t === 'string' && ARTIFACT_LAYER_TYPES.has(t))) return undefined;
  return `manifest holds only ${[...new Set(types)].join(', ')} layers: an attestation/signature artifact, not an image`;
}

/** Default claim lease: a Lambda's longest run (15 minutes). */
const DEFAULT_LEASE_MS = 15 * 60_000;

/** `source` under another name: the reference the event used, whatever host actually serves it. */
function renamed(source: ImageSource, name: string): ImageSource {
  return {
    name,
    getRootManifest: (): Promise<ManifestBytes> => source.getRootManifest(),
    getManifest: (d: Digest): Promise<ManifestBytes> => source.getManifest(d),
    openBlob: (desc: Descriptor): Promise<Readable> => source.openBlob(desc),
    ...(source.close ? { close: () => source.close!() } : {}),
  };
}

/**
 * Scans `target` unless its verdict already answers the request, and records every verdict of the
 * scan (platforms, then an index's aggregate, with the index record — lib/engine/reevaluate.ts).
 * Registry and store errors propagate: the message is retried (RELIABILITY.md 18: no verdict from a
 * download that failed); an image that cannot be read to the end is recorded as quarantined by the scan itself.
 * The scan runs under `ports.scanDeadlineMs` (the Lambda's remaining time less a margin): past it,
 * ScanTimeoutError — nothing recorded, the claim released, the message retried (RELIABILITY.md 60) —
 * unless `ports.delivery` is the message's last attempt (retries.ts `lastScanAttempt`): then the digest
 * is recorded as quarantined, unscannable (`SCAN_TIMEOUT`), and the outcome is `unscannable`.
 */
export async function scanDigest(target: ScanTarget, ports: ScanPorts): Promise<ScanOutcome> {
  const log = ports.logger ?? SILENT_LOGGER;
  const clock = ports.now ?? (() => new Date());
  const plugins = pluginsFor(ports);
  const hash = policyHash(ports.policy);
  const feeds = await feedInfoOf(ports.advisories);
  const basis = { policyHash: hash, plugins, feedRevision: feedRevisionOf(feeds), ...(target.requestedAt ? { requestedAt: target.requestedAt } : {}) };
  const { digest } = target;

  const current = await ports.store.get(digest);
  const answered = alreadyAnswered(current, basis);
  if (answered) return { status: 'duplicate', digest, current: current!, reason: answered };

  const key = `scan:${digest}`;
  if (ports.claims) {
    if (!(await ports.claims.claim(key, ports.claimLeaseMs?.() ?? DEFAULT_LEASE_MS))) return { status: 'in-progress', digest };
    // Read again under the claim: a worker that finished between our read and our claim has answered it.
    const now = await ports.store.get(digest);
    const done = alreadyAnswered(now, basis);
    if (done) return { status: 'duplicate', digest, current: now!, reason: done };
  }

  const ref: ImageRef = { registry: target.registry, repository: target.repository, digest, ...(target.tag ? { tag: target.tag } : {}) };
  const name = formatImageRef(ref);
  const deadlineMs = ports.scanDeadlineMs?.();
  const deadline: Deadline | undefined = deadlineMs === undefined ? undefined : startDeadline(deadlineMs, `the pipeline's scan deadline of ${formatDuration(Math.max(0, Math.round(deadlineMs)))}`);
  try {
    const client = ports.registry.client(target.registry);
    const registrySource = new RegistrySource(client, { ...ref, registry: client.registry }, deadline ? { signal: deadline.signal } : {});
    const source = renamed(deadline ? withDeadline(registrySource, deadline.signal) : registrySource, name);
    const artifact = artifactManifestReason((await source.getRootManifest()).bytes);
    if (artifact) {
      log.info('not scanned: artifact', { digest, ref: name, reason: artifact });
      if (ports.claims) await ports.claims.release(key).catch((e: unknown) => log.warn('scan claim not released', { digest, error: describeError(e) }));
      return { status: 'ignored', reason: artifact };
    }
    let layersRead = 0;
    let layersCached = 0;
    const result = await scanImage(source, {
      limits: ports.limits,
      policy: ports.policy,
      now: clock,
      ...(ports.catalogers ? { catalogers: ports.catalogers } : {}),
      ...(ports.checks ? { checks: ports.checks } : {}),
      ...(ports.cache ? { cache: ports.cache } : {}),
      ...(ports.layerConcurrency !== undefined ? { layerConcurrency: ports.layerConcurrency } : {}),
      ...(ports.layerWorkers ? { workers: ports.layerWorkers } : {}),
      advisories: advisorySourceOf(ports.advisories, feeds),
      onProgress: (p) => (p.cached ? layersCached++ : layersRead++),
    });
    // Past the deadline the invocation may be killed while recording: leave it to the retry.
    deadline?.check();
    const recorded = await recordScanWithIndex(ports.store, result, { plugins, evaluatedAt: clock().toISOString() });
    log.info('scanned', { digest, ref: name, verdict: result.verdict.status, layersRead, layersCached, written: recorded.filter((r) => r.written).length });
    // The claim is kept until its lease lapses: a duplicate that read the store before our write finds it held.
    return { status: 'scanned', digest, ref: name, verdict: result.verdict.status, recorded, layersRead, layersCached };
  } catch (err) {
    // A deadline on the last attempt is an answer, not a failure: an image that cannot be read within the
    // time a scan has is never trusted, and retrying it for ever helps nobody (issue 15 item 5).
    const giveUp = err instanceof ScanTimeoutError ? lastScanAttempt(ports.delivery, ports.retries, clock().getTime()) : undefined;
    try {
      if (giveUp) return await recordGivenUp(digest, name, err as ScanTimeoutError, giveUp, { ports, plugins, feeds, clock });
    } finally {
      if (ports.claims) {
        // Let a retry (or a new push) scan at once; if the release fails the lease still lapses on its own.
        await ports.claims.release(key).catch((e: unknown) => log.warn('scan claim not released', { digest, error: describeError(e) }));
      }
    }
    throw err;
  } finally {
    deadline?.clear();
  }
}

/**
 * Records the verdict of a scan given up on its last attempt: quarantined, one `unscannable` finding
 * with the deadline's code (`SCAN_TIMEOUT`), through the normal recording path — so the fan-out tags
 * it and tells Slack like any other quarantine. A store error propagates (the message is retried).
 */
async function recordGivenUp(
  digest: Digest,
  name: string,
  err: ScanTimeoutError,
  why: string,
  ctx: { ports: ScanPorts; plugins: readonly string[]; feeds: Awaited<ReturnType<typeof feedInfoOf>>; clock: () => Date },
): Promise<ScanOutcome> {
  const finding = {
    type: 'unscannable' as const, id: err.code, aliases: [], severity: 'unknown' as const,
    message: `the scan did not finish within ${err.deadline}${err.during ? ` (it was reading ${err.during})` : ''}, ${why}: given up — never trusted; a push after the next feed change scans it again`,
  };
  const result = unscannableDigest(name, digest, finding, { policy: ctx.ports.policy, now: ctx.clock, advisories: { store: ctx.ports.advisories.store, schemes: ctx.ports.advisories.schemes, feeds: ctx.feeds } });
  const recorded = await recordScanWithIndex(ctx.ports.store, result, { plugins: ctx.plugins, evaluatedAt: ctx.clock().toISOString() });
  (ctx.ports.logger ?? SILENT_LOGGER).warn('scan given up: recorded as unscannable', { digest, ref: name, reason: why, error: err.message, written: recorded.filter((r) => r.written).length });
  return { status: 'unscannable', digest, ref: name, verdict: result.verdict.status, recorded, reason: why };
}

/**
 * The scan queue's flow: an EventBridge "ECR Image Action" event (object, SQS body text, or as
 * parseEcrEvent returned it) → scan of the pushed digest. Events that are not a successful push are ignored; a malformed one throws
 * InvalidPipelineMessageError (it goes to the DLQ).
 */
export async function scanPushed(event: unknown, ports: ScanPorts): Promise<ScanOutcome> {
  const e: EcrPush | IgnoredEvent = isParsed(event) ? event : parseEcrEvent(event);
  if (e.kind === 'ignored') return { status: 'ignored', reason: e.reason };
  return scanDigest({ registry: e.registry, repository: e.repository, digest: e.digest, ...(e.tag ? { tag: e.tag } : {}), ...(e.time ? { requestedAt: e.time } : {}) }, ports);
}

/** Already parsed by {@link parseEcrEvent} / parseQueueMessage (an EventBridge envelope has no `kind`). */
function isParsed(v: unknown): v is EcrPush | IgnoredEvent {
  const kind = typeof v === 'object' && v !== null ? (v as { kind?: unknown }).kind : undefined;
  return kind === 'push' || kind === 'ignored';
}
