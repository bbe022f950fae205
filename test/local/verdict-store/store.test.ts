/**
 * EmbeddedVerdictStore: the shared VerdictStore case table (each test on a fresh directory, the second
 * handle a second store object on the same directory), then what only the embedded store has: its
 * on-disk layout, crash leftovers, the lock, and two real processes racing on the same digests.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerdictStoreCorruptError } from '../../../lib/engine/verdicts/errors';
import { packageKey } from '../../../lib/engine/verdicts/keys';
import { EmbeddedVerdictStore, VERDICT_LOCK_FILE, VERDICT_PACKAGE_LOG, VerdictStoreLockedError, defaultVerdictDir } from '../../../lib/local/verdict-store';
import { digestOf, expectWellFormedHistory, named, smallInventory, verdictStoreContract } from '../../engine/verdicts/contract';

const REPO = join(__dirname, '..', '..', '..');
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'trustctl-verdict-store-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...tree(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

verdictStoreContract(async () => {
  const dir = tempDir();
  return { store: new EmbeddedVerdictStore(dir), other: new EmbeddedVerdictStore(dir) };
});

describe('on disk', () => {
  it('one file per current verdict, per revision, per inventory, and the package log; no lock or temporary file left', async () => {
    const dir = tempDir();
    const s = new EmbeddedVerdictStore(dir);
    const d = digestOf('layout');
    const hex = d.slice('sha256:'.length);
    await s.put(named(d, 'base'));
    await s.put(named(d, 'laterSameFeed'));
    await s.putInventory(d, smallInventory(d));
    await s.indexPackages(d, [packageKey('npm', 'lodash')]);
    expect(tree(dir)).toEqual([
      `history/sha256-${hex}/0000000001.json`,
      `history/sha256-${hex}/0000000002.json`,
      `inventories/sha256-${hex}.json.gz`,
      VERDICT_PACKAGE_LOG,
      `verdicts/sha256-${hex}.json`,
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'verdicts', `sha256-${hex}.json`), 'utf8'))).toEqual({ ...named(d, 'laterSameFeed'), revision: 2 });
    expect(readFileSync(join(dir, VERDICT_PACKAGE_LOG), 'utf8')).toBe(`${JSON.stringify({ digest: d, keys: [packageKey('npm', 'lodash')] })}\n`);
  });

  it('reads on a directory that does not exist answer "nothing" and create nothing', async () => {
    const dir = join(tempDir(), 'absent');
    const s = new EmbeddedVerdictStore(dir);
    expect(await s.get(digestOf('x'))).toBeUndefined();
    expect(await s.history(digestOf('x'))).toEqual([]);
    expect(await s.getInventory(digestOf('x'))).toBeUndefined();
    expect(await s.digestsForPackage(packageKey('npm', 'x'))).toEqual([]);
    expect(await s.listDigests()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it.each([
    { name: 'TRUSTCTL_DATA_DIR', env: { TRUSTCTL_DATA_DIR: '/data', XDG_DATA_HOME: '/xdg' }, want: '/data/verdicts' },
    { name: 'XDG_DATA_HOME', env: { XDG_DATA_HOME: '/xdg' }, want: '/xdg/trustctl/verdicts' },
  ])('defaultVerdictDir: $name', ({ env, want }) => {
    expect(defaultVerdictDir(env)).toBe(want);
  });
});

describe('what a crashed writer leaves behind', () => {
  it('a history file above the current revision (crash between the two renames) is ignored, then replaced', async () => {
    const dir = tempDir();
    const s = new EmbeddedVerdictStore(dir);
    const d = digestOf('orphan history');
    await s.put(named(d, 'base'));
    const orphan = join(dir, 'history', `sha256-${d.slice(7)}`, '0000000002.json');
    writeFileSync(orphan, JSON.stringify({ ...named(d, 'laterSameFeed'), revision: 2 }));
    expect(await s.history(d)).toEqual([{ ...named(d, 'base'), revision: 1 }]);
    expect(await s.put(named(d, 'newerFeedEarlier'))).toMatchObject({ written: true, revision: 2 });
    const history = await s.history(d);
    expect(history).toEqual([{ ...named(d, 'newerFeedEarlier'), revision: 2 }, { ...named(d, 'base'), revision: 1 }]);
    expectWellFormedHistory(history, await s.get(d));
  });

  it('a torn line at the end of the package log is skipped by readers and cut off by the next writer', async () => {
    const dir = tempDir();
    const s = new EmbeddedVerdictStore(dir);
    const [a, b] = [digestOf('torn a'), digestOf('torn b')];
    const key = packageKey('npm', 'torn');
    await s.indexPackages(a, [key]);
    appendFileSync(join(dir, VERDICT_PACKAGE_LOG), '{"digest":"sha256:0123');
    expect(await new EmbeddedVerdictStore(dir).digestsForPackage(key)).toEqual([a]);
    await new EmbeddedVerdictStore(dir).indexPackages(b, [key]);
    const lines = readFileSync(join(dir, VERDICT_PACKAGE_LOG), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([{ digest: a, keys: [key] }, { digest: b, keys: [key] }]);
    expect(await s.digestsForPackage(key)).toEqual([a, b].sort());
  });

  it('temporary files are never read as data', async () => {
    const dir = tempDir();
    const s = new EmbeddedVerdictStore(dir);
    await s.put(named(digestOf('real'), 'base'));
    writeFileSync(join(dir, 'verdicts', `.sha256-${digestOf('tmp').slice(7)}.json.123.abcd.tmp`), '{"half');
    expect(await s.listDigests()).toEqual([digestOf('real')]);
  });

  it('the lock of a dead process is taken over', async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dir, VERDICT_LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), token: 'dead', since: '2026-01-01T00:00:00Z' }));
    const s = new EmbeddedVerdictStore(dir, { lockTimeoutMs: 2000 });
    expect(await s.put(named(digestOf('after a dead lock'), 'base'))).toMatchObject({ written: true, revision: 1 });
    expect(existsSync(join(dir, VERDICT_LOCK_FILE))).toBe(false);
  });

  it.each([
    { name: 'a verdict file that is not JSON', file: (h: string) => `verdicts/sha256-${h}.json`, body: '{"digest":', call: (s: EmbeddedVerdictStore) => s.get(digestOf('corrupt')) },
    { name: 'a verdict file of another digest', file: (h: string) => `verdicts/sha256-${h}.json`, body: JSON.stringify({ ...named(digestOf('else'), 'base'), revision: 1 }), call: (s: EmbeddedVerdictStore) => s.get(digestOf('corrupt')) },
    { name: 'an inventory that is not gzip', file: (h: string) => `inventories/sha256-${h}.json.gz`, body: '{}', call: (s: EmbeddedVerdictStore) => s.getInventory(digestOf('corrupt')) },
    { name: 'a complete package log line that is not JSON', file: () => VERDICT_PACKAGE_LOG, body: 'garbage\n', call: (s: EmbeddedVerdictStore) => s.digestsForPackage('x') },
  ])('$name → VerdictStoreCorruptError, never "nothing stored"', async ({ file, body, call }) => {
    const dir = tempDir();
    const f = join(dir, file(digestOf('corrupt').slice(7)));
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, body);
    await expect(call(new EmbeddedVerdictStore(dir))).rejects.toThrow(VerdictStoreCorruptError);
  });
});

describe('the lock', () => {
  /** A lock file naming a live process (our parent), as another writer in the middle of a put would leave. */
  const holdLock = (dir: string): string => {
    const file = join(dir, VERDICT_LOCK_FILE);
    writeFileSync(file, JSON.stringify({ pid: process.ppid, host: hostname(), token: 'other-writer', since: new Date().toISOString() }));
    return file;
  };

  it('a writer waits for a live holder and gives up with VerdictStoreLockedError; nothing written', async () => {
    const dir = tempDir();
    holdLock(dir);
    const s = new EmbeddedVerdictStore(dir, { lockTimeoutMs: 300 });
    const d = digestOf('locked');
    await expect(s.put(named(d, 'base'))).rejects.toThrow(VerdictStoreLockedError);
    await expect(s.indexPackages(d, [packageKey('npm', 'x')])).rejects.toThrow(VerdictStoreLockedError);
    expect(await s.get(d)).toBeUndefined();
    expect(await s.digestsForPackage(packageKey('npm', 'x'))).toEqual([]);
    // The waiting tickets went with the calls.
    expect(readdirSync(join(dir, 'waiting'))).toEqual([]);
  });

  it('a writer steps aside for a fresh ticket of a caller that started waiting before it, and goes once it is gone', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'waiting'));
    const ticket = join(dir, 'waiting', `${String(Date.now() - 50).padStart(15, '0')}-${process.ppid}-00000000`);
    writeFileSync(ticket, '');
    const s = new EmbeddedVerdictStore(dir, { lockTimeoutMs: 10_000 });
    const d = digestOf('fair');
    const put = s.put(named(d, 'base'));
    // Keep the ticket fresh, as its waiter would, for a while: the lock is free but not ours.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      utimesSync(ticket, new Date(), new Date());
    }
    expect(await s.get(d)).toBeUndefined();
    unlinkSync(ticket);
    expect(await put).toMatchObject({ written: true, revision: 1 });
  });

  it('a ticket nobody refreshes (its waiter died) does not block anyone', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'waiting'));
    const ticket = join(dir, 'waiting', `${'1'.padStart(15, '0')}-1-00000000`);
    writeFileSync(ticket, '');
    utimesSync(ticket, new Date(0), new Date(0));
    const s = new EmbeddedVerdictStore(dir, { lockTimeoutMs: 500 });
    expect(await s.put(named(digestOf('stale ticket'), 'base'))).toMatchObject({ written: true, revision: 1 });
  });

  it('a writer waiting for the lock proceeds once it is released', async () => {
    const dir = tempDir();
    const file = holdLock(dir);
    const s = new EmbeddedVerdictStore(dir, { lockTimeoutMs: 10_000 });
    const d = digestOf('released');
    const put = s.put(named(d, 'base'));
    await new Promise((r) => setTimeout(r, 200));
    expect(await s.get(d)).toBeUndefined();
    unlinkSync(file);
    expect(await put).toMatchObject({ written: true, revision: 1 });
  });
});

describe('two processes racing on the same digests (RELIABILITY.md 30)', () => {
  const ROUNDS = 40;

  function start(dir: string, role: 'older' | 'newer'): { child: ChildProcessWithoutNullStreams; ready: Promise<void>; done: Promise<{ written: boolean; revision?: number }[]> } {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'put-child.ts'), dir, role, String(ROUNDS)], { cwd: REPO });
    let out = '';
    let err = '';
    let onReady: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.startsWith('ready\n')) onReady();
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const done = new Promise<{ written: boolean; revision?: number }[]>((resolve, reject) =>
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length)) as { written: boolean; revision?: number }[]) : reject(new Error(`${role} child exited ${code}: ${err}`)))),
    );
    return { child, ready, done };
  }

  it(`${ROUNDS} digests, an older and a newer evaluation of each put from two processes at once (opposite orders): the newer stays, no update lost`, async () => {
    const dir = tempDir();
    const older = start(dir, 'older');
    const newer = start(dir, 'newer');
    await Promise.all([older.ready, newer.ready]);
    older.child.stdin.write('go\n');
    newer.child.stdin.write('go\n');
    const [olderResults, newerResults] = await Promise.all([older.done, newer.done]);

    const s = new EmbeddedVerdictStore(dir);
    const shapes = { 'older landed first': 0, 'newer landed first': 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const d = digestOf(`cross-process #${i}`);
      const history = await s.history(d);
      expectWellFormedHistory(history, await s.get(d));
      if (history.length === 2) {
        expect(history).toEqual([{ ...named(d, 'newerFeedEarlier'), revision: 2 }, { ...named(d, 'olderFeedLater'), revision: 1 }]);
        expect({ i, older: olderResults[i], newer: newerResults[i] }).toEqual({ i, older: { written: true, revision: 1 }, newer: { written: true, revision: 2 } });
        shapes['older landed first']++;
      } else {
        expect(history).toEqual([{ ...named(d, 'newerFeedEarlier'), revision: 1 }]);
        expect({ i, older: olderResults[i], newer: newerResults[i] }).toEqual({ i, older: { written: false }, newer: { written: true, revision: 1 } });
        shapes['newer landed first']++;
      }
      expect(await s.digestsForPackage(packageKey('npm', `older-${i}`))).toEqual([d]);
      expect(await s.digestsForPackage(packageKey('npm', `newer-${i}`))).toEqual([d]);
    }
    // No append to the shared key was lost either.
    expect(await s.digestsForPackage(packageKey('npm', 'shared'))).toHaveLength(ROUNDS);
    expect(await s.listDigests()).toHaveLength(ROUNDS);
    expect(existsSync(join(dir, VERDICT_LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, 'waiting')) ? readdirSync(join(dir, 'waiting')) : []).toEqual([]);
    // The children walk the digests in opposite orders: each landed first somewhere.
    expect(shapes['older landed first']).toBeGreaterThan(0);
    expect(shapes['newer landed first']).toBeGreaterThan(0);
    console.info(`cross-process race over ${ROUNDS} digests: ${JSON.stringify(shapes)}`);
  }, 60_000);
});
