/**
 * DynamoLayerCache against DynamoDB Local with the real SDK: round trips (one chunk and several),
 * every kind of damage read as a miss, the TTL attribute, and a real scan reusing its layers through it.
 */
import { randomBytes } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoLayerCache, LAYER_CACHE_TTL_ATTRIBUTE } from '../../lib/aws/layer-cache';
import { itemKey, pkSkTable } from '../../lib/aws/dynamodb-table';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import type { CachedLayer } from '../../lib/engine/ports';
import { scanImage } from '../../lib/engine/scan-image';
import { buildImage } from '../../lib/local/builder/image-builder';
import { emptyAdvisories } from '../helpers/advisories';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { MemorySource } from '../helpers/memory-source';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const table = 'layers';
const db = useDynamoDbLocal({ tables: [pkSkTable(table)] });

const record = (extra = ''): CachedLayer => ({
  record: { digest: 'sha256:' + 'a'.repeat(64), diffId: 'sha256:' + 'b'.repeat(64), entries: [] } as unknown as CachedLayer['record'],
  packages: [{ ecosystem: 'npm', name: 'left-pad', version: '1.3.0', purl: 'pkg:npm/left-pad@1.3.0', locations: [{ layer: 'sha256:' + 'a'.repeat(64), path: '/app/package-lock.json' }], cataloger: 'npm@1' } as unknown as CachedLayer['packages'][number]],
  unknowns: extra ? [{ layer: 'sha256:' + 'a'.repeat(64), path: '/big', reason: extra }] as unknown as CachedLayer['unknowns'] : [],
  findings: [],
});

describe('DynamoLayerCache', () => {
  it.each([
    ['one chunk', ''],
    // Random hex does not compress: well over INVENTORY_CHUNK_BYTES of gzip, so several chunk items.
    ['several chunks (over the 400 KB item limit)', randomBytes(700 * 1024).toString('hex')],
  ])('round trip: %s', async (_n, extra) => {
    const cache = new DynamoLayerCache(db.client, table, { now: () => Date.parse('2026-11-28T00:00:00Z') });
    const key = `sha256:${randomBytes(32).toString('hex')}/k`;
    expect(await cache.get(key)).toBeUndefined();
    await cache.put(key, record(extra));
    expect(await cache.get(key)).toEqual(record(extra));
    const head = await db.client.send(new GetItemCommand({ TableName: table, Key: itemKey(`LAYER#${key}`, 'HEAD') }));
    expect(Number(head.Item?.chunks?.N)).toBe(extra ? Math.ceil(Number(head.Item?.bytes?.N) / (384 * 1024)) : 1);
    expect(Number(head.Item?.[LAYER_CACHE_TTL_ATTRIBUTE]?.N)).toBe(Date.parse('2026-11-28T00:00:00Z') / 1000 + 30 * 86_400);
  });

  it.each([
    ['a chunk deleted (TTL, a partial write)', async (pk: string) => db.client.send(new DeleteItemCommand({ TableName: table, Key: itemKey(pk, 'CHUNK#0000') }))],
    ['a chunk with other bytes', async (pk: string) => db.client.send(new PutItemCommand({ TableName: table, Item: { ...itemKey(pk, 'CHUNK#0000'), body: { B: Buffer.from('garbage') } } }))],
    ['a head without its fields', async (pk: string) => db.client.send(new PutItemCommand({ TableName: table, Item: { ...itemKey(pk, 'HEAD'), chunks: { N: '0' } } }))],
  ])('damage is a miss, never an error or a wrong record: %s', async (_n, damage) => {
    const cache = new DynamoLayerCache(db.client, table);
    const key = `sha256:${randomBytes(32).toString('hex')}/k`;
    await cache.put(key, record());
    await damage(`LAYER#${key}`);
    expect(await cache.get(key)).toBeUndefined();
  });

  it('a record stored under another key is not handed out', async () => {
    const cache = new DynamoLayerCache(db.client, table);
    const a = `sha256:${randomBytes(32).toString('hex')}/a`;
    const b = `sha256:${randomBytes(32).toString('hex')}/b`;
    await cache.put(a, record());
    for (const sk of ['HEAD', 'CHUNK#0000']) {
      const item = (await db.client.send(new GetItemCommand({ TableName: table, Key: itemKey(`LAYER#${a}`, sk) }))).Item!;
      await db.client.send(new PutItemCommand({ TableName: table, Item: { ...item, ...itemKey(`LAYER#${b}`, sk) } }));
    }
    expect(await cache.get(b)).toBeUndefined();
  });

  it('a second scan of an image reads every layer from the DynamoDB cache', async () => {
    const cache = new DynamoLayerCache(db.client, table);
    const image = buildImage({ layers: [{ entries: [{ path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' }] }, { entries: [{ path: 'app/package-lock.json', body: JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/left-pad': { version: '1.3.0' } } }) }] }] });
    const first = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), cache });
    const second = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), cache });
    expect(first.images[0].layers.map((l) => l.cached)).toEqual([false, false]);
    expect(second.images[0].layers.map((l) => l.cached)).toEqual([true, true]);
    expect(second.images[0].packages).toEqual(first.images[0].packages);
  });
});
