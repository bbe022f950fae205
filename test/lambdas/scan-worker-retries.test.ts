/**
 * The scan-worker's retries (issue 15 item 5), driven as Lambda drives it — records received from a
 * real queue (fauxqs), the verdict table on DynamoDB Local — against a registry that trickles one
 * image's layer so every scan hits its deadline: each failed attempt sets the message's visibility to
 * the retry delay (1 s here, on a queue whose own timeout is 600 s, so the message is received again
 * within the test only if the change took effect); on the last attempt the digest is recorded as
 * quarantined, `unscannable` (SCAN_TIMEOUT), the message is deleted, nothing reaches the DLQ, and the
 * scan claim is released. A record whose visibility cannot be changed is still only retried.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { DynamoVerdictStore } from '../../lib/aws/verdict-store';
import type { Digest } from '../../lib/engine/model';
import { DEADLINE_SAFETY_MARGIN_MS } from '../../lib/engine/registry/deadline';
import { buildImage } from '../../lib/local/builder/image-builder';
import { handler as scanWorker } from '../../lambdas/scan-worker/handler';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { ECR_HOST, pushEvent, REPO } from '../engine/pipeline/helpers/fixtures';
import { startFauxqs } from '../engine/pipeline/helpers/fauxqs';
import { pollOnce } from '../engine/pipeline/helpers/sqs-poller';
import { createTables } from '../engine/pipeline/helpers/world';
import { type FakeServer, startFakeServer, trickle } from '../engine/registry/fake-server';

const slow = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/slow', body: 'x'.repeat(4096) }] }] });
const fast = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/fast', body: 'fast\n' }] }] });
/** A second slow image, for the record whose queue is unknown. */
const slow2 = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/slow2', body: 'y'.repeat(4096) }] }] });
/** Two more, handled in one batch on their last attempt. */
const [slow3, slow4] = ['slow3', 'slow4'].map((name) => buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: `etc/${name}`, body: name.repeat(1024) }] }] }));
const slowImages = [slow, slow2, slow3, slow4];
const slowLayers = new Set<string>(slowImages.map((i) => i.images[0].layers[0].descriptor.digest));
/** The scan deadline of every invocation: the context reports this plus the margin as its remaining time. */
const SCAN_DEADLINE_MS = 400;
const context = (): Context => ({ getRemainingTimeInMillis: () => DEADLINE_SAFETY_MARGIN_MS + SCAN_DEADLINE_MS }) as unknown as Context;

const db = useDynamoDbLocal({ alongside: { sqs: startFauxqs } });
let registry: FakeServer;
let store: DynamoVerdictStore;
let tables: { verdicts: string; advisories: string; layers: string };
const queues: Record<'scan' | 'dlq', { url: string; arn: string }> = {} as never;
const savedEnv = { ...process.env };

db.beforeStop(async () => {
  process.env = savedEnv;
  await registry?.stop();
});

beforeAll(async () => {
  tables = await createTables(db.client, 'retries');
  store = new DynamoVerdictStore({ client: db.client, tableName: tables.verdicts });
  // A registry serving both images; the slow one's layer trickles (1 byte / 100 ms: 4 KiB never arrive in time).
  registry = await startFakeServer((req, res) => {
    const m = /\/manifests\/(.+)$/.exec(req.path);
    if (m) {
      const img = [...slowImages, fast].find((i) => i.root.digest === m[1]);
      return img ? res.writeHead(200, { 'Content-Type': img.root.mediaType }).end(img.root.bytes) : res.writeHead(404).end();
    }
    const digest = req.path.split('/').pop() as Digest;
    const bytes = [...slowImages, fast].map((i) => i.blobs.get(digest)).find(Boolean);
    if (!bytes) return res.writeHead(404).end();
    if (slowLayers.has(digest)) return trickle(res, bytes, 100, { 'Content-Length': String(bytes.length) });
    return res.writeHead(200).end(bytes);
  });
  queues.dlq = { url: await db.sqs.createQueue('retries-dlq'), arn: '' };
  queues.dlq.arn = await db.sqs.queueArn(queues.dlq.url);
  // The queue's own visibility timeout is 600 s: a message seen again within the test came back by ChangeMessageVisibility.
  queues.scan = { url: await db.sqs.createQueue('retries-scan', { VisibilityTimeout: '600', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queues.dlq.arn, maxReceiveCount: 5 }) }), arn: '' };
  queues.scan.arn = await db.sqs.queueArn(queues.scan.url);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: db.server.endpoint, AWS_ENDPOINT_URL_SQS: db.sqs.endpoint,
    TRUSTCTL_REGISTRY_OVERRIDE: `${ECR_HOST}=${registry.host}`,
    VERDICT_TABLE: tables.verdicts, ADVISORY_TABLE: tables.advisories, LAYER_TABLE: tables.layers,
    SCAN_QUEUE_URL: queues.scan.url, FEEDS: '',
    SCAN_RETRY_BASE_SECONDS: '1', SCAN_RETRY_MAX_SECONDS: '1', SCAN_MAX_ATTEMPTS: '3',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
}, 120_000);

const invoke = (e: SQSEvent) => scanWorker(e, context());

describe('scan-worker retries (issue 15 item 5)', () => {
  it('a scan that always hits its deadline: retried after 1 s (not the queue’s 600 s) twice, then recorded as unscannable on attempt 3; nothing in the DLQ, the claim released', async () => {
    await db.sqs.client.send(new SendMessageCommand({ QueueUrl: queues.scan.url, MessageBody: JSON.stringify(pushEvent(slow.root.digest, REPO, 'big')) }));
    const attempts: { received: number; failed: number }[] = [];
    // Each receive waits up to 5 s: the message is back after ~1 s only if its visibility was changed.
    for (let i = 0; i < 3; i++) {
      const r = await pollOnce(db.sqs.client, queues.scan, invoke, { batchSize: 1, waitSeconds: 5 });
      attempts.push({ received: r.received, failed: r.failed.length });
    }
    expect(attempts).toEqual([{ received: 1, failed: 1 }, { received: 1, failed: 1 }, { received: 1, failed: 0 }]);

    const v = await store.get(slow.root.digest);
    expect(v).toMatchObject({ status: 'quarantined', ref: `${ECR_HOST}/${REPO}:big@${slow.root.digest}` });
    expect(v!.reasons).toEqual([expect.objectContaining({ rule: 'unscannable', message: expect.stringMatching(/^SCAN_TIMEOUT: .*attempt 3 of 3.*given up/) })]);
    // Deleted after the verdict: the queue and its DLQ are empty.
    expect((await pollOnce(db.sqs.client, queues.scan, invoke, { waitSeconds: 2 })).received).toBe(0);
    expect((await db.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queues.dlq.url, WaitTimeSeconds: 0 }))).Messages ?? []).toEqual([]);
    const claim = await db.client.send(new GetItemCommand({ TableName: tables.verdicts, Key: { pk: { S: `CLAIM#scan:${slow.root.digest}` }, sk: { S: 'LEASE' } } }));
    expect(claim.Item).toBeUndefined();
  }, 60_000);

  it('an image that scans in time is trusted on its first attempt, whatever the retry settings', async () => {
    await db.sqs.client.send(new SendMessageCommand({ QueueUrl: queues.scan.url, MessageBody: JSON.stringify(pushEvent(fast.root.digest, REPO, 'small')) }));
    const r = await pollOnce(db.sqs.client, queues.scan, (e) => scanWorker(e, { getRemainingTimeInMillis: () => DEADLINE_SAFETY_MARGIN_MS + 30_000 } as unknown as Context), { batchSize: 1, waitSeconds: 5 });
    expect(r).toMatchObject({ received: 1, failed: [] });
    expect(await store.get(fast.root.digest)).toMatchObject({ status: 'trusted' });
  }, 60_000);

  it('a batch of two on their last attempt: the first (its fair share of time) is recorded unscannable; the second, left no time by it, only fails', async () => {
    const record = (img: typeof slow, id: string) => ({
      messageId: id, receiptHandle: `AQEB-${id}`, body: JSON.stringify(pushEvent(img.root.digest, REPO, id)),
      attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' },
      messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:no-such-queue', awsRegion: 'us-east-2',
    });
    // A context whose remaining time runs down as Lambda's does.
    const end = Date.now() + DEADLINE_SAFETY_MARGIN_MS + SCAN_DEADLINE_MS;
    const running = { getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) } as unknown as Context;
    expect(await scanWorker({ Records: [record(slow3, 'first'), record(slow4, 'second')] }, running)).toEqual({ batchItemFailures: [{ itemIdentifier: 'second' }] });
    expect(await store.get(slow3.root.digest)).toMatchObject({ status: 'quarantined', reasons: [expect.objectContaining({ rule: 'unscannable' })] });
    expect(await store.get(slow4.root.digest)).toBeUndefined();
  }, 30_000);

  it('a record whose visibility cannot be changed (its queue is unknown) still fails alone, and is not lost', async () => {
    const record = {
      messageId: 'm-unknown', receiptHandle: 'AQEB-not-a-handle', body: JSON.stringify(pushEvent(slow2.root.digest, REPO, 'big2')),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' },
      messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:no-such-queue', awsRegion: 'us-east-2',
    };
    expect(await invoke({ Records: [record] })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-unknown' }] });
    expect(await store.get(slow2.root.digest)).toBeUndefined();
  }, 30_000);
});
