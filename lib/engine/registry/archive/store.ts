import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { Readable } from 'node:stream';
import { ArchiveFormatError, LimitExceededError, NotFoundError } from '../../errors';
import type { Limits } from '../../limits';
import { readAllCapped } from '../resolve';
import { normalizeMemberName, validateMemberPath } from './paths';
import type { TarIndex, TarMember } from './tar-index';

/**
 * Read size of a member or blob stream: 1 MiB rather than fs's 64 KiB, so a layer costs a sixteenth of
 * the reads and of the decompressor's input chunks (each a threadpool round trip).
 */
const BLOB_READ_BYTES = 1024 * 1024;

/**
 * The files of an image archive, wherever they are: a layout directory or the members of a tar.
 * Every name is validated ({@link validateMemberPath}) before it is looked up.
 */
export interface MemberStore {
  /** What to call the archive in messages. */
  readonly name: string;
  /** Size of a regular-file member, or `undefined` when there is no such member. */
  size(path: string): Promise<number | undefined>;
  /** The whole member as a stream; {@link NotFoundError} when it does not exist. */
  open(path: string): Promise<Readable>;
  /** Up to `n` bytes from the start of the member (magic-byte sniffing). */
  head(path: string, n: number): Promise<Buffer>;
}

/** Reads a whole member into memory, refusing members over `max` bytes before reading and while reading. */
export async function readMemberCapped(store: MemberStore, path: string, max: number, limit: keyof Limits, what: string): Promise<Buffer> {
  const size = await store.size(path);
  if (size === undefined) throw new NotFoundError(`${store.name}: ${what} (${path}) not found in the archive`);
  if (size > max) throw new LimitExceededError(limit, max, `${store.name}: ${what} (${path}) has ${size} bytes`);
  return readAllCapped(await store.open(path), max, limit, `${store.name}: ${what}`);
}

async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    chunks.push(c);
    got += c.length;
    if (got >= n) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * An OCI image layout directory on this machine. Paths are resolved with `realpath` and must stay
 * inside the directory (with a separator: `/img-evil` is not inside `/img`, RELIABILITY.md 2), and
 * only regular files are served — a layout whose blob is a symlink to `/dev/zero` or out of the
 * directory is refused rather than read.
 */
export class DirectoryStore implements MemberStore {
  private rootReal?: string;
  constructor(private readonly dir: string, readonly name: string = dir) {}

  private async resolve(path: string): Promise<{ real: string; size: number } | undefined> {
    const rel = validateMemberPath(path);
    if (this.rootReal === undefined) {
      try {
        this.rootReal = await realpath(this.dir);
      } catch (err) {
        throw new NotFoundError(`${this.name}: layout directory ${this.dir} cannot be opened (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
    let real: string;
    try {
      real = await realpath(join(this.rootReal, ...rel.split('/')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
    if (!real.startsWith(this.rootReal + sep)) throw new ArchiveFormatError(`${this.name}: ${rel} resolves outside the layout directory`);
    const st = await stat(real);
    if (!st.isFile()) throw new ArchiveFormatError(`${this.name}: ${rel} is not a regular file`);
    return { real, size: st.size };
  }

  async size(path: string): Promise<number | undefined> {
    return (await this.resolve(path))?.size;
  }

  async open(path: string): Promise<Readable> {
    const r = await this.resolve(path);
    if (!r) throw new NotFoundError(`${this.name}: ${path} not found in the layout directory`);
    return createReadStream(r.real, { highWaterMark: BLOB_READ_BYTES });
  }

  async head(path: string, n: number): Promise<Buffer> {
    return readHead(await this.open(path), n);
  }
}

/**
 * The members of an indexed tar ({@link TarIndex}), each served as a byte range of the archive file
 * (`fs.createReadStream(file, {start, end})`): nothing is extracted. Symlink and hardlink members are
 * followed inside the archive only (skopeo's docker-archive writes `<id>/layer.tar` as symlinks to
 * `<diffid>.tar`), at most `maxSymlinkHops` times, and never to a name that climbs out of it.
 */
export class TarStore implements MemberStore {
  constructor(private readonly index: TarIndex, private readonly limits: Limits, readonly name: string = index.file) {}

  /** True when the archive has a member of that name (of any type). */
  has(path: string): boolean {
    return this.index.members.has(validateMemberPath(path));
  }

  private member(path: string): TarMember | undefined {
    let name = validateMemberPath(path);
    for (let hops = 0; ; hops++) {
      const m = this.index.members.get(name);
      if (!m || (m.type !== 'symlink' && m.type !== 'hardlink')) {
        if (m && m.type !== 'file') throw new ArchiveFormatError(`${this.name}: member ${name} is a ${m.type}, not a regular file`);
        return m;
      }
      if (hops >= this.limits.maxSymlinkHops) throw new LimitExceededError('maxSymlinkHops', this.limits.maxSymlinkHops, `${this.name}: member ${path} links too deep`);
      const link = m.linkname ?? '';
      // Hardlink targets are archive-relative; symlink targets relative to the link's own directory.
      const target = m.type === 'hardlink' ? normalizeMemberName(link) : link.startsWith('/') ? undefined : normalizeMemberName(posix.join(posix.dirname(name), link));
      if (target === undefined) throw new ArchiveFormatError(`${this.name}: member ${name} links outside the archive (${JSON.stringify(link.slice(0, 200))})`);
      name = target;
    }
  }

  async size(path: string): Promise<number | undefined> {
    return this.member(path)?.size;
  }

  async open(path: string): Promise<Readable> {
    const m = this.member(path);
    if (!m) throw new NotFoundError(`${this.name}: member ${path} not found in the archive`);
    if (m.size === 0) return Readable.from([]);
    return createReadStream(this.index.file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: BLOB_READ_BYTES });
  }

  async head(path: string, n: number): Promise<Buffer> {
    const m = this.member(path);
    if (!m) throw new NotFoundError(`${this.name}: member ${path} not found in the archive`);
    if (m.size === 0 || n <= 0) return Buffer.alloc(0);
    return readHead(createReadStream(this.index.file, { start: m.offset, end: m.offset + Math.min(n, m.size) - 1 }), n);
  }
}
