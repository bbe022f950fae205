import type { Readable } from 'node:stream';
import { LimitExceededError, ManifestError, NotFoundError, UnsupportedMediaTypeError } from '../errors';
import type { Limits } from '../limits';
import { type Descriptor, type Digest, type ImageConfig, type ImageManifest, INDEX_TYPES, type Platform, formatPlatform, platformMatches } from '../model';
import { CONFIG_TYPES, isAttestation, manifestKind, parseImageConfig, parseImageIndex, parseImageManifest } from './manifest';
import type { ImageSource, ManifestBytes } from './source';

/** One runnable image: a platform manifest with its verified config. */
export interface ResolvedImage {
  readonly manifestDigest: Digest;
  readonly manifestMediaType: string;
  readonly manifest: ImageManifest;
  readonly configDigest: Digest;
  readonly config: ImageConfig;
  readonly platform: Platform;
}

/** What a target resolves to: the root document and the image(s) chosen from it. */
export interface ResolvedTarget {
  /** Digest of the document the user named: an index digest, or the image manifest digest. */
  readonly rootDigest: Digest;
  readonly rootMediaType: string;
  readonly isIndex: boolean;
  /** Platforms listed by the index (all of them, attestations excluded), or the single image's. */
  readonly availablePlatforms: readonly Platform[];
  readonly images: readonly ResolvedImage[];
}

/** Reads a stream into memory, refusing more than `max` bytes (manifests, configs: case 20). */
export async function readAllCapped(stream: Readable, max: number, limit: string, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      stream.destroy();
      throw new LimitExceededError(limit, max, `${what} is larger than allowed`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function loadImage(source: ImageSource, m: ManifestBytes, limits: Limits, listed?: Descriptor): Promise<ResolvedImage> {
  const manifest = parseImageManifest(m, limits);
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    // An artifact (Helm chart, signature, SBOM…) is not a container image we can judge: unscannable.
    throw new UnsupportedMediaTypeError(manifest.config.mediaType, 'image config');
  }
  if (manifest.config.size > limits.maxManifestBytes) {
    throw new LimitExceededError('maxManifestBytes', limits.maxManifestBytes, `config ${manifest.config.digest} declares ${manifest.config.size} bytes`);
  }
  const bytes = await readAllCapped(await source.openBlob(manifest.config), limits.maxManifestBytes, 'maxManifestBytes', `config ${manifest.config.digest}`);
  const config = parseImageConfig(bytes, `config ${manifest.config.digest}`);
  const platform: Platform = config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture };
  if (listed?.platform && !platformMatches(listed.platform, platform)) {
    // The index says one thing, the config another: the node would pull something we did not judge (case 42).
    throw new ManifestError(`index lists ${m.digest} as ${formatPlatform(listed.platform)} but its config says ${formatPlatform(platform)}`);
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new ManifestError(`manifest ${m.digest} has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`);
  }
  return { manifestDigest: m.digest, manifestMediaType: m.mediaType, manifest, configDigest: manifest.config.digest, config, platform };
}

/**
 * How many index documents may stand on the way from the root to an image manifest, the root
 * included. image-index.md allows an index to list indexes; real multi-platform images use one level
 * (a few registries wrap it in a second). Deeper nesting is refused as unscannable — never flattened
 * partially, never dropped: a node could pull an image from the part we did not look at
 * (RELIABILITY.md 59).
 */
export const MAX_INDEX_DEPTH = 4;

/** True for an index entry that names another index (OCI image index or Docker manifest list). */
function isIndexEntry(d: Descriptor, parentMediaType: string): boolean {
  return d.mediaType === parentMediaType || INDEX_TYPES.includes(d.mediaType) || d.mediaType.endsWith('index.v1+json') || d.mediaType.endsWith('list.v2+json');
}

/**
 * Every image entry reachable from the index `m`, depth-first in document order. Only true
 * attestation manifests (platform `unknown/unknown`) are left out; nested indexes are followed to
 * {@link MAX_INDEX_DEPTH}, beyond which the whole target is unscannable. The entries visited across
 * all levels are bounded by `maxIndexManifests` (a fan-out of nested indexes is a bomb too), and each
 * nested index is read once.
 */
async function flattenIndex(source: ImageSource, m: ManifestBytes, limits: Limits, depth: number, seen: Set<Digest>, out: Descriptor[], visited: { n: number }): Promise<void> {
  for (const d of parseImageIndex(m, limits).manifests) {
    if (++visited.n > limits.maxIndexManifests) {
      throw new LimitExceededError('maxIndexManifests', limits.maxIndexManifests, `index ${m.digest} and the indexes it lists name more manifests than allowed`);
    }
    if (isAttestation(d)) continue;
    if (!isIndexEntry(d, m.mediaType)) {
      out.push(d);
      continue;
    }
    if (depth + 1 > MAX_INDEX_DEPTH) {
      throw new LimitExceededError('maxIndexDepth', MAX_INDEX_DEPTH, `index ${d.digest} is nested more than ${MAX_INDEX_DEPTH} indexes deep: the images below it cannot be examined`);
    }
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    const nested = await source.getManifest(d.digest);
    const doc = JSON.parse(nested.bytes.toString('utf8')) as Record<string, unknown>;
    if (manifestKind(nested, doc) !== 'index') throw new ManifestError(`index ${m.digest} lists ${d.digest} as an index, but it is an image manifest`);
    await flattenIndex(source, nested, limits, depth + 1, seen, out, visited);
  }
}

/**
 * Resolves what a source names to image manifests and configs (OCI image-spec image-index.md):
 * an index yields the entries for `platform` (or, without one, every listed platform — each gets its
 * own verdict, the index an aggregate). Only true attestation manifests (platform `unknown/unknown`)
 * are skipped: an entry with a real platform is an image a node may pull, whatever its annotations.
 * Nested indexes are followed to {@link MAX_INDEX_DEPTH} (RELIABILITY.md 59). Every document is
 * verified against its digest by the source.
 */
export async function resolveImage(source: ImageSource, opts: { limits: Limits; platform?: Platform }): Promise<ResolvedTarget> {
  const { limits, platform } = opts;
  const root = await source.getRootManifest();
  const rootDoc = JSON.parse(root.bytes.toString('utf8')) as Record<string, unknown>;
  if (manifestKind(root, rootDoc) === 'manifest') {
    const image = await loadImage(source, root, limits);
    if (platform && !platformMatches(platform, image.platform)) {
      throw new NotFoundError(`${source.name} is ${formatPlatform(image.platform)}, not ${formatPlatform(platform)}`);
    }
    return { rootDigest: root.digest, rootMediaType: root.mediaType, isIndex: false, availablePlatforms: [image.platform], images: [image] };
  }
  const entries: Descriptor[] = [];
  await flattenIndex(source, root, limits, 1, new Set([root.digest]), entries, { n: 0 });
  const availablePlatforms = entries.filter((d) => d.platform).map((d) => d.platform as Platform);
  const chosen = platform ? entries.filter((d) => d.platform && platformMatches(platform, d.platform)) : entries;
  if (chosen.length === 0) {
    throw new NotFoundError(
      `${source.name} has no image for ${platform ? formatPlatform(platform) : 'any platform'}; available: ${availablePlatforms.map(formatPlatform).join(', ') || 'none'}`,
    );
  }
  const images: ResolvedImage[] = [];
  for (const d of platform ? chosen.slice(0, 1) : chosen) {
    images.push(await loadImage(source, await source.getManifest(d.digest), limits, d));
  }
  return { rootDigest: root.digest, rootMediaType: root.mediaType, isIndex: true, availablePlatforms, images };
}
