import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { type Digest, MediaType, formatImageRef, parseImageRef, sha256Digest } from '../../engine/model';
import { type BuiltImage, FIXED_MTIME } from './image-builder';
import { END_OF_ARCHIVE, type TarEntry, entryBytes } from './tar-writer';

/**
 * Writers for the three on-disk image formats trustctl reads, from a {@link BuiltImage}:
 * - an OCI image layout directory (image-spec image-layout.md) — what `skopeo copy … oci:` writes;
 * - an OCI archive: a tar of that layout (`skopeo copy … oci-archive:`);
 * - a `docker save` archive, legacy (Docker < 25, moby docker-image-spec spec.md "Combined Image JSON +
 *   Filesystem Changeset Format": `manifest.json`, `<id>.json`, `<id>/layer.tar`, `repositories`) or
 *   Docker 25+ (an OCI layout plus `manifest.json` pointing into `blobs/sha256/`).
 * Archives are streamed to the file entry by entry, never concatenated in memory.
 */

/** The annotation naming an image in a layout (image-spec annotations.md). */
const REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's full image name annotation, written by Docker 25+ `docker save`. */
const CONTAINERD_NAME = 'io.containerd.image.name';

function hex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

function json(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** Every content-addressed file of the image as `blobs/sha256/<hex>`: layers, configs, manifests and the root. */
function blobFiles(image: BuiltImage): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [d, b] of image.blobs) out.set(`blobs/sha256/${hex(d)}`, b);
  for (const m of [...image.manifests, image.root]) out.set(`blobs/sha256/${hex(m.digest)}`, m.bytes);
  return out;
}

function rootDescriptor(image: BuiltImage, annotations?: Record<string, string>): Record<string, unknown> {
  return { mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.bytes.length, ...(annotations ? { annotations } : {}) };
}

const LAYOUT_FILE = json({ imageLayoutVersion: '1.0.0' });

/**
 * Writes `image` into the OCI layout directory `dir` (created if needed) and tags it `tag` in
 * `index.json` (annotation `org.opencontainers.image.ref.name`). An existing layout keeps its other
 * images: an entry with the same tag is replaced, others stay — as skopeo does.
 */
export function writeOciLayout(dir: string, image: BuiltImage, opts: { tag?: string } = {}): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), LAYOUT_FILE);
  for (const [path, bytes] of blobFiles(image)) writeFileSync(join(dir, ...path.split('/')), bytes);
  const indexPath = join(dir, 'index.json');
  let manifests: Record<string, unknown>[] = [];
  if (existsSync(indexPath)) {
    const old = JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests?: Record<string, unknown>[] };
    manifests = (old.manifests ?? []).filter((d) => {
      const ref = (d.annotations as Record<string, string> | undefined)?.[REF_NAME];
      return opts.tag === undefined ? ref !== undefined || d.digest !== image.root.digest : ref !== opts.tag;
    });
  }
  manifests.push(rootDescriptor(image, opts.tag === undefined ? undefined : { [REF_NAME]: opts.tag }));
  writeFileSync(indexPath, json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
}

function fileEntry(path: string, body: Buffer): TarEntry {
  return { path, type: 'file', body, mode: 0o644, uid: 0, gid: 0, mtime: FIXED_MTIME };
}

function dirEntry(path: string): TarEntry {
  return { path: path.endsWith('/') ? path : `${path}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: FIXED_MTIME };
}

/** Streams entries into a tar file (tar-writer's ustar + PAX), waiting for the disk when it is behind. */
export async function writeTarFile(file: string, entries: Iterable<TarEntry>): Promise<void> {
  const out = createWriteStream(file);
  const failed = once(out, 'error').then(([err]) => {
    throw err;
  });
  failed.catch(() => undefined);
  const write = async (b: Buffer): Promise<void> => {
    if (!out.write(b)) await Promise.race([once(out, 'drain'), failed]);
  };
  for (const e of entries) for (const chunk of entryBytes(e)) await write(chunk);
  await write(END_OF_ARCHIVE);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}

function layoutEntries(image: BuiltImage, indexJson: Buffer, extra: TarEntry[] = []): TarEntry[] {
  const blobs = [...blobFiles(image)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, b]) => fileEntry(p, b));
  return [dirEntry('blobs'), dirEntry('blobs/sha256'), ...blobs, fileEntry('index.json', indexJson), fileEntry('oci-layout', LAYOUT_FILE), ...extra];
}

/** Writes an OCI archive: a tar of the image layout that {@link writeOciLayout} would write (`skopeo copy … oci-archive:`). */
export async function writeOciArchive(file: string, image: BuiltImage, opts: { tag?: string } = {}): Promise<void> {
  const indexJson = json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [rootDescriptor(image, opts.tag === undefined ? undefined : { [REF_NAME]: opts.tag })] });
  await writeTarFile(file, layoutEntries(image, indexJson));
}

/** `docker save` flavours. */
export interface DockerArchiveOptions {
  /** `legacy`: Docker < 25; `oci`: Docker 25+ (an OCI layout with manifest.json). Default `legacy`. */
  readonly style?: 'legacy' | 'oci';
  /** Tags as docker prints them, e.g. `busybox:latest`, `127.0.0.1:5000/app:1`. */
  readonly repoTags?: readonly string[];
}

/** `repositories`: `{ repo: { tag: <id of the top layer> } }` (docker-image-spec spec.md). */
function repositoriesFile(repoTags: readonly string[], topId: string): Buffer {
  const repos: Record<string, Record<string, string>> = {};
  for (const t of repoTags) {
    const slash = t.lastIndexOf('/');
    const colon = t.lastIndexOf(':');
    if (colon <= slash) continue;
    (repos[t.slice(0, colon)] ??= {})[t.slice(colon + 1)] = topId;
  }
  return json(repos);
}

/**
 * Writes a `docker save` archive. `legacy` needs a single-platform image; its layers are written
 * uncompressed as `<id>/layer.tar` (with `VERSION` and a v1 `json` beside, as moby's tarexport writes
 * them), where `<id>` is a v1 layer id derived from the layer's chain — no reader interprets it.
 * `oci` writes the blobs as they are (compressed layers stay compressed, as with Docker's containerd
 * store) with `index.json` entries annotated like Docker 25's, and a `manifest.json` for the first
 * platform image.
 */
export async function writeDockerArchive(file: string, image: BuiltImage, opts: DockerArchiveOptions = {}): Promise<void> {
  const repoTags = opts.repoTags ?? [];
  const first = image.images[0];
  if (!first) throw new Error('image has no platform images');
  if ((opts.style ?? 'legacy') === 'oci') {
    const manifests =
      repoTags.length === 0
        ? [rootDescriptor(image)]
        : repoTags.map((t) => {
            const ref = parseImageRef(t);
            return rootDescriptor(image, { [CONTAINERD_NAME]: formatImageRef(ref), [REF_NAME]: ref.tag ?? 'latest' });
          });
    const indexJson = json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests });
    const manifestJson = json([
      { Config: `blobs/sha256/${hex(first.config.digest)}`, RepoTags: repoTags, Layers: first.layers.map((l) => `blobs/sha256/${hex(l.descriptor.digest)}`) },
    ]);
    const top = first.layers.at(-1);
    const extra = [fileEntry('manifest.json', manifestJson), ...(top ? [fileEntry('repositories', repositoriesFile(repoTags, hex(top.diffId)))] : [])];
    await writeTarFile(file, layoutEntries(image, indexJson, extra));
    return;
  }
  if (image.isIndex) throw new Error('a legacy docker archive holds single-platform images; write one platform image');
  const entries: TarEntry[] = [];
  const layerPaths: string[] = [];
  let parent = '';
  let chain = '';
  for (const l of first.layers) {
    // ChainID (image-spec config.md "Layer ChainID"): chain(n) = sha256(chain(n-1) + " " + diffid(n)).
    chain = chain === '' ? l.diffId : sha256Digest(`${chain} ${l.diffId}`);
    const id = createHash('sha256').update(JSON.stringify({ parent, chain })).digest('hex');
    let tar = l.tar;
    const stored = image.blobs.get(l.descriptor.digest);
    if (stored && sha256Digest(stored) !== l.descriptor.digest) {
      // The image was built with corrupt.layerBytes: carry the corruption into the uncompressed layer.
      tar = Buffer.from(tar);
      tar[tar.length >> 1] ^= 0xff;
    }
    entries.push(
      dirEntry(id),
      fileEntry(`${id}/VERSION`, Buffer.from('1.0')),
      fileEntry(`${id}/json`, json({ id, ...(parent ? { parent } : {}), created: first.configJson.created })),
      fileEntry(`${id}/layer.tar`, tar),
    );
    layerPaths.push(`${id}/layer.tar`);
    parent = id;
  }
  entries.push(fileEntry(`${hex(first.config.digest)}.json`, first.config.bytes));
  entries.push(fileEntry('manifest.json', json([{ Config: `${hex(first.config.digest)}.json`, RepoTags: repoTags, Layers: layerPaths }])));
  if (parent) entries.push(fileEntry('repositories', repositoriesFile(repoTags, parent)));
  await writeTarFile(file, entries);
}
