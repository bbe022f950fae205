import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LAYER_SHARES, ensureBenchImage, fingerprint, imageRecipe, layerFiles, selectLayers, selectMembers, type LayerRecipe,
} from '../../../bench/image-scan/image';
import { allChecks } from '../../../lib/engine/checks/checks';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { sumCoverage } from '../../../lib/engine/model';
import { openArchiveSource } from '../../../lib/engine/registry/archive';
import { scanImage } from '../../../lib/engine/scan-image';
import { tempDir } from '../../engine/registry/archive/helpers';
import { emptyAdvisories } from '../../helpers/advisories';

/**
 * bench/image-scan/image.ts: the recipe of the whole-image bench (which trees of this machine go into
 * which layer), the member selection under a byte budget, and the streamed OCI layout — read back by our
 * own archive source and scanned in full, and listed by GNU tar.
 */

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('trustctl-bench-image-test-');
});
afterAll(() => tmp.cleanup());

/** A small tree: two files of known bytes, a symlink, a nested directory. */
function tree(name: string): string {
  const root = join(tmp.dir, name);
  mkdirSync(join(root, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'alpha\n');
  writeFileSync(join(root, 'sub', 'b.bin'), Buffer.alloc(3000, 7));
  writeFileSync(join(root, 'sub', 'deep', 'c.txt'), 'gamma\n');
  chmodSync(join(root, 'sub', 'b.bin'), 0o755);
  symlinkSync('a.txt', join(root, 'link'));
  return root;
}

describe('imageRecipe: the three layers of the issue (OS, application, big binaries)', () => {
  const checkout = '/co';
  const present = new Set([
    '/etc/os-release', '/var/lib/dpkg/status', '/usr/bin', '/usr/share', '/co/node_modules', '/co/node_modules/amplify-dynamodb-simulator/emulator', '/usr/lib/jvm',
    '/deb/etc/os-release', '/deb/usr/bin',
  ]);
  const exists = (p: string): boolean => present.has(p);
  it.each([
    ['this machine', undefined, ['/etc/os-release', '/var/lib/dpkg/status', '/usr/bin', '/usr/share']],
    ['the Debian root replaces the OS trees', '/deb', ['/deb/etc/os-release', '/deb/usr/bin']],
  ])('%s', (_name, debianRoot, osHosts) => {
    const r = imageRecipe({ totalBytes: 1000, checkout, exists, ...(debianRoot ? { debianRoot } : {}) });
    expect(r).toHaveLength(3);
    expect(r[0].roots.map((x) => x.hostPath)).toEqual(osHosts);
    // OS paths keep their place in the image whichever root they come from.
    expect(r[0].roots.map((x) => x.imagePath)).toEqual(osHosts.map((h) => h.replace(/^\/deb/, '')));
    expect(r[1].roots).toEqual([
      ...r[1].roots.filter((x) => x.imagePath.startsWith('/usr/')),
      { hostPath: '/co/node_modules/amplify-dynamodb-simulator/emulator', imagePath: '/opt/dynamodb-local' },
      { hostPath: '/co/node_modules', imagePath: '/app/node_modules' },
    ]);
    expect(r[2].roots.map((x) => x.imagePath)).toContain('/usr/lib/jvm');
    expect(r.map((l) => l.maxBytes)).toEqual(LAYER_SHARES.map((s) => Math.floor(1000 * s)));
  });
});

describe('selectMembers', () => {
  it('adds the parents, walks sorted, keeps symlinks as links and stops at the byte budget', () => {
    const root = tree('select');
    const layer = (maxBytes: number): LayerRecipe => ({ createdBy: 't', roots: [{ hostPath: root, imagePath: '/opt/x' }], maxBytes });
    const all = selectMembers(layer(1 << 20));
    expect(all.map((m) => `${m.type} ${m.path}`)).toEqual([
      'dir opt/', 'dir opt/x/', 'file opt/x/a.txt', 'symlink opt/x/link', 'dir opt/x/sub/', 'file opt/x/sub/b.bin', 'dir opt/x/sub/deep/', 'file opt/x/sub/deep/c.txt',
    ]);
    expect(all.find((m) => m.path === 'opt/x/sub/b.bin')).toMatchObject({ size: 3000, mode: 0o755 });
    // The file that crosses the budget is the last one taken.
    expect(selectMembers(layer(10)).filter((m) => m.type === 'file').map((m) => m.path)).toEqual(['opt/x/a.txt', 'opt/x/sub/b.bin']);
  });

  it.each([
    // a.txt is 6 bytes, sub/ holds 3006: the first layer's unused budget lets the second take all of sub/.
    ['unused budget flows to the next layer', 3000, 10, ['x/a.txt'], ['y/sub/b.bin', 'y/sub/deep/c.txt']],
    ['a full first layer leaves the second its own budget', 1, 10, ['x/a.txt'], ['y/sub/b.bin']],
  ])('selectLayers: %s', (_name, first, second, wantFirst, wantSecond) => {
    const root = tree(`carry-${first}`);
    const files = selectLayers([
      { createdBy: '1', roots: [{ hostPath: join(root, 'a.txt'), imagePath: '/x/a.txt' }], maxBytes: first },
      { createdBy: '2', roots: [{ hostPath: join(root, 'sub'), imagePath: '/y/sub' }], maxBytes: second },
    ]).map((l) => l.filter((m) => m.type === 'file').map((m) => m.path));
    expect(files).toEqual([wantFirst, wantSecond]);
  });

  it('a changed file changes the fingerprint (the cache key); the same tree gives the same one', () => {
    const root = tree('fp');
    const layer: LayerRecipe = { createdBy: 't', roots: [{ hostPath: root, imagePath: '/x' }], maxBytes: 1 << 20 };
    const before = fingerprint(selectMembers(layer));
    expect(fingerprint(selectMembers(layer))).toBe(before);
    utimesSync(join(root, 'a.txt'), new Date(0), new Date(1000));
    expect(fingerprint(selectMembers(layer))).not.toBe(before);
  });
});

describe('ensureBenchImage: a streamed OCI layout with a gzip and a zstd flavour', () => {
  it('is read back and scanned in full by trustctl, listed by GNU tar, and reused from the cache', async () => {
    const root = tree('img');
    const recipe: LayerRecipe[] = [
      { createdBy: 'os', roots: [{ hostPath: join(root, 'sub'), imagePath: '/usr/lib/sub' }], maxBytes: 1 << 20 },
      { createdBy: 'app', roots: [{ hostPath: join(root, 'a.txt'), imagePath: '/app/a.txt' }, { hostPath: join(root, 'link'), imagePath: '/app/link' }], maxBytes: 1 << 20 },
    ];
    const cache = join(tmp.dir, 'cache');
    const built = await ensureBenchImage(recipe, cache);
    expect(built.layers.map((l) => [l.createdBy, l.regularFiles, l.regularFileBytes])).toEqual([['os', 2, 3006], ['app', 1, 6]]);

    expect(spawnSync('tar', ['-tzf', layerFiles(built, 'gzip')[0]], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean))
      .toEqual(['usr/', 'usr/lib/', 'usr/lib/sub/', 'usr/lib/sub/b.bin', 'usr/lib/sub/deep/', 'usr/lib/sub/deep/c.txt']);
    expect(spawnSync('tar', ['--zstd', '-xOf', layerFiles(built, 'zstd')[1], 'app/a.txt'], { encoding: 'utf8' }).stdout).toBe('alpha\n');

    for (const target of [built.targets.gzip, built.targets.zstd]) {
      const r = await scanImage(await openArchiveSource(target, DEFAULT_LIMITS), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), checks: allChecks() });
      const cov = sumCoverage(r.images[0].layers)!;
      expect({ target: target.split(':').pop(), files: cov.regularFiles, bytes: cov.regularFileBytes, examined: cov.bytesExaminedInFull })
        .toEqual({ target: target.split(':').pop(), files: 3, bytes: 3012, examined: 3012 });
    }
    const index = JSON.parse(readFileSync(join(built.dir, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['gzip', 'zstd']);

    const again = await ensureBenchImage(recipe, cache);
    expect({ dir: again.dir, buildSeconds: again.buildSeconds }).toEqual({ dir: built.dir, buildSeconds: 0 });
    writeFileSync(join(root, 'a.txt'), 'alpha, changed\n');
    expect((await ensureBenchImage(recipe, cache)).dir).not.toBe(built.dir);
  });
});
