/**
 * The image of bench/image-scan (issue 16, item 6): a realistic three-layer image built from real files
 * on this machine with our own tar writer (lib/local/builder/tar-writer.ts) — an OS layer, a
 * Python/Node/Java application layer and a layer of big binaries — near the issue's reference image
 * (3 layers, ~424 MB gzip, ~1.3 GB unpacked, ~70k files). lib/local/builder/image-builder.ts holds whole
 * layers in memory, which 1.3 GB does not fit, so the layers are streamed here: tar to a file (hashed on
 * the way: the diff_id), then gzip (Node's zlib, level 6, as the builder does) and zstd (the `zstd` CLI,
 * level 3, as the builder does on Node 20). Both flavours go into one OCI image layout, tagged `gzip` and
 * `zstd` (`oci:<dir>:gzip`), sharing one config (same diff_ids). Cached under a directory keyed by the
 * recipe and a fingerprint of every selected file (path, size, mtime), so reruns measure, not build.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync,
  realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type Digest, MediaType } from '../../lib/engine/model';
import { FIXED_CREATED, FIXED_MTIME } from '../../lib/local/builder/image-builder';
import { END_OF_ARCHIVE, entryBytes, type TarEntry } from '../../lib/local/builder/tar-writer';

/** Bump when the recipe or the way layers are written changes: part of the cache key. */
const RECIPE_VERSION = 2;
const MiB = 1024 * 1024;

/** A tree of this machine copied into a layer. */
export interface RecipeRoot {
  readonly hostPath: string;
  /** Absolute path in the image. */
  readonly imagePath: string;
}

/** One layer: its roots, walked in order (each sorted), until `maxBytes` of file bodies. */
export interface LayerRecipe {
  readonly createdBy: string;
  readonly roots: readonly RecipeRoot[];
  readonly maxBytes: number;
}

/** What {@link imageRecipe} is built from. */
export interface RecipeOptions {
  /** Target bytes of file bodies, all layers together (the issue's reference: ~1.3 GB). */
  readonly totalBytes: number;
  /** The checkout whose node_modules (and DynamoDB Local's jars in it) form the Node/Java part. */
  readonly checkout: string;
  /** The Debian root of scripts/debian-root.sh, when built: its /usr and dpkg database replace this machine's. */
  readonly debianRoot?: string;
  /** Whether a host path exists (injected by the tests); default: lstat. */
  readonly exists?: (path: string) => boolean;
}

/** Each layer's share of {@link RecipeOptions.totalBytes}: OS, application, big binaries. */
export const LAYER_SHARES = [0.45, 0.3, 0.25] as const;

const lstatExists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * The three layers, least changing first, from what exists on this machine:
 * 1. OS: os-release, the dpkg database, /usr/bin, /usr/sbin, the shared libraries, /usr/share, /usr/include
 *    (from the Debian root when given, else from this machine's /usr);
 * 2. application: the system's Python packages (/usr/lib/python3*, /usr/local/lib/python3*), DynamoDB
 *    Local's jars (in the checkout's node_modules/amplify-dynamodb-simulator) under /opt/dynamodb-local, and
 *    the checkout's node_modules under /app/node_modules (a symlinked node_modules is followed to its owner);
 * 3. big binaries: Go's toolchain (/usr/lib/go-*) and the JVMs (/usr/lib/jvm).
 * Roots that do not exist are left out; each layer stops at its share of `totalBytes`.
 */
export function imageRecipe(opts: RecipeOptions): LayerRecipe[] {
  const exists = opts.exists ?? lstatExists;
  const os = opts.debianRoot ?? '/';
  const from = (base: string, rel: string, imagePath = `/${rel}`): RecipeRoot => ({ hostPath: join(base, rel), imagePath });
  const children = (dir: string, prefix: RegExp): string[] => {
    try {
      return readdirSync(dir).filter((n) => prefix.test(n)).sort();
    } catch {
      return [];
    }
  };
  const keep = (roots: RecipeRoot[]): RecipeRoot[] => roots.filter((r) => exists(r.hostPath));
  const nm = join(opts.checkout, 'node_modules');
  const nodeModules = exists(nm) ? realpathOr(nm) : nm;
  const share = (i: number): number => Math.max(1, Math.floor(opts.totalBytes * LAYER_SHARES[i]));
  return [
    {
      createdBy: `FROM debian (${opts.debianRoot ? `the Debian root ${opts.debianRoot}` : "this machine's /usr"})`,
      roots: keep([
        from(os, 'etc/os-release'), from(os, 'usr/lib/os-release'), from(os, 'var/lib/dpkg/status'),
        from(os, 'usr/bin'), from(os, 'usr/sbin'), from(os, 'usr/lib/x86_64-linux-gnu'), from(os, 'usr/share'), from(os, 'usr/include'),
      ]),
      maxBytes: share(0),
    },
    {
      createdBy: 'COPY python packages, DynamoDB Local (jars), node_modules',
      roots: keep([
        ...children('/usr/lib', /^python3/).map((n) => from('/', `usr/lib/${n}`)),
        ...children('/usr/local/lib', /^python3/).map((n) => from('/', `usr/local/lib/${n}`)),
        { hostPath: join(nodeModules, 'amplify-dynamodb-simulator', 'emulator'), imagePath: '/opt/dynamodb-local' },
        { hostPath: nodeModules, imagePath: '/app/node_modules' },
      ]),
      maxBytes: share(1),
    },
    {
      createdBy: 'COPY toolchains: Go, JVMs',
      roots: keep([...children('/usr/lib', /^go-/).map((n) => from('/', `usr/lib/${n}`)), from('/', 'usr/lib/jvm')]),
      maxBytes: share(2),
    },
  ];
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** One member chosen for a layer (bodies are read only when the layer is written). */
export interface SelectedMember {
  readonly host: string;
  /** Path in the layer (relative, no leading `/`; directories end with `/`). */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * The members of one layer, in order: each root's parents (directories 0755), then the root walked in
 * sorted order (symlinks as symlinks, never followed; sockets, devices and FIFOs skipped), until the
 * regular-file bytes reach `maxBytes` (the file that crosses it is the last). A path already chosen
 * (two roots overlapping) is not chosen again.
 */
export function selectMembers(layer: LayerRecipe): SelectedMember[] {
  const out: SelectedMember[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  const add = (m: SelectedMember): void => {
    if (seen.has(m.path)) return;
    seen.add(m.path);
    out.push(m);
    if (m.type === 'file') bytes += m.size;
  };
  const walk = (host: string, path: string): void => {
    if (bytes >= layer.maxBytes) return;
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      return;
    }
    const common = { host, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
    if (st.isSymbolicLink()) add({ ...common, path, type: 'symlink', size: 0 });
    else if (st.isFile()) add({ ...common, path, type: 'file', size: st.size });
    else if (st.isDirectory()) {
      add({ ...common, path: `${path}/`, type: 'dir', size: 0 });
      let names: string[];
      try {
        names = readdirSync(host).sort();
      } catch {
        return;
      }
      for (const n of names) walk(join(host, n), `${path}/${n}`);
    }
  };
  for (const root of layer.roots) {
    if (bytes >= layer.maxBytes) break;
    const image = posix.normalize(root.imagePath).replace(/^\/+/, '').replace(/\/+$/, '');
    const parts = image.split('/');
    for (let i = 1; i < parts.length; i++) add({ host: '', path: `${parts.slice(0, i).join('/')}/`, type: 'dir', mode: 0o755, size: 0, mtimeMs: 0 });
    walk(root.hostPath, image);
  }
  return out;
}

/**
 * The members of every layer ({@link selectMembers}), a layer's unused budget carried to the next: on a
 * machine whose OS trees are smaller than the OS share (the Debian root of scripts/debian-root.sh is
 * ~600 MB), the image still reaches the total the recipe asks for when the later trees hold enough.
 */
export function selectLayers(recipe: readonly LayerRecipe[]): SelectedMember[][] {
  let carry = 0;
  return recipe.map((layer) => {
    const budget = layer.maxBytes + carry;
    const members = selectMembers({ ...layer, maxBytes: budget });
    carry = Math.max(0, budget - members.reduce((n, m) => n + (m.type === 'file' ? m.size : 0), 0));
    return members;
  });
}

/** sha256 over what decides a layer's bytes: every member's path, type, mode, size and mtime. */
export function fingerprint(members: readonly SelectedMember[]): string {
  const h = createHash('sha256');
  for (const m of members) h.update(`${m.path}\0${m.type}\0${m.mode}\0${m.size}\0${m.mtimeMs}\n`);
  return h.digest('hex');
}

/** The tar members, bodies read as they are written (a file unreadable now is left out). */
function* tarEntries(members: readonly SelectedMember[]): Generator<TarEntry> {
  const common = { uid: 0, gid: 0, mtime: FIXED_MTIME };
  for (const m of members) {
    if (m.type === 'dir') yield { path: m.path, type: 'dir', mode: m.mode, ...common };
    else if (m.type === 'symlink') {
      let linkname: string;
      try {
        linkname = readlinkSync(m.host);
      } catch {
        continue;
      }
      yield { path: m.path, type: 'symlink', linkname, mode: m.mode, ...common };
    } else {
      let body: Buffer;
      try {
        body = readFileSync(m.host);
      } catch {
        continue;
      }
      yield { path: m.path, type: 'file', body, mode: m.mode, ...common };
    }
  }
}

function* tarChunks(members: readonly SelectedMember[]): Generator<Buffer> {
  for (const e of tarEntries(members)) yield* entryBytes(e);
  yield END_OF_ARCHIVE;
}

/** A pass-through that hashes and counts what flows. */
class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** A blob written into the layout. */
export interface WrittenBlob {
  readonly digest: Digest;
  readonly size: number;
}

/** One written layer. */
export interface WrittenLayer {
  readonly createdBy: string;
  readonly diffId: Digest;
  readonly tarBytes: number;
  readonly regularFiles: number;
  readonly regularFileBytes: number;
  readonly members: number;
  readonly gzip: WrittenBlob;
  readonly zstd: WrittenBlob;
}

async function hashFile(file: string): Promise<WrittenBlob> {
  const h = new Hasher();
  await pipeline(createReadStream(file, { highWaterMark: MiB }), h, new Writable({ write: (_c, _e, cb) => cb() }));
  return { digest: `sha256:${h.hash.digest('hex')}` as Digest, size: h.bytes };
}

function* fileChunks(file: string): Generator<Buffer> {
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(MiB);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes one layer's tar, gzip and zstd blobs into `blobs` (the tar itself is removed). */
async function writeLayer(layer: LayerRecipe, members: readonly SelectedMember[], blobs: string, log: (s: string) => void): Promise<WrittenLayer> {
  const tar = join(blobs, 'layer.tar');
  const tarHash = new Hasher();
  await pipeline(Readable.from(tarChunks(members)), tarHash, createWriteStream(tar));
  const diffId = `sha256:${tarHash.hash.digest('hex')}` as Digest;
  log(`  ${layer.createdBy}: ${(tarHash.bytes / MiB).toFixed(0)} MiB tar; gzip…`);
  const gzTmp = join(blobs, 'layer.tar.gz');
  const gzHash = new Hasher();
  await pipeline(Readable.from(fileChunks(tar)), createGzip({ level: 6 }), gzHash, createWriteStream(gzTmp));
  const gzip: WrittenBlob = { digest: `sha256:${gzHash.hash.digest('hex')}` as Digest, size: gzHash.bytes };
  renameSync(gzTmp, join(blobs, gzip.digest.slice(7)));
  log(' zstd…');
  const zstTmp = join(blobs, 'layer.tar.zst');
  const z = spawnSync('zstd', ['-q', '-3', '-T0', '-f', '-o', zstTmp, tar], { encoding: 'utf8' });
  if (z.status !== 0) throw new Error(`zstd: ${z.stderr || z.error?.message}`);
  const zstd = await hashFile(zstTmp);
  renameSync(zstTmp, join(blobs, zstd.digest.slice(7)));
  rmSync(tar);
  log(' done\n');
  const files = members.filter((m) => m.type === 'file');
  return {
    createdBy: layer.createdBy, diffId, tarBytes: tarHash.bytes, members: members.length,
    regularFiles: files.length, regularFileBytes: files.reduce((n, m) => n + m.size, 0), gzip, zstd,
  };
}

/** The built image: the layout directory, its two refs and what each layer holds. */
export interface BenchImage {
  readonly dir: string;
  readonly key: string;
  /** `oci:<dir>:gzip` and `oci:<dir>:zstd`. */
  readonly targets: { readonly gzip: string; readonly zstd: string };
  readonly layers: readonly WrittenLayer[];
  /** Seconds the build took (0 when it came from the cache). */
  readonly buildSeconds: number;
}

function blobDoc(blobs: string, doc: unknown): { digest: Digest; size: number } {
  const bytes = Buffer.from(JSON.stringify(doc), 'utf8');
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
  writeFileSync(join(blobs, digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/** Default cache: /var/cache/trustctl/bench-image when writable, else the OS temp dir (env BENCH_IMAGE_CACHE). */
export function benchImageCache(): string {
  if (process.env.BENCH_IMAGE_CACHE) return process.env.BENCH_IMAGE_CACHE;
  const preferred = '/var/cache/trustctl/bench-image';
  try {
    mkdirSync(preferred, { recursive: true });
    return preferred;
  } catch {
    return join(tmpdir(), 'trustctl-bench-image');
  }
}

/**
 * The image for `recipe`, from the cache when its key (recipe version, recipe, fingerprint of every
 * selected member) is there, else built into a temp directory next to it and renamed into place.
 */
export async function ensureBenchImage(recipe: readonly LayerRecipe[], cacheDir: string, log: (s: string) => void = () => undefined): Promise<BenchImage> {
  const selected = selectLayers(recipe);
  const key = createHash('sha256')
    .update(JSON.stringify({ RECIPE_VERSION, recipe, members: selected.map(fingerprint) }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir, `image-${key}`);
  const meta = join(dir, 'bench-image.json');
  const targets = { gzip: `oci:${dir}:gzip`, zstd: `oci:${dir}:zstd` };
  if (existsSync(meta)) return { dir, key, targets, layers: (JSON.parse(readFileSync(meta, 'utf8')) as { layers: WrittenLayer[] }).layers, buildSeconds: 0 };
  const t0 = Date.now();
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const blobs = join(tmp, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  try {
    log(`building the bench image in ${tmp}\n`);
    const layers: WrittenLayer[] = [];
    for (let i = 0; i < recipe.length; i++) layers.push(await writeLayer(recipe[i], selected[i], blobs, log));
    const config = blobDoc(blobs, {
      created: FIXED_CREATED,
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/app', User: '65532:65532' },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((l) => ({ created: FIXED_CREATED, created_by: l.createdBy })),
    });
    const manifests = (['gzip', 'zstd'] as const).map((c) => {
      const m = blobDoc(blobs, {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, ...config },
        layers: layers.map((l) => ({ mediaType: c === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayerZstd, ...l[c] })),
      });
      return { mediaType: MediaType.OciManifest, ...m, annotations: { 'org.opencontainers.image.ref.name': c } };
    });
    writeFileSync(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(tmp, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
    writeFileSync(join(tmp, 'bench-image.json'), JSON.stringify({ recipe, layers }, null, 2));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { dir, key, targets, layers, buildSeconds: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The layer blob files of one flavour, in layer order. */
export function layerFiles(image: BenchImage, compression: 'gzip' | 'zstd'): string[] {
  return image.layers.map((l) => join(image.dir, 'blobs', 'sha256', l[compression].digest.slice(7)));
}

/** Total size of files. */
export function totalSize(files: readonly string[]): number {
  return files.reduce((n, f) => n + statSync(f).size, 0);
}
