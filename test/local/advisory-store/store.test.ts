import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizePackageName } from '../../../lib/engine/advisories/names';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import {
  ADVISORY_INDEX_FILE,
  ADVISORY_LOCK_FILE,
  AdvisoryStoreClosedError,
  AdvisoryStoreCorruptError,
  AdvisoryStoreLockedError,
  AdvisoryStoreReadOnlyError,
  EmbeddedAdvisoryStore,
  INDEX_LAYOUT_VERSION,
  defaultAdvisoryDir,
} from '../../../lib/local/advisory-store';
import { loadCorpus, newestById } from './corpus';

const REPO = join(__dirname, '..', '..', '..');
const corpus = loadCorpus();
const newest = newestById(corpus);

/** The oracle: which ids each (ecosystem, normalised name) key must return, from the corpus alone. */
const expected = new Map<string, Set<string>>();
for (const r of newest.values()) {
  for (const a of r.affected) {
    const k = `${a.ecosystem}\u0000${normalizePackageName(a.ecosystem, a.name)}`;
    if (!expected.has(k)) expected.set(k, new Set());
    expected.get(k)!.add(r.id);
  }
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'trustctl-advisory-store-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Opens, runs `fn`, always closes: a failing assertion must not leave a lock behind for the next case. */
async function withStore<T>(dir: string, fn: (s: EmbeddedAdvisoryStore) => Promise<T>, opts?: { readOnly?: boolean }): Promise<T> {
  const s = await EmbeddedAdvisoryStore.open(dir, opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function ids(store: EmbeddedAdvisoryStore, ecosystem: string, name: string): Promise<string[]> {
  return (await store.lookup(ecosystem, normalizePackageName(ecosystem, name))).map((r) => r.id);
}

/** Every key of the oracle, looked up: the full picture to compare two stores (or one store twice) by. */
async function snapshot(store: EmbeddedAdvisoryStore): Promise<Map<string, readonly OsvRecord[]>> {
  const out = new Map<string, readonly OsvRecord[]>();
  for (const k of expected.keys()) {
    const [eco, name] = k.split('\u0000');
    out.set(k, await store.lookup(eco, name));
  }
  return out;
}

function shift(modified: string, days: number): string {
  return new Date(Date.parse(modified) + days * 86_400_000).toISOString();
}

function byId(id: string): OsvRecord {
  const r = newest.get(id);
  if (!r) throw new Error(`corpus has no ${id}`);
  return r;
}

function deadPid(): number {
  // A child that has exited and been reaped: its pid names no process (reuse within the test is vanishingly unlikely).
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

describe('EmbeddedAdvisoryStore with the real OSV corpus', () => {
  let dir: string;
  let store: EmbeddedAdvisoryStore;
  beforeAll(async () => {
    dir = tempDir();
    store = await EmbeddedAdvisoryStore.open(dir);
    await store.upsert(corpus);
  });
  afterAll(() => store.close());

  it('counts one record per id', async () => {
    expect(await store.count()).toBe(newest.size);
  });

  it.each([
    { name: 'npm lodash', ecosystem: 'npm', pkg: 'lodash', includes: ['GHSA-29mw-wpgm-hmr9', 'GHSA-jf85-cpcp-j695'] },
    { name: 'RubyGems lodash-rails, listed only inside npm GHSA records', ecosystem: 'RubyGems', pkg: 'lodash-rails', includes: ['GHSA-29mw-wpgm-hmr9', 'GHSA-4xc9-xhrj-v574'] },
    { name: 'NuGet jQuery from a four-ecosystem GHSA', ecosystem: 'NuGet', pkg: 'jQuery', includes: ['GHSA-2pqj-h3vj-pqgw', 'GHSA-6c3j-c64m-qhgq'] },
    { name: 'Maven webjar of jquery', ecosystem: 'Maven', pkg: 'org.webjars.npm:jquery', includes: ['GHSA-2pqj-h3vj-pqgw'] },
    { name: 'Packagist package in a PyPI-folder GHSA', ecosystem: 'Packagist', pkg: 'maximebf/debugbar', includes: ['GHSA-6c3j-c64m-qhgq'] },
    { name: 'RubyGems google-protobuf from Maven GHSA', ecosystem: 'RubyGems', pkg: 'google-protobuf', includes: ['GHSA-h4h5-3hr4-j3g2', 'GHSA-wrvw-hg22-4m67'] },
    { name: 'Debian:12 apparmor, per-release ecosystem', ecosystem: 'Debian:12', pkg: 'apparmor', includes: ['DEBIAN-CVE-2016-1585', 'DEBIAN-CVE-2017-6507'] },
    { name: 'Alpine:v3.19 musl', ecosystem: 'Alpine:v3.19', pkg: 'musl', includes: ['ALPINE-CVE-2025-26519'] },
    { name: 'legacy Alpine record with versions: null', ecosystem: 'Alpine:v3.10', pkg: 'libexif', includes: ['CVE-2012-2812'] },
    { name: 'ecosystem without release is another key', ecosystem: 'Debian', pkg: 'apparmor', includes: [] },
    { name: 'package nobody lists', ecosystem: 'npm', pkg: 'no-such-package-anywhere', includes: [] },
  ])('lookup: $name', async ({ ecosystem, pkg, includes }) => {
    const got = await ids(store, ecosystem, pkg);
    const want = [...(expected.get(`${ecosystem}\u0000${normalizePackageName(ecosystem, pkg)}`) ?? [])].sort();
    expect(got).toEqual(want);
    expect(got).toEqual(expect.arrayContaining(includes));
    if (includes.length === 0) expect(got).toEqual([]);
  });

  it('lookup of every package in the corpus returns exactly the records affecting it, unchanged', async () => {
    const snap = await snapshot(store);
    for (const [k, want] of expected) {
      const got = snap.get(k)!;
      expect({ k, ids: got.map((r) => r.id) }).toEqual({ k, ids: [...want].sort() });
      for (const r of got) expect(r).toEqual(newest.get(r.id));
    }
  });
});

describe('revisions', () => {
  const base = byId('GHSA-29mw-wpgm-hmr9');
  it.each([
    { name: 'older modified never wins', days: -1, changed: false },
    { name: 'equal modified is ignored (feeds are re-read)', days: 0, changed: false },
    { name: 'newer modified replaces', days: 1, changed: true },
  ])('$name', async ({ days, changed }) => {
    await withStore(tempDir(), async (s) => {
      await s.upsert([base]);
      const rev: OsvRecord = { ...base, modified: shift(base.modified, days), summary: 'revised' };
      expect(await s.upsert([rev])).toEqual(changed ? [base.id] : []);
      expect((await s.get(base.id))?.summary).toBe(changed ? 'revised' : base.summary);
      expect(await s.count()).toBe(1);
    });
  });

  it('an older revision after a newer one in the same bulk stream loses, and the id is reported once', async () => {
    await withStore(tempDir(), async (s) => {
      const newer: OsvRecord = { ...base, modified: shift(base.modified, 2), summary: 'newest' };
      const older: OsvRecord = { ...base, modified: shift(base.modified, 1), summary: 'older' };
      async function* feed(): AsyncGenerator<OsvRecord> {
        yield base;
        yield newer;
        yield older;
      }
      expect(await s.upsertMany(feed())).toEqual([base.id]);
      expect((await s.get(base.id))?.summary).toBe('newest');
    });
  });

  it.each([
    {
      name: 'a revision that drops a package removes it from that package only',
      revise: (r: OsvRecord): OsvRecord => ({ ...r, affected: r.affected.filter((a) => a.ecosystem !== 'RubyGems') }),
      gone: [['RubyGems', 'lodash-rails']],
      kept: [['npm', 'lodash']],
    },
    {
      name: 'a revision that renames a package moves it',
      revise: (r: OsvRecord): OsvRecord => ({ ...r, affected: r.affected.map((a) => (a.name === 'lodash' ? { ...a, name: 'lodash-renamed' } : a)) }),
      gone: [['npm', 'lodash']],
      kept: [['npm', 'lodash-renamed'], ['RubyGems', 'lodash-rails']],
    },
    {
      name: 'a revision with no affected packages leaves every lookup but is still counted',
      revise: (r: OsvRecord): OsvRecord => ({ ...r, affected: [] }),
      gone: [['npm', 'lodash'], ['RubyGems', 'lodash-rails']],
      kept: [],
    },
  ])('$name', async ({ revise, gone, kept }) => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      await s.upsert([base]);
      await s.upsert([revise({ ...base, modified: shift(base.modified, 1) })]);
    });
    // Checked after a reopen too: the persisted index must have lost the old keys as well.
    for (const opts of [{}, { readOnly: true }]) {
      await withStore(
        dir,
        async (s) => {
          for (const [eco, name] of gone) expect(await ids(s, eco, name)).toEqual([]);
          for (const [eco, name] of kept) expect(await ids(s, eco, name)).toEqual([base.id]);
          expect(await s.count()).toBe(1);
        },
        opts,
      );
    }
  });

  it.each([
    { name: 'same leap-second revision read again is not a change', first: '2016-12-31T23:59:60Z', second: '2016-12-31T23:59:60Z', changed: false },
    { name: 'a revision after a leap second wins', first: '2016-12-31T23:59:60Z', second: '2017-01-01T00:00:01Z', changed: true },
    { name: 'offsets are compared as instants', first: '2024-05-01T12:00:00+02:00', second: '2024-05-01T11:00:00Z', changed: true },
    { name: 'more fraction digits, same instant', first: '2024-05-01T12:00:00.5Z', second: '2024-05-01T12:00:00.500000Z', changed: false },
  ])('timestamps: $name', async ({ first, second, changed }) => {
    await withStore(tempDir(), async (s) => {
      await s.upsert([{ ...base, modified: first }]);
      expect(await s.upsert([{ ...base, modified: second }])).toEqual(changed ? [base.id] : []);
    });
  });

  it('answers like the reference MemoryAdvisoryStore after the corpus and a round of revisions', async () => {
    const revisions = corpus.filter((_, i) => i % 3 === 0).map((r, i) => ({
      ...r,
      modified: shift(r.modified, i % 2 ? 1 : -1),
      affected: r.affected.slice(0, Math.max(0, r.affected.length - 1)),
    }));
    const reference = new MemoryAdvisoryStore();
    await withStore(tempDir(), async (s) => {
      for (const batch of [corpus, revisions]) expect([...(await s.upsert(batch))].sort()).toEqual([...(await reference.upsert(batch))].sort());
      expect(await s.count()).toBe(await reference.count());
      for (const k of expected.keys()) {
        const [eco, name] = k.split('\u0000');
        const want = (await reference.lookup(eco, name)).map((r) => r.id).sort();
        expect({ k, ids: (await s.lookup(eco, name)).map((r) => r.id) }).toEqual({ k, ids: want });
      }
    });
  });

  it('withdrawn records are returned by lookup, withdrawn field intact', async () => {
    await withStore(tempDir(), async (s) => {
      const withdrawn: OsvRecord = { ...base, modified: shift(base.modified, 1), withdrawn: shift(base.modified, 1) };
      await s.upsert([base, withdrawn]);
      const got = await s.lookup('npm', normalizePackageName('npm', 'lodash'));
      expect(got).toHaveLength(1);
      expect(got[0].withdrawn).toBe(withdrawn.withdrawn);
    });
  });
});

describe('persistence', () => {
  it('reopen after close keeps every record, key and feed state (writer and read-only)', async () => {
    const dir = tempDir();
    let before!: Map<string, readonly OsvRecord[]>;
    await withStore(dir, async (s) => {
      await s.upsertMany(corpus);
      await s.putFeedState('corpus', { modified: '2026-01-01T00:00:00Z', fingerprint: 'size=1;mtime=2', syncedAt: '2026-01-02T00:00:00Z', records: corpus.length });
      before = await snapshot(s);
    });
    for (const opts of [{}, { readOnly: true }]) {
      await withStore(
        dir,
        async (s) => {
          expect(await s.count()).toBe(newest.size);
          expect(await snapshot(s)).toEqual(before);
          expect(await s.getFeedState('corpus')).toEqual({ modified: '2026-01-01T00:00:00Z', fingerprint: 'size=1;mtime=2', syncedAt: '2026-01-02T00:00:00Z', records: corpus.length });
        },
        opts,
      );
    }
  });

  it.each([
    { name: 'putFeedState commits records and state together', commit: (s: EmbeddedAdvisoryStore) => s.putFeedState('npm', { syncedAt: '2026-01-01T00:00:00Z', records: 5 }), visible: true },
    { name: 'flush commits', commit: (s: EmbeddedAdvisoryStore) => s.flush(), visible: true },
    { name: 'upsert alone commits nothing', commit: async () => undefined, visible: false },
  ])('a reader opened while the writer is still open: $name', async ({ commit, visible }) => {
    const dir = tempDir();
    await withStore(dir, async (w) => {
      await w.upsert(corpus.slice(0, 5));
      await commit(w);
      await withStore(
        dir,
        async (r) => {
          expect(await r.count()).toBe(visible ? 5 : 0);
        },
        { readOnly: true },
      );
    });
  });

  it('reopen after a crash (SIGKILL after appending uncommitted records) gives the last committed state', async () => {
    const dir = tempDir();
    const split = 100;
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'crash-child.ts'), dir, String(split)], { cwd: REPO });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect({ signal, err }).toEqual({ signal: 'SIGKILL', err: '' });
    const crashed = JSON.parse(out) as { dataBytes: number; records: number };
    const committed = newestById(corpus.slice(0, split));

    // The crash really left an uncommitted tail and a dead writer's lock.
    const dataFile = join(dir, 'data-0.jsonl');
    const committedBytes = await withStore(dir, async (s) => s.stats().dataBytes, { readOnly: true });
    expect(statSync(dataFile).size).toBe(crashed.dataBytes);
    expect(committedBytes).toBeLessThan(crashed.dataBytes);
    expect(JSON.parse(readFileSync(join(dir, ADVISORY_LOCK_FILE), 'utf8')).pid).toBe(child.pid);

    const check = async (s: EmbeddedAdvisoryStore): Promise<void> => {
      expect(await s.count()).toBe(committed.size);
      expect(await s.getFeedState('corpus-first-half')).toEqual({ syncedAt: '2026-01-01T00:00:00Z', records: split });
      for (const id of newest.keys()) expect({ id, stored: (await s.get(id)) !== undefined }).toEqual({ id, stored: committed.has(id) });
    };
    await withStore(dir, check, { readOnly: true });
    await withStore(dir, async (s) => {
      await check(s);
      // The writer cut the dead tail off, so new appends follow committed data directly.
      expect(statSync(dataFile).size).toBe(committedBytes);
      await s.upsert(corpus.slice(split));
      expect(await s.count()).toBe(newest.size);
    });
    const reference = await withStore(tempDir(), async (ref) => {
      await ref.upsert(corpus);
      return snapshot(ref);
    });
    await withStore(dir, async (s) => expect(await snapshot(s)).toEqual(reference), { readOnly: true });
  }, 30_000);

  it.each([
    { name: 'index replaced by garbage', damage: (dir: string) => writeFileSync(join(dir, ADVISORY_INDEX_FILE), '{"format":') },
    { name: 'index deleted', damage: (dir: string) => rmSync(join(dir, ADVISORY_INDEX_FILE)) },
    { name: 'index truncated', damage: (dir: string) => writeFileSync(join(dir, ADVISORY_INDEX_FILE), readFileSync(join(dir, ADVISORY_INDEX_FILE)).subarray(0, 1000)) },
    {
      name: 'index of another layout version',
      damage: (dir: string) => {
        const b = readFileSync(join(dir, ADVISORY_INDEX_FILE));
        b.writeUInt32LE(INDEX_LAYOUT_VERSION + 1, 8);
        writeFileSync(join(dir, ADVISORY_INDEX_FILE), b);
      },
    },
  ])('an unreadable index is rebuilt from the data file ($name), feed states forgotten', async ({ damage }) => {
    const dir = tempDir();
    let before!: Map<string, readonly OsvRecord[]>;
    await withStore(dir, async (s) => {
      await s.upsert(corpus);
      // A second revision of some records: the rebuild must still pick the newest.
      await s.upsert(corpus.slice(0, 20).map((r) => ({ ...r, modified: shift(r.modified, 1), summary: 'second' })));
      await s.putFeedState('corpus', { syncedAt: '2026-01-01T00:00:00Z', records: 1 });
      before = await snapshot(s);
    });
    damage(dir);
    for (const opts of [{ readOnly: true }, {}, { readOnly: true }]) {
      await withStore(
        dir,
        async (s) => {
          expect(await snapshot(s)).toEqual(before);
          expect(await s.getFeedState('corpus')).toBeUndefined();
        },
        opts,
      );
    }
  });

  it('a data file shorter than the index says fails a reader (fail closed); a writer rebuilds what is left and forgets feed states', async () => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      await s.upsert(corpus.slice(0, 50));
      await s.putFeedState('corpus', { syncedAt: '2026-01-01T00:00:00Z', records: 50 });
    });
    const data = readFileSync(join(dir, 'data-0.jsonl'));
    // Cut in the middle of the 11th record: ten complete lines survive.
    let cut = 0;
    for (let i = 0; i < 10; i++) cut = data.indexOf(0x0a, cut) + 1;
    writeFileSync(join(dir, 'data-0.jsonl'), data.subarray(0, cut + 10));
    await expect(EmbeddedAdvisoryStore.open(dir, { readOnly: true })).rejects.toBeInstanceOf(AdvisoryStoreCorruptError);
    await withStore(dir, async (s) => {
      expect(await s.count()).toBe(newestById(corpus.slice(0, 10)).size);
      expect(await s.getFeedState('corpus')).toBeUndefined();
    });
    expect(statSync(join(dir, 'data-0.jsonl')).size).toBe(cut);
    await withStore(dir, async (s) => expect(await s.count()).toBe(newestById(corpus.slice(0, 10)).size), { readOnly: true });
  });

  it('a data file that disappeared fails a reader; a writer starts over with an empty store', async () => {
    const dir = tempDir();
    await withStore(dir, async (s) => s.upsert(corpus.slice(0, 5)));
    rmSync(join(dir, 'data-0.jsonl'));
    await expect(EmbeddedAdvisoryStore.open(dir, { readOnly: true })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    await withStore(dir, async (s) => expect(await s.count()).toBe(0));
    await withStore(dir, async (s) => expect(await s.count()).toBe(0), { readOnly: true });
  });

  it('a read-only open of a directory that does not exist is an empty store and creates nothing', async () => {
    const dir = join(tempDir(), 'never-synced');
    await withStore(dir, async (s) => expect([await s.count(), await s.lookup('npm', 'lodash')]).toEqual([0, []]), { readOnly: true });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('single writer lock', () => {
  it('a second writer is refused while the lock is held; readers are not; after close the next writer gets in', async () => {
    const dir = tempDir();
    const first = await EmbeddedAdvisoryStore.open(dir);
    try {
      await first.upsert(corpus.slice(0, 3));
      await first.flush();
      const refused = EmbeddedAdvisoryStore.open(dir);
      await expect(refused).rejects.toBeInstanceOf(AdvisoryStoreLockedError);
      await expect(refused).rejects.toMatchObject({ code: 'STORE_LOCKED', pid: process.pid });
      await withStore(dir, async (r) => expect(await r.count()).toBe(3), { readOnly: true });
    } finally {
      await first.close();
    }
    expect(existsSync(join(dir, ADVISORY_LOCK_FILE))).toBe(false);
    await withStore(dir, async (s) => expect(await s.count()).toBe(3));
  });

  it.each([
    { name: 'dead pid on this host is taken over', lock: () => JSON.stringify({ pid: deadPid(), host: hostname(), token: 'old', since: '2020-01-01T00:00:00Z' }), takenOver: true },
    { name: 'old garbage lock file is taken over', lock: () => 'not a lock', ageSeconds: 60, takenOver: true },
    { name: 'fresh unreadable lock file may be one being written: refused', lock: () => '', takenOver: false },
    { name: 'live pid (this process) is refused', lock: () => JSON.stringify({ pid: process.pid, host: hostname(), token: 'other', since: '2020-01-01T00:00:00Z' }), takenOver: false },
    { name: 'another host cannot be probed, so it is refused', lock: () => JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, token: 'old', since: '2020-01-01T00:00:00Z' }), takenOver: false },
  ])('existing lock: $name', async ({ lock, takenOver, ageSeconds = 0 }) => {
    const dir = tempDir();
    writeFileSync(join(dir, ADVISORY_LOCK_FILE), lock());
    const then = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(join(dir, ADVISORY_LOCK_FILE), then, then);
    if (!takenOver) {
      await expect(EmbeddedAdvisoryStore.open(dir)).rejects.toBeInstanceOf(AdvisoryStoreLockedError);
      return;
    }
    await withStore(dir, async (s) => {
      expect(JSON.parse(readFileSync(join(dir, ADVISORY_LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      await s.upsert(corpus.slice(0, 1));
    });
    expect(readdirSync(dir).filter((n) => n.startsWith(ADVISORY_LOCK_FILE))).toEqual([]);
  });

  it('a writer whose lock was taken away refuses to commit', async () => {
    const dir = tempDir();
    const s = await EmbeddedAdvisoryStore.open(dir);
    await s.upsert(corpus.slice(0, 2));
    rmSync(join(dir, ADVISORY_LOCK_FILE));
    await expect(s.flush()).rejects.toBeInstanceOf(AdvisoryStoreLockedError);
    await expect(s.close()).rejects.toBeInstanceOf(AdvisoryStoreLockedError);
    await withStore(dir, async (r) => expect(await r.count()).toBe(0), { readOnly: true });
  });
});

describe('compaction', () => {
  /** The corpus, then every record revised twice: two thirds of the data file are dead revisions. */
  async function churn(s: EmbeddedAdvisoryStore): Promise<void> {
    await s.upsertMany(corpus);
    for (const days of [1, 2]) await s.upsertMany(corpus.map((r) => ({ ...r, modified: shift(r.modified, days), summary: `revision ${days}` })));
  }

  it.each([
    { name: 'automatic at flush when dead revisions exceed half the data file', run: (s: EmbeddedAdvisoryStore) => s.flush() },
    { name: 'explicit compact()', run: (s: EmbeddedAdvisoryStore) => s.compact() },
  ])('$name keeps every lookup equal and drops the old data file', async ({ run }) => {
    const dir = tempDir();
    let before!: Map<string, readonly OsvRecord[]>;
    await withStore(dir, async (s) => {
      await churn(s);
      const pre = s.stats();
      expect(pre.deadBytes * 2).toBeGreaterThan(pre.dataBytes);
      before = await snapshot(s);
      await run(s);
      const post = s.stats();
      expect(post).toMatchObject({ generation: pre.generation + 1, deadBytes: 0, records: pre.records, packages: pre.packages });
      expect(post.dataBytes).toBe(pre.dataBytes - pre.deadBytes);
      expect(await snapshot(s)).toEqual(before);
      expect(readdirSync(dir).filter((n) => n.startsWith('data-'))).toEqual([`data-${post.generation}.jsonl`]);
      // Appends after a compaction land in the new file.
      await s.upsert([{ ...corpus[0], modified: shift(corpus[0].modified, 3), summary: 'after compaction' }]);
      expect((await s.get(corpus[0].id))?.summary).toBe('after compaction');
      before = await snapshot(s);
    });
    await withStore(dir, async (s) => expect(await snapshot(s)).toEqual(before), { readOnly: true });
  });

  it('a flush with few dead revisions does not compact', async () => {
    await withStore(tempDir(), async (s) => {
      await s.upsert(corpus);
      await s.upsert(corpus.slice(0, 10).map((r) => ({ ...r, modified: shift(r.modified, 1) })));
      await s.flush();
      expect(s.stats().generation).toBe(0);
      expect(s.stats().deadBytes).toBeGreaterThan(0);
    });
  });
});

describe('feed state and count', () => {
  it.each([
    { name: 'full state', state: { modified: '2026-03-01T10:00:00.123456Z', fingerprint: '"etag-1"', syncedAt: '2026-03-01T11:00:00Z', records: 33593 } },
    { name: 'minimal state', state: { syncedAt: '2026-03-01T11:00:00Z', records: 0 } },
    { name: 'source name that is an Object prototype key', source: '__proto__', state: { syncedAt: '2026-03-01T11:00:00Z', records: 1 } },
  ])('round trip through a reopen: $name', async ({ source = 'file:/feeds/osv/Debian/all.zip', state }) => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      expect(await s.getFeedState(source)).toBeUndefined();
      await s.putFeedState('zz-other', { syncedAt: '2026-01-01T00:00:00Z', records: 0 });
      await s.putFeedState(source, state);
      expect(await s.getFeedState(source)).toEqual(state);
    });
    await withStore(
      dir,
      async (s) => {
        expect(await s.getFeedState(source)).toEqual(state);
        expect(await s.listFeeds()).toEqual([source, 'zz-other']);
      },
      { readOnly: true },
    );
  });

  it.each([
    { name: 'empty store', records: [] as OsvRecord[], count: 0 },
    { name: 'whole corpus, duplicate ids counted once', records: corpus, count: newest.size },
    { name: 'same batch twice', records: [...corpus.slice(0, 7), ...corpus.slice(0, 7)], count: 7 },
  ])('count: $name', async ({ records, count }) => {
    const dir = tempDir();
    await withStore(dir, async (s) => {
      await s.upsert(records);
      expect(await s.count()).toBe(count);
    });
    await withStore(dir, async (s) => expect(await s.count()).toBe(count), { readOnly: true });
  });
});

describe('guards', () => {
  it.each([
    { name: 'upsert', call: (s: EmbeddedAdvisoryStore) => s.upsert([]) },
    { name: 'upsertMany', call: (s: EmbeddedAdvisoryStore) => s.upsertMany([]) },
    { name: 'putFeedState', call: (s: EmbeddedAdvisoryStore) => s.putFeedState('x', { syncedAt: 'x', records: 0 }) },
    { name: 'flush', call: (s: EmbeddedAdvisoryStore) => s.flush() },
    { name: 'compact', call: (s: EmbeddedAdvisoryStore) => s.compact() },
  ])('read-only store refuses $name', async ({ call }) => {
    const dir = tempDir();
    await withStore(dir, async () => undefined);
    await withStore(dir, async (s) => expect(call(s)).rejects.toBeInstanceOf(AdvisoryStoreReadOnlyError), { readOnly: true });
  });

  it.each([
    { name: 'lookup', call: (s: EmbeddedAdvisoryStore) => s.lookup('npm', 'lodash') },
    { name: 'count', call: (s: EmbeddedAdvisoryStore) => s.count() },
    { name: 'upsert', call: (s: EmbeddedAdvisoryStore) => s.upsert([]) },
  ])('closed store refuses $name', async ({ call }) => {
    const s = await EmbeddedAdvisoryStore.open(tempDir());
    await s.close();
    await s.close(); // idempotent
    await expect(call(s)).rejects.toBeInstanceOf(AdvisoryStoreClosedError);
  });
});

describe('defaultAdvisoryDir', () => {
  it.each([
    { name: 'TRUSTCTL_DATA_DIR wins', env: { TRUSTCTL_DATA_DIR: '/data/t', XDG_DATA_HOME: '/xdg' }, want: '/data/t/advisories' },
    { name: 'XDG_DATA_HOME next', env: { XDG_DATA_HOME: '/xdg' }, want: '/xdg/trustctl/advisories' },
    { name: 'empty values are unset', env: { TRUSTCTL_DATA_DIR: '', XDG_DATA_HOME: '' }, want: join(homedir(), '.local', 'share', 'trustctl', 'advisories') },
    { name: 'home fallback', env: {}, want: join(homedir(), '.local', 'share', 'trustctl', 'advisories') },
  ])('$name', ({ env, want }) => {
    expect(defaultAdvisoryDir(env)).toBe(want);
  });
});
