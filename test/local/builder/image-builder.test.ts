import { mkdirSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageConfig, type ImageIndex, type ImageManifest, MediaType, sha256Digest } from '../../../lib/engine/model';
import { type ImageSpec, type LayerCompression, FIXED_MTIME, buildImage, buildIndex, hostEntries } from '../../../lib/local/builder/image-builder';
import type { PushableImage } from '../../../lib/local/builder/push';
import { buildSampleImage } from '../../../lib/local/builder/sample';
import { buildTar } from '../../../lib/local/builder/tar-writer';
import { decompress, diffIdOf, run, tempDir } from '../../engine/registry/archive/helpers';

const layer = (name: string, compression: LayerCompression) => ({
  entries: [{ path: 'etc/', type: 'dir' as const }, { path: `etc/${name}`, body: `hello from ${name}\n`.repeat(50) }],
  compression,
  createdBy: `ADD ${name}`,
});

describe('buildImage', () => {
  const cases: { name: string; spec: ImageSpec; manifestType: string; configType: string; layerTypes: string[] }[] = [
    {
      name: 'OCI, gzip + zstd + uncompressed layers',
      spec: { layers: [layer('a', 'gzip'), layer('b', 'zstd'), layer('c', 'none')] },
      manifestType: MediaType.OciManifest,
      configType: MediaType.OciConfig,
      layerTypes: [MediaType.OciLayerGzip, MediaType.OciLayerZstd, MediaType.OciLayer],
    },
    {
      name: 'Docker v2.2, gzip + uncompressed + zstd layers',
      spec: { format: 'docker', layers: [layer('a', 'gzip'), layer('b', 'none'), layer('c', 'zstd')] },
      manifestType: MediaType.DockerManifest,
      configType: MediaType.DockerConfig,
      layerTypes: [MediaType.DockerLayerGzip, MediaType.DockerLayerTar, MediaType.OciLayerZstd],
    },
  ];
  it.each(cases)('$name: media types, digests and diff_ids are right', ({ spec, manifestType, configType, layerTypes }) => {
    const img = buildImage(spec);
    expect(img.isIndex).toBe(false);
    expect(img.root.mediaType).toBe(manifestType);
    expect(img.root.digest).toBe(sha256Digest(img.root.bytes));
    expect(img.manifests).toEqual([img.root]);
    const m = JSON.parse(img.root.bytes.toString()) as ImageManifest;
    expect(m.mediaType).toBe(manifestType);
    expect(m.config.mediaType).toBe(configType);
    expect(m.layers.map((l) => l.mediaType)).toEqual(layerTypes);
    const configBytes = img.blobs.get(m.config.digest);
    expect(configBytes && sha256Digest(configBytes)).toBe(m.config.digest);
    expect(configBytes?.length).toBe(m.config.size);
    const config = JSON.parse(String(configBytes)) as ImageConfig;
    // diff_ids computed independently: decompress each blob (zlib / zstd CLI) and hash.
    const blobs = m.layers.map((l) => img.blobs.get(l.digest) as Buffer);
    blobs.forEach((b, i) => {
      expect(sha256Digest(b)).toBe(m.layers[i].digest);
      expect(b.length).toBe(m.layers[i].size);
    });
    expect(config.rootfs.diff_ids).toEqual(blobs.map(diffIdOf));
    expect(config.history?.map((h) => h.created_by)).toEqual(['ADD a', 'ADD b', 'ADD c']);
  });

  it('is deterministic: the same spec gives the same digests', () => {
    const spec: ImageSpec = { layers: [layer('a', 'gzip'), layer('b', 'zstd')], config: { User: 'app' } };
    expect(buildImage(spec).root.digest).toBe(buildImage(spec).root.digest);
  });

  it('writes config User/Env/Cmd, platform and empty-layer history', () => {
    const img = buildImage({
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      layers: [layer('a', 'none')],
      config: { User: '1000:1000', Env: ['A=1'], Cmd: ['/bin/true'] },
      emptyHistory: ['ENV A=1'],
    });
    const c = img.images[0].configJson;
    expect(c).toMatchObject({ os: 'linux', architecture: 'arm64', variant: 'v8', config: { User: '1000:1000', Env: ['A=1'], Cmd: ['/bin/true'] } });
    expect(c.history?.at(-1)).toMatchObject({ created_by: 'ENV A=1', empty_layer: true });
    expect(JSON.parse(img.images[0].config.bytes.toString())).toEqual(c);
  });

  const corruptions = [
    {
      name: 'corrupt.diffIds: the config lies about layer 1 only (RELIABILITY 19)',
      check: (img: ReturnType<typeof buildImage>) => {
        const { layers, configJson } = img.images[0];
        expect(configJson.rootfs.diff_ids[0]).toBe(diffIdOf(img.blobs.get(layers[0].descriptor.digest) as Buffer));
        expect(configJson.rootfs.diff_ids[1]).not.toBe(diffIdOf(img.blobs.get(layers[1].descriptor.digest) as Buffer));
      },
      spec: { layers: [layer('a', 'gzip'), layer('b', 'gzip')], corrupt: { diffIds: [1] } },
    },
    {
      name: 'corrupt.layerBytes: the stored blob no longer hashes to its descriptor (RELIABILITY 18)',
      check: (img: ReturnType<typeof buildImage>) => {
        const d = img.images[0].layers[0].descriptor;
        const stored = img.blobs.get(d.digest) as Buffer;
        expect(stored.length).toBe(d.size);
        expect(sha256Digest(stored)).not.toBe(d.digest);
      },
      spec: { layers: [layer('a', 'none')], corrupt: { layerBytes: [0] } },
    },
  ];
  it.each(corruptions)('$name', ({ spec, check }) => check(buildImage(spec as ImageSpec)));

  it('labels a layer with a forced media type (mislabelled layers, RELIABILITY 17)', () => {
    const img = buildImage({ layers: [{ ...layer('a', 'zstd'), mediaType: MediaType.OciLayerGzip }] });
    const d = img.images[0].layers[0].descriptor;
    expect(d.mediaType).toBe(MediaType.OciLayerGzip);
    expect(img.blobs.get(d.digest)?.readUInt32LE(0)).toBe(0xfd2fb528);
  });
});

describe('hostEntries (fromHost)', () => {
  it('reads a real directory: modes, symlinks as symlinks, parents, sorted; GNU tar agrees', () => {
    const { dir, cleanup } = tempDir();
    try {
      mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
      writeFileSync(join(dir, 'tree', 'run.sh'), '#!/bin/sh\necho hi\n');
      chmodSync(join(dir, 'tree', 'run.sh'), 0o750);
      writeFileSync(join(dir, 'tree', 'sub', 'data.txt'), 'data');
      chmodSync(join(dir, 'tree', 'sub', 'data.txt'), 0o600);
      symlinkSync('../run.sh', join(dir, 'tree', 'sub', 'link'));
      const entries = hostEntries([{ hostPath: join(dir, 'tree'), imagePath: '/opt/app' }]);
      expect(entries.map((e) => e.path)).toEqual(['opt/', 'opt/app/', 'opt/app/run.sh', 'opt/app/sub/', 'opt/app/sub/data.txt', 'opt/app/sub/link']);
      const byPath = new Map(entries.map((e) => [e.path, e]));
      expect(byPath.get('opt/app/run.sh')).toMatchObject({ type: 'file', mode: 0o750, mtime: FIXED_MTIME, uid: 0 });
      expect(String(byPath.get('opt/app/run.sh')?.body)).toBe('#!/bin/sh\necho hi\n');
      expect(byPath.get('opt/app/sub/link')).toMatchObject({ type: 'symlink', linkname: '../run.sh' });
      writeFileSync(join(dir, 'layer.tar'), buildTar(entries));
      const listing = run('tar', ['-tvf', join(dir, 'layer.tar')]);
      expect(listing).toMatch(/-rwxr-x--- 0\/0 +18 2024-01-01 \d\d:\d\d opt\/app\/run\.sh/);
      expect(listing).toMatch(/-rw------- 0\/0 +4 .* opt\/app\/sub\/data\.txt/);
      expect(listing).toMatch(/lrwxrwxrwx 0\/0 +0 .* opt\/app\/sub\/link -> \.\.\/run\.sh/);
    } finally {
      cleanup();
    }
  });

  it('refuses an image path that climbs out of the root', () => {
    expect(() => hostEntries([{ hostPath: '/etc/hostname', imagePath: '../../x' }])).toThrow(/invalid imagePath/);
  });
});

describe('buildIndex', () => {
  const amd = buildImage({ layers: [layer('a', 'gzip')] });
  const arm = buildImage({ platform: { os: 'linux', architecture: 'arm', variant: 'v7' }, layers: [layer('b', 'zstd')] });
  it('lists each platform manifest with its platform, and merges blobs', () => {
    const idx = buildIndex([amd, arm]);
    expect(idx.isIndex).toBe(true);
    expect(idx.root.mediaType).toBe(MediaType.OciIndex);
    const doc = JSON.parse(idx.root.bytes.toString()) as ImageIndex;
    expect(doc.manifests).toEqual([
      { mediaType: MediaType.OciManifest, digest: amd.root.digest, size: amd.root.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MediaType.OciManifest, digest: arm.root.digest, size: arm.root.bytes.length, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ]);
    expect(idx.manifests.map((m) => m.digest)).toEqual([amd.root.digest, arm.root.digest]);
    expect([...idx.blobs.keys()].sort()).toEqual([...amd.blobs.keys(), ...arm.blobs.keys()].sort());
  });
  it('writes a Docker manifest list when every image is Docker v2.2', () => {
    const d1 = buildImage({ format: 'docker', layers: [layer('a', 'gzip')] });
    const d2 = buildImage({ format: 'docker', platform: { os: 'linux', architecture: 'arm64' }, layers: [layer('a', 'gzip')] });
    expect(buildIndex([d1, d2]).root.mediaType).toBe(MediaType.DockerManifestList);
    expect(buildIndex([d1, amd]).root.mediaType).toBe(MediaType.OciIndex);
  });
});

describe('the PushableImage shape (lib/local/builder/push.ts)', () => {
  it('a built index is pushable: every blob is stored under its own digest, child manifests listed', () => {
    const idx: PushableImage = buildIndex([buildImage({ layers: [layer('a', 'gzip')] }), buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: [layer('b', 'zstd')] })]);
    for (const [d, b] of idx.blobs) expect(sha256Digest(b)).toBe(d);
    for (const m of [...idx.manifests, idx.root]) expect(sha256Digest(m.bytes)).toBe(m.digest);
    expect(idx.manifests).toHaveLength(2);
  });
});

describe('buildSampleImage', () => {
  it('builds a two-platform index from real files with a gzip and a zstd layer', () => {
    const img = buildSampleImage();
    expect(img.images.map((i) => i.platform.architecture)).toEqual(['amd64', 'arm64']);
    const [base, app] = img.images[0].layers;
    expect([base.compression, app.compression]).toEqual(['gzip', 'zstd']);
    const listing = run('tar', ['-tv'], { input: decompress(img.blobs.get(base.descriptor.digest) as Buffer) });
    expect(listing).toMatch(/ var\/lib\/dpkg\/status\n/);
    expect(listing).toMatch(/ etc\/os-release -> \.\.\/usr\/lib\/os-release\n/);
    expect(buildSampleImage().root.digest).toBe(img.root.digest);
  });
});
