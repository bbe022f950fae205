/**
 * When a failed work-queue message comes back (issue 15 item 5): SQS `ChangeMessageVisibility` on the
 * record's receipt handle (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html),
 * with the delay lib/engine/pipeline/retries.ts computes. Lambda's SQS event source leaves a record
 * reported in `batchItemFailures` in flight with whatever visibility it has, so setting it shorter
 * before answering the batch brings the message back sooner — the documented way to back off per
 * message (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 */
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PipelineLogger } from '../engine/pipeline/ports';
import { describeError } from '../engine/pipeline/common';

/** What the record says about where it came from (an SQS record of a Lambda event). */
export interface QueuedRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  /** `arn:aws:sqs:<region>:<account>:<queue name>`. */
  readonly eventSourceARN: string;
}

const SQS_ARN = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;

/**
 * The URL of the queue `arn` names. A configured URL whose last path segment is the queue's name wins
 * (a local SQS server — fauxqs — knows its queues by its own URLs); otherwise the queue's AWS URL
 * `https://sqs.<region>.<domain>/<account>/<name>` (`amazonaws.com.cn` in the China partition).
 * Undefined when `arn` is not an SQS queue ARN.
 */
export function queueUrlOf(arn: string, known: readonly (string | undefined)[] = []): string | undefined {
  const m = SQS_ARN.exec(arn);
  if (!m) return undefined;
  const [, partition, region, account, name] = m;
  const configured = known.find((u) => u !== undefined && u.replace(/\/+$/, '').split('/').pop() === name);
  if (configured) return configured;
  return `https://sqs.${region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}/${account}/${name}`;
}

/** Options of {@link SqsMessageVisibility}. */
export interface SqsMessageVisibilityOptions {
  readonly client: SQSClient;
  /** Queue URLs of the configuration (SCAN_QUEUE_URL, RESCAN_QUEUE_URL): preferred over URLs derived from ARNs. */
  readonly queueUrls?: readonly (string | undefined)[];
  readonly logger?: PipelineLogger;
}

/**
 * Sets how long a failed message stays invisible — never longer than the queue's own visibility
 * timeout (read once per queue): a backoff only ever brings a message back sooner. Never throws: if
 * the change fails (the receipt handle expired, a permission missing, SQS unavailable), the message
 * still comes back — after the queue's visibility timeout — so the failure is logged, and nothing is lost.
 */
export class SqsMessageVisibility {
  private readonly timeouts = new Map<string, Promise<number | undefined>>();

  constructor(private readonly opts: SqsMessageVisibilityOptions) {}

  /**
   * Makes `record`'s message visible again in `seconds` (at most the queue's visibility timeout);
   * resolves with the seconds set, or undefined when nothing was changed.
   */
  async retryIn(record: QueuedRecord, seconds: number): Promise<number | undefined> {
    const url = queueUrlOf(record.eventSourceARN, this.opts.queueUrls);
    if (!url || !record.receiptHandle) {
      this.opts.logger?.warn('retry delay not set: the record names no SQS queue; it comes back after the queue\'s visibility timeout', { messageId: record.messageId, eventSourceARN: record.eventSourceARN });
      return undefined;
    }
    try {
      const queueTimeout = await this.queueTimeout(url);
      const delay = queueTimeout === undefined ? seconds : Math.min(seconds, queueTimeout);
      await this.opts.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delay }));
      return delay;
    } catch (err) {
      this.opts.logger?.warn('retry delay not set: the message comes back after the queue\'s visibility timeout', { messageId: record.messageId, seconds, error: describeError(err) });
      return undefined;
    }
  }

  /** The queue's VisibilityTimeout in seconds, read once; undefined (no cap) when it cannot be read — the next call tries again. */
  private queueTimeout(url: string): Promise<number | undefined> {
    let p = this.timeouts.get(url);
    if (!p) {
      p = this.opts.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout'] })).then(
        (out) => {
          const t = Number(out.Attributes?.VisibilityTimeout);
          return Number.isFinite(t) && t >= 0 ? t : undefined;
        },
        () => {
          this.timeouts.delete(url);
          return undefined;
        },
      );
      this.timeouts.set(url, p);
    }
    return p;
  }
}
