import { LimitExceededError, ManifestError, UnsupportedMediaTypeError } from '../errors';
import type { Limits } from '../limits';
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  IMAGE_MANIFEST_TYPES,
  INDEX_TYPES,
  MediaType,
  parseDigest,
} from '../model';
import type { ManifestBytes } from './source';

/**
 * Parsing and validation of manifests, indexes and image configs (OCI image-spec manifest.md,
 * image-index.md, config.md; Docker manifest-v2-2.md). Everything that later becomes a URL part, a
 * key or a path (digests, sizes, media types) is checked here, once, before use (RELIABILITY.md 23).
 */

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ManifestError(`${what} is not valid JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ManifestError(`${what} is not a JSON object`);
  return doc as Record<string, unknown>;
}

/** Validates one descriptor (descriptor.md: mediaType, digest, size are required). */
export function parseDescriptor(raw: unknown, what: string): Descriptor {
  if (typeof raw !== 'object' || raw === null) throw new ManifestError(`${what}: descriptor is not an object`);
  const d = raw as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(d.mediaType)) {
    throw new ManifestError(`${what}: invalid mediaType ${JSON.stringify(d.mediaType)}`);
  }
  const digest = parseDigest(d.digest, `${what} digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new ManifestError(`${what}: invalid size ${JSON.stringify(d.size)}`);
  }
  return { ...(d as object), mediaType: d.mediaType, digest, size: d.size } as Descriptor;
}

/** The kind of a manifest document: from the transport media type, else from its own `mediaType` field. */
export function manifestKind(m: ManifestBytes, doc: Record<string, unknown>): 'manifest' | 'index' {
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const type = IMAGE_MANIFEST_TYPES.includes(m.mediaType) || INDEX_TYPES.includes(m.mediaType) ? m.mediaType : declared;
  if (declared && type && declared !== type) throw new ManifestError(`manifest ${m.digest} says ${declared} but was served as ${type}`);
  if (type && IMAGE_MANIFEST_TYPES.includes(type)) return 'manifest';
  if (type && INDEX_TYPES.includes(type)) return 'index';
  // OCI allows mediaType to be absent; the shape decides then (image-spec manifest.md, image-index.md).
  if (!type && Array.isArray(doc.manifests)) return 'index';
  if (!type && Array.isArray(doc.layers)) return 'manifest';
  throw new UnsupportedMediaTypeError(type ?? m.mediaType, 'manifest');
}

/** Parses an image manifest, enforcing `maxLayers`. */
export function parseImageManifest(m: ManifestBytes, limits: Limits): ImageManifest {
  const doc = parseJson(m.bytes, `manifest ${m.digest}`);
  if (doc.schemaVersion !== 2) throw new ManifestError(`manifest ${m.digest}: schemaVersion ${JSON.stringify(doc.schemaVersion)} is not 2`);
  if (manifestKind(m, doc) !== 'manifest') throw new ManifestError(`${m.digest} is an index, not an image manifest`);
  if (!Array.isArray(doc.layers)) throw new ManifestError(`manifest ${m.digest}: layers is not an array`);
  if (doc.layers.length > limits.maxLayers) {
    throw new LimitExceededError('maxLayers', limits.maxLayers, `manifest ${m.digest} has ${doc.layers.length} layers`);
  }
  return {
    ...(doc as object),
    schemaVersion: 2,
    config: parseDescriptor(doc.config, `manifest ${m.digest} config`),
    layers: doc.layers.map((l, i) => parseDescriptor(l, `manifest ${m.digest} layer ${i}`)),
  } as ImageManifest;
}

/** Parses an index / manifest list; entries beyond `maxIndexManifests` are refused (case 21). */
export function parseImageIndex(m: ManifestBytes, limits: Limits): ImageIndex {
  const doc = parseJson(m.bytes, `index ${m.digest}`);
  if (doc.schemaVersion !== 2) throw new ManifestError(`index ${m.digest}: schemaVersion ${JSON.stringify(doc.schemaVersion)} is not 2`);
  if (!Array.isArray(doc.manifests)) throw new ManifestError(`index ${m.digest}: manifests is not an array`);
  if (doc.manifests.length > limits.maxIndexManifests) {
    throw new LimitExceededError('maxIndexManifests', limits.maxIndexManifests, `index ${m.digest} lists ${doc.manifests.length} manifests`);
  }
  return { ...(doc as object), schemaVersion: 2, manifests: doc.manifests.map((d, i) => parseDescriptor(d, `index ${m.digest} entry ${i}`)) } as ImageIndex;
}

/** Parses an image config and checks the fields the product relies on. */
export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  const doc = parseJson(bytes, what);
  const rootfs = doc.rootfs as Record<string, unknown> | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) throw new ManifestError(`${what}: rootfs.diff_ids missing`);
  rootfs.diff_ids.forEach((d, i) => parseDigest(d, `${what} diff_ids[${i}]`));
  if (typeof doc.os !== 'string' || typeof doc.architecture !== 'string') throw new ManifestError(`${what}: os/architecture missing`);
  return doc as unknown as ImageConfig;
}

/** Config media types we read. */
export const CONFIG_TYPES: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig];

/**
 * True for index entries that are not runnable images: BuildKit attestation manifests, which carry
 * platform `unknown/unknown` — no node has that platform, so no runtime selects them (case 21,
 * attestation floods). The `vnd.docker.reference.type: attestation-manifest` annotation alone decides
 * nothing: skopeo and containerd choose entries by platform, so an entry labelled attestation with a
 * real platform is pulled and run, and must be judged (RELIABILITY.md 59).
 */
export function isAttestation(d: Descriptor): boolean {
  return d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown';
}
