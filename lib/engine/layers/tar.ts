import { LimitExceededError, TarFormatError } from '../errors';
import type { Limits } from '../limits';
import { canonicalPath } from './paths';
import { RuntimeModel } from './runtime-model';
import { BLOCK, checksumMatches, decodeName, goNumeric, goOctal, goParseInt, goParsePax } from './tar-header';

export { decodeBytes } from './tar-header';

/**
 * A streaming tar parser written for the layer reader: push chunks in, get one callback per member.
 *
 * Why our own and not a library: we need caps at the header level (entries, name bytes, extended
 * header bytes — RELIABILITY.md 13, 14, 15) and speed. Bodies nobody asked for are skipped by offset
 * arithmetic inside the chunks we are handed, without copying; only wanted bodies (up to a cap) are
 * copied out. Headers are parsed in place when a chunk holds a whole block.
 *
 * The archive is read exactly as Go's archive/tar reads it (`Reader.Next` in archive/tar/reader.go,
 * Go 1.19 as Debian ships it), because containerd, moby, CRI-O and umoci build the container's file
 * system with that reader (RELIABILITY.md 49–51, 54, 58; test/engine/layers/differential.test.ts
 * checks it against a Go witness):
 * - a header is accepted when its checksum matches (unsigned or signed sum); every numeric field of
 *   every header — extended ones included — must parse (Go `parseNumeric`: base-256, or octal text
 *   trimmed of spaces/NULs and cut at the first inner NUL);
 * - `prefix` + `/` + `name` for ustar (`ustar\0`) and star headers; GNU headers (`ustar  \0`) have
 *   none, except when their atime/ctime fields do not parse (pre-Go 1.8 writers, Go issue 12594);
 * - pax `x`: the LAST `x` before a member is its record set (an `x` replaces, never merges); `g`
 *   (global) records are never applied to any member (Go returns them as a header of their own,
 *   containerd logs and ignores it); a record with an empty value keeps the ustar field;
 * - name precedence: ustar name, then pax `path`, then a non-empty GNU long name `L` (the long name
 *   wins over pax), then `GNU.sparse.name` for pax sparse files;
 * - sparse files in every form Go supports — old GNU `S` (with extension blocks), pax 0.0
 *   (`GNU.sparse.offset`/`numbytes`), 0.1 (`GNU.sparse.map`) and 1.0 (map at the start of the
 *   body) — are materialised: {@link TarHandler.onData} sees the logical file, holes as zeros. A
 *   map Go rejects, or data that does not fill the map exactly, is a {@link TarFormatError};
 * - a zero block followed by a non-zero block, a truncated member, a bad checksum: refused;
 *   data after the two end-of-archive blocks is never read (only flagged in {@link trailingData}).
 *
 * Which types carry a body follows Go's `isHeaderOnlyType`: links, devices, FIFOs and directories
 * (including an old `\0` regular file whose name ends in `/`) never do, whatever their size says.
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
  /** Body bytes in the archive (for a pax 1.0 sparse file, its map blocks included). */
  readonly size: number;
  /** Bytes of the file it stands for (the logical size): differs from `size` only for sparse files. */
  readonly realSize: number;
  /** True for GNU sparse files (old `S` or pax GNU.sparse.*): the body is not the file's bytes. */
  readonly sparse: boolean;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch (may be negative in GNU base-256). */
  readonly mtime: number;
  /** pax records of the member's `x` header other than the ones folded into the fields above. */
  readonly pax: Readonly<Record<string, string>> | undefined;
  /** Byte offset of the member's header block in the uncompressed stream. */
  readonly offset: number;
}

/** What the parser calls back. */
export interface TarHandler {
  /**
   * Called once per member, in archive order. Returns how many leading bytes of the file's logical
   * content to capture (0 — the usual answer — skips the body without copying it). Sparse files are
   * captured as their logical content (holes as zeros), like {@link onData} sees them.
   */
  onEntry(header: TarHeader): number;
  /** Called after a member whose body was requested, with the captured bytes (a fresh buffer). */
  onBody?(header: TarHeader, body: Buffer): void;
  /**
   * Called, in order, with every byte of the logical content of every regular-file member (kind
   * `file`): sparse files materialised, holes as zeros in chunks of at most 64 KiB; the chunks add
   * up to `header.realSize`. A chunk may be a view into the input (or a shared zero buffer): copy
   * what you keep.
   */
  onData?(header: TarHeader, chunk: Buffer): void;
  /** Called after the last content byte of each regular-file member (also for empty ones). */
  onEnd?(header: TarHeader): void;
}

/** The caps the parser enforces. `maxLayerBytes` also bounds the zeros of sparse holes. */
export type TarLimits = Pick<Limits, 'maxEntries' | 'maxPathBytes' | 'maxHeaderBytes'> & Partial<Pick<Limits, 'maxLayerBytes'>>;

const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** Shared zeros for sparse holes: never written to. */
const HOLE = Buffer.alloc(64 * 1024);
/** Extended headers (x, L, K) in a row before one member; real archives use at most three. */
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

/** Typeflags Go never reads a body for (`isHeaderOnlyType`). */
function headerOnly(typeflag: string): boolean {
  return typeflag >= '1' && typeflag <= '6';
}

/**
 * Push-style tar parser. Feed it with {@link write}, finish with {@link end}. Stream-level problems
 * (bad checksum, truncation, bad numbers, caps) throw {@link TarFormatError} /
 * {@link LimitExceededError}; once one is thrown the parser must be discarded.
 */
export class TarParser {
  /** Hardlink targets this layer expects from lower layers (see RuntimeModel.lowerLinks). */
  get lowerLinks(): readonly string[] {
    return this.model?.lowerLinks ?? [];
  }
  /**
   * During {@link TarHandler.onEntry}: the paths the runtime removes because this member replaces a
   * directory that held them (containerd removes the existing path unless both are directories).
   */
  get removedBeneath(): readonly string[] {
    return this.model?.removedBeneath ?? [];
  }
  /**
   * During {@link TarHandler.onEntry}: the member's canonical path (paths.ts `canonicalPath` of
   * `header.name`, `undefined` for an empty or NUL-bearing name), computed once per member for the
   * runtime model and the handler alike, so both key the path by the same string.
   */
  canonicalName: string | undefined;
  /** Members seen (extended headers are not members). */
  entryCount = 0;
  /** True once the end-of-archive marker was read. */
  get ended(): boolean {
    return this.state === State.Done;
  }
  /**
   * True when non-zero bytes followed the end-of-archive marker. Go's reader (and so the runtime)
   * never reads them; callers report them as a note.
   */
  trailingData = false;

  private state = State.Header;
  /** Bytes of the stream consumed before the current chunk. */
  private base = 0;
  private readonly hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  /** Body bytes (including padding) still to pass for the current member or extended header. */
  private remaining = 0;
  /** Of those, content bytes (without padding). */
  private contentLeft = 0;
  private meta = Meta.None;
  private metaRun = 0;
  private metaBuf: Buffer | undefined;
  private metaFill = 0;
  private metaPos = 0;
  // The regular-file member whose content is passing.
  private file: TarHeader | undefined;
  private capture: Buffer | undefined;
  private captureFill = 0;
  /** Logical position in the file. */
  private lpos = 0;
  /** Sparse data regions `[offset, length, …]` (non-empty ones), or undefined for a dense file. */
  private segs: number[] | undefined;
  private seg = 0;
  private segLeft = 0;
  /** PAX 1.0: map blocks being read from the start of the body. */
  private mapBlocks: Buffer[] | undefined;
  private mapFill = 0;
  private holeBytes = 0;
  /** The runtime reads the current file's body: Go's sparse data checks apply. */
  private strict = true;
  // Old GNU sparse: the member waiting for its extension blocks.
  private pendingSparse: TarHeader | undefined;
  private pendingMap: number[] = [];
  private sparseExtBlocks = 0;
  // Extended-header state for the next member.
  private longName: string | undefined;
  private longLink: string | undefined;
  private paxLocal: Map<string, string> | undefined;
  private paxGlobalBytes = 0;

  private readonly model: RuntimeModel | undefined;

  /**
   * @param options.runtime - refuse (TarFormatError) what containerd's applier refuses (see
   *   runtime-model.ts); on by default — a layer the runtime will not apply is never judged. Off
   *   only to list archives that are not layers.
   */
  constructor(private readonly limits: TarLimits, private readonly handler: TarHandler, options: { readonly runtime?: boolean } = {}) {
    this.model = options.runtime === false ? undefined : new RuntimeModel();
  }

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
          else if (this.state === State.SparseExt) this.sparseExtension(block, at, pos);
          else this.secondZero(block, at, pos);
          break;
        }
        case State.Body: {
          const n = Math.min(this.remaining, len - off);
          const c = Math.min(n, this.contentLeft);
          if (c > 0) {
            this.contentLeft -= c;
            if (this.meta !== Meta.None) {
              chunk.copy(this.metaBuf as Buffer, this.metaFill, off, off + c);
              this.metaFill += c;
            } else if (this.file) this.feed(chunk, off, off + c);
            if (this.contentLeft === 0) this.contentDone();
          }
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Header;
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
   * Declares the end of the stream, where Go's reader would: at a block boundary between members
   * (with or without the end-of-archive marker, after one zero block, even after extended headers
   * that then name nothing), and inside the padding after a member's content (Go reads padding with
   * `tryReadFull` and takes its EOF as the end). Ending inside a header block or inside a member's
   * content is a truncated archive (RELIABILITY.md 14, 54).
   */
  end(): void {
    if (this.state === State.Done) return;
    const atBoundary = (this.state === State.Header || this.state === State.Zero1) && this.hdrFill === 0;
    const inPadding = this.state === State.Body && this.contentLeft === 0;
    if (atBoundary || inPadding) {
      this.state = State.Done;
      return;
    }
    throw new TarFormatError('truncated tar archive: stream ended inside a member', this.base);
  }

  private header(b: Buffer, at: number, pos: number): void {
    if (b[at] === 0 && b.compare(ZERO_BLOCK, 0, BLOCK, at, at + BLOCK) === 0) {
      // Go reads the next block; EOF there is a clean end even after extended headers (they are lost).
      this.metaRun = 0;
      this.longName = this.longLink = this.paxLocal = undefined;
      this.state = State.Zero1;
      return;
    }
    // Go `getFormat`: the checksum field is octal text matching the unsigned or signed sum.
    const stored = goOctal(b, at + 148, 8);
    if (stored === undefined || !checksumMatches(b, at, stored)) throw new TarFormatError('tar header checksum mismatch', pos);
    const ustarMagic = b[at + 257] === 0x75 && b[at + 258] === 0x73 && b[at + 259] === 0x74 && b[at + 260] === 0x61 && b[at + 261] === 0x72;
    const ustar = ustarMagic && b[at + 262] === 0;
    const star = ustar && b[at + 508] === 0x74 && b[at + 509] === 0x61 && b[at + 510] === 0x72 && b[at + 511] === 0;
    const gnu = ustarMagic && b[at + 262] === 0x20 && b[at + 263] === 0x20 && b[at + 264] === 0;
    // Go `readHeader` parses every numeric field of every header; one bad field refuses it.
    const size = num(b, at + 124, 12, 'size', pos);
    let mode = num(b, at + 100, 8, 'mode', pos);
    let uid = num(b, at + 108, 8, 'uid', pos);
    let gid = num(b, at + 116, 8, 'gid', pos);
    let mtime = num(b, at + 136, 12, 'mtime', pos);
    let prefix = '';
    let devOk = true;
    if (ustar || gnu) {
      const major = num(b, at + 329, 8, 'devmajor', pos);
      const minor = num(b, at + 337, 8, 'devminor', pos);
      devOk = major >= 0 && major <= 0xffffffff && minor >= 0 && minor <= 0xffffffff;
    }
    if (star) {
      prefix = decodeName(b, at + 345, 131);
      num(b, at + 476, 12, 'atime', pos);
      num(b, at + 488, 12, 'ctime', pos);
    } else if (ustar) {
      prefix = decodeName(b, at + 345, 155);
    } else if (gnu) {
      // Pre-Go 1.8 writers put a prefix where GNU keeps atime/ctime (Go issue 12594).
      const bad = (b[at + 345] !== 0 && goNumeric(b, at + 345, 12) === undefined) || (b[at + 357] !== 0 && goNumeric(b, at + 357, 12) === undefined);
      if (bad) {
        const s = decodeName(b, at + 345, 155);
        if (!/[^\x00-\x7f]/.test(s)) prefix = s;
      }
    }
    const rawType = String.fromCharCode(b[at + 156]);
    // Go `handleRegularFile` on the raw header: a negative size is refused unless header-only.
    if (size < 0 && !headerOnly(rawType)) throw new TarFormatError('negative tar size', pos);
    switch (rawType) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        this.extendedHeader(rawType, size, pos);
        return;
      default:
        break;
    }
    this.metaRun = 0;
    if (++this.entryCount > this.limits.maxEntries) {
      throw new LimitExceededError('maxEntries', this.limits.maxEntries, `tar has more than ${this.limits.maxEntries} entries`);
    }
    let name = decodeName(b, at, 100);
    if (prefix !== '') name = `${prefix}/${name}`;
    let linkname = decodeName(b, at + 157, 100);
    let bodySize = size;
    let extra: Record<string, string> | undefined;

    const pax = this.paxLocal;
    if (pax) {
      // Go `mergePAX`.
      for (const [k, v] of pax) {
        if (v === '') continue; // the ustar field stands
        switch (k) {
          case 'path':
            name = v;
            break;
          case 'linkpath':
            linkname = v;
            break;
          case 'size':
            bodySize = paxInt(v, k, pos);
            break;
          case 'uid':
            uid = paxInt(v, k, pos);
            break;
          case 'gid':
            gid = paxInt(v, k, pos);
            break;
          case 'mtime':
            mtime = paxTime(v, k, pos);
            break;
          case 'atime':
          case 'ctime':
            paxTime(v, k, pos);
            (extra ??= {})[k] = v;
            break;
          default:
            (extra ??= {})[k] = v;
        }
      }
    }
    // A non-empty GNU long name / link wins over pax (Go applies them after mergePAX).
    if (this.longName) name = this.longName;
    if (this.longLink) linkname = this.longLink;
    this.longName = this.longLink = this.paxLocal = undefined;

    let kind: TarEntryKind;
    let typeflag = rawType;
    switch (rawType) {
      case '0':
      case '7': // contiguous file: a regular file everywhere but on Masscomp
      case 'S':
        kind = 'file';
        break;
      case '\0': // old regular file; a trailing slash meant a directory (Go archive/tar TypeRegA)
        kind = name.endsWith('/') ? 'dir' : 'file';
        if (kind === 'dir') typeflag = '5';
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
      default:
        kind = 'other';
    }
    if (headerOnly(typeflag)) bodySize = 0;
    else if (bodySize < 0) throw new TarFormatError('negative tar size', pos);
    mode = mode & 0o7777777;

    // Sparse files (Go `handleSparseFile`).
    let realSize = bodySize;
    let map: number[] | undefined;
    let map1 = false;
    if (rawType === 'S') {
      // Old GNU sparse (GNU tar manual, "Old GNU Format"): realsize at 483, four (offset, numbytes)
      // pairs at 386, isextended at 482, then 512-byte extension blocks of 21 pairs before the data.
      if (!gnu) throw new TarFormatError('old GNU sparse header without the GNU magic', pos);
      realSize = num(b, at + 483, 12, 'sparse realsize', pos);
      map = [];
      readSparsePairs(b, at + 386, 4, map, pos);
      if (b[at + 482] !== 0) {
        this.pendingSparse = { name, linkname, kind, typeflag, size: bodySize, realSize, sparse: true, mode, uid, gid, mtime, pax: extra, offset: pos };
        this.pendingMap = map;
        this.sparseExtBlocks = 0;
        this.state = State.SparseExt;
        return;
      }
    } else if (pax) {
      const major = pax.get('GNU.sparse.major') ?? '';
      const minor = pax.get('GNU.sparse.minor') ?? '';
      let version: '0' | '1' | undefined;
      if (major === '0' && (minor === '0' || minor === '1')) version = '0';
      else if (major === '1' && minor === '0') version = '1';
      else if (major === '' && minor === '' && (pax.get('GNU.sparse.map') ?? '') !== '') version = '0';
      if (version !== undefined) {
        const sname = pax.get('GNU.sparse.name') ?? '';
        if (sname !== '') name = sname;
        const sz = pax.get('GNU.sparse.size') || pax.get('GNU.sparse.realsize') || '';
        if (sz !== '') {
          const n = goParseInt(sz);
          if (n === undefined) throw new TarFormatError('GNU.sparse size is not a number', pos);
          realSize = n;
        }
        if (headerOnly(typeflag)) throw new TarFormatError('sparse map on a header-only member', pos);
        if (version === '1') map1 = true;
        else map = sparseMap01(pax, pos);
      }
    }
    if (map || map1) {
      if (realSize < 0) throw new TarFormatError('negative sparse file size', pos);
      if (map) validateSparse(map, realSize, pos);
    }
    const h: TarHeader = { name, linkname, kind, typeflag, size: bodySize, realSize, sparse: map !== undefined || map1, mode, uid, gid, mtime, pax: extra, offset: pos };
    // containerd `handleTarTypeBlockCharFifo`: a device number that does not fit 32 bits.
    if (!devOk && this.model && (typeflag === '3' || typeflag === '4' || typeflag === '6')) {
      throw new TarFormatError(`the container runtime refuses this layer: device number out of range (member ${JSON.stringify(name)})`, pos);
    }
    this.member(h, map, map1);
  }

  private member(h: TarHeader, map: number[] | undefined, map1: boolean): void {
    checkNameBytes(h.name, this.limits, h.offset);
    checkNameBytes(h.linkname, this.limits, h.offset);
    const canonical = canonicalPath(h.name);
    this.canonicalName = canonical;
    this.strict = this.model ? this.model.member(h, canonical) : true;
    const want = Math.max(0, Math.min(this.handler.onEntry(h), h.realSize));
    if (h.kind === 'file') {
      this.file = h;
      this.capture = want > 0 ? Buffer.allocUnsafe(want) : undefined;
      this.captureFill = 0;
      this.lpos = 0;
      this.segs = undefined;
      this.mapBlocks = undefined;
      if (map1) {
        this.mapBlocks = [];
        this.mapFill = 0;
      } else if (map) this.startSegments(map);
    }
    this.skipBody(h.size);
  }

  /** Old GNU sparse extension block: 21 (offset, numbytes) pairs, isextended at 504. */
  private sparseExtension(b: Buffer, at: number, pos: number): void {
    if (++this.sparseExtBlocks * BLOCK > this.limits.maxHeaderBytes) {
      throw new LimitExceededError('maxHeaderBytes', this.limits.maxHeaderBytes, 'GNU sparse map too large');
    }
    readSparsePairs(b, at, 21, this.pendingMap, pos);
    if (b[at + 504] !== 0) return;
    const h = this.pendingSparse as TarHeader;
    this.pendingSparse = undefined;
    this.state = State.Header;
    validateSparse(this.pendingMap, h.realSize, h.offset);
    this.member(h, this.pendingMap, false);
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
    this.metaBuf = Buffer.allocUnsafe(size);
    this.metaFill = 0;
    this.metaPos = pos;
    this.skipBody(size);
  }

  private skipBody(size: number): void {
    const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK);
    this.contentLeft = size;
    this.state = State.Header;
    if (padded === 0) {
      this.contentDone();
      return;
    }
    this.remaining = padded;
    this.state = State.Body;
  }

  // ---- regular-file content ----

  private startSegments(map: number[]): void {
    const segs: number[] = [];
    for (let i = 0; i < map.length; i += 2) if (map[i + 1] > 0) segs.push(map[i], map[i + 1]);
    this.segs = segs;
    this.seg = 0;
    if (segs.length > 0) {
      this.hole(segs[0]);
      this.segLeft = segs[1];
    }
  }

  /** Physical content bytes [a, b) of the current regular file. */
  private feed(chunk: Buffer, a: number, b: number): void {
    while (a < b) {
      const blocks = this.mapBlocks;
      if (blocks !== undefined) {
        // PAX 1.0: the map is read a block at a time (Go `readGNUSparseMap1x0`).
        if (this.mapFill === 0) {
          if ((blocks.length + 1) * BLOCK > this.limits.maxHeaderBytes) {
            throw new LimitExceededError('maxHeaderBytes', this.limits.maxHeaderBytes, 'GNU sparse 1.0 map too large');
          }
          blocks.push(Buffer.alloc(BLOCK));
        }
        const n = Math.min(BLOCK - this.mapFill, b - a);
        chunk.copy(blocks[blocks.length - 1], this.mapFill, a, a + n);
        this.mapFill = (this.mapFill + n) % BLOCK;
        a += n;
        if (this.mapFill === 0) this.tryMap1();
        continue;
      }
      const segs = this.segs;
      if (segs === undefined) {
        this.emit(chunk, a, b);
        return;
      }
      if (this.seg >= segs.length) {
        // Go errUnrefData, raised only when the body is read; an unread member just skips it.
        if (this.strict) throw new TarFormatError('sparse file has more data than its map', (this.file as TarHeader).offset);
        return;
      }
      const n = Math.min(this.segLeft, b - a);
      this.emit(chunk, a, a + n);
      a += n;
      this.segLeft -= n;
      if (this.segLeft === 0) {
        this.seg += 2;
        if (this.seg < segs.length) {
          this.hole(segs[this.seg]);
          this.segLeft = segs[this.seg + 1];
        }
      }
    }
  }

  /** After each map block: parse once there are enough newlines (1 + 2 × entries). */
  private tryMap1(): void {
    const h = this.file as TarHeader;
    const text = Buffer.concat(this.mapBlocks as Buffer[]).toString('latin1');
    const lines = text.split('\n');
    if (lines.length < 2) return;
    const count = goParseInt(lines[0]);
    if (count === undefined || count < 0) throw new TarFormatError('bad GNU sparse 1.0 map', h.offset);
    if (lines.length - 1 < 1 + 2 * count) return;
    const map: number[] = [];
    for (let i = 0; i < 2 * count; i++) {
      const v = goParseInt(lines[1 + i]);
      if (v === undefined) throw new TarFormatError('bad GNU sparse 1.0 map', h.offset);
      map.push(v);
    }
    this.mapBlocks = undefined;
    validateSparse(map, h.realSize, h.offset);
    this.startSegments(map);
  }

  private emit(chunk: Buffer, a: number, b: number): void {
    if (a === b) return;
    const h = this.file as TarHeader;
    this.handler.onData?.(h, chunk.subarray(a, b));
    const cap = this.capture;
    if (cap !== undefined && this.captureFill < cap.length) {
      const n = Math.min(cap.length - this.captureFill, b - a);
      chunk.copy(cap, this.captureFill, a, a + n);
      this.captureFill += n;
    }
    this.lpos += b - a;
  }

  /** Zeros up to logical offset `to`. */
  private hole(to: number): void {
    let n = to - this.lpos;
    if (n <= 0) return;
    this.holeBytes += n;
    const max = this.limits.maxLayerBytes;
    if (max !== undefined && this.holeBytes > max) {
      throw new LimitExceededError('maxLayerBytes', max, `sparse holes add up to more than ${max} bytes`);
    }
    const h = this.file as TarHeader;
    const cap = this.capture;
    if (cap !== undefined && this.captureFill < cap.length) {
      const c = Math.min(cap.length - this.captureFill, n);
      cap.fill(0, this.captureFill, this.captureFill + c);
      this.captureFill += c;
    }
    if (this.handler.onData) {
      while (n > 0) {
        const c = Math.min(n, HOLE.length);
        this.handler.onData(h, HOLE.subarray(0, c));
        n -= c;
      }
    }
    this.lpos = to;
  }

  /** The member's (or extended header's) content is complete; padding may follow. */
  private contentDone(): void {
    const meta = this.meta;
    if (meta !== Meta.None) {
      this.meta = Meta.None;
      const buf = this.metaBuf as Buffer;
      this.metaBuf = undefined;
      this.extendedDone(meta, buf, this.metaPos);
      return;
    }
    const h = this.file;
    if (h === undefined) return;
    if (this.mapBlocks !== undefined) throw new TarFormatError('GNU sparse 1.0 map cut short', h.offset);
    if (this.segs !== undefined && this.seg < this.segs.length && this.strict) {
      throw new TarFormatError('sparse file has less data than its map', h.offset); // Go errMissData
    }
    this.hole(h.realSize);
    this.file = this.segs = undefined;
    const cap = this.capture;
    this.capture = undefined;
    this.handler.onEnd?.(h);
    if (cap !== undefined) this.handler.onBody?.(h, cap);
  }

  private extendedDone(meta: Meta, cap: Buffer, pos: number): void {
    switch (meta) {
      case Meta.LongName:
        this.longName = decodeName(cap, 0, cap.length);
        return;
      case Meta.LongLink:
        this.longLink = decodeName(cap, 0, cap.length);
        return;
      case Meta.PaxLocal: {
        const m = goParsePax(cap);
        if (m === undefined) throw new TarFormatError('malformed pax record', pos);
        this.paxLocal = m; // the last x header wins whole (Go: paxHdrs = parsePAX(tr))
        return;
      }
      case Meta.PaxGlobal: {
        this.paxGlobalBytes += cap.length;
        if (this.paxGlobalBytes > this.limits.maxHeaderBytes) {
          throw new LimitExceededError('maxHeaderBytes', this.limits.maxHeaderBytes, 'global pax headers too large');
        }
        if (goParsePax(cap) === undefined) throw new TarFormatError('malformed pax record', pos);
        // Go merges the records into the g header itself (ignoring mergePAX's error), returns it
        // as a header of its own and forgets the pending x/L/K state; containerd ignores it.
        this.metaRun = 0;
        this.longName = this.longLink = this.paxLocal = undefined;
        return;
      }
      default:
    }
  }
}

function num(b: Buffer, at: number, len: number, field: string, pos: number): number {
  // Only sizes and offsets must be exact; other fields are used for their low bits, or not at all.
  const v = goNumeric(b, at, len, !EXACT_FIELDS.has(field));
  if (v === undefined) throw new TarFormatError(`tar header ${field} field is not a number`, pos);
  return v;
}

/** Fields {@link num} reads exactly (the rest only for their low bits). */
const EXACT_FIELDS: ReadonlySet<string> = new Set(['size', 'sparse realsize', 'sparse offset', 'sparse numbytes']);

function readSparsePairs(b: Buffer, at: number, n: number, into: number[], pos: number): void {
  for (let i = 0; i < n; i++) {
    const o = at + 24 * i;
    if (b[o] === 0) break; // GNU and BSD tar stop here too
    into.push(num(b, o, 12, 'sparse offset', pos), num(b, o + 12, 12, 'sparse numbytes', pos));
  }
}

/** GNU sparse 0.0 (folded into a map by {@link goParsePax}) and 0.1: `GNU.sparse.map` + numblocks. */
function sparseMap01(pax: Map<string, string>, pos: number): number[] {
  const count = goParseInt(pax.get('GNU.sparse.numblocks') ?? '');
  if (count === undefined || count < 0) throw new TarFormatError('bad GNU.sparse.numblocks', pos);
  const raw = pax.get('GNU.sparse.map') ?? '';
  const parts = raw === '' ? [] : raw.split(',');
  if (parts.length !== 2 * count) throw new TarFormatError('GNU.sparse.map does not match numblocks', pos);
  return parts.map((p) => {
    const v = goParseInt(p);
    if (v === undefined) throw new TarFormatError('bad GNU.sparse.map entry', pos);
    return v;
  });
}

/** Go `validateSparseEntries`: non-negative, inside the file, in order, not overlapping. */
function validateSparse(map: number[], size: number, pos: number): void {
  let preEnd = 0;
  for (let i = 0; i < map.length; i += 2) {
    const off = map[i];
    const len = map[i + 1];
    if (off < 0 || len < 0 || off + len > size || preEnd > off) throw new TarFormatError('invalid sparse map', pos);
    preEnd = off + len;
  }
}

function paxInt(v: string, key: string, pos: number): number {
  const n = goParseInt(v);
  if (n === undefined) throw new TarFormatError(`pax ${key} is not an integer: ${JSON.stringify(v.slice(0, 40))}`, pos);
  return n;
}

/** Go `parsePAXTime`: `[-]seconds[.digits]`; returns whole seconds. */
function paxTime(v: string, key: string, pos: number): number {
  const dot = v.indexOf('.');
  const secs = goParseInt(dot < 0 ? v : v.slice(0, dot));
  if (secs === undefined || (dot >= 0 && !/^[0-9]*$/.test(v.slice(dot + 1)))) {
    throw new TarFormatError(`pax ${key} is not a time: ${JSON.stringify(v.slice(0, 40))}`, pos);
  }
  return secs;
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
