/**
 * DynamoVerdictStore against DynamoDB Local (AWS's emulator, started once for this file) with the real
 * `@aws-sdk/client-dynamodb`: the shared VerdictStore case table (a fresh table per test; the second
 * handle is a store on a second SDK client), then the table layout, races forced at exact points
 * with SDK middleware, chunked inventories and failure handling.
 */
import { randomBytes } from 'node:crypto';
import {
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { VerdictStoreCorruptError } from '../../lib/engine/verdicts/errors';
import { packageKey } from '../../lib/engine/verdicts/keys';
import type { PutVerdictResult } from '../../lib/engine/verdicts/port';
import {
  DynamoVerdictStore,
  type DynamoVerdictStoreOptions,
  DynamoVerdictStoreError,
  INVENTORY_CHUNK_BYTES,
  MAX_ITEM_BYTES,
  VERDICT_TTL_ATTRIBUTE,
  VerdictTooLargeError,
  itemBytes,
  tableDefinition,
} from '../../lib/aws/verdict-store';
import { LAYER_CACHE_TTL_ATTRIBUTE } from '../../lib/aws/layer-cache';
import { intercept, useDynamoDbLocal } from '../helpers/dynamodb-local';
import { type EvalName, digestOf, expectSameInventory, expectWellFormedHistory, largeInventory, named, smallInventory, verdictStoreContract } from '../engine/verdicts/contract';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Two clients: two handles on one table are two connection pools, like two Lambda instances. */
const db = useDynamoDbLocal({ announce: true });
let client2: DynamoDBClient;
beforeAll(() => {
  client2 = db.newClient();
});

/** A client of its own for one test (middleware added to it stays there); the test destroys it. */
const newClient = (): DynamoDBClient => db.server.client();

/** A fresh table; stores on it through `client` (and any other client given). */
const freshTable = (): Promise<string> => db.freshTable('verdicts', tableDefinition);

const storeOn = (table: string, c: DynamoDBClient = db.client, opts: Partial<DynamoVerdictStoreOptions> = {}): DynamoVerdictStore =>
  new DynamoVerdictStore({ client: c, tableName: table, retry: { baseDelayMs: 1 }, ...opts });

/** Raw items of one partition (what is really stored). */
async function partition(table: string, pk: string): Promise<Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>[]> {
  const out = await db.client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } }, ConsistentRead: true }));
  return out.Items ?? [];
}

verdictStoreContract(async () => {
  const table = await freshTable();
  return { store: storeOn(table), other: storeOn(table, client2) };
});

describe('tableDefinition', () => {
  it('is on-demand with a string pk (HASH) and sk (RANGE) and a stream of old and new images', async () => {
    const def = tableDefinition('t');
    expect(def).toEqual({
      TableName: 't',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    const table = await freshTable();
    const described = await db.client.send(new DescribeTableCommand({ TableName: table }));
    expect(described.Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });
});

describe('items as documented', () => {
  it('current verdict, one history item per revision, one digest-list item', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const d = digestOf('items');
    await store.put(named(d, 'base'));
    await store.put(named(d, 'laterSameFeed'));
    const items = await partition(table, `DIGEST#${d}`);
    expect(items.map((i) => i.sk.S)).toEqual(['HIST#0000000001', 'HIST#0000000002', 'VERDICT']);
    const current = items[2];
    expect({ rev: current.rev.N, feedRev: current.feedRev.N, evalAt: current.evalAt.N, status: current.status.S, feedRevision: current.feedRevision.S, evaluatedAt: current.evaluatedAt.S }).toEqual({
      rev: '2',
      feedRev: String(BigInt(Date.parse('2026-03-01T00:00:00Z')) * 1_000_000n),
      evalAt: String(BigInt(Date.parse('2026-03-01T11:00:00Z')) * 1_000_000n),
      status: 'quarantined',
      feedRevision: '2026-03-01T00:00:00Z',
      evaluatedAt: '2026-03-01T11:00:00Z',
    });
    expect(current.body.B?.subarray(0, 2)).toEqual(Uint8Array.from([0x1f, 0x8b]));
    let listed = 0;
    for (let shard = 0; shard < 16; shard++) listed += (await partition(table, `DIGESTS#${shard}`)).filter((i) => i.sk.S === `DIGEST#${d}`).length;
    expect(listed).toBe(1);
  });

  // Issue 15 item 10: nightly history items expire by TTL; every other item keeps its behaviour (no expiresAt).
  const NOW = Date.parse('2026-06-01T00:00:00Z');
  const DAY = 24 * 60 * 60 * 1000;
  it.each([
    { name: 'nightly re-evaluation, default retention (90 days)', trigger: 'nightly', opts: {}, expires: String((NOW + 90 * DAY) / 1000) },
    { name: 'nightly re-evaluation, retention 7 days', trigger: 'nightly', opts: { nightlyHistoryRetentionMs: 7 * DAY }, expires: String((NOW + 7 * DAY) / 1000) },
    { name: 'feed-change re-evaluation', trigger: 'feed-change', opts: {}, expires: undefined },
    { name: 'push scan (no trigger given)', trigger: undefined, opts: {}, expires: undefined },
  ])('history item of a $name: expiresAt $expires; the current verdict never expires', async ({ trigger, opts, expires }) => {
    const table = await freshTable();
    const store = storeOn(table, db.client, { ...opts, now: () => NOW });
    const d = digestOf(`ttl ${trigger ?? 'push'}`);
    // The first verdict comes from a push scan; the second from the trigger under test.
    await store.put(named(d, 'base'));
    const r = await store.put(named(d, 'laterSameFeed'), trigger === undefined ? undefined : { trigger });
    expect(r.written).toBe(true);
    const items = await partition(table, `DIGEST#${d}`);
    expect(items.map((i) => [i.sk.S, i.expiresAt?.N])).toEqual([
      ['HIST#0000000001', undefined],
      ['HIST#0000000002', expires],
      ['VERDICT', undefined],
    ]);
    // The expiring item still reads back as history, unchanged.
    expect(await store.history(d)).toEqual([{ ...named(d, 'laterSameFeed'), revision: 2 }, { ...named(d, 'base'), revision: 1 }]);
  });

  it('the TTL attribute is the one the CDK stack enables on the verdict table', () => {
    expect(VERDICT_TTL_ATTRIBUTE).toBe(LAYER_CACHE_TTL_ATTRIBUTE);
  });

  it.each([0, -1, 1.5, Number.NaN])('a nightly history retention of %p ms is refused', (ms) => {
    expect(() => storeOn('any', db.client, { nightlyHistoryRetentionMs: ms })).toThrow(RangeError);
  });

  it('package index items are (PKG#<key>, DIGEST#<digest>)', async () => {
    const table = await freshTable();
    const d = digestOf('pkg items');
    await storeOn(table).indexPackages(d, [packageKey('Debian:12', 'openssl')]);
    expect((await partition(table, 'PKG#["Debian:12","openssl"]')).map((i) => i.sk.S)).toEqual([`DIGEST#${d}`]);
  });
});

describe('races forced at the exact point (another writer between our read and our conditional write)', () => {
  /**
   * Store A's first TransactWriteItems is held until store B (another client) has put `sneaks`;
   * then A's transaction goes out with the condition built from its now stale read.
   */
  it.each([
    {
      name: 'we write the newer, an older one sneaks in: ours still lands on top',
      before: [] as EvalName[], ours: 'newerFeedEarlier' as EvalName, sneaks: 'olderFeedLater' as EvalName,
      ourResult: { written: true, revision: 2 }, ourCurrent: ['newerFeedEarlier', 2] as const, transactions: 2,
      history: [['newerFeedEarlier', 2], ['olderFeedLater', 1]] as const,
    },
    {
      name: 'we write the older, a newer one sneaks in: ours is refused (RELIABILITY.md 29)',
      before: [] as EvalName[], ours: 'olderFeedLater' as EvalName, sneaks: 'newerFeedEarlier' as EvalName,
      ourResult: { written: false }, ourCurrent: ['newerFeedEarlier', 1] as const, transactions: 1,
      history: [['newerFeedEarlier', 1]] as const,
    },
    {
      name: 'the same evaluation sneaks in (a duplicate delivery): ours is not written again',
      before: [] as EvalName[], ours: 'base' as EvalName, sneaks: 'base' as EvalName,
      ourResult: { written: false }, ourCurrent: ['base', 1] as const, transactions: 1,
      history: [['base', 1]] as const,
    },
    {
      name: 'replacing revision 1, a newer one takes revision 2 first: ours (newer than 1, older than 2) is refused',
      before: ['base'] as EvalName[], ours: 'laterSameFeed' as EvalName, sneaks: 'newerFeedEarlier' as EvalName,
      ourResult: { written: false }, ourCurrent: ['newerFeedEarlier', 2] as const, transactions: 1,
      history: [['newerFeedEarlier', 2], ['base', 1]] as const,
    },
    {
      name: 'replacing revision 1, an older-than-ours one takes revision 2 first: ours becomes revision 3',
      before: ['base'] as EvalName[], ours: 'newerFeedEarlier' as EvalName, sneaks: 'laterSameFeed' as EvalName,
      ourResult: { written: true, revision: 3 }, ourCurrent: ['newerFeedEarlier', 3] as const, transactions: 2,
      history: [['newerFeedEarlier', 3], ['laterSameFeed', 2], ['base', 1]] as const,
    },
  ])('$name', async ({ name, before, ours, sneaks, ourResult, ourCurrent, transactions, history }) => {
    const table = await freshTable();
    const d = digestOf(name);
    const other = storeOn(table, client2);
    for (const b of before) await other.put(named(d, b));
    const racing = newClient();
    let sent = 0;
    let theirs: PutVerdictResult | undefined;
    intercept(racing, 'TransactWriteItemsCommand', async (input, next) => {
      if (sent++ === 0) theirs = await other.put(named(d, sneaks));
      return next(input);
    });
    try {
      const r = await storeOn(table, racing).put(named(d, ours));
      expect(r).toEqual({ ...ourResult, current: { ...named(d, ourCurrent[0]), revision: ourCurrent[1] } });
      expect(sent).toBe(transactions);
      expect(theirs?.written).toBe(true);
      const got = await other.history(d);
      expect(got).toEqual(history.map(([n, rev]) => ({ ...named(d, n), revision: rev })));
      expectWellFormedHistory(got, await other.get(d));
    } finally {
      racing.destroy();
    }
  });

  it('a stale read (answering as if there were no verdict) cannot overwrite: the condition fails and the store reads again', async () => {
    const table = await freshTable();
    const d = digestOf('stale read');
    await storeOn(table).put(named(d, 'newerFeedEarlier'));
    const stale = newClient();
    let reads = 0;
    intercept(stale, 'GetItemCommand', async (input, next) => {
      if ((input as GetItemCommandInput).Key?.sk?.S === 'VERDICT' && reads++ === 0) return { $metadata: {} };
      return next(input);
    });
    try {
      const r = await storeOn(table, stale).put(named(d, 'olderFeedLater'));
      expect(r).toEqual({ written: false, current: { ...named(d, 'newerFeedEarlier'), revision: 1 } });
      expect(reads).toBe(2);
      expect(await storeOn(table).history(d)).toEqual([{ ...named(d, 'newerFeedEarlier'), revision: 1 }]);
    } finally {
      stale.destroy();
    }
  });

  it('twenty writers through two clients at once on one digest: revisions 1..n without gaps, newest on top', async () => {
    const table = await freshTable();
    const d = digestOf('twenty');
    const stores = [storeOn(table), storeOn(table, client2)];
    const evals = Array.from({ length: 20 }, (_, i) => ({ ...named(d, 'base'), evaluatedAt: `2026-03-01T10:00:${String(i).padStart(2, '0')}Z` }));
    const order = [...evals.keys()].sort(() => Math.random() - 0.5);
    const results = await Promise.all(order.map((i, j) => stores[j % 2].put(evals[i])));
    const history = await stores[0].history(d);
    expectWellFormedHistory(history, await stores[1].get(d));
    expect(history[0]).toEqual({ ...evals[19], revision: history.length });
    expect(results.filter((r) => r.written)).toHaveLength(history.length);
  }, 60_000);
});

describe('inventory chunks', () => {
  it('an inventory over 400 KB compressed is split into chunk items that each fit, and read back whole', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const d = digestOf('chunked');
    const inv = largeInventory();
    await store.putInventory(d, inv);
    const items = (await partition(table, `DIGEST#${d}`)).filter((i) => i.sk.S!.startsWith('INV'));
    const head = items.find((i) => i.sk.S === 'INV')!;
    const chunks = items.filter((i) => i.sk.S !== 'INV');
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(Number(head.chunks.N)).toBe(chunks.length);
    expect(chunks.map((c) => c.sk.S)).toEqual(chunks.map((_, n) => `INV#${head.gen.S}#${String(n).padStart(4, '0')}`));
    for (const c of chunks) {
      expect(itemBytes(c)).toBeLessThanOrEqual(MAX_ITEM_BYTES);
      expect(c.body.B!.byteLength).toBeLessThanOrEqual(INVENTORY_CHUNK_BYTES);
    }
    expect(chunks.reduce((n, c) => n + c.body.B!.byteLength, 0)).toBe(Number(head.bytes.N));
    expectSameInventory(await store.getInventory(d), inv);
  });

  it('replacing an inventory deletes the chunks of the one replaced', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const d = digestOf('replaced chunks');
    await store.putInventory(d, largeInventory(20_000));
    await store.putInventory(d, smallInventory(d));
    const items = (await partition(table, `DIGEST#${d}`)).filter((i) => i.sk.S!.startsWith('INV'));
    const gen = items.find((i) => i.sk.S === 'INV')!.gen.S;
    expect(items.map((i) => i.sk.S)).toEqual(['INV', `INV#${gen}#0000`]);
    expect(await store.getInventory(d)).toEqual(smallInventory(d));
  });

  it('a reader whose chunks are deleted by a concurrent replacement reads the new head and returns the new inventory', async () => {
    const table = await freshTable();
    const d = digestOf('replaced under the reader');
    const writer = storeOn(table, client2);
    await writer.putInventory(d, largeInventory(20_000));
    const next = smallInventory(d);
    const slow = newClient();
    let chunkReads = 0;
    intercept(slow, 'GetItemCommand', async (input, next_) => {
      if ((input as GetItemCommandInput).Key?.sk?.S?.startsWith('INV#') && chunkReads++ === 0) await writer.putInventory(d, next);
      return next_(input);
    });
    try {
      expect(await storeOn(table, slow, { concurrency: 1 }).getInventory(d)).toEqual(next);
    } finally {
      slow.destroy();
    }
  });

  it('a damaged chunk is a VerdictStoreCorruptError, never a partial inventory', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const d = digestOf('damaged');
    await store.putInventory(d, largeInventory(20_000));
    const chunk = (await partition(table, `DIGEST#${d}`)).find((i) => i.sk.S!.startsWith('INV#'))!;
    const body = Buffer.from(chunk.body.B!);
    body[100] ^= 0xff;
    await db.client.send(new PutItemCommand({ TableName: table, Item: { ...chunk, body: { B: body } } }));
    await expect(store.getInventory(d)).rejects.toThrow(VerdictStoreCorruptError);
  });
});

describe('limits and failures', () => {
  it('a verdict over 400 KB even compressed is refused with VerdictTooLargeError; nothing is written', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const d = digestOf('too large');
    const findings = Array.from({ length: 40_000 }, () => `GHSA-${randomBytes(9).toString('base64url')}`);
    const v = { ...named(d, 'base'), status: 'quarantined' as const, reasons: [{ rule: 'no-high', message: 'many', findings }] };
    await expect(store.put(v)).rejects.toThrow(VerdictTooLargeError);
    expect(await store.get(d)).toBeUndefined();
    expect(await store.listDigests()).toEqual([]);
  });

  it('a package key over the 2048-byte partition key limit is refused before anything is written', async () => {
    const table = await freshTable();
    const store = storeOn(table);
    const d = digestOf('long key');
    await expect(store.indexPackages(d, [packageKey('npm', 'ok'), packageKey('npm', 'x'.repeat(2100))])).rejects.toThrow(VerdictTooLargeError);
    expect(await store.digestsForPackage(packageKey('npm', 'ok'))).toEqual([]);
  });

  it('UnprocessedItems of BatchWriteItem are written again until every key is indexed', async () => {
    const table = await freshTable();
    const flaky = newClient();
    let held = 0;
    intercept(flaky, 'BatchWriteItemCommand', async (input, next) => {
      const req = input as BatchWriteItemCommandInput;
      const [name, requests] = Object.entries(req.RequestItems ?? {})[0];
      if (requests.length < 2) return next(input);
      const rest = requests.slice(Math.ceil(requests.length / 2));
      held += rest.length;
      const out = (await next({ ...req, RequestItems: { [name]: requests.slice(0, requests.length - rest.length) } })) as BatchWriteItemCommandOutput;
      return { ...out, UnprocessedItems: { [name]: rest } };
    });
    try {
      const d = digestOf('unprocessed');
      const keys = Array.from({ length: 60 }, (_, i) => packageKey('npm', `p${i}`));
      await storeOn(table, flaky).indexPackages(d, keys);
      expect(held).toBeGreaterThan(0);
      for (const k of keys) expect(await storeOn(table).digestsForPackage(k)).toEqual([d]);
    } finally {
      flaky.destroy();
    }
  });

  it('an SDK failure is a DynamoVerdictStoreError with the SDK error as cause, never "no verdict"', async () => {
    const store = storeOn('no-such-table');
    const err = await store.get(digestOf('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoVerdictStoreError);
    expect(((err as Error).cause as Error).name).toBe('ResourceNotFoundException');
    await expect(store.listDigests()).rejects.toThrow(DynamoVerdictStoreError);
  });

  it('a current item whose body does not decode is a VerdictStoreCorruptError', async () => {
    const table = await freshTable();
    const d = digestOf('bad body');
    await db.client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `DIGEST#${d}` }, sk: { S: 'VERDICT' }, rev: { N: '1' }, body: { B: Buffer.from('not gzip') } } }));
    await expect(storeOn(table).get(d)).rejects.toThrow(VerdictStoreCorruptError);
    // and a put does not paper over it
    await expect(storeOn(table).put(named(d, 'base'))).rejects.toThrow(VerdictStoreCorruptError);
    expect((await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `DIGEST#${d}` }, sk: { S: 'VERDICT' } } }))).Item?.body.B).toEqual(Uint8Array.from(Buffer.from('not gzip')));
  });
});
