import type { BlobsResult } from './blobs';
import { fail } from './errors';

/**
 * Berkeley DB hash database (`/var/lib/rpm/Packages`, rpm < 4.16), read as go-rpmdb pkg/bdb does:
 * the metadata page gives page size and last page; every hash page (P_HASH 13 / P_HASH_UNSORTED 2)
 * holds key/data item pairs; data items are H_OFFPAGE (3: a chain of P_OVERFLOW 7 pages) or, for
 * small values, H_KEYDATA (1: inline). Byte order comes from the metadata magic.
 */
const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_HASH = 13;
const P_OVERFLOW = 7;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const VALID_PAGE_SIZES = new Set([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);

export function isBdbHash(buf: Buffer): boolean {
  return buf.length >= 16 && (buf.readUInt32LE(12) === HASH_MAGIC || buf.readUInt32BE(12) === HASH_MAGIC);
}

export function readBdbBlobs(buf: Buffer): BlobsResult {
  if (buf.length < 72) fail(`Berkeley DB file too short (${buf.length} bytes)`);
  const le = buf.readUInt32LE(12) === HASH_MAGIC;
  if (!le && buf.readUInt32BE(12) !== HASH_MAGIC) fail('not a Berkeley DB hash database (bad magic)');
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const pageSize = u32(buf, 20);
  if (!VALID_PAGE_SIZES.has(pageSize)) fail(`Berkeley DB page size ${pageSize} is invalid`);
  if (buf.readUInt8(24) !== 0) fail('encrypted Berkeley DB is not supported');
  const lastPage = u32(buf, 32);
  const pagesInFile = Math.floor(buf.length / pageSize);
  const errors: string[] = [];
  if (lastPage + 1 > pagesInFile) errors.push(`file holds ${pagesInFile} of ${lastPage + 1} pages (truncated)`);
  const pageCount = Math.min(lastPage + 1, pagesInFile);
  const page = (n: number): Buffer | undefined => (n < pagesInFile ? buf.subarray(n * pageSize, (n + 1) * pageSize) : undefined);

  // Overflow pages belong to one item each: a page met twice (a loop, or two items sharing a chain)
  // is refused, so the bytes assembled never exceed the file's (N items × one long chain would).
  const seen = new Set<number>();
  const readOverflow = (first: number, length: number): Buffer => {
    const parts: Buffer[] = [];
    let got = 0;
    for (let n = first; n !== 0;) {
      if (seen.has(n)) fail(`overflow page ${n} is used twice (a loop or a shared chain)`);
      seen.add(n);
      const p = page(n);
      if (!p) fail(`overflow page ${n} outside file`);
      if (p.readUInt8(25) !== P_OVERFLOW) fail(`page ${n} is type ${p.readUInt8(25)}, expected overflow`);
      const next = u32(p, 16);
      // On overflow pages hf_offset holds the number of data bytes on the page.
      const len = u16(p, 22);
      if (PAGE_HEADER + len > pageSize) fail(`overflow page ${n} claims ${len} bytes`);
      parts.push(p.subarray(PAGE_HEADER, PAGE_HEADER + len));
      got += len;
      if (got > length) fail(`overflow chain longer than the ${length} bytes announced`);
      n = next;
    }
    if (got !== length) fail(`overflow chain holds ${got} of ${length} bytes`);
    return Buffer.concat(parts);
  };

  const blobs: Buffer[] = [];
  for (let n = 1; n < pageCount; n++) {
    const p = page(n)!;
    const type = p.readUInt8(25);
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(p, 20);
    if (PAGE_HEADER + entries * 2 > pageSize) { errors.push(`hash page ${n}: ${entries} entries do not fit`); continue; }
    const offsetOf = (i: number): number => u16(p, PAGE_HEADER + i * 2);
    // Items are laid out from the page end downwards: item i ends where item i-1 starts.
    const endOf = (i: number): number => (i === 0 ? pageSize : offsetOf(i - 1));
    for (let i = 1; i < entries; i += 2) {
      const off = offsetOf(i);
      const end = endOf(i);
      if (off < PAGE_HEADER + entries * 2 || off >= pageSize || end > pageSize || end <= off) { errors.push(`hash page ${n} item ${i}: offset ${off} out of bounds`); continue; }
      try {
        const itemType = p.readUInt8(off);
        if (itemType === H_OFFPAGE) {
          if (off + 12 > pageSize) fail('H_OFFPAGE item truncated');
          blobs.push(readOverflow(u32(p, off + 4), u32(p, off + 8)));
        } else if (itemType === H_KEYDATA) {
          const value = p.subarray(off + 1, end);
          // rpm keeps a 4-byte "next instance" record under key 0; headers are always longer.
          if (value.length > 8) blobs.push(Buffer.from(value));
        }
      } catch (e) {
        errors.push(`hash page ${n} item ${i}: ${(e as Error).message}`);
      }
    }
  }
  return { blobs, errors };
}
