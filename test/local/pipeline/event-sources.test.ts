/**
 * The local event source mappings against real servers: SQS semantics on fauxqs (partial batch
 * responses, a throwing handler, visibility timeout, redrive to the DLQ after maxReceiveCount) and
 * DynamoDB Streams on DynamoDB Local (order, filter criteria, retry from the failed record, the
 * on-failure destination).
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, SQSEvent } from 'aws-lambda';
import { pkSkTable } from '../../../lib/aws/dynamodb-table';
import { type FauxqsServer, startFauxqs } from '../../../lib/local/pipeline/fauxqs';
import { SqsEventSource } from '../../../lib/local/pipeline/sqs-event-source';
import { StreamEventSource } from '../../../lib/local/pipeline/stream-event-source';
import { useDynamoDbLocal } from '../../helpers/dynamodb-local';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const creds = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('SqsEventSource on fauxqs', () => {
  let fauxqs: FauxqsServer;
  let sqs: SQSClient;
  beforeAll(async () => {
    fauxqs = await startFauxqs();
    sqs = new SQSClient({ region: 'us-east-1', endpoint: fauxqs.endpoint, credentials: creds });
  }, 30_000);
  afterAll(async () => {
    sqs?.destroy();
    await fauxqs?.stop();
  });

  async function queues(name: string, maxReceiveCount: number) {
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const url = (await sqs.send(new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(maxReceiveCount) }) },
    }))).QueueUrl!;
    return { url, dlq };
  }

  it('deletes what succeeded, leaves the reported failures, and the queue redrives them to the DLQ after maxReceiveCount', async () => {
    const { url, dlq } = await queues('scan', 2);
    for (const body of ['ok-1', 'bad', 'ok-2']) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } } }));
    const seen: SQSEvent['Records'] = [];
    const source = new SqsEventSource({
      client: sqs, queueUrl: url, batchSize: 10,
      handler: async (e) => {
        seen.push(...e.Records);
        return { batchItemFailures: e.Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await source.start();
    await source.stop();
    // Poll until the bad message has been received twice (visibility 1 s) and moved to the DLQ.
    for (let i = 0; i < 20 && seen.filter((r) => r.body === 'bad').length < 2; i++) await source.pollOnce();
    await new Promise((r) => setTimeout(r, 1200));
    expect(await source.pollOnce()).toBe(0);
    const bodies = seen.map((r) => r.body);
    expect(bodies.filter((b) => b.startsWith('ok'))).toHaveLength(2);
    expect(bodies.filter((b) => b === 'bad')).toHaveLength(2);
    const bad = seen.filter((r) => r.body === 'bad');
    expect(bad.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(seen[0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: expect.stringMatching(/^arn:aws:sqs:us-east-1:\d+:scan$/), awsRegion: 'us-east-1', messageAttributes: { kind: { stringValue: 'test', dataType: 'String' } } });
    const inDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(inDlq.Messages?.map((m) => m.Body)).toEqual(['bad']);
    expect(source.stats).toMatchObject({ succeeded: 2, failed: 2 });
  });

  it('a handler that throws leaves the whole batch; it comes back after the visibility timeout', async () => {
    const { url } = await queues('throws', 5);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    let calls = 0;
    const errors: unknown[] = [];
    const source = new SqsEventSource({ client: sqs, queueUrl: url, onError: (e) => errors.push(e), handler: async () => {
      if (++calls === 1) throw new Error('worker crashed mid-batch');
    } });
    await source.start();
    await source.stop();
    for (let i = 0; i < 10 && calls < 2; i++) await source.pollOnce();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
    expect(source.stats).toMatchObject({ invocations: 2, succeeded: 1, failed: 1 });
  });
});

describe('StreamEventSource on DynamoDB Local', () => {
  const db = useDynamoDbLocal();
  let streams: DynamoDBStreamsClient;
  beforeAll(() => {
    streams = new DynamoDBStreamsClient({ region: 'us-east-1', endpoint: db.server.endpoint, credentials: creds });
  });
  db.beforeStop(() => streams?.destroy());

  const put = (table: string, pk: string, sk: string, status: string) =>
    db.client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, sk: { S: sk }, status: { S: status } } }));

  it('delivers in order with old and new images, filtered; a reported failure is retried from that record; give-ups go to onFailure', async () => {
    const table = 'verdicts';
    await db.createTable(pkSkTable(table, { stream: true }));
    const delivered: DynamoDBRecord[] = [];
    const failures: DynamoDBRecord[] = [];
    let failOnce = true;
    const source = new StreamEventSource({
      dynamodb: db.client, streams, tableName: table, batchSize: 10, maxRetryAttempts: 2,
      filter: (r) => r.dynamodb?.Keys?.sk?.S === 'VERDICT',
      onFailure: (records) => failures.push(...records),
      handler: async (e) => {
        const items: { itemIdentifier: string }[] = [];
        for (const r of e.Records) {
          const pk = r.dynamodb?.Keys?.pk?.S;
          if (pk === 'DIGEST#b' && failOnce) {
            failOnce = false;
            items.push({ itemIdentifier: r.dynamodb!.SequenceNumber! });
            break;
          }
          if (pk === 'DIGEST#poison') {
            items.push({ itemIdentifier: r.dynamodb!.SequenceNumber! });
            break;
          }
          delivered.push(r);
        }
        return { batchItemFailures: items };
      },
    });
    await source.start('LATEST');
    await source.stop();
    await put(table, 'DIGEST#a', 'VERDICT', 'trusted');
    await put(table, 'DIGEST#a', 'HIST#0000000001', 'trusted');
    await put(table, 'DIGEST#b', 'VERDICT', 'trusted');
    await put(table, 'DIGEST#a', 'VERDICT', 'quarantined');
    await put(table, 'DIGEST#poison', 'VERDICT', 'trusted');
    for (let i = 0; i < 10 && delivered.length + failures.length < 4; i++) await source.pollOnce();
    expect(delivered.map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S} ${r.dynamodb?.OldImage?.status?.S ?? '-'}→${r.dynamodb?.NewImage?.status?.S}`)).toEqual([
      'INSERT DIGEST#a -→trusted',
      'INSERT DIGEST#b -→trusted',
      'MODIFY DIGEST#a trusted→quarantined',
    ]);
    expect(failures.map((r) => r.dynamodb?.Keys?.pk?.S)).toEqual(['DIGEST#poison']);
    expect(source.stats).toMatchObject({ filtered: 1, givenUp: 1 });
    expect(delivered[0]).toMatchObject({ eventSource: 'aws:dynamodb', eventSourceARN: expect.stringContaining('table/verdicts/stream/') });
  });
});
