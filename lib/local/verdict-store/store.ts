import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isDigest, parseDigest, type Digest } from '../../engine/model';
import { checkInventory, decodeInventory, encodeInventory } from '../../engine/verdicts/codec';
import { VerdictStoreCorruptError } from '../../engine/verdicts/errors';
import { checkEvaluation, checkHistoryLimit, decideWrite, parseStoredVerdict, withRevision } from '../../engine/verdicts/order';
import type { PutVerdictResult, StoredInventory, StoredVerdict, VerdictEvaluation, VerdictHistoryOptions, VerdictStore } from '../../engine/verdicts/port';
import { AdvisoryStoreLockedError, StoreLock } from '../advisory-store';
import { VerdictStoreLockedError } from './errors';

/*
 * On disk, a store is one directory (`<alg>-<hex>` is a digest with `:` replaced, valid on every file
 * system; digests are validated before they name a file):
 *
 *   lock                                  present while one write call runs (the advisory store's StoreLock)
 *   waiting/<start>-<pid>-<random>        tickets of writers waiting for the lock (fair order, see `locked`)
 *   verdicts/<alg>-<hex>.json             current verdict of a digest: the commit point of a put
 *   history/<alg>-<hex>/<revision>.json   every written revision (10-digit zero-padded), never changed
 *   inventories/<alg>-<hex>.json.gz       gzip of the inventory's JSON
 *   packages.log                          package index: append-only JSON lines {"digest","keys"}
 *
 * Every file except the log is written whole to a private temporary file, fsynced and renamed into
 * place (then the directory is fsynced): a reader sees the old file or the new one, never a mix.
 *
 * Concurrency: `put` and `indexPackages` read, decide and write under the lock file, so two processes
 * (a push scan and a rescan, RELIABILITY.md 30) are serialised and neither update is lost — the second
 * one sees the first's result and is refused or becomes the next revision. A lock whose holder died is
 * taken over (lock.ts); a busy lock is waited for up to `lockTimeoutMs`, in the order the calls started
 * (waiting tickets: no writer starves behind another that writes in a loop). Inside one process the work
 * under the lock is synchronous: no other call runs in between. `putInventory` needs no lock: an
 * inventory is replaced whole by rename, the last writer wins (both wrote the same digest's content).
 * Reads take no lock.
 *
 * A put writes the history file of the new revision first, then the current verdict. A crash in
 * between leaves a history file above the current revision: `history` ignores it and the next put of
 * that revision replaces it. A crash while appending to the log leaves a line without its newline:
 * readers stop before it, the next writer cuts it off (under the lock, nobody else is appending).
 * Temporary files of a crashed writer (`.<name>.<pid>.<random>.tmp`) are ignored by every read.
 */

/** Name of the lock file inside a store directory. */
export const VERDICT_LOCK_FILE = 'lock';
/** Name of the package index log inside a store directory. */
export const VERDICT_PACKAGE_LOG = 'packages.log';

const VERDICTS = 'verdicts';
const HISTORY = 'history';
const INVENTORIES = 'inventories';
const WAITING = 'waiting';
const REVISION_DIGITS = 10;
/** A waiter's ticket not refreshed for this long belongs to a process that died or stopped: ignored. */
const STALE_TICKET_MS = 1000;

/** Options of {@link EmbeddedVerdictStore}. */
export interface EmbeddedVerdictStoreOptions {
  /** How long a write waits for another writer's lock before {@link VerdictStoreLockedError}. Default 30 000 ms. */
  readonly lockTimeoutMs?: number;
}

/** `$TRUSTCTL_DATA_DIR/verdicts`, else `$XDG_DATA_HOME/trustctl/verdicts`, else `~/.local/share/trustctl/verdicts`. */
export function defaultVerdictDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRUSTCTL_DATA_DIR) return join(env.TRUSTCTL_DATA_DIR, 'verdicts');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'trustctl', 'verdicts');
}

const isErrno = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException | undefined)?.code === code;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** `sha256:ab…` → `sha256-ab…` (the digest is validated first: only `[a-z0-9:]`). */
const fileName = (d: Digest): string => d.replace(':', '-');
const revisionFile = (revision: number): string => `${String(revision).padStart(REVISION_DIGITS, '0')}.json`;

function syncDir(dir: string): void {
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // Directories cannot be opened on Windows, where rename is durable anyway.
  }
}

function writeFully(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

/** Writes `file` whole: temporary file in the same directory, fsync, rename, fsync of the directory. */
function writeAtomic(dir: string, name: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx');
  try {
    writeFully(fd, bytes);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, join(dir, name));
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  syncDir(dir);
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
}

/**
 * The embedded {@link VerdictStore}: a directory of JSON files and one append-only log, safe for
 * several processes at once (design and format at the top of this file). No object state but the
 * package index read from the log so far: any number of objects, in any number of processes, may use
 * one directory.
 */
export class EmbeddedVerdictStore implements VerdictStore {
  private readonly lockTimeoutMs: number;
  /** Package key → digests, as far as {@link logOffset} of the package log. */
  private readonly packages = new Map<string, Set<Digest>>();
  /** Bytes of the package log read into {@link packages} (always just after a newline). */
  private logOffset = 0;

  constructor(
    /** The store directory (created on the first write). */
    readonly dir: string,
    options: EmbeddedVerdictStoreOptions = {},
  ) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  }

  /** The current verdict of `digest`, or undefined. */
  async get(digest: Digest): Promise<StoredVerdict | undefined> {
    return this.readCurrent(parseDigest(digest));
  }

  /** Stores `evaluation` unless the stored verdict is newer or the same evaluation (under the lock). */
  async put(evaluation: VerdictEvaluation): Promise<PutVerdictResult> {
    const e = checkEvaluation(evaluation);
    return this.locked((lock) => {
      const stored = this.readCurrent(e.digest);
      const decision = decideWrite(stored, e);
      if (decision === 'older' || decision === 'same') return { written: false, current: stored! };
      const next = withRevision(e, (stored?.revision ?? 0) + 1);
      const json = `${JSON.stringify(next)}\n`;
      const hist = join(this.dir, HISTORY, fileName(e.digest));
      mkdirSync(hist, { recursive: true });
      writeAtomic(hist, revisionFile(next.revision), json);
      // Never commit under a lock someone removed or took over: their write may be in flight.
      this.assertHeld(lock);
      mkdirSync(join(this.dir, VERDICTS), { recursive: true });
      writeAtomic(join(this.dir, VERDICTS), `${fileName(e.digest)}.json`, json);
      return { written: true, revision: next.revision, current: next };
    });
  }

  /** Written revisions of `digest` up to the current one, newest first. */
  async history(digest: Digest, options: VerdictHistoryOptions = {}): Promise<readonly StoredVerdict[]> {
    const limit = checkHistoryLimit(options.limit);
    const d = parseDigest(digest);
    const current = this.readCurrent(d);
    if (!current) return [];
    const dir = join(this.dir, HISTORY, fileName(d));
    const revisions = listOrEmpty(dir)
      .filter((n) => /^\d+\.json$/.test(n))
      .map((n) => Number(n.slice(0, -5)))
      .filter((r) => r >= 1 && r <= current.revision)
      .sort((a, b) => b - a);
    const out: StoredVerdict[] = [];
    for (const r of limit === undefined ? revisions : revisions.slice(0, limit)) {
      const body = readOrUndefined(join(dir, revisionFile(r)));
      if (body === undefined) continue;
      out.push(parseStoredVerdict(parseJson(body, `history of ${d} revision ${r}`), d, r));
    }
    if (out[0]?.revision !== current.revision) throw new VerdictStoreCorruptError(`history of ${d} lacks the current revision ${current.revision}`);
    return out;
  }

  /** Replaces the inventory of `digest` (atomic rename; no lock). */
  async putInventory(digest: Digest, inventory: StoredInventory): Promise<void> {
    const d = parseDigest(digest);
    checkInventory(inventory);
    const dir = join(this.dir, INVENTORIES);
    mkdirSync(dir, { recursive: true });
    writeAtomic(dir, `${fileName(d)}.json.gz`, encodeInventory(inventory));
  }

  /** The stored inventory of `digest`, or undefined. */
  async getInventory(digest: Digest): Promise<StoredInventory | undefined> {
    const d = parseDigest(digest);
    const body = readOrUndefined(join(this.dir, INVENTORIES, `${fileName(d)}.json.gz`));
    return body === undefined ? undefined : decodeInventory(body, d);
  }

  /** Appends the (digest, key) pairs not indexed yet to the package log (under the lock). */
  async indexPackages(digest: Digest, packageKeys: readonly string[]): Promise<void> {
    const d = parseDigest(digest);
    for (const k of packageKeys) if (typeof k !== 'string') throw new TypeError('package keys must be strings');
    if (packageKeys.length === 0) return;
    await this.locked((lock) => {
      const fd = openSync(join(this.dir, VERDICT_PACKAGE_LOG), 'a+');
      try {
        this.catchUp(fd);
        const fresh = [...new Set(packageKeys)].filter((k) => !this.packages.get(k)?.has(d)).sort();
        if (fresh.length === 0) return;
        // Under the lock nobody else appends: bytes past the last newline are a crashed writer's torn line.
        if (fstatSync(fd).size > this.logOffset) ftruncateSync(fd, this.logOffset);
        this.assertHeld(lock);
        writeFully(fd, Buffer.from(`${JSON.stringify({ digest: d, keys: fresh })}\n`, 'utf8'));
        fsyncSync(fd);
        this.catchUp(fd);
      } finally {
        closeSync(fd);
      }
    });
  }

  /** Digests indexed under `packageKey`, sorted (the log is read up to its end first). */
  async digestsForPackage(packageKey: string): Promise<readonly Digest[]> {
    let fd: number;
    try {
      fd = openSync(join(this.dir, VERDICT_PACKAGE_LOG), 'r');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
    try {
      this.catchUp(fd);
    } finally {
      closeSync(fd);
    }
    return [...(this.packages.get(packageKey) ?? [])].sort();
  }

  /** Digests with a current verdict, sorted. */
  async listDigests(): Promise<readonly Digest[]> {
    const out: Digest[] = [];
    for (const n of listOrEmpty(join(this.dir, VERDICTS))) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      const d = n.slice(0, -5).replace('-', ':');
      if (isDigest(d)) out.push(d);
    }
    return out.sort();
  }

  // ---- internals -----------------------------------------------------------------------------------

  private readCurrent(d: Digest): StoredVerdict | undefined {
    const body = readOrUndefined(join(this.dir, VERDICTS, `${fileName(d)}.json`));
    return body === undefined ? undefined : parseStoredVerdict(parseJson(body, `verdict of ${d}`), d);
  }

  /** Reads the package log from {@link logOffset} to its last newline into {@link packages}. */
  private catchUp(fd: number): void {
    const size = fstatSync(fd).size;
    if (size < this.logOffset) {
      // The log shrank below what we read (replaced by hand): start over.
      this.packages.clear();
      this.logOffset = 0;
    }
    if (size === this.logOffset) return;
    const buf = Buffer.allocUnsafe(size - this.logOffset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, this.logOffset + got);
      if (n === 0) break;
      got += n;
    }
    const end = buf.subarray(0, got).lastIndexOf(0x0a);
    if (end < 0) return;
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      const entry = parseJson(Buffer.from(line, 'utf8'), `package log line at byte ${this.logOffset}`) as { digest?: unknown; keys?: unknown };
      if (!isDigest(entry?.digest) || !Array.isArray(entry.keys) || !entry.keys.every((k) => typeof k === 'string')) {
        throw new VerdictStoreCorruptError(`package log ${join(this.dir, VERDICT_PACKAGE_LOG)} has a line that is not {digest, keys}`);
      }
      for (const k of entry.keys as string[]) {
        let s = this.packages.get(k);
        if (!s) this.packages.set(k, (s = new Set()));
        s.add(entry.digest);
      }
    }
    this.logOffset += end + 1;
  }

  /**
   * Runs `fn` holding the store's lock file, waiting (polling with jitter) while another writer holds
   * it. `fn` is synchronous, so nothing else in this process runs while the lock is held.
   *
   * Fairness: a polling lock lets a process that writes in a loop re-take the lock microseconds after
   * releasing it, starving a waiter that polls every few milliseconds. So a caller that has to wait
   * leaves a ticket in `waiting/` (named by the time its call started, refreshed at every poll), and a
   * caller steps aside while a fresh ticket older than its own call exists: writers get the lock in
   * the order their calls started. A ticket not refreshed for {@link STALE_TICKET_MS} (its process died
   * or stopped) is ignored.
   */
  private async locked<T>(fn: (lock: StoreLock) => T): Promise<T> {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, VERDICT_LOCK_FILE);
    const waiting = join(this.dir, WAITING);
    const start = Date.now();
    const deadline = start + this.lockTimeoutMs;
    // Fixed-width start time first: names sort in call order (ties broken by pid and a random part).
    const me = `${String(start).padStart(15, '0')}-${process.pid}-${randomBytes(4).toString('hex')}`;
    let ticket: string | undefined;
    let last: AdvisoryStoreLockedError | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        if (!olderTicket(waiting, me)) {
          let lock: StoreLock | undefined;
          try {
            lock = StoreLock.acquire(file);
          } catch (e) {
            if (!(e instanceof AdvisoryStoreLockedError)) throw e;
            last = e;
          }
          if (lock) {
            try {
              return fn(lock);
            } finally {
              lock.release();
            }
          }
        }
        if (Date.now() >= deadline) {
          const who = last?.pid === undefined ? 'another writer' : `pid ${last.pid}${last.host ? ` on ${last.host}` : ''}`;
          throw new VerdictStoreLockedError(file, `verdict store ${this.dir} is locked by ${who} (${file}) for over ${this.lockTimeoutMs} ms; delete the lock file if that process is gone`, { cause: last });
        }
        ticket = takeTicket(waiting, me, ticket);
        await sleep(1 + Math.random() * Math.min(20, 2 ** Math.min(attempt, 5)));
      }
    } finally {
      if (ticket) dropTicket(ticket);
    }
  }

  private assertHeld(lock: StoreLock): void {
    if (!lock.held()) throw new VerdictStoreLockedError(lock.file, `the verdict store lock ${lock.file} was removed or taken over; not committing`);
  }
}

/** Whether a fresh ticket of a caller that started before `me` is waiting (see EmbeddedVerdictStore.locked). */
function olderTicket(waiting: string, me: string): boolean {
  const now = Date.now();
  for (const name of listOrEmpty(waiting)) {
    if (name >= me) continue;
    try {
      if (now - statSync(join(waiting, name)).mtimeMs < STALE_TICKET_MS) return true;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e; // it just got the lock and left
    }
  }
  return false;
}

/** Creates this caller's ticket, or refreshes it; returns its path. */
function takeTicket(waiting: string, me: string, ticket: string | undefined): string {
  const path = ticket ?? join(waiting, me);
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    mkdirSync(waiting, { recursive: true });
    writeFileSync(path, '');
  }
  return path;
}

function dropTicket(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new VerdictStoreCorruptError(`${what} is not valid JSON`, { cause: err });
  }
}
