import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { type ImageManifest, MediaType, sha256Digest } from '../../../../lib/engine/model';
import { openArchiveSource } from '../../../../lib/engine/registry/archive';
import { resolveImage } from '../../../../lib/engine/registry/resolve';
import type { ImageSource } from '../../../../lib/engine/registry/source';
import { buildImage, buildIndex } from '../../../../lib/local/builder/image-builder';
import { writeDockerArchive, writeOciArchive, writeOciLayout } from '../../../../lib/local/builder/writers';
import { diffIdOf, readAll, run, tempDir } from './helpers';

/**
 * Interoperability with the real tools of the ecosystem (Debian's skopeo 1.9 and umoci 0.4.7):
 * what we write, they read; what they write, we read. skopeo runs with --insecure-policy because these
 * local copies have no signature policy to apply; it never touches the network here.
 */
const limits = DEFAULT_LIMITS;
// Its big-file temp dir is the test's own temp dir (it would default to /var/tmp).
const skopeo = (...args: string[]): string => run('skopeo', ['--insecure-policy', '--tmpdir', tmp.dir, ...args], { env: { TMPDIR: tmp.dir } });

// skopeo 1.9 refuses zstd layers for docker-archive destinations, so the image copied there is gzip + none.
const image = buildImage({
  layers: [
    { fromHost: [{ hostPath: '/usr/share/doc/gzip', imagePath: '/usr/share/doc/gzip' }], compression: 'gzip' },
    { entries: [{ path: 'app/', type: 'dir' }, { path: 'app/run', body: '#!/bin/sh\n', mode: 0o755 }], compression: 'none' },
  ],
  config: { User: 'app', Cmd: ['/app/run'] },
});
const zstdImage = buildImage({ layers: [{ entries: [{ path: 'z', body: 'zstd layer\n'.repeat(100) }], compression: 'zstd' }] });
const gzipImage = buildImage({ layers: [{ entries: [{ path: 'g', body: 'gzip layer\n'.repeat(100) }], compression: 'gzip' }] });
const index = buildIndex([image, buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: [{ entries: [{ path: 'a', body: 'a' }] }] })]);

async function readEverything(source: ImageSource): Promise<{ rootDigest: string; manifests: ImageManifest[]; configDigests: string[]; users: (string | undefined)[] }> {
  const t = await resolveImage(source, { limits });
  for (const img of t.images) {
    for (const [i, l] of img.manifest.layers.entries()) {
      const blob = await readAll(await source.openBlob(l));
      expect(diffIdOf(blob)).toBe(img.config.rootfs.diff_ids[i]);
    }
  }
  return { rootDigest: t.rootDigest, manifests: t.images.map((i) => i.manifest), configDigests: t.images.map((i) => i.configDigest), users: t.images.map((i) => i.config.config?.User) };
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('trustctl-interop-');
});
afterEach(() => tmp.cleanup());

describe('skopeo reads what we write', () => {
  const cases = [
    { name: 'image manifest', img: image },
    { name: 'index', img: index },
    { name: 'zstd image', img: zstdImage },
  ];
  it.each(cases)('skopeo inspect --raw oci:<dir>:<tag> returns our $name byte for byte', ({ img }) => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, img, { tag: 'v1' });
    expect(skopeo('inspect', '--raw', `oci:${dir}:v1`)).toBe(img.root.bytes.toString('utf8'));
  });

  it('skopeo inspect --raw oci-archive:<file>:<tag> returns our manifest', async () => {
    const file = join(tmp.dir, 'o.tar');
    await writeOciArchive(file, image, { tag: 'v1' });
    expect(skopeo('inspect', '--raw', `oci-archive:${file}:v1`)).toBe(image.root.bytes.toString('utf8'));
  });

  const dockerStyles = ['legacy', 'oci'] as const;
  it.each(dockerStyles)('skopeo reads our %s docker archive: same config, layers = our diff_ids', async (style) => {
    const file = join(tmp.dir, 'd.tar');
    const img = style === 'legacy' ? image : buildImage({ layers: [{ entries: [{ path: 'x', body: 'x' }], compression: 'none' }] });
    await writeDockerArchive(file, img, { style, repoTags: ['example.com/app:1'] });
    const m = JSON.parse(skopeo('inspect', '--raw', `docker-archive:${file}`)) as ImageManifest;
    expect(m.config.digest).toBe(img.images[0].config.digest);
    expect(m.layers.map((l) => l.digest)).toEqual(img.images[0].layers.map((l) => (style === 'legacy' ? l.diffId : l.descriptor.digest)));
    // And skopeo can convert it to an OCI layout, which we read back.
    skopeo('copy', '-q', `docker-archive:${file}`, `oci:${join(tmp.dir, 'back')}:b`);
    const got = await readEverything(await openArchiveSource(`oci:${join(tmp.dir, 'back')}:b`, limits));
    expect(got.configDigests).toEqual([img.images[0].config.digest]);
  });
});

describe('we read what skopeo writes', () => {
  it('skopeo copy oci:<dir>:<tag> docker-archive:<file>:repo:tag → our docker-archive source', async () => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, image, { tag: 'v1' });
    const file = join(tmp.dir, 'skopeo-docker.tar');
    skopeo('copy', '-q', `oci:${dir}:v1`, `docker-archive:${file}:example.com/team/app:1.0`);
    for (const target of [`docker-archive:${file}`, `docker-archive:${file}:example.com/team/app:1.0`]) {
      const source = await openArchiveSource(target, limits);
      const got = await readEverything(source);
      expect(got.configDigests).toEqual([image.images[0].config.digest]);
      expect(got.users).toEqual(['app']);
      // skopeo stores uncompressed `<diffid>.tar` layers: the synthesized descriptors carry the diff_ids.
      expect(got.manifests[0].layers.map((l) => [l.mediaType, l.digest])).toEqual(image.images[0].layers.map((l) => [MediaType.DockerLayerTar, l.diffId]));
    }
    await expect(openArchiveSource(`docker-archive:${file}:example.com/team/app:2.0`, limits)).rejects.toThrow(/no image tagged/);
  });

  // skopeo compresses uncompressed layers when it writes an OCI destination, which changes the
  // manifest; compressed layers are copied as they are, so the manifest digest survives.
  const archives = [
    { name: 'zstd image', img: zstdImage, sameDigest: true },
    { name: 'gzip image', img: gzipImage, sameDigest: true },
    { name: 'image with an uncompressed layer', img: image, sameDigest: false },
    { name: 'two-platform index', img: index, sameDigest: false },
  ];
  it.each(archives)('skopeo copy … oci-archive:<file>:<tag> ($name) → our oci-archive source', async ({ img, sameDigest }) => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, img, { tag: 'v1' });
    const file = join(tmp.dir, 'skopeo-oci.tar');
    skopeo('copy', '-q', ...(img.isIndex ? ['--all'] : []), `oci:${dir}:v1`, `oci-archive:${file}:t1`);
    const got = await readEverything(await openArchiveSource(`oci-archive:${file}:t1`, limits));
    if (sameDigest) expect(got.rootDigest).toBe(img.root.digest);
    else expect(got.manifests.flatMap((m) => m.layers.map((l) => l.mediaType))).not.toContain(MediaType.OciLayer);
    expect(got.configDigests).toEqual(img.images.map((i) => i.config.digest));
  });
});

describe('we read what umoci writes', () => {
  it('umoci init/new/unpack/repack/config → our oci: source; GNU tar lists the layer we serve', async () => {
    const layout = join(tmp.dir, 'umoci');
    const bundle = join(tmp.dir, 'bundle');
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:t`]);
    run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
    mkdirSync(join(bundle, 'rootfs', 'etc'));
    copyFileSync('/usr/share/doc/gzip/copyright', join(bundle, 'rootfs', 'etc', 'copyright'));
    run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
    run('umoci', ['config', '--image', `${layout}:t`, '--config.user', 'nobody', '--config.cmd', '/bin/true']);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const source = await openArchiveSource(`oci:${layout}:t`, limits);
    const got = await readEverything(source);
    expect(got.rootDigest).toBe(index.manifests[0].digest);
    expect(got.users).toEqual(['nobody']);
    expect(got.manifests[0].layers).toHaveLength(1);
    expect(got.manifests[0].layers[0].mediaType).toBe(MediaType.OciLayerGzip);
    const blob = await readAll(await source.openBlob(got.manifests[0].layers[0]));
    expect(sha256Digest(blob)).toBe(got.manifests[0].layers[0].digest);
    expect(run('tar', ['-tz'], { input: blob })).toMatch(/etc\/copyright/);
  });

  it('umoci insert (0.4.7 writes layers without the tar footer, umoci#436): digests and diff_ids still verify', async () => {
    // The archive source checks content addresses only; whether a footer-less layer tar is acceptable
    // is the layer reader's decision (GNU tar rejects it with "Unexpected EOF").
    const layout = join(tmp.dir, 'umoci');
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:t`]);
    run('umoci', ['insert', '--rootless', '--image', `${layout}:t`, '/usr/share/doc/zstd', '/usr/share/doc/zstd']);
    const got = await readEverything(await openArchiveSource(`oci:${layout}:t`, limits));
    expect(got.manifests[0].layers).toHaveLength(1);
  });
});
