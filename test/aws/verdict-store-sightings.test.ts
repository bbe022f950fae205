/**
 * DynamoVerdictStore's admission sightings (lib/aws/verdict-store.ts `recordSighting` / `seenSince`;
 * issue 15 item 4) against DynamoDB Local: one conditional UpdateItem of the digest's list item, at
 * most once a day, never for a digest without a verdict, never touching the current verdict (whose
 * stream records drive the fan-out).
 */
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { A_LAST_SEEN, DynamoVerdictStore, tableDefinition } from '../../lib/aws/verdict-store';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { digestOf, named } from '../engine/verdicts/contract';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T08:00:00Z');

const db = useDynamoDbLocal();

const freshTable = (): Promise<string> => db.freshTable('seen', tableDefinition);

/** Every list item holding `digest` (any shard), raw. */
async function listItems(table: string, digest: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let shard = 0; shard < 16; shard++) {
    const page = await db.client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': { S: `DIGESTS#${shard}` }, ':sk': { S: `DIGEST#${digest}` } }, ConsistentRead: true }));
    out.push(...(page.Items ?? []));
  }
  return out;
}

describe('recordSighting: at most once a day per digest, only for digests with a verdict', () => {
  // Each case: sightings in order (hours after T0) → what each returned, and the lastSeenAt left.
  it.each([
    ['a digest without a verdict: nothing written, no list item made', false, [0], [false], undefined],
    ['first sighting', true, [0], [true], 0],
    ['again within the day: declined, the first time kept', true, [0, 1, 23], [true, false, false], 0],
    ['again after a day: written', true, [0, 25], [true, true], 25],
    ['an older time than recorded: declined', true, [25, 0], [true, false], 25],
    // Strictly more than a day after the last write: hours 0, 25 and 50.
    ['every hour for three days: one write a day', true, Array.from({ length: 72 }, (_, h) => h), Array.from({ length: 72 }, (_, h) => h === 0 || h === 25 || h === 50), 50],
  ] as const)('%s', async (_name, withVerdict, hours, wrote, lastSeenHour) => {
    const table = await freshTable();
    const store = new DynamoVerdictStore({ client: db.client, tableName: table, retry: { baseDelayMs: 1 } });
    const d = digestOf(`sighting-${_name}`);
    if (withVerdict) await store.put(named(d, 'base'));
    const before = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `DIGEST#${d}` }, sk: { S: 'VERDICT' } }, ConsistentRead: true }));
    const got: boolean[] = [];
    for (const h of hours) got.push(await store.recordSighting(d, new Date(T0 + h * HOUR)));
    expect(got).toEqual(wrote);
    const items = await listItems(table, d);
    if (lastSeenHour === undefined) {
      expect(items).toEqual([]);
      expect(await store.listDigests()).toEqual([]);
    } else {
      expect(items).toHaveLength(1);
      expect(items[0][A_LAST_SEEN]).toEqual({ N: String(T0 + lastSeenHour * HOUR) });
      expect(await store.listDigests()).toEqual([d]);
    }
    // The current verdict is untouched: no stream record the fan-out would see.
    const after = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `DIGEST#${d}` }, sk: { S: 'VERDICT' } }, ConsistentRead: true }));
    expect(after.Item).toEqual(before.Item);
  });

  it('two webhook replicas sighting one digest at once: exactly one write', async () => {
    const table = await freshTable();
    const a = new DynamoVerdictStore({ client: db.client, tableName: table });
    const b = new DynamoVerdictStore({ client: db.newClient(), tableName: table });
    const d = digestOf('raced');
    await a.put(named(d, 'base'));
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).recordSighting(d, new Date(T0))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a verdict written after a sighting keeps it (the list item is written only with the first verdict)', async () => {
    const table = await freshTable();
    const store = new DynamoVerdictStore({ client: db.client, tableName: table });
    const d = digestOf('kept');
    await store.put(named(d, 'base'));
    await store.recordSighting(d, new Date(T0));
    await store.put(named(d, 'newerFeedEarlier'));
    expect((await store.seenSince(new Date(T0))).get(d)?.getTime()).toBe(T0);
  });
});

describe('seenSince: the digests seen at or after a time, across every list shard', () => {
  it('returns exactly the digests sighted since, with their times', async () => {
    const table = await freshTable();
    const store = new DynamoVerdictStore({ client: db.client, tableName: table });
    const digests = Array.from({ length: 40 }, (_, i) => digestOf(`many-${i}`));
    for (const d of digests) await store.put(named(d, 'base'));
    // Even ones seen at T0 + i hours, odd ones never.
    for (let i = 0; i < digests.length; i += 2) await store.recordSighting(digests[i], new Date(T0 + i * HOUR));
    const since = await store.seenSince(new Date(T0 + 20 * HOUR));
    const want = digests.map((d, i) => [d, i] as const).filter(([, i]) => i % 2 === 0 && i >= 20);
    expect([...since.keys()].sort()).toEqual(want.map(([d]) => d).sort());
    for (const [d, i] of want) expect(since.get(d)?.getTime()).toBe(T0 + i * HOUR);
  });
});
