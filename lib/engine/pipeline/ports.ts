/**
 * The ports of the pipeline flows (DESIGN.md "The data's way", steps 1–7): what scanPushed, reevaluate,
 * fanOut, syncFeedsAndTarget and nightly need from the outside world. lib/aws/pipeline-ports.ts
 * implements them on AWS (DynamoDB, SQS, ECR, Secrets Manager + Slack); tests wire the same classes to
 * DynamoDB Local, fauxqs, a local registry and a local Slack server. The flows import nothing else
 * from outside lib/engine (the lint rule of the house).
 */
import type { Cataloger } from '../catalog/types';
import type { Check } from '../checks/types';
import type { Limits } from '../limits';
import type { SchemeRegistry } from '../match/matcher';
import type { Policy } from '../policy/schema';
import type { AdvisoryStore, LayerCache } from '../ports';
import type { RegistryClient } from '../registry/client';
import type { FeedSourceLike } from '../sync-feeds';
import type { StoredVerdict, VerdictStore } from '../verdicts/port';
import type { SightingReader } from '../verdicts/sightings';
import type { Digest, FeedInfo } from '../model';
import type { RescanMessage } from './messages';
import type { Delivery, RetryPolicy } from './retries';
import type { LayerWorkerSpec } from '../layer-worker/wire';

/** Structured log lines (Powertools Logger in a Lambda). Fields are plain data; never a secret. */
export interface PipelineLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** A logger that drops everything (the default of every flow). */
export const SILENT_LOGGER: PipelineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Registry clients by the host an event or a verdict names. An implementation may serve a host from
 * elsewhere (a local registry standing in for ECR) and supplies credentials (ECR tokens); the flows
 * only ever see the names the events use.
 */
export interface RegistryAccess {
  /** The client for `registry` (`<account>.dkr.ecr.<region>.amazonaws.com`, `127.0.0.1:5000`). */
  client(registry: string): RegistryClient;
  /**
   * Removes `tag` from the image `digest` without deleting the image (ECR: BatchDeleteImage by tag only
   * when another tag keeps the image). Without it the flows use the registry API (`RegistryClient.untag`).
   */
  untag?(registry: string, repository: string, digest: Digest, tag: string): Promise<TagRemoval>;
}

/**
 * What removing a stale trust tag did: `removed`; `absent` (the tag did not name the digest);
 * `kept` (it was the image's last tag — removing it would delete the image); `unsupported` (the
 * registry cannot delete a tag alone). Only `removed` changed anything.
 */
export interface TagRemoval {
  readonly result: 'removed' | 'absent' | 'kept' | 'unsupported';
  readonly message?: string;
}

/** The rescan queue (separate from the push queue, DESIGN.md step 7). */
export interface RescanQueue {
  /**
   * Sends every message (in batches the queue accepts); resolves once all were accepted, throws
   * RescanEnqueueError naming the ones that were not.
   */
  send(messages: readonly RescanMessage[]): Promise<void>;
}

/**
 * Short leases on keys, so that concurrent deliveries of one push (RELIABILITY.md 24: the same event
 * 3× at once) scan once. A lease lapses by itself: a worker killed mid-scan (case 27) blocks nobody
 * for longer than `leaseMs`.
 */
export interface ScanClaims {
  /** True when this caller now holds `key` for `leaseMs` (nobody held it, or the holder's lease lapsed). */
  claim(key: string, leaseMs: number): Promise<boolean>;
  /** Gives up a lease this caller holds (after a failed scan, so a retry need not wait). */
  release(key: string): Promise<void>;
}

/** One repository of a registry. */
export interface CatalogRepository {
  readonly registry: string;
  readonly repository: string;
}

/** One image (manifest or index) of a repository, as the registry's own API lists it. */
export interface CatalogImage {
  readonly digest: Digest;
  readonly tags: readonly string[];
  readonly mediaType?: string;
  readonly pushedAt?: Date;
  /** When the registry last recorded a pull of it (ECR `lastRecordedPullTime`): the image is in use. */
  readonly lastPulledAt?: Date;
}

/** The registry's own listing of what it holds (ECR DescribeRepositories / DescribeImages), for the nightly sweep. */
export interface ImageCatalog {
  /** The repositories to sweep. */
  repositories(): AsyncIterable<CatalogRepository>;
  /** Every image of one repository, every page. */
  images(repository: CatalogRepository): AsyncIterable<CatalogImage>;
}

/** What one notification attempt came to. */
export interface NotifyResult {
  /** `not-news`: nothing to tell (same status, a first verdict that is trusted, an older evaluation). */
  readonly status: 'sent' | 'duplicate' | 'failed' | 'not-news';
  readonly kind?: string;
  /** The dedupe key the ledger claimed. */
  readonly key?: string;
  /** For `failed`: what went wrong, without the webhook URL. */
  readonly error?: string;
}

/** When a feed last synced successfully (the advisory store's FeedState). */
export interface FeedSyncState {
  readonly source: string;
  readonly syncedAt?: string;
}

/**
 * Tells people about verdict transitions and stale feeds (lib/notify behind it: Slack, deduplicated by
 * a ledger, RELIABILITY.md 34). Never throws: a failure is a {@link NotifyResult}; verdicts never
 * depend on it.
 */
export interface PipelineNotifier {
  /** The verdict of a digest went from `previous` (the stream's old image) to `next`. */
  verdictChanged(previous: StoredVerdict | undefined, next: StoredVerdict): Promise<NotifyResult>;
  /** Feeds whose last successful sync is older than `maxStaleHours` (or that never synced) are reported once per sync time. */
  feedsStale(feeds: readonly FeedSyncState[], options: { readonly now: Date; readonly maxStaleHours: number }): Promise<readonly NotifyResult[]>;
}

/** The vulnerability data: the store, the version orderings, and the feed sources configured (FEEDS). */
export interface AdvisoryPort {
  readonly store: AdvisoryStore;
  readonly schemes: SchemeRegistry;
  /** Source ids of the configured feeds (`FeedSourceLike.source`): their sync state goes into every verdict. */
  readonly sources: readonly string[];
  /**
   * Optional: the store an evaluation against these feed states reads advisories from — the
   * container's shared advisory cache, keyed by their revision (advisories/shared-cache.ts). Absent:
   * `store`. Writes and feed states always go to `store`.
   */
  readonly readerFor?: (feeds: readonly FeedInfo[]) => AdvisoryStore;
}

/** What every evaluation needs: where verdicts go, what they are judged against, and how. */
export interface EvaluationPorts {
  readonly store: VerdictStore;
  readonly advisories: AdvisoryPort;
  readonly policy: Policy;
  /** Default: every cataloger (catalog/catalogers.ts). */
  readonly catalogers?: readonly Cataloger[];
  /** Default: none. The pipeline passes checks.ts's list. */
  readonly checks?: readonly Check[];
  /** The clock. Default `new Date()`. */
  readonly now?: () => Date;
  readonly logger?: PipelineLogger;
}

/** What scanning a pushed or swept digest needs on top of {@link EvaluationPorts}. */
export interface ScanPorts extends EvaluationPorts {
  readonly registry: RegistryAccess;
  readonly limits: Limits;
  /** Layer results between scans (DynamoDB in the pipeline): a layer already seen is never downloaded again. */
  readonly cache?: LayerCache;
  /** Without it, concurrent deliveries of one push may each scan (the store still keeps one verdict per evaluation). */
  readonly claims?: ScanClaims;
  /**
   * How long a scan claim may be held, in ms: the invocation's remaining time, so that a killed
   * worker's claim lapses before SQS makes its message visible again. Default 15 minutes.
   */
  readonly claimLeaseMs?: () => number;
  /**
   * How long one scan may take, in ms, asked when it starts: the invocation's remaining time less a
   * safety margin (lambdas/scan-worker). Past it the scan is abandoned without a verdict and the
   * message retried (RELIABILITY.md 60). Without it, only the per-read idle and rate guards apply.
   */
  readonly scanDeadlineMs?: () => number;
  /**
   * The delivery of the queue message being handled (its receive count and first receive), set per
   * record by the scan-worker. With it, a deadline on the message's last attempt ({@link retries})
   * records an `unscannable` verdict instead of failing again. Without it (the CLI), a deadline only fails.
   */
  readonly delivery?: Delivery;
  /** When a scan that keeps hitting its deadline is given up (retries.ts). Default DEFAULT_RETRY_POLICY. */
  readonly retries?: RetryPolicy;
  /**
   * Layers one scan reads at once (scan-image.ts `ScanOptions.layerConcurrency`): on AWS sized from the
   * Lambda's memory (lib/engine/layer-pool.ts `layerConcurrency`). Default: sized from this machine.
   */
  readonly layerConcurrency?: number;
  /**
   * How layer worker threads rebuild {@link checks} (scan-image.ts `ScanOptions.workers`): with it,
   * layers read at once each run on a worker thread. Without it, or when it does not stand for the
   * checks: on the main thread (the same results).
   */
  readonly layerWorkers?: LayerWorkerSpec;
}

/** What the fan-out of a verdict change needs. */
export interface FanOutPorts {
  readonly registry: RegistryAccess;
  /** Without one, nobody is told (tags are still written). */
  readonly notifier?: PipelineNotifier;
  readonly logger?: PipelineLogger;
}

/** What feed-sync needs. */
export interface FeedSyncPorts {
  /** The package → digest index of the verdict store; every digest, for changed enrichment (NVD, KEV) records. */
  readonly store: Pick<VerdictStore, 'digestsForPackage' | 'listDigests'>;
  readonly advisories: AdvisoryPort;
  /** The feeds to read (FEEDS: OSV exports, the NVD API, the KEV catalog; opened with advisories/feed.ts openFeed). */
  readonly feeds: readonly FeedSourceLike[];
  readonly queue: RescanQueue;
  readonly notifier?: PipelineNotifier;
  /** For `feeds.maxStaleHours`. */
  readonly policy: Policy;
  readonly now?: () => Date;
  readonly logger?: PipelineLogger;
}

/** What the nightly run needs. */
export interface NightlyPorts {
  readonly store: Pick<VerdictStore, 'listDigests' | 'get'>;
  /**
   * Where every message goes, `reevaluate` and `scan` alike: the rescan queue (DESIGN.md step 7), never
   * the push queue — a push must not wait behind a nightly backlog (issue 15 item 4).
   */
  readonly queue: RescanQueue;
  /** The registry listing to sweep; without one, only digests with verdicts are considered. */
  readonly catalog?: ImageCatalog;
  /**
   * Admission sightings (lib/engine/verdicts/sightings.ts). With it, a digest is live by a sighting or
   * a push/pull the sweep lists, never by its own `evaluatedAt` (which every re-evaluation refreshes).
   */
  readonly sightings?: SightingReader;
  /** A digest seen at admission, pushed or pulled within this many days is live (LIVE_WINDOW_DAYS). */
  readonly liveWindowDays: number;
  /** Scans of images without a verdict one run enqueues at most, newest first (NIGHTLY_MAX_SWEEP_SCANS). Default 500. */
  readonly maxSweepScans?: number;
  readonly now?: () => Date;
  readonly logger?: PipelineLogger;
  /** Verdict reads in flight. Default 16. */
  readonly concurrency?: number;
}
