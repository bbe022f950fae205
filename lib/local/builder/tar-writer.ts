/**
 * A small tar writer (POSIX ustar + PAX extended headers, pax(1) in POSIX.1-2001) used to build
 * layers for the sample image and the tests. It writes headers byte by byte so that tests can also
 * produce the hostile archives of RELIABILITY.md (absolute and `..` names, link tricks, huge PAX
 * records, base-256 and negative sizes, bad checksums, truncated streams) that no well-behaved tar
 * library will emit. Every well-formed archive it writes is checked against GNU tar in the tests.
 */

/** Tar entry types (ustar typeflag). */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** One member of a tar archive. */
export interface TarEntry {
  readonly path: string;
  readonly type?: TarEntryType;
  readonly body?: Buffer | string;
  /** Link target for symlinks and hardlinks. */
  readonly linkname?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  /** Force a PAX header even when ustar fields suffice (extra records go in `pax`). */
  readonly pax?: Readonly<Record<string, string>>;
}

/** Raw header overrides for hostile archives (tests only). */
export interface RawHeader {
  readonly name: string;
  readonly typeflag: string;
  /** Size field bytes as written (12 bytes); a number writes octal. */
  readonly size: number | Buffer;
  readonly linkname?: string;
  readonly mode?: number;
  /** Override the computed checksum. */
  readonly checksum?: number;
  readonly prefix?: string;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** Writes one 512-byte header block. */
export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  b.write(octal(h.mode ?? 0o644, 8), 100, 'ascii');
  b.write(octal(0, 8), 108, 'ascii');
  b.write(octal(0, 8), 116, 'ascii');
  if (typeof h.size === 'number') b.write(octal(h.size, 12), 124, 'ascii');
  else h.size.copy(b, 124, 0, 12);
  b.write(octal(0, 12), 136, 'ascii');
  b.fill(' ', 148, 156);
  b.write(h.typeflag, 156, 'ascii');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 'ascii');
  if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i];
  b.write(octal(h.checksum ?? sum, 7) + ' ', 148, 'ascii');
  return b;
}

/** Zero padding to the next 512-byte boundary. */
export function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

/** A PAX extended header (typeflag `x`) carrying the given records, with its padding. */
export function paxHeader(records: Readonly<Record<string, string>>, name = 'PaxHeader'): Buffer {
  const body = Buffer.concat(Object.entries(records).map(([k, v]) => paxRecord(k, v)));
  return Buffer.concat([rawHeader({ name: name.slice(0, 99), typeflag: 'x', size: body.length }), body, pad(body.length)]);
}

/** Serialises one entry: a PAX header when the name, link or size does not fit ustar, then the header and body. */
export function entryBytes(e: TarEntry): Buffer[] {
  const type = e.type ?? (e.body === undefined && e.path.endsWith('/') ? 'dir' : 'file');
  const body = e.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body, 'utf8');
  const size = type === 'file' ? body.length : 0;
  const pax: Record<string, string> = { ...(e.pax ?? {}) };
  if (Buffer.byteLength(e.path) > 99) pax.path = e.path;
  if (e.linkname && Buffer.byteLength(e.linkname) > 99) pax.linkpath = e.linkname;
  if (e.uid !== undefined && e.uid > 0o7777777) pax.uid = String(e.uid);
  const out: Buffer[] = [];
  if (Object.keys(pax).length > 0) out.push(paxHeader(pax));
  const h = rawHeader({
    name: pax.path ? e.path.slice(0, 99) : e.path,
    typeflag: TYPEFLAG[type],
    size,
    linkname: e.linkname === undefined ? undefined : pax.linkpath ? e.linkname.slice(0, 99) : e.linkname,
    mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644),
  });
  // uid/gid/mtime live in fixed fields; rewrite them and the checksum when given.
  if (e.uid !== undefined || e.gid !== undefined || e.mtime !== undefined) {
    if (e.uid !== undefined && e.uid <= 0o7777777) h.write(octal(e.uid, 8), 108, 'ascii');
    if (e.gid !== undefined) h.write(octal(e.gid, 8), 116, 'ascii');
    if (e.mtime !== undefined) h.write(octal(e.mtime, 12), 136, 'ascii');
    h.fill(' ', 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i];
    h.write(octal(sum, 7) + ' ', 148, 'ascii');
  }
  out.push(h);
  if (size > 0) out.push(body, pad(size));
  return out;
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(1024);

/** A whole archive from entries, in order, with the end-of-archive marker. */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(entryBytes), END_OF_ARCHIVE]);
}
