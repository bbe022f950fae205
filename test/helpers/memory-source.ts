import { Readable } from 'node:stream';
import { NotFoundError } from '../../lib/engine/errors';
import { type Descriptor, type Digest, sha256Digest } from '../../lib/engine/model';
import type { ImageSource, ManifestBytes } from '../../lib/engine/registry/source';
import type { BuiltImage } from '../../lib/local/builder/image-builder';
import { VerifyingStream } from '../../lib/engine/registry/verify';

/**
 * An ImageSource over documents and blobs held in memory — for engine tests that need exact control
 * of what a "registry" serves (lying manifests, swapped blobs) without a server. Blobs still pass
 * through the real VerifyingStream, as they do from every real source.
 */
export class MemorySource implements ImageSource {
  readonly name = 'memory:test';
  private readonly docs = new Map<string, ManifestBytes>();
  private readonly blobs = new Map<string, Buffer>();
  private rootDigest?: Digest;
  /** Digests of the blobs opened so far, in order (to assert what a scan downloaded). */
  readonly opened: Digest[] = [];

  /** A source serving an image made by the test builder: its root, every manifest and every blob. */
  static fromBuilt(image: BuiltImage): MemorySource {
    const s = new MemorySource();
    s.addManifest(image.root.mediaType, image.root.bytes.toString('utf8'), { root: true });
    for (const m of image.manifests) s.addManifest(m.mediaType, m.bytes.toString('utf8'));
    for (const [digest, bytes] of image.blobs) s.blobs.set(digest, bytes);
    return s;
  }

  /** Adds a manifest/index document; the first one added (or `root: true`) is the root. */
  addManifest(mediaType: string, doc: unknown, opts: { root?: boolean } = {}): Descriptor {
    const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
    const digest = sha256Digest(bytes);
    this.docs.set(digest, { mediaType, digest, bytes });
    if (opts.root || !this.rootDigest) this.rootDigest = digest;
    return { mediaType, digest, size: bytes.length };
  }

  /** Adds a blob under its true digest, or under `as` to simulate a registry serving wrong content. */
  addBlob(mediaType: string, bytes: Buffer, as?: Digest): Descriptor {
    const digest = as ?? sha256Digest(bytes);
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  async getRootManifest(): Promise<ManifestBytes> {
    if (!this.rootDigest) throw new NotFoundError('no root manifest');
    return this.getManifest(this.rootDigest);
  }

  async getManifest(digest: Digest): Promise<ManifestBytes> {
    const m = this.docs.get(digest);
    if (!m) throw new NotFoundError(`manifest ${digest} not found`);
    return m;
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    this.opened.push(desc.digest);
    const b = this.blobs.get(desc.digest);
    if (!b) throw new NotFoundError(`blob ${desc.digest} not found`);
    return Readable.from([b]).pipe(new VerifyingStream(desc));
  }
}
