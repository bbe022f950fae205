/**
 * The layer record as it was in version 2 (one tuple per entry, commit e113f7e), kept verbatim as the
 * reference that test/engine/layers/layer-record.test.ts compares version 3 against. Not used by lib.
 */
import type { Compression } from '../../../../lib/engine/layers/decompress';
import type { EntryType, LayerCoverage, LayerEntry, LayerResult, LayerUnknown } from '../../../../lib/engine/layers/layer-reader';
import type { Digest } from '../../../../lib/engine/model';

/**
 * Version of the {@link LayerRecord} shape; part of every layer-cache key, so a change of shape
 * never reads an old record.
 */
export const LAYER_RECORD_VERSION = 2;

/**
 * One entry as the cache keeps it: `[path, type, size, mode, uid, gid, mtime, linkname, typeflag,
 * sparse, hardlink target path in this layer, body (base64), truncated]`. A tuple, not an object,
 * because a layer of 100,000 files would otherwise repeat every key 100,000 times.
 */
export type EntryRecord = [
  path: string, type: EntryType, size: number, mode: number, uid: number, gid: number, mtime: number,
  linkname: string | null, typeflag: string | null, sparse: 0 | 1, linkTarget: string | null,
  body: string | null, truncated: 0 | 1,
];

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
  readonly entries: readonly EntryRecord[];
  /** What the pass that made the record examined (version 2 on). */
  readonly coverage?: LayerCoverage;
}

/** The cacheable form of a layer result; bodies survive only for paths `keepBody` accepts. */
export function toLayerRecord(l: LayerResult, keepBody: (path: string) => boolean): LayerRecord {
  const entries: EntryRecord[] = [];
  for (const e of l.entries.values()) {
    const body = e.body && keepBody(e.path) ? e.body : undefined;
    entries.push([
      e.path, e.type, e.size, e.mode, e.uid, e.gid, e.mtime,
      e.linkname ?? null, e.typeflag ?? null, e.sparse ? 1 : 0, e.linkTarget?.path ?? null,
      body ? body.toString('base64') : null, body && e.truncated ? 1 : 0,
    ]);
  }
  return {
    v: LAYER_RECORD_VERSION,
    digest: l.digest, mediaType: l.mediaType, diffId: l.diffId,
    compression: l.compression, declaredCompression: l.declaredCompression,
    compressedBytes: l.compressedBytes, uncompressedBytes: l.uncompressedBytes, entryCount: l.entryCount,
    whiteouts: [...l.whiteouts], opaqueDirs: [...l.opaqueDirs], unknowns: [...l.unknowns], entries,
    ...(l.coverage ? { coverage: l.coverage } : {}),
  };
}

/** A layer result rebuilt from its record, ready for `FileTree.squash` (hardlinks re-joined by path). */
export function fromLayerRecord(r: LayerRecord): LayerResult {
  const entries = new Map<string, LayerEntry>();
  const links: [LayerEntry, string][] = [];
  let capturedBytes = 0;
  for (const [path, type, size, mode, uid, gid, mtime, linkname, typeflag, sparse, linkTarget, body, truncated] of r.entries) {
    const e: LayerEntry = {
      path, type, size, mode, uid, gid, mtime, layer: r.digest,
      ...(linkname !== null ? { linkname } : {}),
      ...(typeflag !== null ? { typeflag } : {}),
      ...(sparse ? { sparse: true } : {}),
    };
    if (body !== null) {
      e.body = Buffer.from(body, 'base64');
      e.wanted = true;
      capturedBytes += e.body.length;
      if (truncated) e.truncated = true;
    }
    if (linkTarget !== null) links.push([e, linkTarget]);
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
