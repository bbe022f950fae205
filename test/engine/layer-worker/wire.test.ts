import { ClamdError } from '../../../lib/engine/checks/malware/clamd';
import { CompressionError, DigestMismatchError, LimitExceededError, RegistryError, ScanTimeoutError, SizeMismatchError, TarFormatError, UnsupportedMediaTypeError } from '../../../lib/engine/errors';
import { fromWire, toWire } from '../../../lib/engine/layer-worker/wire';
import { isUnscannable } from '../../../lib/engine/scan-image';

/** Errors cross the thread through a structured clone: what the main thread gets back must be the error the worker threw. */
const roundTrip = (e: unknown): Error => fromWire(structuredClone(toWire(e)));

describe('layer worker errors on the wire', () => {
  it.each<[string, Error, boolean]>([
    ['a cap', new LimitExceededError('maxEntries', 25, 'layer sha256:ab has more entries'), true],
    ['a corrupt tar, with its offset', new TarFormatError('bad checksum', 1536), true],
    ['corrupt compression, with its cause', new CompressionError('gzip: incorrect data check', { cause: new Error('incorrect data check') }), true],
    ['an unknown media type', new UnsupportedMediaTypeError('application/x-unknown', 'layer'), true],
    ['a digest mismatch (integrity: aborts)', new DigestMismatchError('sha256:aa', 'sha256:bb', 'layer 1 diff_id'), false],
    ['a size mismatch', new SizeMismatchError(10, 11), false],
    ['a registry error with its status', new RegistryError('HTTP 502', 502), false],
    ['the scan deadline', new ScanTimeoutError('--timeout 1s', 'blob sha256:aa'), false],
  ])('%s: the same class, message, code and properties; unscannable stays unscannable', (_name, e, unscannable) => {
    const back = roundTrip(e);
    expect(back).toBeInstanceOf(e.constructor);
    expect(back).toEqual(e);
    expect(back.message).toBe(e.message);
    expect({ ...back }).toEqual({ ...e });
    expect(isUnscannable(back)).toBe(unscannable);
    if (e.cause) expect((back.cause as Error).message).toBe((e.cause as Error).message);
  });

  it.each<[string, unknown, string]>([
    // Not an engine class: a plain Error with the name, message and code — never unscannable, so it propagates.
    ['a check\'s own error class', new ClamdError('clamd answered ERROR'), 'ClamdError'],
    ['a TypeError', new TypeError('x is not a function'), 'TypeError'],
    ['a thrown string', 'boom', 'Error'],
  ])('%s: an Error that keeps its name and message, and is not unscannable', (_name, e, name) => {
    const back = roundTrip(e);
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe(name);
    expect(back.message).toBe(e instanceof Error ? e.message : String(e));
    expect(isUnscannable(back)).toBe(false);
    if (e instanceof ClamdError) expect((back as Error & { code: string }).code).toBe('CLAMD_ERROR');
  });

  it('a forwarded error (a blob stream\'s, handed to the worker) goes back by its id', () => {
    const inWorker = fromWire(structuredClone(toWire(new DigestMismatchError('sha256:aa', 'sha256:bb'), 7)));
    // The worker's reader rethrows it (maybe after wrapping nothing): the answer names the main thread's object.
    expect(toWire(inWorker).forwarded).toBe(7);
    expect(toWire(new DigestMismatchError('sha256:aa', 'sha256:bb')).forwarded).toBeUndefined();
  });
});
