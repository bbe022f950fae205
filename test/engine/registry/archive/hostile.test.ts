import { appendFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArchiveFormatError,
  DigestMismatchError,
  InvalidReferenceError,
  LimitExceededError,
  ManifestError,
  NotFoundError,
  SizeMismatchError,
} from '../../../../lib/engine/errors';
import { DEFAULT_LIMITS, resolveLimits } from '../../../../lib/engine/limits';
import { type ImageManifest, MediaType } from '../../../../lib/engine/model';
import { openArchiveSource, validateMemberPath } from '../../../../lib/engine/registry/archive';
import { buildImage } from '../../../../lib/local/builder/image-builder';
import type { TarEntry } from '../../../../lib/local/builder/tar-writer';
import { writeDockerArchive, writeOciArchive, writeOciLayout, writeTarFile } from '../../../../lib/local/builder/writers';
import { readAll, tempDir } from './helpers';

const limits = DEFAULT_LIMITS;
const image = buildImage({
  layers: [
    { entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/a', body: 'a\n'.repeat(500) }], compression: 'gzip' },
    { entries: [{ path: 'etc/b', body: 'b\n'.repeat(500) }], compression: 'none' },
  ],
});
const pi = image.images[0];
const hex = (d: string): string => d.slice(7);

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('trustctl-hostile-');
});
afterEach(() => tmp.cleanup());

/** A docker archive with a hand-written manifest.json; the real config and layers are present under honest names. */
async function dockerArchive(manifest: unknown, extra: TarEntry[] = []): Promise<string> {
  const file = join(tmp.dir, 'hostile-docker.tar');
  await writeTarFile(file, [
    { path: `${hex(pi.config.digest)}.json`, body: pi.config.bytes },
    ...pi.layers.map((l) => ({ path: `${hex(l.diffId)}.tar`, body: l.tar })),
    ...extra,
    { path: 'manifest.json', body: typeof manifest === 'string' ? manifest : JSON.stringify(manifest) },
  ]);
  return `docker-archive:${file}`;
}
const honestLayers = pi.layers.map((l) => `${hex(l.diffId)}.tar`);
const honestConfig = `${hex(pi.config.digest)}.json`;

describe('docker-archive: names from manifest.json are validated before use (RELIABILITY 1, 23)', () => {
  const cases: { name: string; manifest: unknown; err: unknown; msg?: RegExp }[] = [
    { name: 'Config ../../etc/passwd', manifest: [{ Config: '../../etc/passwd', RepoTags: [], Layers: honestLayers }], err: InvalidReferenceError, msg: /'\.\.'/ },
    { name: 'Config /etc/passwd', manifest: [{ Config: '/etc/passwd', RepoTags: [], Layers: honestLayers }], err: InvalidReferenceError, msg: /absolute/ },
    { name: 'layer ../../etc/passwd', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['../../etc/passwd'] }], err: InvalidReferenceError },
    { name: 'layer a/../../x', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['a/../../x'] }], err: InvalidReferenceError },
    { name: 'layer with backslashes', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['..\\..\\x'] }], err: InvalidReferenceError },
    { name: 'layer C:../x', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['C:../x'] }], err: InvalidReferenceError },
    { name: 'blob path that is not hex', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['blobs/sha256/../../../etc/passwd'] }], err: InvalidReferenceError },
    { name: 'blob path with short hex', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['blobs/sha256/abc'] }], err: InvalidReferenceError },
    { name: 'Config not a string', manifest: [{ Config: 5, Layers: [] }], err: ArchiveFormatError },
    { name: 'manifest.json not JSON', manifest: '{', err: ArchiveFormatError },
    { name: 'manifest.json empty array', manifest: [], err: ArchiveFormatError },
    { name: 'layer listed but missing', manifest: [{ Config: honestConfig, RepoTags: [], Layers: ['missing/layer.tar'] }], err: NotFoundError, msg: /missing\/layer\.tar listed in manifest\.json/ },
    { name: 'config missing', manifest: [{ Config: `${'0'.repeat(64)}.json`, RepoTags: [], Layers: [] }], err: NotFoundError },
  ];
  it.each(cases)('$name → refused', async ({ manifest, err, msg }) => {
    const p = openArchiveSource(await dockerArchive(manifest), limits);
    await expect(p).rejects.toBeInstanceOf(err);
    if (msg) await expect(p).rejects.toThrow(msg);
  });

  it('a config whose content does not match its <hex>.json name → DigestMismatchError', async () => {
    const lying = `${'a'.repeat(64)}.json`;
    const target = await dockerArchive([{ Config: lying, RepoTags: [], Layers: honestLayers }], [{ path: lying, body: pi.config.bytes }]);
    await expect(openArchiveSource(target, limits)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('a layer symlink member pointing out of the archive → ArchiveFormatError', async () => {
    const target = await dockerArchive([{ Config: honestConfig, RepoTags: [], Layers: ['x/layer.tar'] }], [{ path: 'x/layer.tar', type: 'symlink', linkname: '../../../etc/passwd' }]);
    await expect(openArchiveSource(target, limits)).rejects.toBeInstanceOf(ArchiveFormatError);
  });

  it('no manifest.json → ArchiveFormatError that says so', async () => {
    const file = join(tmp.dir, 'empty.tar');
    await writeTarFile(file, [{ path: 'hello', body: 'x' }]);
    await expect(openArchiveSource(`docker-archive:${file}`, limits)).rejects.toThrow(/not a docker save archive: it has no manifest.json/);
  });

  it('manifest.json over maxManifestBytes → LimitExceededError before parsing', async () => {
    const target = await dockerArchive([{ Config: honestConfig, RepoTags: ['x'.repeat(5000)], Layers: honestLayers }]);
    await expect(openArchiveSource(target, resolveLimits({ maxManifestBytes: 4096 }))).rejects.toMatchObject({ limit: 'maxManifestBytes' });
  });

  it('more layers than maxLayers → LimitExceededError', async () => {
    const target = await dockerArchive([{ Config: honestConfig, RepoTags: [], Layers: honestLayers }]);
    await expect(openArchiveSource(target, resolveLimits({ maxLayers: 1 }))).rejects.toMatchObject({ limit: 'maxLayers' });
  });
});

describe('content that does not match its digest fails while streaming (RELIABILITY 18, 19)', () => {
  async function firstLayerError(target: string, layer = 0): Promise<unknown> {
    const source = await openArchiveSource(target, limits);
    const m = JSON.parse((await source.getRootManifest()).bytes.toString()) as ImageManifest;
    return readAll(await source.openBlob(m.layers[layer])).then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  it('oci layout: a blob with the same size but different bytes → DigestMismatchError', async () => {
    const dir = join(tmp.dir, 'l');
    writeOciLayout(dir, image, { tag: 't' });
    const p = join(dir, 'blobs', 'sha256', hex(pi.layers[0].descriptor.digest));
    const b = readFileSync(p);
    b[10] ^= 1;
    writeFileSync(p, b);
    expect(await firstLayerError(`oci:${dir}:t`)).toBeInstanceOf(DigestMismatchError);
  });

  it('oci layout: a blob longer than its descriptor → SizeMismatchError', async () => {
    const dir = join(tmp.dir, 'l');
    writeOciLayout(dir, image, { tag: 't' });
    appendFileSync(join(dir, 'blobs', 'sha256', hex(pi.layers[0].descriptor.digest)), 'extra');
    expect(await firstLayerError(`oci:${dir}:t`)).toBeInstanceOf(SizeMismatchError);
  });

  it('oci-archive built with corrupt.layerBytes → DigestMismatchError', async () => {
    const bad = buildImage({ layers: [{ entries: [{ path: 'f', body: 'x'.repeat(1000) }] }], corrupt: { layerBytes: [0] } });
    await writeOciArchive(join(tmp.dir, 'a.tar'), bad, { tag: 't' });
    expect(await firstLayerError(`oci-archive:${join(tmp.dir, 'a.tar')}:t`)).toBeInstanceOf(DigestMismatchError);
  });

  it('legacy docker archive whose config lies about diff_ids → the uncompressed layer fails verification', async () => {
    const bad = buildImage({ layers: [{ entries: [{ path: 'f', body: 'x' }] }, { entries: [{ path: 'g', body: 'y' }] }], corrupt: { diffIds: [1] } });
    await writeDockerArchive(join(tmp.dir, 'd.tar'), bad, { repoTags: ['a:1'] });
    expect(await firstLayerError(`docker-archive:${join(tmp.dir, 'd.tar')}`, 0)).toBeUndefined();
    expect(await firstLayerError(`docker-archive:${join(tmp.dir, 'd.tar')}`, 1)).toBeInstanceOf(DigestMismatchError);
  });

  it('oci layout: a tampered root manifest → DigestMismatchError from getRootManifest', async () => {
    const dir = join(tmp.dir, 'l');
    writeOciLayout(dir, image, { tag: 't' });
    const p = join(dir, 'blobs', 'sha256', hex(image.root.digest));
    writeFileSync(p, readFileSync(p).toString().replace('"schemaVersion":2', '"schemaVersion":3'));
    const source = await openArchiveSource(`oci:${dir}:t`, limits);
    await expect(source.getRootManifest()).rejects.toBeInstanceOf(DigestMismatchError);
  });
});

describe('oci layouts: index.json and blob paths (RELIABILITY 23)', () => {
  const layout = (mutate: (index: { manifests: Record<string, unknown>[] }) => void): string => {
    const dir = join(tmp.dir, 'l');
    writeOciLayout(dir, image, { tag: 't' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    mutate(index);
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    return dir;
  };
  const cases = [
    { name: 'digest that is not hex', mutate: (i: { manifests: Record<string, unknown>[] }) => void (i.manifests[0].digest = 'sha256:../../../../etc/passwd'), err: InvalidReferenceError },
    { name: 'uppercase hex', mutate: (i: { manifests: Record<string, unknown>[] }) => void (i.manifests[0].digest = String(i.manifests[0].digest).toUpperCase().replace('SHA256', 'sha256')), err: InvalidReferenceError },
    { name: 'unknown algorithm', mutate: (i: { manifests: Record<string, unknown>[] }) => void (i.manifests[0].digest = `md5:${'a'.repeat(32)}`), err: InvalidReferenceError },
    { name: 'negative size', mutate: (i: { manifests: Record<string, unknown>[] }) => void (i.manifests[0].size = -1), err: ManifestError },
  ];
  it.each(cases)('index.json entry with $name → refused', async ({ mutate, err }) => {
    const dir = layout(mutate);
    await expect(openArchiveSource(`oci:${dir}:t`, limits)).rejects.toBeInstanceOf(err);
    // The same layout inside an oci-archive is refused the same way.
    const file = join(tmp.dir, 'a.tar');
    await writeTarFile(file, [
      { path: 'oci-layout', body: readFileSync(join(dir, 'oci-layout')) },
      { path: 'index.json', body: readFileSync(join(dir, 'index.json')) },
    ]);
    await expect(openArchiveSource(`oci-archive:${file}:t`, limits)).rejects.toBeInstanceOf(err);
  });

  it('an invalid ref name is refused before lookup', async () => {
    const dir = layout(() => undefined);
    await expect(openArchiveSource(`oci:${dir}:../t`, limits)).rejects.toBeInstanceOf(InvalidReferenceError);
  });

  it('no oci-layout file → ArchiveFormatError', async () => {
    const dir = layout(() => undefined);
    rmSync(join(dir, 'oci-layout'));
    await expect(openArchiveSource(`oci:${dir}`, limits)).rejects.toThrow(/no oci-layout file/);
  });

  it('an unsupported imageLayoutVersion → ArchiveFormatError', async () => {
    const dir = layout(() => undefined);
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await expect(openArchiveSource(`oci:${dir}`, limits)).rejects.toBeInstanceOf(ArchiveFormatError);
  });

  it('a missing blob → NotFoundError naming the blob path', async () => {
    const dir = layout(() => undefined);
    rmSync(join(dir, 'blobs', 'sha256', hex(pi.layers[1].descriptor.digest)));
    const source = await openArchiveSource(`oci:${dir}:t`, limits);
    await expect(source.openBlob(pi.layers[1].descriptor)).rejects.toThrow(NotFoundError);
    await expect(source.openBlob(pi.layers[1].descriptor)).rejects.toThrow(/no blobs\/sha256\//);
  });

  it('a blob that is a symlink out of the layout directory → refused, not read', async () => {
    const dir = layout(() => undefined);
    const p = join(dir, 'blobs', 'sha256', hex(pi.layers[1].descriptor.digest));
    rmSync(p);
    symlinkSync('/etc/hostname', p);
    const source = await openArchiveSource(`oci:${dir}:t`, limits);
    await expect(source.openBlob(pi.layers[1].descriptor)).rejects.toThrow(/outside the layout directory/);
  });

  it('a root manifest over maxManifestBytes → LimitExceededError', async () => {
    const dir = layout(() => undefined);
    await expect(openArchiveSource(`oci:${dir}:t`, resolveLimits({ maxManifestBytes: 100 }))).rejects.toBeInstanceOf(LimitExceededError);
  });

  it('a blob declaring more than maxBlobBytes → LimitExceededError before reading', async () => {
    const dir = layout(() => undefined);
    const source = await openArchiveSource(`oci:${dir}:t`, resolveLimits({ maxBlobBytes: 10 }));
    await expect(source.openBlob(pi.layers[0].descriptor)).rejects.toMatchObject({ limit: 'maxBlobBytes' });
  });

  it('a truncated oci-archive → ArchiveFormatError', async () => {
    const file = join(tmp.dir, 'a.tar');
    await writeOciArchive(file, image, { tag: 't' });
    const b = readFileSync(file);
    writeFileSync(file, b.subarray(0, b.length - 3000));
    await expect(openArchiveSource(`oci-archive:${file}:t`, limits)).rejects.toBeInstanceOf(ArchiveFormatError);
  });

  it('getManifest of an unknown digest → NotFoundError; of a non-digest → InvalidReferenceError', async () => {
    const dir = layout(() => undefined);
    const source = await openArchiveSource(`oci:${dir}:t`, limits);
    await expect(source.getManifest(`sha256:${'0'.repeat(64)}` as never)).rejects.toBeInstanceOf(NotFoundError);
    await expect(source.getManifest('sha256:../../x' as never)).rejects.toBeInstanceOf(InvalidReferenceError);
  });
});

describe('Docker 25+ archives whose two descriptions disagree', () => {
  it('index.json names another config than manifest.json → ArchiveFormatError', async () => {
    const other = buildImage({ layers: [{ entries: [{ path: 'z', body: 'z' }] }] });
    const file2 = join(tmp.dir, 'd25b.tar');
    await writeTarFile(file2, [
      ...[...image.blobs, ...other.blobs].map(([d, b]) => ({ path: `blobs/sha256/${hex(d)}`, body: b })),
      { path: `blobs/sha256/${hex(image.root.digest)}`, body: image.root.bytes },
      { path: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
      { path: 'index.json', body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.bytes.length }] }) },
      { path: 'manifest.json', body: JSON.stringify([{ Config: `blobs/sha256/${hex(other.images[0].config.digest)}`, RepoTags: [], Layers: [] }]) },
    ]);
    await expect(openArchiveSource(`docker-archive:${file2}`, limits)).rejects.toThrow(/disagree/);
  });
});

describe('validateMemberPath', () => {
  const ok = [
    ['manifest.json', 'manifest.json'],
    ['./manifest.json', 'manifest.json'],
    ['abc/layer.tar', 'abc/layer.tar'],
    ['blobs/sha256/ab', 'blobs/sha256/ab'],
  ];
  it.each(ok)('accepts %s', (input, want) => expect(validateMemberPath(input)).toBe(want));
  const bad = ['', '/etc/passwd', '../x', 'a/../../x', 'a/./b', 'a//b', 'a\\b', 'C:x', 'a\0b', 'a\nb', 'x'.repeat(5000)];
  it.each(bad)('refuses %j', (input) => expect(() => validateMemberPath(input)).toThrow(InvalidReferenceError));
});
