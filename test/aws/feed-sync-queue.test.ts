/**
 * feed-sync continued across invocations on the real parts (issue 15 item 8): the feed-sync queue on
 * fauxqs (lib/aws/feed-sync-queue.ts), the advisory table, its per-feed claims (scan-claims.ts on the
 * advisory table) and the feed state on DynamoDB Local, the rescan queue on fauxqs. A 5,000-record
 * export goes through several invocations — each one message received from the queue, its time counted
 * in records written — and ends complete with every record stored and every affected digest enqueued.
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoAdvisoryStore, tableDefinition } from '../../lib/aws/advisory-store';
import { FeedSyncEnqueueError, SqsFeedSyncQueue } from '../../lib/aws/feed-sync-queue';
import { SqsRescanQueue } from '../../lib/aws/rescan-queue';
import { DynamoScanClaims } from '../../lib/aws/scan-claims';
import type { Digest } from '../../lib/engine/model';
import { feedClaimKey, parseFeedSyncMessage, startFeedSync, syncFeedMessage, type FeedContinuationPorts, type FeedMessageOutcome } from '../../lib/engine/pipeline/feed-sync-continuation';
import { parseRescanMessage } from '../../lib/engine/pipeline/messages';
import { DEFAULT_POLICY } from '../../lib/engine/policy/default-policy';
import { packageKey } from '../../lib/engine/verdicts/keys';
import { SCHEMES } from '../../lib/engine/versions/schemes';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { memoryFeedSource, syntheticId, syntheticOsvZip } from '../helpers/synthetic-feed';
import { startFauxqs } from '../engine/pipeline/helpers/fauxqs';
import { RecordingStore, digestOf } from '../engine/pipeline/helpers/feed-continuation';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const N = 5_000;
const PACKAGES = 50;
const PER_INVOCATION = 1_500;

const db = useDynamoDbLocal({ alongside: { sqs: startFauxqs } });

/** Every message on a queue, received and deleted. */
async function takeAll(url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const r = await db.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
    if (!r.Messages?.length) return bodies;
    for (const m of r.Messages) {
      bodies.push(m.Body!);
      await db.sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

describe('a 5,000-record export through the feed-sync queue, DynamoDB Local and fauxqs', () => {
  let outcomes: FeedMessageOutcome[];
  let store: RecordingStore;
  let advisories: DynamoAdvisoryStore;
  let table: string;
  let rescanUrl: string;
  let feedUrl: string;

  beforeAll(async () => {
    table = 'advisories-continuation';
    await db.client.send(new CreateTableCommand(tableDefinition(table)));
    advisories = new DynamoAdvisoryStore({ client: db.client, tableName: table });
    store = new RecordingStore(advisories);
    [feedUrl, rescanUrl] = await Promise.all([db.sqs.createQueue('feed-sync'), db.sqs.createQueue('rescan')]);
    const zip = syntheticOsvZip({ records: N, packages: PACKAGES });
    const source = memoryFeedSource('osv:Synthetic', () => zip, () => 'etag:"local"');
    const index = new Map<string, Digest[]>();
    for (const eco of ['PyPI', 'npm']) for (let p = 0; p < PACKAGES; p++) index.set(packageKey(eco, `pkg-${p}`), [digestOf(eco, p)]);
    // Each invocation builds its ports as a fresh Lambda environment would: its own claim owner.
    const ports = (): FeedContinuationPorts => ({
      store: { digestsForPackage: async (k) => index.get(k) ?? [], listDigests: async () => [...index.values()].flat() },
      advisories: { store, schemes: SCHEMES, sources: [source.source] },
      feeds: [source],
      queue: new SqsRescanQueue({ client: db.sqs.client, queueUrl: rescanUrl }),
      feedQueue: new SqsFeedSyncQueue({ client: db.sqs.client, queueUrl: feedUrl }),
      claims: new DynamoScanClaims({ client: db.client, tableName: table }),
      policy: DEFAULT_POLICY,
    });
    expect((await startFeedSync(ports())).enqueued).toEqual(['osv:Synthetic']);
    outcomes = [];
    for (;;) {
      const r = await db.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: feedUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }));
      const m = r.Messages?.[0];
      if (!m) break;
      const start = store.written;
      outcomes.push(await syncFeedMessage(ports(), parseFeedSyncMessage(m.Body!), { timeLeftMs: () => PER_INVOCATION - (store.written - start), leaseMs: () => 900_000, batchSize: 250 }));
      await db.sqs.client.send(new DeleteMessageCommand({ QueueUrl: feedUrl, ReceiptHandle: m.ReceiptHandle! }));
      if (outcomes.length > 20) throw new Error('no end in sight');
    }
  }, 600_000);

  it('took at least three invocations, each continued by a message on the queue until the last', () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    expect(outcomes.map((o) => o.status)).toEqual([...Array(outcomes.length - 1).fill('continued'), 'complete']);
  });

  it('the advisory table holds every record once, and the feed state is complete with the whole read\'s totals', async () => {
    expect(await advisories.count()).toBe(N);
    for (const i of [0, 1_499, 1_500, 2_500, N - 1]) expect((await advisories.get(syntheticId(i)))?.id).toBe(syntheticId(i));
    expect(Math.max(...store.writes.values())).toBe(1);
    expect(await advisories.getFeedState('osv:Synthetic')).toMatchObject({ status: 'complete', fingerprint: 'etag:"local"', records: N, ecosystems: ['PyPI', 'npm'] });
    const positions = store.cursorPositions('etag:"local"');
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThanOrEqual(positions[i - 1]);
  });

  it('every affected digest is on the rescan queue', async () => {
    const digests = new Set((await takeAll(rescanUrl)).map((b) => parseRescanMessage(JSON.parse(b)).digest));
    const expected = new Set<Digest>();
    for (let p = 0; p < PACKAGES; p++) for (const eco of ['PyPI', 'npm']) expected.add(digestOf(eco, p));
    expect(digests).toEqual(expected);
  });

  it('the feed\'s claim was given up after the last invocation', async () => {
    expect(await new DynamoScanClaims({ client: db.client, tableName: table }).claim(feedClaimKey('osv:Synthetic'), 1_000)).toBe(true);
  });
});

describe('a checkpoint in the DynamoDB feed state', () => {
  it.each([
    ['progress and write-ahead ids', { cursor: 'osv-zip/1 41 etag:"x"', progress: { read: 42, modified: '2026-01-01T00:00:41Z', ecosystems: ['PyPI'] }, pendingIds: ['SYN-0000041', 'SYN-0000042'] }, true],
    ['a progress that is not what it should be (dropped: the attempt counts from its cursor)', { cursor: 'osv-zip/1 41 etag:"x"', progress: { read: 1.5, ecosystems: ['PyPI'] } }, false],
  ] as const)('round-trips %s', async (_n, checkpoint, kept) => {
    const tableName = `advisories-state-${kept ? 'ok' : 'bad'}`;
    await db.client.send(new CreateTableCommand(tableDefinition(tableName)));
    const store = new DynamoAdvisoryStore({ client: db.client, tableName });
    await store.putFeedState('osv:X', { syncedAt: '', records: 0, status: 'in-progress', startedAt: '2026-12-07T12:00:00Z', pending: 'etag:"x"', ...checkpoint });
    const back = await store.getFeedState('osv:X');
    expect(back?.cursor).toBe(checkpoint.cursor);
    if (kept) expect(back).toMatchObject(checkpoint);
    else expect(back?.progress).toBeUndefined();
  });
});

describe('SqsFeedSyncQueue', () => {
  it('sends one message per feed in batches of 10, and names the feeds a missing queue did not take', async () => {
    const url = await db.sqs.createQueue('feed-sync-batches');
    const q = new SqsFeedSyncQueue({ client: db.sqs.client, queueUrl: url });
    const sources = Array.from({ length: 23 }, (_, i) => `osv:Eco${i}`);
    await q.send(sources.map((source) => ({ kind: 'feed-sync', source, at: '2026-12-07T12:00:00Z' })));
    const got = (await takeAll(url)).map((b) => parseFeedSyncMessage(b).source).sort();
    expect(got).toEqual([...sources].sort());

    const missing = new SqsFeedSyncQueue({ client: db.sqs.client, queueUrl: `${url}-missing` });
    const err = await missing.send([{ kind: 'feed-sync', source: 'osv:A', at: '2026-12-07T12:00:00Z' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedSyncEnqueueError);
    expect((err as FeedSyncEnqueueError).sources).toEqual(['osv:A']);
  });
});
