import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type CreateTableInput,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { normalizePackageName } from '../engine/advisories/names';
import type { OsvRecord } from '../engine/advisories/osv';
import { TrustError } from '../engine/errors';
import { A_PK, A_SK, MAX_ITEM_BYTES, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, backoff, forEachLimit, pkSkTable, querySortKeys } from './dynamodb-table';
export { MAX_ITEM_BYTES } from './dynamodb-table';
import type { AdvisoryStore, FeedProgress, FeedState, FeedStatus } from '../engine/ports';

/*
 * Single-table design (the CDK stack mirrors {@link tableDefinition}). Every item has a string
 * partition key `pk` and a string sort key `sk`:
 *
 * | item | pk | sk | other attributes |
 * |---|---|---|---|
 * | record (one per advisory id) | `REC#<id>` | `REC` | `body` (B: gzip of the record's JSON), `modified` (S, as given), `modifiedAt` (N: the instant in ns since the epoch), `pkgs` (SS: package keys of its `affected[]`), `drop` (SS: package keys whose index items are still to be deleted) |
 * | index (one per package × id) | `PKG#["<ecosystem>","<normalised name>"]` | `ADV#<id>` | `modifiedAt` (N: the newest revision that claimed it) |
 * | feed state (one per source) | `FEED#<source>` | `FEED` | `syncedAt`, `records`, `modified`?, `fingerprint`?, `status`?, `ecosystems`? (L of S), `members`? (L of S: a snapshot source's ids), `cursor`?, `startedAt`?, `pending`?, `error`? |
 * | feed list | `FEEDS` | `FEEDS` | `sources` (SS: every source with a state) |
 * | record counter shard | `COUNT#<0..15>` | `COUNT` | `n` (N) |
 *
 * The package key is a JSON array, not `<ecosystem>#<name>`: ecosystems (`Packagist:https://…`) and
 * names (Maven `g:a`, npm `@s/n`, Go paths) may contain any separator, JSON cannot be ambiguous.
 *
 * `lookup` = Query on the package's partition (ids from the sort keys) + BatchGetItem of the records.
 * It returns a record only if that record's current `pkgs` still names the package: an index item
 * left behind by an interrupted write (below) is never an answer, an index item missing would be a
 * missed advisory — so writes order themselves so that can never happen.
 *
 * Writing one record (at least once, concurrent writers allowed — DESIGN.md "Idempotent at least once"):
 * 1. claim: put every index item of the new revision, conditionally so that `modifiedAt` only grows;
 * 2. replace the record item, conditional on the exact revision read before (optimistic concurrency;
 *    a new id is inserted in a transaction with its counter shard); the item carries in `drop` the
 *    package keys the previous revisions had and this one has not;
 * 3. delete those index items, each only if no revision newer than this one has claimed it since
 *    (a concurrent newer writer may need it), then remove `drop`.
 * Every index item of the stored revision therefore exists from before the record lands until a newer
 * revision that no longer names the package is stored. A crash after 2 leaves `drop` set; the next
 * upsert of that revision (a feed sync that did not finish is re-run) finishes the deletes and reports
 * the id as changed, since the failed call could not. A crash after 1 (or a writer that lost the race
 * to a newer revision) leaves index items of a revision never stored: `lookup` ignores them (above),
 * a later write of that revision makes them right.
 */

/**
 * BatchGetItem reads at most 100 keys and returns at most 16 MB per call; what does not fit (or is
 * throttled) comes back in `UnprocessedKeys` (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
 */
const BATCH_GET_KEYS = 100;
/**
 * Counter shards. One counter item would serialise every insert: two transactions touching the same
 * item conflict (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling).
 * Changing this number loses the counts of the dropped shards: never lower it on a live table.
 */
const COUNTER_SHARDS = 16;

const A_BODY = 'body';
const A_MODIFIED = 'modified';
const A_MODIFIED_AT = 'modifiedAt';
const A_PKGS = 'pkgs';
const A_DROP = 'drop';

/**
 * The table the store needs: string `pk` + `sk`, on-demand capacity (feed syncs are bursty, lookups
 * follow image pushes: nothing to provision for). The CDK stack (lib/infra) declares the same keys.
 */
export function tableDefinition(tableName: string): CreateTableInput {
  return pkSkTable(tableName);
}

/**
 * Records that cannot be stored because an item or key would exceed a DynamoDB limit even after
 * compression (a record with an enormous `versions` list, an absurdly long package name). The whole
 * `upsert` call is rejected before anything is written: a feed sync must stop and say so (its feed
 * state is not advanced, the feed shows as stale) rather than go on with an advisory silently missing.
 */
export class AdvisoryRecordTooLargeError extends TrustError {
  constructor(
    /** Each record that does not fit, with what exceeded which limit. */
    readonly records: readonly { readonly id: string; readonly reason: string }[],
  ) {
    super(
      'ADVISORY_RECORD_TOO_LARGE',
      `${records.length} advisory record(s) do not fit in DynamoDB: ${records.slice(0, 5).map((r) => `${r.id} (${r.reason})`).join('; ')}${records.length > 5 ? '; …' : ''}`,
    );
  }
}

/** DynamoDB failed or answered something the store cannot use; `cause` holds the SDK error. Never read as "no advisories". */
export class DynamoAdvisoryStoreError extends TrustError {
  /**
   * For a failed `upsert`: the ids whose stored record did change before the failure. The caller can
   * still re-judge them; a re-run would not report them again (they are stored by then).
   */
  readonly changed: readonly string[];
  constructor(message: string, options?: { cause?: unknown; changed?: readonly string[] }) {
    super('ADVISORY_STORE_ERROR', message, options);
    this.changed = options?.changed ?? [];
  }
}

/** Options of {@link DynamoAdvisoryStore}. */
export interface DynamoAdvisoryStoreOptions {
  /**
   * The client. Throttling and 5xx are retried by the SDK itself: give it `maxAttempts` to match the
   * load (the default of 3 gives up too early for a bulk feed sync on a throttled table).
   */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Requests in flight per call (records written in parallel, BatchGetItem pages read in parallel). Default 8. */
  readonly concurrency?: number;
  /**
   * Retries of work DynamoDB hands back (BatchGetItem `UnprocessedKeys`, transaction conflicts), with
   * exponential backoff and full jitter (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff).
   * `maxAttempts` counts rounds without progress. Defaults: 10 attempts, 50 ms base, 5 s cap.
   */
  readonly retry?: { readonly maxAttempts?: number; readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * Whether `lookup`, `get` and `getMany` read strongly consistently. Default true. False halves their
   * read units (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html#read-operation-consumption):
   * only for a reader of a feed revision that has settled (lib/engine/advisories/shared-cache.ts says
   * why that is safe). Writes, their meta reads, feed states and counts are always strongly consistent.
   */
  readonly consistentReads?: boolean;
}

type Item = Record<string, AttributeValue>;

/** One record ready to write. */
interface Encoded {
  readonly id: string;
  readonly record: OsvRecord;
  readonly modifiedAt: bigint;
  readonly body: Uint8Array;
  /** Package keys of `affected[]`, deduplicated, sorted. */
  readonly keys: readonly string[];
}

/** What the store knows of a stored record before replacing it. */
interface Meta {
  readonly modifiedAt: bigint;
  readonly pkgs: readonly string[];
  readonly drop: readonly string[];
}

const recordKey = (id: string): Item => ({ [A_PK]: { S: `REC#${id}` }, [A_SK]: { S: 'REC' } });
const feedKey = (source: string): Item => ({ [A_PK]: { S: `FEED#${source}` }, [A_SK]: { S: 'FEED' } });
/** The item listing every source with a state (a string set), so that listing needs no table scan. */
const FEED_LIST_KEY: Item = { [A_PK]: { S: 'FEEDS' }, [A_SK]: { S: 'FEEDS' } };
const FEED_STATUSES: readonly FeedStatus[] = ['complete', 'in-progress', 'failed'];
const counterKey = (shard: number): Item => ({ [A_PK]: { S: `COUNT#${shard}` }, [A_SK]: { S: 'COUNT' } });
/** The partition key of a package: `(ecosystem, name)` exactly as given (callers and {@link packageKeysOf} normalise). */
const packageKey = (ecosystem: string, name: string): string => `PKG#${JSON.stringify([ecosystem, name])}`;
const indexSortKey = (id: string): string => `ADV#${id}`;

/** The package keys a record is indexed under: each `affected[]` entry's ecosystem and normalised name. */
function packageKeysOf(r: OsvRecord): string[] {
  return [...new Set(r.affected.map((a) => packageKey(a.ecosystem, normalizePackageName(a.ecosystem, a.name))))].sort();
}

/** RFC 3339 as OSV's schema allows it (same pattern as the feed reader's, lib/engine/advisories/record.ts). */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * `modified` as nanoseconds since the epoch. The condition on a write compares instants inside
 * DynamoDB, where strings compare by bytes (`…T10:00:00+02:00` vs `…T08:30:00Z`, `.5Z` vs `Z` would
 * order wrongly) and a Number is an exact decimal of up to 38 digits
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number):
 * an integer count of nanoseconds (about 19 digits) is exact, a JS number is not.
 */
export function modifiedNanos(modified: string): bigint {
  const m = TIMESTAMP.exec(modified);
  if (!m) throw new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(modified.slice(0, 64))}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const day = new Date(0);
  // setUTCFullYear keeps years 0–99 (Go's vulndb writes 0001-01-01T00:00:00Z), unlike Date.UTC.
  day.setUTCFullYear(y, mo - 1, d);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) {
    throw new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(modified.slice(0, 64))}`);
  }
  const offset = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10]) * 60);
  const seconds = BigInt(day.getTime() / 1000 + h * 3600 + mi * 60 + s - offset);
  return seconds * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** UTF-8 bytes of a string. */
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * An item's size as DynamoDB counts it against the 400 KB limit: attribute names plus values
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 * Numbers are counted as their text length, at least the "(digits / 2) + 1" DynamoDB charges: an
 * overestimate is safe here.
 */
export function itemBytes(item: Item): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) {
    n += bytes(name);
    if (v.S !== undefined) n += bytes(v.S);
    else if (v.B !== undefined) n += v.B.byteLength;
    else if (v.N !== undefined) n += v.N.length;
    else if (v.SS !== undefined) n += v.SS.reduce((t, s) => t + bytes(s), 0);
    else n += bytes(JSON.stringify(v)); // not used by this store; a generous bound
  }
  return n;
}

const isConditionFailure = (err: unknown): boolean =>
  err instanceof ConditionalCheckFailedException || (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';


/** Elements of `a` not in `b`, sorted. */
function minus(a: Iterable<string>, b: readonly string[]): string[] {
  const skip = new Set(b);
  return [...new Set(a)].filter((k) => !skip.has(k)).sort();
}

/** Attempts of one record's read-compare-write cycle when other writers keep changing it under us. */
const MAX_WRITE_CONFLICTS = 10;

/**
 * The {@link AdvisoryStore} of the pipeline: one DynamoDB table (see {@link tableDefinition}; the
 * design is described at the top of this file). Reads are strongly consistent — a re-evaluation
 * enqueued right after a feed sync must see the revision that triggered it — unless the store is made
 * with `consistentReads: false` for a settled revision (see {@link DynamoAdvisoryStoreOptions}).
 *
 * `count()` reads a sharded counter that the insert of a new id increments in the same transaction:
 * exact and a single BatchGetItem of 16 small items. The alternative, a Scan with `Select: COUNT`,
 * still reads (and bills) every item of the table — the compressed records and all index items, one
 * 1 MB page per request (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.Count)
 * — on every call.
 *
 * Writes are single-item PutItem/DeleteItem calls run in parallel, not BatchWriteItem (25 puts or
 * deletes per call, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html):
 * BatchWriteItem takes no condition expressions, and every write here needs one
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 */
export class DynamoAdvisoryStore implements AdvisoryStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly consistentReads: boolean;

  constructor(opts: DynamoAdvisoryStoreOptions) {
    this.client = opts.client;
    this.table = opts.tableName;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 10);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 50;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 5000;
    this.consistentReads = opts.consistentReads ?? true;
  }

  /**
   * Records indexed under exactly `(ecosystem, name)` whose stored revision still names that package,
   * in id order. Any failure (including keys DynamoDB keeps leaving unprocessed, or a record that does
   * not decode) throws {@link DynamoAdvisoryStoreError}: never a shorter answer.
   */
  async lookup(ecosystem: string, name: string): Promise<readonly OsvRecord[]> {
    const key = packageKey(ecosystem, name);
    try {
      const ids = await this.indexedIds(key);
      const items = await this.batchGet(ids.map(recordKey), [A_PK, A_BODY, A_PKGS], this.consistentReads);
      const out: OsvRecord[] = [];
      for (const id of ids) {
        const item = items.get(`REC#${id}`);
        // No record yet (a writer between claim and replace) or the record no longer names the
        // package (a delete still pending): the index item is not an answer.
        if (!item || !(item[A_PKGS]?.SS ?? []).includes(key)) continue;
        out.push(decode(id, item));
      }
      return out;
    } catch (err) {
      throw wrap(err, `lookup(${JSON.stringify(ecosystem)}, ${JSON.stringify(name)})`);
    }
  }

  /** The stored record with this id, or undefined; failures throw {@link DynamoAdvisoryStoreError}. */
  async get(id: string): Promise<OsvRecord | undefined> {
    try {
      const item = (await this.batchGet([recordKey(id)], [A_PK, A_BODY, A_PKGS], this.consistentReads)).get(`REC#${id}`);
      return item ? decode(id, item) : undefined;
    } catch (err) {
      throw wrap(err, `get(${JSON.stringify(id)})`);
    }
  }

  /**
   * The stored records with these ids (absent ids are absent from the map): BatchGetItem pages of 100
   * keys, read in parallel — one request for the alias and enrichment reads of a typical evaluation.
   */
  async getMany(ids: readonly string[]): Promise<ReadonlyMap<string, OsvRecord>> {
    const unique = [...new Set(ids)];
    try {
      const items = await this.batchGet(unique.map(recordKey), [A_PK, A_BODY, A_PKGS], this.consistentReads);
      const out = new Map<string, OsvRecord>();
      for (const id of unique) {
        const item = items.get(`REC#${id}`);
        if (item) out.set(id, decode(id, item));
      }
      return out;
    } catch (err) {
      throw wrap(err, `getMany(${unique.length} ids)`);
    }
  }

  /**
   * Writes each record unless the stored revision is as new or newer (instants compared to the
   * nanosecond, whatever the offset or precision of `modified`); returns the ids written, in input
   * order. Throws {@link AdvisoryRecordTooLargeError} before writing anything if a record cannot fit,
   * a `RangeError` for a `modified` that is not RFC 3339 (the feed reader never lets one through), and
   * {@link DynamoAdvisoryStoreError} — with `changed` — if DynamoDB fails part-way.
   */
  async upsert(records: readonly OsvRecord[]): Promise<readonly string[]> {
    // Encode (and reject what cannot fit) before writing anything.
    const byId = new Map<string, Encoded>();
    const rejected: { id: string; reason: string }[] = [];
    for (const r of records) {
      const e = encode(r);
      const problem = checkLimits(e);
      if (problem) {
        rejected.push({ id: r.id, reason: problem });
        continue;
      }
      const seen = byId.get(e.id);
      // The same id twice in one call: only the newest revision can win, write only that one.
      if (!seen || e.modifiedAt > seen.modifiedAt) byId.set(e.id, e);
    }
    if (rejected.length > 0) throw new AdvisoryRecordTooLargeError(rejected);
    if (byId.size === 0) return [];
    const changed = new Set<string>();
    const inOrder = (): string[] => [...byId.keys()].filter((id) => changed.has(id));
    try {
      const metas = await this.batchGet([...byId.keys()].map(recordKey), [A_PK, A_MODIFIED_AT, A_PKGS, A_DROP]);
      await forEachLimit([...byId.values()], this.concurrency, async (e) => {
        const item = metas.get(`REC#${e.id}`);
        await this.write(e, item ? toMeta(item) : undefined, () => changed.add(e.id));
      });
      return inOrder();
    } catch (err) {
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new DynamoAdvisoryStoreError(`DynamoDB advisory store: upsert of ${byId.size} record(s) failed after ${changed.size} changed (${detail})`, {
        cause: err,
        changed: inOrder(),
      });
    }
  }

  /** The state item of `source` (strongly consistent), or undefined before its first sync. */
  async getFeedState(source: string): Promise<FeedState | undefined> {
    try {
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: feedKey(source), ConsistentRead: true }));
      const it = out.Item;
      if (!it) return undefined;
      const status = FEED_STATUSES.find((s) => s === it.status?.S);
      const ecosystems = it.ecosystems?.L?.map((v) => v.S);
      const members = it.members?.L?.map((v) => v.S);
      const pendingIds = it.pendingIds?.L?.map((v) => v.S);
      return {
        ...(it.modified?.S !== undefined ? { modified: it.modified.S } : {}),
        ...(it.fingerprint?.S !== undefined ? { fingerprint: it.fingerprint.S } : {}),
        syncedAt: it.syncedAt?.S ?? '',
        records: Number(it.records?.N ?? '0'),
        ...(status ? { status } : {}),
        // A list with anything but strings is not a coverage to trust: dropped, the source covers nothing.
        ...(ecosystems && ecosystems.every((e): e is string => typeof e === 'string') ? { ecosystems } : {}),
        ...(members && members.every((e): e is string => typeof e === 'string') ? { members } : {}),
        ...(it.cursor?.S !== undefined ? { cursor: it.cursor.S } : {}),
        ...(progressOf(it.progress?.S)),
        ...(pendingIds && pendingIds.every((e): e is string => typeof e === 'string') && pendingIds.length > 0 ? { pendingIds } : {}),
        ...(it.startedAt?.S !== undefined ? { startedAt: it.startedAt.S } : {}),
        ...(it.pending?.S !== undefined ? { pending: it.pending.S } : {}),
        ...(it.error?.S !== undefined ? { error: it.error.S } : {}),
      };
    } catch (err) {
      throw wrap(err, `getFeedState(${JSON.stringify(source)})`);
    }
  }

  /**
   * Replaces the state item of `source` and adds the source to the feed list ({@link listFeeds}), in
   * one transaction. Records are written item by item (a sync cannot commit thousands in one
   * transaction): the state's `status` is what tells a complete source from a partly written one.
   */
  async putFeedState(source: string, state: FeedState): Promise<void> {
    const item: Item = {
      ...feedKey(source),
      syncedAt: { S: state.syncedAt },
      records: { N: String(state.records) },
      ...(state.modified !== undefined ? { modified: { S: state.modified } } : {}),
      ...(state.fingerprint !== undefined ? { fingerprint: { S: state.fingerprint } } : {}),
      ...(state.status !== undefined ? { status: { S: state.status } } : {}),
      ...(state.ecosystems !== undefined ? { ecosystems: { L: state.ecosystems.map((e) => ({ S: e })) } } : {}),
      ...(state.members !== undefined ? { members: { L: state.members.map((e) => ({ S: e })) } } : {}),
      ...(state.cursor !== undefined ? { cursor: { S: state.cursor } } : {}),
      ...(state.progress !== undefined ? { progress: { S: JSON.stringify(state.progress) } } : {}),
      ...(state.pendingIds !== undefined && state.pendingIds.length > 0 ? { pendingIds: { L: state.pendingIds.map((e) => ({ S: e })) } } : {}),
      ...(state.startedAt !== undefined ? { startedAt: { S: state.startedAt } } : {}),
      ...(state.pending !== undefined ? { pending: { S: state.pending } } : {}),
      ...(state.error !== undefined ? { error: { S: state.error } } : {}),
    };
    try {
      // A whole-item put: fields absent from `state` disappear from the stored state too.
      await this.client.send(new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: this.table, Item: item } },
          { Update: { TableName: this.table, Key: FEED_LIST_KEY, UpdateExpression: 'ADD sources :s', ExpressionAttributeValues: { ':s': { SS: [source] } } } },
        ],
      }));
    } catch (err) {
      throw wrap(err, `putFeedState(${JSON.stringify(source)})`);
    }
  }

  /** Every source with a feed state, sorted (for `feeds status` and the feeds a scan names). */
  async listFeeds(): Promise<readonly string[]> {
    try {
      const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: FEED_LIST_KEY, ConsistentRead: true }));
      return [...(out.Item?.sources?.SS ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch (err) {
      throw wrap(err, 'listFeeds()');
    }
  }

  /** Distinct record ids stored (withdrawn ones included): the sum of the counter shards. */
  async count(): Promise<number> {
    try {
      const shards = await this.batchGet(Array.from({ length: COUNTER_SHARDS }, (_, i) => counterKey(i)), [A_PK, 'n']);
      let total = 0;
      for (const it of shards.values()) total += Number(it.n?.N ?? '0');
      return total;
    } catch (err) {
      throw wrap(err, 'count()');
    }
  }

  /** Ids indexed under a package key, sorted (the sort key order). */
  private async indexedIds(key: string): Promise<string[]> {
    return (await querySortKeys(this.client, this.table, key, { consistentRead: this.consistentReads })).filter((sk) => sk.startsWith('ADV#')).map((sk) => sk.slice(4));
  }

  /**
   * Items by key (strongly consistent unless `consistent` is false), keyed by `pk`: pages of
   * {@link BATCH_GET_KEYS} read in parallel, each retrying its `UnprocessedKeys` with backoff until
   * done or `maxAttempts` rounds in a row returned nothing — then it fails rather than answer with records missing.
   */
  private async batchGet(keys: readonly Item[], attributes: readonly string[], consistent = true): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const pages: Item[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) pages.push(keys.slice(i, i + BATCH_GET_KEYS));
    const names = Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a]));
    await forEachLimit(pages, this.concurrency, async (page) => {
      let pending: Item[] = page;
      let stalled = 0;
      for (;;) {
        const out = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: pending, ConsistentRead: consistent, ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names } },
          }),
        );
        const got = out.Responses?.[this.table] ?? [];
        for (const it of got) {
          const pk = it[A_PK]?.S;
          if (pk !== undefined) found.set(pk, it);
        }
        const rest = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
        if (rest.length === 0) return;
        stalled = got.length > 0 ? 0 : stalled + 1;
        if (stalled >= this.maxAttempts) {
          throw new DynamoAdvisoryStoreError(`BatchGetItem left ${rest.length} key(s) unprocessed after ${stalled} attempts without progress`);
        }
        await this.backoff(stalled);
        pending = rest;
      }
    });
    return found;
  }

  private backoff(attempt: number): Promise<void> {
    return backoff(attempt, this.baseDelayMs, this.maxDelayMs);
  }

  /**
   * Writes one record unless the stored revision is the same or newer. `meta` is what a BatchGetItem
   * read just before; after a lost race the record is read again. Calls `changed` as soon as the stored
   * record is this revision because of this call — before the index clean-up, so a failure there still
   * reports it — or maybe because of it: a write whose answer was lost and whose retry then failed its
   * condition counts as ours. A spurious "changed" costs a re-evaluation, a missed one leaves verdicts stale.
   */
  private async write(e: Encoded, meta: Meta | undefined, changed: () => void): Promise<void> {
    let cur: Meta | undefined = meta;
    let claimed = false;
    let attempted = false;
    for (let attempt = 0; ; attempt++) {
      if (cur && cur.modifiedAt >= e.modifiedAt) {
        if (cur.modifiedAt === e.modifiedAt && cur.drop.length > 0) {
          // This revision with deletes still pending: the call that stored it failed half-way, so its
          // caller never heard of the change. Finish the work and report the id as changed.
          changed();
          await this.unindex(e.id, cur.modifiedAt, cur.drop);
          return;
        }
        if (attempted && cur.modifiedAt === e.modifiedAt) changed();
        return;
      }
      if (!claimed) {
        await this.claim(e);
        claimed = true;
      }
      // Keys the stored revision (and any unfinished predecessor) had and this one has not.
      const drop = cur ? minus([...cur.pkgs, ...cur.drop], e.keys) : [];
      const item = recordItem(e, drop);
      if (itemBytes(item) > MAX_ITEM_BYTES) {
        throw new AdvisoryRecordTooLargeError([{ id: e.id, reason: `record item with ${drop.length} pending index deletes is ${itemBytes(item)} bytes, over DynamoDB's ${MAX_ITEM_BYTES}` }]);
      }
      attempted = true;
      if (await (cur ? this.replace(item, cur.modifiedAt) : this.insert(item, e.id))) {
        changed();
        if (drop.length > 0) await this.unindex(e.id, e.modifiedAt, drop);
        return;
      }
      if (attempt + 1 >= MAX_WRITE_CONFLICTS) throw new DynamoAdvisoryStoreError(`record ${e.id}: still changing under us after ${MAX_WRITE_CONFLICTS} attempts`);
      await this.backoff(attempt);
      cur = await this.meta(e.id);
    }
  }

  /** The stored revision's meta data, strongly consistent. */
  private async meta(id: string): Promise<Meta | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: recordKey(id),
        ConsistentRead: true,
        ProjectionExpression: '#m, #p, #d',
        ExpressionAttributeNames: { '#m': A_MODIFIED_AT, '#p': A_PKGS, '#d': A_DROP },
      }),
    );
    return out.Item ? toMeta(out.Item) : undefined;
  }

  /**
   * Step 1: index items for every package of the revision, before the record lands. Conditional so
   * an older writer running late never lowers `modifiedAt`, which step 3's deletes rely on.
   */
  private async claim(e: Encoded): Promise<void> {
    const m = String(e.modifiedAt);
    await forEachLimit(e.keys, this.concurrency, async (key) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: { [A_PK]: { S: key }, [A_SK]: { S: indexSortKey(e.id) }, [A_MODIFIED_AT]: { N: m } },
            ConditionExpression: 'attribute_not_exists(#pk) OR #m <= :m',
            ExpressionAttributeNames: { '#pk': A_PK, '#m': A_MODIFIED_AT },
            ExpressionAttributeValues: { ':m': { N: m } },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err; // a newer revision holds it already: fine
      }
    });
  }

  /** Step 2 for a new id: the record and +1 on a counter shard, atomically. False if the id exists meanwhile. */
  private async insert(item: Item, id: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteItemsCommand({
            // Makes the SDK's own retries of this call idempotent for 10 minutes (TransactWriteItems API reference).
            ClientRequestToken: randomUUID(),
            TransactItems: [
              {
                Put: {
                  TableName: this.table,
                  Item: item,
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': A_PK },
                },
              },
              {
                Update: {
                  TableName: this.table,
                  Key: counterKey(shardOf(id)),
                  UpdateExpression: 'ADD #n :one',
                  ExpressionAttributeNames: { '#n': 'n' },
                  ExpressionAttributeValues: { ':one': { N: '1' } },
                },
              },
            ],
          }),
        );
        return true;
      } catch (err) {
        if (err instanceof TransactionCanceledException || (err as { name?: string } | null)?.name === 'TransactionCanceledException') {
          const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
          if (reasons[0]?.Code === 'ConditionalCheckFailed') return false;
          // Another transaction on the same counter shard or record: back off and try again.
          if (reasons.some((r) => r.Code === 'TransactionConflict') && attempt + 1 < this.maxAttempts) {
            await this.backoff(attempt);
            continue;
          }
        }
        if (err instanceof TransactionConflictException) return false;
        throw err;
      }
    }
  }

  /** Step 2 for a known id: replace exactly the revision read. False if another writer got there first. */
  private async replace(item: Item, expected: bigint): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: '#m = :old',
          ExpressionAttributeNames: { '#m': A_MODIFIED_AT },
          ExpressionAttributeValues: { ':old': { N: String(expected) } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err) || err instanceof TransactionConflictException) return false;
      throw err;
    }
  }

  /**
   * Step 3: delete the index items of packages revision `modifiedAt` no longer names — each only if no
   * newer revision claimed it in between — then clear `drop` (unless a newer revision replaced the
   * record meanwhile: it inherited `drop` and finishes it).
   */
  private async unindex(id: string, modifiedAt: bigint, keys: readonly string[]): Promise<void> {
    const m = String(modifiedAt);
    await forEachLimit(keys, this.concurrency, async (key) => {
      try {
        await this.client.send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: { [A_PK]: { S: key }, [A_SK]: { S: indexSortKey(id) } },
            ConditionExpression: '#m < :m',
            ExpressionAttributeNames: { '#m': A_MODIFIED_AT },
            ExpressionAttributeValues: { ':m': { N: m } },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err; // gone already, or claimed by a newer revision
      }
    });
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: recordKey(id),
          UpdateExpression: 'REMOVE #d',
          ConditionExpression: '#m = :m',
          ExpressionAttributeNames: { '#d': A_DROP, '#m': A_MODIFIED_AT },
          ExpressionAttributeValues: { ':m': { N: m } },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}

/** The counter shard of an id (FNV-1a): stable, so one id always counts on the same shard. */
function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % COUNTER_SHARDS;
}

function encode(r: OsvRecord): Encoded {
  // gzip: Debian records list every affected version of every release; their JSON compresses ~10:1.
  return { id: r.id, record: r, modifiedAt: modifiedNanos(r.modified), body: gzipSync(JSON.stringify(r)), keys: packageKeysOf(r) };
}

/** Why a record cannot be stored (an item or key over a DynamoDB limit), or undefined. */
function checkLimits(e: Encoded): string | undefined {
  const size = itemBytes(recordItem(e, []));
  if (size > MAX_ITEM_BYTES) return `record item is ${size} bytes after gzip (JSON ${bytes(JSON.stringify(e.record))} bytes), over DynamoDB's ${MAX_ITEM_BYTES}`;
  if (bytes(`REC#${e.id}`) > MAX_PARTITION_KEY_BYTES) return `id is over DynamoDB's ${MAX_PARTITION_KEY_BYTES}-byte partition key limit`;
  if (bytes(indexSortKey(e.id)) > MAX_SORT_KEY_BYTES) return `id is over DynamoDB's ${MAX_SORT_KEY_BYTES}-byte sort key limit`;
  const long = e.keys.find((k) => bytes(k) > MAX_PARTITION_KEY_BYTES);
  if (long) return `package key ${long.slice(0, 80)}… is over DynamoDB's ${MAX_PARTITION_KEY_BYTES}-byte partition key limit`;
  return undefined;
}

function recordItem(e: Encoded, drop: readonly string[]): Item {
  return {
    ...recordKey(e.id),
    [A_BODY]: { B: e.body },
    [A_MODIFIED]: { S: e.record.modified },
    [A_MODIFIED_AT]: { N: String(e.modifiedAt) },
    // String sets cannot be empty: absent means none.
    ...(e.keys.length > 0 ? { [A_PKGS]: { SS: [...e.keys] } } : {}),
    ...(drop.length > 0 ? { [A_DROP]: { SS: [...drop] } } : {}),
  };
}

function toMeta(item: Item): Meta {
  const m = item[A_MODIFIED_AT]?.N;
  if (m === undefined || !/^-?\d+$/.test(m)) throw new DynamoAdvisoryStoreError(`stored record ${item[A_PK]?.S} has no valid ${A_MODIFIED_AT}`);
  return { modifiedAt: BigInt(m), pkgs: item[A_PKGS]?.SS ?? [], drop: item[A_DROP]?.SS ?? [] };
}

/** A stored record back to {@link OsvRecord}; a body that does not decode to that id fails (never "no advisories"). */
function decode(id: string, item: Item): OsvRecord {
  const body = item[A_BODY]?.B;
  let rec: OsvRecord;
  try {
    if (!body) throw new Error('no body attribute');
    // Our own items are ≤ 400 KB compressed; the cap only stops a damaged item from exhausting memory.
    rec = JSON.parse(gunzipSync(body, { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8')) as OsvRecord;
  } catch (err) {
    throw new DynamoAdvisoryStoreError(`stored record ${id} cannot be decoded`, { cause: err });
  }
  if (rec?.id !== id) throw new DynamoAdvisoryStoreError(`stored record ${id} decodes to id ${JSON.stringify(rec?.id)}`);
  return rec;
}

/** Our own errors pass through; anything else (SDK, network) becomes a {@link DynamoAdvisoryStoreError} with the cause. */
function wrap(err: unknown, what: string): Error {
  if (err instanceof TrustError) return err;
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new DynamoAdvisoryStoreError(`DynamoDB advisory store: ${what} failed (${detail})`, { cause: err });
}

/** A stored attempt's progress (JSON), or nothing when absent or not what it should be (the attempt then counts from its cursor on). */
function progressOf(text: string | undefined): { progress?: FeedProgress } {
  if (text === undefined) return {};
  try {
    const p = JSON.parse(text) as Partial<FeedProgress>;
    if (!Number.isSafeInteger(p.read) || !Array.isArray(p.ecosystems) || !p.ecosystems.every((e) => typeof e === 'string')) return {};
    if (p.modified !== undefined && typeof p.modified !== 'string') return {};
    return { progress: { read: p.read!, ecosystems: p.ecosystems, ...(p.modified !== undefined ? { modified: p.modified } : {}) } };
  } catch {
    return {};
  }
}
