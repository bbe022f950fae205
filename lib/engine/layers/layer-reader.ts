import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Limits } from '../limits';
import type { Digest } from '../model';
import type { UnknownClass } from '../model/unknown';
import { type Compression, decodeLayer } from './decompress';
import { ROOT, baseName, canonicalPath, joinPath, parentPath } from './paths';
import { type TarHeader, TarParser } from './tar';

/**
 * Reads one layer as a stream, exactly once: decompress (decompress.ts), hash the uncompressed
 * bytes (the layer's diff_id, image-spec config.md `rootfs.diff_ids`), walk the tar (tar.ts), keep
 * the metadata of every entry and copy into memory only the bodies a consumer asked for. Nothing is
 * ever written anywhere (../shared/DESIGN.md "Never extract").
 *
 * Whiteouts follow the OCI image-spec (layer.md, "Whiteouts"): `.wh.<name>` deletes `<name>` in lower
 * layers, `.wh..wh..opq` makes its directory opaque wherever it appears in the tar, and markers are
 * never entries (RELIABILITY.md 9). Whiteouts apply to lower layers only (the spec: "Files that are
 * present in the same changeset as a whiteout file MUST only be hidden by whiteout files in a future
 * changeset") — FileTree.squash applies them.
 *
 * Bad input inside the tar (an odd name, a link that points nowhere) is recorded in `unknowns` and
 * reading goes on; stream-level problems (caps, corrupt or truncated tar, decompression) reject.
 */

/** Kind of entry in the virtual tree. Devices and FIFOs are `other`. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** Metadata of an entry, as the `wants` predicate sees it. */
export interface EntryInfo {
  readonly type: EntryType;
  /** Bytes of the file (a sparse file's real size; a hardlink's target size once resolved; else 0). */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  /** Symlink target as stored (not normalised), or a hardlink's target as a canonical path. */
  readonly linkname?: string;
  /** The tar typeflag for `other` entries: `3` char, `4` block, `6` FIFO, or an unknown flag. */
  readonly typeflag?: string;
  /** GNU sparse file: its body was not captured. */
  readonly sparse?: boolean;
}

/** One path in one layer. */
export interface LayerEntry extends EntryInfo {
  /** Canonical absolute path (paths.ts), exactly as the tar names it. */
  readonly path: string;
  /** Digest of the layer (compressed blob) this entry comes from. */
  readonly layer: Digest;
  /** Captured body when the consumer wanted it (at most `maxFileReadBytes`). */
  body?: Buffer;
  /** True when `body` holds less than the whole file (a cap was hit). */
  truncated?: boolean;
  /** True when the consumer's predicate asked for this path. */
  wanted?: boolean;
  /** For a hardlink: the earlier member of this layer it shares its data with. Unset = resolve in lower layers. */
  linkTarget?: LayerEntry;
}

/** An entry the reader or the tree could not place, with the reason (becomes an "unscannable" detail). */
export interface LayerUnknown {
  readonly layer: string;
  readonly path: string;
  readonly reason: string;
  /** Why it was not examined (lib/engine/model/unknown.ts); absent is judged as `parse-error`. */
  readonly class?: UnknownClass;
}

/** Everything one pass over a layer produced. */
export interface LayerResult {
  /** Digest of the compressed blob (the descriptor's digest). */
  readonly digest: Digest;
  readonly mediaType: string;
  /** sha256 of the uncompressed tar: must equal the config's `rootfs.diff_ids[i]`. */
  readonly diffId: Digest;
  /** Compression actually decoded (by magic bytes). */
  readonly compression: Compression;
  /** Compression the media type declares; differs from `compression` for a mislabelled layer (RELIABILITY.md 17). */
  readonly declaredCompression: Compression;
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
  /** Tar members, including whiteout markers (as `tar -t` would list them). */
  readonly entryCount: number;
  /** One entry per canonical path; a later member of the same path replaces an earlier one (as extraction does). */
  readonly entries: ReadonlyMap<string, LayerEntry>;
  /** Paths that `.wh.<name>` markers delete in lower layers. */
  readonly whiteouts: readonly string[];
  /** Directories that `.wh..wh..opq` markers make opaque (their lower children are hidden). */
  readonly opaqueDirs: readonly string[];
  /** Bytes of bodies captured for consumers. */
  readonly capturedBytes: number;
  /** Hardlink targets the runtime will look for in lower layers (tar.ts `lowerLinks`); FileTree.squash checks them. */
  readonly lowerLinks?: readonly string[];
  readonly unknowns: LayerUnknown[];
}

/** Options of {@link readLayer}. */
export interface ReadLayerOptions {
  readonly layerDigest: Digest;
  readonly mediaType: string;
  readonly limits: Limits;
  /**
   * Which file bodies to capture, asked once per regular file or hardlink, with the entry's canonical
   * path (`/var/lib/dpkg/status`) and metadata. The path is the name in the tar, never resolved
   * through symlinks: a layer cannot make a predicate see `/etc/shadow` by naming `x/shadow` with
   * `x -> /etc`. Bodies are cut at `maxFileReadBytes` (then `truncated` is set).
   */
  readonly wants?: (path: string, info: EntryInfo) => boolean;
}

const OPAQUE = '.wh..wh..opq';
const WH = '.wh.';

function kindToType(k: TarHeader['kind']): EntryType {
  switch (k) {
    case 'file':
    case 'dir':
    case 'symlink':
    case 'hardlink':
      return k;
    default:
      return 'other';
  }
}

/**
 * Reads a layer blob stream once and returns its entries, whiteouts and diff_id.
 *
 * Rejects with UnsupportedMediaTypeError, LimitExceededError (maxLayerBytes, maxZstdWindowBytes,
 * maxEntries, maxPathDepth, maxPathBytes, maxHeaderBytes), CompressionError, TarFormatError, or the
 * stream's own error (DigestMismatchError / SizeMismatchError from a VerifyingStream).
 */
export async function readLayer(stream: Readable, opts: ReadLayerOptions): Promise<LayerResult> {
  const { layerDigest: layer, limits, wants } = opts;
  const entries = new Map<string, LayerEntry>();
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const unknowns: LayerUnknown[] = [];
  const unknown = (path: string, reason: string): void => {
    unknowns.push({ layer, path, reason });
  };
  let captured = 0;
  let pending: LayerEntry | undefined;

  const onEntry = (h: TarHeader): number => {
    // A member replacing a directory removes what the layer put beneath it, as containerd does
    // (tar.ts removedBeneath); bodies already streamed past the checks.
    for (const r of parser.removedBeneath) entries.delete(r);
    const path = canonicalPath(h.name, limits.maxPathDepth);
    if (path === undefined) {
      unknown(JSON.stringify(h.name), 'entry name is empty or contains NUL');
      return 0;
    }
    // A marker is recognised by its last component (no string is cut for ordinary names).
    if (path.startsWith(WH, path.lastIndexOf('/') + 1)) {
      const base = baseName(path);
      const dir = parentPath(path);
      if (base === OPAQUE) opaqueDirs.add(dir);
      else if (base.startsWith(`${WH}${WH}`)) {
        // containerd removes `<dir>/.wh.<rest>` for it like for any whiteout.
        unknown(path, 'unrecognised .wh..wh. marker: a whiteout of a .wh. name');
        whiteouts.add(joinPath(dir, base.slice(WH.length)));
      }
      else {
        const name = base.slice(WH.length);
        if (name === '.' || name === '..') unknown(path, 'whiteout of "." or ".." deletes nothing');
        else whiteouts.add(joinPath(dir, name));
      }
      return 0;
    }
    const type = kindToType(h.kind);
    if (path === ROOT && type !== 'dir') {
      unknown(h.name, `a ${type} entry names the image root`);
      return 0;
    }
    if (path.includes(`/${WH}`)) unknown(path, 'path has a whiteout-named directory component');
    // One object literal with every field (some undefined): a single hidden class for all entries.
    const e: LayerEntry = {
      path,
      layer,
      type,
      size: h.kind === 'file' ? h.realSize : 0,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      mtime: h.mtime,
      linkname: type === 'symlink' ? h.linkname : undefined,
      typeflag: type === 'other' ? h.typeflag : undefined,
      sparse: h.sparse || undefined,
      body: undefined,
      truncated: undefined,
      wanted: undefined,
      linkTarget: undefined,
    };
    if (type === 'other' && !['3', '4', '6'].includes(h.typeflag)) unknown(path, `unsupported tar entry type ${JSON.stringify(h.typeflag)}`);
    const prev = entries.get(path);
    if (prev && prev.type === 'dir' && type !== 'dir') unknown(path, 'a directory is replaced by a non-directory within one layer');
    if (type === 'hardlink') {
      hardlink(e, h.linkname, prev);
      return 0;
    }
    entries.set(path, e);
    if (type !== 'file' || !wants || !wants(path, e)) return 0;
    e.wanted = true;
    // Sparse files are captured as their logical content (holes as zeros), as the runtime writes them.
    let n = Math.min(h.realSize, limits.maxFileReadBytes);
    if (captured + n > limits.maxReadBytesPerLayer) {
      n = Math.max(0, limits.maxReadBytesPerLayer - captured);
      unknown(path, `body cut by maxReadBytesPerLayer=${limits.maxReadBytesPerLayer}`);
    }
    if (n < h.realSize) e.truncated = true;
    captured += n;
    if (n === 0) {
      e.body = Buffer.alloc(0);
      return 0;
    }
    pending = e;
    return n;
  };

  // Hardlinks point to an earlier member of the same layer (node-tar CVE-2018-20834): the name is
  // looked up as is — never through a symlink — and a later member of that name is not it.
  const hardlink = (e: LayerEntry, rawTarget: string, prev: LayerEntry | undefined): void => {
    const target = canonicalPath(rawTarget);
    if (target === undefined || target === ROOT) {
      unknown(e.path, 'hardlink with an empty or invalid target');
      return;
    }
    (e as { linkname?: string }).linkname = target;
    let t = target === e.path ? prev : entries.get(target);
    if (t?.type === 'hardlink') t = t.linkTarget;
    if (t !== undefined && t.type !== 'file') {
      if (t.type === 'dir') {
        unknown(e.path, `hardlink to a ${t.type} (${target}) refused`);
        return;
      }
      // link(2) links a symlink or device node itself: the same inode at a second name, its
      // owner and mode set through the new name (containerd chowns and chmods after linking).
      Object.assign(t, { mode: e.mode, uid: e.uid, gid: e.gid });
      entries.set(e.path, { ...t, path: e.path });
      return;
    }
    entries.set(e.path, e);
    if (t === undefined) {
      // Resolved from lower layers by FileTree.squash, or reported there (claircore #474).
      if (wants?.(e.path, e)) e.wanted = true;
      return;
    }
    e.linkTarget = t;
    (e as { size: number }).size = t.size;
    // One inode: containerd's chown/chmod through the link changes the target too.
    Object.assign(t, { mode: e.mode, uid: e.uid, gid: e.gid });
    if (!wants?.(e.path, e)) return;
    e.wanted = true;
    if (t.body) {
      e.body = t.body;
      if (t.truncated) e.truncated = true;
    } else {
      e.truncated = true;
      unknown(e.path, `hardlink body not captured: its target ${target} was not requested`);
    }
  };

  const parser = new TarParser(limits, {
    onEntry,
    onBody: (_h, body) => {
      if (pending) pending.body = body;
      pending = undefined;
    },
  });
  const hash = createHash('sha256');
  const decoded = await decodeLayer(stream, opts, (chunk) => {
    hash.update(chunk);
    parser.write(chunk);
  });
  parser.end();
  if (parser.trailingData) unknown('', 'non-zero data after the end-of-archive marker');
  return {
    digest: layer,
    mediaType: opts.mediaType,
    diffId: `sha256:${hash.digest('hex')}` as Digest,
    compression: decoded.compression,
    declaredCompression: decoded.declaredCompression,
    compressedBytes: decoded.compressedBytes,
    uncompressedBytes: decoded.uncompressedBytes,
    entryCount: parser.entryCount,
    entries,
    whiteouts: [...whiteouts],
    opaqueDirs: [...opaqueDirs],
    capturedBytes: captured,
    lowerLinks: parser.lowerLinks,
    unknowns,
  };
}
