/**
 * A small in-memory cache with a time to live and a size cap, for verdict lookups by digest
 * (./decide.ts). The clock is passed in on every call, so tests drive it and the webhook's warm path
 * reads it once per decision. Only answers are cached — a store error or a timeout never is: the next
 * request asks the store again. An entry may be set with a shorter TTL than the cache's (./decide.ts
 * keeps "no verdict" briefly, so a verdict written just after a miss is seen soon).
 */
export class TtlCache<V> {
  /**
   * Insertion order is expiry order for entries of the cache's own TTL (the oldest is first); a
   * shorter-lived entry may expire before older ones and is then dropped when read or evicted.
   */
  private readonly entries = new Map<string, { readonly value: V; readonly expires: number }>();

  constructor(
    /** Milliseconds an entry is served after it was set; 0 disables the cache. */
    readonly ttlMs: number,
    /** Most entries kept; the oldest go first when full. */
    readonly maxEntries = 10_000,
  ) {}

  /** The value of `key` if it was set less than `ttlMs` before `now`. */
  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (now < e.expires) return e.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Stores `value` for `key` as of `now`, for `ttlMs` (default and upper bound: the cache's TTL; 0: not stored). */
  set(key: string, value: V, now: number, ttlMs: number = this.ttlMs): void {
    const ttl = Math.min(ttlMs, this.ttlMs);
    if (ttl <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(key, { value, expires: now + ttl });
  }

  /** Drops the entry of `key`, if any. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.clear();
  }

  /** Entries held (expired ones included until they are read or evicted). */
  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      if (this.entries.size < this.maxEntries || e.expires > now) break;
      this.entries.delete(k);
    }
    // Still full of live entries: drop the oldest one.
    if (this.entries.size >= this.maxEntries) {
      const first = this.entries.keys().next();
      if (!first.done) this.entries.delete(first.value);
    }
  }
}
