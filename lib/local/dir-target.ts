import { constants, type Stats } from 'node:fs';
import { lstat, open, opendir, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { LimitExceededError, TrustError } from '../engine/errors';
import type { BodyConsumer, BodyExtractor, BodySink, EntryInfo, EntryType, LayerEntry, LayerResult, LayerUnknown, ReadLayerOptions } from '../engine/layers/layer-reader';
import type { Limits } from '../engine/limits';
import type { Digest } from '../engine/model';
import { CATALOGERS } from '../engine/catalog/catalogers';
import { captureRules, isUnscannable, openFileChecks, scanReadLayer, unscannableScan, type ScanOptions, type ScanResult } from '../engine/scan-image';

/** The pseudo media type a directory "layer" reports. */
export const DIRECTORY_MEDIA_TYPE = 'application/vnd.trustctl.directory';

/** A directory that cannot be scanned at all (missing, not a directory, unreadable root). */
export class DirectoryTargetError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_DIRECTORY', message, options);
    this.name = 'DirectoryTargetError';
  }
}

function entryType(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function typeflag(st: Stats): string | undefined {
  if (st.isCharacterDevice()) return '3';
  if (st.isBlockDevice()) return '4';
  if (st.isFIFO()) return '6';
  return undefined;
}

/** Where the bytes of one regular file go while it is read (see {@link streamFile}). */
interface FileReaders {
  /** Bytes to keep (a cataloger's whole body, at most this many); 0 = keep nothing. */
  readonly keep: number;
  readonly extractor?: BodyExtractor;
  readonly sinks: readonly { readonly name: string; readonly sink: BodySink }[];
}

const READ_CHUNK = 256 * 1024;

/**
 * Reads a regular file once, in chunks, without following a link: `O_NOFOLLOW` refuses a path
 * swapped for a symlink after the walk saw it, `O_NONBLOCK` keeps a path swapped for a FIFO from
 * hanging the open, and the fstat check refuses anything that is no longer a regular file. Every
 * chunk goes to the streaming sinks (content checks) and the extractor; the first `keep` bytes are
 * kept. Returns the kept body, the bytes read and the size, or why the file could not be read.
 */
async function streamFile(file: string, r: FileReaders): Promise<{ body: Buffer | undefined; read: number; size: number } | string> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return 'no longer a regular file';
    const kept = r.keep > 0 ? Buffer.alloc(Math.min(st.size, r.keep)) : undefined;
    const buf = Buffer.alloc(READ_CHUNK);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, n);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (kept && n < kept.length) chunk.copy(kept, n, 0, Math.min(bytesRead, kept.length - n));
      r.extractor?.write(chunk);
      for (const s of r.sinks) s.sink.write(chunk);
      n += bytesRead;
    }
    return { body: kept?.subarray(0, Math.min(n, kept.length)), read: n, size: st.size };
  } catch (e) {
    return `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  } finally {
    await fh.close();
  }
}

/** Options of {@link readDirectoryLayer}. */
export interface DirectoryReadOptions {
  readonly limits: Limits;
  /** Bodies to keep whole (at most `maxCatalogFileBytes`), as for an image layer. */
  readonly wants: (path: string, info: EntryInfo) => boolean;
  /** Who wanted a path, for a `cut-by-cap` unknown (default `catalogers`). */
  readonly wantedBy?: (path: string) => string;
  /** Bodies kept in part (a large Go binary's build info), as for an image layer. */
  readonly extract?: ReadLayerOptions['extract'];
  /** Streaming consumers (content checks): every regular file's bytes pass through them. */
  readonly consumers?: readonly BodyConsumer[];
}

/**
 * Reads a directory tree as one layer — an unpacked rootfs or a checkout (DESIGN.md: the developer's
 * first feedback loop) — with the same caps and the same "links are metadata" rule as an image layer:
 * symlinks are recorded with their target, never followed (so nothing outside the tree is read), and
 * only regular files the predicate wants are opened. Other filesystems mounted below the root
 * (`/proc` when scanning `/`) are not entered, as `find -xdev` does; each is recorded as an unknown.
 * The layer's digest is the sha256 of its listing (path, type, size, mtime, link target), so an
 * unchanged tree keeps its digest.
 */
export async function readDirectoryLayer(root: string, opts: DirectoryReadOptions): Promise<LayerResult> {
  const { limits, wants } = opts;
  const consumers = opts.consumers ?? [];
  const perConsumer = new Map<string, { files: number; bytes: number }>(consumers.map((c) => [c.name, { files: 0, bytes: 0 }]));
  const catalogers = { files: 0, bytes: 0 };
  let regularFiles = 0;
  let filesInFull = 0;
  let bytesInFull = 0;
  const base = resolve(root);
  let rootStat: Stats;
  try {
    rootStat = await lstat(base);
  } catch (e) {
    throw new DirectoryTargetError(`${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (!rootStat.isDirectory()) throw new DirectoryTargetError(`${root} is not a directory`);
  const placeholder = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' as Digest;
  const entries: LayerEntry[] = [];
  const unknowns: LayerUnknown[] = [];
  let captured = 0;
  let bytes = 0;
  // Depth-first, children in name order, so the listing (and the digest) is the same on every run.
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > limits.maxPathDepth) throw new LimitExceededError('maxPathDepth', limits.maxPathDepth, `${rel} is nested too deep`);
    let names: string[];
    try {
      const d = await opendir(dir);
      names = [];
      for await (const de of d) names.push(de.name);
    } catch (e) {
      unknowns.push({ layer: placeholder, path: rel || '/', reason: `directory unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, class: 'body-not-read' });
      return;
    }
    names.sort();
    for (const name of names) {
      const path = `${rel}/${name}`;
      const abs = join(dir, name);
      if (entries.length >= limits.maxEntries) throw new LimitExceededError('maxEntries', limits.maxEntries, `${root} has more entries`);
      if (Buffer.byteLength(path) > limits.maxPathBytes) throw new LimitExceededError('maxPathBytes', limits.maxPathBytes, `path ${path.slice(0, 200)}…`);
      let st: Stats;
      try {
        st = await lstat(abs);
      } catch (e) {
        unknowns.push({ layer: placeholder, path, reason: `cannot stat: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, class: 'body-not-read' });
        continue;
      }
      const type = entryType(st);
      let linkname: string | undefined;
      if (type === 'symlink') {
        try {
          linkname = await readlink(abs);
        } catch (err) {
          unknowns.push({ layer: placeholder, path, reason: `cannot read link: ${(err as NodeJS.ErrnoException).code}`, class: 'parse-error' });
        }
      }
      const e: LayerEntry = {
        path, layer: placeholder, type, size: type === 'file' ? st.size : 0, mode: st.mode & 0o7777,
        uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000),
        ...(typeflag(st) ? { typeflag: typeflag(st) } : {}),
        ...(linkname !== undefined ? { linkname } : {}),
      };
      if (type === 'file') {
        bytes += st.size;
        regularFiles++;
        const sinks: { name: string; sink: BodySink }[] = [];
        for (const c of consumers) {
          const sink = c.file(path, e);
          if (sink) sinks.push({ name: c.name, sink });
        }
        const extractor = opts.extract?.(path, e);
        const wanted = !extractor && wants(path, e);
        const r = await streamFile(abs, { keep: wanted ? limits.maxCatalogFileBytes : 0, ...(extractor ? { extractor } : {}), sinks });
        if (typeof r === 'string') {
          for (const s of sinks) s.sink.end();
          unknowns.push({ layer: placeholder, path, reason: r, class: 'body-not-read', consumer: wanted ? (opts.wantedBy?.(path) ?? 'catalogers') : 'checks' });
        } else {
          for (const s of sinks) {
            s.sink.end();
            const pc = perConsumer.get(s.name)!;
            pc.files++;
            pc.bytes += r.read;
          }
          if (sinks.length > 0) {
            filesInFull++;
            bytesInFull += r.read;
          } else if (consumers.length > 0) unknowns.push({ layer: placeholder, path, reason: 'no content check examined this body', class: 'body-not-read', consumer: 'checks' });
          if (extractor) {
            const kept = extractor.end();
            if (kept) {
              e.body = kept.body;
              e.wanted = true;
              if (kept.truncated) e.truncated = true;
              captured += kept.body.length;
            }
          } else if (wanted && r.body) {
            e.body = r.body;
            e.wanted = true;
            captured += r.body.length;
            catalogers.files++;
            catalogers.bytes += r.body.length;
            if (r.read > r.body.length) {
              e.truncated = true;
              unknowns.push({ layer: placeholder, path, reason: `body of ${r.read} bytes cut at maxCatalogFileBytes=${limits.maxCatalogFileBytes}: parsed as far as read`, class: 'cut-by-cap', consumer: opts.wantedBy?.(path) ?? 'catalogers' });
            }
          }
        }
      }
      entries.push(e);
      if (type === 'dir') {
        if (st.dev !== rootStat.dev) unknowns.push({ layer: placeholder, path, reason: 'another filesystem is mounted here; not walked', class: 'body-not-read' });
        else await walk(abs, path, depth + 1);
      }
    }
  };
  await walk(base, '', 1);
  const listing = createHash('sha256');
  for (const e of entries) listing.update(`${e.path}\0${e.type}\0${e.size}\0${e.mtime}\0${e.linkname ?? ''}\n`);
  const digest = `sha256:${listing.digest('hex')}` as Digest;
  const map = new Map<string, LayerEntry>();
  for (const e of entries) map.set(e.path, { ...e, layer: digest });
  return {
    digest, mediaType: DIRECTORY_MEDIA_TYPE, diffId: digest, compression: 'none', declaredCompression: 'none',
    compressedBytes: 0, uncompressedBytes: bytes, entryCount: entries.length, entries: map,
    whiteouts: [], opaqueDirs: [], capturedBytes: captured,
    unknowns: unknowns.map((u) => ({ ...u, layer: digest })),
    coverage: {
      members: entries.length, regularFiles, regularFileBytes: bytes, hardlinks: 0,
      filesExaminedInFull: filesInFull, bytesExaminedInFull: bytesInFull,
      consumers: { catalogers, ...Object.fromEntries(perConsumer) },
    },
  };
}

/** `trustctl scan dir:<path>`: the directory read as one layer (file checks streaming), then the engine's scan of it. */
export async function scanDirectory(root: string, opts: Pick<ScanOptions, 'limits' | 'catalogers' | 'advisories' | 'checks' | 'policy' | 'now'>): Promise<ScanResult> {
  const ref = `dir:${root}`;
  const catalogers = opts.catalogers ?? CATALOGERS;
  const checks = opts.checks ?? [];
  // The layer's digest is known after the walk: findings are re-labelled with it.
  const runs = openFileChecks(PLACEHOLDER, checks);
  let layer: LayerResult;
  try {
    layer = await readDirectoryLayer(root, { limits: opts.limits, ...captureRules(catalogers, checks), consumers: runs.consumers });
  } catch (e) {
    runs.abort();
    // Over a cap: quarantined with the reason, like an image (RELIABILITY.md "fails safe").
    if (isUnscannable(e)) return unscannableScan(ref, e);
    throw e;
  }
  const checked = await runs.finish();
  const relabel = <T extends { layer?: string }>(x: T): T => (x.layer === PLACEHOLDER ? { ...x, layer: layer.digest } : x);
  return scanReadLayer(ref, layer, opts, { findings: checked.findings.map(relabel), unknowns: checked.unknowns.map(relabel) });
}

const PLACEHOLDER = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' as Digest;
