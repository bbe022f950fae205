import type { Readable } from 'node:stream';
import { InvalidReferenceError } from '../errors';
import { type Descriptor, type Digest, type ImageRef, formatImageRef, isRepository, parseDigest } from '../model';
import type { ReadOptions, RegistryClient } from './client';
import type { ImageSource, ManifestBytes } from './source';

/**
 * An {@link ImageSource} over one image in a registry. The root is the digest when the reference has
 * one (`repo:tag@sha256:…` pins the digest; the tag is then only a label, as in `docker pull`), else
 * the tag. Everything is read through {@link RegistryClient}, which verifies and caps what it reads,
 * under the scan's deadline when `opts.signal` is given (RELIABILITY.md 60).
 */
export class RegistrySource implements ImageSource {
  readonly name: string;

  constructor(private readonly client: RegistryClient, private readonly ref: ImageRef, private readonly opts: ReadOptions = {}) {
    if (!isRepository(ref.repository)) throw new InvalidReferenceError(`invalid repository ${JSON.stringify(ref.repository)}`);
    if (ref.registry !== client.registry) {
      throw new InvalidReferenceError(`image ${formatImageRef(ref)} is not in registry ${client.registry}`);
    }
    if (!ref.digest && !ref.tag) throw new InvalidReferenceError(`image reference ${formatImageRef(ref)} has neither tag nor digest`);
    this.name = formatImageRef(ref);
  }

  /** The manifest or index the reference names: by digest when pinned, else by tag. */
  getRootManifest(): Promise<ManifestBytes> {
    return this.client.getManifest(this.ref.repository, this.ref.digest ?? (this.ref.tag as string), this.opts);
  }

  /** A manifest by digest, verified against it. */
  getManifest(digest: Digest): Promise<ManifestBytes> {
    return this.client.getManifest(this.ref.repository, parseDigest(digest), this.opts);
  }

  /** A blob streamed through the verifying stream. */
  openBlob(desc: Descriptor): Promise<Readable> {
    return this.client.openBlob(this.ref.repository, desc, this.opts);
  }
}
