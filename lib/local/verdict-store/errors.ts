import { TrustError } from '../../engine/errors';

/**
 * The writer lock of an embedded verdict store could not be taken within the configured time: another
 * process keeps it (a long run of writes, or a holder on another host whose liveness cannot be checked).
 * Nothing was written; the call may be retried.
 */
export class VerdictStoreLockedError extends TrustError {
  constructor(
    /** The lock file, for the message a user acts on (delete it if the holder is really gone). */
    readonly lockFile: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('VERDICT_STORE_LOCKED', message, options);
  }
}
