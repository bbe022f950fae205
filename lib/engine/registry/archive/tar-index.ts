import { open } from 'node:fs/promises';
import { ArchiveFormatError, LimitExceededError, TarFormatError } from '../../errors';
import { BLOCK, HEADER_ONLY, checksumMatches, parseNumber } from '../../layers/tar-header';
import type { Limits } from '../../limits';
import { normalizeMemberName } from './paths';

/**
 * An index of the members of an image archive on disk (a `docker save` or `skopeo copy … oci-archive:`
 * tar), built by reading headers only: from each header we jump over the member's body using its size
 * and read the next header, so indexing a 5 GB archive reads a few kilobytes. Members are then served
 * as byte ranges of the file — the archive is never extracted (../shared/DESIGN.md "Never extract").
 *
 * Formats: POSIX ustar with its `prefix` field, PAX extended headers (`x`: path, linkpath, size; `g` is
 * skipped) and GNU long names (`L`, `K`) — what Go's archive/tar (docker, skopeo), GNU tar and our own
 * tar-writer emit (pax(1), POSIX.1-2001; GNU tar manual "Standard").
 */

/** One member of the archive. */
export interface TarMember {
  /** Canonical name (see {@link normalizeMemberName}). */
  readonly name: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** Byte offset of the body in the archive file. */
  readonly offset: number;
  readonly size: number;
  /** Target of a symlink or hardlink, as written in the archive. */
  readonly linkname?: string;
}

/** The members of one archive by canonical name. Later members replace earlier ones of the same name, as they do when `docker load` or `tar -x` unpacks the archive, so we see what they would see. */
export interface TarIndex {
  readonly file: string;
  /** Size of the archive file when it was indexed. */
  readonly fileSize: number;
  readonly members: ReadonlyMap<string, TarMember>;
}

// Header-level decoding shared with the layer parser (BLOCK, HEADER_ONLY, checksum, base-256) lives in
// ../../layers/tar-header.ts. Names, octal text and PAX records are still decoded here: this indexer
// decodes names and PAX values as plain UTF-8 (U+FFFD for invalid bytes) where the layer parser keeps
// bytes distinct, and its octal/PAX rules differ at the edges (no leading NULs in numbers, no empty PAX
// keys); folding them would change which archives are accepted and how members are named.

function cString(b: Buffer, start: number, len: number): string {
  const end = b.indexOf(0, start);
  return b.toString('utf8', start, end < 0 || end > start + len ? start + len : end);
}

/**
 * Parses a numeric header field: octal text, or GNU base-256 (high bit set) for large values.
 * Errors are {@link ArchiveFormatError}s.
 */
export function parseTarNumber(b: Buffer, start: number, len: number, what: string, at: number): number {
  if (b[start] & 0x80) {
    // base-256: big-endian two's complement; 0xff marks a negative number (RELIABILITY.md 14).
    if (b[start] === 0xff) throw new ArchiveFormatError(`negative ${what} in tar header at byte ${at}`);
    // Decoded by the shared parser. Whatever it refuses here is out of range for us: it overflowed 2^53,
    // or had bit 0x40 set in its first byte, which for fields of 7 bytes or more (all tar's numeric
    // fields) is a value above 2^53 read as unsigned.
    try {
      return parseNumber(b, start, len, what, at);
    } catch (e) {
      if (e instanceof TarFormatError) throw new ArchiveFormatError(`${what} in tar header overflows at byte ${at}`, { cause: e });
      throw e;
    }
  }
  const text = b.toString('ascii', start, start + len).replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new ArchiveFormatError(`invalid ${what} ${JSON.stringify(text)} in tar header at byte ${at}`);
  const n = parseInt(text, 8);
  if (!Number.isSafeInteger(n)) throw new ArchiveFormatError(`${what} in tar header overflows at byte ${at}`);
  return n;
}

function checksumOk(h: Buffer, at: number): boolean {
  // The sum is taken with the checksum field as spaces; historic tars summed signed bytes, so accept both.
  return checksumMatches(h, 0, parseTarNumber(h, 148, 8, 'checksum', at));
}

/** Parses PAX records `"<len> <key>=<value>\n"`; malformed records are an error, not a guess. */
function parsePax(body: Buffer, at: number): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    const sp = body.indexOf(0x20, i);
    const len = sp < 0 ? NaN : Number(body.toString('ascii', i, sp));
    if (!Number.isSafeInteger(len) || len <= sp - i + 1 || i + len > body.length || body[i + len - 1] !== 0x0a) {
      throw new ArchiveFormatError(`malformed PAX record in tar header at byte ${at}`);
    }
    const rec = body.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new ArchiveFormatError(`malformed PAX record in tar header at byte ${at}`);
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/**
 * Indexes the archive at `file`. Throws {@link ArchiveFormatError} for a bad checksum, a bad size, a
 * member running past the end of the file or a missing end-of-archive marker (a truncated archive,
 * RELIABILITY.md 14), and {@link LimitExceededError} past `maxEntries` members, `maxPathBytes` names
 * or `maxHeaderBytes` extended headers (case 13).
 */
export async function indexTar(file: string, limits: Limits): Promise<TarIndex> {
  const fh = await open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const members = new Map<string, TarMember>();
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let count = 0;
    let pax: Map<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;

    const readExtension = async (size: number, at: number): Promise<Buffer> => {
      if (size > limits.maxHeaderBytes) throw new LimitExceededError('maxHeaderBytes', limits.maxHeaderBytes, `extended tar header at byte ${at} has ${size} bytes`);
      if (at + BLOCK + size > fileSize) throw new ArchiveFormatError(`truncated tar: extended header at byte ${at} runs past the end of the file`);
      const body = Buffer.alloc(size);
      const { bytesRead } = await fh.read(body, 0, size, at + BLOCK);
      if (bytesRead !== size) throw new ArchiveFormatError(`truncated tar: extended header at byte ${at}`);
      return body;
    };

    for (;;) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
      if (bytesRead === 0) throw new ArchiveFormatError(`truncated tar ${file}: no end-of-archive marker after byte ${pos}`);
      if (bytesRead < BLOCK) throw new ArchiveFormatError(`truncated tar ${file}: partial header at byte ${pos}`);
      // One zero block ends the archive (POSIX asks for two; GNU tar accepts one, so do we).
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header, pos)) throw new ArchiveFormatError(`bad tar header checksum at byte ${pos} of ${file}`);
      const typeflag = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
      let size = parseTarNumber(header, 124, 12, 'size', pos);
      const at = pos;
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
        const body = await readExtension(size, at);
        if (typeflag === 'x') pax = parsePax(body, at);
        else if (typeflag === 'L') longName = cString(body, 0, body.length);
        else if (typeflag === 'K') longLink = cString(body, 0, body.length);
        // 'g' (global PAX) only carries defaults such as mtime for the members; nothing we index.
        pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
        continue;
      }
      if (++count > limits.maxEntries) throw new LimitExceededError('maxEntries', limits.maxEntries, `archive ${file} has more members than allowed`);
      const magic = header.toString('binary', 257, 263);
      let name = cString(header, 0, 100);
      // ustar (POSIX) splits long names into prefix + name; GNU's "ustar  " header uses those bytes otherwise.
      if (magic === 'ustar\0') {
        const prefix = cString(header, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = cString(header, 157, 100);
      if (longName !== undefined) name = longName;
      if (longLink !== undefined) linkname = longLink;
      if (pax?.has('path')) name = pax.get('path') as string;
      if (pax?.has('linkpath')) linkname = pax.get('linkpath') as string;
      if (pax?.has('size')) {
        const s = pax.get('size') as string;
        if (!/^[0-9]{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw new ArchiveFormatError(`invalid PAX size ${JSON.stringify(s.slice(0, 40))} at byte ${at}`);
        size = Number(s);
      }
      pax = undefined;
      longName = undefined;
      longLink = undefined;
      if (Buffer.byteLength(name) > limits.maxPathBytes) throw new LimitExceededError('maxPathBytes', limits.maxPathBytes, `archive member name at byte ${at} is too long`);
      const bodySize = HEADER_ONLY.has(typeflag) ? 0 : size;
      const offset = at + BLOCK;
      if (offset + bodySize > fileSize) {
        throw new ArchiveFormatError(`truncated tar ${file}: member ${JSON.stringify(name.slice(0, 200))} at byte ${at} declares ${bodySize} bytes but the file ends at ${fileSize}`);
      }
      const type: TarMember['type'] =
        typeflag === '0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'dir' : typeflag === '2' ? 'symlink' : typeflag === '1' ? 'hardlink' : 'other';
      const canonical = normalizeMemberName(name);
      if (canonical !== undefined) {
        members.set(canonical, { name: canonical, type, offset, size: bodySize, ...(type === 'symlink' || type === 'hardlink' ? { linkname } : {}) });
      }
      pos = offset + Math.ceil(bodySize / BLOCK) * BLOCK;
    }
    return { file, fileSize, members };
  } finally {
    await fh.close();
  }
}
