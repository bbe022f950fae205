import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { RescanEnqueueError } from '../engine/pipeline/errors';
import { encodeRescanMessage, type RescanMessage } from '../engine/pipeline/messages';
import type { RescanQueue } from '../engine/pipeline/ports';
import { backoff, forEachLimit } from './dynamodb-table';

/** SendMessageBatch takes at most 10 entries (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html). */
export const SQS_BATCH_ENTRIES = 10;

/** Options of {@link SqsRescanQueue}. */
export interface SqsRescanQueueOptions {
  /** The client; throttling and 5xx of whole calls are retried by the SDK. */
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Batches in flight. Default 8. */
  readonly concurrency?: number;
  /** Rounds for entries SQS reports failed without the sender at fault. Defaults: 5 attempts, 50 ms base, 2 s cap. */
  readonly retry?: { readonly maxAttempts?: number; readonly baseDelayMs?: number; readonly maxDelayMs?: number };
}

/**
 * The rescan queue on SQS: messages go in SendMessageBatch calls of at most 10 entries (ids are the
 * entry's position, unique per batch). Entries SQS fails without blaming the sender (throttling,
 * internal errors) are re-sent with full-jitter backoff; what still fails — or what SQS refuses as
 * the sender's fault — is named in a {@link RescanEnqueueError}. Nothing is dropped silently.
 */
export class SqsRescanQueue implements RescanQueue {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: SqsRescanQueueOptions) {
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 5);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 50;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 2000;
  }

  /** Sends every message; throws {@link RescanEnqueueError} naming the digests not sent. */
  async send(messages: readonly RescanMessage[]): Promise<void> {
    const { notSent, reasons, firstError } = await sendInBatches(this.opts.client, this.opts.queueUrl, messages, encodeRescanMessage, {
      concurrency: this.concurrency, maxAttempts: this.maxAttempts, baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs,
    });
    if (notSent.length > 0) {
      throw new RescanEnqueueError(`${notSent.length} of ${messages.length} rescan message(s) were not accepted by SQS (${reasons.slice(0, 5).join(', ')})`, notSent.map((m) => m.digest).sort(), firstError ? { cause: firstError } : undefined);
    }
  }
}

/** What {@link sendInBatches} could not send, why, and the first error a whole call threw. */
export interface BatchSendResult<T> {
  readonly notSent: T[];
  readonly reasons: string[];
  readonly firstError?: unknown;
}

/**
 * Sends `messages` to `queueUrl` in SendMessageBatch calls of at most {@link SQS_BATCH_ENTRIES}
 * (ids are the entry's position, unique per batch), `concurrency` calls at a time. Entries SQS fails
 * without blaming the sender are re-sent with full-jitter backoff up to `maxAttempts` calls; what still
 * fails, what SQS refuses as the sender's fault, and every entry of a call that threw are returned.
 * Every batch is tried even after one fails, so the caller can name exactly what is missing.
 */
export async function sendInBatches<T>(
  client: SQSClient, queueUrl: string, messages: readonly T[], encode: (m: T) => string,
  opts: { readonly concurrency: number; readonly maxAttempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number },
): Promise<BatchSendResult<T>> {
  const batches: T[][] = [];
  for (let i = 0; i < messages.length; i += SQS_BATCH_ENTRIES) batches.push(messages.slice(i, i + SQS_BATCH_ENTRIES));
  const notSent: T[] = [];
  const reasons = new Set<string>();
  let firstError: unknown;
  await forEachLimit(batches, opts.concurrency, async (batch) => {
    try {
      for (const f of await sendBatch(client, queueUrl, batch, encode, opts)) {
        notSent.push(f.message);
        reasons.add(f.reason);
      }
    } catch (err) {
      firstError ??= err;
      reasons.add((err as Error).name ?? 'error');
      notSent.push(...batch);
    }
  });
  return { notSent, reasons: [...reasons], ...(firstError !== undefined ? { firstError } : {}) };
}

/** One batch, failed entries re-sent; returns the entries that finally failed. */
async function sendBatch<T>(
  client: SQSClient, queueUrl: string, batch: readonly T[], encode: (m: T) => string,
  opts: { readonly maxAttempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number },
): Promise<{ message: T; reason: string }[]> {
  let pending = batch.map((message, i) => ({ id: String(i), message }));
  const final: { message: T; reason: string }[] = [];
  for (let attempt = 0; ; attempt++) {
    const entries: SendMessageBatchRequestEntry[] = pending.map((p) => ({ Id: p.id, MessageBody: encode(p.message) }));
    const out = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const byId = new Map(pending.map((p) => [p.id, p]));
    const retry: typeof pending = [];
    for (const f of out.Failed ?? []) {
      const p = byId.get(f.Id ?? '');
      if (!p) continue;
      // The sender's fault (a body SQS refuses) will not change by sending it again.
      if (f.SenderFault) final.push({ message: p.message, reason: f.Code ?? 'sender fault' });
      else retry.push(p);
    }
    if (retry.length === 0) return final;
    if (attempt + 1 >= opts.maxAttempts) return [...final, ...retry.map((p) => ({ message: p.message, reason: 'still failing after retries' }))];
    pending = retry;
    await backoff(attempt, opts.baseDelayMs, opts.maxDelayMs);
  }
}
