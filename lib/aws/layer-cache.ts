/**
 * The engine's {@link LayerCache} port on DynamoDB: per-layer inventories shared by every scan-worker,
 * so an image that shares layers with one scanned before downloads only its new layers (DESIGN.md
 * "The data's way", step 2). The CLI's counterpart is lib/local/layer-cache.ts (files).
 *
 * | item | pk | sk | attributes |
 * |---|---|---|---|
 * | head | `LAYER#<cache key>` | `HEAD` | `chunks` (N), `bytes` (N), `sha256` (S), `expiresAt` (N, epoch s: the table's TTL attribute) |
 * | chunk | `LAYER#<cache key>` | `CHUNK#<n, 4 digits>` | `body` (B: ≤ 384 KiB of the gzip of the record's JSON), `expiresAt` |
 *
 * A cache key names the layer digest, the plug-ins and the limits (scan-image.ts `layerCacheKey`),
 * so a record never changes once written: chunks are put first and the head last, a reader that
 * finds the head finds its chunks, and two workers caching the same layer write the same bytes.
 * Anything unreadable — a missing chunk, a wrong sha256, a body that does not parse — is a miss
 * (the layer is read again), never an error and never a wrong inventory. Records expire through
 * DynamoDB TTL (`expiresAt`, default 30 days after the last write), so layers of deleted images do
 * not stay for ever.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CachedLayer, LayerCache } from '../engine/ports';
import { forEachLimit, itemKey, MAX_PARTITION_KEY_BYTES } from './dynamodb-table';
import { INVENTORY_CHUNK_BYTES } from './verdict-store';

/** Options of {@link DynamoLayerCache}. */
export interface DynamoLayerCacheOptions {
  /** Days after a write before DynamoDB TTL may drop the record. Default 30. */
  readonly ttlDays?: number;
  /** Requests in flight per call. Default 8. */
  readonly concurrency?: number;
  /** Decompressed bytes a record may have (a corrupt or hostile item cannot exhaust memory). Default 256 MiB. */
  readonly maxRecordBytes?: number;
  /** The clock, for `expiresAt`. */
  readonly now?: () => number;
}

/** The TTL attribute name the table must enable (CDK: `timeToLiveAttribute`). */
export const LAYER_CACHE_TTL_ATTRIBUTE = 'expiresAt';

const chunkSk = (n: number): string => `CHUNK#${String(n).padStart(4, '0')}`;

/** Layer records in a pk/sk table (the verdict table or one of its own). */
export class DynamoLayerCache implements LayerCache {
  private readonly ttlSeconds: number;
  private readonly concurrency: number;
  private readonly maxRecordBytes: number;
  private readonly now: () => number;

  constructor(private readonly client: DynamoDBClient, private readonly table: string, options: DynamoLayerCacheOptions = {}) {
    this.ttlSeconds = Math.round((options.ttlDays ?? 30) * 86_400);
    this.concurrency = options.concurrency ?? 8;
    this.maxRecordBytes = options.maxRecordBytes ?? 256 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  private pk(key: string): string | undefined {
    const pk = `LAYER#${key}`;
    // A key too long for a partition key cannot be stored: treat it as uncacheable (a miss), not an error.
    return Buffer.byteLength(pk) <= MAX_PARTITION_KEY_BYTES ? pk : undefined;
  }

  /** The record under `key`, or undefined (never stored, expired, or unreadable). */
  async get(key: string): Promise<CachedLayer | undefined> {
    const pk = this.pk(key);
    if (!pk) return undefined;
    const head = (await this.client.send(new GetItemCommand({ TableName: this.table, Key: itemKey(pk, 'HEAD') }))).Item;
    const chunks = Number(head?.chunks?.N);
    const bytes = Number(head?.bytes?.N);
    const sha256 = head?.sha256?.S;
    if (!head || !Number.isSafeInteger(chunks) || chunks < 1 || !Number.isSafeInteger(bytes) || !sha256) return undefined;
    const parts: (Uint8Array | undefined)[] = Array.from({ length: chunks }, () => undefined);
    await forEachLimit(parts.map((_, n) => n), this.concurrency, async (n) => {
      parts[n] = (await this.client.send(new GetItemCommand({ TableName: this.table, Key: itemKey(pk, chunkSk(n)) }))).Item?.body?.B;
    });
    if (parts.some((p) => p === undefined)) return undefined;
    const body = Buffer.concat(parts as Uint8Array[]);
    if (body.length !== bytes || createHash('sha256').update(body).digest('hex') !== sha256) return undefined;
    try {
      const doc = JSON.parse(gunzipSync(body, { maxOutputLength: this.maxRecordBytes }).toString('utf8')) as { key?: string; value?: CachedLayer };
      // The key inside the body guards against a record stored under another key by mistake.
      return doc.key === key && doc.value ? doc.value : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores the record under `key` (chunks first, the head last). */
  async put(key: string, value: CachedLayer): Promise<void> {
    const pk = this.pk(key);
    if (!pk) return;
    const body = gzipSync(JSON.stringify({ key, value }), { level: 1 });
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += INVENTORY_CHUNK_BYTES) chunks.push(body.subarray(i, i + INVENTORY_CHUNK_BYTES));
    const expiresAt = { N: String(Math.floor(this.now() / 1000) + this.ttlSeconds) };
    await forEachLimit(chunks, this.concurrency, async (chunk, n) => {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...itemKey(pk, chunkSk(n)), body: { B: chunk }, [LAYER_CACHE_TTL_ATTRIBUTE]: expiresAt } }));
    });
    await this.client.send(new PutItemCommand({
      TableName: this.table,
      Item: {
        ...itemKey(pk, 'HEAD'),
        chunks: { N: String(chunks.length) }, bytes: { N: String(body.length) },
        sha256: { S: createHash('sha256').update(body).digest('hex') }, [LAYER_CACHE_TTL_ATTRIBUTE]: expiresAt,
      },
    }));
  }
}
