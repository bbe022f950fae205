import { isUtf8 } from 'node:buffer';
import { TarFormatError } from '../errors';

/**
 * Header-level decoding of tar blocks, shared by the streaming layer parser (./tar.ts) and the
 * seek-based indexer of image archives on disk (../registry/archive/tar-index.ts).
 *
 * Everything here works in place on a buffer and an offset (no copies, no closures), because the
 * layer parser calls it once or more per member on its hot path. Problems throw
 * {@link TarFormatError} carrying the header's byte offset; callers that report another error class
 * convert it.
 *
 * Formats: POSIX ustar, GNU (base-256 numbers; GNU tar manual "Extensions to the Archive Format"),
 * POSIX.1-2001 pax extended header records.
 */

/** Size of a tar block: every header and every padded body is a multiple of it. */
export const BLOCK = 512;

/**
 * Typeflags that never carry a body, whatever their size field says: hard links, symlinks, character
 * and block devices, directories and FIFOs (Go archive/tar `isHeaderOnlyType`, GNU tar).
 */
export const HEADER_ONLY: ReadonlySet<string> = new Set(['1', '2', '3', '4', '5', '6']);

/**
 * Verifies the header checksum (POSIX ustar `chksum`): the sum of all header bytes with the checksum
 * field taken as eight spaces. Old tars summed signed chars; GNU tar accepts either sum, and so do we.
 * The stored value must be an octal field (see {@link parseOctal}).
 *
 * The unsigned sum is computed four bytes at a time (two 16-bit lanes of byte pairs: a lane holds
 * at most 128 × 510 < 65536); the signed sum only when the unsigned one does not match.
 *
 * @param b - buffer holding the header block
 * @param at - offset of the block in `b`
 * @param pos - offset of the block in the archive, for error messages
 * @throws {@link TarFormatError} when the checksum field is not a number or matches neither sum
 */
export function verifyChecksum(b: Buffer, at: number, pos: number): void {
  const unsigned = unsignedChecksum(b, at);
  const stored = parseOctal(b, at + 148, 8);
  if (stored === undefined) throw new TarFormatError('tar header checksum field is not a number', pos);
  if (stored === unsigned) return;
  if (stored !== unsigned - 256 * highBytes(b, at)) {
    throw new TarFormatError(`tar header checksum mismatch (stored ${stored}, computed ${unsigned})`, pos);
  }
}

/**
 * True when `stored` equals the header's unsigned or signed checksum (see {@link verifyChecksum}),
 * for callers that parse the checksum field themselves.
 *
 * @param b - buffer holding the header block
 * @param at - offset of the block in `b`
 * @param stored - the value read from the checksum field
 */
export function checksumMatches(b: Buffer, at: number, stored: number): boolean {
  const unsigned = unsignedChecksum(b, at);
  return stored === unsigned || stored === unsigned - 256 * highBytes(b, at);
}

/** Unsigned header sum with the checksum field (148..155) counted as spaces. */
function unsignedChecksum(b: Buffer, at: number): number {
  const dv = new DataView(b.buffer, b.byteOffset + at, BLOCK);
  let lanes = 0;
  for (let i = 0; i < BLOCK; i += 4) {
    if (i === 148 || i === 152) continue; // the checksum field itself, counted as spaces below
    const w = dv.getUint32(i, true);
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  return (lanes & 0xffff) + (lanes >>> 16) + 8 * 0x20;
}

/** Header bytes ≥ 0x80 outside the checksum field: the signed sum is the unsigned one minus 256 each. */
function highBytes(b: Buffer, at: number): number {
  let high = 0;
  for (let i = at; i < at + BLOCK; i++) if (b[i] & 0x80 && (i < at + 148 || i >= at + 156)) high++;
  return high;
}

/**
 * Octal field: optional leading spaces/NULs, digits, then NUL or space. An all-blank field is 0.
 *
 * @returns the value, or `undefined` if the field is malformed
 */
export function parseOctal(b: Buffer, at: number, len: number): number | undefined {
  let i = at;
  const end = at + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else break;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return undefined;
  return digits === 0 ? 0 : v;
}

/**
 * A numeric header field: octal text ({@link parseOctal}), or GNU base-256 (first byte 0x80
 * positive, 0xff — or any first byte with bit 0x40 — negative, big-endian two's complement; GNU tar
 * manual "Extensions to the Archive Format"). A negative value (unless `allowNegative`, for mtime) or
 * one above 2^53 is a malformed header (RELIABILITY.md 14: a negative or overflowing size must never
 * become a huge skip or a backwards one).
 *
 * @param b - buffer holding the header block
 * @param at - offset of the field in `b`
 * @param len - field length in bytes
 * @param field - field name for error messages
 * @param pos - offset of the header in the archive, for error messages
 * @param allowNegative - accept negative base-256 values
 * @throws {@link TarFormatError} `negative base-256 <field>`, `base-256 <field> overflows 2^53`,
 *   `tar header <field> field is not a number` or `<field> overflows 2^53`
 */
export function parseNumber(b: Buffer, at: number, len: number, field: string, pos: number, allowNegative = false): number {
  const first = b[at];
  if (first & 0x80) {
    const negative = first === 0xff || (first & 0x40) !== 0;
    if (negative && !allowNegative) throw new TarFormatError(`negative base-256 ${field}`, pos);
    let v = 0;
    for (let i = 0; i < len; i++) {
      let c = i === 0 ? first & 0x7f : b[at + i];
      if (negative) c = (i === 0 ? ~first & 0x7f : ~b[at + i] & 0xff);
      v = v * 256 + c;
      if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`base-256 ${field} overflows 2^53`, pos);
    }
    return negative ? -(v + 1) : v;
  }
  const v = parseOctal(b, at, len);
  if (v === undefined) throw new TarFormatError(`tar header ${field} field is not a number`, pos);
  if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field} overflows 2^53`, pos);
  return v;
}

/**
 * pax extended header records, `"%d %s=%s\n"` (POSIX.1-2001 pax, "pax Extended Header"). A record
 * with an empty value deletes the keyword (the member falls back to its ustar field). Malformed
 * records are a malformed archive, as for GNU tar. For `x` headers (`local`) an empty value is kept
 * as a tombstone so that it also masks a `g` value of the same key. Keys decode as UTF-8, values with
 * {@link decodeBytes}; trailing NUL padding after the last record is ignored.
 *
 * @param buf - the extended header's body (exactly its size, without block padding)
 * @param pos - offset of the extended header in the archive, for error messages
 * @param into - map to add the records to (a new one if `undefined`); returned
 * @param local - `x` header semantics for empty values (keep) rather than `g` (delete)
 * @throws {@link TarFormatError} for a malformed record
 */
export function parsePax(buf: Buffer, pos: number, into: Map<string, string> | undefined, local: boolean): Map<string, string> {
  const m = into ?? new Map<string, string>();
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // padding NULs after the last record (some writers)
    const sp = buf.indexOf(0x20, i);
    if (sp < 0 || sp - i > 20) throw new TarFormatError('malformed pax record length', pos);
    const len = Number(buf.toString('latin1', i, sp));
    if (!Number.isSafeInteger(len) || len < 5 || i + len > buf.length || buf[i + len - 1] !== 0x0a) {
      throw new TarFormatError('malformed pax record', pos);
    }
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= i + len - 1) throw new TarFormatError('pax record without "="', pos);
    const key = buf.toString('utf8', sp + 1, eq);
    // Values are UTF-8 (or BINARY with hdrcharset); keep their exact bytes recoverable.
    const value = decodeBytes(buf, eq + 1, i + len - 1);
    if (value === '' && !local) m.delete(key);
    else m.set(key, value);
    i += len;
  }
  return m;
}

/**
 * A NUL-terminated name field (or a GNU `L`/`K` body), decoded with {@link decodeBytes}.
 *
 * @param b - buffer holding the field
 * @param at - offset of the field in `b`
 * @param len - field length: the name ends at the first NUL or here
 */
export function decodeName(b: Buffer, at: number, len: number): string {
  const limit = at + len;
  let end = at;
  let ascii = true;
  for (; end < limit; end++) {
    const c = b[end];
    if (c === 0) break;
    if (c & 0x80) ascii = false;
  }
  if (end === at) return '';
  return ascii ? b.toString('latin1', at, end) : decodeBytes(b, at, end);
}

/**
 * Bytes of a name as a string that keeps every distinct byte sequence distinct: ASCII and valid
 * UTF-8 decode as such; any other byte b becomes the lone surrogate U+DC00+b (Python's
 * "surrogateescape", PEP 383). A lone surrogate never results from decoding valid UTF-8, so two
 * different names never become the same key (RELIABILITY.md 8).
 */
export function decodeBytes(b: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (b[i] & 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return b.toString('latin1', start, end);
  const sub = b.subarray(start, end);
  if (isUtf8(sub)) return sub.toString('utf8');
  let out = '';
  let i = 0;
  while (i < sub.length) {
    const n = utf8SeqLen(sub, i);
    if (n > 0) {
      out += sub.toString('utf8', i, i + n);
      i += n;
    } else {
      out += String.fromCharCode(0xdc00 + sub[i]);
      i++;
    }
  }
  return out;
}

/** Length of a valid UTF-8 sequence starting at i, or 0. */
function utf8SeqLen(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  return isUtf8(b.subarray(i, i + n)) ? n : 0;
}

/**
 * A numeric header field read exactly as Go's archive/tar reads it (`parser.parseNumeric` in
 * archive/tar/strconv.go), because containerd — which builds the container's file system — reads
 * layers with it: base-256 when the first byte has bit 0x80 (bit 0x40 set = negative, two's
 * complement; more than 63 bits is an error), else octal text with spaces and NULs trimmed on both
 * sides and cut at the first inner NUL (`"12\0x"` is 12).
 *
 * @returns the value, or `undefined` where Go sets ErrHeader. Values beyond ±2^53 are `undefined`
 *   too (Go accepts them; nothing that large can be extracted, so refusing is the runtime's outcome).
 */
export function goNumeric(b: Buffer, at: number, len: number, wide = false): number | undefined {
  const first = b[at];
  if (first & 0x80) {
    const inv = first & 0x40 ? 0xff : 0;
    let v = 0n;
    for (let i = 0; i < len; i++) {
      let c = b[at + i] ^ inv;
      if (i === 0) c &= 0x7f;
      if (v >> 56n > 0n) return undefined; // Go: more than 63 bits
      v = (v << 8n) | BigInt(c);
    }
    if (v >> 63n > 0n) return undefined;
    const signed = inv ? -v - 1n : v;
    if (signed <= BigInt(Number.MAX_SAFE_INTEGER) && signed >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(signed);
    // Go accepts it; `wide` callers (mode, ids, times, device numbers) only need its low bits.
    return wide ? Number(BigInt.asIntN(32, signed)) : undefined;
  }
  return goOctal(b, at, len, wide);
}

/** Go's `parser.parseOctal`: trim `" \0"` both sides, cut at the first NUL, then base-8 digits only. */
export function goOctal(b: Buffer, at: number, len: number, wide = false): number | undefined {
  let s = at;
  let e = at + len;
  while (s < e && (b[s] === 0x20 || b[s] === 0)) s++;
  while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0)) e--;
  if (s === e) return 0;
  // The first NUL inside the field (a loop: Buffer.indexOf would search on to the chunk's end).
  for (let i = s; i < e; i++) {
    if (b[i] === 0) {
      e = i;
      break;
    }
  }
  if (s === e) return undefined; // ParseUint("") fails
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  if (e - s > 22 || (e - s === 22 && b[s] > 0x31)) return undefined; // ParseUint: beyond 64 bits
  if (v <= Number.MAX_SAFE_INTEGER) return v;
  return wide ? Number(BigInt.asIntN(32, BigInt(`0o${b.toString('latin1', s, e)}`))) : undefined;
}

/**
 * Go's `strconv.ParseInt(s, 10, 64)` for the decimal numbers of pax records and sparse maps: an
 * optional sign, then ASCII digits, within int64.
 *
 * @returns the value, or `undefined` where Go fails (or beyond ±2^53, see {@link goNumeric})
 */
export function goParseInt(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * pax extended header records parsed exactly as Go's archive/tar does (`parsePAX` and
 * `parsePAXRecord`): the whole body must be records (no NUL padding), a length is `ParseInt`
 * decimal ≥ 5, a key is non-empty without `=`, `path`/`linkpath`/`uname`/`gname` values and other
 * keys carry no NUL. Later records replace earlier ones; GNU sparse 0.0 `GNU.sparse.offset` /
 * `GNU.sparse.numbytes` pairs are folded into `GNU.sparse.map` (in order, no commas) as Go does.
 * Empty values are kept (they mean "keep the ustar field").
 *
 * @returns the records, or `undefined` where Go returns ErrHeader
 */
export function goParsePax(buf: Buffer): Map<string, string> | undefined {
  const m = new Map<string, string>();
  const sparse: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) return undefined;
    const n = goParseInt(buf.toString('latin1', i, sp));
    if (n === undefined || n < 5 || n > buf.length - i) return undefined;
    const end = i + n; // record is [i, end), its last byte the newline
    if (end - 1 <= sp || buf[end - 1] !== 0x0a) return undefined;
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end - 1) return undefined;
    const kb = buf.subarray(sp + 1, eq);
    const vb = buf.subarray(eq + 1, end - 1);
    const key = decodeBytes(buf, sp + 1, eq);
    if (key === '') return undefined;
    const nameKey = key === 'path' || key === 'linkpath' || key === 'uname' || key === 'gname';
    if (nameKey ? vb.includes(0) : kb.includes(0)) return undefined;
    const value = decodeBytes(buf, eq + 1, end - 1);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      const expectOffset = sparse.length % 2 === 0;
      if ((key === 'GNU.sparse.offset') !== expectOffset || value.includes(',')) return undefined;
      sparse.push(value);
    } else m.set(key, value);
    i = end;
  }
  if (sparse.length > 0) m.set('GNU.sparse.map', sparse.join(','));
  return m;
}
