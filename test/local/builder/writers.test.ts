import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType, sha256Digest } from '../../../lib/engine/model';
import { buildImage, buildIndex } from '../../../lib/local/builder/image-builder';
import { writeDockerArchive, writeOciArchive, writeOciLayout, writeTarFile } from '../../../lib/local/builder/writers';
import { run, tempDir } from '../../engine/registry/archive/helpers';

const image = buildImage({
  layers: [
    { entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/a', body: 'a\n' }], compression: 'gzip' },
    { entries: [{ path: 'etc/b', body: 'b\n' }], compression: 'zstd' },
  ],
});
const hex = (d: string): string => d.slice(7);

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('trustctl-writers-');
});
afterEach(() => tmp.cleanup());

describe('writeOciLayout', () => {
  it('writes oci-layout, index.json with the ref annotation, and content-addressed blobs', () => {
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, image, { tag: 'v1' });
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ mediaType: MediaType.OciManifest, digest: image.root.digest, size: image.root.bytes.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    });
    const names = readdirSync(join(dir, 'blobs', 'sha256'));
    expect(names.sort()).toEqual([...image.blobs.keys(), image.root.digest].map(hex).sort());
    for (const n of names) expect(sha256Digest(readFileSync(join(dir, 'blobs', 'sha256', n)))).toBe(`sha256:${n}`);
  });

  it('keeps other tags and replaces the same tag when written again', () => {
    const other = buildImage({ layers: [{ entries: [{ path: 'x', body: 'x' }], compression: 'none' }] });
    const dir = join(tmp.dir, 'layout');
    writeOciLayout(dir, image, { tag: 'v1' });
    writeOciLayout(dir, other, { tag: 'v2' });
    writeOciLayout(dir, other, { tag: 'v1' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest])).toEqual([
      ['v2', other.root.digest],
      ['v1', other.root.digest],
    ]);
  });
});

describe('archive writers (listed by GNU tar)', () => {
  const layoutMembers = (img: typeof image): string[] =>
    ['blobs/', 'blobs/sha256/', ...[...img.blobs.keys(), ...img.manifests.map((m) => m.digest), img.root.digest].map((d) => `blobs/sha256/${hex(d)}`), 'index.json', 'oci-layout'];

  it('writeOciArchive: a tar of the layout', async () => {
    const file = join(tmp.dir, 'img.oci.tar');
    await writeOciArchive(file, image, { tag: 'latest' });
    const listed = run('tar', ['-tf', file]).trim().split('\n');
    expect(listed.sort()).toEqual([...new Set(layoutMembers(image))].sort());
    const index = JSON.parse(run('tar', ['-xOf', file, 'index.json']));
    expect(index.manifests[0]).toMatchObject({ digest: image.root.digest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } });
  });

  it('writeDockerArchive legacy: manifest.json, <id>.json config, uncompressed <id>/layer.tar, repositories', async () => {
    const file = join(tmp.dir, 'docker.tar');
    await writeDockerArchive(file, image, { style: 'legacy', repoTags: ['example.com/team/app:1.0'] });
    const listed = run('tar', ['-tf', file]).trim().split('\n');
    const manifest = JSON.parse(run('tar', ['-xOf', file, 'manifest.json'])) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0].Config).toBe(`${hex(image.images[0].config.digest)}.json`);
    expect(manifest[0].RepoTags).toEqual(['example.com/team/app:1.0']);
    expect(manifest[0].Layers).toHaveLength(2);
    for (const p of [manifest[0].Config, 'repositories', ...manifest[0].Layers]) expect(listed).toContain(p);
    manifest[0].Layers.forEach((p, i) => {
      expect(p).toMatch(/^[a-f0-9]{64}\/layer\.tar$/);
      // Uncompressed, so the member's own hash is the diff_id.
      expect(sha256Digest(readTarMember(file, p) ?? Buffer.alloc(0))).toBe(image.images[0].configJson.rootfs.diff_ids[i]);
    });
    const repos = JSON.parse(run('tar', ['-xOf', file, 'repositories']));
    expect(repos).toEqual({ 'example.com/team/app': { '1.0': manifest[0].Layers[1].split('/')[0] } });
  });

  it('writeDockerArchive oci (Docker 25+): a layout plus manifest.json into blobs/sha256', async () => {
    const file = join(tmp.dir, 'docker25.tar');
    await writeDockerArchive(file, image, { style: 'oci', repoTags: ['busybox:latest'] });
    const listed = run('tar', ['-tf', file]).trim().split('\n');
    expect(listed).toEqual(expect.arrayContaining([...layoutMembers(image), 'manifest.json', 'repositories']));
    const manifest = JSON.parse(run('tar', ['-xOf', file, 'manifest.json']));
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${hex(image.images[0].config.digest)}`,
        RepoTags: ['busybox:latest'],
        Layers: image.images[0].layers.map((l) => `blobs/sha256/${hex(l.descriptor.digest)}`),
      },
    ]);
    const index = JSON.parse(run('tar', ['-xOf', file, 'index.json']));
    expect(index.manifests[0].annotations).toEqual({ 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' });
  });

  it('writeDockerArchive legacy refuses an index', async () => {
    await expect(writeDockerArchive(join(tmp.dir, 'x.tar'), buildIndex([image]), { style: 'legacy' })).rejects.toThrow(/single-platform/);
  });

  it('writeTarFile streams many entries and GNU tar reads them back byte for byte', async () => {
    const file = join(tmp.dir, 'many.tar');
    const big = Buffer.alloc(3 << 20, 7);
    await writeTarFile(file, [{ path: 'big.bin', body: big }, ...Array.from({ length: 200 }, (_, i) => ({ path: `f/${i}`, body: `${i}` }))]);
    expect(run('tar', ['-tf', file]).trim().split('\n')).toHaveLength(201);
    expect(readTarMember(file, 'big.bin')?.equals(big)).toBe(true);
  });
});

/** A member's bytes via GNU tar (binary-safe). */
function readTarMember(file: string, member: string): Buffer | undefined {
  const r = spawnSync('tar', ['-xOf', file, member], { maxBuffer: 1 << 28 });
  return r.status === 0 ? r.stdout : undefined;
}
