import type { BlobsResult } from './blobs';
import { fail } from './errors';

/**
 * Minimal read-only SQLite reader for `rpmdb.sqlite` (rpm >= 4.16): walks the table b-tree of
 * `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)` found through sqlite_master, following overflow
 * chains (https://www.sqlite.org/fileformat2.html §1.3, §1.6, §2.1). Synchronous, no native code;
 * every page number, offset and length is bounds-checked; a WAL file is not consulted (rpm
 * checkpoints on close).
 */
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const LEAF_TABLE = 13;
const INTERIOR_TABLE = 5;
const MAX_DEPTH = 64;

export function isSqlite(buf: Buffer): boolean {
  return buf.length >= 16 && buf.subarray(0, 16).equals(MAGIC);
}

type Value = null | number | Buffer | string;

class Reader {
  readonly pageSize: number;
  readonly usable: number;
  readonly pageCount: number;
  /**
   * Overflow pages already read, for the whole file: each belongs to one cell, so a page met twice (a
   * loop, or cells sharing a chain) is refused and the bytes assembled never exceed the file's.
   */
  private readonly overflowSeen = new Set<number>();
  constructor(readonly buf: Buffer) {
    if (buf.length < 100 || !isSqlite(buf)) fail('not an SQLite 3 database (bad magic)');
    const ps = buf.readUInt16BE(16);
    this.pageSize = ps === 1 ? 65536 : ps;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0) fail(`SQLite page size ${this.pageSize} is invalid`);
    this.usable = this.pageSize - buf.readUInt8(20);
    if (this.usable < 480) fail('SQLite usable page size too small');
    if (buf.readUInt32BE(56) > 1) fail('SQLite text encoding other than UTF-8 is not supported');
    this.pageCount = Math.floor(buf.length / this.pageSize);
  }

  page(n: number): Buffer {
    if (n < 1 || n > this.pageCount) fail(`SQLite page ${n} outside file (${this.pageCount} pages)`);
    return this.buf.subarray((n - 1) * this.pageSize, n * this.pageSize);
  }

  /** Visits every leaf-cell payload of the table b-tree rooted at `root`. */
  walkTable(root: number, visit: (payload: Buffer) => void, onError: (msg: string) => void): void {
    const seen = new Set<number>();
    const walk = (n: number, depth: number): void => {
      if (depth > MAX_DEPTH) fail('SQLite b-tree too deep');
      if (seen.has(n)) fail(`SQLite b-tree revisits page ${n}`);
      seen.add(n);
      const p = this.page(n);
      const h = n === 1 ? 100 : 0;
      const type = p.readUInt8(h);
      const cells = p.readUInt16BE(h + 3);
      const hdrLen = type === INTERIOR_TABLE ? 12 : 8;
      if (type !== LEAF_TABLE && type !== INTERIOR_TABLE) fail(`SQLite page ${n}: type ${type} is not a table b-tree page`);
      if (h + hdrLen + cells * 2 > this.usable) fail(`SQLite page ${n}: ${cells} cells do not fit`);
      for (let i = 0; i < cells; i++) {
        const off = p.readUInt16BE(h + hdrLen + i * 2);
        if (off < h + hdrLen || off >= this.usable) fail(`SQLite page ${n}: cell ${i} offset ${off} out of bounds`);
        if (type === INTERIOR_TABLE) {
          if (off + 4 > this.usable) fail(`SQLite page ${n}: cell ${i} truncated`);
          walk(p.readUInt32BE(off), depth + 1);
        } else {
          try {
            visit(this.leafPayload(p, off));
          } catch (e) {
            onError(`SQLite page ${n} cell ${i}: ${(e as Error).message}`);
          }
        }
      }
      if (type === INTERIOR_TABLE) walk(p.readUInt32BE(h + 8), depth + 1);
    };
    walk(root, 0);
  }

  private leafPayload(p: Buffer, off: number): Buffer {
    const [size, a] = varint(p, off, this.usable);
    const [, b] = varint(p, a, this.usable); // rowid
    const U = this.usable;
    const X = U - 35;
    let local = size;
    if (size > X) {
      const M = Math.floor(((U - 12) * 32) / 255) - 23;
      const K = M + ((size - M) % (U - 4));
      local = K <= X ? K : M;
    }
    if (b + local > U) fail(`payload of ${local} local bytes overruns the page`);
    if (local === size) return p.subarray(b, b + size);
    if (b + local + 4 > U) fail('overflow pointer overruns the page');
    const parts: Buffer[] = [p.subarray(b, b + local)];
    let got = local;
    const seen = this.overflowSeen;
    for (let n = p.readUInt32BE(b + local); got < size;) {
      if (n === 0) fail(`overflow chain ends after ${got} of ${size} bytes`);
      if (seen.has(n)) fail(`overflow page ${n} is used twice (a loop or a shared chain)`);
      seen.add(n);
      const o = this.page(n);
      const take = Math.min(size - got, U - 4);
      parts.push(o.subarray(4, 4 + take));
      got += take;
      n = o.readUInt32BE(0);
    }
    return Buffer.concat(parts);
  }
}

function varint(b: Buffer, at: number, limit: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= limit) fail('varint overruns its page');
    const byte = b.readUInt8(at + i);
    if (i === 8) return [v * 256 + byte, at + 9];
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [v, at + i + 1];
  }
  /* istanbul ignore next */
  return fail('unreachable');
}

/** Decodes a record (fileformat2 §2.1) into column values. */
function record(r: Buffer): Value[] {
  const [hlen, first] = varint(r, 0, r.length);
  if (hlen > r.length || hlen < first) fail('record header out of bounds');
  const types: number[] = [];
  for (let at = first; at < hlen;) {
    const [t, next] = varint(r, at, hlen);
    types.push(t);
    at = next;
  }
  const out: Value[] = [];
  let at = hlen;
  for (const t of types) {
    const len = t === 0 || t === 8 || t === 9 ? 0 : t <= 4 ? t : t === 5 ? 6 : t <= 7 ? 8 : t >= 12 ? Math.floor((t - 12) / 2) : fail(`reserved serial type ${t}`);
    if (at + len > r.length) fail('record body truncated');
    if (t === 0) out.push(null);
    else if (t === 8 || t === 9) out.push(t - 8);
    else if (t <= 6) out.push(len <= 6 ? r.readIntBE(at, len) : Number(r.readBigInt64BE(at)));
    else if (t === 7) out.push(r.readDoubleBE(at));
    else if (t % 2 === 0) out.push(r.subarray(at, at + len));
    else out.push(r.toString('utf8', at, at + len));
    at += len;
  }
  return out;
}

/** Reads every `blob` of table `Packages`. */
export function readSqliteBlobs(buf: Buffer): BlobsResult {
  const db = new Reader(buf);
  const errors: string[] = [];
  let root: number | undefined;
  db.walkTable(1, (payload) => {
    const row = record(payload);
    if (row[0] === 'table' && row[1] === 'Packages' && typeof row[3] === 'number') root = row[3];
  }, (msg) => errors.push(`sqlite_master: ${msg}`));
  if (root === undefined) fail('SQLite database has no Packages table');
  const blobs: Buffer[] = [];
  db.walkTable(root, (payload) => {
    const blob = record(payload).find((v): v is Buffer => Buffer.isBuffer(v));
    if (!blob) fail('Packages row has no blob column');
    blobs.push(blob);
  }, (msg) => errors.push(msg));
  return { blobs, errors };
}
