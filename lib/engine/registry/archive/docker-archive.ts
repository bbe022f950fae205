import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ArchiveFormatError, DigestMismatchError, InvalidReferenceError, LimitExceededError, NotFoundError, UnsupportedMediaTypeError } from '../../errors';
import type { Limits } from '../../limits';
import { type Descriptor, type Digest, IMAGE_MANIFEST_TYPES, MediaType, formatImageRef, parseDigest, parseImageRef, sha256Digest } from '../../model';
import { parseImageConfig } from '../manifest';
import type { ImageSource, ManifestBytes } from '../source';
import { checkDeclaredSize } from '../verify';
import { OciLayoutSource, readLayoutIndex, verified } from './oci-layout';
import { digestFromBlobPath, validateMemberPath } from './paths';
import { type MemberStore, readMemberCapped } from './store';

/**
 * Reading `docker save` archives (moby docker-image-spec spec.md, "Combined Image JSON + Filesystem
 * Changeset Format", and image/tarexport in moby):
 *
 * - legacy (Docker < 25, and `skopeo copy … docker-archive:`): `manifest.json` =
 *   `[{Config, RepoTags, Layers}]`, the config as `<id>.json`, layers as uncompressed `<id>/layer.tar`
 *   (or `<diffid>.tar`, skopeo). There is no manifest in the archive, so one is synthesized: a Docker
 *   v2.2 manifest whose config descriptor is taken from the config file's bytes and whose layer
 *   descriptors get their media type from the layer's magic bytes and their digest from the layer's
 *   content. Its digest is the sha256 of its canonical JSON — stable for the same archive, but not the
 *   digest the image had in a registry (docker save drops that).
 * - Docker 25+: the archive is also an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256`),
 *   with `manifest.json` pointing into `blobs/`. The real manifest is used then, so the digest is the
 *   one the registry knows.
 */

/** One entry of `docker save`'s manifest.json. */
interface SaveEntry {
  readonly Config: string;
  readonly RepoTags: readonly string[];
  readonly Layers: readonly string[];
}

/** containerd's annotation naming the full image reference in Docker 25+ archives. */
const CONTAINERD_NAME = 'io.containerd.image.name';

function normalizeRef(s: string): string | undefined {
  try {
    return formatImageRef(parseImageRef(s));
  } catch {
    return undefined;
  }
}

function parseManifestJson(bytes: Buffer, name: string, limits: Limits): SaveEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ArchiveFormatError(`${name}: manifest.json is not valid JSON`, { cause: err });
  }
  if (!Array.isArray(doc) || doc.length === 0) throw new ArchiveFormatError(`${name}: manifest.json is not a non-empty array`);
  return doc.map((raw, i) => {
    const e = raw as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.Config !== 'string' || !Array.isArray(e.Layers)) {
      throw new ArchiveFormatError(`${name}: manifest.json entry ${i} needs Config and Layers`);
    }
    if (e.Layers.length > limits.maxLayers) throw new LimitExceededError('maxLayers', limits.maxLayers, `${name}: manifest.json entry ${i} lists ${e.Layers.length} layers`);
    // Every member name is validated before anything is looked up (RELIABILITY.md 1, 23).
    const Config = validateMemberPath(e.Config, `manifest.json entry ${i} Config`);
    const Layers = e.Layers.map((l, j) => validateMemberPath(l, `manifest.json entry ${i} layer ${j}`));
    for (const p of [Config, ...Layers]) digestFromBlobPath(p);
    const RepoTags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { Config, RepoTags, Layers };
  });
}

/** Picks the manifest.json entry: `@<n>` by position (as skopeo does), a reference by `RepoTags`, else the sole entry. */
function chooseEntry(entries: readonly SaveEntry[], ref: string | undefined, name: string): SaveEntry {
  const tags = entries.flatMap((e) => e.RepoTags);
  const available = tags.length > 0 ? `available: ${tags.slice(0, 20).map((t) => JSON.stringify(t)).join(', ')}` : 'its images have no RepoTags; use @<index>';
  if (ref === undefined) {
    if (entries.length === 1) return entries[0];
    throw new NotFoundError(`${name} holds ${entries.length} images; name one as docker-archive:<file>:<repo:tag> (${available})`);
  }
  if (/^@\d{1,6}$/.test(ref)) {
    const e = entries[Number(ref.slice(1))];
    if (!e) throw new NotFoundError(`${name} has no image ${ref} (it holds ${entries.length})`);
    return e;
  }
  const want = normalizeRef(ref);
  if (!want) throw new InvalidReferenceError(`invalid image reference ${JSON.stringify(ref.slice(0, 200))} for a docker archive`);
  const hits = entries.filter((e) => e.RepoTags.some((t) => normalizeRef(t) === want));
  if (hits.length === 0) throw new NotFoundError(`${name}: no image tagged ${JSON.stringify(ref)} in manifest.json; ${available}`);
  return hits[0];
}

type Compression = 'gzip' | 'zstd' | 'none';

/** Compression from magic bytes (RFC 1952 gzip, RFC 8878 zstd); bzip2 and xz, which `docker load` also accepts, have no layer media type. */
function sniff(head: Buffer, what: string): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') throw new UnsupportedMediaTypeError('application/x-bzip2', what);
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw new UnsupportedMediaTypeError('application/x-xz', what);
  return 'none';
}

const LAYER_TYPE: Record<Compression, string> = {
  none: MediaType.DockerLayerTar,
  gzip: MediaType.DockerLayerGzip,
  // Docker v2.2 has no zstd layer type; Docker itself labels zstd layers with the OCI type.
  zstd: MediaType.OciLayerZstd,
};

async function hashMember(store: MemberStore, path: string): Promise<Digest> {
  const h = createHash('sha256');
  for await (const c of (await store.open(path)) as AsyncIterable<Buffer>) h.update(c);
  return `sha256:${h.digest('hex')}` as Digest;
}

/**
 * An {@link ImageSource} over a legacy `docker save` archive, with a synthesized Docker v2.2 manifest.
 *
 * Cost: a layer's digest is known without reading it when its name says it (`blobs/sha256/<hex>`) or
 * when it is uncompressed — then it equals the config's `diff_ids[i]` by definition, and the
 * VerifyingStream checks that claim when the layer is read (a lying config fails there, RELIABILITY.md
 * 19). Only a compressed layer with an opaque name is hashed up front: one extra sequential read of
 * that member when the source is opened.
 */
export class DockerArchiveSource implements ImageSource {
  private constructor(
    private readonly store: MemberStore,
    private readonly manifest: ManifestBytes,
    private readonly paths: ReadonlyMap<Digest, string>,
    private readonly limits: Limits,
    readonly name: string,
  ) {}

  /** Builds the synthesized manifest for one manifest.json entry. */
  static async fromEntry(store: MemberStore, entry: SaveEntry, limits: Limits, name: string): Promise<DockerArchiveSource> {
    const configBytes = await readMemberCapped(store, entry.Config, limits.maxManifestBytes, 'maxManifestBytes', `config ${entry.Config}`);
    const configDigest = sha256Digest(configBytes);
    // The config's name is its digest (`<hex>.json`, `blobs/sha256/<hex>`): a name that disagrees is a tampered archive.
    const m = /^([a-f0-9]{64})\.json$/.exec(posix.basename(entry.Config));
    const named = digestFromBlobPath(entry.Config) ?? (m ? parseDigest(`sha256:${m[1]}`) : undefined);
    if (named && named !== configDigest) throw new DigestMismatchError(named, configDigest, `${name}: config ${entry.Config}`);
    const config = parseImageConfig(configBytes, `${name}: config ${entry.Config}`);
    const paths = new Map<Digest, string>([[configDigest, entry.Config]]);
    const layers: Descriptor[] = [];
    for (const [i, path] of entry.Layers.entries()) {
      const size = await store.size(path);
      if (size === undefined) throw new NotFoundError(`${name}: layer ${path} listed in manifest.json is not in the archive`);
      const compression = sniff(await store.head(path, 6), `layer ${path}`);
      const digest = digestFromBlobPath(path) ?? (compression === 'none' && config.rootfs.diff_ids[i] ? config.rootfs.diff_ids[i] : await hashMember(store, path));
      // Two members claiming one digest: serve the first; if it is the wrong one, verification fails when it is read.
      if (!paths.has(digest)) paths.set(digest, path);
      layers.push({ mediaType: LAYER_TYPE[compression], digest, size });
    }
    const doc = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, size: configBytes.length, digest: configDigest },
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
    };
    const bytes = Buffer.from(JSON.stringify(doc), 'utf8');
    return new DockerArchiveSource(store, { mediaType: MediaType.DockerManifest, digest: sha256Digest(bytes), bytes }, paths, limits, name);
  }

  async getRootManifest(): Promise<ManifestBytes> {
    return this.manifest;
  }

  async getManifest(digest: Digest): Promise<ManifestBytes> {
    if (digest === this.manifest.digest) return this.manifest;
    throw new NotFoundError(`${this.name}: a docker archive holds one manifest (${this.manifest.digest}), not ${digest}`);
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    checkDeclaredSize(desc, this.limits.maxBlobBytes, 'maxBlobBytes');
    const path = this.paths.get(desc.digest);
    if (path === undefined) throw new NotFoundError(`${this.name}: no blob ${desc.digest} in the archive`);
    return verified(await this.store.open(path), desc, `${this.name}: ${path}`);
  }
}

/**
 * Opens a `docker save` archive held in `store`. `ref` is `repo:tag` (matched against `RepoTags`
 * after normalisation, so `busybox` matches `docker.io/library/busybox:latest`) or `@<n>`.
 * When the archive is also an OCI layout (Docker 25+) and its `index.json` names the chosen image
 * unambiguously, the real manifest is served; otherwise one is synthesized from manifest.json.
 */
export async function openDockerArchiveSource(store: MemberStore, opts: { ref?: string; limits: Limits; name: string }): Promise<ImageSource> {
  const { limits, name } = opts;
  if ((await store.size('manifest.json')) === undefined) throw new ArchiveFormatError(`${name} is not a docker save archive: it has no manifest.json`);
  const bytes = await readMemberCapped(store, 'manifest.json', limits.maxManifestBytes, 'maxManifestBytes', 'manifest.json');
  const entries = parseManifestJson(bytes, name, limits);
  const entry = chooseEntry(entries, opts.ref, name);

  if ((await store.size('oci-layout')) !== undefined && (await store.size('index.json')) !== undefined) {
    const layout = await readLayoutIndex(store, limits);
    const wanted = new Set(entry.RepoTags.map(normalizeRef).filter((t): t is string => t !== undefined));
    let hits = layout.manifests.filter((d) => {
      const n = d.annotations?.[CONTAINERD_NAME];
      return n !== undefined && wanted.has(normalizeRef(n) ?? '');
    });
    if (hits.length === 0 && entries.length === 1 && layout.manifests.length === 1) hits = [...layout.manifests];
    if (new Set(hits.map((d) => d.digest)).size === 1) {
      const root = hits[0];
      checkDeclaredSize(root, limits.maxManifestBytes, 'maxManifestBytes');
      const source = new OciLayoutSource(store, layout, root, limits, name);
      // The two descriptions of the archive must agree on the image: compare config digests.
      if (IMAGE_MANIFEST_TYPES.includes(root.mediaType)) {
        const m = await source.getManifest(root.digest);
        const configDigest = (JSON.parse(m.bytes.toString('utf8')) as { config?: { digest?: unknown } }).config?.digest;
        const named = digestFromBlobPath(entry.Config);
        if (named && configDigest !== named) {
          throw new ArchiveFormatError(`${name}: index.json and manifest.json disagree about the image's config (${String(configDigest)} vs ${named})`);
        }
      }
      return source;
    }
  }
  return DockerArchiveSource.fromEntry(store, entry, limits, name);
}
