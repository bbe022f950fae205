/**
 * A shared advisory cache for evaluations (issue 15, Deliver item 7 "Cost"): one per process — on
 * Lambda, per execution environment, so it survives warm invocations — in front of the advisory
 * store, so that the thousands of re-evaluations of a nightly run (images sharing base layers and
 * popular packages) read each package's advisories and each NVD/KEV/alias record once, not once per digest.
 *
 * ## Keyed by feed revision
 * Every entry is keyed by the **revision** of the advisory data it was read under: a hash of the feed
 * states (every configured source's sync state, {@link revisionKey}) that the evaluation read before
 * matching and records in its verdict (`feeds`, `feedRevision`). Feed-sync writes its records first and
 * the feed state last, then enqueues re-evaluations (pipeline/feed-sync.ts): an evaluation that sees the
 * new state asks under a new key and never gets a record cached under the old one. When a view of a new
 * revision is opened, the entries of every other revision are dropped (invalidation by key), and a view
 * of an older revision still open reads through without caching.
 *
 * ## Eventually consistent reads, when the revision has settled
 * A view may be given a second store that reads eventually consistently (half the read units,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html#read-operation-consumption).
 * It is used only when the newest feed-state write of the revision (`syncedAt`) is older than
 * `settleMs` (default 60 s): every record of that revision was written before its feed state, and
 * DynamoDB brings all copies up to date "usually within one second"
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html), so
 * an eventual read then returns the same record a strong read would. Right after a sync (the targeted
 * re-evaluations feed-sync enqueues) reads stay strongly consistent. Should a read still come back one
 * revision stale, the verdict names the feeds it was judged against, and that record's next change
 * re-judges the digest again (feed-sync targets every digest a changed record can affect). Records an
 * unfinished sync is writing belong to no revision yet: while a feed is `in-progress` every view reads
 * strongly and shares no entry with another view (see {@link SharedAdvisoryCache.view}).
 * Verdicts, claims and feed states are never read through this cache.
 *
 * ## Bounded
 * Least recently used entries are dropped beyond `maxEntries` or `maxBytes` (a record's size estimated
 * from its JSON). Hits and misses (no records for a package, no record with an id) are both kept;
 * failures never are — the next caller asks the store again.
 *
 * ## Batched reads by id
 * The `get`s issued while one evaluation matches its packages (NVD, KEV and alias records,
 * match/resolve.ts) are gathered for one turn of the event loop and read together through the store's
 * `getMany` (one BatchGetItem per 100 ids on DynamoDB) when it has one.
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { FeedInfo } from '../model';
import type { AdvisoryStore, FeedState } from '../ports';
import type { OsvRecord } from './osv';

/** Options of {@link SharedAdvisoryCache}. */
export interface SharedAdvisoryCacheOptions {
  /** Most entries (package lookups + records by id) kept. Default 200,000. */
  readonly maxEntries?: number;
  /** Most bytes kept (records' JSON length, estimated). Default 256 MiB (the scan-worker has 2 GiB). */
  readonly maxBytes?: number;
  /** Age of a revision's newest feed-state write before eventually consistent reads are used. Default 60,000 ms. */
  readonly settleMs?: number;
}

/** What the cache did, for logs, tests and the cost bench. */
export interface AdvisoryCacheStats {
  /** Lookups and gets answered from the cache (a read in flight shared counts too). */
  hits: number;
  /** Lookups and gets sent to the store. */
  misses: number;
  /** Entries dropped to stay within the bounds. */
  evictions: number;
  /** Entries dropped because a new revision was opened. */
  invalidated: number;
  /** `getMany` calls made for batched gets (or rounds of single gets when the store has no getMany). */
  batches: number;
}

interface Entry {
  readonly value: readonly OsvRecord[] | OsvRecord | null;
  readonly bytes: number;
  readonly revision: string;
}

/** Bytes counted per entry on top of its records (key, map slot, arrays). */
const ENTRY_OVERHEAD = 200;

/** One revision of the advisory data as a cache key: a hash of the feed states, sources in order. */
export function revisionKey(feeds: readonly FeedInfo[]): string {
  const canon = [...feeds].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)).map((f) => [
    f.source, f.syncedAt ?? null, f.modified ?? null, f.records ?? null, f.status ?? null, f.revision ?? null,
    f.pending ?? null, f.error ?? null, f.ecosystems ?? null,
  ]);
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex').slice(0, 32);
}

/** The newest `syncedAt` of the feeds in ms since the epoch, or undefined when none has one. */
function newestSync(feeds: readonly FeedInfo[]): number | undefined {
  let best: number | undefined;
  for (const f of feeds) {
    const t = f.syncedAt ? Date.parse(f.syncedAt) : NaN;
    if (!Number.isNaN(t) && (best === undefined || t > best)) best = t;
  }
  return best;
}

const sizeOf = (r: OsvRecord): number => JSON.stringify(r).length;

/**
 * The per-process cache (see the module documentation). Open a {@link CachedAdvisoryStore} per
 * evaluation with {@link view}; records handed out are shared and must not be changed.
 */
export class SharedAdvisoryCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private latest?: string;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly settleMs: number;
  /** Views made while a feed was syncing: each gets a revision key of its own. */
  private unfinishedViews = 0;
  readonly stats: AdvisoryCacheStats = { hits: 0, misses: 0, evictions: 0, invalidated: 0, batches: 0 };

  constructor(opts: SharedAdvisoryCacheOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 200_000);
    this.maxBytes = Math.max(1, opts.maxBytes ?? 256 * 1024 * 1024);
    this.settleMs = Math.max(0, opts.settleMs ?? 60_000);
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held (estimated). */
  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * The store to read for an evaluation against `feeds` (the feed states it read and will record).
   * `namespace` names the data (the advisory table): two stores in one process never share entries.
   * `eventual`, when given, is the same data read eventually consistently; it is used once the revision
   * has settled (see the module documentation). `now` is the clock (default `Date.now()`).
   */
  view(inner: AdvisoryStore, feeds: readonly FeedInfo[], opts: { readonly namespace?: string; readonly eventual?: AdvisoryStore; readonly now?: number } = {}): CachedAdvisoryStore {
    // A feed still syncing is no revision: feed-sync writes its records batch by batch under one
    // unchanged feed state and enqueues the re-evaluations of each batch as it goes, so an answer cached
    // before a batch would hide that batch's records from the very re-evaluation it enqueued (a false
    // TRUSTED until the next nightly run). Such a view shares nothing with any other view and reads strongly.
    if (feeds.some((f) => f.status === 'in-progress')) return new CachedAdvisoryStore(this, `${opts.namespace ?? ''}\0unfinished\0${++this.unfinishedViews}`, inner, inner);
    const revision = `${opts.namespace ?? ''}\0${revisionKey(feeds)}`;
    if (this.latest !== revision) {
      // A new revision: the others' entries can only be asked for by evaluations of an older revision.
      for (const [k, e] of this.entries) {
        if (e.revision !== revision) {
          this.entries.delete(k);
          this.bytes -= e.bytes;
          this.stats.invalidated++;
        }
      }
      this.latest = revision;
    }
    const synced = newestSync(feeds);
    const settled = synced !== undefined && (opts.now ?? Date.now()) - synced >= this.settleMs;
    return new CachedAdvisoryStore(this, revision, settled && opts.eventual ? opts.eventual : inner, inner);
  }

  /** @internal The entry under `key` of `revision`, marked recently used. */
  read(revision: string, key: string): Entry | undefined {
    const k = `${revision}\0${key}`;
    const e = this.entries.get(k);
    if (!e) return undefined;
    this.entries.delete(k);
    this.entries.set(k, e);
    return e;
  }

  /** @internal Keeps `value` under `key` of `revision` unless a newer revision has been opened since. */
  write(revision: string, key: string, value: Entry['value']): void {
    if (revision !== this.latest) return;
    const k = `${revision}\0${key}`;
    const bytes = ENTRY_OVERHEAD + k.length + (value === null ? 0 : Array.isArray(value) ? (value as readonly OsvRecord[]).reduce((t, r) => t + sizeOf(r), 0) : sizeOf(value as OsvRecord));
    const old = this.entries.get(k);
    if (old) {
      this.entries.delete(k);
      this.bytes -= old.bytes;
    }
    // One entry larger than the whole budget is not kept (it would evict everything else).
    if (bytes > this.maxBytes) return;
    this.entries.set(k, { value, bytes, revision });
    this.bytes += bytes;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const [oldest, e] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      this.bytes -= e.bytes;
      this.stats.evictions++;
    }
  }

  /** Drops every entry (a write through a view: the cached answers may no longer hold). */
  clear(): void {
    this.stats.invalidated += this.entries.size;
    this.entries.clear();
    this.bytes = 0;
  }
}

const lookupKey = (ecosystem: string, name: string): string => `L\0${ecosystem}\0${name}`;
const getKey = (id: string): string => `G\0${id}`;

/**
 * An {@link AdvisoryStore} answering `lookup` and `get` from a {@link SharedAdvisoryCache} for one
 * revision, reading misses through `reader` (strong or eventual, chosen by the cache) and batching
 * gets. Writes and feed states go to the strongly consistent store, unchanged; a write drops the cache.
 */
export class CachedAdvisoryStore implements AdvisoryStore {
  private readonly pending = new Map<string, Promise<unknown>>();
  private batch?: Map<string, { resolve: (r: OsvRecord | undefined) => void; reject: (e: unknown) => void }[]>;

  constructor(
    private readonly cache: SharedAdvisoryCache,
    /** The revision key entries are read and written under. */
    readonly revision: string,
    /** Where misses are read. */
    readonly reader: AdvisoryStore,
    /** The strongly consistent store: writes, feed states, counts. */
    private readonly inner: AdvisoryStore,
  ) {}

  /** Records affecting `name` in `ecosystem`, from the cache or the store (and then cached, an empty answer too). */
  async lookup(ecosystem: string, name: string): Promise<readonly OsvRecord[]> {
    const key = lookupKey(ecosystem, name);
    const hit = this.cache.read(this.revision, key);
    if (hit) {
      this.cache.stats.hits++;
      return hit.value as readonly OsvRecord[];
    }
    return this.once(key, async () => {
      const records = await this.reader.lookup(ecosystem, name);
      this.cache.write(this.revision, key, records);
      // The same items answer reads by id (the alias join reads records other packages matched).
      for (const r of records) if (!this.cache.read(this.revision, getKey(r.id))) this.cache.write(this.revision, getKey(r.id), r);
      return records;
    });
  }

  /** The record with this id, from the cache or a batched read of the store (an absent id is cached too). */
  async get(id: string): Promise<OsvRecord | undefined> {
    const key = getKey(id);
    const hit = this.cache.read(this.revision, key);
    if (hit) {
      this.cache.stats.hits++;
      return (hit.value as OsvRecord | null) ?? undefined;
    }
    return this.once(key, () => new Promise<OsvRecord | undefined>((resolve, reject) => {
      if (!this.batch) {
        this.batch = new Map();
        // Gets asked in this turn of the event loop go out together.
        setImmediate(() => void this.flush());
      }
      const waiting = this.batch.get(id) ?? [];
      waiting.push({ resolve, reject });
      this.batch.set(id, waiting);
    }));
  }

  /** Records by id, through {@link get} (cached, batched). */
  async getMany(ids: readonly string[]): Promise<ReadonlyMap<string, OsvRecord>> {
    const out = new Map<string, OsvRecord>();
    const got = await Promise.all(ids.map((id) => this.get(id)));
    got.forEach((r, i) => r && out.set(ids[i], r));
    return out;
  }

  /** Shares one read of `key` among concurrent callers; a failure is not kept. */
  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const running = this.pending.get(key) as Promise<T> | undefined;
    if (running) {
      this.cache.stats.hits++;
      return running;
    }
    this.cache.stats.misses++;
    const p = read().finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private async flush(): Promise<void> {
    const batch = this.batch!;
    this.batch = undefined;
    const ids = [...batch.keys()];
    this.cache.stats.batches++;
    try {
      let found: ReadonlyMap<string, OsvRecord>;
      if (this.reader.getMany) found = await this.reader.getMany(ids);
      else {
        const rs = await Promise.all(ids.map((id) => this.reader.get(id)));
        found = new Map(rs.flatMap((r, i) => (r ? [[ids[i], r] as const] : [])));
      }
      for (const id of ids) {
        const r = found.get(id);
        this.cache.write(this.revision, getKey(id), r ?? null);
        for (const w of batch.get(id)!) w.resolve(r);
      }
    } catch (err) {
      for (const ws of batch.values()) for (const w of ws) w.reject(err);
    }
  }

  /** Written to the store; the cache is dropped (its answers may no longer hold). */
  async upsert(records: readonly OsvRecord[]): Promise<readonly string[]> {
    try {
      return await this.inner.upsert(records);
    } finally {
      this.cache.clear();
    }
  }

  getFeedState(source: string): Promise<FeedState | undefined> {
    return this.inner.getFeedState(source);
  }

  putFeedState(source: string, state: FeedState): Promise<void> {
    return this.inner.putFeedState(source, state);
  }

  listFeeds(): Promise<readonly string[]> {
    return this.inner.listFeeds ? this.inner.listFeeds() : Promise.resolve([]);
  }

  count(): Promise<number> {
    return this.inner.count();
  }
}
