import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { toSqsRecord } from '../../../../lib/local/pipeline/sqs-event-source';

/**
 * What Lambda's SQS event source mapping does, against a real queue (fauxqs): receive up to
 * `batchSize` messages, hand them to the handler as an SQS event (the records' real message ids,
 * receipt handles, bodies and attributes), then delete the ones not listed in `batchItemFailures`.
 * Failed ones stay in flight until their visibility timeout and come back (or go to the DLQ after
 * `maxReceiveCount`), as in AWS.
 */
export async function pollOnce(
  client: SQSClient,
  queue: { readonly url: string; readonly arn: string },
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
  opts: { readonly batchSize?: number; readonly waitSeconds?: number } = {},
): Promise<{ readonly received: number; readonly failed: readonly string[]; readonly bodies: readonly string[] }> {
  const out = await client.send(new ReceiveMessageCommand({
    QueueUrl: queue.url, MaxNumberOfMessages: opts.batchSize ?? 10, WaitTimeSeconds: opts.waitSeconds ?? 0,
    MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'],
  }));
  const messages = out.Messages ?? [];
  if (messages.length === 0) return { received: 0, failed: [], bodies: [] };
  const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, queue.arn, 'us-east-1')) };
  const response = await handler(event);
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId!));
  if (done.length > 0) {
    await client.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return { received: messages.length, failed: [...failed], bodies: messages.map((m) => m.Body ?? '') };
}

/** Polls until a receive comes back empty; returns every body handled. */
export async function drain(client: SQSClient, queue: { readonly url: string; readonly arn: string }, handler: (event: SQSEvent) => Promise<SQSBatchResponse>, batchSize = 10): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const r = await pollOnce(client, queue, handler, { batchSize });
    if (r.received === 0) return bodies;
    bodies.push(...r.bodies);
  }
}
