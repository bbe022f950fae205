/**
 * lambdas/feed-sync with FEED_SYNC_QUEUE_URL (issue 15 item 8), as deployed: the schedule's event
 * enqueues one message per feed; the SQS event source (test helper `pollOnce`: receive, invoke, delete
 * what did not fail) hands each message to the handler, whose context's remaining time runs out part-way
 * (it shrinks with every look, so the stop is deterministic); the handler checkpoints, re-enqueues a
 * continuation, and a later invocation completes the feed. DynamoDB Local holds the advisory table (and
 * the per-feed claim), fauxqs the feed-sync and rescan queues; the feed is an OSV zip on disk.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoAdvisoryStore, tableDefinition as advisoryTable } from '../../lib/aws/advisory-store';
import { tableDefinition as verdictTable } from '../../lib/aws/verdict-store';
import { DEADLINE_SAFETY_MARGIN_MS } from '../../lib/engine/registry/deadline';
import { parseFeedSyncMessage } from '../../lib/engine/pipeline/feed-sync-continuation';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { syntheticOsvZip } from '../helpers/synthetic-feed';
import { startFauxqs } from '../engine/pipeline/helpers/fauxqs';
import { pollOnce } from '../engine/pipeline/helpers/sqs-poller';

const N = 2_400;
/** Looks at the remaining time (about one per record) an invocation gets before it is out of time. */
const LOOKS_PER_INVOCATION = 900;

const db = useDynamoDbLocal({ tables: [advisoryTable('advisories'), verdictTable('verdicts')], alongside: { sqs: startFauxqs } });
let tmp: string;
let feedQueue: { url: string; arn: string };
let rescanQueue: { url: string; arn: string };
const savedEnv = { ...process.env };
let handler: (event: unknown, context?: Context) => Promise<unknown>;

/** A Lambda context whose remaining time shrinks by 1 ms per look, from the margin plus `looks` ms. */
function shrinkingContext(looks: number): Context {
  let left = DEADLINE_SAFETY_MARGIN_MS + looks;
  return { getRemainingTimeInMillis: () => left-- } as unknown as Context;
}

/** Silences the handler's log lines (Powertools writes JSON to stdout). */
async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return await fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  feedQueue = { url: await db.sqs.createQueue('feed-sync', { VisibilityTimeout: '60' }), arn: '' };
  feedQueue.arn = await db.sqs.queueArn(feedQueue.url);
  rescanQueue = { url: await db.sqs.createQueue('rescan'), arn: '' };
  rescanQueue.arn = await db.sqs.queueArn(rescanQueue.url);
  tmp = mkdtempSync(join(tmpdir(), 'trustctl-feed-sync-handler-'));
  mkdirSync(join(tmp, 'Synthetic'));
  writeFileSync(join(tmp, 'Synthetic', 'all.zip'), syntheticOsvZip({ records: N, packages: 40 }));
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: db.server.endpoint, AWS_ENDPOINT_URL_SQS: db.sqs.endpoint,
    ADVISORY_TABLE: 'advisories', VERDICT_TABLE: 'verdicts', RESCAN_QUEUE_URL: rescanQueue.url, FEED_SYNC_QUEUE_URL: feedQueue.url,
    FEEDS: join(tmp, 'Synthetic', 'all.zip'),
  });
  // Imported once the environment is set: the handler reads it on its first invocation.
  handler = (await import('../../lambdas/feed-sync/handler')).handler as typeof handler;
}, 120_000);

afterAll(() => {
  process.env = savedEnv;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('feed-sync with a feed-sync queue', () => {
  it('the schedule enqueues the feed; messages continue it across invocations until it is complete', async () => {
    const tick = await quiet(() => handler({ id: 'evt-1', time: '2026-12-07T12:00:00Z' }));
    expect(tick).toMatchObject({ feeds: 1, queued: 1 });

    const invoke = (e: SQSEvent) => quiet(() => handler(e, shrinkingContext(LOOKS_PER_INVOCATION)) as Promise<SQSBatchResponse>);
    const rounds: { received: number; failed: readonly string[]; bodies: readonly string[] }[] = [];
    for (;;) {
      const r = await pollOnce(db.sqs.client, feedQueue, invoke, { batchSize: 1 });
      if (r.received === 0) break;
      rounds.push(r);
      if (rounds.length > 10) throw new Error('no end in sight');
    }
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    expect(rounds.every((r) => r.failed.length === 0)).toBe(true);
    expect(rounds.map((r) => parseFeedSyncMessage(r.bodies[0]).continuation ?? 0)).toEqual(rounds.map((_, i) => i));

    const store = new DynamoAdvisoryStore({ client: db.client, tableName: 'advisories' });
    expect(await store.count()).toBe(N);
    const [source] = await store.listFeeds();
    expect(await store.getFeedState(source)).toMatchObject({ status: 'complete', records: N, ecosystems: ['PyPI', 'npm'] });
  }, 600_000);

  it('a body that is not a feed-sync message is reported failed by its own messageId (SQS retries it, then the DLQ)', async () => {
    await db.sqs.client.send(new SendMessageCommand({ QueueUrl: feedQueue.url, MessageBody: '{"kind":"reevaluate"}' }));
    const r = await pollOnce(db.sqs.client, feedQueue, (e) => quiet(() => handler(e, shrinkingContext(10)) as Promise<SQSBatchResponse>), { batchSize: 1 });
    expect(r.received).toBe(1);
    expect(r.failed).toHaveLength(1);
  });
});
