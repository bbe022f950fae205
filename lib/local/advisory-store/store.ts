import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { normalizePackageName } from '../../engine/advisories/names';
import type { OsvRecord } from '../../engine/advisories/osv';
import type { AdvisoryStore, FeedState } from '../../engine/ports';
import { AdvisoryStoreClosedError, AdvisoryStoreCorruptError, AdvisoryStoreReadOnlyError } from './errors';
import { DATA_FILE_NAME, EMPTY_COLUMNS, decodeIndex, encodeIndex, type IndexColumns } from './index-file';
import { StoreLock } from './lock';

/*
 * On disk, a store is one directory:
 *
 *   data-<gen>.jsonl  every stored revision, one JSON record per line; append-only between compactions
 *   index             the committed state (index-file.ts): which data file and how many of its bytes
 *                     count, each live record's place, the package keys, the feed states
 *   lock              present while a writer has the store open (lock.ts)
 *
 * The index is the commit record: it is replaced atomically (temp file, fsync, rename) only after the
 * data it points at is synced, so whatever happens to a writer, readers and the next writer see the
 * last committed state. Bytes a crashed writer appended past the index's `dataLength` are cut off by
 * the next writer; data files of another generation are leftovers of a crash around a compaction.
 *
 * In memory, the committed index is used as loaded (sorted columns, binary search), and changes since
 * the last commit live in a small overlay (maps); a commit merges both into new columns.
 */

/** Name of the index file inside a store directory. */
export const ADVISORY_INDEX_FILE = 'index';
/** Name of the writer's lock file inside a store directory. */
export const ADVISORY_LOCK_FILE = 'lock';

/** Appended records are encoded into a buffer of this size and written when it fills: few, large writes. */
const WRITE_BUFFER_BYTES = 8 << 20;
/** Chunk size for copying live records during compaction and for scanning a data file during rebuild. */
const COPY_CHUNK_BYTES = 8 << 20;
/**
 * Parsed records kept for repeated lookups (a scan of many images asks for the same packages again and
 * again): between this many and twice this many of the most recently used. 8192: a Debian image's
 * lookups touch ~6,400 records (bench/feeds), which must fit in one generation or every scan re-parses
 * a third of them; at ~3.2 KiB a parsed record, at most ~50 MiB.
 */
const RECORD_CACHE_GENERATION = 8192;

/** A record written since the last commit: where it is and what it is indexed under. */
interface Entry {
  /** Byte offset of the record's JSON in the current data file. */
  readonly offset: number;
  /** Byte length of the JSON, without the newline. */
  readonly length: number;
  /** `modified` in epoch milliseconds; NaN when it does not parse (then any revision replaces it, as in the memory store). */
  readonly modified: number;
  /** `${ecosystem}\u0000${normalised name}` of every affected package, without duplicates. */
  readonly keys: readonly string[];
}

/** A parsed record and the data offset it was read from. */
interface CachedRecord {
  readonly offset: number;
  readonly record: OsvRecord;
}

/** Options of {@link EmbeddedAdvisoryStore.open}. */
export interface EmbeddedAdvisoryStoreOptions {
  /**
   * Open without the writer lock, for scans: sees the last committed state at open time (also while
   * a sync is running), never writes, and a missing directory is an empty store rather than an error.
   */
  readonly readOnly?: boolean;
}

/** Sizes of a store, for `trustctl feeds` output and for tests. */
export interface EmbeddedAdvisoryStoreStats {
  /** Live records (as {@link EmbeddedAdvisoryStore.count}). */
  readonly records: number;
  /** Distinct (ecosystem, package) keys with at least one record. */
  readonly packages: number;
  /** Bytes of the data file this store object uses: committed, plus (writer) appended since. */
  readonly dataBytes: number;
  /** Bytes of the data file held by replaced revisions, reclaimed by compaction. */
  readonly deadBytes: number;
  /** Generation of the data file (grows by one per compaction). */
  readonly generation: number;
}

function dataFileName(gen: number): string {
  return `data-${gen}.jsonl`;
}

/** The lookup key of one affected package: exact ecosystem, normalised name (the port's contract). */
function packageKey(ecosystem: string, name: string): string {
  return `${ecosystem}\u0000${normalizePackageName(ecosystem, name)}`;
}

/**
 * `modified` as epoch milliseconds, compared like the memory store does (Date.parse: instants, not
 * text). The feed reader also admits a leap second (`…:60Z`), which Date.parse rejects; without the
 * fallback such a record would never compare as "not newer" and be re-appended on every sync.
 */
function modifiedMs(s: string): number {
  const t = Date.parse(s);
  if (!Number.isNaN(t)) return t;
  const leap = /^(.*T\d{2}:\d{2}:)60(.*)$/.exec(s);
  return leap ? Date.parse(`${leap[1]}59${leap[2]}`) + 1000 : NaN;
}

function recordKeys(r: OsvRecord): string[] {
  if (r.affected.length === 1) return [packageKey(r.affected[0].ecosystem, r.affected[0].name)];
  const keys = new Set<string>();
  for (const a of r.affected) keys.add(packageKey(a.ecosystem, a.name));
  return [...keys];
}

/** Position of `s` in ascending `sorted`, or -1. */
function search(sorted: readonly string[], s: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid];
    if (v < s) lo = mid + 1;
    else if (v > s) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

function readFully(fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new AdvisoryStoreCorruptError(`advisory data file ends at byte ${position + done}, expected ${position + length}`);
    done += n;
  }
}

function writeFully(fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, buf, done, length - done, position + done);
}

function syncDir(dir: string): void {
  try {
    // Makes a rename durable. Directories cannot be opened on Windows, where rename is durable anyway.
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // See above.
  }
}

/** `$TRUSTCTL_DATA_DIR/advisories`, else `$XDG_DATA_HOME/trustctl/advisories`, else `~/.local/share/trustctl/advisories` (XDG Base Directory spec: synced advisories are data, not a cache to be wiped). */
export function defaultAdvisoryDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRUSTCTL_DATA_DIR) return join(env.TRUSTCTL_DATA_DIR, 'advisories');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'trustctl', 'advisories');
}

/**
 * The embedded {@link AdvisoryStore} `trustctl` uses on a laptop: a directory holding an append-only
 * JSON-lines data file and a columnar index used in place (no Java, no native addon; a 200k-record
 * store opens in tens of milliseconds). Lookups are a binary search plus one positioned read per
 * record; upserts append.
 *
 * Semantics are those of the port (and of the memory store): the newest `modified` wins, an equal or
 * older revision is ignored, a revision that drops a package leaves that package's lookup.
 *
 * Durability: upserts are visible to this object at once and reach the data file by the end of every
 * `upsert`/`upsertMany` call, but are committed — seen by other processes and by the next open — only at
 * {@link flush}, {@link putFeedState} (a feed state must never be committed ahead of the records it
 * vouches for; one index write for both guarantees that) and {@link close}. A crash loses at most the
 * uncommitted work; the last committed state stays readable.
 *
 * One writer at a time (a lock file; a dead holder's lock is taken over); any number of read-only
 * openers, also while a writer works. File I/O is synchronous on purpose: point reads from the page
 * cache take microseconds, less than a thread-pool round trip, and no state is ever half-updated at
 * an `await`.
 */
export class EmbeddedAdvisoryStore implements AdvisoryStore {
  /** The committed index, as loaded or as the last commit built it. */
  private base: IndexColumns = EMPTY_COLUMNS;
  /** Ordinals of `base` replaced since the last commit (allocated on the first replacement). */
  private dead: Uint8Array | undefined;
  private deadCount = 0;
  /** Records written since the last commit, by id. */
  private readonly overlay = new Map<string, Entry>();
  /** Package key → ids in {@link overlay}. */
  private readonly overlayKeys = new Map<string, Set<string>>();
  private readonly feeds = new Map<string, FeedState>();
  /**
   * id → parsed record at a data offset (the offset tells a stale entry from a current one), in two
   * generations: hits in `older` move to `young`; a full `young` becomes `older`. That is an LRU
   * without per-hit deletes — a Map used as an LRU list slows down as deleted slots pile up.
   */
  private young = new Map<string, CachedRecord>();
  private older = new Map<string, CachedRecord>();
  private gen = 0;
  /** Data file descriptor; undefined only for a read-only store whose directory holds no data yet. */
  private fd: number | undefined;
  /** Bytes of the data file that belong to this state: committed ones plus this session's written appends. */
  private fileLength = 0;
  /** Bytes of live records (with their newlines); the rest of the data file is dead revisions. */
  private liveBytes = 0;
  /** Appends not yet written to the data file. */
  private buf: Buffer | undefined;
  private bufUsed = 0;
  private scratch = Buffer.allocUnsafe(64 << 10);
  /** Something changed since the last commit. */
  private dirty = false;
  private closed = false;

  private constructor(
    /** The store directory. */
    readonly dir: string,
    /** Whether this object may write (see {@link EmbeddedAdvisoryStoreOptions.readOnly}). */
    readonly readOnly: boolean,
    private readonly lock: StoreLock | undefined,
  ) {}

  /**
   * Opens the store in `dir`. A writer creates the directory if needed, takes the lock (throwing
   * AdvisoryStoreLockedError while a live process holds it), drops a crashed writer's uncommitted
   * tail and rebuilds an unreadable index from the data file. A reader takes no lock.
   */
  static async open(dir: string, opts: EmbeddedAdvisoryStoreOptions = {}): Promise<EmbeddedAdvisoryStore> {
    if (opts.readOnly) {
      const store = new EmbeddedAdvisoryStore(dir, true, undefined);
      store.load();
      return store;
    }
    mkdirSync(dir, { recursive: true });
    const lock = StoreLock.acquire(join(dir, ADVISORY_LOCK_FILE));
    const store = new EmbeddedAdvisoryStore(dir, false, lock);
    try {
      store.load();
      store.removeLeftovers();
      // A rebuilt or brand-new store is committed at once, so an index always exists from here on and
      // a missing one later means damage, never "not written yet".
      if (store.dirty) store.commit();
    } catch (e) {
      if (store.fd !== undefined) closeSync(store.fd);
      lock.release();
      throw e;
    }
    return store;
  }

  /** Records affecting `name` (already normalised) in `ecosystem`, ordered by id. */
  async lookup(ecosystem: string, name: string): Promise<readonly OsvRecord[]> {
    this.assertOpen('lookup');
    const key = `${ecosystem}\u0000${name}`;
    const out: OsvRecord[] = [];
    const b = this.base;
    const k = search(b.keys, key);
    if (k >= 0) {
      for (let p = b.postStart[k]; p < b.postStart[k + 1]; p++) {
        const ord = b.postings[p];
        if (this.dead?.[ord]) continue;
        out.push(this.recordAt(b.ids[ord], b.offsets[ord], b.lengths[ord]));
      }
    }
    const fresh = this.overlayKeys.get(key);
    if (fresh) {
      for (const id of fresh) {
        const e = this.overlay.get(id)!;
        out.push(this.recordAt(id, e.offset, e.length));
      }
      // Base postings come in id order; only a mix needs sorting. Id order makes reports identical run to run.
      out.sort((x, y) => byText(x.id, y.id));
    }
    return out;
  }

  /** The stored revision of one record, or undefined. */
  async get(id: string): Promise<OsvRecord | undefined> {
    this.assertOpen('get');
    const e = this.overlay.get(id);
    if (e) return this.recordAt(id, e.offset, e.length);
    const ord = search(this.base.ids, id);
    if (ord < 0 || this.dead?.[ord]) return undefined;
    return this.recordAt(id, this.base.offsets[ord], this.base.lengths[ord]);
  }

  /** Inserts or replaces records by id (newest `modified` wins); returns the changed ids, each once. */
  async upsert(records: readonly OsvRecord[]): Promise<readonly string[]> {
    this.assertWritable('upsert');
    const changed = new Set<string>();
    for (const r of records) if (this.put(r)) changed.add(r.id);
    this.writeBuffered();
    return [...changed];
  }

  /**
   * {@link upsert} for a whole feed: consumes the stream record by record, so memory holds the index
   * and one write buffer, never the feed. Returns the changed ids, each once. Commits nothing by itself.
   */
  async upsertMany(records: AsyncIterable<OsvRecord> | Iterable<OsvRecord>): Promise<string[]> {
    this.assertWritable('upsertMany');
    const changed = new Set<string>();
    if (Symbol.asyncIterator in records) {
      for await (const r of records) {
        // The store may have been closed while we awaited the producer.
        this.assertWritable('upsertMany');
        if (this.put(r)) changed.add(r.id);
      }
    } else {
      // Not `for await`: it would cost a promise per record for nothing on the bulk path.
      for (const r of records) if (this.put(r)) changed.add(r.id);
    }
    this.writeBuffered();
    return [...changed];
  }

  /** The feed state last put for `source` (committed or not), or undefined. */
  async getFeedState(source: string): Promise<FeedState | undefined> {
    this.assertOpen('getFeedState');
    return this.feeds.get(source);
  }

  /** Records a feed's sync state and commits it together with every record upserted so far. */
  async putFeedState(source: string, state: FeedState): Promise<void> {
    this.assertWritable('putFeedState');
    this.feeds.set(source, { ...state });
    this.dirty = true;
    this.commit();
  }

  /** Every source with a feed state, sorted (for `trustctl feeds status` and a scan's feed list). */
  async listFeeds(): Promise<readonly string[]> {
    this.assertOpen('listFeeds');
    return [...this.feeds.keys()].sort();
  }

  /** Live records. */
  async count(): Promise<number> {
    this.assertOpen('count');
    return this.base.ids.length - this.deadCount + this.overlay.size;
  }

  /** Current sizes (see {@link EmbeddedAdvisoryStoreStats}); linear in the number of keys. */
  stats(): EmbeddedAdvisoryStoreStats {
    const b = this.base;
    const dead = this.dead;
    let packages = 0;
    for (let k = 0; k < b.keys.length; k++) {
      let live = !dead || this.overlayKeys.has(b.keys[k]);
      for (let p = b.postStart[k]; !live && p < b.postStart[k + 1]; p++) live = !dead![b.postings[p]];
      if (live) packages++;
    }
    for (const key of this.overlayKeys.keys()) if (search(b.keys, key) < 0) packages++;
    const dataBytes = this.fileLength + this.bufUsed;
    return { records: b.ids.length - this.deadCount + this.overlay.size, packages, dataBytes, deadBytes: dataBytes - this.liveBytes, generation: this.gen };
  }

  /**
   * Commits everything upserted so far: the data file is synced, then the index replaced atomically.
   * Compacts first when replaced revisions fill more than half of the data file.
   */
  async flush(): Promise<void> {
    this.assertWritable('flush');
    this.commit();
  }

  /** Rewrites the data file with live records only and commits, whatever the amount of dead data. */
  async compact(): Promise<void> {
    this.assertWritable('compact');
    this.commit(true);
  }

  /** Commits (writer), closes the data file and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.readOnly) this.commit();
    } finally {
      this.closed = true;
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      this.lock?.release();
      this.clearCache();
    }
  }

  // ---- reading -------------------------------------------------------------------------------------

  private recordAt(id: string, offset: number, length: number): OsvRecord {
    let hit = this.young.get(id);
    if (hit?.offset === offset) return hit.record;
    hit = this.older.get(id);
    const record = hit?.offset === offset ? hit.record : this.readRecord(id, offset, length);
    if (this.young.size >= RECORD_CACHE_GENERATION) {
      this.older = this.young;
      this.young = new Map();
    }
    this.young.set(id, { offset, record });
    return record;
  }

  private clearCache(): void {
    this.young = new Map();
    this.older = new Map();
  }

  private readRecord(id: string, offset: number, length: number): OsvRecord {
    // A record appended in the running upsert call may still be in the write buffer.
    if (offset + length > this.fileLength) this.writeBuffered();
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(Math.max(length, this.scratch.length * 2));
    readFully(this.fd!, this.scratch, length, offset);
    let r: OsvRecord;
    try {
      r = JSON.parse(this.scratch.toString('utf8', 0, length)) as OsvRecord;
    } catch (cause) {
      throw new AdvisoryStoreCorruptError(`advisory ${id} at byte ${offset} of ${join(this.dir, dataFileName(this.gen))} does not parse`, { cause });
    }
    if (r?.id !== id) throw new AdvisoryStoreCorruptError(`advisory data at byte ${offset} of ${join(this.dir, dataFileName(this.gen))} is not ${id}`);
    return r;
  }

  // ---- writing -------------------------------------------------------------------------------------

  /** Stores `r` unless an equal or newer revision is stored; true when it changed the store. */
  private put(r: OsvRecord): boolean {
    const modified = modifiedMs(r.modified);
    const prev = this.overlay.get(r.id);
    const ord = prev ? -1 : search(this.base.ids, r.id);
    // Same comparison as the memory store (instants, not text; an unparseable stored date loses).
    if (prev && prev.modified >= modified) return false;
    if (ord >= 0 && this.base.modified[ord] >= modified) return false;
    // Keys before the append: if normalising throws, nothing was written.
    const keys = recordKeys(r);
    const json = JSON.stringify(r);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit; +1 for the newline.
    const room = json.length * 3 + 1;
    if (!this.buf || this.bufUsed + room > this.buf.length) {
      this.writeBuffered();
      if (!this.buf || room > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(room, WRITE_BUFFER_BYTES));
    }
    const length = this.buf.write(json, this.bufUsed, 'utf8');
    this.buf[this.bufUsed + length] = 0x0a;
    const offset = this.fileLength + this.bufUsed;
    this.bufUsed += length + 1;
    this.place(r.id, { offset, length, modified, keys }, prev, ord);
    return true;
  }

  /** Points the index at a new revision of `id`, dropping the keys of the revision it replaces (overlay entry or base ordinal). */
  private place(id: string, e: Entry, prev: Entry | undefined, ord: number): void {
    if (prev) {
      for (const k of prev.keys) {
        const ids = this.overlayKeys.get(k);
        if (ids && ids.delete(id) && ids.size === 0) this.overlayKeys.delete(k);
      }
      this.liveBytes -= prev.length + 1;
    } else if (ord >= 0) {
      this.dead ??= new Uint8Array(this.base.ids.length);
      this.dead[ord] = 1;
      this.deadCount++;
      this.liveBytes -= this.base.lengths[ord] + 1;
    }
    this.overlay.set(id, e);
    for (const k of e.keys) {
      const ids = this.overlayKeys.get(k);
      if (ids) ids.add(id);
      else this.overlayKeys.set(k, new Set([id]));
    }
    this.liveBytes += e.length + 1;
    this.dirty = true;
  }

  /** Writes buffered appends to the data file (uncommitted until the next index write). */
  private writeBuffered(): void {
    if (this.bufUsed === 0) return;
    writeFully(this.fd!, this.buf!, this.bufUsed, this.fileLength);
    this.fileLength += this.bufUsed;
    this.bufUsed = 0;
  }

  /**
   * The commit: data synced; base and overlay merged into new columns; when dead revisions exceed half
   * the data file (or asked to), live records copied to the next generation's file; the index replaced
   * by rename; only then the in-memory state switched. Any failure before the rename leaves both the
   * files and this object as they were. The lock is checked first: a writer whose lock was removed or
   * taken over must never overwrite another writer's index.
   */
  private commit(forceCompaction = false): void {
    if (!forceCompaction && !this.dirty && this.bufUsed === 0) return;
    this.lock!.assertHeld();
    this.writeBuffered();
    fdatasyncSync(this.fd!);
    let columns = this.merged();
    let next: { fd: number; gen: number; length: number } | undefined;
    if (forceCompaction || (this.fileLength - this.liveBytes) * 2 > this.fileLength) {
      const c = this.compactInto(columns);
      columns = c.columns;
      next = { fd: c.fd, gen: this.gen + 1, length: c.length };
    }
    try {
      this.writeIndex(columns, next ? next.gen : this.gen, next ? next.length : this.fileLength);
    } catch (e) {
      if (next) {
        closeSync(next.fd);
        try {
          unlinkSync(join(this.dir, dataFileName(next.gen)));
        } catch {
          // removeLeftovers deletes it at the next writer open.
        }
      }
      throw e;
    }
    this.base = columns;
    this.dead = undefined;
    this.deadCount = 0;
    this.overlay.clear();
    this.overlayKeys.clear();
    this.dirty = false;
    if (next) {
      const obsolete = dataFileName(this.gen);
      closeSync(this.fd!);
      this.fd = next.fd;
      this.gen = next.gen;
      this.fileLength = next.length;
      this.clearCache(); // offsets changed
      try {
        unlinkSync(join(this.dir, obsolete));
      } catch {
        // Deleted at the next writer open (removeLeftovers); a reader may still have it open.
      }
    }
  }

  /** Base (minus replaced ordinals) and overlay as one set of sorted columns. */
  private merged(): IndexColumns {
    const b = this.base;
    const dead = this.dead;
    // Default sort is UTF-16 code unit order, the order of `<` that search() relies on.
    const fresh = [...this.overlay.keys()].sort();
    const n = b.ids.length - this.deadCount + fresh.length;
    const ids = new Array<string>(n);
    const offsets = new Float64Array(n);
    const modified = new Float64Array(n);
    const lengths = new Uint32Array(n);
    // Where each base ordinal and each overlay id went: postings are renumbered through these.
    const fromBase = new Int32Array(b.ids.length).fill(-1);
    const fromOverlay = new Map<string, number>();
    let i = 0;
    let j = 0;
    for (let o = 0; o < n; o++) {
      while (i < b.ids.length && dead?.[i]) i++;
      if (j < fresh.length && (i >= b.ids.length || fresh[j] < b.ids[i])) {
        const id = fresh[j++];
        const e = this.overlay.get(id)!;
        ids[o] = id;
        offsets[o] = e.offset;
        modified[o] = e.modified;
        lengths[o] = e.length;
        fromOverlay.set(id, o);
      } else {
        ids[o] = b.ids[i];
        offsets[o] = b.offsets[i];
        modified[o] = b.modified[i];
        lengths[o] = b.lengths[i];
        fromBase[i++] = o;
      }
    }
    const freshKeys = [...this.overlayKeys.keys()].sort();
    const keys: string[] = [];
    const postStart: number[] = [0];
    const postings: number[] = [];
    let bk = 0;
    let fk = 0;
    while (bk < b.keys.length || fk < freshKeys.length) {
      const takeBase = fk >= freshKeys.length || (bk < b.keys.length && b.keys[bk] <= freshKeys[fk]);
      const key = takeBase ? b.keys[bk] : freshKeys[fk];
      const start = postings.length;
      if (takeBase) {
        // Renumbering keeps ascending order: ordinals are id order before and after.
        for (let p = b.postStart[bk]; p < b.postStart[bk + 1]; p++) {
          const o = fromBase[b.postings[p]];
          if (o >= 0) postings.push(o);
        }
        bk++;
      }
      if (fk < freshKeys.length && freshKeys[fk] === key) {
        const before = postings.length;
        for (const id of this.overlayKeys.get(key)!) postings.push(fromOverlay.get(id)!);
        fk++;
        if (postings.length > before) {
          const all = postings.splice(start).sort((x, y) => x - y);
          for (const o of all) postings.push(o);
        }
      }
      // A key whose every record was replaced by revisions without it disappears.
      if (postings.length > start) {
        keys.push(key);
        postStart.push(postings.length);
      }
    }
    return { ids, offsets, modified, lengths, keys, postStart: Uint32Array.from(postStart), postings: Uint32Array.from(postings) };
  }

  /**
   * Copies the live records, in file order, into the next generation's data file (synced) and returns
   * it with the columns pointing into it. Runs of adjacent live records are copied as one range:
   * nothing is parsed. The current file and state are untouched.
   */
  private compactInto(columns: IndexColumns): { fd: number; length: number; columns: IndexColumns } {
    const n = columns.ids.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => columns.offsets[a] - columns.offsets[b]);
    const offsets = new Float64Array(n);
    const name = join(this.dir, dataFileName(this.gen + 1));
    const out = openSync(name, 'w+');
    try {
      const chunk = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      let written = 0;
      let i = 0;
      while (i < n) {
        // Extend the run while the next record starts right after this one's newline.
        let j = i + 1;
        while (j < n && columns.offsets[order[j]] === columns.offsets[order[j - 1]] + columns.lengths[order[j - 1]] + 1) j++;
        const start = columns.offsets[order[i]];
        const end = columns.offsets[order[j - 1]] + columns.lengths[order[j - 1]] + 1;
        for (let k = i; k < j; k++) offsets[order[k]] = written + (columns.offsets[order[k]] - start);
        for (let pos = start; pos < end; pos += COPY_CHUNK_BYTES) {
          const len = Math.min(COPY_CHUNK_BYTES, end - pos);
          readFully(this.fd!, chunk, len, pos);
          writeFully(out, chunk, len, written);
          written += len;
        }
        i = j;
      }
      fdatasyncSync(out);
      return { fd: out, length: written, columns: { ...columns, offsets } };
    } catch (e) {
      closeSync(out);
      throw e;
    }
  }

  private writeIndex(columns: IndexColumns, gen: number, dataLength: number): void {
    const bytes = encodeIndex({ data: dataFileName(gen), dataLength, feeds: [...this.feeds], columns });
    const file = join(this.dir, ADVISORY_INDEX_FILE);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeFully(fd, bytes, bytes.length, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    syncDir(this.dir);
  }

  // ---- opening -------------------------------------------------------------------------------------

  /** Loads the committed state, or rebuilds it from the data file when the index is missing or unreadable. */
  private load(): void {
    // Readers retry: a writer's compaction may delete the data file between our index read and open.
    for (let attempt = 0; attempt < 3; attempt++) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(this.dir, ADVISORY_INDEX_FILE));
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
        return this.rebuildFromNewestData();
      }
      const index = decodeIndex(bytes);
      if (!index) return this.rebuildFromNewestData();
      let fd: number | undefined;
      try {
        fd = openSync(join(this.dir, index.data), this.readOnly ? 'r' : 'r+');
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
        if (index.dataLength > 0) continue;
        // Nothing committed yet: a writer starts the file, a reader has nothing to read (but may have feed states).
        if (!this.readOnly) fd = openSync(join(this.dir, index.data), 'w+');
      }
      if (fd !== undefined && fstatSync(fd).size < index.dataLength) {
        // The data file lost committed records behind our back. A scan must not go on as if they had no
        // advisories (fail closed); a writer — a sync — replays what is left and, the feed states
        // forgotten with the index, re-reads every feed in full.
        closeSync(fd);
        if (this.readOnly) {
          throw new AdvisoryStoreCorruptError(
            `advisory data file ${join(this.dir, index.data)} is shorter than its index says; run \`trustctl feeds sync\` to repair it`,
          );
        }
        return this.rebuildFromNewestData();
      }
      this.fd = fd;
      this.gen = Number(DATA_FILE_NAME.exec(index.data)![1]);
      this.fileLength = index.dataLength;
      this.base = index.columns;
      for (const [source, state] of index.feeds) this.feeds.set(source, state);
      let live = 0;
      for (let i = 0; i < index.columns.lengths.length; i++) live += index.columns.lengths[i] + 1;
      this.liveBytes = live;
      // Cut off what a crashed writer appended after its last commit; readers never look past dataLength anyway.
      if (!this.readOnly && fd !== undefined && fstatSync(fd).size > index.dataLength) ftruncateSync(fd, index.dataLength);
      return;
    }
    // The index keeps naming a data file that is not there: committed records are gone (see above).
    if (this.readOnly) throw new AdvisoryStoreCorruptError(`advisory data file of ${join(this.dir, ADVISORY_INDEX_FILE)} is missing; run \`trustctl feeds sync\` to repair it`);
    this.rebuildFromNewestData();
  }

  /**
   * Recovery without a usable index: replays the newest data file (newest `modified` wins, as at
   * upsert), stopping at the first incomplete line. Feed states are lost, which makes the next sync a
   * full one — the safe direction. A writer commits the result at once; a reader keeps it in memory.
   */
  private rebuildFromNewestData(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if (this.readOnly && isErrno(e, 'ENOENT')) return; // never synced: an empty store
      throw e;
    }
    const gens = names.map((n) => DATA_FILE_NAME.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
    this.gen = gens.length ? Math.max(...gens) : 0;
    this.dirty = !this.readOnly;
    const file = join(this.dir, dataFileName(this.gen));
    if (!gens.length) {
      if (!this.readOnly) this.fd = openSync(file, 'w+');
      return;
    }
    this.fd = openSync(file, this.readOnly ? 'r' : 'r+');
    const size = fstatSync(this.fd).size;
    const chunk = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    let carry: Buffer = Buffer.alloc(0);
    let base = 0; // file offset of carry[0]
    for (let pos = 0; pos < size; ) {
      const n = readSync(this.fd, chunk, 0, Math.min(COPY_CHUNK_BYTES, size - pos), pos);
      if (n === 0) break;
      pos += n;
      const data: Buffer = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
        this.replay(data, start, nl, base + start);
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
      base += start;
    }
    // `base` is now the end of the last complete line: a torn last line is not part of the store.
    this.fileLength = base;
    if (!this.readOnly && size > base) ftruncateSync(this.fd, base);
  }

  private replay(data: Buffer, start: number, end: number, offset: number): void {
    let r: OsvRecord;
    try {
      r = JSON.parse(data.toString('utf8', start, end)) as OsvRecord;
    } catch {
      return; // a damaged line loses that revision only
    }
    if (typeof r?.id !== 'string' || typeof r.modified !== 'string' || !Array.isArray(r.affected)) return;
    const modified = modifiedMs(r.modified);
    const prev = this.overlay.get(r.id);
    if (prev && prev.modified >= modified) return;
    this.place(r.id, { offset, length: end - start, modified, keys: recordKeys(r) }, prev, -1);
  }

  /**
   * Deletes data files of other generations and index temporaries a crashed writer left behind. Lock
   * temporaries are left alone: another process may be in the middle of trying for the lock.
   */
  private removeLeftovers(): void {
    const current = dataFileName(this.gen);
    for (const n of readdirSync(this.dir)) {
      const stray = (DATA_FILE_NAME.test(n) && n !== current) || (n.startsWith(`${ADVISORY_INDEX_FILE}.`) && n.endsWith('.tmp'));
      if (!stray) continue;
      try {
        unlinkSync(join(this.dir, n));
      } catch {
        // Still open elsewhere (Windows) or already gone: try again next time.
      }
    }
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new AdvisoryStoreClosedError(operation);
  }

  private assertWritable(operation: string): void {
    this.assertOpen(operation);
    if (this.readOnly) throw new AdvisoryStoreReadOnlyError(operation);
  }
}
