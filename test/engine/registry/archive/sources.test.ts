import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { type ImageManifest, MediaType, sha256Digest } from '../../../../lib/engine/model';
import { openArchiveSource, parseArchiveTarget } from '../../../../lib/engine/registry/archive';
import { resolveImage } from '../../../../lib/engine/registry/resolve';
import type { ImageSource } from '../../../../lib/engine/registry/source';
import { type BuiltImage, buildImage, buildIndex } from '../../../../lib/local/builder/image-builder';
import type { TarEntry } from '../../../../lib/local/builder/tar-writer';
import { writeDockerArchive, writeOciArchive, writeOciLayout, writeTarFile } from '../../../../lib/local/builder/writers';
import { closeSource, diffIdOf, readAll, tempDir } from './helpers';

const limits = DEFAULT_LIMITS;
const files = (tag: string) => [{ path: 'etc/', type: 'dir' as const }, { path: `etc/${tag}`, body: `${tag}\n`.repeat(100) }];

const ociMixed = buildImage({
  layers: [
    { entries: files('a'), compression: 'gzip' },
    { entries: files('b'), compression: 'zstd' },
    { entries: files('c'), compression: 'none' },
  ],
  config: { User: 'app', Cmd: ['/bin/app'] },
});
const dockerGzip = buildImage({ format: 'docker', layers: [{ entries: files('d'), compression: 'gzip' }, { entries: files('e'), compression: 'gzip' }] });
const multi = buildIndex([
  buildImage({ layers: [{ entries: files('amd'), compression: 'gzip' }] }),
  buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: [{ entries: files('arm'), compression: 'zstd' }] }),
]);

/**
 * Resolves everything the source names and reads every layer through it: the VerifyingStream must
 * end cleanly, and each layer's decompressed hash (zlib / zstd CLI, not our code) must be its diff_id.
 */
async function readEverything(source: ImageSource): Promise<{ rootDigest: string; manifests: ImageManifest[]; configDigests: string[] }> {
  const t = await resolveImage(source, { limits });
  for (const img of t.images) {
    const configBytes = await readAll(await source.openBlob(img.manifest.config));
    expect(sha256Digest(configBytes)).toBe(img.configDigest);
    for (const [i, l] of img.manifest.layers.entries()) {
      const blob = await readAll(await source.openBlob(l));
      expect(sha256Digest(blob)).toBe(l.digest);
      expect(diffIdOf(blob)).toBe(img.config.rootfs.diff_ids[i]);
    }
  }
  return { rootDigest: t.rootDigest, manifests: t.images.map((i) => i.manifest), configDigests: t.images.map((i) => i.configDigest) };
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

type Writer = (dir: string, img: BuiltImage) => Promise<string>;
const writers: { name: string; write: Writer; sameDigest: boolean; index: boolean }[] = [
  {
    name: 'oci:<dir>:<ref>',
    write: async (dir, img) => {
      writeOciLayout(join(dir, 'layout'), img, { tag: '1.0' });
      return `oci:${join(dir, 'layout')}:1.0`;
    },
    sameDigest: true,
    index: true,
  },
  {
    name: 'oci:<dir> (sole entry)',
    write: async (dir, img) => {
      writeOciLayout(join(dir, 'layout'), img);
      return `oci:${join(dir, 'layout')}`;
    },
    sameDigest: true,
    index: true,
  },
  {
    name: 'oci-archive:<file>:<ref>',
    write: async (dir, img) => {
      await writeOciArchive(join(dir, 'img.tar'), img, { tag: 'v2' });
      return `oci-archive:${join(dir, 'img.tar')}:v2`;
    },
    sameDigest: true,
    index: true,
  },
  {
    name: 'docker-archive (Docker 25+ OCI style)',
    write: async (dir, img) => {
      await writeDockerArchive(join(dir, 'd.tar'), img, { style: 'oci', repoTags: ['app:1'] });
      return `docker-archive:${join(dir, 'd.tar')}`;
    },
    sameDigest: true,
    index: true,
  },
  {
    name: 'docker-archive (legacy docker save)',
    write: async (dir, img) => {
      await writeDockerArchive(join(dir, 'd.tar'), img, { style: 'legacy', repoTags: ['app:1'] });
      return `docker-archive:${join(dir, 'd.tar')}:app:1`;
    },
    sameDigest: false,
    index: false,
  },
];
const images = [
  { name: 'OCI image, gzip+zstd+none', image: ociMixed },
  { name: 'Docker v2.2 image, gzip', image: dockerGzip },
  { name: 'two-platform index', image: multi },
];
const matrix = writers.flatMap((w) => images.filter((i) => w.index || !i.image.isIndex).map((i) => ({ ...i, writer: w.name, w })));

describe('round trip: builder → writer → archive source', () => {
  it.each(matrix)('$writer × $name', async ({ image, w }) => {
    const target = await w.write(tmp.dir, image);
    const source = await openArchiveSource(target, limits);
    expect(source.name).toBe(target);
    const got = await readEverything(source);
    expect(got.configDigests).toEqual(image.images.map((i) => i.config.digest));
    if (w.sameDigest) {
      expect(got.rootDigest).toBe(image.root.digest);
    } else {
      // Legacy docker save keeps no manifest: one is synthesized (Docker v2.2, uncompressed layers).
      const root = await source.getRootManifest();
      expect(root.digest).toBe(sha256Digest(root.bytes));
      expect(root.mediaType).toBe(MediaType.DockerManifest);
      expect(got.manifests[0].layers.map((l) => l.mediaType)).toEqual(image.images[0].layers.map(() => MediaType.DockerLayerTar));
      expect(got.manifests[0].layers.map((l) => l.digest)).toEqual(image.images[0].layers.map((l) => l.diffId));
      // Synthesis is deterministic: opening again gives the same digest.
      expect((await (await openArchiveSource(target, limits)).getRootManifest()).digest).toBe(root.digest);
    }
    await closeSource(source);
  });
});

/** A skopeo-style docker archive holding several images: `<diffid>.tar` layers, `<id>/layer.tar` symlinks, optionally a gzip layer. */
async function multiDockerArchive(file: string, imgs: { image: BuiltImage; tags: string[]; gzipLayers?: boolean }[]): Promise<void> {
  const entries: TarEntry[] = [];
  const manifest = imgs.map(({ image, tags, gzipLayers }, n) => {
    const pi = image.images[0];
    entries.push({ path: `${pi.config.digest.slice(7)}.json`, body: pi.config.bytes });
    const layers = pi.layers.map((l, i) => {
      const body = gzipLayers ? (image.blobs.get(l.descriptor.digest) as Buffer) : l.tar;
      const name = `${n}-${i}-${l.diffId.slice(7)}.tar`;
      entries.push({ path: name, body });
      entries.push({ path: `legacy${n}${i}/`, type: 'dir' }, { path: `legacy${n}${i}/layer.tar`, type: 'symlink', linkname: `../${name}` });
      return `legacy${n}${i}/layer.tar`;
    });
    return { Config: `${pi.config.digest.slice(7)}.json`, RepoTags: tags, Layers: layers };
  });
  entries.push({ path: 'manifest.json', body: JSON.stringify(manifest) });
  await writeTarFile(file, entries);
}

describe('docker-archive: choosing the image and synthesizing the manifest', () => {
  const one = buildImage({ layers: [{ entries: files('one'), compression: 'gzip' }] });
  const two = buildImage({ layers: [{ entries: files('two'), compression: 'gzip' }, { entries: files('two-b'), compression: 'zstd' }] });
  const cases = [
    { name: 'by repo:tag', ref: ':example.com/two:2', want: two },
    { name: 'by a short name normalised (busybox ≡ docker.io/library/busybox:latest)', ref: ':busybox', want: one },
    { name: 'by position @1', ref: ':@1', want: two },
  ];
  it.each(cases)('$name', async ({ ref, want }) => {
    const file = join(tmp.dir, 'multi.tar');
    await multiDockerArchive(file, [
      { image: one, tags: ['docker.io/library/busybox:latest'] },
      { image: two, tags: ['example.com/two:2'] },
    ]);
    const got = await readEverything(await openArchiveSource(`docker-archive:${file}${ref}`, limits));
    expect(got.configDigests).toEqual([want.images[0].config.digest]);
  });

  it('without a ref, several images is an error that lists the tags', async () => {
    const file = join(tmp.dir, 'multi.tar');
    await multiDockerArchive(file, [
      { image: one, tags: ['a:1'] },
      { image: two, tags: ['b:2'] },
    ]);
    await expect(openArchiveSource(`docker-archive:${file}`, limits)).rejects.toThrow(/holds 2 images.*"a:1", "b:2"/);
    await expect(openArchiveSource(`docker-archive:${file}:c:3`, limits)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('gzip layers in a docker archive: media type from magic bytes, digest from one hashing pass', async () => {
    const file = join(tmp.dir, 'gz.tar');
    await multiDockerArchive(file, [{ image: two, tags: ['x:1'], gzipLayers: true }]);
    const source = await openArchiveSource(`docker-archive:${file}`, limits);
    const got = await readEverything(source);
    expect(got.manifests[0].layers.map((l) => l.mediaType)).toEqual([MediaType.DockerLayerGzip, MediaType.OciLayerZstd]);
    expect(got.manifests[0].layers.map((l) => l.digest)).toEqual(two.images[0].layers.map((l) => l.descriptor.digest));
    await expect(source.getManifest(sha256Digest('other'))).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('oci layouts with several images', () => {
  it('picks by ref; without a ref several tagged images is an error naming the refs', async () => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, ociMixed, { tag: 'mixed' });
    writeOciLayout(dir, dockerGzip, { tag: 'docker' });
    expect((await (await openArchiveSource(`oci:${dir}:docker`, limits)).getRootManifest()).digest).toBe(dockerGzip.root.digest);
    await expect(openArchiveSource(`oci:${dir}`, limits)).rejects.toThrow(/lists 2 images.*"mixed", "docker"/);
    await expect(openArchiveSource(`oci:${dir}:nope`, limits)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('untagged platform manifests: index.json itself is the root index', async () => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, multi);
    const entries = multi.images.map((i) => ({ mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.bytes.length, platform: i.platform }));
    const indexJson = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries });
    writeFileSync(join(dir, 'index.json'), indexJson);
    const got = await readEverything(await openArchiveSource(`oci:${dir}`, limits));
    expect(got.rootDigest).toBe(sha256Digest(indexJson));
    expect(got.configDigests).toEqual(multi.images.map((i) => i.config.digest));
  });

  it('a nested index entry is followed by resolve (one level)', async () => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, multi, { tag: 'outer' });
    // Wrap the index in another index stored as a blob.
    const outer = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciIndex, digest: multi.root.digest, size: multi.root.bytes.length }] }));
    writeFileSync(join(dir, 'blobs', 'sha256', sha256Digest(outer).slice(7)), outer);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OciIndex, digest: sha256Digest(outer), size: outer.length, annotations: { 'org.opencontainers.image.ref.name': 'nested' } }] }));
    const got = await readEverything(await openArchiveSource(`oci:${dir}:nested`, limits));
    expect(got.rootDigest).toBe(sha256Digest(outer));
    expect(got.configDigests).toEqual(multi.images.map((i) => i.config.digest));
  });
});

describe('parseArchiveTarget', () => {
  const fake = (existing: string[]) => (p: string) => existing.includes(p);
  const cases = [
    { name: 'oci dir without ref', target: 'oci:/x/layout', exists: ['/x/layout'], want: { kind: 'oci', path: '/x/layout' } },
    { name: 'oci dir with ref', target: 'oci:/x/layout:v1.0', exists: ['/x/layout'], want: { kind: 'oci', path: '/x/layout', ref: 'v1.0' } },
    { name: 'a path containing ":" is preferred whole', target: 'oci-archive:/x/a:b.tar', exists: ['/x/a:b.tar', '/x/a'], want: { kind: 'oci-archive', path: '/x/a:b.tar' } },
    { name: 'docker ref with its own ":"', target: 'docker-archive:/x/a.tar:busybox:latest', exists: ['/x/a.tar'], want: { kind: 'docker-archive', path: '/x/a.tar', ref: 'busybox:latest' } },
    { name: 'docker ref with a registry port', target: 'docker-archive:/x/a.tar:localhost:5000/app:1', exists: ['/x/a.tar'], want: { kind: 'docker-archive', path: '/x/a.tar', ref: 'localhost:5000/app:1' } },
    { name: 'longest existing prefix wins', target: 'docker-archive:/x/a:b.tar:app:1', exists: ['/x/a', '/x/a:b.tar'], want: { kind: 'docker-archive', path: '/x/a:b.tar', ref: 'app:1' } },
  ];
  it.each(cases)('$name', ({ target, exists, want }) => {
    expect(parseArchiveTarget(target, fake(exists))).toEqual(want);
  });
  const bad = [
    { name: 'unknown prefix', target: 'tarball:/x', err: /not an archive target/ },
    { name: 'empty path', target: 'oci:', err: /needs a path/ },
    { name: 'empty ref', target: 'oci:/x/layout:', err: /empty reference/ },
    { name: 'nothing exists', target: 'oci-archive:/nope.tar:v1', err: /no such file: \/nope\.tar:v1/ },
  ];
  it.each(bad)('refuses: $name', ({ target, err }) => {
    expect(() => parseArchiveTarget(target, fake(['/x/layout']))).toThrow(err);
  });

  it('uses the real file system by default (a file for archives, a directory for oci:)', () => {
    const dir = join(tmp.dir, 'with:colon');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.tar'), '');
    expect(parseArchiveTarget(`oci:${dir}:t`)).toEqual({ kind: 'oci', path: dir, ref: 't' });
    expect(parseArchiveTarget(`docker-archive:${join(dir, 'a.tar')}:r:1`)).toEqual({ kind: 'docker-archive', path: join(dir, 'a.tar'), ref: 'r:1' });
    expect(() => parseArchiveTarget(`oci:${join(dir, 'a.tar')}`)).toThrow(NotFoundError);
  });
});
