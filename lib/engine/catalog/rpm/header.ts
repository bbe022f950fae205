import { fail } from './errors';

/**
 * rpm header blob as stored in the rpmdb (no lead, no 8-byte header magic): int32 il (index entry
 * count), int32 dl (data store size), il × 16-byte index entries {tag, type, offset, count}, then the
 * data store — all big-endian (rpm lib/header.c headerImport; go-rpmdb pkg/rpmdb.go headerImport).
 */
export const RPMTAG = {
  NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, SUMMARY: 1004, SIZE: 1009, LICENSE: 1014,
  VENDOR: 1011, ARCH: 1022, SOURCERPM: 1044, MODULARITYLABEL: 5096,
} as const;

const TYPE = { CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

/** Limits as rpm's own (lib/header.c: HEADER_TAGS_MAX 0xffff, HEADER_DATA_MAX 256 MiB). */
const MAX_INDEX = 0xffff;
const MAX_DATA = 256 * 1024 * 1024;

export interface RpmHeader {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  readonly epoch?: number;
  readonly arch?: string;
  readonly sourceRpm?: string;
  readonly size?: number;
  readonly license?: string;
  readonly vendor?: string;
  readonly summary?: string;
  readonly modularityLabel?: string;
}

interface Entry { readonly type: number; readonly offset: number; readonly count: number }

/** Parses one header blob; throws {@link RpmFormatError} on anything out of bounds. */
export function parseRpmHeader(blob: Buffer): RpmHeader {
  if (blob.length < 8) fail(`header blob too short (${blob.length} bytes)`);
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il < 1 || il > MAX_INDEX) fail(`header index count out of range (${il})`);
  if (dl > MAX_DATA) fail(`header data size out of range (${dl})`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) fail(`header truncated: needs ${dataStart + dl} bytes, has ${blob.length}`);
  const data = blob.subarray(dataStart, dataStart + dl);
  const entries = new Map<number, Entry>();
  for (let i = 0; i < il; i++) {
    const p = 8 + i * 16;
    const tag = blob.readUInt32BE(p);
    if (!entries.has(tag)) entries.set(tag, { type: blob.readUInt32BE(p + 4), offset: blob.readUInt32BE(p + 8), count: blob.readUInt32BE(p + 12) });
  }

  const str = (tag: number): string | undefined => {
    const e = entries.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE.STRING && e.type !== TYPE.I18NSTRING && e.type !== TYPE.STRING_ARRAY) fail(`tag ${tag}: type ${e.type} is not a string`);
    if (e.offset >= data.length) fail(`tag ${tag}: offset ${e.offset} outside data store (${data.length})`);
    const end = data.indexOf(0, e.offset);
    if (end < 0) fail(`tag ${tag}: unterminated string`);
    return data.toString('utf8', e.offset, end);
  };
  const int = (tag: number): number | undefined => {
    const e = entries.get(tag);
    if (!e) return undefined;
    if (e.count < 1) fail(`tag ${tag}: empty integer`);
    const width = e.type === TYPE.INT32 ? 4 : e.type === TYPE.INT16 ? 2 : e.type === TYPE.INT8 || e.type === TYPE.CHAR ? 1 : e.type === TYPE.INT64 ? 8 : fail(`tag ${tag}: type ${e.type} is not an integer`);
    if (e.offset + width > data.length) fail(`tag ${tag}: offset ${e.offset} outside data store (${data.length})`);
    switch (width) {
      case 1: return data.readUInt8(e.offset);
      case 2: return data.readUInt16BE(e.offset);
      case 4: return data.readUInt32BE(e.offset);
      default: return Number(data.readBigUInt64BE(e.offset));
    }
  };

  const name = str(RPMTAG.NAME);
  if (!name) fail('header has no NAME');
  const version = str(RPMTAG.VERSION);
  if (version === undefined) fail(`header for ${name} has no VERSION`);
  return {
    name, version,
    release: str(RPMTAG.RELEASE) ?? '',
    epoch: int(RPMTAG.EPOCH),
    arch: str(RPMTAG.ARCH),
    sourceRpm: str(RPMTAG.SOURCERPM),
    size: int(RPMTAG.SIZE),
    license: str(RPMTAG.LICENSE),
    vendor: str(RPMTAG.VENDOR),
    summary: str(RPMTAG.SUMMARY),
    modularityLabel: str(RPMTAG.MODULARITYLABEL),
  };
}

/**
 * Splits SOURCERPM `name-version-release.src.rpm` from the right (names may contain dashes; version
 * and release may not). Undefined when it does not have that shape.
 */
export function splitSourceRpm(srpm: string | undefined): { name: string; version: string; release: string } | undefined {
  if (!srpm || srpm === '(none)') return undefined;
  const base = srpm.replace(/\.(src|nosrc)\.rpm$/, '');
  const r = base.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  return { name: base.slice(0, v), version: base.slice(v + 1, r), release: base.slice(r + 1) };
}
