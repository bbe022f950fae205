/**
 * An SQS event source mapping, the way Lambda runs one (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html),
 * for the local pipeline: `concurrency` pollers long-poll the queue, hand each batch to the handler as
 * an `SQSEvent`, and delete what succeeded. With `ReportBatchItemFailures` the handler names the
 * failed records (`batchItemFailures`) and only those stay; a handler that throws leaves the whole
 * batch. What stays reappears after the queue's visibility timeout with a higher receive count, and
 * the queue's own redrive policy moves it to the DLQ after `maxReceiveCount` — the server does that,
 * as SQS does, not this poller.
 */
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** Options of {@link SqsEventSource}. */
export interface SqsEventSourceOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** The function: Lambda's handler signature for SQS with partial batch responses. */
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  /** Records per invocation (1–10). Default 5. */
  readonly batchSize?: number;
  /** Pollers (the mapping's maximum concurrency). Default 1. */
  readonly concurrency?: number;
  /** Long-poll wait per receive, seconds (0–20). Default 1: stop() answers within it. */
  readonly waitSeconds?: number;
  /** Region in the records. Default us-east-1. */
  readonly region?: string;
  /** Told about handler throws and delete failures (the poller itself never stops on them). */
  readonly onError?: (error: unknown) => void;
}

/** What the mapping has done so far. */
export interface SqsEventSourceStats {
  invocations: number;
  /** Records deleted after a successful invocation. */
  succeeded: number;
  /** Records left on the queue (reported failed, or the handler threw). */
  failed: number;
}

/** The Lambda record for one received message. */
export function toSqsRecord(m: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    },
    messageAttributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    }])),
    md5OfBody: m.MD5OfBody ?? '',
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

/** Polls one queue into one handler until {@link SqsEventSource.stop}. */
export class SqsEventSource {
  readonly stats: SqsEventSourceStats = { invocations: 0, succeeded: 0, failed: 0 };
  private running = false;
  private loops: Promise<void>[] = [];
  private arn = '';

  constructor(private readonly options: SqsEventSourceOptions) {}

  /** Starts the pollers. */
  async start(): Promise<void> {
    if (this.running) return;
    const attrs = await this.options.client.send(new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['QueueArn'] }));
    this.arn = attrs.Attributes?.QueueArn ?? this.options.queueUrl;
    this.running = true;
    this.loops = Array.from({ length: this.options.concurrency ?? 1 }, () => this.loop());
  }

  /** Stops polling and waits for the invocations in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** One receive → invoke → delete round; resolves with the number of records received. */
  async pollOnce(): Promise<number> {
    const { client, queueUrl, handler } = this.options;
    const out = await client.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(10, Math.max(1, this.options.batchSize ?? 5)),
      WaitTimeSeconds: this.options.waitSeconds ?? 1,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) return 0;
    const region = this.options.region ?? 'us-east-1';
    const records = messages.map((m) => toSqsRecord(m, this.arn, region));
    this.stats.invocations++;
    let failed: Set<string>;
    try {
      const response = await handler({ Records: records });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A throw fails the whole batch: nothing is deleted, everything comes back.
      this.options.onError?.(err);
      failed = new Set(records.map((r) => r.messageId));
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    this.stats.failed += records.length - done.length;
    if (done.length > 0) {
      const del = await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
      for (const f of del.Failed ?? []) this.options.onError?.(new Error(`delete of a processed message failed: ${f.Code} ${f.Message ?? ''}`));
      this.stats.succeeded += done.length - (del.Failed?.length ?? 0);
    }
    return records.length;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch (err) {
        this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}
