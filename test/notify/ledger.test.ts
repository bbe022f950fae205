import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotificationLedgerError } from '../../lib/notify/errors';
import { FileNotificationLedger } from '../../lib/notify/file-ledger';
import { MemoryNotificationLedger, type NotificationLedger } from '../../lib/notify/ledger';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'notify-ledger-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Two handles on one ledger: the same object in memory, two instances on one directory (two processes). */
const implementations: [string, () => { a: NotificationLedger; b: NotificationLedger }][] = [
  ['MemoryNotificationLedger', () => {
    const l = new MemoryNotificationLedger();
    return { a: l, b: l };
  }],
  ['FileNotificationLedger', () => ({ a: new FileNotificationLedger(join(dir, 'ledger')), b: new FileNotificationLedger(join(dir, 'ledger')) })],
];

describe.each(implementations)('%s (the ledger contract)', (_name, make) => {
  it('claims a key once', async () => {
    const { a, b } = make();
    expect(await a.claim('k')).toBe(true);
    expect(await a.claim('k')).toBe(false);
    expect(await b.claim('k')).toBe(false);
    expect(await b.claim('other')).toBe(true);
  });

  it('a released key can be claimed again (a later run retries)', async () => {
    const { a, b } = make();
    expect(await a.claim('k')).toBe(true);
    await a.release('k');
    expect(await b.claim('k')).toBe(true);
  });

  it('releasing a key never claimed is a no-op', async () => {
    const { a } = make();
    await expect(a.release('never')).resolves.toBeUndefined();
  });

  it('of many concurrent claims, exactly one wins', async () => {
    const { a, b } = make();
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('race')));
    expect(got.filter(Boolean)).toHaveLength(1);
  });
});

describe('FileNotificationLedger', () => {
  it('creates its directory and names files by the key hash, never the key', async () => {
    const ledger = new FileNotificationLedger(join(dir, 'a', 'b'), { now: () => Date.parse('2026-01-01T00:00:00Z') });
    const key = 'feed-stale:../../etc/passwd:never';
    expect(await ledger.claim(key)).toBe(true);
    const files = await readdir(join(dir, 'a', 'b'));
    expect(files).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.json$/)]);
    expect(ledger.pathOf(key).startsWith(join(dir, 'a', 'b'))).toBe(true);
    expect(JSON.parse(await readFile(ledger.pathOf(key), 'utf8'))).toEqual({ key, claimedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('release deletes the file', async () => {
    const ledger = new FileNotificationLedger(dir);
    await ledger.claim('k');
    await ledger.release('k');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a directory it cannot create is a NotificationLedgerError', async () => {
    const ledger = new FileNotificationLedger(join('/dev/null', 'ledger'));
    await expect(ledger.claim('k')).rejects.toBeInstanceOf(NotificationLedgerError);
  });
});
