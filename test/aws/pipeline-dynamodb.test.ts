/**
 * The pipeline's DynamoDB pieces on DynamoDB Local: the notification ledger (one Slack post per
 * transition, RELIABILITY.md 24), scan claims (one scan of concurrent deliveries; a killed worker's
 * lease lapses, case 27), and the verdict stream decoded from real stream records of the verdict store.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { NotificationLedgerError } from '../../lib/notify/errors';
import { DynamoNotificationLedger } from '../../lib/aws/notification-ledger';
import { DynamoScanClaims } from '../../lib/aws/scan-claims';
import { verdictChangeOf, verdictOfStreamImage } from '../../lib/aws/verdict-stream';
import { DynamoVerdictStore, tableDefinition } from '../../lib/aws/verdict-store';
import { InvalidPipelineMessageError } from '../../lib/engine/pipeline/errors';
import type { Digest } from '../../lib/engine/model';
import type { VerdictEvaluation } from '../../lib/engine/verdicts/port';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { StreamTail } from '../engine/pipeline/helpers/streams';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const TABLE = 'pipeline-verdicts';
const db = useDynamoDbLocal({ tables: [tableDefinition(TABLE)] });

describe('DynamoNotificationLedger', () => {
  it('of 8 concurrent claims of one key exactly one wins; release frees it; other keys are independent', async () => {
    const ledger = new DynamoNotificationLedger({ client: db.client, tableName: TABLE });
    const key = `new-quarantine:sha256:${'a'.repeat(64)}:1.2`;
    const wins = await Promise.all(Array.from({ length: 8 }, () => ledger.claim(key)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await ledger.claim(`${key}x`)).toBe(true);
    await ledger.release(key);
    expect(await ledger.claim(key)).toBe(true);
    expect(await ledger.claim(key)).toBe(false);
  });

  it('a table that is not there is an error of the ledger (the notifier reports it), never a "first claim"', async () => {
    const ledger = new DynamoNotificationLedger({ client: db.client, tableName: 'no-such-table' });
    await expect(ledger.claim('k')).rejects.toBeInstanceOf(NotificationLedgerError);
  });
});

describe('DynamoScanClaims', () => {
  it.each([
    ['a held lease refuses others', 0, false],
    ['a lapsed lease (its worker was killed) is taken over', 61_000, true],
  ])('%s', async (_n, later, second) => {
    let now = Date.parse('2026-11-28T00:00:00Z');
    const key = `scan:sha256:${String(later).padStart(64, '0')}`;
    const a = new DynamoScanClaims({ client: db.client, tableName: TABLE, now: () => now });
    const b = new DynamoScanClaims({ client: db.client, tableName: TABLE, now: () => now });
    expect(await a.claim(key, 60_000)).toBe(true);
    now += later;
    expect(await b.claim(key, 60_000)).toBe(second);
  });

  it('release gives up only the caller\'s own lease', async () => {
    const key = `scan:sha256:${'c'.repeat(64)}`;
    const a = new DynamoScanClaims({ client: db.client, tableName: TABLE });
    const b = new DynamoScanClaims({ client: db.client, tableName: TABLE });
    expect(await a.claim(key, 60_000)).toBe(true);
    await b.release(key);
    expect(await b.claim(key, 60_000)).toBe(false);
    await a.release(key);
    expect(await b.claim(key, 60_000)).toBe(true);
  });
});

describe('verdict stream records (real NEW_AND_OLD_IMAGES records of the verdict store)', () => {
  const digest = `sha256:${'d'.repeat(64)}` as Digest;
  const evaluation = (status: 'trusted' | 'quarantined', evaluatedAt: string): VerdictEvaluation => ({
    digest, ref: `123456789012.dkr.ecr.us-west-2.amazonaws.com/team/app@${digest}`, status, reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
    policyHash: 'sha256:p', feedRevision: '2026-11-20T00:00:00Z', plugins: ['osv-matcher@1.0.0'], evaluatedAt,
  });

  it('INSERT then MODIFY of the VERDICT item decode to the verdicts the store wrote; other items are not verdicts', async () => {
    const tail = new StreamTail(db.client, db.server.endpoint, TABLE);
    await tail.next();
    const store = new DynamoVerdictStore({ client: db.client, tableName: TABLE });
    await store.put(evaluation('trusted', '2026-11-20T01:00:00Z'));
    await store.put(evaluation('quarantined', '2026-11-20T02:00:00Z'));
    const records = await tail.next();
    const changes = records.map((r) => verdictChangeOf(r.dynamodb?.OldImage, r.dynamodb?.NewImage)).filter((c) => c !== undefined);
    expect(changes.map((c) => [c!.previous?.status, c!.next.status, c!.next.revision])).toEqual([[undefined, 'trusted', 1], ['trusted', 'quarantined', 2]]);
    expect(changes[1]!.next).toEqual(await store.get(digest));
    // History, digest list and package index items pass by.
    expect(records.filter((r) => verdictOfStreamImage(r.dynamodb?.NewImage) === undefined).length).toBeGreaterThan(0);
    tail.destroy();
  });

  it.each([
    ['a body that is not gzip', { pk: { S: `DIGEST#${digest}` }, sk: { S: 'VERDICT' }, body: { B: Buffer.from('not gzip').toString('base64') } }],
    ['no body', { pk: { S: `DIGEST#${digest}` }, sk: { S: 'VERDICT' } }],
    ['a key without a digest', { pk: { S: 'DIGEST#../x' }, sk: { S: 'VERDICT' }, body: { B: '' } }],
  ])('a verdict item with %s is refused (the record fails; it is never read as "no verdict")', (_n, image) => {
    expect(() => verdictOfStreamImage(image)).toThrow(InvalidPipelineMessageError);
  });

  it('a verdict whose body belongs to another digest is refused', async () => {
    const store = new DynamoVerdictStore({ client: db.client, tableName: TABLE });
    await store.put(evaluation('trusted', '2026-11-21T01:00:00Z'));
    const tail = new StreamTail(db.client, db.server.endpoint, TABLE);
    await tail.next();
    const other = `sha256:${'e'.repeat(64)}`;
    // Copy the real item under another digest's key: the body no longer matches its key.
    const real = (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `DIGEST#${digest}` }, sk: { S: 'VERDICT' } } }))).Item!;
    await db.client.send(new PutItemCommand({ TableName: TABLE, Item: { ...real, pk: { S: `DIGEST#${other}` } } }));
    const [rec] = await tail.next();
    expect(() => verdictOfStreamImage(rec.dynamodb?.NewImage)).toThrow(/belongs to/);
    tail.destroy();
  });
});
