/**
 * feed-sync one feed per message, continued across invocations (issue 15 item 8: "feed-sync cannot
 * finish a large feed" — at ~165 records/s on DynamoDB a 900 s invocation writes ~150k records, and a
 * feed was committed only at its end). No Step Functions: the feed-sync queue carries the work.
 *
 * - The schedule's tick ({@link startFeedSync}) puts one {@link FeedSyncMessage} per configured feed on
 *   the feed-sync queue and reports stale feeds.
 * - Each message ({@link syncFeedMessage}) syncs its one feed under a per-feed claim (two invocations
 *   never write one feed at once) until the invocation's time runs out. The sync checkpoints as it goes
 *   (sync-feeds.ts: cursor, progress, write-ahead ids) and targets re-evaluations batch by batch
 *   (feed-sync.ts); a feed it did not finish gets a continuation message, sent after the claim is given up,
 *   which the next invocation picks up where the checkpoint says.
 * - An invocation that dies (timeout, crash) leaves its message on the queue: SQS delivers it again after
 *   the visibility timeout, the claim's lease has lapsed by then, and the sync continues from the last
 *   checkpoint, re-targeting the write-ahead ids (at least once). Repeated failures end in the queue's DLQ.
 */
import { createHash } from 'node:crypto';
import { FeedContinuationError, InvalidPipelineMessageError } from './errors';
import { reportStaleFeeds, syncFeedsAndTarget, type FeedSyncReport } from './feed-sync';
import { SILENT_LOGGER, type FeedSyncPorts, type NotifyResult, type ScanClaims } from './ports';

/** One feed to sync, as the feed-sync queue carries it (JSON). */
export interface FeedSyncMessage {
  readonly kind: 'feed-sync';
  /** The feed's source id (`FeedSourceLike.source`: `osv:Debian`, a URL). */
  readonly source: string;
  /** When the message was written (RFC 3339). */
  readonly at: string;
  /** How many invocations this sync has continued already (0 or absent: the scheduled start). */
  readonly continuation?: number;
}

/** The feed-sync queue (SQS in the pipeline: lib/aws/feed-sync-queue.ts). */
export interface FeedSyncQueue {
  /** Sends every message; throws when one was not accepted. */
  send(messages: readonly FeedSyncMessage[]): Promise<void>;
}

/** What feed-sync needs to run one feed per message. */
export interface FeedContinuationPorts extends FeedSyncPorts {
  readonly feedQueue: FeedSyncQueue;
  /** A lease per feed; without it nothing stops two deliveries of one feed's messages from syncing it at once. */
  readonly claims?: ScanClaims;
}

const MAX_SOURCE_CHARS = 2048;

/** The message body. */
export function encodeFeedSyncMessage(m: FeedSyncMessage): string {
  return JSON.stringify({ kind: m.kind, source: m.source, at: m.at, ...(m.continuation ? { continuation: m.continuation } : {}) });
}

/** Parses a feed-sync queue body strictly; throws {@link InvalidPipelineMessageError}. */
export function parseFeedSyncMessage(body: string): FeedSyncMessage {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    throw new InvalidPipelineMessageError('feed-sync message is not JSON', { cause: err });
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.kind !== 'feed-sync') throw new InvalidPipelineMessageError(`not a feed-sync message (kind ${JSON.stringify(o.kind)?.slice(0, 40)})`);
  if (typeof o.source !== 'string' || o.source.length === 0 || o.source.length > MAX_SOURCE_CHARS) throw new InvalidPipelineMessageError('feed-sync message without a usable source');
  if (typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) throw new InvalidPipelineMessageError('feed-sync message without a time (at)');
  const c = o.continuation;
  if (c !== undefined && (!Number.isSafeInteger(c) || (c as number) < 0)) throw new InvalidPipelineMessageError('feed-sync message with a bad continuation count');
  return { kind: 'feed-sync', source: o.source, at: o.at, ...(c ? { continuation: c as number } : {}) };
}

/** The claim key of a feed: hashed, since a source id may be a long URL. */
export function feedClaimKey(source: string): string {
  return `feed-sync#${createHash('sha256').update(source).digest('hex')}`;
}

/**
 * How long after its latest invocation started a feed whose sync is `in-progress` counts as in flight:
 * its chain of continuation messages is alive, or its message will be redelivered (the feed-sync queue's
 * visibility timeout is 6 × 15 minutes, lib/infra). The schedule does not start a second chain for it.
 */
export const FEED_IN_FLIGHT_MS = 2 * 60 * 60_000;

/**
 * The schedule's tick: one message per configured feed — except feeds whose sync is in flight
 * ({@link FEED_IN_FLIGHT_MS}): a second message would only start a second chain of continuations — and
 * the stale-feed report.
 */
export async function startFeedSync(ports: FeedContinuationPorts, opts: { readonly inFlightMs?: number } = {}): Promise<{ readonly enqueued: readonly string[]; readonly inFlight: readonly string[]; readonly stale: readonly NotifyResult[] }> {
  const now = (ports.now ?? (() => new Date()))();
  const window = opts.inFlightMs ?? FEED_IN_FLIGHT_MS;
  const enqueued: string[] = [];
  const inFlight: string[] = [];
  for (const f of ports.feeds) {
    const st = await ports.advisories.store.getFeedState(f.source);
    const started = st?.startedAt ? Date.parse(st.startedAt) : NaN;
    if (st?.status === 'in-progress' && now.getTime() - started < window) inFlight.push(f.source);
    else enqueued.push(f.source);
  }
  const at = now.toISOString();
  if (enqueued.length > 0) await ports.feedQueue.send(enqueued.map((source) => ({ kind: 'feed-sync', source, at })));
  (ports.logger ?? SILENT_LOGGER).info('feed syncs enqueued', { feeds: enqueued.length, inFlight });
  return { enqueued, inFlight, stale: await reportStaleFeeds(ports) };
}

/** Options of {@link syncFeedMessage}. */
export interface FeedMessageOptions {
  /** The invocation's time left less a margin (the Lambda's remaining time less lib/engine/registry/deadline.ts `DEADLINE_SAFETY_MARGIN_MS`). */
  readonly timeLeftMs: () => number;
  /** The claim's lease: the invocation's whole remaining time, so that a killed holder's lease lapses before SQS redelivers its message. */
  readonly leaseMs: () => number;
  /** Continued invocations after which the feed counts as stuck ({@link FeedContinuationError}). Default 200 (50 hours of 15-minute invocations). */
  readonly maxContinuations?: number;
  /** Records per write and checkpoint. Default 500. */
  readonly batchSize?: number;
}

/**
 * What one message came to: `complete` (synced, or unchanged), `continued` (paused at a checkpoint, a
 * continuation message sent), `busy` (another invocation holds the feed: this delivery is dropped, the
 * holder finishes or continues it), `unknown-source` (no longer configured: dropped).
 */
export interface FeedMessageOutcome {
  readonly status: 'complete' | 'continued' | 'busy' | 'unknown-source';
  readonly source: string;
  readonly report?: FeedSyncReport;
}

/**
 * Syncs the one feed a message names, until done or out of time; sends its continuation when not done.
 * Throws when the sync failed (FeedSyncFailedError) or the continuation could not be sent: the message
 * is then retried by SQS and continues from the last checkpoint.
 */
export async function syncFeedMessage(ports: FeedContinuationPorts, message: FeedSyncMessage, opts: FeedMessageOptions): Promise<FeedMessageOutcome> {
  const log = ports.logger ?? SILENT_LOGGER;
  const { source } = message;
  if (!ports.feeds.some((f) => f.source === source)) {
    log.warn('feed-sync message for a feed that is not configured: dropped', { source });
    return { status: 'unknown-source', source };
  }
  const key = feedClaimKey(source);
  if (ports.claims && !(await ports.claims.claim(key, opts.leaseMs()))) {
    log.info('feed is being synced by another invocation: message dropped', { source });
    return { status: 'busy', source };
  }
  let report: FeedSyncReport;
  try {
    report = await syncFeedsAndTarget(ports, { sources: [source], timeLeftMs: opts.timeLeftMs, reportStale: false, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}) });
  } finally {
    // Given up before the continuation is sent: the invocation that receives it must be able to claim the feed.
    await ports.claims?.release(key);
  }
  if (!report.paused.includes(source)) return { status: 'complete', source, report };
  const continuation = (message.continuation ?? 0) + 1;
  if (continuation > (opts.maxContinuations ?? 200)) throw new FeedContinuationError(source, continuation - 1);
  await ports.feedQueue.send([{ kind: 'feed-sync', source, at: (ports.now ?? (() => new Date()))().toISOString(), continuation }]);
  log.info('feed sync continues in another invocation', { source, continuation });
  return { status: 'continued', source, report };
}
