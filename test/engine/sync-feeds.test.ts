/**
 * syncFeeds: per-source status (complete / in-progress / failed), revision, record count and the
 * ecosystems the records name; resume after an interruption or a failure; incremental reads keep the
 * ecosystems of earlier complete reads. Exports are real zips (fflate) in a temp folder, read through
 * the same `openFeed` file sources the CLI uses; the store is the real embedded one.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { openFeed } from '../../lib/engine/advisories/feed';
import { feedInfoOf } from '../../lib/engine/advisories/feed-state';
import { MemoryAdvisoryStore } from '../../lib/engine/advisories/memory-store';
import type { FeedState } from '../../lib/engine/ports';
import { syncFeeds, type FeedSourceLike } from '../../lib/engine/sync-feeds';
import { EmbeddedAdvisoryStore } from '../../lib/local/advisory-store';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'trustctl-sync-feeds-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One record: id, modified, and the (ecosystem, name) pairs it affects. */
type Rec = [id: string, modified: string, affected: [string, string][]];

const json = ([id, modified, affected]: Rec): Uint8Array =>
  strToU8(JSON.stringify({
    id, modified,
    affected: affected.map(([ecosystem, name]) => ({ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9' }] }] })),
  }));

let seq = 0;
/** Writes `<dir>/<Ecosystem>/all.zip` with the records (or raw bytes) and a distinct mtime, so its fingerprint changes. */
function writeExport(dir: string, ecosystem: string, content: Rec[] | Uint8Array): string {
  mkdirSync(join(dir, ecosystem), { recursive: true });
  const file = join(dir, ecosystem, 'all.zip');
  writeFileSync(file, content instanceof Uint8Array ? content : zipSync(Object.fromEntries(content.map((r) => [`${r[0]}.json`, json(r)]))));
  const t = new Date(Date.UTC(2026, 0, 1) + ++seq * 1000);
  utimesSync(file, t, t);
  return file;
}

const DEBIAN: Rec[] = [
  ['DSA-1', '2026-01-01T00:00:00Z', [['Debian:11', 'openssl'], ['Debian:12', 'openssl']]],
  ['DSA-2', '2026-01-02T00:00:00Z', [['Debian:12', 'curl']]],
];
const PYPI: Rec[] = [['PYSEC-1', '2026-01-01T00:00:00Z', [['PyPI', 'requests']]]];
const NPM: Rec[] = [['GHSA-1', '2026-01-01T00:00:00Z', [['npm', 'left-pad']]]];

async function withStore<T>(dir: string, fn: (s: EmbeddedAdvisoryStore) => Promise<T>): Promise<T> {
  const s = await EmbeddedAdvisoryStore.open(dir);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const stateOf = (s: EmbeddedAdvisoryStore, source: string): Promise<FeedState | undefined> => s.getFeedState(source);

describe('syncFeeds: per-source status and coverage', () => {
  it('a complete sync records status, revision, records and the ecosystems the records name (not the folder name)', async () => {
    const feeds = join(tmp, 'complete');
    writeExport(feeds, 'Debian', DEBIAN);
    writeExport(feeds, 'PyPI', PYPI);
    const sources = await openFeed(feeds);
    await withStore(join(tmp, 'complete-store'), async (s) => {
      const results = await syncFeeds(sources, s);
      expect(results.map((r) => [r.source, r.read, r.ecosystems])).toEqual([
        ['osv:Debian', 2, ['Debian:11', 'Debian:12']],
        ['osv:PyPI', 1, ['PyPI']],
      ]);
      const deb = (await stateOf(s, 'osv:Debian'))!;
      expect(deb).toMatchObject({ status: 'complete', records: 2, modified: '2026-01-02T00:00:00Z', ecosystems: ['Debian:11', 'Debian:12'], fingerprint: await sources[0].fingerprint() });
      expect(deb.pending).toBeUndefined();
      expect(feedInfoOf('osv:Debian', deb)).toMatchObject({ status: 'complete', revision: await sources[0].fingerprint(), ecosystems: ['Debian:11', 'Debian:12'], records: 2 });
      // Unchanged and complete: not read again.
      const again = await syncFeeds(sources, s);
      expect(again.map((r) => [r.source, r.unchanged, r.ecosystems])).toEqual([['osv:Debian', true, ['Debian:11', 'Debian:12']], ['osv:PyPI', true, ['PyPI']]]);
    });
  });

  it('a changed export is read incrementally and its ecosystems are added to those of earlier complete reads', async () => {
    const feeds = join(tmp, 'incremental');
    writeExport(feeds, 'Debian', DEBIAN);
    await withStore(join(tmp, 'incremental-store'), async (s) => {
      await syncFeeds(await openFeed(feeds), s);
      // The new export: DSA-1 unchanged (not newer: not parsed), one new record for a new release.
      writeExport(feeds, 'Debian', [...DEBIAN, ['DSA-3', '2026-02-01T00:00:00Z', [['Debian:13', 'zlib']]]]);
      const [r] = await syncFeeds(await openFeed(feeds), s);
      expect({ read: r.read, ecosystems: r.ecosystems }).toEqual({ read: 1, ecosystems: ['Debian:11', 'Debian:12', 'Debian:13'] });
      expect(await stateOf(s, 'osv:Debian')).toMatchObject({ status: 'complete', records: 1, ecosystems: ['Debian:11', 'Debian:12', 'Debian:13'] });
    });
  });

  it.each([
    { name: 'not a zip', bytes: strToU8('this is not a zip') },
    { name: 'truncated zip', bytes: zipSync({ 'GHSA-1.json': json(NPM[0]) }).subarray(0, 60) },
  ])('an export that cannot be read ($name): the source is failed, covers nothing, the others still sync with keepGoing', async ({ name, bytes }) => {
    const feeds = join(tmp, `failed-${name.replace(/\W+/g, '-')}`);
    writeExport(feeds, 'PyPI', PYPI);
    writeExport(feeds, 'npm', bytes);
    await withStore(join(feeds, '..', `${name.replace(/\W+/g, '-')}-store`), async (s) => {
      const results = await syncFeeds(await openFeed(feeds), s, { keepGoing: true });
      expect(results.map((r) => [r.source, r.error === undefined])).toEqual([['osv:PyPI', true], ['osv:npm', false]]);
      const npm = (await stateOf(s, 'osv:npm'))!;
      expect(npm).toMatchObject({ status: 'failed', syncedAt: '', records: 0 });
      expect(npm.error).toMatch(/zip/);
      expect(npm.ecosystems).toBeUndefined();
      expect(feedInfoOf('osv:npm', npm)).toMatchObject({ status: 'failed' });
    });
  });

  it('without keepGoing the first failure is recorded and thrown', async () => {
    const feeds = join(tmp, 'throws');
    writeExport(feeds, 'npm', strToU8('garbage'));
    const store = new MemoryAdvisoryStore();
    await expect(syncFeeds(await openFeed(feeds), store)).rejects.toThrow(/zip/);
    expect(await store.getFeedState('osv:npm')).toMatchObject({ status: 'failed' });
  });

  it('a failed re-read of a complete source keeps the last complete read (revision, ecosystems); the next sync resumes it', async () => {
    const feeds = join(tmp, 'refail');
    writeExport(feeds, 'Debian', DEBIAN);
    await withStore(join(tmp, 'refail-store'), async (s) => {
      const [first] = await openFeed(feeds);
      const rev1 = await first.fingerprint();
      await syncFeeds([first], s);
      writeExport(feeds, 'Debian', strToU8('broken upload'));
      const [broken] = await openFeed(feeds);
      await syncFeeds([broken], s, { keepGoing: true });
      const st = (await stateOf(s, 'osv:Debian'))!;
      expect(st).toMatchObject({ status: 'failed', fingerprint: rev1, ecosystems: ['Debian:11', 'Debian:12'], pending: await broken.fingerprint() });
      writeExport(feeds, 'Debian', [...DEBIAN, ['DSA-3', '2026-02-01T00:00:00Z', [['Debian:13', 'zlib']]]]);
      const [fixed] = await openFeed(feeds);
      const [r] = await syncFeeds([fixed], s);
      expect({ resumed: r.resumed, read: r.read }).toEqual({ resumed: true, read: 1 });
      expect(await stateOf(s, 'osv:Debian')).toMatchObject({ status: 'complete', fingerprint: await fixed.fingerprint(), ecosystems: ['Debian:11', 'Debian:12', 'Debian:13'] });
    });
  });

  it.each([
    { name: 'a state from before statuses (no status, no ecosystems)', state: { fingerprint: 'X', modified: '2026-12-01T00:00:00Z', syncedAt: '2026-12-01T00:00:00Z', records: 2 } },
    { name: 'an in-progress first sync (killed)', state: { syncedAt: '', records: 0, status: 'in-progress' as const, startedAt: '2026-12-01T00:00:00Z', pending: 'X' } },
  ])('$name is read in full, whatever its fingerprint and modified say', async ({ state }) => {
    const store = new MemoryAdvisoryStore();
    const source: FeedSourceLike = (await openFeed(writeExport(join(tmp, `full-${seq}`), 'Debian', DEBIAN)))[0];
    await store.putFeedState(source.source, { ...state, fingerprint: await source.fingerprint() });
    const [r] = await syncFeeds([source], store);
    expect({ unchanged: r.unchanged, read: r.read, ecosystems: r.ecosystems }).toEqual({ unchanged: false, read: 2, ecosystems: ['Debian:11', 'Debian:12'] });
    expect(await store.getFeedState(source.source)).toMatchObject({ status: 'complete', ecosystems: ['Debian:11', 'Debian:12'] });
  });

  it('every source of a sync is on record as in-progress before the first is read', async () => {
    const feeds = join(tmp, 'preregistered');
    writeExport(feeds, 'PyPI', PYPI);
    writeExport(feeds, 'npm', NPM);
    const store = new MemoryAdvisoryStore();
    const seen: (FeedState | undefined)[] = [];
    const [pypi, npm] = await openFeed(feeds);
    // Look at the npm state at the moment PyPI's export is opened.
    const spy: FeedSourceLike = { source: pypi.source, fingerprint: () => pypi.fingerprint(), open: async () => (seen.push(await store.getFeedState(npm.source)), pypi.open()) };
    await syncFeeds([spy, npm], store);
    expect(seen).toEqual([{ syncedAt: '', records: 0, status: 'in-progress' }]);
    expect(await store.getFeedState(npm.source)).toMatchObject({ status: 'complete', ecosystems: ['npm'] });
  });
});
