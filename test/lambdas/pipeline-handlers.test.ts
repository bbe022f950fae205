/**
 * The Lambda handlers (lambdas/<name>/handler.ts) invoked as Lambda invokes them, with real-shaped
 * events (../shared/corpus/events/aws; SQS records received from a real queue; DynamoDB stream records
 * read from DynamoDB Local's stream), configured only through the environment the CDK construct sets
 * — pointed at local servers with the local-run variables: DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB),
 * fauxqs (AWS_ENDPOINT_URL_SQS), the Debian registry standing in for ECR (TRUSTCTL_REGISTRY_OVERRIDE),
 * a local Slack server. Mocked only where no local server exists: Secrets Manager (the webhook secret)
 * and ECR's DescribeRepositories/DescribeImages (aws-sdk-client-mock).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { strToU8, zipSync } from 'fflate';
import { DynamoVerdictStore } from '../../lib/aws/verdict-store';
import type { Digest } from '../../lib/engine/model';
import { trustTagFor } from '../../lib/engine/registry/trust-tags';
import { pushImage } from '../../lib/local/builder/push';
import type { BuiltImage } from '../../lib/local/builder/image-builder';
import { handler as feedSync } from '../../lambdas/feed-sync/handler';
import { handler as nightly } from '../../lambdas/nightly/handler';
import { handler as scanWorker } from '../../lambdas/scan-worker/handler';
import { handler as verdictFanout } from '../../lambdas/verdict-fanout/handler';
import { corpusBytes } from '../helpers/corpus';
import { ACCOUNT, BASE_RECORDS, corpusOsv, ECR_HOST, pushEvent, REPO, revised, testImages } from '../engine/pipeline/helpers/fixtures';
import { drain, pollOnce } from '../engine/pipeline/helpers/sqs-poller';
import { StreamTail, streamEvent, toLambdaRecord } from '../engine/pipeline/helpers/streams';
import { startWorld, type World } from '../engine/pipeline/helpers/world';

const secrets = mockClient(SecretsManagerClient);
const ecr = mockClient(ECRClient);
const images = testImages();
const d = (i: BuiltImage): Digest => i.root.digest;
const event = (file: string): unknown => JSON.parse(corpusBytes('events', 'aws', file).toString('utf8'));

let w: World;
let store: DynamoVerdictStore;
let tail: StreamTail;
let feedServer: Server;
let feedZip: Buffer;
const queues: Record<'scan' | 'dlq' | 'rescan', { url: string; arn: string }> = {} as never;
/** Everything the handlers logged (Powertools writes JSON lines to stdout and stderr). */
const logs: string[] = [];
const savedEnv = { ...process.env };

/** Runs `fn` with stdout/stderr captured into {@link logs} (only the handlers write there meanwhile). */
async function captured<T>(fn: () => Promise<T>): Promise<T> {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (logs.push(String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (logs.push(String(chunk)), true));
  try {
    return await fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const zipOf = (records: readonly Record<string, unknown>[]): Buffer => Buffer.from(zipSync(Object.fromEntries(records.map((r) => [`${String(r.id)}.json`, strToU8(JSON.stringify(r))]))));
const scanWorkerOn = (queue: { url: string; arn: string }, batchSize = 10) => drain(w.sqs.client, queue, (e: SQSEvent) => captured(() => scanWorker(e)), batchSize);

beforeAll(async () => {
  w = await startWorld('handlers');
  store = new DynamoVerdictStore({ client: w.dynamodb, tableName: w.tables.verdicts });
  tail = new StreamTail(w.dynamodb, w.ddb.endpoint, w.tables.verdicts);
  for (const [img, tag] of [[images.regex, 'latest'], [images.smallvec, 'smallvec'], [images.index, 'multi'], [images.unpushed, 'unannounced']] as const) await pushImage(w.direct, REPO, tag, img);

  // The OSV export over HTTP (FEEDS takes URLs; plain http is allowed to loopback only), with an ETag.
  feedZip = zipOf(BASE_RECORDS.map(corpusOsv));
  feedServer = createServer((req, res) => {
    if (req.url !== '/crates.io/all.zip') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/zip', etag: `"${createHash('sha256').update(feedZip).digest('hex').slice(0, 16)}"`, 'content-length': feedZip.length });
    res.end(req.method === 'HEAD' ? undefined : feedZip);
  });
  await new Promise<void>((r) => feedServer.listen(0, '127.0.0.1', r));

  queues.dlq = { url: await w.sqs.createQueue('scan-dlq'), arn: '' };
  queues.dlq.arn = await w.sqs.queueArn(queues.dlq.url);
  // maxReceiveCount 2 and a 1-second visibility timeout, so the poison message reaches the DLQ in a test's time.
  queues.scan = { url: await w.sqs.createQueue('scan', { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queues.dlq.arn, maxReceiveCount: 2 }) }), arn: '' };
  queues.scan.arn = await w.sqs.queueArn(queues.scan.url);
  queues.rescan = { url: await w.sqs.createQueue('rescan', { VisibilityTimeout: '30' }), arn: '' };
  queues.rescan.arn = await w.sqs.queueArn(queues.rescan.url);

  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: w.ddb.endpoint, AWS_ENDPOINT_URL_SQS: w.sqs.endpoint,
    // The ECR API is mocked (no local server exists for it); the variable says this local run has one.
    AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:9',
    TRUSTCTL_REGISTRY_OVERRIDE: `${ECR_HOST}=${w.proxy.host}`,
    VERDICT_TABLE: w.tables.verdicts, ADVISORY_TABLE: w.tables.advisories, LAYER_TABLE: w.tables.layers,
    SCAN_QUEUE_URL: queues.scan.url, RESCAN_QUEUE_URL: queues.rescan.url,
    FEEDS: `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/crates.io/all.zip`,
    SLACK_SECRET_ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:trustctl-slack-AbCdEf`,
    REPOSITORIES: REPO, LIVE_WINDOW_DAYS: '30', MAX_VERDICT_AGE_MS: String(7 * 86_400_000),
  });
  secrets.on(GetSecretValueCommand).resolves({ Name: 'trustctl-slack', SecretString: JSON.stringify({ url: w.slack.webhookUrl }) });

  const first = await captured(() => feedSync(event('awsdocs-lambda__scheduled-event.json') as never));
  expect(first).toMatchObject({ feeds: 1, enqueued: 0 });
}, 180_000);

afterAll(async () => {
  process.env = savedEnv;
  tail?.destroy();
  await new Promise<void>((r) => (feedServer ? feedServer.close(() => r()) : r()));
  await w?.stop();
});

describe('scan-worker', () => {
  it.each([
    ['the COMPOSED SQS-wrapped push event as published (its digest has 60 hex digits)', 'COMPOSED__sqs-event-wrapping-ecr-push-eventbridge-event.json'],
    ['the AWS docs SQS event (bodies "test")', 'awsdocs-lambda__sqs-event.json'],
  ])('%s: each unparseable record is reported by its own messageId (RELIABILITY.md 26)', async (_n, file) => {
    const e = event(file) as SQSEvent;
    const out = await captured(() => scanWorker(e));
    expect(out.batchItemFailures).toEqual(e.Records.map((r) => ({ itemIdentifier: r.messageId })));
  });

  it('a batch of 10 from the real queue with one poison message: 9 done (duplicates scanned once), only the poison retried, then the DLQ (RELIABILITY.md 24, 25)', async () => {
    const bodies = [
      ...[images.regex, images.smallvec, images.index].flatMap((img, i) => Array.from({ length: 3 }, () => JSON.stringify(pushEvent(d(img), REPO, ['latest', 'smallvec', 'multi'][i], '2026-11-28T10:00:00Z')))),
      'test',
    ];
    await w.sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queues.scan.url, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
    const first = await pollOnce(w.sqs.client, queues.scan, (e) => captured(() => scanWorker(e)), { batchSize: 10 });
    expect(first.received).toBe(10);
    expect(first.failed).toHaveLength(1);
    for (const img of [images.regex, images.smallvec, images.index, images.amd]) expect(await store.history(d(img))).toHaveLength(1);
    for (const img of [images.regex, images.smallvec]) expect([...img.blobs.keys()].map((b) => w.proxy.blobGets.get(b))).toEqual([...img.blobs.keys()].map(() => 1));
    // Only the poison message comes back; after maxReceiveCount it is in the DLQ.
    let inDlq: string[] = [];
    for (let round = 0; round < 10 && inDlq.length === 0; round++) {
      await new Promise((r) => setTimeout(r, 1100));
      const again = await pollOnce(w.sqs.client, queues.scan, (e) => captured(() => scanWorker(e)));
      expect(again.bodies.every((b) => b === 'test')).toBe(true);
      inDlq = ((await w.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queues.dlq.url, VisibilityTimeout: 60 }))).Messages ?? []).map((m) => m.Body ?? '');
    }
    expect(inDlq).toEqual(['test']);
    expect(logs.join('')).toMatch(/"message":"unparseable message"/);
  });

  it('an ECR DELETE event is handled (ignored), not failed', async () => {
    const e: SQSEvent = { Records: [{ ...(event('awsdocs-lambda__sqs-event.json') as SQSEvent).Records[0], body: JSON.stringify(event('awsdocs-ecr__ecr-image-action-delete.json')) }] };
    expect(await captured(() => scanWorker(e))).toEqual({ batchItemFailures: [] });
  });
});

describe('feed-sync → rescan queue → scan-worker', () => {
  it('a feed change enqueues exactly the affected digests; the worker re-judges them from inventories (no layer download)', async () => {
    feedZip = zipOf([...BASE_RECORDS.map(corpusOsv), revised('crates.io/RUSTSEC-2022-0013.json', '2026-11-01T00:00:00Z')]);
    const summary = await captured(() => feedSync(event('powertools-python__eventBridgeSchedulerEvent.json') as never));
    expect(summary).toMatchObject({ feeds: 1, changedRecords: 1, packageKeys: 1, enqueued: 3 });
    const before = w.proxy.totalBlobGets();
    const handled = await scanWorkerOn(queues.rescan, 5);
    expect(handled.map((b) => JSON.parse(b).digest).sort()).toEqual([d(images.regex), d(images.amd), d(images.index)].sort());
    expect(w.proxy.totalBlobGets()).toBe(before);
    expect(await store.get(d(images.regex))).toMatchObject({ status: 'quarantined', revision: 2 });
    expect(await store.get(d(images.smallvec))).toMatchObject({ status: 'trusted', revision: 1 });
  });
});

describe('verdict-fanout', () => {
  let records: DynamoDBRecord[];

  it('stream records of the verdict table: tags written, one Slack message per new quarantine', async () => {
    records = streamEvent(await tail.nextVerdicts()).Records;
    const out = await captured(() => verdictFanout({ Records: records }));
    expect(out).toEqual({ batchItemFailures: [] });
    expect(w.slack.posts).toHaveLength(3);
    expect((await w.direct.headManifest(REPO, trustTagFor('quarantined', d(images.regex))))?.digest).toBe(d(images.regex));
    expect((await w.direct.headManifest(REPO, trustTagFor('trusted', d(images.smallvec))))?.digest).toBe(d(images.smallvec));
  });

  it('the same batch delivered again posts nothing new; a record that does not decode fails alone, by its sequence number', async () => {
    const broken: DynamoDBRecord = { ...records[0], dynamodb: { ...records[0].dynamodb, SequenceNumber: '999999999999999999999', NewImage: { ...records[0].dynamodb!.NewImage, body: { B: Buffer.from('not gzip').toString('base64') } } } };
    const history = toLambdaRecord({ eventName: 'INSERT', dynamodb: { Keys: { pk: { S: 'DIGEST#x' }, sk: { S: 'HIST#0000000001' } }, NewImage: { pk: { S: 'DIGEST#x' }, sk: { S: 'HIST#0000000001' } }, SequenceNumber: '888' } });
    const out = await captured(() => verdictFanout({ Records: [...records, history, broken] }));
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: '999999999999999999999' }] });
    expect(w.slack.posts).toHaveLength(3);
  });
});

describe('nightly → rescan queue → scan-worker (RELIABILITY.md 32)', () => {
  it('the sweep finds the image whose push event never arrived; the worker scans it', async () => {
    const now = Date.now();
    const detail = (img: BuiltImage, tags: string[]) => ({
      registryId: ACCOUNT, repositoryName: REPO, imageDigest: d(img), imageTags: tags, imageSizeInBytes: 4096, imagePushedAt: new Date(now - 3_600_000),
      imageManifestMediaType: img.root.mediaType, ...(img.isIndex ? {} : { artifactMediaType: 'application/vnd.oci.image.config.v1+json' }),
    });
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: REPO, registryId: ACCOUNT, repositoryUri: `${ECR_HOST}/${REPO}`, repositoryArn: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${REPO}` }] });
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [detail(images.regex, ['latest']), detail(images.smallvec, ['smallvec']), detail(images.unpushed, ['unannounced'])] });
    const report = await captured(() => nightly(event('awsdocs-lambda__scheduled-event.json') as never));
    expect(report).toMatchObject({ scan: 1, swept: { repositories: 1, images: 3, failedRepositories: 0 } });
    expect(ecr.commandCalls(DescribeRepositoriesCommand)[0].args[0].input).toMatchObject({ repositoryNames: [REPO] });
    // Scans and re-evaluations alike go on the rescan queue: a push never waits behind the nightly backlog.
    await scanWorkerOn(queues.rescan, 5);
    expect(await store.get(d(images.unpushed))).toMatchObject({ status: 'trusted', revision: 1 });
    expect((await store.get(d(images.regex)))!.revision).toBe(3);
  });
});

describe('logs (after every handler above ran)', () => {
  it('are structured JSON lines that never hold the Slack webhook URL (DESIGN.md "No secret in logs")', () => {
    const lines = logs.join('').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.every((l) => typeof (JSON.parse(l) as { message?: unknown }).message === 'string')).toBe(true);
    expect(lines.some((l) => /"service":"trustctl-verdict-fanout"/.test(l) && /Slack notification sent/.test(l))).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain(w.slack.token);
    expect(all).not.toContain('/services/T0TEST');
  });
});
