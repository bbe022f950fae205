import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { DigestMismatchError, LimitExceededError, SizeMismatchError } from '../../../lib/engine/errors';
import { sha256Digest } from '../../../lib/engine/model';
import { VerifyingStream, checkDeclaredSize, verifyBytes } from '../../../lib/engine/registry/verify';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';

async function drain(chunks: Iterable<Buffer> | AsyncIterable<Buffer>, v: VerifyingStream): Promise<number> {
  let n = 0;
  await pipeline(Readable.from(chunks), v, new Writable({ write: (c: Buffer, _e, cb) => ((n += c.length), cb()) }));
  return n;
}

describe('VerifyingStream (RELIABILITY.md 18, 20)', () => {
  const body = Buffer.from('layer bytes');
  const desc = { digest: sha256Digest(body), size: body.length };

  it('passes content that matches digest and size', async () => {
    expect(await drain([body.subarray(0, 3), body.subarray(3)], new VerifyingStream(desc))).toBe(body.length);
  });

  it.each([
    ['same size, other bytes', [Buffer.from('LAYER BYTES')], DigestMismatchError],
    ['shorter than declared', [body.subarray(0, 5)], SizeMismatchError],
    ['longer than declared', [body, Buffer.from('!')], SizeMismatchError],
  ])('%s fails', async (_n, chunks, cls) => {
    await expect(drain(chunks, new VerifyingStream(desc))).rejects.toThrow(cls);
  });

  it('an endless stream is cut off at the first byte past the declared size', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        produced += 4096;
        yield Buffer.alloc(4096);
      }
    }
    await expect(drain(endless(), new VerifyingStream({ digest: desc.digest, size: 10_000 }))).rejects.toThrow(SizeMismatchError);
    expect(produced).toBeLessThan(64 * 1024);
  });

  it('verifyBytes and checkDeclaredSize', () => {
    expect(() => verifyBytes(body, desc.digest, body.length)).not.toThrow();
    expect(() => verifyBytes(Buffer.from('x'), desc.digest)).toThrow(DigestMismatchError);
    expect(() => checkDeclaredSize({ digest: desc.digest, size: 2 ** 40 }, DEFAULT_LIMITS.maxBlobBytes, 'maxBlobBytes')).toThrow(LimitExceededError);
    expect(() => checkDeclaredSize({ digest: desc.digest, size: -5 }, 10, 'maxBlobBytes')).toThrow(SizeMismatchError);
  });
});
