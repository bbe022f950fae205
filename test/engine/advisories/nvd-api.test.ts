/**
 * The NVD CVE API 2.0 client (advisories/nvd-api.ts) against a real HTTP server on 127.0.0.1 that
 * implements the API's paging, date filtering, apiKey header and rate limit over the 40 real corpus
 * records (test/helpers/nvd-api-server.ts). Time is a fake clock shared by client and server: the rate
 * limiter's waits advance it, nothing really waits, and no assertion is about elapsed time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFeed } from '../../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { nvdDateParam, nvdWindows, RateLimiter, retryAfterMs, type NvdApiOptions } from '../../../lib/engine/advisories/nvd-api';
import { syncFeeds } from '../../../lib/engine/sync-feeds';
import { SHARED } from '../../helpers/corpus';
import { NvdApiServer } from '../../helpers/nvd-api-server';

const RECORDS_DIR = join(SHARED, 'corpus', 'nvd', 'records');
const RECORDS = readdirSync(RECORDS_DIR).sort().map((f) => JSON.parse(readFileSync(join(RECORDS_DIR, f), 'utf8')) as Record<string, unknown>);
const IDS = RECORDS.map((r) => `nvd:${r.id as string}`).sort();
const DAY = 24 * 3600 * 1000;

/** A fake clock: `sleep` advances it. */
function fakeTime(start = Date.parse('2026-12-07T12:00:00Z')) {
  const t = { now: start, slept: [] as number[] };
  return {
    t,
    now: () => t.now,
    sleep: async (ms: number) => {
      t.slept.push(ms);
      t.now += ms;
    },
  };
}

let server: NvdApiServer;
let clock: ReturnType<typeof fakeTime>;
beforeEach(async () => {
  clock = fakeTime();
  server = await new NvdApiServer({ records: RECORDS, now: clock.now, apiKey: '11111111-2222-3333-4444-555555555555' }).start();
});
afterEach(() => server.stop());

const sources = (o: NvdApiOptions = {}) => openFeed(server.url, { nvd: { now: clock.now, sleep: clock.sleep, ...o } });

/** No more than `limit` requests of one kind in any rolling 30 s. */
function maxInWindow(ats: number[]): number {
  let max = 0;
  for (const a of ats) max = Math.max(max, ats.filter((b) => b >= a && b < a + 30_000).length);
  return max;
}

describe('NVD API client: paging, windows, rate limits', () => {
  it('first sync without a key: pages through all 40 records within 5 requests per 30 s; the server never refuses', async () => {
    const store = new MemoryAdvisoryStore();
    const src = await sources({ resultsPerPage: 7 });
    expect(src.map((s) => s.source)).toEqual([server.url]);
    const [r] = await syncFeeds(src, store);
    expect(r).toMatchObject({ read: 40, skipped: [], ecosystems: ['NVD'] });
    expect([...r.changed].sort()).toEqual(IDS);
    expect(server.requests.map((q) => q.params.startIndex)).toEqual(['0', '7', '14', '21', '28', '35']);
    expect(server.requests.every((q) => q.params.lastModStartDate === undefined && q.apiKey === undefined)).toBe(true);
    expect(server.rateLimited).toBe(0);
    expect(maxInWindow(server.requests.map((q) => q.at))).toBeLessThanOrEqual(5);
    const state = await store.getFeedState(server.url);
    expect(state).toMatchObject({ status: 'complete', records: 40, ecosystems: ['NVD'] });
  });

  it('with the API key (header, never the URL): 50 per 30 s allowed, the key reaches the server', async () => {
    const [r] = await syncFeeds(await sources({ resultsPerPage: 1, apiKey: '11111111-2222-3333-4444-555555555555' }), new MemoryAdvisoryStore());
    expect(r.read).toBe(40);
    expect(server.requests).toHaveLength(40);
    expect(server.requests.every((q) => q.apiKey === '11111111-2222-3333-4444-555555555555' && !('apiKey' in q.params))).toBe(true);
    expect(server.rateLimited).toBe(0);
  });

  it('an invalid key → FeedError with NVD\'s message; the source is marked failed', async () => {
    const store = new MemoryAdvisoryStore();
    await expect(syncFeeds(await sources({ apiKey: 'wrong' }), store)).rejects.toThrow(/HTTP 404 \(Invalid apiKey\)/);
    expect((await store.getFeedState(server.url))?.status).toBe('failed');
  });

  it('incremental: the next sync asks lastModStartDate (newest lastModified less the overlap) … now, and takes only what changed', async () => {
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await sources(), store);
    const newest = (await store.getFeedState(server.url))!.modified!;
    // NVD revises one record a day later.
    clock.t.now += DAY;
    const i = RECORDS.findIndex((x) => x.id === 'CVE-2023-29403');
    server.records[i] = { ...RECORDS[i], lastModified: new Date(clock.t.now - 3600_000).toISOString().replace(/Z$/, ''), vulnStatus: 'Analyzed' };
    server.requests.length = 0;
    const [r] = await syncFeeds(await sources({ overlapMs: 60_000 }), store);
    expect(r.changed).toEqual(['nvd:CVE-2023-29403']);
    const q = server.requests.at(-1)!.params;
    expect(q.lastModStartDate).toBe(nvdDateParam(Date.parse(newest) - 60_000));
    expect(q.lastModEndDate).toBe(nvdDateParam(clock.t.now));
    expect((await store.getFeedState(server.url))?.modified).toBe(`${server.records[i].lastModified as string}Z`);
  });

  it('a gap longer than 120 days is split into windows the server accepts', async () => {
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await sources(), store);
    const from = Date.parse((await store.getFeedState(server.url))!.modified!) - 15 * 60_000;
    clock.t.now += 400 * DAY;
    const end = clock.t.now; // the sync's end is fixed when it starts (the rate limiter's waits then move the clock)
    server.requests.length = 0;
    const [r] = await syncFeeds(await sources(), store);
    expect(r.skipped).toEqual([]);
    // One request per window (each holds at most one page here), consecutive, from the last newest to the start of the sync.
    expect(server.requests.length).toBe(Math.ceil((end - from) / (120 * DAY)));
    expect(server.requests[0].params.lastModStartDate).toBe(nvdDateParam(from));
    expect(server.requests.at(-1)!.params.lastModEndDate).toBe(nvdDateParam(end));
    for (const q of server.requests) {
      expect(q.status).toBe(200);
      expect(Date.parse(q.params.lastModEndDate) - Date.parse(q.params.lastModStartDate)).toBeLessThanOrEqual(120 * DAY);
    }
  });

  it.each([
    { name: 'no Retry-After: exponential backoff', retryAfter: undefined },
    { name: 'Retry-After: 30 honoured', retryAfter: 30 },
  ])('a client configured past the limit is refused 403 and retries ($name); no record is lost', async ({ retryAfter }) => {
    await server.stop();
    server = await new NvdApiServer({ records: RECORDS, now: clock.now, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) }).start();
    const [r] = await syncFeeds(await sources({ resultsPerPage: 4, requestsPerWindow: 100, minIntervalMs: 0 }), new MemoryAdvisoryStore());
    expect(r.read).toBe(40);
    expect(server.rateLimited).toBeGreaterThan(0);
    if (retryAfter !== undefined) expect(clock.t.slept).toContain(retryAfter * 1000);
  });

  it('retries are bounded: a server that always refuses fails the sync', async () => {
    await server.stop();
    server = await new NvdApiServer({ records: RECORDS, now: () => 0 }).start(); // its clock never moves: every request after 5 is refused
    const err = await syncFeeds(await sources({ resultsPerPage: 1, requestsPerWindow: 100, minIntervalMs: 0, maxRetries: 3 }), new MemoryAdvisoryStore()).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/HTTP 403, 3 retries exhausted/);
  });

  it('totalResults changing mid-window (NVD revised a record meanwhile): the window is paged again, nothing is lost', async () => {
    const extra = { ...RECORDS[0], id: 'CVE-2000-0001', lastModified: '2000-01-01T00:00:00.000' };
    server.beforeAnswer = (n) => {
      // A record sorting first appears after the second page: every later position shifts by one.
      if (n === 2) server.records = [extra, ...server.records];
    };
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(await sources({ resultsPerPage: 10 }), store);
    expect([...r.changed].sort()).toEqual([...IDS, 'nvd:CVE-2000-0001'].sort());
    expect(r.read).toBe(41);
    expect(server.requests.filter((q) => q.params.startIndex === '0')).toHaveLength(2);
  });

  it('a server claiming 10^6 results but sending empty pages → FeedError, not an endless loop', async () => {
    server.claimTotal = 1_000_000;
    await expect(syncFeeds(await sources(), new MemoryAdvisoryStore())).rejects.toThrow(/startIndex 40 is empty though totalResults is 1000000/);
  });

  it('a server that never ends its answer → FeedError after the idle timeout', async () => {
    server.hang = true;
    await expect(syncFeeds(await sources({ idleTimeoutMs: 200 }), new MemoryAdvisoryStore())).rejects.toThrow(/no data for 200 ms/);
  });

  it('a sync that fails midway (the server goes away) keeps its finished pages and cursor; the next sync continues after them', async () => {
    server.failFrom = 2;
    const store = new MemoryAdvisoryStore();
    const first = await syncFeeds(await sources({ resultsPerPage: 10, maxRetries: 0 }), store, { keepGoing: true });
    expect(first[0].error).toMatch(/HTTP 500/);
    const failed = await store.getFeedState(server.url);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed?.cursor).toMatch(/^nvd1:/);
    // The two pages read before the failure are committed.
    expect(await store.count()).toBe(20);
    server.failFrom = undefined;
    server.requests.length = 0;
    const [r] = await syncFeeds(await sources({ resultsPerPage: 10 }), store);
    expect(r).toMatchObject({ resumed: true, read: 20 });
    expect(server.requests.filter((q) => q.status === 200).map((q) => q.params.startIndex)).toEqual(['20', '30']);
    const done = await store.getFeedState(server.url);
    expect(done).toMatchObject({ status: 'complete' });
    expect(done?.cursor).toBeUndefined();
    expect(await store.count()).toBe(40);
  });

  it('a resumed listing that shrank meanwhile (records left it) is paged again from its start', async () => {
    server.failFrom = 2;
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await sources({ resultsPerPage: 10, maxRetries: 0 }), store, { keepGoing: true });
    server.failFrom = undefined;
    server.records = server.records.slice(5);
    server.requests.length = 0;
    const [r] = await syncFeeds(await sources({ resultsPerPage: 10 }), store);
    // (A new sync's limiter does not know the last sync's requests: the server may refuse one, which is retried.)
    expect(server.requests.filter((q) => q.status === 200).map((q) => q.params.startIndex)).toEqual(['20', '0', '10', '20', '30']);
    expect(r.read).toBe(35);
  });

  it('an incremental sync over several windows resumes at the window it failed in', async () => {
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await sources(), store);
    clock.t.now += 400 * DAY;
    server.requests.length = 0;
    server.failFrom = 2;
    await syncFeeds(await sources({ maxRetries: 0 }), store, { keepGoing: true });
    const windowsBefore = server.requests.filter((q) => q.status === 200).map((q) => q.params.lastModEndDate);
    expect(windowsBefore).toHaveLength(2);
    server.failFrom = undefined;
    server.requests.length = 0;
    const [r] = await syncFeeds(await sources(), store);
    expect(r.resumed).toBe(true);
    // It starts with the third window: where the second ended.
    expect(server.requests.find((q) => q.status === 200)!.params.lastModStartDate).toBe(windowsBefore[1]);
  });
});

describe('NVD API pieces', () => {
  it('RateLimiter: never more than the limit in a rolling window, the pause between requests kept (fake clock)', async () => {
    const c = fakeTime(0);
    const l = new RateLimiter({ limit: 5, windowMs: 30_000, minIntervalMs: 1_000, now: c.now, sleep: c.sleep });
    const at: number[] = [];
    for (let i = 0; i < 23; i++) {
      await l.take();
      at.push(c.t.now);
    }
    expect(maxInWindow(at)).toBe(5);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(1_000);
  });

  it.each([
    ['120', 120_000],
    ['0', 0],
    ['Wed, 21 Oct 2015 07:28:30 GMT', 30_000],
    ['soon', undefined],
  ])('Retry-After %j → %p ms', (v, ms) => {
    expect(retryAfterMs(v, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(ms);
  });

  it('windows: consecutive, each at most 120 days, covering the gap', () => {
    const w = nvdWindows(0, 365 * DAY, 120);
    expect(w).toEqual([[0, 120 * DAY], [120 * DAY, 240 * DAY], [240 * DAY, 360 * DAY], [360 * DAY, 365 * DAY]]);
    expect(nvdDateParam(Date.parse('2026-01-02T03:04:05.006Z'))).toBe('2026-01-02T03:04:05.006+00:00');
  });

  it.each([
    'http://services.nvd.nist.gov/rest/json/cves/2.0',
    'https://user:pw@services.nvd.nist.gov/rest/json/cves/2.0',
    'https://services.nvd.nist.gov/rest/json/cves/2.0?apiKey=x',
  ])('refused URL: %s', async (u) => {
    await expect(openFeed(u)).rejects.toThrow(/only https|no credentials or query/);
  });
});
