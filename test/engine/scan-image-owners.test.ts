/**
 * Ownership of language packages (catalog/owners.ts) is decided on the squashed image, from the file
 * lists the image finally shows — also when every layer comes from the layer cache (the lists are
 * bodies the layer record keeps), and never from a list an upper layer deleted or replaced. Real files of
 * the cached Debian root (read only): pip's METADATA, python3-pip's status stanza and .list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import type { Package } from '../../lib/engine/model';
import { scanImage } from '../../lib/engine/scan-image';
import { buildImage, type LayerSpec } from '../../lib/local/builder/image-builder';
import { MemoryLayerCache } from '../../lib/local/layer-cache';
import { emptyAdvisories } from '../helpers/advisories';
import { debianRootPath } from '../helpers/ground-truth';
import { MemorySource } from '../helpers/memory-source';

const ROOT = debianRootPath();
const real = (path: string): Buffer => readFileSync(join(ROOT, path));
const METADATA = 'usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA';
const LIST = 'var/lib/dpkg/info/python3-pip.list';
const pipStanza = (): string => real('var/lib/dpkg/status').toString('utf8').split(/\n\n+/).find((s) => s.startsWith('Package: python3-pip\n'))! + '\n\n';

const base: LayerSpec = { entries: [{ path: 'etc/os-release', body: real('usr/lib/os-release') }, { path: METADATA, body: real(METADATA) }] };
const dpkg: LayerSpec = { entries: [{ path: 'var/lib/dpkg/status', body: pipStanza() }, { path: LIST, body: real(LIST) }] };
const pip = (pkgs: readonly Package[]) => pkgs.find((p) => p.ecosystem === 'PyPI' && p.name === 'pip');

describe('scanImage attributes dpkg-installed language packages from the squashed image', () => {
  const advisories = emptyAdvisories();

  test('attributed on the first scan and again when every layer comes from the cache', async () => {
    const cache = new MemoryLayerCache();
    const image = buildImage({ layers: [base, dpkg] });
    const first = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, cache, advisories });
    expect(pip(first.images[0].packages)?.ownedBy?.name).toBe('python3-pip');
    const again = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, cache, advisories });
    expect(again.images[0].layers.map((l) => l.cached)).toEqual([true, true]);
    expect(pip(again.images[0].packages)?.ownedBy?.name).toBe('python3-pip');
  });

  test.each([
    ['an upper layer deletes the .list (whiteout)', { entries: [{ path: 'var/lib/dpkg/info/.wh.python3-pip.list' }] }],
    ['an upper layer replaces the .list with one that does not name pip', { entries: [{ path: LIST, body: '/.\n/usr/share/doc/python3-pip\n' }] }],
    ['an upper layer removes python3-pip from the status', { entries: [{ path: 'var/lib/dpkg/status', body: '' }] }],
  ] as [string, LayerSpec][])('not attributed when %s', async (_name, upper) => {
    const image = buildImage({ layers: [base, dpkg, upper] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories });
    const p = pip(r.images[0].packages);
    expect(p).toBeDefined();
    expect(p!.ownedBy).toBeUndefined();
  });
});
