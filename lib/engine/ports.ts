/**
 * The interfaces the engine needs from the outside world (DESIGN.md "The house": ports.ts). The engine
 * only calls them; lib/local/ implements them for the laptop and lib/aws/ for the pipeline.
 */
import type { LayerRecord } from './layers/layer-record';
import type { OsvRecord } from './advisories/osv';
import type { Finding, Package, Unknown } from './model';

/**
 * What scanning one layer yielded, kept so that any image sharing the layer reuses it without
 * downloading the blob again (DESIGN.md "Performance budgets": a layer already seen is never
 * downloaded again).
 */
export interface CachedLayer {
  /** The layer's entries (metadata for every path; bodies of release files only), for the overlay. */
  readonly record: LayerRecord;
  /** Packages the layer's own files declare. */
  readonly packages: readonly Package[];
  /** Files the catalogers could not read. */
  readonly unknowns: readonly Unknown[];
  /** Content findings of the layer's own files (secrets, malware), kept even when a later layer deletes them. */
  readonly findings: readonly Finding[];
}

/**
 * Layer results by cache key. The key ({@link layerCacheKey}) names the layer digest, every plug-in's
 * name and version and the read limits, so a record is only ever reused for the same bytes read the same way.
 * Implementations may drop entries at any time; `get` of a dropped key answers `undefined`.
 */
export interface LayerCache {
  get(key: string): Promise<CachedLayer | undefined>;
  put(key: string, value: CachedLayer): Promise<void>;
}

/**
 * Where advisories live between feed syncs (DESIGN.md "Match", "Re-verify"): the embedded store of the
 * CLI (lib/local) and DynamoDB in the pipeline (lib/aws). Keys are exact: callers pass the OSV ecosystem
 * string as records spell it (`Debian:12`, `npm`) and the package name normalised for that ecosystem
 * (lib/engine/advisories/names.ts), and get every record with an `affected[]` entry for that pair.
 */
export interface AdvisoryStore {
  /** Records affecting `name` in `ecosystem`, withdrawn ones included (the matcher skips them and says why). */
  lookup(ecosystem: string, name: string): Promise<readonly OsvRecord[]>;
  /**
   * The stored record with exactly this id (withdrawn ones included), or undefined. Used for the alias
   * join and for enrichment records (`nvd:CVE-…`, `kev:CVE-…`, advisories/enrichment.ts), which have no
   * `affected[]` and are never returned by {@link lookup}.
   */
  get(id: string): Promise<OsvRecord | undefined>;
  /**
   * Optional: the stored records with these ids (absent ids are absent from the map), read together
   * (DynamoDB: one BatchGetItem per 100 ids). The shared advisory cache (advisories/shared-cache.ts)
   * batches the alias and enrichment reads of an evaluation through it.
   */
  getMany?(ids: readonly string[]): Promise<ReadonlyMap<string, OsvRecord>>;
  /**
   * Inserts or replaces records by id. A record whose `modified` is older than the stored one's is
   * ignored (feeds may be re-read; the newest revision wins). Returns the ids that changed.
   */
  upsert(records: readonly OsvRecord[]): Promise<readonly string[]>;
  /** The sync state of one feed source (e.g. the newest `modified` seen, an ETag), or undefined. */
  getFeedState(source: string): Promise<FeedState | undefined>;
  putFeedState(source: string, state: FeedState): Promise<void>;
  /** Every source with a feed state (for `trustctl feeds status` and the feeds a scan names). */
  listFeeds?(): Promise<readonly string[]>;
  /** How many records the store holds. */
  count(): Promise<number>;
}

/**
 * Where a source's sync stands (issue 13, "Feeds that know what they don't know"):
 * - `complete`: the last read of the export finished and its records are committed with this state;
 * - `in-progress`: a sync started reading a revision and has not finished (running, or killed: the next
 *   sync resumes it);
 * - `failed`: the last read stopped with an error (`error`); the next sync tries again.
 */
export type FeedStatus = 'complete' | 'in-progress' | 'failed';

/**
 * What a feed sync remembers about one source between runs. `fingerprint`, `modified`, `records`,
 * `syncedAt` and `ecosystems` describe the last *complete* read of the source (carried over unchanged
 * while a later read is in progress or failed); `status`, `startedAt`, `pending` and `error` describe
 * the latest attempt.
 */
export interface FeedState {
  /** Newest `modified` of the records taken from this source (RFC 3339). */
  readonly modified?: string;
  /**
   * The revision of the export last read completely: size and mtime (file) or ETag / Last-Modified
   * (https). Unchanged and `complete` → the export is not read again.
   */
  readonly fingerprint?: string;
  /** When the last complete read finished (or was last confirmed unchanged); `''` when it never completed. */
  readonly syncedAt: string;
  /** Records taken in the last complete read. */
  readonly records: number;
  /**
   * The latest attempt's status. Absent in states written before statuses existed: then nothing is
   * known about the ecosystems covered, the source covers nothing and the next sync reads it in full.
   */
  readonly status?: FeedStatus;
  /**
   * The OSV ecosystems (`affected[].package.ecosystem` as records spell them: `PyPI`, `Debian:12`,
   * `Alpine:v3.19`) of the records this source has delivered up to its last complete read, sorted.
   * Absent when the source never completed a read.
   */
  readonly ecosystems?: readonly string[];
  /**
   * Snapshot sources only (the CISA KEV catalog: every release is complete): the ids the last complete
   * read held, so that an id a later complete snapshot no longer holds is withdrawn.
   */
  readonly members?: readonly string[];
  /**
   * Where the latest in-progress or failed attempt may continue (opaque to all but the source's reader,
   * e.g. the NVD API's next window or page): records before it are committed. Only set while the
   * attempt is not complete.
   */
  readonly cursor?: string;
  /**
   * What the latest in-progress or failed attempt had read before {@link cursor}, so that an attempt
   * continued in a later invocation completes with the totals of the whole read (issue 15 item 8):
   * records read, their newest `modified`, the ecosystems they named (sorted). Only set with a cursor.
   */
  readonly progress?: FeedProgress;
  /**
   * Ids of records the latest attempt was about to write when it recorded this state (write-ahead, for
   * feed-sync's targeting): they may be stored with their re-evaluation not yet enqueued. The next
   * attempt re-targets them from the store before reading on (at least once; re-evaluation is idempotent).
   */
  readonly pendingIds?: readonly string[];
  /** When the latest attempt started (in-progress, failed). */
  readonly startedAt?: string;
  /** The revision (fingerprint) the latest in-progress or failed attempt was reading. */
  readonly pending?: string;
  /** Why the latest attempt failed. */
  readonly error?: string;
}

/** The running totals of an attempt continued across invocations (see {@link FeedState.progress}). */
export interface FeedProgress {
  readonly read: number;
  readonly modified?: string;
  readonly ecosystems: readonly string[];
}

/** The verdict store port and its records (lib/engine/verdicts/port.ts): one verdict per digest, with history. */
export type { PutVerdictResult, StoredInventory, StoredVerdict, VerdictEvaluation, VerdictStore } from './verdicts/port';
