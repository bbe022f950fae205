/**
 * The consumed-capacity meter (lib/aws/consumed-capacity.ts) on DynamoDB Local: it asks every call for
 * `ReturnConsumedCapacity: TOTAL` through the middleware stack and sums what DynamoDB reports. The
 * expected units are the ones AWS documents for on-demand tables
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * reads per 4 KB (half when eventually consistent), writes per 1 KB.
 */
import {
  BatchGetItemCommand, DescribeTableCommand, GetItemCommand, PutItemCommand, QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { CapacityMeter } from '../../lib/aws/consumed-capacity';
import { pkSkTable } from '../../lib/aws/dynamodb-table';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const TABLE = 'capacity';
const KB5 = 'x'.repeat(5000);
const key = (pk: string, sk: string) => ({ pk: { S: pk }, sk: { S: sk } });

const db = useDynamoDbLocal({ tables: [pkSkTable(TABLE)] });
beforeAll(async () => {
  // Two 5 KB items in partition `a`, one in `b`, unmetered.
  for (const [pk, sk] of [['a', '1'], ['a', '2'], ['b', '1']]) await db.client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(pk, sk), v: { S: KB5 } } }));
});

describe('CapacityMeter on DynamoDB Local', () => {
  it.each<[string, () => Promise<unknown>, { rru: number; wru: number }]>([
    ['PutItem of a ~1 KB item: 1 WRU', () => db.client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('c', '1'), v: { S: 'y'.repeat(900) } } })), { rru: 0, wru: 1 }],
    ['PutItem of a 5 KB item: 5 WRU (per started KB)', () => db.client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key('c', '2'), v: { S: KB5 } } })), { rru: 0, wru: 5 }],
    ['GetItem, strongly consistent, 5 KB: 2 RRU (per started 4 KB)', () => db.client.send(new GetItemCommand({ TableName: TABLE, Key: key('a', '1'), ConsistentRead: true })), { rru: 2, wru: 0 }],
    ['GetItem, eventually consistent, 5 KB: half, 1 RRU', () => db.client.send(new GetItemCommand({ TableName: TABLE, Key: key('a', '1') })), { rru: 1, wru: 0 }],
    ['Query of two 5 KB items, strongly consistent: 10 KB → 3 RRU', () => db.client.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'a' } }, ConsistentRead: true })), { rru: 3, wru: 0 }],
    ['Query of two 5 KB items, eventually consistent: 1.5 RRU', () => db.client.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'a' } } })), { rru: 1.5, wru: 0 }],
    ['BatchGetItem of two 5 KB items, strongly consistent: each item rounded, 4 RRU', () => db.client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: [key('a', '1'), key('b', '1')], ConsistentRead: true } } })), { rru: 4, wru: 0 }],
    ['BatchGetItem of two 5 KB items, eventually consistent: 2 RRU', () => db.client.send(new BatchGetItemCommand({ RequestItems: { [TABLE]: { Keys: [key('a', '1'), key('b', '1')] } } })), { rru: 2, wru: 0 }],
    ['DescribeTable: a call, no units, and not asked for them (it has no such parameter)', () => db.client.send(new DescribeTableCommand({ TableName: TABLE })), { rru: 0, wru: 0 }],
  ])('%s', async (_name, call, expected) => {
    const meter = new CapacityMeter();
    const detach = meter.attach(db.client);
    try {
      await call();
    } finally {
      detach();
    }
    const t = meter.totals();
    expect({ rru: t.rru, wru: t.wru, calls: t.calls, unreported: t.unreported }).toEqual({ ...expected, calls: 1, unreported: 0 });
  });

  it('sums over calls, per operation; a failed conditional write is a failed call with at least 1 WRU; reset and detach stop the counting', async () => {
    const meter = new CapacityMeter();
    const detach = meter.attach(db.client);
    await db.client.send(new GetItemCommand({ TableName: TABLE, Key: key('a', '1'), ConsistentRead: true }));
    await db.client.send(new GetItemCommand({ TableName: TABLE, Key: key('a', '2'), ConsistentRead: true }));
    await expect(db.client.send(new PutItemCommand({ TableName: TABLE, Item: key('a', '1'), ConditionExpression: 'attribute_not_exists(pk)' }))).rejects.toThrow(/conditional/i);
    const t = meter.totals();
    expect(t.byOperation).toEqual({ GetItem: { calls: 2, failed: 0, units: 4 }, PutItem: { calls: 1, failed: 1, units: 1 } });
    expect([t.rru, t.wru, t.calls]).toEqual([4, 1, 3]);
    meter.reset();
    expect(meter.totals().calls).toBe(0);
    detach();
    await db.client.send(new GetItemCommand({ TableName: TABLE, Key: key('a', '1'), ConsistentRead: true }));
    expect(meter.totals().calls).toBe(0);
  });

  it("leaves the caller's input object as it was; the answer carries the ConsumedCapacity asked for", async () => {
    const meter = new CapacityMeter();
    const detach = meter.attach(db.client);
    const input = { TableName: TABLE, Key: key('a', '1'), ConsistentRead: true };
    const out = await db.client.send(new GetItemCommand(input));
    detach();
    expect(input).not.toHaveProperty('ReturnConsumedCapacity');
    expect(out.ConsumedCapacity?.CapacityUnits).toBe(2);
    expect(meter.totals().rru).toBe(2);
  });
});
