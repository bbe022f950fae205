import { LimitExceededError, TarFormatError } from '../errors';
import type { Limits } from '../limits';
import { BLOCK, HEADER_ONLY, decodeName, parseNumber, parsePax, verifyChecksum } from './tar-header';

export { decodeBytes } from './tar-header';

/**
 * A streaming tar parser written for the layer reader: push chunks in, get one callback per member.
 *
 * Why our own and not a library: we need caps at the header level (entries, name bytes, extended
 * header bytes — RELIABILITY.md 13, 14, 15) and speed. Bodies nobody asked for are skipped by offset
 * arithmetic inside the chunks we are handed, without copying; only wanted bodies (up to a cap) are
 * copied out. Headers are parsed in place when a chunk holds a whole block.
 *
 * Formats (GNU tar manual, "Basic Tar Format" / "GNU tar formats"; POSIX.1-2001 pax):
 * - v7 / ustar / POSIX: `prefix` (offset 345) + `/` + `name` when the magic is `ustar\0`;
 * - GNU: long names `L`, long link names `K`, base-256 numbers, old sparse `S` with extension blocks;
 * - pax: `x` (next member) and `g` (all later members) records; `path`, `linkpath`, `size`, `uid`,
 *   `gid`, `mtime` are applied, other records are kept in a small map; GNU sparse 0.x/1.0 keys.
 *
 * Which types carry a body follows Go's archive/tar (`isHeaderOnlyType`): links, devices, FIFOs and
 * directories never do, whatever their size field says. containerd, which builds the container's
 * file system, uses Go's reader; reading the same bytes the same way leaves no room for an entry
 * that the runtime sees but the scanner does not.
 */

/** Kind of a tar member after format details are folded away. */
export type TarEntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

/** One member's header, with extended headers applied. */
export interface TarHeader {
  /** The member's name exactly as stored (not normalised); see paths.ts for the canonical path. */
  readonly name: string;
  /** Link target for symlinks and hardlinks (empty otherwise). */
  readonly linkname: string;
  readonly kind: TarEntryKind;
  /** The typeflag byte as a character (`0`, `5`, `S`, …; NUL for old regular files). */
  readonly typeflag: string;
  /** Body bytes in the archive. */
  readonly size: number;
  /** Size of the file it stands for: differs from `size` only for sparse files. */
  readonly realSize: number;
  /** True for GNU sparse files (old `S` or pax GNU.sparse.*): the body is not the file's bytes. */
  readonly sparse: boolean;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch (may be negative in GNU base-256). */
  readonly mtime: number;
  /** pax records other than the ones folded into the fields above (`x` and `g` merged). */
  readonly pax: Readonly<Record<string, string>> | undefined;
  /** Byte offset of the member's header block in the uncompressed stream. */
  readonly offset: number;
}

/** What the parser calls back. */
export interface TarHandler {
  /**
   * Called once per member, in archive order. Returns how many leading body bytes to capture
   * (0 — the usual answer — skips the body without copying it).
   */
  onEntry(header: TarHeader): number;
  /** Called after a member whose body was requested, with the captured bytes (a fresh buffer). */
  onBody?(header: TarHeader, body: Buffer): void;
}

/** The caps the parser enforces. */
export type TarLimits = Pick<Limits, 'maxEntries' | 'maxPathBytes' | 'maxHeaderBytes'>;

const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** Extended headers (x, g, L, K) in a row before one member; real archives use at most three. */
const MAX_META_RUN = 16;

const enum State {
  Header,
  Body,
  SparseExt,
  /** One zero block seen: the next block must be zero too (or the stream ends). */
  Zero1,
  Done,
}

const enum Meta {
  None,
  PaxLocal,
  PaxGlobal,
  LongName,
  LongLink,
}

/**
 * Push-style tar parser. Feed it with {@link write}, finish with {@link end}. Stream-level problems
 * (bad checksum, truncation, bad numbers, caps) throw {@link TarFormatError} /
 * {@link LimitExceededError}; once one is thrown the parser must be discarded.
 */
export class TarParser {
  /** Members seen (extended headers and the volume label are not members). */
  entryCount = 0;
  /** True once the end-of-archive marker was read. */
  get ended(): boolean {
    return this.state === State.Done;
  }
  /** True when non-zero bytes followed the end-of-archive marker (ignored by tar; reported by callers). */
  trailingData = false;

  private state = State.Header;
  /** Bytes of the stream consumed before the current chunk. */
  private base = 0;
  private readonly hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  /** Body bytes (including padding) still to pass for the current member or extended header. */
  private remaining = 0;
  private capture: Buffer | undefined;
  private captureFill = 0;
  private captureLeft = 0;
  private meta = Meta.None;
  private metaRun = 0;
  private current: TarHeader | undefined;
  private pendingSparse: TarHeader | undefined;
  private sparseExtBlocks = 0;
  // Extended-header state for the next member.
  private longName: string | undefined;
  private longLink: string | undefined;
  private paxLocal: Map<string, string> | undefined;
  private paxGlobal: Map<string, string> | undefined;
  private paxGlobalBytes = 0;

  constructor(private readonly limits: TarLimits, private readonly handler: TarHandler) {}

  /** Parses one chunk. The chunk is not retained after the call returns. */
  write(chunk: Buffer): void {
    const len = chunk.length;
    let off = 0;
    while (off < len) {
      switch (this.state) {
        case State.Header:
        case State.SparseExt:
        case State.Zero1: {
          let block: Buffer;
          let at: number;
          if (this.hdrFill === 0 && len - off >= BLOCK) {
            block = chunk;
            at = off;
            off += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.hdrFill, len - off);
            chunk.copy(this.hdr, this.hdrFill, off, off + n);
            this.hdrFill += n;
            off += n;
            if (this.hdrFill < BLOCK) break;
            this.hdrFill = 0;
            block = this.hdr;
            at = 0;
          }
          const pos = this.base + off - BLOCK;
          if (this.state === State.Header) this.header(block, at, pos);
          else if (this.state === State.SparseExt) this.sparseExtension(block, at);
          else this.secondZero(block, at, pos);
          break;
        }
        case State.Body: {
          const n = Math.min(this.remaining, len - off);
          if (this.captureLeft > 0) {
            const c = Math.min(this.captureLeft, n);
            chunk.copy(this.capture as Buffer, this.captureFill, off, off + c);
            this.captureFill += c;
            this.captureLeft -= c;
          }
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.bodyDone();
          break;
        }
        case State.Done: {
          if (!this.trailingData && !isZero(chunk, off, len)) this.trailingData = true;
          off = len;
          break;
        }
      }
    }
    this.base += len;
  }

  /**
   * Declares the end of the stream. Ending at a block boundary without the end-of-archive marker, or
   * after a single zero block, is accepted as GNU tar and Go's archive/tar accept it; ending inside a
   * header or a body is a truncated archive (RELIABILITY.md 14).
   */
  end(): void {
    if (this.state === State.Done || this.state === State.Zero1) {
      this.state = State.Done;
      return;
    }
    if (this.state === State.Header && this.hdrFill === 0 && this.meta === Meta.None && !this.pendingExtended()) {
      this.state = State.Done;
      return;
    }
    throw new TarFormatError('truncated tar archive: stream ended inside a member', this.base);
  }

  private pendingExtended(): boolean {
    return this.longName !== undefined || this.longLink !== undefined || this.paxLocal !== undefined;
  }

  private header(b: Buffer, at: number, pos: number): void {
    if (b[at] === 0 && b.compare(ZERO_BLOCK, 0, BLOCK, at, at + BLOCK) === 0) {
      if (this.pendingExtended()) throw new TarFormatError('extended header not followed by a member', pos);
      this.state = State.Zero1;
      return;
    }
    verifyChecksum(b, at, pos);
    const typeflag = String.fromCharCode(b[at + 156]);
    const size = parseNumber(b, at + 124, 12, 'size', pos);
    switch (typeflag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        this.extendedHeader(typeflag, size, pos);
        return;
      case 'V': // GNU volume label: not a member; skip its (normally empty) body.
        this.skipBody(size);
        return;
      default:
        break;
    }
    this.metaRun = 0;
    if (++this.entryCount > this.limits.maxEntries) {
      throw new LimitExceededError('maxEntries', this.limits.maxEntries, `tar has more than ${this.limits.maxEntries} entries`);
    }
    // POSIX ustar magic `ustar\0` (GNU's is `ustar  \0` and has no prefix field).
    const ustar = b[at + 257] === 0x75 && b[at + 258] === 0x73 && b[at + 259] === 0x74 && b[at + 260] === 0x61 && b[at + 261] === 0x72 && b[at + 262] === 0;
    let name = decodeName(b, at, 100);
    if (ustar && b[at + 345] !== 0) name = `${decodeName(b, at + 345, 155)}/${name}`;
    let linkname = decodeName(b, at + 157, 100);
    let mode = parseNumber(b, at + 100, 8, 'mode', pos);
    let uid = parseNumber(b, at + 108, 8, 'uid', pos);
    let gid = parseNumber(b, at + 116, 8, 'gid', pos);
    let mtime = parseNumber(b, at + 136, 12, 'mtime', pos, true);
    let bodySize = size;
    let realSize = size;
    let sparse = false;
    let extra: Record<string, string> | undefined;

    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    const pax = this.paxGlobal || this.paxLocal ? mergePax(this.paxGlobal, this.paxLocal) : undefined;
    if (pax) {
      for (const [k, v] of pax) {
        if (v === '') continue; // deleted by an x record: the ustar field stands
        switch (k) {
          case 'path':
            name = v;
            break;
          case 'linkpath':
            linkname = v;
            break;
          case 'size':
            bodySize = realSize = paxNumber(v, k, pos);
            break;
          case 'uid':
            uid = paxNumber(v, k, pos);
            break;
          case 'gid':
            gid = paxNumber(v, k, pos);
            break;
          case 'mtime':
            mtime = Math.trunc(Number(v)) || 0;
            break;
          default:
            (extra ??= {})[k] = v;
        }
      }
      // GNU sparse in pax form (GNU tar manual, "Storing Sparse Files"): 0.0/0.1 keep the name in
      // `path`, 1.0 stores it in GNU.sparse.name and prepends a sparse map to the body.
      if (extra && ('GNU.sparse.realsize' in extra || 'GNU.sparse.size' in extra || 'GNU.sparse.major' in extra)) {
        sparse = true;
        if (extra['GNU.sparse.name'] !== undefined) name = extra['GNU.sparse.name'];
        const real = extra['GNU.sparse.realsize'] ?? extra['GNU.sparse.size'];
        if (real !== undefined) realSize = paxNumber(real, 'GNU.sparse.realsize', pos);
      }
    }
    this.longName = this.longLink = this.paxLocal = undefined;
    checkNameBytes(name, this.limits, pos);
    checkNameBytes(linkname, this.limits, pos);

    let kind: TarEntryKind;
    switch (typeflag) {
      case '0':
      case '7': // contiguous file: a regular file everywhere but on Masscomp
        kind = 'file';
        break;
      case '\0': // old regular file; a trailing slash meant a directory (Go archive/tar TypeRegA)
        kind = name.endsWith('/') ? 'dir' : 'file';
        break;
      case '1':
        kind = 'hardlink';
        break;
      case '2':
        kind = 'symlink';
        break;
      case '3':
        kind = 'char';
        break;
      case '4':
        kind = 'block';
        break;
      case '5':
      case 'D': // GNU dumpdir: a directory whose body lists its contents
        kind = 'dir';
        break;
      case '6':
        kind = 'fifo';
        break;
      case 'S': {
        // Old GNU sparse (GNU tar manual, "Old GNU Format"): the size field counts the stored data
        // only; the real size is at offset 483. The real size is metadata: nothing is preallocated
        // (RELIABILITY.md 15). Extension blocks (isextended at 482) precede the data.
        kind = 'file';
        sparse = true;
        if (!pax?.has('GNU.sparse.realsize')) realSize = parseNumber(b, at + 483, 12, 'sparse realsize', pos);
        if (b[at + 482] !== 0) {
          this.pendingSparse = { name, linkname, kind, typeflag, size: bodySize, realSize, sparse, mode, uid, gid, mtime, pax: extra, offset: pos };
          this.sparseExtBlocks = 0;
          this.state = State.SparseExt;
          return;
        }
        break;
      }
      default:
        kind = 'other';
    }
    if (HEADER_ONLY.has(typeflag)) bodySize = 0;
    if (kind !== 'file') realSize = bodySize;
    mode &= 0o7777777;
    this.member({ name, linkname, kind, typeflag, size: bodySize, realSize, sparse, mode, uid, gid, mtime, pax: extra, offset: pos });
  }

  private member(h: TarHeader): void {
    const want = Math.min(this.handler.onEntry(h), h.size);
    if (want > 0 && !h.sparse) {
      this.current = h;
      this.capture = Buffer.allocUnsafe(want);
      this.captureFill = 0;
      this.captureLeft = want;
    }
    this.skipBody(h.size);
  }

  private sparseExtension(b: Buffer, at: number): void {
    // Each extension block holds 21 (offset, numbytes) pairs and an isextended flag at 504.
    if (++this.sparseExtBlocks * BLOCK > this.limits.maxHeaderBytes) {
      throw new LimitExceededError('maxHeaderBytes', this.limits.maxHeaderBytes, 'GNU sparse map too large');
    }
    if (b[at + 504] !== 0) return;
    const h = this.pendingSparse as TarHeader;
    this.pendingSparse = undefined;
    this.state = State.Header;
    this.member(h);
  }

  private secondZero(b: Buffer, at: number, pos: number): void {
    if (b.compare(ZERO_BLOCK, 0, BLOCK, at, at + BLOCK) === 0) {
      this.state = State.Done;
      return;
    }
    // Go's archive/tar (and so containerd) rejects a lone zero block followed by a header; GNU tar
    // stops at it with a warning. Either way the rest is not part of the archive: refuse it rather
    // than let a member hide behind a marker some readers honour and others skip.
    throw new TarFormatError('a lone zero block is followed by more data', pos);
  }

  private extendedHeader(typeflag: string, size: number, pos: number): void {
    if (++this.metaRun > MAX_META_RUN) throw new TarFormatError('too many extended headers before one member', pos);
    if (size > this.limits.maxHeaderBytes) {
      throw new LimitExceededError('maxHeaderBytes', this.limits.maxHeaderBytes, `extended header '${typeflag}' of ${size} bytes`);
    }
    this.meta = typeflag === 'x' ? Meta.PaxLocal : typeflag === 'g' ? Meta.PaxGlobal : typeflag === 'L' ? Meta.LongName : Meta.LongLink;
    this.current = { name: '', linkname: '', kind: 'other', typeflag, size, realSize: size, sparse: false, mode: 0, uid: 0, gid: 0, mtime: 0, pax: undefined, offset: pos };
    this.capture = Buffer.allocUnsafe(size);
    this.captureFill = 0;
    this.captureLeft = size;
    this.skipBody(size);
  }

  private skipBody(size: number): void {
    const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (padded === 0) {
      this.state = State.Header;
      this.bodyDone();
      return;
    }
    this.remaining = padded;
    this.state = State.Body;
  }

  private bodyDone(): void {
    this.state = State.Header;
    const cap = this.capture;
    if (cap === undefined) return;
    const h = this.current as TarHeader;
    this.capture = this.current = undefined;
    const meta = this.meta;
    this.meta = Meta.None;
    switch (meta) {
      case Meta.None:
        this.handler.onBody?.(h, cap);
        return;
      case Meta.LongName:
        this.longName = decodeName(cap, 0, cap.length);
        return;
      case Meta.LongLink:
        this.longLink = decodeName(cap, 0, cap.length);
        return;
      case Meta.PaxLocal:
        this.paxLocal = parsePax(cap, h.offset, this.paxLocal, true);
        return;
      case Meta.PaxGlobal: {
        this.paxGlobalBytes += cap.length;
        if (this.paxGlobalBytes > this.limits.maxHeaderBytes) {
          throw new LimitExceededError('maxHeaderBytes', this.limits.maxHeaderBytes, 'global pax headers too large');
        }
        this.paxGlobal = parsePax(cap, h.offset, this.paxGlobal, false);
        return;
      }
    }
  }
}

function isZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i += BLOCK) {
    const end = Math.min(i + BLOCK, to);
    if (b.compare(ZERO_BLOCK, 0, end - i, i, end) !== 0) return false;
  }
  return true;
}

function checkNameBytes(s: string, limits: TarLimits, pos: number): void {
  // A UTF-16 length bounds the UTF-8 byte length from below; only long names need the exact count.
  if (s.length * 3 <= limits.maxPathBytes) return;
  if (Buffer.byteLength(s) > limits.maxPathBytes) {
    throw new LimitExceededError('maxPathBytes', limits.maxPathBytes, `tar entry name of ${Buffer.byteLength(s)} bytes at byte ${pos}`);
  }
}

function paxNumber(v: string, key: string, pos: number): number {
  if (!/^[0-9]{1,16}$/.test(v)) throw new TarFormatError(`pax ${key} is not a non-negative integer: ${JSON.stringify(v.slice(0, 40))}`, pos);
  const n = Number(v);
  if (n > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`pax ${key} overflows 2^53`, pos);
  return n;
}

function mergePax(global: Map<string, string> | undefined, local: Map<string, string> | undefined): Map<string, string> {
  if (!global) return local as Map<string, string>;
  if (!local) return global;
  const m = new Map(global);
  for (const [k, v] of local) m.set(k, v);
  return m;
}
