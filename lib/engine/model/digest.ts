import { createHash } from 'node:crypto';
import { InvalidReferenceError } from '../errors';

/**
 * A content digest `algorithm:hex` as defined by the OCI image spec (descriptor.md#digests), restricted
 * to the registered algorithms we verify: sha256 and sha512. Branded so that an unchecked string can
 * never be used where a verified digest is expected (RELIABILITY.md 23: validate before use as a key).
 */
export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_PATTERNS: Record<string, RegExp> = {
  sha256: /^sha256:[a-f0-9]{64}$/,
  sha512: /^sha512:[a-f0-9]{128}$/,
};

/** True when `s` is a digest of a supported algorithm in canonical lowercase hex form. */
export function isDigest(s: unknown): s is Digest {
  if (typeof s !== 'string') return false;
  const alg = s.slice(0, s.indexOf(':'));
  return DIGEST_PATTERNS[alg]?.test(s) ?? false;
}

/** Validates and brands a digest; throws {@link InvalidReferenceError} otherwise. */
export function parseDigest(s: unknown, what = 'digest'): Digest {
  if (!isDigest(s)) throw new InvalidReferenceError(`invalid ${what}: ${JSON.stringify(String(s).slice(0, 200))}`);
  return s;
}

/** The hash algorithm name Node's crypto uses for a digest. */
export function digestAlgorithm(d: Digest): 'sha256' | 'sha512' {
  return d.slice(0, d.indexOf(':')) as 'sha256' | 'sha512';
}

/** sha256 digest of a buffer. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** Digest of `data` with the same algorithm as `like`. */
export function digestOf(data: Uint8Array, like: Digest): Digest {
  const alg = digestAlgorithm(like);
  return `${alg}:${createHash(alg).update(data).digest('hex')}` as Digest;
}

/** The first 12 hex characters, as `docker images` prints them. */
export function shortDigest(d: Digest): string {
  return d.slice(d.indexOf(':') + 1, d.indexOf(':') + 13);
}
