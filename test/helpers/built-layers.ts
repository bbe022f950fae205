import { Readable } from 'node:stream';
import type { EntryInfo, LayerResult } from '../../lib/engine/layers/layer-reader';
import { readLayer } from '../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS, type Limits } from '../../lib/engine/limits';
import type { BuiltImage } from '../../lib/local/builder/image-builder';

/** Reads every layer of a built single-platform image with the real reader and `wants`. */
export async function readBuiltLayers(image: BuiltImage, wants: (path: string, info: EntryInfo) => boolean, limits: Limits = DEFAULT_LIMITS): Promise<LayerResult[]> {
  const out: LayerResult[] = [];
  for (const l of image.images[0].layers) {
    const blob = image.blobs.get(l.descriptor.digest);
    if (!blob) throw new Error(`blob ${l.descriptor.digest} missing from the built image`);
    out.push(await readLayer(Readable.from([blob]), { layerDigest: l.descriptor.digest, mediaType: l.descriptor.mediaType, limits, wants }));
  }
  return out;
}

/** The files of one read layer that a check is handed: exactly what lib/engine/scan-image.ts hands it. */
export { filesForCheck as filesFor } from '../../lib/engine/scan-image';
