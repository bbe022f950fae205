/**
 * A {@link NotificationLedger} in a directory, for the CLI and anything else on one machine without
 * a database: one file per claimed key, named by the key's SHA-256, created with `open(…, 'wx')`
 * (O_CREAT | O_EXCL), which the kernel makes atomic — of two processes claiming the same key at
 * once, exactly one creates the file (POSIX open(2)). Releasing deletes it.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NotificationLedgerError } from './errors';
import type { NotificationLedger } from './ledger';

/** Options of {@link FileNotificationLedger}. */
export interface FileLedgerOptions {
  /** Now, in ms since the epoch, recorded in each claim file for people reading the directory. */
  readonly now?: () => number;
}

/**
 * Claims as files `<dir>/<sha256(key)>.json`. The name is a hash, never the key: keys hold feed
 * names and exception ids from configuration, which must not pick a path (DESIGN.md "Never
 * extract": nothing outside chooses a host path). The file holds the key and the claim time.
 */
export class FileNotificationLedger implements NotificationLedger {
  private ready?: Promise<void>;
  private readonly now: () => number;

  constructor(
    /** The ledger directory; created (mode 0700) on first use. */
    readonly dir: string,
    options: FileLedgerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The file that records `key`. */
  pathOf(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (err: unknown) => {
        this.ready = undefined;
        throw new NotificationLedgerError(`cannot create the notification ledger directory ${this.dir}`, { cause: err });
      },
    );
    return this.ready;
  }

  /** Creates the key's file exclusively: true when this call created it, false when it existed. */
  async claim(key: string): Promise<boolean> {
    await this.ensureDir();
    let file;
    try {
      file = await open(this.pathOf(key), 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new NotificationLedgerError(`cannot claim notification key ${JSON.stringify(key)}`, { cause: err });
    }
    // The exclusive create is the claim; the content is for people reading the directory, so a
    // failed write (disk full) does not undo it.
    try {
      await file.writeFile(`${JSON.stringify({ key, claimedAt: new Date(this.now()).toISOString() })}\n`);
    } catch {
      // keep the claim
    } finally {
      await file.close().catch(() => undefined);
    }
    return true;
  }

  /** Deletes the key's file; a missing file is fine (released already, or never claimed). */
  async release(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new NotificationLedgerError(`cannot release notification key ${JSON.stringify(key)}`, { cause: err });
    }
  }
}
