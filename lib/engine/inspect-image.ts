import { DigestMismatchError } from './errors';
import type { Limits } from './limits';
import { type Digest, type Platform, formatPlatform } from './model';
import { readLayer, type LayerResult, type ReadLayerOptions } from './layers/layer-reader';
import { FileTree } from './layers/file-tree';
import { resolveImage, type ResolvedImage } from './registry/resolve';
import type { ImageSource } from './registry/source';

/** One layer as `trustctl inspect` reports it. */
export interface LayerSummary {
  readonly digest: Digest;
  readonly mediaType: string;
  /** Compressed size from the descriptor. */
  readonly size: number;
  /** Compression found by magic bytes (may differ from what the media type declares). */
  readonly compression: string;
  readonly diffId: Digest;
  readonly uncompressedSize: number;
  readonly entries: number;
}

/** One platform image as `trustctl inspect` reports it. */
export interface ImageSummary {
  readonly platform: string;
  readonly manifestDigest: Digest;
  readonly configDigest: Digest;
  readonly created?: string;
  readonly layers: readonly LayerSummary[];
  /** Regular files in the squashed tree (what a container sees). */
  readonly files: number;
  /** Entries the reader could not place (odd whiteouts, unresolvable links…), with their layer and path. */
  readonly unknowns: readonly { readonly layer: string; readonly path: string; readonly reason: string }[];
}

/** The document `trustctl inspect --format json` prints. */
export interface InspectReport {
  readonly schemaVersion: 1;
  readonly ref: string;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly isIndex: boolean;
  readonly platforms: readonly string[];
  readonly images: readonly ImageSummary[];
}

/**
 * Reads one layer blob as a verified stream. The config's `rootfs.diff_ids[i]` must equal the hash of
 * the uncompressed layer (image-spec config.md; RELIABILITY.md 19): an image whose config lies about
 * its layers is not an image we can vouch for.
 */
export async function readVerifiedLayer(
  source: ImageSource,
  image: ResolvedImage,
  i: number,
  limits: Limits,
  read?: ReadLayerOptions['wants'] | Omit<ReadLayerOptions, 'layerDigest' | 'mediaType' | 'limits'>,
): Promise<LayerResult> {
  const desc = image.manifest.layers[i];
  const stream = await source.openBlob(desc);
  let result: LayerResult;
  try {
    // `read`: the bodies to capture, or every reader option (streaming consumers, extractors…).
    const extra = typeof read === 'function' ? { wants: read } : (read ?? {});
    result = await readLayer(stream, { ...extra, layerDigest: desc.digest, mediaType: desc.mediaType, limits });
  } finally {
    stream.destroy();
  }
  const expected = image.config.rootfs.diff_ids[i];
  if (result.diffId !== expected) throw new DigestMismatchError(expected, result.diffId, `layer ${i} (${desc.digest}) diff_id`);
  return result;
}

/** Reads every layer of one platform image exactly once as a verified stream and squashes them. */
export async function readImageLayers(
  source: ImageSource,
  image: ResolvedImage,
  limits: Limits,
  wants?: ReadLayerOptions['wants'],
): Promise<{ layers: LayerResult[]; tree: FileTree }> {
  const layers: LayerResult[] = [];
  for (let i = 0; i < image.manifest.layers.length; i++) layers.push(await readVerifiedLayer(source, image, i, limits, wants));
  return { layers, tree: FileTree.squash(layers, limits) };
}

/** `trustctl inspect`: digest, platforms, layers (digest, media type, size, entries) and file count. */
export async function inspectImage(source: ImageSource, opts: { limits: Limits; platform?: Platform }): Promise<InspectReport> {
  const target = await resolveImage(source, opts);
  const images: ImageSummary[] = [];
  for (const image of target.images) {
    const { layers, tree } = await readImageLayers(source, image, opts.limits);
    images.push({
      platform: formatPlatform(image.platform),
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      ...(image.config.created ? { created: image.config.created } : {}),
      layers: layers.map((l, i) => ({
        digest: image.manifest.layers[i].digest,
        mediaType: image.manifest.layers[i].mediaType,
        size: image.manifest.layers[i].size,
        compression: l.compression,
        diffId: l.diffId,
        uncompressedSize: l.uncompressedBytes,
        entries: l.entryCount,
      })),
      files: tree.fileCount,
      unknowns: [...layers.flatMap((l) => l.unknowns), ...tree.unknowns],
    });
  }
  return {
    schemaVersion: 1,
    ref: source.name,
    digest: target.rootDigest,
    mediaType: target.rootMediaType,
    isIndex: target.isIndex,
    platforms: target.availablePlatforms.map(formatPlatform),
    images,
  };
}
