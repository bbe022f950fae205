import type { FeedState } from '../../engine/ports';

/**
 * The committed index of an advisory store, as columns: what `open` must load before the first lookup.
 * Records are sorted by id and keys by text (both in JavaScript string order, `<`), so both are found
 * by binary search and nothing has to be hashed or copied at open — a reader of a 200k-record store
 * is ready in tens of milliseconds instead of building maps for most of a second.
 */
export interface IndexColumns {
  /** Record ids, ascending; a record's position here is its ordinal. */
  readonly ids: readonly string[];
  /** Byte offset of each record's JSON in the data file, by ordinal. */
  readonly offsets: Float64Array;
  /** `modified` of each record in epoch ms (NaN when it did not parse), by ordinal. */
  readonly modified: Float64Array;
  /** Byte length of each record's JSON (without the newline), by ordinal. */
  readonly lengths: Uint32Array;
  /** Package keys (`${ecosystem}\u0000${normalised name}`), ascending; only keys with records. */
  readonly keys: readonly string[];
  /** Key i's ordinals are `postings[postStart[i] .. postStart[i + 1])`, ascending; `keys.length + 1` entries. */
  readonly postStart: Uint32Array;
  /** Record ordinals of all keys, concatenated. */
  readonly postings: Uint32Array;
}

/** Everything an index file holds. */
export interface IndexFile {
  /** Name of the data file the offsets point into (`data-<gen>.jsonl`). */
  readonly data: string;
  /** Committed bytes of that data file; anything after them is an uncommitted (crashed) append. */
  readonly dataLength: number;
  /** Feed states, committed together with the records they describe. */
  readonly feeds: readonly (readonly [string, FeedState])[];
  /** The committed records and package keys. */
  readonly columns: IndexColumns;
}

/** The columns of a store without records. */
export const EMPTY_COLUMNS: IndexColumns = {
  ids: [],
  offsets: new Float64Array(0),
  modified: new Float64Array(0),
  lengths: new Uint32Array(0),
  keys: [],
  postStart: new Uint32Array(1),
  postings: new Uint32Array(0),
};

/*
 * Layout (version 1). Numeric columns are stored in the machine's byte order so they can be used in
 * place; a probe word tells a file from a machine of the other order (then the index is rebuilt).
 *
 *   0  8 bytes  magic "TCADVIDX"
 *   8  u32      layout version (1)
 *  12  u32      byte-order probe 0x01020304
 *  16  u32      n records, k keys, p postings, then byte lengths of the header, ids and keys JSON
 *  40  f64[n]   offsets, f64[n] modified, u32[n] lengths, u32[k+1] postStart, u32[p] postings, pad to 8
 *      JSON     header {data, dataLength, feeds}, ids (string[]), keys (string[])
 *
 * Strings are JSON because ids and package names may hold any character; JSON.parse of two string
 * arrays is the one real cost of opening a store.
 */
const MAGIC = Buffer.from('TCADVIDX', 'latin1');
/**
 * Layout version of the index file; another version is treated like a damaged index (rebuilt from the
 * data file). Bump it also when the rules of `normalizePackageName` change: keys are stored normalised,
 * and only a rebuild recomputes them (a re-sync would not — unchanged records are ignored).
 */
export const INDEX_LAYOUT_VERSION = 1;
const PROBE = 0x01020304;
const FIXED = 40;
/** Data file names the index may point at: a bare name, never a path (RELIABILITY.md 23). */
export const DATA_FILE_NAME = /^data-(\d{1,9})\.jsonl$/;

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Serialises an index; the caller writes it atomically. */
export function encodeIndex(f: IndexFile): Buffer {
  const c = f.columns;
  const n = c.ids.length;
  const k = c.keys.length;
  const p = c.postings.length;
  const header = Buffer.from(JSON.stringify({ data: f.data, dataLength: f.dataLength, feeds: f.feeds }), 'utf8');
  const ids = Buffer.from(JSON.stringify(c.ids), 'utf8');
  const keys = Buffer.from(JSON.stringify(c.keys), 'utf8');
  const numeric = align8(FIXED + 16 * n + 4 * n + 4 * (k + 1) + 4 * p);
  const out = Buffer.alloc(numeric + header.length + ids.length + keys.length);
  MAGIC.copy(out, 0);
  const words = new Uint32Array(out.buffer, out.byteOffset + 8, 8);
  words.set([INDEX_LAYOUT_VERSION, PROBE, n, k, p, header.length, ids.length, keys.length]);
  let at = FIXED;
  const put = (a: Float64Array | Uint32Array): void => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  };
  put(c.offsets);
  put(c.modified);
  put(c.lengths);
  put(c.postStart);
  put(c.postings);
  header.copy(out, numeric);
  ids.copy(out, numeric + header.length);
  keys.copy(out, numeric + header.length + ids.length);
  return out;
}

function ascending(a: readonly unknown[]): a is readonly string[] {
  for (let i = 0; i < a.length; i++) {
    const s = a[i];
    if (typeof s !== 'string' || (i > 0 && !((a[i - 1] as string) < s))) return false;
  }
  return true;
}

/**
 * Parses and checks an index file; undefined for anything that is not a complete, consistent index of
 * this layout (the store then rebuilds it from the data file). The checks are linear and cheap; they
 * guarantee every later array access is in range and every binary search is on sorted input.
 */
export function decodeIndex(buf: Buffer): IndexFile | undefined {
  if (buf.length < FIXED || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  // Typed-array views need 8-aligned offsets; a file buffer read whole normally starts its own allocation.
  if (buf.byteOffset % 8 !== 0) buf = Buffer.from(buf);
  const [version, probe, n, k, p, hLen, idsLen, keysLen] = new Uint32Array(buf.buffer, buf.byteOffset + 8, 8);
  if (version !== INDEX_LAYOUT_VERSION || probe !== PROBE) return undefined;
  const numeric = align8(FIXED + 16 * n + 4 * n + 4 * (k + 1) + 4 * p);
  if (buf.length !== numeric + hLen + idsLen + keysLen) return undefined;
  let at = buf.byteOffset + FIXED;
  const offsets = new Float64Array(buf.buffer, at, n);
  const modified = new Float64Array(buf.buffer, (at += 8 * n), n);
  const lengths = new Uint32Array(buf.buffer, (at += 8 * n), n);
  const postStart = new Uint32Array(buf.buffer, (at += 4 * n), k + 1);
  const postings = new Uint32Array(buf.buffer, (at += 4 * (k + 1)), p);
  let header: { data?: unknown; dataLength?: unknown; feeds?: unknown };
  let ids: unknown;
  let keys: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', numeric, numeric + hLen)) as typeof header;
    ids = JSON.parse(buf.toString('utf8', numeric + hLen, numeric + hLen + idsLen));
    keys = JSON.parse(buf.toString('utf8', numeric + hLen + idsLen, buf.length));
  } catch {
    return undefined;
  }
  const { data, dataLength, feeds } = header ?? {};
  if (typeof data !== 'string' || !DATA_FILE_NAME.test(data) || typeof dataLength !== 'number' || !Number.isSafeInteger(dataLength) || dataLength < 0) return undefined;
  if (!Array.isArray(feeds) || !feeds.every((f) => Array.isArray(f) && typeof f[0] === 'string' && f[1] !== null && typeof f[1] === 'object')) return undefined;
  if (!Array.isArray(ids) || ids.length !== n || !ascending(ids)) return undefined;
  if (!Array.isArray(keys) || keys.length !== k || !ascending(keys)) return undefined;
  for (let i = 0; i < n; i++) if (!(offsets[i] >= 0 && offsets[i] + lengths[i] < dataLength)) return undefined;
  if (postStart[0] !== 0 || postStart[k] !== p) return undefined;
  for (let i = 0; i < k; i++) {
    // Every key has at least one record, its ordinals strictly ascending (lookups rely on that order).
    const end = postStart[i + 1];
    if (end <= postStart[i] || end > p) return undefined;
    for (let j = postStart[i]; j < end; j++) if (postings[j] >= n || (j > postStart[i] && postings[j] <= postings[j - 1])) return undefined;
  }
  return {
    data,
    dataLength,
    feeds: feeds as [string, FeedState][],
    columns: { ids, offsets, modified, lengths, keys, postStart, postings },
  };
}
