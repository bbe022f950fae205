import type { BlobsResult } from './blobs';
import { fail } from './errors';

/**
 * rpm's NDB backend (`Packages.db`, SUSE rpm >= 4.16), read as go-rpmdb pkg/ndb does: a 32-byte
 * header {"RpmP", version 0, generation, slot page count}, then 16-byte slots {"Slot", pkgIndex,
 * blkOffset, blkCount} filling the slot pages (the header takes the first two slot places); each
 * used slot points (blkOffset × 16) at a blob {"BlbS", pkgIndex, checksum, length} + header blob.
 * All little-endian.
 */
const NDB_MAGIC = 0x506d7052; // 'RpmP'
const SLOT_MAGIC = 0x746f6c53; // 'Slot'
const BLOB_MAGIC = 0x53626c42; // 'BlbS'
const PAGE_SIZE = 4096;
const SLOT_SIZE = 16;
const BLOB_HEAD = 16;
const MAX_SLOT_PAGES = 2048;

export function isNdb(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === NDB_MAGIC;
}

export function readNdbBlobs(buf: Buffer): BlobsResult {
  if (buf.length < 32) fail(`NDB file too short (${buf.length} bytes)`);
  if (buf.readUInt32LE(0) !== NDB_MAGIC) fail('not an rpm NDB database (bad magic)');
  const version = buf.readUInt32LE(4);
  if (version !== 0) fail(`NDB version ${version} is not supported`);
  const slotPages = buf.readUInt32LE(12);
  if (slotPages > MAX_SLOT_PAGES) fail(`NDB slot page count ${slotPages} is too large`);
  const slotCount = slotPages * (PAGE_SIZE / SLOT_SIZE) - 2;
  const errors: string[] = [];
  const blobs: Buffer[] = [];
  // A legitimate database has one blob per slot; slots sharing a blob would parse the same (up to
  // 1 MiB, 65535-tag) header again for each of up to 524 k slots — time quadratic in the file.
  const used = new Set<number>();
  for (let i = 0; i < slotCount; i++) {
    const s = 32 + i * SLOT_SIZE;
    if (s + SLOT_SIZE > buf.length) { errors.push(`NDB slot table truncated at slot ${i}`); break; }
    if (buf.readUInt32LE(s) !== SLOT_MAGIC) fail(`NDB slot ${i}: bad slot magic`);
    const pkgIndex = buf.readUInt32LE(s + 4);
    if (pkgIndex === 0) continue;
    const blobAt = buf.readUInt32LE(s + 8) * BLOB_HEAD;
    if (blobAt + BLOB_HEAD > buf.length) { errors.push(`NDB package ${pkgIndex}: blob offset ${blobAt} outside file`); continue; }
    if (used.has(blobAt)) { errors.push(`NDB package ${pkgIndex}: blob at ${blobAt} already belongs to another slot`); continue; }
    used.add(blobAt);
    if (buf.readUInt32LE(blobAt) !== BLOB_MAGIC) { errors.push(`NDB package ${pkgIndex}: bad blob magic`); continue; }
    if (buf.readUInt32LE(blobAt + 4) !== pkgIndex) { errors.push(`NDB package ${pkgIndex}: blob belongs to package ${buf.readUInt32LE(blobAt + 4)}`); continue; }
    const len = buf.readUInt32LE(blobAt + 12);
    if (blobAt + BLOB_HEAD + len > buf.length) { errors.push(`NDB package ${pkgIndex}: blob of ${len} bytes truncated`); continue; }
    blobs.push(buf.subarray(blobAt + BLOB_HEAD, blobAt + BLOB_HEAD + len));
  }
  return { blobs, errors };
}
