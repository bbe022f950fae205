import { DigestMismatchError } from '../../engine/errors';
import type { Digest } from '../../engine/model';
import type { RegistryClient } from '../../engine/registry/client';

/** A manifest or index as exact bytes, with its digest and media type. */
export interface PushableDocument {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/**
 * An image ready to push, as lib/local/builder/image-builder.ts builds it: blobs (configs and layers)
 * by digest, the platform manifests (before the index that lists them), and the root document a tag
 * names. For a single-platform image `root` is the image manifest and may also appear in `manifests`.
 */
export interface PushableImage {
  readonly blobs: Map<Digest, Buffer>;
  readonly manifests: readonly PushableDocument[];
  readonly root: PushableDocument;
}

/** What {@link pushImage} did. */
export interface PushResult {
  /** Digest of the root document, now named by the tag. */
  readonly digest: Digest;
  /** Blobs uploaded (the others were already in the repository). */
  readonly uploaded: number;
  readonly skipped: number;
}

/**
 * Pushes an image in the order registries require (distribution-spec "Pushing Content"): every blob
 * first (skipping those already present), then each platform manifest by digest — a registry refuses an
 * index whose manifests it does not have — then the root under `tag`. Safe to run twice.
 */
export async function pushImage(client: RegistryClient, repo: string, tag: string, image: PushableImage): Promise<PushResult> {
  let uploaded = 0;
  let skipped = 0;
  for (const [digest, bytes] of image.blobs) {
    if (await client.blobExists(repo, digest)) {
      skipped++;
      continue;
    }
    await client.pushBlob(repo, digest, bytes);
    uploaded++;
  }
  for (const m of image.manifests) {
    if (m.digest === image.root.digest) continue;
    await client.putManifest(repo, m.digest, m.bytes, m.mediaType);
  }
  const digest = await client.putManifest(repo, tag, image.root.bytes, image.root.mediaType);
  if (digest !== image.root.digest) throw new DigestMismatchError(image.root.digest, digest, `root manifest pushed as ${repo}:${tag}`);
  return { digest, uploaded, skipped };
}
