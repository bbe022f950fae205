import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, LimitExceededError, SizeMismatchError } from '../errors';
import { type Descriptor, type Digest, digestAlgorithm, digestOf } from '../model';

/**
 * A pass-through stream that hashes and counts what flows through it and fails — before it ends —
 * when the content is longer than `desc.size` (at the first extra byte, so an endless stream is cut
 * off at once), shorter, or hashes to another digest (RELIABILITY.md 18, 20). Every blob we read,
 * from a registry or an archive, passes through one of these.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private seen = 0;
  constructor(private readonly desc: Pick<Descriptor, 'digest' | 'size'>, private readonly what = `blob ${desc.digest}`) {
    super();
    this.hash = createHash(digestAlgorithm(desc.digest));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.desc.size) {
      cb(new SizeMismatchError(this.desc.size, this.seen, this.what));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.seen !== this.desc.size) {
      cb(new SizeMismatchError(this.desc.size, this.seen, this.what));
      return;
    }
    const actual = `${digestAlgorithm(this.desc.digest)}:${this.hash.digest('hex')}`;
    cb(actual === this.desc.digest ? null : new DigestMismatchError(this.desc.digest, actual, this.what));
  }
  /** Bytes that have passed so far. */
  get bytesSeen(): number {
    return this.seen;
  }
}

/** Checks a buffer read in full (manifests, configs) against its digest and, when given, its size. */
export function verifyBytes(bytes: Buffer, digest: Digest, size?: number, what = 'content'): void {
  if (size !== undefined && bytes.length !== size) throw new SizeMismatchError(size, bytes.length, what);
  const actual = digestOf(bytes, digest);
  if (actual !== digest) throw new DigestMismatchError(digest, actual, what);
}

/** Refuses a descriptor whose declared size is over `max` before anything is read. */
export function checkDeclaredSize(desc: Pick<Descriptor, 'size' | 'digest'>, max: number, limit: string): void {
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new SizeMismatchError(0, desc.size, `descriptor of ${desc.digest}`);
  if (desc.size > max) throw new LimitExceededError(limit, max, `${desc.digest} declares ${desc.size} bytes`);
}
