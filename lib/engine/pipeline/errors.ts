import { TrustError } from '../errors';
import type { FeedSyncReport } from './feed-sync';

/**
 * A queue message or event that is not one the pipeline handles (not JSON, an unknown shape, a digest,
 * repository or tag that fails its strict pattern — RELIABILITY.md 23). Retrying cannot fix it: the
 * handler reports it as a failed batch item, so it reaches the dead-letter queue after
 * `maxReceiveCount` receives (RELIABILITY.md 25) and an alarm fires there.
 */
export class InvalidPipelineMessageError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_PIPELINE_MESSAGE', message, options);
  }
}

/**
 * Sending to the rescan queue failed for some messages after the retries allowed. The ids of the
 * digests that were not enqueued are listed so the caller can say what a re-run must cover (the
 * nightly run re-evaluates every live digest anyway).
 */
export class RescanEnqueueError extends TrustError {
  constructor(message: string, readonly notSent: readonly string[], options?: { cause?: unknown }) {
    super('RESCAN_ENQUEUE_FAILED', message, options);
  }
}

/**
 * One or more feeds could not be synced. Everything else the run does still happens — the other
 * feeds are synced, the digests their changes affect are enqueued, stale feeds are reported — and
 * this is thrown at the end, so the scheduled invocation is marked failed and retried.
 */
export class FeedSyncFailedError extends TrustError {
  constructor(
    readonly failures: readonly { readonly source: string; readonly error: string }[],
    /** What the run did nevertheless. */
    readonly report?: FeedSyncReport,
  ) {
    super('FEED_SYNC_FAILED', `${failures.length} feed(s) failed to sync: ${failures.map((f) => `${f.source} (${f.error})`).join('; ').slice(0, 2000)}`);
  }
}

/**
 * A feed that keeps being continued without finishing (feed-sync-continuation.ts): no more continuation
 * messages are sent; the failed message ends in the feed-sync queue's dead-letter queue, whose alarm fires.
 */
export class FeedContinuationError extends TrustError {
  constructor(readonly source: string, readonly continuations: number) {
    super('FEED_CONTINUATION_EXHAUSTED', `feed ${source} is still not synced after ${continuations} continued invocations`);
  }
}
