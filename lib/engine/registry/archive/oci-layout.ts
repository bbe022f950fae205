import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { ArchiveFormatError, InvalidReferenceError, LimitExceededError, ManifestError, NotFoundError } from '../../errors';
import type { Limits } from '../../limits';
import { type Descriptor, type Digest, IMAGE_MANIFEST_TYPES, MediaType, parseDigest, sha256Digest } from '../../model';
import { parseDescriptor } from '../manifest';
import type { ImageSource, ManifestBytes } from '../source';
import { VerifyingStream, checkDeclaredSize, verifyBytes } from '../verify';
import { blobPath, isOciRefName } from './paths';
import { type MemberStore, readMemberCapped } from './store';

/**
 * Reading an OCI image layout (image-spec image-layout.md): an `oci-layout` file naming the layout
 * version, an `index.json` listing the images (tagged by the `org.opencontainers.image.ref.name`
 * annotation), and content-addressed `blobs/<alg>/<hex>`. The same code serves a layout directory
 * (`oci:`), a tar of one (`oci-archive:`) and Docker 25+ `docker save` archives, which are layouts too.
 */

/** The annotation that names an image in a layout (image-spec annotations.md). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** A layout's `index.json`, verified and parsed. */
export interface LayoutIndex {
  readonly bytes: Buffer;
  /** sha256 of `index.json` — the digest of the layout's own index when it is used as the root. */
  readonly digest: Digest;
  readonly manifests: readonly Descriptor[];
}

/**
 * Reads `oci-layout` and `index.json`. Both are capped by `maxManifestBytes`; every descriptor in
 * `index.json` is validated (media type, digest of a registered algorithm in lowercase hex, size),
 * so a digest that is not hex refuses the whole layout (RELIABILITY.md 23).
 */
export async function readLayoutIndex(store: MemberStore, limits: Limits): Promise<LayoutIndex> {
  if ((await store.size('oci-layout')) === undefined) {
    throw new ArchiveFormatError(`${store.name} is not an OCI image layout: it has no oci-layout file`);
  }
  const layoutBytes = await readMemberCapped(store, 'oci-layout', limits.maxManifestBytes, 'maxManifestBytes', 'oci-layout file');
  let layout: unknown;
  try {
    layout = JSON.parse(layoutBytes.toString('utf8'));
  } catch (err) {
    throw new ArchiveFormatError(`${store.name}: oci-layout is not valid JSON`, { cause: err });
  }
  const version = (layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  // image-layout.md: "imageLayoutVersion … MUST be 1.0.0"; later 1.x releases stay compatible.
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new ArchiveFormatError(`${store.name}: unsupported imageLayoutVersion ${JSON.stringify(version)}`);
  }
  if ((await store.size('index.json')) === undefined) throw new ArchiveFormatError(`${store.name}: OCI image layout has no index.json`);
  const bytes = await readMemberCapped(store, 'index.json', limits.maxManifestBytes, 'maxManifestBytes', 'index.json');
  let doc: { schemaVersion?: unknown; manifests?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch (err) {
    throw new ArchiveFormatError(`${store.name}: index.json is not valid JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || doc.schemaVersion !== 2 || !Array.isArray(doc.manifests)) {
    throw new ArchiveFormatError(`${store.name}: index.json is not an image index (schemaVersion 2 with a manifests array)`);
  }
  // The entry count is bounded by maxManifestBytes; maxIndexManifests bounds platform fan-out and is
  // applied by resolve when index.json itself is the image (a layout may hold many tags).
  const manifests = doc.manifests.map((d, i) => parseDescriptor(d, `${store.name} index.json entry ${i}`));
  return { bytes, digest: sha256Digest(bytes), manifests };
}

/** Media type of a manifest document: its own `mediaType`, else by shape (image-spec allows it absent). */
function documentMediaType(bytes: Buffer): string | undefined {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof doc.mediaType === 'string') return doc.mediaType;
    if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
    if (Array.isArray(doc.layers)) return MediaType.OciManifest;
  } catch {
    // Not JSON: the parser upstream reports it with the digest.
  }
  return undefined;
}

/**
 * Chooses the root of a layout: the entry whose `org.opencontainers.image.ref.name` is `ref`
 * (validated against the annotation grammar first), else the sole entry of `index.json`. With several
 * entries and no ref, `index.json` itself is the root when every entry is a platform image (a
 * multi-platform layout written without tags); otherwise the user must name one.
 * Returns `undefined` for "index.json itself".
 */
export function chooseLayoutRoot(index: LayoutIndex, ref: string | undefined, name: string): Descriptor | undefined {
  const refs = index.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((r): r is string => typeof r === 'string');
  const available = refs.length > 0 ? `available: ${refs.slice(0, 20).map((r) => JSON.stringify(r)).join(', ')}` : 'it has no tagged images';
  if (ref !== undefined) {
    if (!isOciRefName(ref)) throw new InvalidReferenceError(`invalid OCI layout reference ${JSON.stringify(ref.slice(0, 200))}`);
    const hits = index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === ref);
    if (hits.length === 0) throw new NotFoundError(`${name}: no image tagged ${JSON.stringify(ref)} in index.json; ${available}`);
    if (hits.length > 1 && new Set(hits.map((d) => d.digest)).size > 1) {
      throw new ArchiveFormatError(`${name}: ${hits.length} different images are tagged ${JSON.stringify(ref)} in index.json`);
    }
    return hits[0];
  }
  if (index.manifests.length === 1) return index.manifests[0];
  if (index.manifests.length === 0) throw new NotFoundError(`${name}: index.json lists no images`);
  if (index.manifests.every((d) => IMAGE_MANIFEST_TYPES.includes(d.mediaType) && d.platform)) return undefined;
  throw new NotFoundError(`${name}: index.json lists ${index.manifests.length} images; name one as <target>:<ref> (${available})`);
}

/**
 * An {@link ImageSource} over an OCI image layout held in a {@link MemberStore}. Manifests are read in
 * full (capped by `maxManifestBytes`) and verified against their digest before they are returned;
 * blobs are streamed through a {@link VerifyingStream}. Blob paths are built only from validated
 * digests (`blobs/<alg>/<hex>`, RELIABILITY.md 23).
 */
export class OciLayoutSource implements ImageSource {
  private readonly listed = new Map<string, Descriptor>();

  constructor(
    private readonly store: MemberStore,
    private readonly layout: LayoutIndex,
    /** The chosen root entry; `undefined` means `index.json` itself. */
    private readonly root: Descriptor | undefined,
    private readonly limits: Limits,
    readonly name: string,
  ) {
    for (const d of layout.manifests) this.listed.set(d.digest, d);
  }

  async getRootManifest(): Promise<ManifestBytes> {
    if (!this.root) return { mediaType: MediaType.OciIndex, digest: this.layout.digest, bytes: this.layout.bytes };
    return this.getManifest(this.root.digest);
  }

  async getManifest(digest: Digest): Promise<ManifestBytes> {
    const d = parseDigest(digest, 'manifest digest');
    if (!this.root && d === this.layout.digest) return this.getRootManifest();
    const listed = this.listed.get(d);
    if (listed && listed.size > this.limits.maxManifestBytes) {
      throw new LimitExceededError('maxManifestBytes', this.limits.maxManifestBytes, `${this.name}: manifest ${d} declares ${listed.size} bytes`);
    }
    const path = blobPath(d);
    if ((await this.store.size(path)) === undefined) throw new NotFoundError(`${this.name}: manifest ${d} not found (no ${path})`);
    const bytes = await readMemberCapped(this.store, path, this.limits.maxManifestBytes, 'maxManifestBytes', `manifest ${d}`);
    verifyBytes(bytes, d, listed?.size, `manifest ${d}`);
    const mediaType = listed?.mediaType ?? documentMediaType(bytes);
    if (!mediaType) throw new ManifestError(`${this.name}: manifest ${d} has no mediaType and is neither an index nor a manifest`);
    return { mediaType, digest: d, bytes };
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    checkDeclaredSize(desc, this.limits.maxBlobBytes, 'maxBlobBytes');
    const path = blobPath(desc.digest);
    if ((await this.store.size(path)) === undefined) throw new NotFoundError(`${this.name}: blob ${desc.digest} not found (no ${path})`);
    return verified(await this.store.open(path), desc, `${this.name}: blob ${desc.digest}`);
  }
}

/**
 * `src` piped through a {@link VerifyingStream}: an error on the file side (a vanished file, a read
 * error) reaches the consumer as an error of the returned stream, and a consumer that stops early
 * closes the file.
 */
export function verified(src: Readable, desc: Pick<Descriptor, 'digest' | 'size'>, what: string): Readable {
  const v = new VerifyingStream(desc, what);
  pipeline(src, v, () => {
    // Errors are delivered through `v` itself; nothing else to do.
  });
  return v;
}

/** Opens a layout held in `store`, choosing the root by `ref` (see {@link chooseLayoutRoot}). */
export async function openOciLayoutSource(store: MemberStore, opts: { ref?: string; limits: Limits; name: string }): Promise<OciLayoutSource> {
  const layout = await readLayoutIndex(store, opts.limits);
  const root = chooseLayoutRoot(layout, opts.ref, opts.name);
  if (root) checkDeclaredSize(root, opts.limits.maxManifestBytes, 'maxManifestBytes');
  return new OciLayoutSource(store, layout, root, opts.limits, opts.name);
}
