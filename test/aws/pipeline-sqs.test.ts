/**
 * SqsRescanQueue against fauxqs (an SQS-protocol server in a child process on 127.0.0.1): messages go
 * in SendMessageBatch calls of at most 10, every one arrives once, and a queue that refuses them is an
 * error naming what was not sent — never a silent drop.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { SqsRescanQueue } from '../../lib/aws/rescan-queue';
import type { Digest } from '../../lib/engine/model';
import { RescanEnqueueError } from '../../lib/engine/pipeline/errors';
import { parseRescanMessage, type RescanMessage } from '../../lib/engine/pipeline/messages';
import { type Fauxqs, startFauxqs } from '../engine/pipeline/helpers/fauxqs';

let sqs: Fauxqs;
beforeAll(async () => {
  sqs = await startFauxqs();
}, 60_000);
afterAll(async () => sqs?.stop());

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}` as Digest;

async function receiveAll(url: string): Promise<RescanMessage[]> {
  const out: RescanMessage[] = [];
  for (;;) {
    const r = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
    if (!r.Messages?.length) return out;
    out.push(...r.Messages.map((m) => parseRescanMessage(m.Body)));
  }
}

describe('SqsRescanQueue', () => {
  it.each([
    ['one message', 1],
    ['exactly one batch', 10],
    ['several batches and a partial one', 25],
  ])('%s: every message arrives once', async (_n, count) => {
    const url = await sqs.createQueue(`rescan-${count}`);
    const messages: RescanMessage[] = Array.from({ length: count }, (_, i) => ({ kind: 'reevaluate', digest: digest(i), at: '2026-11-28T02:00:00Z', reason: 'nightly' }));
    const calls: number[] = [];
    sqs.client.middlewareStack.add((next, ctx) => async (args) => {
      if (ctx.commandName === 'SendMessageBatchCommand') calls.push((args.input as { Entries: unknown[] }).Entries.length);
      return next(args);
    }, { step: 'initialize', name: `count-${count}` });
    try {
      await new SqsRescanQueue({ client: sqs.client, queueUrl: url }).send(messages);
    } finally {
      sqs.client.middlewareStack.remove(`count-${count}`);
    }
    expect(calls.every((n) => n <= 10)).toBe(true);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(count);
    const got = await receiveAll(url);
    expect(got.map((m) => m.digest).sort()).toEqual(messages.map((m) => m.digest).sort());
    expect(got[0]).toEqual(messages.find((m) => m.digest === got[0].digest));
  });

  it('a queue that does not exist: RescanEnqueueError names every digest not sent', async () => {
    const queue = new SqsRescanQueue({ client: sqs.client, queueUrl: `${sqs.endpoint}/000000000000/no-such-queue`, retry: { baseDelayMs: 1 } });
    const messages: RescanMessage[] = Array.from({ length: 12 }, (_, i) => ({ kind: 'reevaluate', digest: digest(100 + i) }));
    const err = await queue.send(messages).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RescanEnqueueError);
    expect((err as RescanEnqueueError).notSent).toEqual(messages.map((m) => m.digest).sort());
  });
});
