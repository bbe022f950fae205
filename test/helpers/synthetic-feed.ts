/**
 * A synthetic OSV export of any size, built in memory as a real zip (PKWARE APPNOTE.TXT: stored entries,
 * central directory, ZIP64 end records — a real export with more than 65 535 entries has them too),
 * for the feed-sync tests and bench that need hundreds of thousands of records: the shared exports hold
 * at most ~34k. Every record is valid OSV that `parseOsvRecord` keeps.
 */
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { FeedSourceLike } from '../../lib/engine/sync-feeds';

/** What a synthetic export holds. */
export interface SyntheticFeedOptions {
  /** Records (zip entries). */
  readonly records: number;
  /** The ecosystem of record `i` (default: PyPI for the first half, npm for the rest). */
  readonly ecosystem?: (i: number) => string;
  /** Distinct package names the records spread over (`pkg-<i % packages>`). Default 1000. */
  readonly packages?: number;
  /** The `modified` of record `i` (default: 2026-01-01 plus `i` seconds modulo a day). */
  readonly modified?: (i: number) => string;
  /** Id of record `i` (default `SYN-<i, 7 digits>`). */
  readonly id?: (i: number) => string;
}

const BASE = Date.parse('2026-01-01T00:00:00Z');

/** The id of record `i` by default. */
export const syntheticId = (i: number): string => `SYN-${String(i).padStart(7, '0')}`;
/** The ecosystem of record `i` of `n` by default. */
export const syntheticEcosystem = (i: number, n: number): string => (i < n / 2 ? 'PyPI' : 'npm');

/** The record JSON of entry `i`. */
function recordJson(i: number, o: SyntheticFeedOptions): string {
  const id = (o.id ?? syntheticId)(i);
  const modified = o.modified ? o.modified(i) : new Date(BASE + (i % 86_400) * 1000).toISOString().replace('.000Z', 'Z');
  const ecosystem = o.ecosystem ? o.ecosystem(i) : syntheticEcosystem(i, o.records);
  const name = `pkg-${i % (o.packages ?? 1000)}`;
  return `{"schema_version":"1.6.0","id":"${id}","modified":"${modified}","summary":"synthetic advisory ${i}",`
    + `"affected":[{"package":{"ecosystem":"${ecosystem}","name":"${name}"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.${i % 97}.0"}]}]}]}`;
}

/** The zip bytes of a synthetic export (entries `<id>.json`, stored, in record order). */
export function syntheticOsvZip(o: SyntheticFeedOptions): Buffer {
  const names: Buffer[] = [];
  const datas: Buffer[] = [];
  let localBytes = 0;
  let centralBytes = 0;
  for (let i = 0; i < o.records; i++) {
    const name = Buffer.from(`${(o.id ?? syntheticId)(i)}.json`);
    const data = Buffer.from(recordJson(i, o));
    names.push(name);
    datas.push(data);
    localBytes += 30 + name.length + data.length;
    centralBytes += 46 + name.length;
  }
  const out = Buffer.alloc(localBytes + centralBytes + 56 + 20 + 22);
  const offsets = new Array<number>(o.records);
  const crcs = new Array<number>(o.records);
  let at = 0;
  for (let i = 0; i < o.records; i++) {
    const name = names[i];
    const data = datas[i];
    offsets[i] = at;
    crcs[i] = crc32(data);
    out.writeUInt32LE(0x04034b50, at);
    out.writeUInt16LE(20, at + 4);
    out.writeUInt16LE(0, at + 6);
    out.writeUInt16LE(0, at + 8); // stored
    out.writeUInt16LE(0, at + 10);
    out.writeUInt16LE(0x21, at + 12); // 1980-01-01
    out.writeUInt32LE(crcs[i], at + 14);
    out.writeUInt32LE(data.length, at + 18);
    out.writeUInt32LE(data.length, at + 22);
    out.writeUInt16LE(name.length, at + 26);
    out.writeUInt16LE(0, at + 28);
    name.copy(out, at + 30);
    data.copy(out, at + 30 + name.length);
    at += 30 + name.length + data.length;
  }
  const cdStart = at;
  for (let i = 0; i < o.records; i++) {
    const name = names[i];
    out.writeUInt32LE(0x02014b50, at);
    out.writeUInt16LE(20, at + 4);
    out.writeUInt16LE(20, at + 6);
    out.writeUInt16LE(0, at + 8);
    out.writeUInt16LE(0, at + 10);
    out.writeUInt16LE(0, at + 12);
    out.writeUInt16LE(0x21, at + 14);
    out.writeUInt32LE(crcs[i], at + 16);
    out.writeUInt32LE(datas[i].length, at + 20);
    out.writeUInt32LE(datas[i].length, at + 24);
    out.writeUInt16LE(name.length, at + 28);
    // extra, comment, disk, internal and external attributes: 0
    out.writeUInt32LE(offsets[i], at + 42);
    name.copy(out, at + 46);
    at += 46 + name.length;
  }
  const cdSize = at - cdStart;
  const zip64At = at;
  // ZIP64 end of central directory record (APPNOTE §4.3.14) and its locator (§4.3.15).
  out.writeUInt32LE(0x06064b50, at);
  out.writeBigUInt64LE(44n, at + 4);
  out.writeUInt16LE(45, at + 12);
  out.writeUInt16LE(45, at + 14);
  out.writeBigUInt64LE(BigInt(o.records), at + 24);
  out.writeBigUInt64LE(BigInt(o.records), at + 32);
  out.writeBigUInt64LE(BigInt(cdSize), at + 40);
  out.writeBigUInt64LE(BigInt(cdStart), at + 48);
  at += 56;
  out.writeUInt32LE(0x07064b50, at);
  out.writeBigUInt64LE(BigInt(zip64At), at + 8);
  out.writeUInt32LE(1, at + 16);
  at += 20;
  // End of central directory (§4.3.16): counts 0xFFFF, the ZIP64 record has them.
  out.writeUInt32LE(0x06054b50, at);
  out.writeUInt16LE(0xffff, at + 8);
  out.writeUInt16LE(0xffff, at + 10);
  out.writeUInt32LE(cdSize, at + 12);
  out.writeUInt32LE(cdStart, at + 16);
  return out;
}

/** A feed source over zip bytes held in memory, served in 1 MiB chunks; `revision` is its fingerprint. */
export function memoryFeedSource(source: string, zip: () => Buffer, revision: () => string): FeedSourceLike & { opens: number } {
  const s = {
    source,
    opens: 0,
    fingerprint: async () => revision(),
    open: async () => {
      s.opens++;
      const bytes = zip();
      return Readable.from((function* () {
        for (let off = 0; off < bytes.length; off += 1 << 20) yield bytes.subarray(off, Math.min(bytes.length, off + (1 << 20)));
      })());
    },
  };
  return s;
}
