import { DigestMismatchError } from '../../lib/engine/errors';
import { DEFAULT_LIMITS, resolveLimits } from '../../lib/engine/limits';
import type { Package } from '../../lib/engine/model';
import { layerCacheKey, scanImage } from '../../lib/engine/scan-image';
import { CATALOGERS } from '../../lib/engine/catalog/catalogers';
import { buildImage, buildIndex, type BuiltImage, type LayerSpec } from '../../lib/local/builder/image-builder';
import type { TarEntry } from '../../lib/local/builder/tar-writer';
import { MemoryLayerCache } from '../../lib/local/layer-cache';
import { allChecks } from '../../lib/engine/checks/checks';
import { MemorySource } from '../helpers/memory-source';
import { emptyAdvisories } from '../helpers/advisories';

const advisories = emptyAdvisories();

const stanza = (name: string, version: string, source?: string) =>
  `Package: ${name}\nStatus: install ok installed\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nArchitecture: amd64\n\n`;
const pkgJson = (name: string, version: string) => JSON.stringify({ name, version });
const osRelease = (id: string, versionId: string) => `ID=${id}\nVERSION_ID="${versionId}"\nPRETTY_NAME="${id} ${versionId}"\n`;

const baseLayer = (os: TarEntry[]): LayerSpec => ({
  entries: [
    ...os,
    { path: 'var/lib/dpkg/status', body: stanza('libssl3', '3.0.11-1~deb12u2', 'openssl') + stanza('bash', '5.2.15-2+b2') },
    { path: 'app/node_modules/left-pad/package.json', body: pkgJson('left-pad', '1.3.0') },
    { path: 'app/node_modules/lodash/package.json', body: pkgJson('lodash', '4.17.20') },
  ],
});
const debian = [{ path: 'etc/os-release', body: osRelease('debian', '12') }];
// The app layer removes left-pad (a whiteout) and adds a Go module file.
const appLayer: LayerSpec = {
  compression: 'zstd',
  entries: [{ path: 'app/node_modules/.wh.left-pad' }, { path: 'app/go.mod', body: 'module example.com/app\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n' }],
};

/** The layer blobs a scan downloaded (the config blob is always read, and is small). */
const layersOpened = (src: MemorySource, image: BuiltImage) => {
  const configs = new Set(image.configs.map((c) => c.digest as string));
  return src.opened.filter((d) => !configs.has(d));
};
const byName = (pkgs: readonly Package[], name: string) => pkgs.find((p) => p.name === name);
const names = (pkgs: readonly Package[]) => pkgs.map((p) => `${p.ecosystem}/${p.name}@${p.version}`).sort();

describe('scanImage', () => {
  it('inventories every layer and keeps only what the squashed image still has', async () => {
    const image = buildImage({ layers: [baseLayer(debian), appLayer] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories });
    expect(r.images).toHaveLength(1);
    const img = r.images[0];
    expect(img.os).toMatchObject({ id: 'debian', versionId: '12' });
    expect(names(img.packages)).toEqual(['Debian/bash@5.2.15-2+b2', 'Debian/libssl3@3.0.11-1~deb12u2', 'Go/github.com/google/uuid@v1.6.0', 'npm/lodash@4.17.20']);
    expect(byName(img.packages, 'left-pad')).toBeUndefined();
    expect(img.layers.map((l) => [l.cached, l.packages])).toEqual([[false, 4], [false, 1]]);
    expect(r.verdict.status).toBe('trusted');
  });

  it('completes OS packages with the distribution found in another layer', async () => {
    // The release file comes in the second layer: per-layer inventories cannot know it, the image does.
    const image = buildImage({ layers: [baseLayer([]), { entries: debian }] });
    const img = (await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories })).images[0];
    const ssl = byName(img.packages, 'libssl3');
    expect(ssl).toMatchObject({ ecosystem: 'Debian', distro: 'Debian:12', sourceName: 'openssl' });
    expect(ssl?.purl).toBe('pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12');
    // Language packages are not the distribution's.
    expect(byName(img.packages, 'lodash')).toMatchObject({ purl: 'pkg:npm/lodash@4.17.20' });
    expect(byName(img.packages, 'lodash')?.distro).toBeUndefined();
  });

  it.each([
    ['ubuntu 22.04 (LTS)', osRelease('ubuntu', '22.04'), 'Ubuntu', 'Ubuntu:22.04:LTS', 'pkg:deb/ubuntu/bash@5.2.15-2+b2?arch=amd64&distro=ubuntu-22.04'],
    ['debian 12', osRelease('debian', '12'), 'Debian', 'Debian:12', 'pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12'],
  ])('dpkg packages of %s', async (_name, release, ecosystem, distro, purl) => {
    const image = buildImage({ layers: [baseLayer([{ path: 'etc/os-release', body: release }])] });
    const img = (await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories })).images[0];
    expect(byName(img.packages, 'bash')).toMatchObject({ ecosystem, distro, purl });
  });

  it('reuses a cached layer without downloading it, for any image that shares it', async () => {
    const cache = new MemoryLayerCache();
    const first = buildImage({ layers: [baseLayer(debian), appLayer] });
    const src1 = MemorySource.fromBuilt(first);
    const r1 = await scanImage(src1, { limits: DEFAULT_LIMITS, cache, advisories });
    expect(layersOpened(src1, first)).toHaveLength(2);
    expect(cache.size).toBe(2);

    // Another image on the same base layer: only its own new layer is downloaded.
    const second = buildImage({ layers: [baseLayer(debian), { entries: [{ path: 'app/node_modules/express/package.json', body: pkgJson('express', '4.19.2') }] }] });
    const src2 = MemorySource.fromBuilt(second);
    const r2 = await scanImage(src2, { limits: DEFAULT_LIMITS, cache, advisories });
    expect(layersOpened(src2, second)).toEqual([second.images[0].layers[1].descriptor.digest]);
    expect(r2.images[0].layers.map((l) => l.cached)).toEqual([true, false]);
    expect(names(r2.images[0].packages)).toContain('npm/left-pad@1.3.0');
    expect(names(r2.images[0].packages)).toContain('npm/express@4.19.2');

    // The same image again: nothing downloaded, the same inventory (distro completed from the cached release file).
    const src3 = MemorySource.fromBuilt(first);
    const r3 = await scanImage(src3, { limits: DEFAULT_LIMITS, cache, advisories });
    expect(layersOpened(src3, first)).toEqual([]);
    expect(r3.images[0].packages).toEqual(r1.images[0].packages);
    expect(r3.images[0].os).toEqual(r1.images[0].os);
  });

  it('content-check findings are cached with their layer: a deleted EICAR file is reported again without a download (RELIABILITY.md 10)', async () => {
    const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
    const image = buildImage({ layers: [{ entries: [...debian, { path: 'tmp/e.com', body: eicar }] }, { entries: [{ path: 'tmp/.wh.e.com' }] }] });
    const cache = new MemoryLayerCache();
    const checks = allChecks();
    const first = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, cache, advisories, checks });
    const src = MemorySource.fromBuilt(image);
    const again = await scanImage(src, { limits: DEFAULT_LIMITS, cache, advisories, checks });
    expect(layersOpened(src, image)).toEqual([]);
    for (const r of [first, again]) {
      expect(r.images[0].findings.filter((f) => f.type === 'malware')).toEqual([expect.objectContaining({ id: 'EICAR-Test-File', layer: image.images[0].layers[0].descriptor.digest, path: '/tmp/e.com' })]);
    }
    // A different set of checks is a different cache key: the layer is read again.
    const src2 = MemorySource.fromBuilt(image);
    await scanImage(src2, { limits: DEFAULT_LIMITS, cache, advisories, checks: checks.slice(1) });
    expect(layersOpened(src2, image)).toHaveLength(2);
  });

  it.each([
    ['a cataloger version', { catalogers: CATALOGERS.map((c, i) => (i === 0 ? { ...c, wants: c.wants, catalog: c.catalog, version: `${c.version}+1` } : c)) }, {}],
    ['a read limit', {}, { maxCatalogFileBytes: 1024 }],
  ])('a change of %s changes the layer-cache key', (_n, cat, lim) => {
    const d = buildImage({ layers: [baseLayer(debian)] }).images[0].layers[0].descriptor.digest;
    const before = layerCacheKey(d, DEFAULT_LIMITS, CATALOGERS);
    const after = layerCacheKey(d, resolveLimits(lim), 'catalogers' in cat ? cat.catalogers : CATALOGERS);
    expect(after).not.toBe(before);
    expect(after.startsWith(`${d}/`)).toBe(true);
  });

  it('quarantines an image that hits a cap, with the reason, instead of failing', async () => {
    const image = buildImage({ layers: [baseLayer(debian)] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: resolveLimits({ maxEntries: 2 }), advisories });
    expect(r.verdict.status).toBe('quarantined');
    expect(r.images[0].findings).toEqual([expect.objectContaining({ type: 'unscannable', id: 'LIMIT_EXCEEDED' })]);
    expect(r.verdict.reasons[0]).toMatchObject({ rule: 'unscannable' });
    expect(r.images[0].packages).toEqual([]);
  });

  it('without vulnerability data an image is never trusted (RELIABILITY.md 46)', async () => {
    const r = await scanImage(MemorySource.fromBuilt(buildImage({ layers: [baseLayer(debian)] })), { limits: DEFAULT_LIMITS });
    expect(r.verdict.status).toBe('quarantined');
    expect(r.images[0].findings).toEqual([expect.objectContaining({ type: 'unscannable', id: 'NO_VULNERABILITY_DATA' })]);
    expect(r.images[0].packages.length).toBe(4);
  });

  it('a config that lies about its layers aborts the scan: no verdict from it (RELIABILITY.md 19)', async () => {
    const image = buildImage({ layers: [baseLayer(debian)], corrupt: { diffIds: [0] } });
    await expect(scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories })).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('a lying cached record is not trusted: a diff_id that does not match is read again', async () => {
    const cache = new MemoryLayerCache();
    const image = buildImage({ layers: [baseLayer(debian)] });
    await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, cache, advisories });
    const key = layerCacheKey(image.images[0].layers[0].descriptor.digest, DEFAULT_LIMITS);
    const hit = await cache.get(key);
    await cache.put(key, { ...hit!, record: { ...hit!.record, diffId: `sha256:${'0'.repeat(64)}` as never }, packages: [] });
    const src = MemorySource.fromBuilt(image);
    const r = await scanImage(src, { limits: DEFAULT_LIMITS, cache, advisories });
    expect(layersOpened(src, image)).toHaveLength(1);
    expect(r.images[0].packages.length).toBe(4);
  });

  it('gives each platform of an index its verdict, and the index the aggregate', async () => {
    const amd = buildImage({ platform: { os: 'linux', architecture: 'amd64' }, layers: [baseLayer(debian)] });
    // The arm64 image's layer is a tar with more entries than the cap allows: unscannable.
    const arm = buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: [{ entries: Array.from({ length: 30 }, (_, i) => ({ path: `f${i}`, body: 'x' })) }] });
    const r = await scanImage(MemorySource.fromBuilt(buildIndex([amd, arm])), { limits: resolveLimits({ maxEntries: 20 }), advisories });
    expect(r.isIndex).toBe(true);
    expect(r.images.map((i) => [i.platform, i.verdict.status])).toEqual([['linux/amd64', 'trusted'], ['linux/arm64', 'quarantined']]);
    expect(r.verdict.status).toBe('quarantined');
    expect(r.verdict.reasons[0].message).toMatch(/^linux\/arm64: LIMIT_EXCEEDED/);
  });
});
