import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import * as zlib from 'node:zlib';
import { type Descriptor, type Digest, type ImageConfig, MediaType, type Platform, sha256Digest } from '../../engine/model';
import { type TarEntry, buildTar } from './tar-writer';

/**
 * The tests' and the quick start's image builder: from file specs to a complete image in memory —
 * layers (tar, compressed), config, manifest, and for several platforms an index — with exactly the
 * bytes a registry or an archive would hold. Output is deterministic (fixed mtimes, uid/gid 0, sorted
 * entries, fixed `created`), so the same spec always gives the same digests.
 *
 * Specs followed: OCI image-spec manifest.md, config.md (`rootfs.diff_ids` are the digests of the
 * *uncompressed* layer tars, layer.md "DiffID"), image-index.md; Docker manifest-v2-2.md and
 * manifest-list for the Docker flavour.
 */

/** Layer compression. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** A file or directory on this machine copied into a layer (read-only, recursively). */
export interface HostFileSpec {
  /** Absolute path on this machine. */
  readonly hostPath: string;
  /** Absolute path inside the image, e.g. `/etc/os-release`. */
  readonly imagePath: string;
}

/** One layer of an image. */
export interface LayerSpec {
  /** Entries written as they are (hostile names and links allowed: tests build RELIABILITY.md cases with them). */
  readonly entries?: readonly TarEntry[];
  /** Real files copied from this machine, after `entries`. */
  readonly fromHost?: readonly HostFileSpec[];
  /** Default `gzip`. */
  readonly compression?: LayerCompression;
  /** The layer's history line (`created_by`). */
  readonly createdBy?: string;
  /** Override the descriptor's media type (mislabelled layers, RELIABILITY.md 17). */
  readonly mediaType?: string;
}

/** Deliberate corruptions, for the RELIABILITY.md cases that need a lying image. */
export interface CorruptionSpec {
  /** Layer indexes whose `rootfs.diff_ids` entry is wrong (case 19). */
  readonly diffIds?: readonly number[];
  /** Layer indexes whose stored blob has one byte flipped while the descriptor keeps the true digest (case 18). */
  readonly layerBytes?: readonly number[];
}

/** What to build. */
export interface ImageSpec {
  /** `oci` (default) or `docker` (Docker v2.2 media types). */
  readonly format?: 'oci' | 'docker';
  /** Default `linux/amd64`. */
  readonly platform?: Platform;
  readonly layers: readonly LayerSpec[];
  /** The runtime config (config.md `config`): User, Env, Cmd, Entrypoint, WorkingDir, Labels… */
  readonly config?: NonNullable<ImageConfig['config']>;
  /** RFC 3339; default {@link FIXED_CREATED}. */
  readonly created?: string;
  /** Extra history entries without a layer (`empty_layer: true`), appended after the layers'. */
  readonly emptyHistory?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly corrupt?: CorruptionSpec;
}

/** A manifest, index or config document: exact bytes and their digest. */
export interface BuiltDocument {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** One layer as built. */
export interface BuiltLayer {
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar (what the config should say, even when `corrupt` made it lie). */
  readonly diffId: Digest;
  readonly compression: LayerCompression;
  /** The uncompressed tar. */
  readonly tar: Buffer;
}

/** One platform image. */
export interface BuiltPlatformImage {
  readonly platform: Platform;
  readonly manifest: BuiltDocument;
  readonly config: BuiltDocument;
  readonly configJson: ImageConfig;
  readonly layers: readonly BuiltLayer[];
}

/**
 * A built image in memory. Satisfies lib/local/builder/push.ts's `PushableImage`: push every blob,
 * then every manifest of `manifests` by digest, then `root` by tag. `manifests` holds the platform
 * image manifests (for a single image that is the root itself).
 */
export interface BuiltImage {
  /** The document a tag names: the image manifest, or the index / manifest list. */
  readonly root: BuiltDocument;
  readonly manifests: readonly BuiltDocument[];
  /** Layers and configs by digest (manifests are not blobs). */
  readonly blobs: Map<Digest, Buffer>;
  readonly configs: readonly BuiltDocument[];
  /** The platform images, in index order. */
  readonly images: readonly BuiltPlatformImage[];
  readonly isIndex: boolean;
}

/** The fixed creation time of built images and mtime of their files (2024-01-01T00:00:00Z). */
export const FIXED_CREATED = '2024-01-01T00:00:00Z';
/** {@link FIXED_CREATED} in seconds since the epoch (tar mtime). */
export const FIXED_MTIME = Date.parse(FIXED_CREATED) / 1000;

/** Compresses with the `zstd` CLI: Node 20's zlib has no zstd (zlib.createZstdCompress arrived in 22.15). */
function zstdCompress(data: Buffer): Buffer {
  const z = zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer };
  if (typeof z.zstdCompressSync === 'function') return z.zstdCompressSync(data);
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 4 * data.length + (1 << 20) });
  if (r.error) throw new Error(`zstd CLI not available: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString('utf8')}`);
  return r.stdout;
}

/** Compresses a layer tar. gzip without a name and with mtime 0 (Node's default), so bytes are stable. */
export function compressLayer(tar: Buffer, compression: LayerCompression): Buffer {
  switch (compression) {
    case 'gzip':
      return zlib.gzipSync(tar, { level: 6 });
    case 'zstd':
      return zstdCompress(tar);
    case 'none':
      return tar;
  }
}

/** Layer media type by format and compression. Docker v2.2 has no zstd type; Docker uses the OCI one, so do we. */
function layerMediaType(format: 'oci' | 'docker', c: LayerCompression): string {
  if (format === 'oci') return c === 'gzip' ? MediaType.OciLayerGzip : c === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
  return c === 'gzip' ? MediaType.DockerLayerGzip : c === 'zstd' ? MediaType.OciLayerZstd : MediaType.DockerLayerTar;
}

/**
 * Reads real files from this machine into tar entries: directories recursively (sorted), regular
 * files with their bytes, symlinks as symlinks (never followed — a link in the image points where it
 * pointed here), permission bits preserved; ownership normalised to root and mtimes to
 * {@link FIXED_MTIME}, as a reproducible build does. Missing parent directories are added (0755).
 * Sockets, devices and FIFOs are skipped: they carry no content to scan.
 */
export function hostEntries(specs: readonly HostFileSpec[]): TarEntry[] {
  const out = new Map<string, TarEntry>();
  const addParents = (p: string): void => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!out.has(dir)) out.set(dir, { path: dir, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: FIXED_MTIME });
    }
  };
  const walk = (host: string, image: string): void => {
    const st = lstatSync(host);
    const common = { mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: FIXED_MTIME };
    if (st.isSymbolicLink()) {
      out.set(image, { path: image, type: 'symlink', linkname: readlinkSync(host), ...common });
    } else if (st.isDirectory()) {
      out.set(`${image}/`, { path: `${image}/`, type: 'dir', ...common });
      for (const name of readdirSync(host).sort()) walk(join(host, name), `${image}/${name}`);
    } else if (st.isFile()) {
      out.set(image, { path: image, type: 'file', body: readFileSync(host), ...common });
    }
  };
  for (const s of specs) {
    const image = posix.normalize(s.imagePath).replace(/^\/+/, '').replace(/\/+$/, '');
    if (image === '' || image === '.' || image.startsWith('..')) throw new Error(`invalid imagePath ${JSON.stringify(s.imagePath)}`);
    addParents(image);
    walk(s.hostPath, image);
  }
  // Sorted so parents precede children and the bytes do not depend on the order of the specs.
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function json(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** Builds one single-platform image. */
export function buildImage(spec: ImageSpec): BuiltImage {
  const format = spec.format ?? 'oci';
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const created = spec.created ?? FIXED_CREATED;
  const blobs = new Map<Digest, Buffer>();
  const layers: BuiltLayer[] = spec.layers.map((l, i) => {
    const tar = buildTar([...(l.entries ?? []), ...hostEntries(l.fromHost ?? [])]);
    const compression = l.compression ?? 'gzip';
    const blob = compressLayer(tar, compression);
    const descriptor: Descriptor = { mediaType: l.mediaType ?? layerMediaType(format, compression), digest: sha256Digest(blob), size: blob.length };
    let stored = blob;
    if (spec.corrupt?.layerBytes?.includes(i)) {
      stored = Buffer.from(blob);
      stored[stored.length >> 1] ^= 0xff;
    }
    blobs.set(descriptor.digest, stored);
    return { descriptor, diffId: sha256Digest(tar), compression, tar };
  });
  const diffIds = layers.map((l, i) => (spec.corrupt?.diffIds?.includes(i) ? sha256Digest(Buffer.concat([l.tar, Buffer.from('corrupt')])) : l.diffId));
  const configJson: ImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [
      ...spec.layers.map((l, i) => ({ created, created_by: l.createdBy ?? `trustctl-builder layer ${i}` })),
      ...(spec.emptyHistory ?? []).map((h) => ({ created, created_by: h, empty_layer: true })),
    ],
  };
  const configBytes = json(configJson);
  const config: BuiltDocument = { digest: sha256Digest(configBytes), mediaType: format === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig, bytes: configBytes };
  blobs.set(config.digest, configBytes);
  const manifestType = format === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest;
  const manifestBytes = json({
    schemaVersion: 2,
    mediaType: manifestType,
    config: { mediaType: config.mediaType, digest: config.digest, size: configBytes.length },
    layers: layers.map((l) => l.descriptor),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  const manifest: BuiltDocument = { digest: sha256Digest(manifestBytes), mediaType: manifestType, bytes: manifestBytes };
  const image: BuiltPlatformImage = { platform, manifest, config, configJson, layers };
  return { root: manifest, manifests: [manifest], blobs, configs: [config], images: [image], isIndex: false };
}

/**
 * Combines single-platform images into an OCI image index — or a Docker manifest list when every
 * image uses Docker media types — with each entry's `platform` taken from its config.
 */
export function buildIndex(images: readonly BuiltImage[], opts: { annotations?: Readonly<Record<string, string>> } = {}): BuiltImage {
  const platformImages = images.flatMap((i) => i.images);
  const docker = platformImages.length > 0 && platformImages.every((i) => i.manifest.mediaType === MediaType.DockerManifest);
  const mediaType = docker ? MediaType.DockerManifestList : MediaType.OciIndex;
  const bytes = json({
    schemaVersion: 2,
    mediaType,
    manifests: platformImages.map((i) => ({
      mediaType: i.manifest.mediaType,
      digest: i.manifest.digest,
      size: i.manifest.bytes.length,
      platform: { architecture: i.platform.architecture, os: i.platform.os, ...(i.platform.variant ? { variant: i.platform.variant } : {}) },
    })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  });
  const blobs = new Map<Digest, Buffer>();
  for (const i of images) for (const [d, b] of i.blobs) blobs.set(d, b);
  return {
    root: { digest: sha256Digest(bytes), mediaType, bytes },
    manifests: platformImages.map((i) => i.manifest),
    blobs,
    configs: platformImages.map((i) => i.config),
    images: platformImages,
    isIndex: true,
  };
}
