import { Readable } from 'node:stream';
import type { CheckResult, ImageCheck } from '../../../../lib/engine/checks/types';
import { FileTree } from '../../../../lib/engine/layers/file-tree';
import { type LayerResult, readLayer } from '../../../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS, type Limits } from '../../../../lib/engine/limits';
import type { BuiltImage } from '../../../../lib/local/builder/image-builder';

/** What running an image check over a built image gave, with the layers it read. */
export interface Ran {
  readonly result: CheckResult;
  readonly layers: readonly LayerResult[];
  readonly tree: FileTree;
}

/**
 * Runs an image check the way lib/engine/scan-image.ts does, on a built single-platform image: every
 * layer blob read once by the real reader (bodies: what the check's `wants` asks for), the layers
 * squashed into the tree, the check run with the built config and the manifest digest.
 */
export async function runOnBuilt(image: BuiltImage, check: ImageCheck, limits: Limits = DEFAULT_LIMITS): Promise<Ran> {
  const img = image.images[0];
  const layers: LayerResult[] = [];
  for (const l of img.layers) {
    const blob = image.blobs.get(l.descriptor.digest);
    if (!blob) throw new Error(`blob ${l.descriptor.digest} missing from the built image`);
    const read = await readLayer(Readable.from([blob]), {
      layerDigest: l.descriptor.digest,
      mediaType: l.descriptor.mediaType,
      limits,
      wants: (path, info) => check.wants?.(path, info) ?? false,
    });
    // The reader's diff_id is the config's: the image is what the scan would verify.
    expect(read.diffId).toBe(img.configJson.rootfs.diff_ids[layers.length]);
    layers.push(read);
  }
  const tree = FileTree.squash(layers, limits);
  const result = await check.run({ config: img.configJson, tree, layers: layers.map((l) => l.digest), manifestDigest: image.root.digest });
  return { result, layers, tree };
}
