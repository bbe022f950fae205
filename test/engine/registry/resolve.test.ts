import { DigestMismatchError, LimitExceededError, ManifestError, NotFoundError, UnsupportedMediaTypeError } from '../../../lib/engine/errors';
import { isUnscannable } from '../../../lib/engine/scan-image';
import { DEFAULT_LIMITS, resolveLimits } from '../../../lib/engine/limits';
import { type Descriptor, MediaType, type Platform, sha256Digest, formatPlatform } from '../../../lib/engine/model';
import { MAX_INDEX_DEPTH, resolveImage } from '../../../lib/engine/registry/resolve';
import { MemorySource } from '../../helpers/memory-source';

/** Adds one single-platform image (config + manifest; layers are never read by resolve). */
function addImage(src: MemorySource, platform: Platform, opts: { configPlatform?: Platform; diffIds?: number; configType?: string } = {}): Descriptor {
  const cp = opts.configPlatform ?? platform;
  const layer = { mediaType: MediaType.OciLayerGzip, digest: sha256Digest(formatPlatform(platform)), size: 10 };
  const config = src.addBlob(
    opts.configType ?? MediaType.OciConfig,
    Buffer.from(JSON.stringify({ ...cp, rootfs: { type: 'layers', diff_ids: Array(opts.diffIds ?? 1).fill(sha256Digest('tar')) } })),
  );
  return { ...src.addManifest(MediaType.OciManifest, { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] }, { root: true }), platform };
}

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

function indexOf(src: MemorySource, entries: Descriptor[]): void {
  src.addManifest(MediaType.OciIndex, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries }, { root: true });
}

describe('resolveImage', () => {
  it('a single manifest resolves to itself', async () => {
    const src = new MemorySource();
    const d = addImage(src, amd64);
    const r = await resolveImage(src, { limits: DEFAULT_LIMITS });
    expect(r).toMatchObject({ rootDigest: d.digest, isIndex: false, availablePlatforms: [amd64] });
    expect(r.images[0].platform).toEqual(amd64);
  });

  it('an index yields every platform, attestation manifests skipped', async () => {
    const src = new MemorySource();
    const a = addImage(src, amd64);
    const b = addImage(src, arm64);
    const att = { ...addImage(src, amd64), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } };
    indexOf(src, [a, b, att]);
    const r = await resolveImage(src, { limits: DEFAULT_LIMITS });
    expect(r.isIndex).toBe(true);
    expect(r.images.map((i) => formatPlatform(i.platform))).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(r.availablePlatforms).toHaveLength(2);
  });

  it('--platform picks one entry; arm64 matches arm64/v8', async () => {
    const src = new MemorySource();
    indexOf(src, [addImage(src, amd64), addImage(src, arm64)]);
    const r = await resolveImage(src, { limits: DEFAULT_LIMITS, platform: { os: 'linux', architecture: 'arm64' } });
    expect(r.images).toHaveLength(1);
    expect(r.images[0].platform).toEqual(arm64);
  });

  it('a platform the index does not have is NotFound, listing what is available', async () => {
    const src = new MemorySource();
    indexOf(src, [addImage(src, amd64)]);
    await expect(resolveImage(src, { limits: DEFAULT_LIMITS, platform: { os: 'linux', architecture: 's390x' } })).rejects.toThrow(/available: linux\/amd64/);
  });

  it('a nested index is flattened', async () => {
    const src = new MemorySource();
    const inner = src.addManifest(MediaType.OciIndex, { schemaVersion: 2, manifests: [addImage(src, amd64), addImage(src, arm64)] });
    indexOf(src, [inner]);
    const r = await resolveImage(src, { limits: DEFAULT_LIMITS });
    expect(r.images).toHaveLength(2);
  });

  it('index says arm64 but the config says amd64: refused (case 42, the node would pull something else)', async () => {
    const src = new MemorySource();
    indexOf(src, [{ ...addImage(src, amd64), platform: arm64 }]);
    await expect(resolveImage(src, { limits: DEFAULT_LIMITS })).rejects.toThrow(ManifestError);
  });

  it('diff_ids count different from layer count: refused (case 19)', async () => {
    const src = new MemorySource();
    addImage(src, amd64, { diffIds: 2 });
    await expect(resolveImage(src, { limits: DEFAULT_LIMITS })).rejects.toThrow(/diff_ids/);
  });

  it('a config served with other bytes than its digest: refused (case 18)', async () => {
    const src = new MemorySource();
    const cfg = Buffer.from(JSON.stringify({ ...amd64, rootfs: { type: 'layers', diff_ids: [] } }));
    // Same length, other content: only the hash can tell.
    const swapped = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'arm64', rootfs: { type: 'layers', diff_ids: [] } }));
    expect(swapped.length).toBe(cfg.length);
    const config = src.addBlob(MediaType.OciConfig, swapped, sha256Digest(cfg));
    src.addManifest(MediaType.OciManifest, { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { ...config, size: cfg.length }, layers: [] }, { root: true });
    await expect(resolveImage(src, { limits: DEFAULT_LIMITS })).rejects.toThrow(DigestMismatchError);
  });

  it('a config over maxManifestBytes is not downloaded', async () => {
    const src = new MemorySource();
    addImage(src, amd64);
    await expect(resolveImage(src, { limits: resolveLimits({ maxManifestBytes: 16 }) })).rejects.toThrow(LimitExceededError);
  });

  it('an artifact (non-image config media type) is unscannable', async () => {
    const src = new MemorySource();
    addImage(src, amd64, { configType: 'application/vnd.cncf.helm.config.v1+json' });
    await expect(resolveImage(src, { limits: DEFAULT_LIMITS })).rejects.toThrow(UnsupportedMediaTypeError);
  });

  it('a missing root is NotFound', async () => {
    await expect(resolveImage(new MemorySource(), { limits: DEFAULT_LIMITS })).rejects.toThrow(NotFoundError);
  });
});

const ATTESTATION = { 'vnd.docker.reference.type': 'attestation-manifest' };
const s390x = { os: 'linux', architecture: 's390x' };

/** Wraps `entries` in `levels` nested indexes (levels = 1: one index holding them). */
function nest(src: MemorySource, entries: Descriptor[], levels: number): Descriptor {
  let d = src.addManifest(MediaType.OciIndex, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries });
  for (let i = 1; i < levels; i++) d = src.addManifest(MediaType.OciIndex, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [d] });
  return d;
}

describe('resolveImage: what a node may pull is never left out (RELIABILITY.md 59)', () => {
  it.each([
    {
      name: 'an entry labelled attestation with platform linux/amd64 is an image, resolved and judged',
      entries: (src: MemorySource) => [{ ...addImage(src, amd64), annotations: ATTESTATION }, addImage(src, arm64)],
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    },
    {
      name: 'a BuildKit attestation (unknown/unknown) is skipped',
      entries: (src: MemorySource) => [addImage(src, amd64), { ...addImage(src, s390x), platform: { os: 'unknown', architecture: 'unknown' }, annotations: ATTESTATION }],
      platforms: ['linux/amd64'],
    },
    {
      name: 'a 2-deep nested index is flattened completely, images at every level kept',
      entries: (src: MemorySource) => [addImage(src, s390x), nest(src, [addImage(src, amd64), nest(src, [addImage(src, arm64)], 1)], 1)],
      platforms: ['linux/s390x', 'linux/amd64', 'linux/arm64/v8'],
    },
    {
      name: `indexes exactly ${MAX_INDEX_DEPTH} deep (the root counted) are followed`,
      entries: (src: MemorySource) => [nest(src, [addImage(src, amd64)], MAX_INDEX_DEPTH - 1)],
      platforms: ['linux/amd64'],
    },
    {
      name: 'a nested index listed twice is read once, its images once',
      entries: (src: MemorySource) => {
        const inner = nest(src, [addImage(src, amd64)], 1);
        return [inner, inner];
      },
      platforms: ['linux/amd64'],
    },
  ])('$name', async ({ entries, platforms }) => {
    const src = new MemorySource();
    indexOf(src, entries(src));
    const r = await resolveImage(src, { limits: DEFAULT_LIMITS });
    expect(r.images.map((i) => formatPlatform(i.platform))).toEqual(platforms);
  });

  it('--platform linux/amd64 picks the entry labelled attestation when it is the amd64 image', async () => {
    const src = new MemorySource();
    const labelled = { ...addImage(src, amd64), annotations: ATTESTATION };
    indexOf(src, [labelled, addImage(src, arm64)]);
    const r = await resolveImage(src, { limits: DEFAULT_LIMITS, platform: amd64 });
    expect(r.images.map((i) => i.manifestDigest)).toEqual([labelled.digest]);
  });

  it.each([
    { name: 'one level past the cap', levels: MAX_INDEX_DEPTH },
    { name: '6 deep', levels: 5 },
  ])('nested indexes $name: unscannable, not dropped', async ({ levels }) => {
    const src = new MemorySource();
    // The image sits beside the deep chain: a partial flattening would resolve it and drop the rest.
    indexOf(src, [addImage(src, arm64), nest(src, [addImage(src, amd64)], levels)]);
    const err = await resolveImage(src, { limits: DEFAULT_LIMITS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('maxIndexDepth');
    expect(isUnscannable(err)).toBe(true);
  });

  it('an entry that says index but is an image manifest is refused', async () => {
    const src = new MemorySource();
    const image = addImage(src, amd64);
    indexOf(src, [{ ...image, mediaType: MediaType.OciIndex }]);
    await expect(resolveImage(src, { limits: DEFAULT_LIMITS })).rejects.toThrow(ManifestError);
  });

  it('the entries of nested indexes count together against maxIndexManifests (no fan-out bomb)', async () => {
    const src = new MemorySource();
    const archs = ['amd64', 'arm64', '386', 'ppc64le', 's390x', 'riscv64'];
    const inner = [0, 2, 4].map((i) => nest(src, [addImage(src, { os: 'linux', architecture: archs[i] }), addImage(src, { os: 'linux', architecture: archs[i + 1] })], 1));
    indexOf(src, inner);
    // 3 nested indexes + 6 images = 9 entries visited.
    await expect(resolveImage(src, { limits: resolveLimits({ maxIndexManifests: 8 }) })).rejects.toThrow(LimitExceededError);
    await expect(resolveImage(src, { limits: resolveLimits({ maxIndexManifests: 9 }) })).resolves.toMatchObject({ isIndex: true });
  });
});
