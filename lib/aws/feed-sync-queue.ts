import type { SQSClient } from '@aws-sdk/client-sqs';
import { TrustError } from '../engine/errors';
import { encodeFeedSyncMessage, type FeedSyncMessage, type FeedSyncQueue } from '../engine/pipeline/feed-sync-continuation';
import { sendInBatches } from './rescan-queue';

/** SQS did not accept a feed-sync message; `sources` names the feeds whose message is missing. */
export class FeedSyncEnqueueError extends TrustError {
  constructor(message: string, readonly sources: readonly string[], options?: { cause?: unknown }) {
    super('FEED_SYNC_ENQUEUE_FAILED', message, options);
  }
}

/**
 * The feed-sync queue on SQS (lib/engine/pipeline/feed-sync-continuation.ts): one message per feed,
 * in SendMessageBatch calls of at most 10 entries (rescan-queue.ts `sendInBatches`). A handful of
 * messages per run (one per feed and per continuation): entries SQS fails are not retried here; the
 * error names them and the caller's own retry (the schedule's, or SQS redelivering the message being
 * handled) sends them again.
 */
export class SqsFeedSyncQueue implements FeedSyncQueue {
  constructor(private readonly opts: { readonly client: SQSClient; readonly queueUrl: string }) {}

  /** Sends every message; throws {@link FeedSyncEnqueueError} naming the feeds not enqueued. */
  async send(messages: readonly FeedSyncMessage[]): Promise<void> {
    const { notSent, reasons, firstError } = await sendInBatches(this.opts.client, this.opts.queueUrl, messages, encodeFeedSyncMessage, { concurrency: 1, maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
    if (notSent.length > 0) {
      throw new FeedSyncEnqueueError(`${notSent.length} of ${messages.length} feed-sync message(s) were not accepted by SQS (${reasons.slice(0, 5).join(', ')})`, notSent.map((m) => m.source), firstError ? { cause: firstError } : undefined);
    }
  }
}
