/**
 * The shared advisory cache (lib/engine/advisories/shared-cache.ts) in front of a real in-memory
 * advisory store holding real OSV records from ../shared/corpus/osv; a recording wrapper counts what
 * reaches the store.
 */
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { normalizePackageName } from '../../../lib/engine/advisories/names';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { CachedAdvisoryStore, SharedAdvisoryCache, revisionKey } from '../../../lib/engine/advisories/shared-cache';
import type { FeedInfo } from '../../../lib/engine/model';
import type { AdvisoryStore, FeedState } from '../../../lib/engine/ports';
import { corpusRecord } from '../../helpers/osv';

const RECORDS: OsvRecord[] = ['crates.io/RUSTSEC-2016-0001.json', 'crates.io/RUSTSEC-2018-0003.json', 'crates.io/RUSTSEC-2020-0071.json'].map(corpusRecord);
const pkgOf = (r: OsvRecord): [string, string] => [r.affected[0].ecosystem, normalizePackageName(r.affected[0].ecosystem, r.affected[0].name)];

/** A store that records every call reaching it and can be told to fail. */
class Recording implements AdvisoryStore {
  readonly calls: string[] = [];
  failNext = 0;
  constructor(readonly inner: MemoryAdvisoryStore, withGetMany = true) {
    if (!withGetMany) (this as { getMany?: unknown }).getMany = undefined;
  }
  private fail(what: string): void {
    this.calls.push(what);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`store down (${what})`);
    }
  }
  async lookup(e: string, n: string) { this.fail(`lookup ${e}/${n}`); return this.inner.lookup(e, n); }
  async get(id: string) { this.fail(`get ${id}`); return this.inner.get(id); }
  async getMany(ids: readonly string[]) {
    this.fail(`getMany ${ids.join(',')}`);
    const out = new Map<string, OsvRecord>();
    for (const id of ids) {
      const r = await this.inner.get(id);
      if (r) out.set(id, r);
    }
    return out;
  }
  upsert(rs: readonly OsvRecord[]) { this.calls.push('upsert'); return this.inner.upsert(rs); }
  getFeedState(s: string) { return this.inner.getFeedState(s); }
  putFeedState(s: string, st: FeedState) { return this.inner.putFeedState(s, st); }
  listFeeds() { return this.inner.listFeeds(); }
  count() { return this.inner.count(); }
}

async function stores(withGetMany = true): Promise<{ strong: Recording; eventual: Recording }> {
  const mem = new MemoryAdvisoryStore();
  await mem.upsert(RECORDS);
  return { strong: new Recording(mem, withGetMany), eventual: new Recording(mem, withGetMany) };
}

const NOW = Date.parse('2026-12-07T12:00:00Z');
const feeds = (syncedAt: string, extra: Partial<FeedInfo> = {}): FeedInfo[] => [{ source: 'osv:crates.io', syncedAt, status: 'complete', ecosystems: ['crates.io'], ...extra }];
const OLD = feeds('2026-12-07T10:00:00Z');

describe('SharedAdvisoryCache: hits and misses', () => {
  it.each<[string, (v: CachedAdvisoryStore) => Promise<unknown>, number]>([
    ['a lookup with records', (v) => v.lookup(...pkgOf(RECORDS[0])), 1],
    ['a lookup with no records (a miss is cached too)', (v) => v.lookup('crates.io', 'no-such-crate'), 1],
    ['a get of a stored id', (v) => v.get(RECORDS[1].id), 1],
    ['a get of an absent id (undefined is cached too)', (v) => v.get('RUSTSEC-0000-0000'), 1],
  ])('%s reaches the store once for two views of one revision', async (_n, call, reads) => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache();
    const a = await call(cache.view(strong, OLD, { now: NOW }));
    const b = await call(cache.view(strong, OLD, { now: NOW }));
    expect(b).toEqual(a);
    expect(strong.calls).toHaveLength(reads);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1 });
  });

  it('a record a lookup returned answers a later get by its id without a read', async () => {
    const { strong } = await stores();
    const v = new SharedAdvisoryCache().view(strong, OLD, { now: NOW });
    const [rec] = await v.lookup(...pkgOf(RECORDS[2]));
    expect(await v.get(rec.id)).toBe(rec);
    expect(strong.calls).toEqual([`lookup ${pkgOf(RECORDS[2]).join('/')}`]);
  });

  it('concurrent lookups of one key share one read', async () => {
    const { strong } = await stores();
    const v = new SharedAdvisoryCache().view(strong, OLD, { now: NOW });
    const rs = await Promise.all([1, 2, 3].map(() => v.lookup(...pkgOf(RECORDS[0]))));
    expect(rs[1]).toBe(rs[0]);
    expect(strong.calls).toHaveLength(1);
  });
});

describe('SharedAdvisoryCache: batched gets', () => {
  it.each([
    ['a store with getMany: one call for the turn', true, [`getMany ${RECORDS[0].id},${RECORDS[1].id},nvd:CVE-0000-0001`]],
    ['a store without: single gets, all started in the turn', false, [`get ${RECORDS[0].id}`, `get ${RECORDS[1].id}`, 'get nvd:CVE-0000-0001']],
  ])('%s', async (_n, withGetMany, expected) => {
    const { strong } = await stores(withGetMany);
    const cache = new SharedAdvisoryCache();
    const v = cache.view(strong, OLD, { now: NOW });
    const got = await Promise.all([RECORDS[0].id, RECORDS[1].id, 'nvd:CVE-0000-0001', RECORDS[0].id].map((id) => v.get(id)));
    expect(got.map((r) => r?.id)).toEqual([RECORDS[0].id, RECORDS[1].id, undefined, RECORDS[0].id]);
    expect(strong.calls).toEqual(expected);
    expect(cache.stats.batches).toBe(1);
    expect((await v.getMany([RECORDS[1].id, 'nvd:CVE-0000-0001'])).size).toBe(1);
    expect(strong.calls).toHaveLength(expected.length);
  });
});

describe('SharedAdvisoryCache: revisions', () => {
  it.each<[string, boolean, FeedInfo[]]>([
    ['the same feed states', false, OLD],
    ['a feed synced since (syncedAt)', true, feeds('2026-12-07T11:00:00Z')],
    ['a sync in progress (status)', true, feeds('2026-12-07T10:00:00Z', { status: 'in-progress', pending: 'etag-2' })],
    ['another export revision', true, feeds('2026-12-07T10:00:00Z', { revision: 'etag-3' })],
    ['another source added', true, [...OLD, { source: 'kev', syncedAt: '2026-12-07T09:00:00Z', status: 'complete' }]],
  ])('%s → read again: %s', async (_n, readAgain, next) => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache();
    await cache.view(strong, OLD, { now: NOW }).lookup(...pkgOf(RECORDS[0]));
    await cache.view(strong, next, { now: NOW }).lookup(...pkgOf(RECORDS[0]));
    expect(strong.calls).toHaveLength(readAgain ? 2 : 1);
    expect(revisionKey(next) !== revisionKey(OLD)).toBe(readAgain);
  });

  it('a new revision drops the old one\'s entries; a view of the old revision still open reads through and caches nothing', async () => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache();
    const old = cache.view(strong, OLD, { now: NOW });
    await old.lookup(...pkgOf(RECORDS[0]));
    await old.get(RECORDS[1].id);
    const fresh = cache.view(strong, feeds('2026-12-07T11:00:00Z'), { now: NOW });
    expect(cache.size).toBe(0);
    expect(cache.stats.invalidated).toBeGreaterThanOrEqual(2);
    await old.lookup(...pkgOf(RECORDS[0]));
    expect(cache.size).toBe(0);
    await fresh.lookup(...pkgOf(RECORDS[0]));
    expect(cache.size).toBeGreaterThan(0);
    expect(strong.calls.filter((c) => c.startsWith('lookup'))).toHaveLength(3);
  });

  it('two advisory tables (namespaces) with the same feed states never share entries', async () => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache();
    await cache.view(strong, OLD, { namespace: 'table-a', now: NOW }).lookup(...pkgOf(RECORDS[0]));
    await cache.view(strong, OLD, { namespace: 'table-b', now: NOW }).lookup(...pkgOf(RECORDS[0]));
    expect(strong.calls).toHaveLength(2);
  });

  it.each([
    ['synced 2 hours ago: settled, the eventual reader', OLD, 'eventual'],
    ['synced 10 s ago: strongly consistent reads', feeds('2026-12-07T11:59:50Z'), 'strong'],
    ['never synced: strongly consistent reads', [{ source: 'osv:crates.io' }], 'strong'],
  ])('%s', async (_n, fs, which) => {
    const { strong, eventual } = await stores();
    const v = new SharedAdvisoryCache().view(strong, fs as FeedInfo[], { eventual, now: NOW });
    await v.lookup(...pkgOf(RECORDS[0]));
    expect({ strong: strong.calls.length, eventual: eventual.calls.length }).toEqual(which === 'strong' ? { strong: 1, eventual: 0 } : { strong: 0, eventual: 1 });
  });

  it('a write through a view drops the cache (its answers may no longer hold) and goes to the strong store', async () => {
    const { strong, eventual } = await stores();
    const cache = new SharedAdvisoryCache();
    const v = cache.view(strong, OLD, { eventual, now: NOW });
    await v.lookup(...pkgOf(RECORDS[0]));
    await v.upsert([{ ...RECORDS[0], modified: '2027-01-01T00:00:00Z' }]);
    expect(strong.calls).toEqual(['upsert']);
    expect(cache.size).toBe(0);
  });
});

describe('SharedAdvisoryCache: bounds and failures', () => {
  it.each<[string, { maxEntries?: number; maxBytes?: number }, number]>([
    ['by entries: 2 kept', { maxEntries: 2 }, 2],
    ['by bytes: a budget below one record keeps nothing of it', { maxBytes: 300 }, 0],
  ])('evicts the least recently used %s', async (_n, bounds, kept) => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache(bounds);
    const v = cache.view(strong, OLD, { now: NOW });
    for (const r of RECORDS) await v.get(r.id);
    expect(cache.size).toBe(kept);
    expect(cache.heldBytes).toBeLessThanOrEqual(bounds.maxBytes ?? Infinity);
    strong.calls.length = 0;
    // The newest is kept (when anything is); the oldest was evicted.
    await v.get(RECORDS[2].id);
    await v.get(RECORDS[0].id);
    expect(strong.calls).toEqual(kept > 0 ? [`getMany ${RECORDS[0].id}`] : [`getMany ${RECORDS[2].id}`, `getMany ${RECORDS[0].id}`]);
  });

  it('a recently used entry survives over an older one', async () => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache({ maxEntries: 2 });
    const v = cache.view(strong, OLD, { now: NOW });
    await v.get(RECORDS[0].id);
    await v.get(RECORDS[1].id);
    await v.get(RECORDS[0].id); // used again: now the newest
    await v.get(RECORDS[2].id); // evicts RECORDS[1]
    strong.calls.length = 0;
    await v.get(RECORDS[0].id);
    await v.get(RECORDS[1].id);
    expect(strong.calls).toEqual([`getMany ${RECORDS[1].id}`]);
    expect(cache.stats.evictions).toBeGreaterThanOrEqual(2);
  });

  it.each<[string, (v: CachedAdvisoryStore) => Promise<unknown>]>([
    ['lookup', (v) => v.lookup(...pkgOf(RECORDS[0]))],
    ['get', (v) => v.get(RECORDS[0].id)],
  ])('a failed %s is not cached: every waiter gets the error, the next call reads again', async (_n, call) => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache();
    const v = cache.view(strong, OLD, { now: NOW });
    strong.failNext = 1;
    await expect(Promise.all([call(v), call(v)])).rejects.toThrow(/store down/);
    expect(cache.size).toBe(0);
    await expect(call(v)).resolves.toBeDefined();
    expect(strong.calls).toHaveLength(2);
  });
});

describe('SharedAdvisoryCache: a feed still syncing is no revision', () => {
  // feed-sync writes a feed batch by batch under one unchanged `in-progress` state and enqueues each
  // batch's re-evaluations as it goes: an answer cached before a batch must not hide it from them.
  const SYNCING = feeds('2026-12-07T10:00:00Z', { status: 'in-progress' });
  it('a record written between two evaluations under the same in-progress state is seen by the second, read strongly', async () => {
    const { strong, eventual } = await stores();
    const cache = new SharedAdvisoryCache();
    const [e, n] = pkgOf(RECORDS[0]);
    const before = await cache.view(strong, SYNCING, { now: NOW, eventual }).lookup(e, n);
    const added: OsvRecord = { ...RECORDS[0], id: 'RUSTSEC-2099-0001', aliases: [] };
    await strong.inner.upsert([added]);
    const after = await cache.view(strong, SYNCING, { now: NOW, eventual }).lookup(e, n);
    expect(after.map((r) => r.id)).toEqual([...before.map((r) => r.id), added.id].sort());
    expect(strong.calls).toEqual([`lookup ${e}/${n}`, `lookup ${e}/${n}`]);
    expect(eventual.calls).toEqual([]);
  });

  it('a finished revision cached before is left as it was (the syncing views do not drop it)', async () => {
    const { strong } = await stores();
    const cache = new SharedAdvisoryCache();
    const [e, n] = pkgOf(RECORDS[1]);
    await cache.view(strong, OLD, { now: NOW }).lookup(e, n);
    await cache.view(strong, SYNCING, { now: NOW }).lookup(e, n);
    await cache.view(strong, OLD, { now: NOW }).lookup(e, n);
    expect(strong.calls).toEqual([`lookup ${e}/${n}`, `lookup ${e}/${n}`]);
  });
});
