import { TrustError } from '../errors';

/**
 * An evaluation handed to a verdict store is not well-formed (a timestamp that is not RFC 3339, an
 * unknown status, a negative count…). Nothing is written.
 */
export class InvalidVerdictError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_VERDICT', message, options);
  }
}

/**
 * Stored verdict data cannot be read back (a file or item that does not decode, an inventory whose
 * chunks do not add up). Raised rather than answering "no verdict" or "no packages" (fail closed).
 */
export class VerdictStoreCorruptError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERDICT_STORE_CORRUPT', message, options);
  }
}
