import type { Compression } from './decompress';
import type { EntryType, LayerCoverage, LayerEntry, LayerResult, LayerUnknown } from './layer-reader';
import type { Digest } from '../model';

/**
 * Version of the {@link LayerRecord} shape; part of every layer-cache key, so a change of shape
 * never reads an old record. 3: entries in columns ({@link EntryColumns}) instead of one tuple each.
 */
export const LAYER_RECORD_VERSION = 3;

/** One letter per entry type in {@link EntryColumns.types}. */
const TYPE_LETTER: Readonly<Record<EntryType, string>> = { file: 'f', dir: 'd', symlink: 'l', hardlink: 'h', other: 'o' };
const LETTER_TYPE: Readonly<Record<string, EntryType>> = { f: 'file', d: 'dir', l: 'symlink', h: 'hardlink', o: 'other' };

/**
 * A layer's entries, column by column: entry `i` is `paths[i]`, `types[i]`, `sizes[i]`, … Columns,
 * not one object or tuple per entry, because a layer of a few hundred thousand files would otherwise
 * make as many small arrays (and repeat their brackets and nulls in the JSON) each time a record is
 * written (issue 16 item 3). Fields most entries lack are sparse: `[entry indexes, values]`.
 */
export interface EntryColumns {
  readonly paths: readonly string[];
  /** One letter per entry: `f` file, `d` dir, `l` symlink, `h` hardlink, `o` other. */
  readonly types: string;
  readonly sizes: readonly number[];
  readonly modes: readonly number[];
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  readonly mtimes: readonly number[];
  readonly linknames: readonly [readonly number[], readonly string[]];
  readonly typeflags: readonly [readonly number[], readonly string[]];
  /** Entries that are GNU sparse files. */
  readonly sparse: readonly number[];
  /** Hardlinks to an earlier member of this layer: the target's path. */
  readonly linkTargets: readonly [readonly number[], readonly string[]];
  /** Kept bodies, base64. */
  readonly bodies: readonly [readonly number[], readonly string[]];
  /** Entries whose kept body is a part of the file. */
  readonly truncated: readonly number[];
}

/**
 * What one pass over a layer yields, in a JSON-safe form that a cache can keep (DESIGN.md "The
 * data's way", step 2: "if the layer digest (plus plug-in versions) is cached, reuse its inventory").
 * Entry metadata is kept for every path — the overlay needs it to know what an upper layer hides —
 * but bodies only where {@link toLayerRecord}'s `keepBody` says so (release files, not databases:
 * their packages are already in the inventory kept beside the record).
 */
export interface LayerRecord {
  readonly v: typeof LAYER_RECORD_VERSION;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly diffId: Digest;
  readonly compression: Compression;
  readonly declaredCompression: Compression;
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
  readonly entryCount: number;
  readonly whiteouts: readonly string[];
  readonly opaqueDirs: readonly string[];
  readonly unknowns: readonly LayerUnknown[];
  readonly entries: EntryColumns;
  /** What the pass that made the record examined (version 2 on). */
  readonly coverage?: LayerCoverage;
}

/** The cacheable form of a layer result; bodies survive only for paths `keepBody` accepts. */
export function toLayerRecord(l: LayerResult, keepBody: (path: string) => boolean): LayerRecord {
  const paths: string[] = [];
  const types: string[] = [];
  const sizes: number[] = [];
  const modes: number[] = [];
  const uids: number[] = [];
  const gids: number[] = [];
  const mtimes: number[] = [];
  const linknames: [number[], string[]] = [[], []];
  const typeflags: [number[], string[]] = [[], []];
  const sparse: number[] = [];
  const linkTargets: [number[], string[]] = [[], []];
  const bodies: [number[], string[]] = [[], []];
  const truncated: number[] = [];
  let i = 0;
  for (const e of l.entries.values()) {
    paths.push(e.path);
    types.push(TYPE_LETTER[e.type]);
    sizes.push(e.size);
    modes.push(e.mode);
    uids.push(e.uid);
    gids.push(e.gid);
    mtimes.push(e.mtime);
    if (e.linkname !== undefined) put(linknames, i, e.linkname);
    if (e.typeflag !== undefined) put(typeflags, i, e.typeflag);
    if (e.sparse) sparse.push(i);
    if (e.linkTarget) put(linkTargets, i, e.linkTarget.path);
    const body = e.body && keepBody(e.path) ? e.body : undefined;
    if (body) {
      put(bodies, i, body.toString('base64'));
      if (e.truncated) truncated.push(i);
    }
    i++;
  }
  const entries: EntryColumns = { paths, types: types.join(''), sizes, modes, uids, gids, mtimes, linknames, typeflags, sparse, linkTargets, bodies, truncated };
  return {
    v: LAYER_RECORD_VERSION,
    digest: l.digest, mediaType: l.mediaType, diffId: l.diffId,
    compression: l.compression, declaredCompression: l.declaredCompression,
    compressedBytes: l.compressedBytes, uncompressedBytes: l.uncompressedBytes, entryCount: l.entryCount,
    whiteouts: [...l.whiteouts], opaqueDirs: [...l.opaqueDirs], unknowns: [...l.unknowns], entries,
    ...(l.coverage ? { coverage: l.coverage } : {}),
  };
}

/** Appends entry `i`'s value to a sparse column. */
function put(column: [number[], string[]], i: number, value: string): void {
  column[0].push(i);
  column[1].push(value);
}

/** A layer result rebuilt from its record, ready for `FileTree.squash` (hardlinks re-joined by path). */
export function fromLayerRecord(r: LayerRecord): LayerResult {
  const c = r.entries;
  const at = <T>([idx, vals]: readonly [readonly number[], readonly T[]]): Map<number, T> => new Map(idx.map((k, j) => [k, vals[j]]));
  const linknames = at(c.linknames);
  const typeflags = at(c.typeflags);
  const linkTargets = at(c.linkTargets);
  const bodies = at(c.bodies);
  const sparse = new Set(c.sparse);
  const truncated = new Set(c.truncated);
  const entries = new Map<string, LayerEntry>();
  const links: [LayerEntry, string][] = [];
  let capturedBytes = 0;
  for (let i = 0; i < c.paths.length; i++) {
    const path = c.paths[i];
    const linkname = linknames.get(i);
    const typeflag = typeflags.get(i);
    const e: LayerEntry = {
      path, type: LETTER_TYPE[c.types[i]], size: c.sizes[i], mode: c.modes[i], uid: c.uids[i], gid: c.gids[i], mtime: c.mtimes[i], layer: r.digest,
      ...(linkname !== undefined ? { linkname } : {}),
      ...(typeflag !== undefined ? { typeflag } : {}),
      ...(sparse.has(i) ? { sparse: true } : {}),
    };
    const body = bodies.get(i);
    if (body !== undefined) {
      e.body = Buffer.from(body, 'base64');
      e.wanted = true;
      capturedBytes += e.body.length;
      if (truncated.has(i)) e.truncated = true;
    }
    const target = linkTargets.get(i);
    if (target !== undefined) links.push([e, target]);
    entries.set(path, e);
  }
  for (const [e, target] of links) e.linkTarget = entries.get(target);
  return {
    digest: r.digest, mediaType: r.mediaType, diffId: r.diffId,
    compression: r.compression, declaredCompression: r.declaredCompression,
    compressedBytes: r.compressedBytes, uncompressedBytes: r.uncompressedBytes, entryCount: r.entryCount,
    entries, whiteouts: r.whiteouts, opaqueDirs: r.opaqueDirs, capturedBytes, unknowns: [...r.unknowns],
    ...(r.coverage ? { coverage: r.coverage } : {}),
  };
}
