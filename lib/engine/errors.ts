/**
 * One error tree for the whole product (style of Powertools and ky): every failure the engine can
 * report is a named subclass of {@link TrustError} with a stable `code` and, where another error
 * caused it, a standard `cause`. Callers branch on `instanceof` or `code`, never on message text.
 *
 * An error raised while reading an image becomes an "unscannable" finding upstream: the image is
 * never trusted on error (../shared/DESIGN.md, "Fail closed").
 */
export class TrustError extends Error {
  /** Stable machine-readable code, e.g. `LIMIT_EXCEEDED`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A reference, digest, tag or path from outside did not match its strict pattern (RELIABILITY.md 23). */
export class InvalidReferenceError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_REFERENCE', message, options);
  }
}

/** A configured cap was hit: manifest bytes, layers, decompressed bytes, entries, depth, file bytes… */
export class LimitExceededError extends TrustError {
  constructor(
    /** Name of the limit in {@link Limits}, e.g. `maxLayerBytes`. */
    readonly limit: string,
    /** The configured value of that limit. */
    readonly max: number,
    message: string,
  ) {
    super('LIMIT_EXCEEDED', `${message} (limit ${limit}=${max})`);
  }
}

/** Content did not hash to the digest it was asked for (RELIABILITY.md 18–19). */
export class DigestMismatchError extends TrustError {
  constructor(readonly expected: string, readonly actual: string, what = 'content') {
    super('DIGEST_MISMATCH', `${what} digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** Content was shorter or longer than its descriptor said (RELIABILITY.md 18). */
export class SizeMismatchError extends TrustError {
  constructor(readonly expected: number, readonly actual: number, what = 'content') {
    super('SIZE_MISMATCH', `${what} size mismatch: expected ${expected} bytes, got ${actual}${actual > expected ? '+' : ''}`);
  }
}

/** A media type we do not know how to read: unscannable, never trusted (RELIABILITY.md 17). */
export class UnsupportedMediaTypeError extends TrustError {
  constructor(readonly mediaType: string, what = 'blob') {
    super('UNSUPPORTED_MEDIA_TYPE', `unsupported ${what} media type: ${JSON.stringify(mediaType)}`);
  }
}

/** A manifest, index or config that is not what the OCI / Docker specs allow. */
export class ManifestError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_MANIFEST', message, options);
  }
}

/** A tar stream that cannot be parsed safely (bad checksum, truncated, overflowing size…). */
export class TarFormatError extends TrustError {
  constructor(message: string, readonly offset?: number, options?: { cause?: unknown }) {
    super('BAD_TAR', offset === undefined ? message : `${message} at byte ${offset}`, options);
  }
}

/** A compressed stream that cannot be decoded. */
export class CompressionError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_COMPRESSION', message, options);
  }
}

/** An image archive on disk (docker-archive, oci-archive, OCI layout) that is malformed. */
export class ArchiveFormatError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_ARCHIVE', message, options);
  }
}

/** A registry answered with an HTTP error we cannot recover from. */
export class RegistryError extends TrustError {
  constructor(message: string, readonly status?: number, options?: { cause?: unknown }) {
    super('REGISTRY_ERROR', message, options);
  }
}

/** The registry refused our credentials, or no credentials were available. */
export class AuthError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTH_ERROR', message, options);
  }
}

/** The manifest or blob does not exist in the registry or archive. */
export class NotFoundError extends TrustError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** A redirect we refuse to follow (too many, a scheme downgrade…) (RELIABILITY.md 22). */
export class RedirectError extends TrustError {
  constructor(message: string) {
    super('BAD_REDIRECT', message);
  }
}

/** A tag cannot be written because the repository's tags are immutable (ECR, Harbor). */
export class ImmutableTagError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMMUTABLE_TAG', message, options);
  }
}

/**
 * The scan's overall deadline passed (`trustctl scan --timeout`, or the Lambda's remaining time in the
 * pipeline) before the image was read to the end. Not a property of the image: the scan is abandoned
 * and no verdict is recorded (CLI exit 2; the pipeline's message is retried) — RELIABILITY.md 60.
 */
export class ScanTimeoutError extends TrustError {
  constructor(
    /** What set the deadline, e.g. `--timeout 30m` or `the Lambda's remaining time`. */
    readonly deadline: string,
    /** What was being read when it passed, if anything. */
    readonly during?: string,
  ) {
    super('SCAN_TIMEOUT', `the scan's deadline passed (${deadline})${during ? ` while reading ${during}` : ''}: the scan was abandoned, no verdict`);
  }
}

/**
 * One download stalled (no bytes for the idle timeout) or crawled (below the minimum transfer rate
 * over the rate window): a registry trickling a manifest, a blob or a token must not hold a scan
 * (RELIABILITY.md 60). Like any transport failure it aborts the scan without a verdict.
 */
export class TransferTimeoutError extends TrustError {
  constructor(
    /** `idle`: nothing arrived for `idleTimeoutMs`; `slow`: below `minBytesPerSecond` over the window. */
    readonly reason: 'idle' | 'slow',
    message: string,
  ) {
    super('TRANSFER_TIMEOUT', message);
  }
}

/**
 * Building trustctl's own image (`npm run image`, lib/local/builder/serve-image.ts) failed: a Debian
 * package could not be fetched or unpacked, a shared library the Node binary needs is in none of the
 * packages, or the app could not be bundled. The build stops; no half image is written.
 */
export class ImageBuildError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_BUILD', message, options);
  }
}
