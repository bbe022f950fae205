/**
 * SqsMessageVisibility against fauxqs (an SQS-protocol server on 127.0.0.1): a failed message comes
 * back after the delay asked for — never later than the queue's own visibility timeout — and a change
 * that SQS refuses is logged, never thrown: the message still comes back after the queue's timeout.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { queueUrlOf, SqsMessageVisibility } from '../../lib/aws/message-visibility';
import type { PipelineLogger } from '../../lib/engine/pipeline/ports';
import { type Fauxqs, startFauxqs } from '../engine/pipeline/helpers/fauxqs';

let sqs: Fauxqs;
beforeAll(async () => {
  sqs = await startFauxqs();
}, 60_000);
afterAll(async () => sqs?.stop());

describe('queueUrlOf', () => {
  const local = 'http://127.0.0.1:4566/000000000000/trustctl-scan';
  it.each([
    { name: 'an AWS queue: its AWS URL', arn: 'arn:aws:sqs:eu-west-1:123456789012:TrustPipeline-ScanQueue-AbC123', known: [], expected: 'https://sqs.eu-west-1.amazonaws.com/123456789012/TrustPipeline-ScanQueue-AbC123' },
    { name: 'a FIFO queue', arn: 'arn:aws:sqs:us-east-1:123456789012:jobs.fifo', known: [], expected: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo' },
    { name: 'the China partition', arn: 'arn:aws-cn:sqs:cn-north-1:123456789012:scan', known: [], expected: 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/scan' },
    { name: 'a configured URL of the same name wins (a local server)', arn: 'arn:aws:sqs:us-east-1:000000000000:trustctl-scan', known: [undefined, local], expected: local },
    { name: 'a configured URL whose name only starts alike does not', arn: 'arn:aws:sqs:us-east-1:000000000000:trustctl-scan-dlq', known: [local], expected: 'https://sqs.us-east-1.amazonaws.com/000000000000/trustctl-scan-dlq' },
    { name: 'not an SQS ARN (a Kinesis stream)', arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s', known: [], expected: undefined },
    { name: 'an empty ARN', arn: '', known: [local], expected: undefined },
  ])('$name', ({ arn, known, expected }) => {
    expect(queueUrlOf(arn, known)).toBe(expected);
  });
});

describe('SqsMessageVisibility', () => {
  const warnings: string[] = [];
  let failQueues = 0;
  const logger: PipelineLogger = { info: () => undefined, warn: (m) => void warnings.push(m), error: () => undefined };

  async function received(url: string, waitSeconds = 0): Promise<{ handle: string; count: string } | undefined> {
    const m = (await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: waitSeconds, MessageSystemAttributeNames: ['All'] }))).Messages?.[0];
    return m ? { handle: m.ReceiptHandle!, count: m.Attributes!.ApproximateReceiveCount! } : undefined;
  }

  it('a message in flight for 600 s comes back after the 1 s asked for, not the queue timeout', async () => {
    const url = await sqs.createQueue('visibility-short', { VisibilityTimeout: '600' });
    const arn = await sqs.queueArn(url);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm' }));
    const first = (await received(url))!;
    expect(await received(url)).toBeUndefined(); // in flight: invisible
    const v = new SqsMessageVisibility({ client: sqs.client, queueUrls: [url], logger });
    expect(await v.retryIn({ messageId: 'm1', receiptHandle: first.handle, eventSourceARN: arn }, 1)).toBe(1);
    expect(await received(url, 5)).toMatchObject({ count: '2' });
  });

  it('a delay longer than the queue’s visibility timeout is cut to it', async () => {
    const url = await sqs.createQueue('visibility-cap', { VisibilityTimeout: '2' });
    const arn = await sqs.queueArn(url);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm' }));
    const first = (await received(url))!;
    const v = new SqsMessageVisibility({ client: sqs.client, queueUrls: [url], logger });
    expect(await v.retryIn({ messageId: 'm1', receiptHandle: first.handle, eventSourceARN: arn }, 900)).toBe(2);
  });

  it.each([
    { name: 'a receipt handle SQS does not know', handle: 'not-a-handle', arn: 'own', warning: /retry delay not set: the message comes back/ },
    { name: 'a queue that does not exist', handle: 'h', arn: 'arn:aws:sqs:us-east-2:123456789012:my-queue', warning: /retry delay not set: the message comes back/ },
    { name: 'a record from no SQS queue', handle: 'h', arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s', warning: /names no SQS queue/ },
  ])('$name: logged, not thrown; the message stays in flight and returns after the queue timeout', async ({ handle, arn, warning }) => {
    warnings.length = 0;
    const url = await sqs.createQueue(`visibility-fail-${++failQueues}`, { VisibilityTimeout: '600' });
    const own = await sqs.queueArn(url);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm' }));
    expect(await received(url)).toBeDefined();
    const v = new SqsMessageVisibility({ client: sqs.client, queueUrls: [url], logger });
    await expect(v.retryIn({ messageId: 'm1', receiptHandle: handle, eventSourceARN: arn === 'own' ? own : arn }, 1)).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(warning)]);
    expect(await received(url, 2)).toBeUndefined(); // not lost, not back early: still in flight for the queue's 600 s
  });
});
