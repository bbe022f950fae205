import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { AdvisoryStoreLockedError } from './errors';

/** What a lock file says about its holder (one JSON object, written whole before the lock exists). */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** Random per acquisition: tells "still my lock" from "a lock someone re-took with my pid". */
  readonly token: string;
  readonly since: string;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string') return o as LockOwner;
  } catch {
    // Falls through: garbage is not an owner.
  }
  return undefined;
}

/**
 * Whether the holder may still be running. Only a process on this host can be probed; one on another
 * host (a home directory on NFS) is assumed alive, because stealing a live lock corrupts the store
 * while refusing a dead one only asks the user to delete a file.
 */
function ownerAlive(o: LockOwner): boolean {
  if (o.host !== hostname()) return true;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid exists but belongs to another user — alive.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Who holds the lock file `file`, if anyone, and whether that holder may still be running (a dead
 * holder's lock is what a killed writer leaves). For `trustctl feeds status`: a source marked
 * in-progress is being synced right now only while a live writer holds the lock.
 */
export function lockHolder(file: string): { readonly pid: number; readonly host: string; readonly since: string; readonly alive: boolean } | undefined {
  const text = readOrUndefined(file);
  const o = text === undefined ? undefined : parseOwner(text);
  return o ? { pid: o.pid, host: o.host, since: typeof o.since === 'string' ? o.since : '', alive: ownerAlive(o) } : undefined;
}

/** How old an unreadable lock file must be to count as garbage rather than as a lock being written. */
const GARBAGE_LOCK_AGE_MS = 10_000;

function mtimeMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0; // gone: as good as garbage
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Creates `file` holding `content`, failing with EEXIST when it exists. The content goes to a private
 * temporary file first and is hard-linked into place, so the lock never exists half-written (a reader
 * of a half-written lock could not tell a crashed writer from one still writing). File systems without
 * hard links fall back to O_EXCL.
 */
function createExclusive(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    const fd = openSync(file, 'wx');
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // A leftover temporary file is harmless; the lock is what matters.
    }
  }
}

/**
 * The single-writer lock of an advisory store directory: a file created exclusively, naming the
 * holder's pid, host and a random token. A lock whose holder is dead on this host (crash, kill -9) is
 * taken over; a live one raises {@link AdvisoryStoreLockedError}.
 */
export class StoreLock {
  private constructor(
    /** Path of the lock file. */
    readonly file: string,
    private readonly token: string,
  ) {}

  /** Takes the lock at `file` or throws {@link AdvisoryStoreLockedError}. */
  static acquire(file: string): StoreLock {
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      token: randomBytes(12).toString('hex'),
      since: new Date().toISOString(),
    };
    const content = JSON.stringify(owner);
    // A few rounds only: each one either wins, meets a live holder, or removed a stale lock.
    for (let round = 0; round < 5; round++) {
      try {
        createExclusive(file, content);
        return new StoreLock(file, owner.token);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = readOrUndefined(file);
      if (seen === undefined) continue; // released between our attempt and our read
      const holder = parseOwner(seen);
      if (holder && ownerAlive(holder)) throw new AdvisoryStoreLockedError(file, holder.pid, holder.host);
      // An unreadable lock may be one being written right now (the O_EXCL fallback of createExclusive
      // writes after creating): only an old one is garbage.
      if (!holder && Date.now() - mtimeMs(file) < GARBAGE_LOCK_AGE_MS) throw new AdvisoryStoreLockedError(file);
      // Stale (dead holder, or garbage that createExclusive can never have written). Move it aside
      // rather than unlink it: rename is atomic, and what we moved can be checked to be what we judged.
      const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = readOrUndefined(aside);
      if (moved !== seen) {
        // Another process took over the stale lock between our read and our rename: we moved ITS live
        // lock. Put it back (link fails if yet another appeared; then that one stands) and give way.
        try {
          linkSync(aside, file);
        } catch {
          // See above: whichever lock is in place now is the live one.
        }
        unlinkSync(aside);
        const now = parseOwner(readOrUndefined(file) ?? '');
        throw new AdvisoryStoreLockedError(file, now?.pid, now?.host);
      }
      unlinkSync(aside);
    }
    throw new AdvisoryStoreLockedError(file, undefined, undefined, `could not take the advisory store lock ${file}: it keeps changing hands`);
  }

  /** Whether the lock file still carries this acquisition's token (nobody deleted or took it over). */
  held(): boolean {
    const o = parseOwner(readOrUndefined(this.file) ?? '');
    return o?.token === this.token;
  }

  /** Throws {@link AdvisoryStoreLockedError} unless {@link held}: a writer must not commit under a lost lock. */
  assertHeld(): void {
    if (this.held()) return;
    const o = parseOwner(readOrUndefined(this.file) ?? '');
    throw new AdvisoryStoreLockedError(this.file, o?.pid, o?.host, `the advisory store lock ${this.file} was removed or taken over; not committing`);
  }

  /** Removes the lock file if it is still ours; idempotent. */
  release(): void {
    if (!this.held()) return;
    try {
      unlinkSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
