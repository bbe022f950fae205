import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allChecks } from '../../../lib/engine/checks/checks';
import { LimitExceededError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { type Descriptor, MediaType, formatPlatform, parseImageRef, sha256Digest } from '../../../lib/engine/model';
import { openArchiveSource } from '../../../lib/engine/registry/archive';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { RegistrySource } from '../../../lib/engine/registry/registry-source';
import { MAX_INDEX_DEPTH } from '../../../lib/engine/registry/resolve';
import type { ImageSource } from '../../../lib/engine/registry/source';
import { scanImage } from '../../../lib/engine/scan-image';
import { type BuiltDocument, type BuiltImage, buildImage } from '../../../lib/local/builder/image-builder';
import { pushImage } from '../../../lib/local/builder/push';
import { writeOciLayout } from '../../../lib/local/builder/writers';
import { type RegistryServer, startRegistry } from '../../helpers/registry-server';

/**
 * RELIABILITY.md 59 end to end: an index must not hide the image a node pulls. The same crafted
 * indexes are served by Debian's docker-registry (the CNCF distribution registry) and from an OCI
 * layout directory, and scanned with the real checks: an entry labelled
 * `vnd.docker.reference.type: attestation-manifest` but carrying linux/amd64 (skopeo and containerd
 * select it for amd64) holds EICAR and must be scanned and found; nested indexes are followed to the
 * depth cap and beyond it the image is unscannable — never partly flattened.
 */

// EICAR's standard string, kept in two halves so that no scanner flags this file.
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

const evil = buildImage({ platform: amd64, layers: [{ entries: [{ path: 'usr/bin/', type: 'dir' }, { path: 'usr/bin/payload', body: EICAR, mode: 0o755 }] }] });
const clean = buildImage({ platform: arm64, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', body: 'hello\n' }] }] });

function entryOf(image: BuiltImage, annotations?: Record<string, string>): Descriptor {
  const m = image.images[0].manifest;
  const p = image.images[0].platform;
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, platform: { os: p.os, architecture: p.architecture }, ...(annotations ? { annotations } : {}) };
}

function indexDoc(manifests: Descriptor[]): BuiltDocument {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  return { digest: sha256Digest(bytes), mediaType: MediaType.OciIndex, bytes };
}

const asEntry = (d: BuiltDocument): Descriptor => ({ mediaType: d.mediaType, digest: d.digest, size: d.bytes.length });

/** `inner` wrapped in `levels` indexes; returns them innermost first (the order a registry needs them pushed). */
function chain(inner: Descriptor[], levels: number): BuiltDocument[] {
  const docs: BuiltDocument[] = [];
  let entries = inner;
  for (let i = 0; i < levels; i++) {
    const d = indexDoc(entries);
    docs.push(d);
    entries = [asEntry(d)];
  }
  return docs;
}

/** An image whose root is `root`, holding both platform images and the nested `indexes`. */
function crafted(root: BuiltDocument, indexes: BuiltDocument[] = []): BuiltImage {
  const blobs = new Map([...evil.blobs, ...clean.blobs]);
  return {
    root,
    manifests: [evil.root, clean.root, ...indexes],
    blobs,
    configs: [...evil.configs, ...clean.configs],
    images: [...evil.images, ...clean.images],
    isIndex: true,
  };
}

const ATTESTATION = { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': clean.root.digest };

const labelled = crafted(indexDoc([entryOf(clean), entryOf(evil, ATTESTATION)]));
// root → index → index → the amd64 image: two indexes under the root, three on the way (cap MAX_INDEX_DEPTH).
const twoDeepChain = chain([entryOf(evil)], 2);
const twoDeep = crafted(indexDoc([entryOf(clean), asEntry(twoDeepChain[1])]), twoDeepChain);
// six indexes under the root: past the cap.
const sixDeepChain = chain([entryOf(evil)], 6);
const sixDeep = crafted(indexDoc([entryOf(clean), asEntry(sixDeepChain[5])]), sixDeepChain);

interface Served {
  readonly name: string;
  open(tag: string): Promise<ImageSource>;
}

const sources: { name: string; start: (images: Record<string, BuiltImage>) => Promise<Served & { stop(): Promise<void> }> }[] = [
  {
    name: 'docker-registry',
    start: async (images) => {
      const registry: RegistryServer = await startRegistry({ auth: 'none' });
      const client = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS });
      for (const [tag, image] of Object.entries(images)) await pushImage(client, 'team/app', tag, image);
      return {
        name: 'docker-registry',
        open: async (tag) => new RegistrySource(client, parseImageRef(`${registry.host}/team/app:${tag}`)),
        stop: () => registry.stop(),
      };
    },
  },
  {
    name: 'oci layout',
    start: async (images) => {
      const dir = mkdtempSync(join(tmpdir(), 'trustctl-index-'));
      for (const [tag, image] of Object.entries(images)) writeOciLayout(dir, image, { tag });
      return {
        name: 'oci layout',
        open: (tag) => openArchiveSource(`oci:${dir}:${tag}`, DEFAULT_LIMITS),
        stop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

describe.each(sources)('indexes served by $name (RELIABILITY.md 59)', ({ start }) => {
  let served: Served & { stop(): Promise<void> };
  beforeAll(async () => {
    served = await start({ labelled, 'two-deep': twoDeep, 'six-deep': sixDeep });
  }, 60_000);
  afterAll(async () => {
    await served?.stop();
  });

  const scan = async (tag: string) => scanImage(await served.open(tag), { limits: DEFAULT_LIMITS, checks: allChecks() });

  it.each([
    { tag: 'labelled', what: 'an amd64 entry labelled attestation-manifest' },
    { tag: 'two-deep', what: 'an amd64 image two indexes below the root' },
  ])('$what is scanned: EICAR found, the index not trusted', async ({ tag }) => {
    const r = await scan(tag);
    expect(r.isIndex).toBe(true);
    expect(r.images.map((i) => i.platform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    const amd = r.images.find((i) => i.platform === formatPlatform(amd64))!;
    expect(amd.manifestDigest).toBe(evil.root.digest);
    expect(amd.findings).toContainEqual(expect.objectContaining({ type: 'malware', id: 'EICAR-Test-File', path: '/usr/bin/payload' }));
    expect(amd.verdict.status).not.toBe('trusted');
    expect(r.verdict.status).not.toBe('trusted');
  });

  it(`an image ${sixDeepChain.length} indexes below the root (cap ${MAX_INDEX_DEPTH}) is unscannable, not dropped: quarantined under the root digest`, async () => {
    const r = await scan('six-deep');
    expect(r.digest).toBe(sixDeep.root.digest);
    expect(r.verdict.status).toBe('quarantined');
    expect(r.images).toEqual([expect.objectContaining({ manifestDigest: sixDeep.root.digest, findings: [expect.objectContaining({ type: 'unscannable', id: new LimitExceededError('maxIndexDepth', 4, '').code, message: expect.stringContaining('maxIndexDepth') })] })]);
    expect(r.verdict.reasons.map((x) => x.rule)).toEqual(['unscannable']);
  });
});
