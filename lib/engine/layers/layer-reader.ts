import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Limits } from '../limits';
import type { Coverage, Digest, UnknownClass } from '../model';
import { type Compression, decodeLayer } from './decompress';
import { ROOT, baseName, canonicalPath, canonicalPathWithin, joinPath, parentPath } from './paths';
import { type TarHeader, TarParser } from './tar';

/**
 * Reads one layer as a stream, exactly once: decompress (decompress.ts), hash the uncompressed
 * bytes (the layer's diff_id, image-spec config.md `rootfs.diff_ids`), walk the tar (tar.ts), keep
 * the metadata of every entry, hand every byte of every regular-file member to the streaming
 * consumers (malware, secrets: {@link BodyConsumer}) as it passes by, and copy into memory only the
 * bodies a cataloger must parse whole (capped per file by `maxCatalogFileBytes`, a hostile-size cap
 * whose hit is a `cut-by-cap` unknown — there is no budget shared between catalogers and checks,
 * issue 13 item 2). Nothing is ever written anywhere (../shared/DESIGN.md "Never extract").
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
  /** Bytes of the file (a sparse file's logical size; a hardlink's target size once resolved; else 0). */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  /** Symlink target as stored (not normalised), or a hardlink's target as a canonical path. */
  readonly linkname?: string;
  /** The tar typeflag for `other` entries: `3` char, `4` block, `6` FIFO, or an unknown flag. */
  readonly typeflag?: string;
  /** A GNU sparse file (its logical content is what consumers see, holes as zeros). */
  readonly sparse?: boolean;
}

/** One path in one layer. */
export interface LayerEntry extends EntryInfo {
  /** Canonical absolute path (paths.ts), exactly as the tar names it. */
  readonly path: string;
  /** Digest of the layer (compressed blob) this entry comes from. */
  readonly layer: Digest;
  /** Captured body when a cataloger wanted it (at most `maxCatalogFileBytes`), or what an {@link BodyExtractor} kept. */
  body?: Buffer;
  /** True when `body` holds less than the whole file (a cap was hit, or an extractor kept a part). */
  truncated?: boolean;
  /** True when the consumer's predicate asked for this path. */
  wanted?: boolean;
  /** For a hardlink: the earlier member of this layer it shares its data with. Unset = resolve in lower layers. */
  linkTarget?: LayerEntry;
  /** 0-based index of the tar member this entry is (a second pass captures members by it). */
  member?: number;
}

/** An entry the reader or the tree could not place, with the reason (becomes an "unscannable" detail). */
export interface LayerUnknown {
  readonly layer: string;
  readonly path: string;
  readonly reason: string;
  /** Why it was not examined (model/unknown.ts); absent is judged `parse-error`. */
  readonly class?: UnknownClass;
  /** The cataloger or check that needed it. */
  readonly consumer?: string;
}

/** Bytes one consumer (a check, or the catalogers) examined in one layer. */
export type ConsumerCoverage = Coverage['consumers'][string];

/**
 * What one pass over a layer accounted for (issue 13, "Completeness as a first-class result"): every
 * member is counted; every regular-file member is either examined in full by the content checks (its
 * every byte went through their sinks) or listed in the layer's unknowns with a class. The shape is
 * the report's {@link Coverage} (model/scan.ts), which sums it over layers.
 */
export type LayerCoverage = Coverage;

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
  /** Bytes of bodies captured for catalogers (and release files, image checks). */
  readonly capturedBytes: number;
  /** Hardlink targets the runtime will look for in lower layers (tar.ts `lowerLinks`); FileTree.squash checks them. */
  readonly lowerLinks?: readonly string[];
  readonly unknowns: LayerUnknown[];
  /** What the pass examined (absent on results built by hand in tests, and on records of older versions). */
  readonly coverage?: LayerCoverage;
  /** Bodies of the members {@link ReadLayerOptions.captureMembers} asked for, by member index. */
  readonly capturedMembers?: ReadonlyMap<number, Buffer>;
}

/**
 * Where a streaming consumer receives one body: every byte in order through `write` (the chunk may
 * be a view into a larger buffer that is reused after the call: copy what you keep), then `end`.
 */
export interface BodySink {
  write(chunk: Buffer): void;
  end(): void;
}

/**
 * A consumer that sees bodies as they stream by (the content checks). It is offered every
 * regular-file member of the layer, in tar order — every earlier member of a path that repeats
 * (the blob ships every body, RELIABILITY.md 53), sparse files materialised — and returns a sink,
 * or `undefined` to pass. Hardlinks are not offered: their bytes are their target's, already
 * streamed (same layer) or streamed with a lower layer.
 */
export interface BodyConsumer {
  /** Name for the coverage summary (the check's name). */
  readonly name: string;
  file(path: string, info: EntryInfo): BodySink | undefined;
}

/** Keeps a bounded part of one body instead of all of it (a Go binary's build info window). */
export interface BodyExtractor {
  write(chunk: Buffer): void;
  /** What to keep as the entry's body (`truncated` = it is a part of the file), or nothing. */
  end(): { readonly body: Buffer; readonly truncated: boolean } | undefined;
}

/** Options of {@link readLayer}. */
export interface ReadLayerOptions {
  readonly layerDigest: Digest;
  readonly mediaType: string;
  readonly limits: Limits;
  /**
   * Which file bodies to capture whole, asked once per regular file or hardlink, with the entry's
   * canonical path (`/var/lib/dpkg/status`) and metadata. The path is the name in the tar, never
   * resolved through symlinks: a layer cannot make a predicate see `/etc/shadow` by naming
   * `x/shadow` with `x -> /etc`. Bodies are cut at `maxCatalogFileBytes` (then `truncated` is set
   * and a `cut-by-cap` unknown names the consumer, see {@link wantedBy}).
   */
  readonly wants?: (path: string, info: EntryInfo) => boolean;
  /** Who wanted a path (cataloger names), for the consumer of a `cut-by-cap` unknown. Default `catalogers`. */
  readonly wantedBy?: (path: string) => string;
  /**
   * Bodies to keep in part rather than whole, asked before `wants` for each regular file: an
   * extractor sees every byte and decides what to keep (the Go build info of a large binary).
   */
  readonly extract?: (path: string, info: EntryInfo) => BodyExtractor | undefined;
  /** Streaming consumers (content checks): see {@link BodyConsumer}. */
  readonly consumers?: readonly BodyConsumer[];
  /** Members (by index) whose bodies to capture whole into `capturedMembers` (a second pass for hardlink targets). */
  readonly captureMembers?: ReadonlySet<number>;
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
 * A {@link LayerEntry} as the reader makes it: the fields every entry has are its own properties;
 * the ones most entries lack (`linkname`, `typeflag`, `sparse`, `body`, `truncated`, `wanted`,
 * `linkTarget`) are absent until set, not stored as `undefined` — seven fewer slots per entry,
 * which a layer of a few hundred thousand files keeps until the image is squashed (issue 16 item 3).
 */
class Entry {
  declare linkname?: string;
  declare typeflag?: string;
  declare sparse?: boolean;
  declare body?: Buffer;
  declare truncated?: boolean;
  declare wanted?: boolean;
  declare linkTarget?: LayerEntry;
  constructor(
    readonly path: string,
    readonly layer: Digest,
    readonly type: EntryType,
    readonly size: number,
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    readonly mtime: number,
    readonly member: number,
  ) {}
}

/** What consumers see of a member that is not an entry (a marker or a bad name with a body). */
function infoOf(h: TarHeader): EntryInfo {
  const isFile = h.kind === 'file';
  return { type: kindToType(h.kind), size: isFile ? h.realSize : 0, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, sparse: h.sparse || undefined };
}

/** The body being read: where its bytes go. */
interface Current {
  readonly entry: LayerEntry | undefined;
  readonly member: number;
  readonly size: number;
  capture: Buffer | undefined;
  /** Bytes to capture (the buffer is allocated with the first byte: a body that never comes costs nothing). */
  captureSize: number;
  fill: number;
  extractor: BodyExtractor | undefined;
  memberCapture: Buffer | undefined;
  memberFill: number;
  readonly sinks: { readonly name: string; readonly sink: BodySink }[];
  seen: number;
}

/**
 * Reads a layer blob stream once and returns its entries, whiteouts, diff_id and coverage.
 *
 * Rejects with UnsupportedMediaTypeError, LimitExceededError (maxLayerBytes, maxZstdWindowBytes,
 * maxEntries, maxPathDepth, maxPathBytes, maxHeaderBytes), CompressionError, TarFormatError, or the
 * stream's own error (DigestMismatchError / SizeMismatchError from a VerifyingStream). A consumer's
 * sink that throws is dropped for the rest of that body and recorded as an unknown (never a pass).
 */
export async function readLayer(stream: Readable, opts: ReadLayerOptions): Promise<LayerResult> {
  const { layerDigest: layer, limits, wants, extract, captureMembers } = opts;
  const consumers = opts.consumers ?? [];
  const cap = limits.maxCatalogFileBytes;
  const entries = new Map<string, LayerEntry>();
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const unknowns: LayerUnknown[] = [];
  const unknown = (path: string, reason: string, cls: UnknownClass, consumer?: string): void => {
    unknowns.push({ layer, path, reason, class: cls, ...(consumer !== undefined ? { consumer } : {}) });
  };
  const capturedMembers = new Map<number, Buffer>();
  const perConsumer = new Map<string, { files: number; bytes: number }>();
  for (const c of consumers) perConsumer.set(c.name, { files: 0, bytes: 0 });
  const catalogers = { files: 0, bytes: 0 };
  let captured = 0;
  let member = -1;
  let regularFiles = 0;
  let regularFileBytes = 0;
  let hardlinks = 0;
  let filesInFull = 0;
  let bytesInFull = 0;
  let cur: Current | undefined;

  /** Starts a regular-file member's body: who gets its bytes. */
  const startBody = (e: LayerEntry | undefined, path: string, info: EntryInfo, size: number): void => {
    regularFiles++;
    regularFileBytes += size;
    const sinks: Current['sinks'][number][] = [];
    for (const c of consumers) {
      let sink: BodySink | undefined;
      try {
        sink = c.file(path, info);
      } catch (err) {
        unknown(path, `${c.name}: could not take the body: ${(err as Error).message}`, 'body-not-read', c.name);
      }
      if (sink) sinks.push({ name: c.name, sink });
    }
    let captureSize = -1;
    let extractor: BodyExtractor | undefined;
    if (e) {
      extractor = extract?.(path, e);
      if (extractor) e.wanted = true;
      else if (wants?.(path, e)) {
        e.wanted = true;
        captureSize = Math.min(size, cap);
        catalogers.files++;
      }
    }
    // Bounded like any capture: a longer target is recorded as cut by fillHardlinkTargets.
    const memberCapture = captureMembers?.has(member) ? Buffer.allocUnsafe(Math.min(size, cap)) : undefined;
    cur = { entry: e, member, size, capture: undefined, captureSize, fill: 0, extractor, memberCapture, memberFill: 0, sinks, seen: 0 };
    if (size === 0) endBody();
  };

  const onData = (chunk: Buffer): void => {
    const c = cur;
    if (!c) return;
    c.seen += chunk.length;
    if (c.captureSize > 0 && c.capture === undefined) c.capture = Buffer.allocUnsafe(c.captureSize);
    if (c.capture && c.fill < c.capture.length) {
      const n = Math.min(chunk.length, c.capture.length - c.fill);
      chunk.copy(c.capture, c.fill, 0, n);
      c.fill += n;
    }
    if (c.memberCapture && c.memberFill < c.memberCapture.length) {
      const n = Math.min(chunk.length, c.memberCapture.length - c.memberFill);
      chunk.copy(c.memberCapture, c.memberFill, 0, n);
      c.memberFill += n;
    }
    if (c.extractor) c.extractor.write(chunk);
    for (let i = 0; i < c.sinks.length; i++) {
      const s = c.sinks[i];
      try {
        s.sink.write(chunk);
      } catch (err) {
        // A consumer that fails must not abort the layer, nor let the file pass as examined.
        unknown(c.entry?.path ?? '', `${s.name}: failed while reading the body: ${(err as Error).message}`, 'body-not-read', s.name);
        c.sinks.splice(i--, 1);
      }
    }
  };

  const endBody = (): void => {
    const c = cur;
    if (!c) return;
    cur = undefined;
    const complete = c.seen >= c.size;
    if (c.entry) {
      if (c.captureSize >= 0 && c.seen === 0 && c.size > 0) {
        // The parser delivered none of it (a sparse file the tar reader does not materialise).
        c.entry.truncated = true;
        catalogers.files--;
        unknown(c.entry.path, c.entry.sparse ? 'sparse file body not captured' : 'body not delivered by the tar reader', 'body-not-read', opts.wantedBy?.(c.entry.path) ?? 'catalogers');
      } else if (c.captureSize >= 0) {
        const kept = c.capture ?? Buffer.alloc(0);
        c.entry.body = c.fill === kept.length ? kept : kept.subarray(0, c.fill);
        captured += c.fill;
        catalogers.bytes += c.fill;
        if (c.fill < c.size) c.entry.truncated = true;
        if (c.seen > c.fill) unknown(c.entry.path, `body of ${c.size} bytes cut at maxCatalogFileBytes=${cap}: parsed as far as read`, 'cut-by-cap', opts.wantedBy?.(c.entry.path) ?? 'catalogers');
      }
      if (c.extractor) {
        const kept = c.extractor.end();
        if (kept) {
          c.entry.body = kept.body;
          captured += kept.body.length;
          if (kept.truncated) c.entry.truncated = true;
        }
      }
    }
    if (c.memberCapture) capturedMembers.set(c.member, c.memberCapture.subarray(0, c.memberFill));
    let full = false;
    for (const s of c.sinks) {
      try {
        s.sink.end();
      } catch (err) {
        unknown(c.entry?.path ?? '', `${s.name}: failed at the end of the body: ${(err as Error).message}`, 'body-not-read', s.name);
        continue;
      }
      const pc = perConsumer.get(s.name)!;
      pc.bytes += c.seen;
      if (complete) {
        pc.files++;
        full = true;
      }
    }
    if (full) {
      filesInFull++;
      bytesInFull += c.size;
    } else if (consumers.length > 0) {
      const path = c.entry?.path ?? '';
      unknown(path, complete ? 'no content check examined this body' : `body ended after ${c.seen} of ${c.size} bytes`, 'body-not-read', 'checks');
    }
  };

  const onEntry = (h: TarHeader): number => {
    // A body the parser never ended (it did not deliver it): close it, recorded as not read in full.
    if (cur) endBody();
    member++;
    // A member replacing a directory removes what the layer put beneath it, as containerd does
    // (tar.ts removedBeneath); bodies already streamed past the checks.
    for (const r of parser.removedBeneath) entries.delete(r);
    // The parser's canonical name: the string the runtime model keys this path by, shared.
    const path = canonicalPathWithin(h.name, parser.canonicalName, limits.maxPathDepth);
    const isFile = h.kind === 'file';
    if (path === undefined) {
      unknown(JSON.stringify(h.name), 'entry name is empty or contains NUL', 'unsupported-entry');
      // The body still ships in the blob: the content checks see it under its raw name.
      if (isFile) startBody(undefined, JSON.stringify(h.name), infoOf(h), h.realSize);
      return 0;
    }
    // A marker is recognised by its last component (no string is cut for ordinary names).
    if (path.startsWith(WH, path.lastIndexOf('/') + 1)) {
      const base = baseName(path);
      const dir = parentPath(path);
      if (base === OPAQUE) opaqueDirs.add(dir);
      else if (base.startsWith(`${WH}${WH}`)) {
        // containerd removes `<dir>/.wh.<rest>` for it like for any whiteout.
        unknown(path, 'unrecognised .wh..wh. marker: a whiteout of a .wh. name', 'note');
        whiteouts.add(joinPath(dir, base.slice(WH.length)));
      }
      else {
        const name = base.slice(WH.length);
        if (name === '.' || name === '..') unknown(path, 'whiteout of "." or ".." deletes nothing', 'note');
        else whiteouts.add(joinPath(dir, name));
      }
      // A marker with a body: the body ships in the blob all the same.
      if (isFile && h.realSize > 0) startBody(undefined, path, infoOf(h), h.realSize);
      return 0;
    }
    const type = kindToType(h.kind);
    if (path === ROOT && type !== 'dir') {
      unknown(h.name, `a ${type} entry names the image root`, 'unsupported-entry');
      if (isFile) startBody(undefined, path, infoOf(h), h.realSize);
      return 0;
    }
    if (path.includes(`/${WH}`)) unknown(path, 'path has a whiteout-named directory component', 'note');
    const e = new Entry(path, layer, type, isFile ? h.realSize : 0, h.mode, h.uid, h.gid, h.mtime, member);
    if (type === 'symlink') e.linkname = h.linkname;
    else if (type === 'other') e.typeflag = h.typeflag;
    if (h.sparse) e.sparse = true;
    if (type === 'other' && !['3', '4', '6'].includes(h.typeflag)) unknown(path, `unsupported tar entry type ${JSON.stringify(h.typeflag)}`, 'unsupported-entry');
    const prev = entries.get(path);
    if (prev && prev.type === 'dir' && type !== 'dir') unknown(path, 'a directory is replaced by a non-directory within one layer', 'note');
    if (type === 'hardlink') {
      hardlinks++;
      hardlink(e, h.linkname, prev);
      return 0;
    }
    entries.set(path, e);
    if (type === 'file') startBody(e, path, e, h.realSize);
    return 0;
  };

  // Hardlinks point to an earlier member of the same layer (node-tar CVE-2018-20834): the name is
  // looked up as is — never through a symlink — and a later member of that name is not it.
  const hardlink = (e: LayerEntry, rawTarget: string, prev: LayerEntry | undefined): void => {
    const target = canonicalPath(rawTarget);
    if (target === undefined || target === ROOT) {
      unknown(e.path, 'hardlink with an empty or invalid target', 'unsupported-entry');
      return;
    }
    (e as { linkname?: string }).linkname = target;
    let t = target === e.path ? prev : entries.get(target);
    if (t?.type === 'hardlink') t = t.linkTarget;
    if (t !== undefined && t.type !== 'file') {
      if (t.type === 'dir') {
        unknown(e.path, `hardlink to a ${t.type} (${target}) refused`, 'unsupported-entry');
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
    if (!wants?.(e.path, e) && !extract?.(e.path, e)) return;
    e.wanted = true;
    if (t.body) {
      e.body = t.body;
      if (t.truncated) e.truncated = true;
    }
    // Else the target's body was not kept: the caller reads the layer again for it
    // (`captureMembers`, see {@link missingHardlinkTargets}).
  };

  const parser = new TarParser(limits, {
    onEntry,
    onData: (_h, chunk) => onData(chunk),
    onEnd: () => endBody(),
  });
  const hash = createHash('sha256');
  const decoded = await decodeLayer(stream, opts, (chunk) => {
    hash.update(chunk);
    parser.write(chunk);
  });
  parser.end();
  if (cur) endBody();
  if (parser.trailingData) unknown('', 'non-zero data after the end-of-archive marker', 'unsupported-entry');
  const consumerCoverage: Record<string, ConsumerCoverage> = { catalogers };
  for (const [k, v] of perConsumer) consumerCoverage[k] = v;
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
    coverage: {
      members: parser.entryCount, regularFiles, regularFileBytes, hardlinks,
      filesExaminedInFull: filesInFull, bytesExaminedInFull: bytesInFull, consumers: consumerCoverage,
    },
    ...(captureMembers ? { capturedMembers } : {}),
  };
}

/**
 * Hardlinks whose bytes a cataloger wanted but whose same-layer target was not captured (the target's
 * own path was not wanted: `/var/lib/dpkg/status` linked to `/x`): the member indexes to capture in a
 * second pass over the layer ({@link ReadLayerOptions.captureMembers}).
 */
export function missingHardlinkTargets(l: LayerResult): Set<number> {
  const out = new Set<number>();
  for (const e of l.entries.values()) {
    if (e.type === 'hardlink' && e.wanted && e.linkTarget && !e.linkTarget.body && e.linkTarget.member !== undefined) out.add(e.linkTarget.member);
  }
  return out;
}

/**
 * Completes a first pass with the second pass's member bodies: each wanted hardlink whose target was
 * missing gets the target's bytes (cut at `maxCatalogFileBytes`, recorded), and what is still missing
 * is a `body-not-read` unknown.
 */
export function fillHardlinkTargets(l: LayerResult, members: ReadonlyMap<number, Buffer>, maxBytes: number, wantedBy?: (path: string) => string): void {
  for (const e of l.entries.values()) {
    if (e.type !== 'hardlink' || !e.wanted || !e.linkTarget || e.body) continue;
    const t = e.linkTarget;
    const body = t.member !== undefined ? members.get(t.member) : undefined;
    if (body === undefined) {
      l.unknowns.push({ layer: l.digest, path: e.path, reason: `hardlink body not read: its target ${t.path} was not captured`, class: 'body-not-read', consumer: wantedBy?.(e.path) ?? 'catalogers' });
      continue;
    }
    e.body = body.length > maxBytes ? body.subarray(0, maxBytes) : body;
    if (body.length > maxBytes || body.length < t.size) {
      e.truncated = true;
      l.unknowns.push({ layer: l.digest, path: e.path, reason: `body of ${t.size} bytes (hardlink to ${t.path}) cut at maxCatalogFileBytes=${maxBytes}`, class: 'cut-by-cap', consumer: wantedBy?.(e.path) ?? 'catalogers' });
    }
  }
}
