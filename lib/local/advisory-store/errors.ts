import { TrustError } from '../../engine/errors';

/**
 * Another process (or another store object in this one) holds the writer lock of the store: two
 * `trustctl feeds sync` must never append to the same data file. Read-only opens never take the lock.
 */
export class AdvisoryStoreLockedError extends TrustError {
  constructor(
    /** The lock file, for the message a user acts on (delete it if the holder is really gone). */
    readonly lockFile: string,
    /** Process id of the holder, when the lock file names one. */
    readonly pid?: number,
    /** Host of the holder: a lock taken on another host (shared home directory) cannot be checked for staleness. */
    readonly host?: string,
    message?: string,
  ) {
    super(
      'STORE_LOCKED',
      message ??
        `advisory store is locked by ${pid === undefined ? 'another writer' : `pid ${pid}${host ? ` on ${host}` : ''}`} (${lockFile}); ` +
          'wait for it to finish, or delete the lock file if that process is gone',
    );
  }
}

/** A write (upsert, feed state, flush, compaction) on a store opened with `readOnly: true`. */
export class AdvisoryStoreReadOnlyError extends TrustError {
  constructor(operation: string) {
    super('STORE_READ_ONLY', `advisory store is open read-only: ${operation} is not allowed`);
  }
}

/** Any call on a store after `close()`: its file descriptors and lock are gone. */
export class AdvisoryStoreClosedError extends TrustError {
  constructor(operation: string) {
    super('STORE_CLOSED', `advisory store is closed: ${operation} is not allowed`);
  }
}

/**
 * Stored records cannot be trusted: a data file changed behind the index's back. A read-only open
 * raises it when the data file is shorter than committed, and a lookup when a record does not parse,
 * rather than answer "no advisories" (fail closed). An unreadable index is not this error: it is
 * rebuilt from the data file.
 */
export class AdvisoryStoreCorruptError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_CORRUPT', message, options);
  }
}
