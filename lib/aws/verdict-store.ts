import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type CreateTableInput,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { TrustError } from '../engine/errors';
import { A_PK, A_SK, MAX_ITEM_BYTES, MAX_PARTITION_KEY_BYTES, backoff, forEachLimit, itemKey as key, pkSkTable, querySortKeys } from './dynamodb-table';
export { MAX_ITEM_BYTES } from './dynamodb-table';
import { isDigest, parseDigest, type Digest } from '../engine/model';
import { checkInventory, decodeInventory, encodeInventory } from '../engine/verdicts/codec';
import { VerdictStoreCorruptError } from '../engine/verdicts/errors';
import { checkEvaluation, checkHistoryLimit, decideWrite, evaluationKey, parseStoredVerdict, withRevision } from '../engine/verdicts/order';
import type { PutVerdictOptions, PutVerdictResult, StoredInventory, StoredVerdict, VerdictEvaluation, VerdictHistoryOptions, VerdictStore } from '../engine/verdicts/port';
import { SIGHTING_INTERVAL_MS, type SightingReader, type SightingWriter } from '../engine/verdicts/sightings';


/** Compressed inventory bytes per chunk item: the item limit less room for keys and names. */
export const INVENTORY_CHUNK_BYTES = 384 * 1024;
/** Shards of the digest list. Changing it on a live table hides digests listed under dropped shards. */
const DIGEST_LIST_SHARDS = 16;
/** BatchWriteItem takes at most 25 requests (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html). */
const BATCH_WRITE_ITEMS = 25;
const REVISION_DIGITS = 10;

const A_REV = 'rev';
const A_FEED_REV = 'feedRev';
const A_EVAL_AT = 'evalAt';
const A_BODY = 'body';
/** The digest list item's last admission sighting (N: ms since the epoch; lib/engine/verdicts/sightings.ts). */
export const A_LAST_SEEN = 'lastSeenAt';
const SK_VERDICT = 'VERDICT';
const SK_INVENTORY = 'INV';
/**
 * The verdict table's TTL attribute (epoch seconds; the CDK stack's `timeToLiveAttribute`, shared with
 * scan claims and the notification ledger). Only nightly history items carry it — never a current verdict.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html
 */
export const VERDICT_TTL_ATTRIBUTE = 'expiresAt';
/** Default retention of nightly re-evaluation history items (issue 15 item 10: they never expired). */
export const DEFAULT_NIGHTLY_HISTORY_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

type Item = Record<string, AttributeValue>;

/**
 * The verdict table the store needs: string `pk` + `sk`, on-demand capacity (scans follow pushes;
 * nothing to provision for), and a stream with old and new images for the fan-out. The CDK stack
 * declares the same. Every item of the store lives in it:
 *
 * | item | pk | sk | other attributes |
 * |---|---|---|---|
 * | current verdict (one per digest) | `DIGEST#<digest>` | `VERDICT` | `rev` (N), `feedRev` (N: `feedRevision` in ns since the epoch), `evalAt` (N: `evaluatedAt` in ns), `status`, `feedRevision`, `evaluatedAt` (S, as given), `body` (B: gzip of the StoredVerdict's JSON) |
 * | history (one per written revision) | `DIGEST#<digest>` | `HIST#<revision, 10 digits>` | as the current verdict; never changed; a nightly re-evaluation's also `expiresAt` (N, epoch s: TTL) |
 * | inventory head | `DIGEST#<digest>` | `INV` | `gen` (S), `chunks` (N), `bytes` (N), `sha256` (S: of the compressed bytes) |
 * | inventory chunk | `DIGEST#<digest>` | `INV#<gen>#<n, 4 digits>` | `body` (B: ≤ 384 KiB of the gzip of the inventory's JSON) |
 * | package index | `PKG#<package key>` | `DIGEST#<digest>` | — |
 * | digest list shard | `DIGESTS#<0..15>` | `DIGEST#<digest>` | `lastSeenAt` (N, ms since the epoch: the last admission sighting, at most one write a day) |
 *
 * Package keys are lib/engine/verdicts/keys.ts's JSON arrays (`PKG#["Debian:12","openssl"]`), at most
 * 2048 bytes with the prefix (DynamoDB's partition key limit).
 *
 * Access patterns:
 * - `get(d)`: GetItem `(DIGEST#d, VERDICT)`, strongly consistent.
 * - `put(v)`: GetItem the current verdict, decide (older / same → nothing), then one TransactWriteItems:
 *   Put `VERDICT` on condition `attribute_not_exists(pk)` (first verdict) or
 *   `rev = :read AND (feedRev < :f OR (feedRev = :f AND evalAt < :e))` (nobody wrote since the read,
 *   and the new evaluation is newer — checked by DynamoDB itself), Put `HIST#<rev>` on
 *   `attribute_not_exists(pk)`, and for revision 1 Put the digest's list item. A failed condition means
 *   another writer got there first: read again and decide again (RELIABILITY.md 29–30).
 * - `history(d, {limit})`: Query `pk = DIGEST#d AND begins_with(sk, "HIST#")`, ScanIndexForward false.
 * - `putInventory(d)`: Put the chunks under a fresh `gen`, then Put `INV` on condition that its `gen` is
 *   still the one read (or that there is none), then Delete the replaced generation's chunks.
 * - `getInventory(d)`: GetItem `INV`, GetItem its chunks, check the sha256; a chunk deleted by a
 *   concurrent replacement makes it read the head again.
 * - `indexPackages(d, keys)`: BatchWriteItem Puts of `(PKG#key, DIGEST#d)` (idempotent, no condition).
 * - `digestsForPackage(key)`: Query `pk = PKG#key`.
 * - `listDigests()`: Query each `DIGESTS#<n>` partition (16 shards so the first verdicts of a burst of
 *   pushes do not all write one partition).
 * - `recordSighting(d, at)`: UpdateItem of the list item on condition `attribute_exists(pk) AND
 *   (attribute_not_exists(lastSeenAt) OR lastSeenAt < :at − 1 day)`: at most one write per digest
 *   per day, never an item for a digest without a verdict. The stream carries it, but the fan-out's
 *   filter (`sk = VERDICT`) drops it before any invocation.
 * - `seenSince(t)`: Query each list shard with the filter `lastSeenAt >= :t` (the same reads as `listDigests`).
 *
 * The table's stream (NEW_AND_OLD_IMAGES) drives the fan-out: records with `sk = VERDICT` whose old and
 * new `status` differ are the transitions to tag and notify.
 */
export function tableDefinition(tableName: string): CreateTableInput {
  return pkSkTable(tableName, { stream: true });
}

/** A verdict or a package key that does not fit in DynamoDB even compressed. Nothing was written. */
export class VerdictTooLargeError extends TrustError {
  constructor(message: string) {
    super('VERDICT_TOO_LARGE', message);
  }
}

/** DynamoDB failed or kept refusing; `cause` holds the SDK error. Never read as "no verdict". */
export class DynamoVerdictStoreError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERDICT_STORE_ERROR', message, options);
  }
}

/** Options of {@link DynamoVerdictStore}. */
export interface DynamoVerdictStoreOptions {
  /** The client; throttling and 5xx are retried by the SDK (`maxAttempts`). */
  readonly client: DynamoDBClient;
  /** The table, created as {@link tableDefinition} says. */
  readonly tableName: string;
  /** Requests in flight per call (chunks, index batches, list shards). Default 8. */
  readonly concurrency?: number;
  /**
   * Retries of work DynamoDB hands back (lost conditional races, transaction conflicts, unprocessed
   * batch items), with full-jitter exponential backoff. Defaults: 10 attempts, 20 ms base, 2 s cap.
   */
  readonly retry?: { readonly maxAttempts?: number; readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * How long a history item written by a nightly re-evaluation ({@link PutVerdictOptions.trigger}
   * `'nightly'`) is kept: it gets `expiresAt` = write time + this, and DynamoDB TTL deletes it after
   * (typically within days). Every other history item, and every current verdict, never expires.
   * Default {@link DEFAULT_NIGHTLY_HISTORY_RETENTION_MS} (90 days).
   */
  readonly nightlyHistoryRetentionMs?: number;
  /** The clock, for `expiresAt`. Default Date.now. */
  readonly now?: () => number;
}


const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const digestPk = (d: Digest): string => `DIGEST#${d}`;
const historySk = (revision: number): string => `HIST#${String(revision).padStart(REVISION_DIGITS, '0')}`;
const chunkSk = (gen: string, n: number): string => `INV#${gen}#${String(n).padStart(4, '0')}`;

/** The digest-list shard of a digest (FNV-1a): stable, so a digest is always listed in the same one. */
function shardOf(d: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d.charCodeAt(i), 0x01000193);
  return (h >>> 0) % DIGEST_LIST_SHARDS;
}

/** An item's size as DynamoDB counts it (names plus values; numbers by their text, an overestimate). */
export function itemBytes(item: Item): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) {
    n += bytes(name);
    if (v.S !== undefined) n += bytes(v.S);
    else if (v.B !== undefined) n += v.B.byteLength;
    else if (v.N !== undefined) n += v.N.length;
    else n += bytes(JSON.stringify(v));
  }
  return n;
}

const errorName = (err: unknown): string | undefined => (err as { name?: string } | null)?.name;
const isConditionFailure = (err: unknown): boolean => err instanceof ConditionalCheckFailedException || errorName(err) === 'ConditionalCheckFailedException';
const isConflict = (err: unknown): boolean => err instanceof TransactionConflictException || errorName(err) === 'TransactionConflictException';

/** The item of a verdict, current (`sk` VERDICT) or history (`sk` HIST#…). */
function verdictItem(v: StoredVerdict, sk: string): Item {
  const k = evaluationKey(v);
  return {
    ...key(digestPk(v.digest), sk),
    [A_REV]: { N: String(v.revision) },
    [A_FEED_REV]: { N: String(k.feed) },
    [A_EVAL_AT]: { N: String(k.at) },
    status: { S: v.status },
    feedRevision: { S: v.feedRevision },
    evaluatedAt: { S: v.evaluatedAt },
    [A_BODY]: { B: gzipSync(JSON.stringify(v)) },
  };
}

/** A verdict item back to the StoredVerdict it holds; throws VerdictStoreCorruptError for anything else. */
function fromItem(item: Item, d: Digest): StoredVerdict {
  const body = item[A_BODY]?.B;
  let value: unknown;
  try {
    if (!body) throw new Error('no body attribute');
    value = JSON.parse(gunzipSync(body, { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8'));
  } catch (err) {
    throw new VerdictStoreCorruptError(`stored verdict item ${item[A_SK]?.S} of ${d} cannot be decoded`, { cause: err });
  }
  const v = parseStoredVerdict(value, d);
  if (item[A_REV]?.N !== String(v.revision)) throw new VerdictStoreCorruptError(`stored verdict item ${item[A_SK]?.S} of ${d}: rev ${item[A_REV]?.N} but body revision ${v.revision}`);
  return v;
}

/** Our own errors pass through; anything else (SDK, network) becomes a {@link DynamoVerdictStoreError} with the cause. */
function wrap(err: unknown, what: string): Error {
  if (err instanceof TrustError) return err;
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new DynamoVerdictStoreError(`DynamoDB verdict store: ${what} failed (${detail})`, { cause: err });
}

/**
 * The {@link VerdictStore} of the pipeline on one DynamoDB table (keys and access patterns in
 * {@link tableDefinition}). Every read is strongly consistent: a decision is never taken on a
 * verdict older than the last one written. Every write is conditional or idempotent, so handlers may
 * run twice and race each other (DESIGN.md "Idempotent at least once"; RELIABILITY.md 27, 29, 30).
 */
export class DynamoVerdictStore implements VerdictStore, SightingWriter, SightingReader {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly nightlyHistoryRetentionMs: number;
  private readonly now: () => number;

  constructor(opts: DynamoVerdictStoreOptions) {
    this.client = opts.client;
    this.table = opts.tableName;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 10);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 20;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 2000;
    const retention = opts.nightlyHistoryRetentionMs ?? DEFAULT_NIGHTLY_HISTORY_RETENTION_MS;
    if (!Number.isSafeInteger(retention) || retention <= 0) throw new RangeError(`nightlyHistoryRetentionMs must be a positive integer, got ${retention}`);
    this.nightlyHistoryRetentionMs = retention;
    this.now = opts.now ?? Date.now;
  }

  /** The current verdict of `digest`, or undefined. */
  async get(digest: Digest): Promise<StoredVerdict | undefined> {
    const d = parseDigest(digest);
    try {
      return await this.readCurrent(d);
    } catch (err) {
      throw wrap(err, `get(${d})`);
    }
  }

  /**
   * Stores `evaluation` unless the stored verdict is newer or the same evaluation: read, decide,
   * conditional transaction; a lost race reads again and decides again.
   */
  async put(evaluation: VerdictEvaluation, options: PutVerdictOptions = {}): Promise<PutVerdictResult> {
    const e = checkEvaluation(evaluation);
    try {
      for (let attempt = 0; ; attempt++) {
        const stored = await this.readCurrent(e.digest);
        const decision = decideWrite(stored, e);
        if (decision === 'older' || decision === 'same') return { written: false, current: stored! };
        const next = withRevision(e, (stored?.revision ?? 0) + 1);
        const outcome = await this.write(next, stored, options.trigger === 'nightly');
        if (outcome === 'written') return { written: true, revision: next.revision, current: next };
        if (attempt + 1 >= this.maxAttempts) throw new DynamoVerdictStoreError(`verdict of ${e.digest}: still changing under us after ${this.maxAttempts} attempts`);
        await this.backoff(attempt);
      }
    } catch (err) {
      throw wrap(err, `put(${e.digest})`);
    }
  }

  /** Written revisions of `digest`, newest first (one Query, paged). */
  async history(digest: Digest, options: VerdictHistoryOptions = {}): Promise<readonly StoredVerdict[]> {
    const d = parseDigest(digest);
    const limit = checkHistoryLimit(options.limit);
    try {
      const out: StoredVerdict[] = [];
      let start: Item | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :h)',
            ExpressionAttributeNames: { '#pk': A_PK, '#sk': A_SK },
            ExpressionAttributeValues: { ':pk': { S: digestPk(d) }, ':h': { S: 'HIST#' } },
            ScanIndexForward: false,
            ConsistentRead: true,
            ...(limit !== undefined ? { Limit: limit - out.length } : {}),
            ExclusiveStartKey: start,
          }),
        );
        for (const it of page.Items ?? []) out.push(fromItem(it, d));
        start = page.LastEvaluatedKey;
      } while (start && (limit === undefined || out.length < limit));
      return out;
    } catch (err) {
      throw wrap(err, `history(${d})`);
    }
  }

  /**
   * Replaces the inventory of `digest`: gzip, split into chunk items of at most
   * {@link INVENTORY_CHUNK_BYTES}, written under a fresh generation before the head item switches to it.
   */
  async putInventory(digest: Digest, inventory: StoredInventory): Promise<void> {
    const d = parseDigest(digest);
    checkInventory(inventory);
    const body = encodeInventory(inventory);
    const gen = randomBytes(6).toString('hex');
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length || chunks.length === 0; i += INVENTORY_CHUNK_BYTES) chunks.push(body.subarray(i, i + INVENTORY_CHUNK_BYTES));
    const head: Item = {
      ...key(digestPk(d), SK_INVENTORY),
      gen: { S: gen },
      chunks: { N: String(chunks.length) },
      bytes: { N: String(body.length) },
      sha256: { S: createHash('sha256').update(body).digest('hex') },
    };
    try {
      await forEachLimit(chunks, this.concurrency, async (chunk, n) => {
        await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...key(digestPk(d), chunkSk(gen, n)), [A_BODY]: { B: chunk } } }));
      });
      for (let attempt = 0; ; attempt++) {
        const old = await this.readInventoryHead(d);
        try {
          await this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: head,
              ConditionExpression: old ? '#gen = :gen' : 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: old ? { '#gen': 'gen' } : { '#pk': A_PK },
              ...(old ? { ExpressionAttributeValues: { ':gen': { S: old.gen } } } : {}),
            }),
          );
        } catch (err) {
          if (!isConditionFailure(err) && !isConflict(err)) throw err;
          // Another writer replaced the inventory since our read: read again, replace theirs.
          if (attempt + 1 >= this.maxAttempts) throw new DynamoVerdictStoreError(`inventory of ${d}: still changing under us after ${this.maxAttempts} attempts`);
          await this.backoff(attempt);
          continue;
        }
        // The generation we replaced is ours to delete (a reader still on it reads the head again).
        if (old) {
          await forEachLimit(Array.from({ length: old.chunks }, (_, n) => n), this.concurrency, async (n) => {
            await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: key(digestPk(d), chunkSk(old.gen, n)) }));
          });
        }
        return;
      }
    } catch (err) {
      throw wrap(err, `putInventory(${d})`);
    }
  }

  /** The stored inventory of `digest`, or undefined; its chunks are checked against the head's sha256. */
  async getInventory(digest: Digest): Promise<StoredInventory | undefined> {
    const d = parseDigest(digest);
    try {
      for (let attempt = 0; ; attempt++) {
        const head = await this.readInventoryHead(d);
        if (!head) return undefined;
        const parts: (Uint8Array | undefined)[] = Array.from({ length: head.chunks }, () => undefined);
        await forEachLimit(Array.from({ length: head.chunks }, (_, n) => n), this.concurrency, async (n) => {
          const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: key(digestPk(d), chunkSk(head.gen, n)), ConsistentRead: true }));
          parts[n] = out.Item?.[A_BODY]?.B;
        });
        if (parts.some((p) => p === undefined)) {
          // Replaced (and its chunks deleted) while we read: the head has moved on. Else it is damage.
          const now = await this.readInventoryHead(d);
          if (now?.gen !== head.gen && attempt + 1 < this.maxAttempts) continue;
          throw new VerdictStoreCorruptError(`inventory of ${d}: chunk(s) of generation ${head.gen} missing`);
        }
        const body = Buffer.concat(parts as Uint8Array[]);
        if (body.length !== head.bytes || createHash('sha256').update(body).digest('hex') !== head.sha256) {
          throw new VerdictStoreCorruptError(`inventory of ${d}: chunks of generation ${head.gen} do not match the head's size and sha256`);
        }
        return decodeInventory(body, d);
      }
    } catch (err) {
      throw wrap(err, `getInventory(${d})`);
    }
  }

  /** Puts `(PKG#key, DIGEST#digest)` for every key (BatchWriteItem, unprocessed items retried). */
  async indexPackages(digest: Digest, packageKeys: readonly string[]): Promise<void> {
    const d = parseDigest(digest);
    const keys = [...new Set(packageKeys)].sort();
    for (const k of keys) {
      if (typeof k !== 'string') throw new TypeError('package keys must be strings');
      if (bytes(`PKG#${k}`) > MAX_PARTITION_KEY_BYTES) throw new VerdictTooLargeError(`package key ${k.slice(0, 80)}… is over DynamoDB's ${MAX_PARTITION_KEY_BYTES}-byte partition key limit`);
    }
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_WRITE_ITEMS) {
      batches.push(keys.slice(i, i + BATCH_WRITE_ITEMS).map((k) => ({ PutRequest: { Item: key(`PKG#${k}`, digestPk(d)) } })));
    }
    try {
      await forEachLimit(batches, this.concurrency, (batch) => this.batchWrite(batch));
    } catch (err) {
      throw wrap(err, `indexPackages(${d})`);
    }
  }

  /** Digests indexed under `packageKey`, sorted (the sort key order). */
  async digestsForPackage(packageKey: string): Promise<readonly Digest[]> {
    if (bytes(`PKG#${packageKey}`) > MAX_PARTITION_KEY_BYTES) return [];
    try {
      return await this.queryDigests(`PKG#${packageKey}`);
    } catch (err) {
      throw wrap(err, 'digestsForPackage');
    }
  }

  /** Every digest with a verdict, sorted: one Query per list shard. */
  async listDigests(): Promise<readonly Digest[]> {
    try {
      const all: Digest[] = [];
      await forEachLimit(Array.from({ length: DIGEST_LIST_SHARDS }, (_, i) => i), this.concurrency, async (shard) => {
        all.push(...(await this.queryDigests(`DIGESTS#${shard}`)));
      });
      return all.sort();
    } catch (err) {
      throw wrap(err, 'listDigests');
    }
  }

  /**
   * Records an admission sighting of `digest` on its list item (see {@link tableDefinition}): one
   * conditional UpdateItem, false when the condition failed (seen within `intervalMs`, or no verdict).
   */
  async recordSighting(digest: Digest, at: Date, intervalMs: number = SIGHTING_INTERVAL_MS): Promise<boolean> {
    const d = parseDigest(digest);
    const ms = at.getTime();
    if (!Number.isFinite(ms)) throw new RangeError('recordSighting: invalid time');
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.table,
        Key: key(`DIGESTS#${shardOf(d)}`, digestPk(d)),
        UpdateExpression: 'SET #seen = :at',
        ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#seen) OR #seen < :before)',
        ExpressionAttributeNames: { '#pk': A_PK, '#seen': A_LAST_SEEN },
        ExpressionAttributeValues: { ':at': { N: String(ms) }, ':before': { N: String(ms - intervalMs) } },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw wrap(err, `recordSighting(${d})`);
    }
  }

  /** Digests seen at admission at or after `since`: one filtered Query per list shard (eventually consistent: a sighting is no decision). */
  async seenSince(since: Date): Promise<ReadonlyMap<Digest, Date>> {
    const out = new Map<Digest, Date>();
    try {
      await forEachLimit(Array.from({ length: DIGEST_LIST_SHARDS }, (_, i) => i), this.concurrency, async (shard) => {
        let start: Item | undefined;
        do {
          const page = await this.client.send(new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: '#pk = :pk',
            FilterExpression: '#seen >= :since',
            ProjectionExpression: '#sk, #seen',
            ExpressionAttributeNames: { '#pk': A_PK, '#sk': A_SK, '#seen': A_LAST_SEEN },
            ExpressionAttributeValues: { ':pk': { S: `DIGESTS#${shard}` }, ':since': { N: String(since.getTime()) } },
            ExclusiveStartKey: start,
          }));
          for (const it of page.Items ?? []) {
            const d = it[A_SK]?.S?.slice('DIGEST#'.length);
            const seen = Number(it[A_LAST_SEEN]?.N);
            if (d !== undefined && isDigest(d) && Number.isFinite(seen)) out.set(d, new Date(seen));
          }
          start = page.LastEvaluatedKey;
        } while (start);
      });
      return out;
    } catch (err) {
      throw wrap(err, 'seenSince');
    }
  }

  // ---- internals -----------------------------------------------------------------------------------

  private async readCurrent(d: Digest): Promise<StoredVerdict | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: key(digestPk(d), SK_VERDICT), ConsistentRead: true }));
    return out.Item ? fromItem(out.Item, d) : undefined;
  }

  /**
   * One conditional transaction: the current item (replacing exactly `stored`, and only with a newer
   * evaluation), the history item, and the list item for a first verdict. `lost` when another writer
   * changed the verdict since it was read.
   */
  private async write(next: StoredVerdict, stored: StoredVerdict | undefined, expireHistory: boolean): Promise<'written' | 'lost'> {
    const current = verdictItem(next, SK_VERDICT);
    const size = itemBytes(current);
    if (size > MAX_ITEM_BYTES) throw new VerdictTooLargeError(`verdict of ${next.digest} is ${size} bytes after gzip, over DynamoDB's ${MAX_ITEM_BYTES}`);
    const k = evaluationKey(next);
    const items: NonNullable<TransactWriteItemsCommand['input']['TransactItems']> = [
      {
        Put: {
          TableName: this.table,
          Item: current,
          ...(stored
            ? {
                ConditionExpression: '#rev = :rev AND (#f < :f OR (#f = :f AND #e < :e))',
                ExpressionAttributeNames: { '#rev': A_REV, '#f': A_FEED_REV, '#e': A_EVAL_AT },
                ExpressionAttributeValues: { ':rev': { N: String(stored.revision) }, ':f': { N: String(k.feed) }, ':e': { N: String(k.at) } },
              }
            : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': A_PK } }),
        },
      },
      {
        Put: {
          TableName: this.table,
          // Nightly history items expire (they would otherwise grow by one per live digest per night); the current verdict never does.
          Item: { ...current, [A_SK]: { S: historySk(next.revision) }, ...(expireHistory ? { [VERDICT_TTL_ATTRIBUTE]: { N: String(Math.floor((this.now() + this.nightlyHistoryRetentionMs) / 1000)) } } : {}) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': A_PK },
        },
      },
    ];
    if (!stored) items.push({ Put: { TableName: this.table, Item: key(`DIGESTS#${shardOf(next.digest)}`, digestPk(next.digest)) } });
    try {
      // The token makes the SDK's own retries of this call idempotent (TransactWriteItems API reference).
      await this.client.send(new TransactWriteItemsCommand({ ClientRequestToken: randomUUID(), TransactItems: items }));
      return 'written';
    } catch (err) {
      if (isConflict(err)) return 'lost';
      if (!(err instanceof TransactionCanceledException) && errorName(err) !== 'TransactionCanceledException') throw err;
      const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'lost';
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        throw new VerdictStoreCorruptError(`verdict of ${next.digest}: history item ${historySk(next.revision)} exists but the current verdict is revision ${stored?.revision ?? 'none'}`);
      }
      if (reasons.some((r) => r.Code === 'TransactionConflict')) return 'lost';
      throw err;
    }
  }

  private async readInventoryHead(d: Digest): Promise<{ gen: string; chunks: number; bytes: number; sha256: string } | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: key(digestPk(d), SK_INVENTORY), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const gen = out.Item.gen?.S;
    const chunks = Number(out.Item.chunks?.N);
    const size = Number(out.Item.bytes?.N);
    const sha256 = out.Item.sha256?.S;
    if (!gen || !Number.isSafeInteger(chunks) || chunks < 1 || !Number.isSafeInteger(size) || !sha256) {
      throw new VerdictStoreCorruptError(`inventory head of ${d} is not valid`);
    }
    return { gen, chunks, bytes: size, sha256 };
  }

  /** Digests from the sort keys (`DIGEST#…`) of one partition, every page. */
  private async queryDigests(pk: string): Promise<Digest[]> {
    return (await querySortKeys(this.client, this.table, pk)).map((sk) => sk.slice('DIGEST#'.length)).filter(isDigest);
  }

  /** One BatchWriteItem, re-sending `UnprocessedItems` with backoff until done or `maxAttempts` rounds without progress. */
  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    let stalled = 0;
    for (;;) {
      const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } }));
      const rest = out.UnprocessedItems?.[this.table] ?? [];
      if (rest.length === 0) return;
      stalled = rest.length < pending.length ? 0 : stalled + 1;
      if (stalled >= this.maxAttempts) throw new DynamoVerdictStoreError(`BatchWriteItem left ${rest.length} item(s) unprocessed after ${stalled} attempts without progress`);
      await this.backoff(stalled);
      pending = rest;
    }
  }

  private backoff(attempt: number): Promise<void> {
    return backoff(attempt, this.baseDelayMs, this.maxDelayMs);
  }
}
