import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_LIMITS, resolveLimits } from '../../lib/engine/limits';
import { LimitExceededError } from '../../lib/engine/errors';
import { emptyAdvisories } from '../helpers/advisories';
import { DirectoryTargetError, readDirectoryLayer, scanDirectory } from '../../lib/local/dir-target';

const stanza = (name: string, version: string) => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;

describe('dir: targets', () => {
  let tmp: string;
  let root: string;
  const put = (rel: string, body: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), body);
  };
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'trustctl-dir-'));
    root = join(tmp, 'rootfs');
    mkdirSync(root);
    put('etc/os-release', 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
    put('var/lib/dpkg/status', stanza('bash', '5.2.15-2+b2'));
    put('srv/app/package-lock.json', JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/ms': { version: '2.1.3' } } }));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('inventories an unpacked rootfs like an image', async () => {
    const r = await scanDirectory(root, { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() });
    const img = r.images[0];
    expect(img.os).toMatchObject({ id: 'debian', versionId: '12' });
    expect(img.packages.map((p) => `${p.ecosystem}/${p.name}@${p.version}`).sort()).toEqual(['Debian/bash@5.2.15-2+b2', 'npm/ms@2.1.3']);
    expect(img.packages.find((p) => p.name === 'bash')?.locations).toEqual([{ layer: r.digest, path: '/var/lib/dpkg/status' }]);
    expect(r.ref).toBe(`dir:${root}`);
    expect(r.verdict.status).toBe('trusted');
  });

  it('never follows a link out of the tree, even to a file a cataloger wants', async () => {
    const outside = join(tmp, 'outside');
    mkdirSync(join(outside, 'dpkg'), { recursive: true });
    writeFileSync(join(outside, 'dpkg', 'status'), stanza('evil', '6.6.6'));
    writeFileSync(join(outside, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/evil': { version: '6.6.6' } } }));
    rmSync(join(root, 'var/lib/dpkg'), { recursive: true });
    symlinkSync(join(outside, 'dpkg'), join(root, 'var/lib/dpkg')); // absolute link: a directory outside
    symlinkSync('../../../outside/package-lock.json', join(root, 'srv/app/package-lock.json.bak'));
    rmSync(join(root, 'srv/app/package-lock.json'));
    symlinkSync('../../../outside/package-lock.json', join(root, 'srv/app/package-lock.json')); // relative link: a file outside
    const r = await scanDirectory(root, { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() });
    expect(r.images[0].packages.map((p) => p.name)).not.toContain('evil');
    const layer = await readDirectoryLayer(root, { limits: DEFAULT_LIMITS, wants: () => true });
    expect(layer.entries.get('/var/lib/dpkg')).toMatchObject({ type: 'symlink', linkname: join(outside, 'dpkg') });
    expect(layer.entries.get('/srv/app/package-lock.json')?.body).toBeUndefined();
  });

  it('does not open a FIFO, even at a path a cataloger wants (no hang)', async () => {
    rmSync(join(root, 'srv/app/package-lock.json'));
    execFileSync('mkfifo', [join(root, 'srv/app/package-lock.json')]);
    const layer = await readDirectoryLayer(root, { limits: DEFAULT_LIMITS, wants: () => true });
    expect(layer.entries.get('/srv/app/package-lock.json')).toMatchObject({ type: 'other', typeflag: '6' });
    expect(layer.entries.get('/srv/app/package-lock.json')?.body).toBeUndefined();
  });

  it('has a digest that names the listing: same tree, same digest; a change, another', async () => {
    const a = await readDirectoryLayer(root, { limits: DEFAULT_LIMITS, wants: () => false });
    const b = await readDirectoryLayer(root, { limits: DEFAULT_LIMITS, wants: () => false });
    expect(a.digest).toBe(b.digest);
    put('etc/hostname', 'x\n');
    const c = await readDirectoryLayer(root, { limits: DEFAULT_LIMITS, wants: () => false });
    expect(c.digest).not.toBe(a.digest);
    expect(c.entries.get('/etc/hostname')?.layer).toBe(c.digest);
  });

  it.each([
    ['maxEntries', { maxEntries: 3 }],
    ['maxPathDepth', { maxPathDepth: 2 }],
  ])('stops at %s: a limit error, and a quarantined scan with the reason', async (_n, lim) => {
    await expect(readDirectoryLayer(root, { limits: resolveLimits(lim), wants: () => true })).rejects.toBeInstanceOf(LimitExceededError);
    const r = await scanDirectory(root, { limits: resolveLimits(lim) });
    expect(r.verdict.status).toBe('quarantined');
    expect(r.images[0].findings[0]).toMatchObject({ type: 'unscannable', id: 'LIMIT_EXCEEDED' });
  });

  it('cuts a wanted file at maxCatalogFileBytes and says so: a cut-by-cap unknown naming the cataloger', async () => {
    const layer = await readDirectoryLayer(root, { limits: resolveLimits({ maxCatalogFileBytes: 10 }), wants: (p) => p === '/var/lib/dpkg/status', wantedBy: () => 'dpkg' });
    expect(layer.entries.get('/var/lib/dpkg/status')).toMatchObject({ truncated: true });
    expect(layer.entries.get('/var/lib/dpkg/status')?.body?.length).toBe(10);
    expect(layer.unknowns).toEqual([{ layer: layer.digest, path: '/var/lib/dpkg/status', reason: expect.stringContaining('maxCatalogFileBytes=10'), class: 'cut-by-cap', consumer: 'dpkg' }]);
  });

  it.each([
    ['a missing directory', (t: string) => join(t, 'nope')],
    ['a file', (t: string) => join(t, 'rootfs', 'etc', 'os-release')],
  ])('refuses %s with a clear error', async (_n, path) => {
    await expect(scanDirectory(path(tmp), { limits: DEFAULT_LIMITS })).rejects.toBeInstanceOf(DirectoryTargetError);
  });
});
