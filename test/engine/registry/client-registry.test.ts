import { execFileSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { AuthError, NotFoundError, SizeMismatchError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { type Descriptor, type Digest, MediaType, parseImageRef, sha256Digest } from '../../../lib/engine/model';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { RegistrySource } from '../../../lib/engine/registry/registry-source';
import { resolveImage } from '../../../lib/engine/registry/resolve';
import type { CredentialProvider } from '../../../lib/engine/registry/source';
import { type PushableDocument, type PushableImage, pushImage } from '../../../lib/local/builder/push';
import { type TarEntry, buildTar } from '../../../lib/local/builder/tar-writer';
import { type RegistryServer, startRegistry } from '../../helpers/registry-server';

/**
 * The registry client and pushImage against the real CNCF distribution registry (Debian's
 * docker-registry 2.8) in its three auth modes. The images are built here from tar-writer archives:
 * gzip layers, a zstd layer made by the `zstd` CLI, a Docker v2.2 manifest and a two-platform OCI index.
 */

const users = { alice: 'wonderland-secret' };
const asAlice: CredentialProvider = { getCredentials: async () => ({ kind: 'basic', username: 'alice', password: users.alice }) };
const wrongPassword: CredentialProvider = { getCredentials: async () => ({ kind: 'basic', username: 'alice', password: 'not-the-password' }) };

function doc(mediaType: string, value: unknown): PushableDocument {
  const bytes = Buffer.from(JSON.stringify(value));
  return { digest: sha256Digest(bytes), mediaType, bytes };
}

interface Layer {
  readonly tar: Buffer;
  readonly blob: Buffer;
  readonly desc: Descriptor;
}

function gzipLayer(entries: TarEntry[], mediaType: string): Layer {
  const tar = buildTar(entries);
  const blob = gzipSync(tar);
  return { tar, blob, desc: { mediaType, digest: sha256Digest(blob), size: blob.length } };
}

function zstdLayer(entries: TarEntry[]): Layer {
  const tar = buildTar(entries);
  const blob = execFileSync('zstd', ['-q', '-c', '-3'], { input: tar });
  return { tar, blob, desc: { mediaType: MediaType.OciLayerZstd, digest: sha256Digest(blob), size: blob.length } };
}

/** One platform image: config + manifest over the given layers. */
function platformImage(arch: string, layers: Layer[], kind: 'oci' | 'docker'): { manifest: PushableDocument; config: PushableDocument } {
  const config = doc(kind === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig, {
    architecture: arch,
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/bin'], Cmd: ['/app/run'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256Digest(l.tar)) },
    history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
  });
  const manifest = doc(kind === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest, {
    schemaVersion: 2,
    mediaType: kind === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.length },
    layers: layers.map((l) => l.desc),
  });
  return { manifest, config };
}

function blobsOf(layers: Layer[], configs: PushableDocument[]): Map<Digest, Buffer> {
  const m = new Map<Digest, Buffer>();
  for (const l of layers) m.set(l.desc.digest, l.blob);
  for (const c of configs) m.set(c.digest, c.bytes);
  return m;
}

const base = gzipLayer([{ path: 'etc/', type: 'dir' }, { path: 'etc/os-release', body: 'ID=test\nVERSION_ID=1\n' }], MediaType.OciLayerGzip);
const appAmd64 = gzipLayer([{ path: 'app/run', body: '#!/bin/sh\necho amd64\n', mode: 0o755 }], MediaType.OciLayerGzip);
const appArm64 = zstdLayer([{ path: 'app/run', body: '#!/bin/sh\necho arm64\n', mode: 0o755 }]);
const amd64 = platformImage('amd64', [base, appAmd64], 'oci');
const arm64 = platformImage('arm64', [base, appArm64], 'oci');
const index = doc(MediaType.OciIndex, {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    { mediaType: MediaType.OciManifest, digest: amd64.manifest.digest, size: amd64.manifest.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.OciManifest, digest: arm64.manifest.digest, size: arm64.manifest.bytes.length, platform: { os: 'linux', architecture: 'arm64' } },
  ],
});
const multiArch: PushableImage = { blobs: blobsOf([base, appAmd64, appArm64], [amd64.config, arm64.config]), manifests: [amd64.manifest, arm64.manifest], root: index };

const dockerLayer = gzipLayer([{ path: 'srv/index.html', body: '<h1>hi</h1>\n' }], MediaType.DockerLayerGzip);
const dockerImage = platformImage('amd64', [dockerLayer], 'docker');
const single: PushableImage = { blobs: blobsOf([dockerLayer], [dockerImage.config]), manifests: [dockerImage.manifest], root: dockerImage.manifest };

async function drain(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('against docker-registry without auth', () => {
  let registry: RegistryServer;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    client = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes a two-platform OCI index (gzip and zstd layers), then again without re-uploading', async () => {
    const first = await pushImage(client, 'team/app', '1.0', multiArch);
    expect(first).toEqual({ digest: index.digest, uploaded: 5, skipped: 0 });
    const again = await pushImage(client, 'team/app', '1.0', multiArch);
    expect(again).toEqual({ digest: index.digest, uploaded: 0, skipped: 5 });
  });

  it('pulls the index by tag and by digest, byte for byte', async () => {
    for (const ref of ['1.0', index.digest]) {
      const m = await client.getManifest('team/app', ref);
      expect(m).toEqual({ mediaType: MediaType.OciIndex, digest: index.digest, bytes: index.bytes });
    }
  });

  it.each([
    { platform: { os: 'linux', architecture: 'amd64' }, image: amd64, layers: [base, appAmd64] },
    { platform: { os: 'linux', architecture: 'arm64' }, image: arm64, layers: [base, appArm64] },
  ])('resolves the $platform.architecture manifest through the index and streams its verified layers', async ({ platform, image, layers }) => {
    const source = new RegistrySource(client, parseImageRef(`${registry.host}/team/app:1.0`));
    const target = await resolveImage(source, { limits: DEFAULT_LIMITS, platform });
    expect(target.isIndex).toBe(true);
    expect(target.rootDigest).toBe(index.digest);
    expect(target.images).toHaveLength(1);
    expect(target.images[0].manifestDigest).toBe(image.manifest.digest);
    expect(target.images[0].manifest.layers.map((l) => l.mediaType)).toEqual(layers.map((l) => l.desc.mediaType));
    for (const [i, l] of layers.entries()) {
      expect(await drain(await source.openBlob(target.images[0].manifest.layers[i]))).toEqual(l.blob);
    }
  });

  it('pushes and pulls a Docker v2.2 manifest with its own media type', async () => {
    expect((await pushImage(client, 'team/web', 'v1', single)).digest).toBe(dockerImage.manifest.digest);
    const m = await client.getManifest('team/web', 'v1');
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.bytes).toEqual(dockerImage.manifest.bytes);
  });

  it('a reference with tag and digest pins the digest', async () => {
    const source = new RegistrySource(client, parseImageRef(`${registry.host}/team/app:1.0@${amd64.manifest.digest}`));
    const root = await source.getRootManifest();
    expect(root.digest).toBe(amd64.manifest.digest);
    expect(root.bytes).toEqual(amd64.manifest.bytes);
  });

  it('tagManifest puts the same bytes under a new tag, and is idempotent', async () => {
    expect(await client.tagManifest('team/app', index.digest, 'trusted')).toBe(true);
    expect(await client.tagManifest('team/app', index.digest, 'trusted')).toBe(false);
    const m = await client.getManifest('team/app', 'trusted');
    expect(m.digest).toBe(index.digest);
    expect(m.bytes).toEqual(index.bytes);
    // Moving the tag to another digest (a re-judged image) works on a mutable registry.
    expect(await client.tagManifest('team/app', arm64.manifest.digest, 'trusted')).toBe(true);
    expect((await client.headManifest('team/app', 'trusted'))?.digest).toBe(arm64.manifest.digest);
  });

  it('answers what exists and what does not', async () => {
    expect(await client.blobExists('team/app', base.desc.digest)).toBe(true);
    expect(await client.blobExists('team/app', sha256Digest('absent'))).toBe(false);
    expect(await client.headManifest('team/app', 'no-such-tag')).toBeUndefined();
    expect(await client.headManifest('team/app', '1.0')).toMatchObject({ digest: index.digest, mediaType: MediaType.OciIndex, size: index.bytes.length });
    await expect(client.getManifest('team/app', 'no-such-tag')).rejects.toThrow(NotFoundError);
    await expect(client.getManifest('team/nothing', '1.0')).rejects.toThrow(NotFoundError);
    await expect(client.openBlob('team/app', { digest: sha256Digest('absent'), size: 6 })).rejects.toThrow(NotFoundError);
  });

  it('lists tags, following the registry\'s pagination', async () => {
    await client.tagManifest('team/app', index.digest, 'extra-1');
    await client.tagManifest('team/app', index.digest, 'extra-2');
    const all = await client.listTags('team/app', { page: 1 });
    expect(all).toEqual(expect.arrayContaining(['1.0', 'extra-1', 'extra-2']));
    expect(new Set(all).size).toBe(all.length);
    expect(await client.listTags('team/app', { page: 1, max: 2 })).toHaveLength(2);
    await expect(client.listTags('team/nothing')).rejects.toThrow(NotFoundError);
  });

  it('a descriptor with the wrong size fails against a real registry too (RELIABILITY.md 18)', async () => {
    await expect(client.openBlob('team/app', { digest: base.desc.digest, size: base.desc.size + 1 })).rejects.toThrow(SizeMismatchError);
  });
});

describe.each([
  { auth: 'htpasswd' as const },
  { auth: 'token' as const },
])('against docker-registry with $auth auth', ({ auth }) => {
  let registry: RegistryServer;
  beforeAll(async () => {
    registry = await startRegistry({ auth, users });
  });
  afterAll(async () => {
    await registry?.stop();
  });
  const clientWith = (credentials?: CredentialProvider): RegistryClient => new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS, credentials });

  it('pushes and pulls with the right credentials', async () => {
    const client = clientWith(asAlice);
    expect((await pushImage(client, 'team/app', '1.0', single)).digest).toBe(dockerImage.manifest.digest);
    const m = await client.getManifest('team/app', '1.0');
    expect(m.bytes).toEqual(dockerImage.manifest.bytes);
    expect(await drain(await client.openBlob('team/app', dockerLayer.desc))).toEqual(dockerLayer.blob);
    expect(await client.tagManifest('team/app', m.digest, 'trusted')).toBe(true);
    if (auth === 'token') {
      // One token per scope, each fetched once with Alice's Basic credentials, then reused from the cache.
      const granted = registry.tokenServer?.requests.filter((r) => r.status === 200) ?? [];
      expect(granted.map((r) => r.scopes.join(' ')).sort()).toEqual(['repository:team/app:pull', 'repository:team/app:pull,push']);
      expect(granted.every((r) => r.user === 'alice')).toBe(true);
    }
  });

  it('a wrong password is an AuthError', async () => {
    await expect(clientWith(wrongPassword).getManifest('team/app', '1.0')).rejects.toThrow(AuthError);
  });

  it('no credentials is an AuthError', async () => {
    await expect(clientWith(undefined).getManifest('team/app', '1.0')).rejects.toThrow(AuthError);
  });
});
