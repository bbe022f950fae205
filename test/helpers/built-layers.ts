import { Readable } from 'node:stream';
import type { EntryInfo, LayerResult } from '../../lib/engine/layers/layer-reader';
import { readLayer } from '../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS, type Limits } from '../../lib/engine/limits';
import type { BuiltImage } from '../../lib/local/builder/image-builder';
import type { CheckResult, FileCheck } from '../../lib/engine/checks/types';
import { openFileChecks } from '../../lib/engine/scan-image';

/** Reads every layer of a built single-platform image with the real reader and `wants`. */
export async function readBuiltLayers(image: BuiltImage, wants: (path: string, info: EntryInfo) => boolean = () => false, limits: Limits = DEFAULT_LIMITS): Promise<LayerResult[]> {
  return (await checkBuiltLayers(image, [], limits, wants)).map((l) => l.layer);
}

/**
 * Reads every layer of a built single-platform image with the real reader, the file checks streaming
 * each layer exactly as lib/engine/scan-image.ts runs them; per layer the result and what the checks found.
 */
export async function checkBuiltLayers(
  image: BuiltImage,
  checks: FileCheck | readonly FileCheck[],
  limits: Limits = DEFAULT_LIMITS,
  wants?: (path: string, info: EntryInfo) => boolean,
): Promise<{ layer: LayerResult; result: CheckResult }[]> {
  const out: { layer: LayerResult; result: CheckResult }[] = [];
  for (const l of image.images[0].layers) {
    const blob = image.blobs.get(l.descriptor.digest);
    if (!blob) throw new Error(`blob ${l.descriptor.digest} missing from the built image`);
    const runs = openFileChecks(l.descriptor.digest, Array.isArray(checks) ? checks : [checks as FileCheck]);
    const layer = await readLayer(Readable.from([blob]), { layerDigest: l.descriptor.digest, mediaType: l.descriptor.mediaType, limits, wants, consumers: runs.consumers });
    out.push({ layer, result: await runs.finish() });
  }
  return out;
}
