import { constants, type Stats } from 'node:fs';
import { lstat, open, opendir, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { LimitExceededError, TrustError } from '../engine/errors';
import type { EntryInfo, EntryType, LayerEntry, LayerResult, LayerUnknown } from '../engine/layers/layer-reader';
import type { Limits } from '../engine/limits';
import type { Digest } from '../engine/model';
import { CATALOGERS } from '../engine/catalog/catalogers';
import { isUnscannable, scanReadLayer, scanWants, unscannableScan, type ScanOptions, type ScanResult } from '../engine/scan-image';

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

/**
 * Reads at most `max` bytes of a regular file without following a link: `O_NOFOLLOW` refuses a path
 * swapped for a symlink after the walk saw it, `O_NONBLOCK` keeps a path swapped for a FIFO from
 * hanging the open, and the fstat check refuses anything that is no longer a regular file.
 */
async function readCapped(file: string, max: number): Promise<{ body: Buffer; truncated: boolean } | string> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return 'no longer a regular file';
    const want = Math.min(st.size, max);
    const buf = Buffer.alloc(want);
    let n = 0;
    while (n < want) {
      const { bytesRead } = await fh.read(buf, n, want - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return { body: buf.subarray(0, n), truncated: st.size > n };
  } catch (e) {
    return `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  } finally {
    await fh.close();
  }
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
export async function readDirectoryLayer(root: string, opts: { limits: Limits; wants: (path: string, info: EntryInfo) => boolean }): Promise<LayerResult> {
  const { limits, wants } = opts;
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
      unknowns.push({ layer: placeholder, path: rel || '/', reason: `directory unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
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
        unknowns.push({ layer: placeholder, path, reason: `cannot stat: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
        continue;
      }
      const type = entryType(st);
      let linkname: string | undefined;
      if (type === 'symlink') {
        try {
          linkname = await readlink(abs);
        } catch (err) {
          unknowns.push({ layer: placeholder, path, reason: `cannot read link: ${(err as NodeJS.ErrnoException).code}` });
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
        if (wants(path, e)) {
          const max = Math.min(limits.maxFileReadBytes, Math.max(0, limits.maxReadBytesPerLayer - captured));
          const r = await readCapped(abs, max);
          if (typeof r === 'string') unknowns.push({ layer: placeholder, path, reason: r });
          else {
            e.body = r.body;
            e.wanted = true;
            if (r.truncated) e.truncated = true;
            captured += r.body.length;
          }
        }
      }
      entries.push(e);
      if (type === 'dir') {
        if (st.dev !== rootStat.dev) unknowns.push({ layer: placeholder, path, reason: 'another filesystem is mounted here; not walked' });
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
  };
}

/** `trustctl scan dir:<path>`: the directory read as one layer, then the engine's scan of it. */
export async function scanDirectory(root: string, opts: Pick<ScanOptions, 'limits' | 'catalogers' | 'advisories' | 'checks' | 'policy' | 'now'>): Promise<ScanResult> {
  const ref = `dir:${root}`;
  let layer: LayerResult;
  try {
    layer = await readDirectoryLayer(root, { limits: opts.limits, wants: scanWants(opts.catalogers ?? CATALOGERS, opts.checks ?? []) });
  } catch (e) {
    // Over a cap: quarantined with the reason, like an image (RELIABILITY.md "fails safe").
    if (isUnscannable(e)) return unscannableScan(ref, e);
    throw e;
  }
  return scanReadLayer(ref, layer, opts);
}
