import type { Readable } from 'node:stream';
import { ENRICHMENT_ECOSYSTEM, type FeedReadOptions, type FeedRecords, readFeedStream } from './advisories/enrichment-feed';
import type { OsvRecord } from './advisories/osv';
import type { AdvisoryStore, FeedProgress, FeedState } from './ports';

/**
 * One feed to read (advisories/feed.ts `openFeed`): an OSV export, an NVD CVE API 2.0 document or the
 * CISA KEV catalog in a file or at a URL (told apart by content, advisories/enrichment-feed.ts
 * `readFeedStream`), or a source that yields records itself (a folder of NVD files, the NVD API).
 */
export interface FeedSourceLike {
  /** Stable id of the source, the key of its {@link FeedState}. */
  readonly source: string;
  /** Changes whenever the export does (size+mtime, ETag…): an unchanged export is not read again. */
  fingerprint(): Promise<string>;
  /** The source's bytes; read with `readFeedStream` unless the source has {@link FeedSourceLike.read}. */
  open(): Promise<Readable>;
  /** The source's records, for sources that are not one byte stream; takes precedence over `open`. */
  read?(opts: FeedReadOptions): FeedRecords;
}

/** What one sync did with one source. */
export interface FeedSyncResult {
  readonly source: string;
  /** True when the export's fingerprint had not changed since its last complete read: nothing was read. */
  readonly unchanged: boolean;
  /** True when this run finished a read that an earlier, interrupted or failed sync had started. */
  readonly resumed?: boolean;
  /**
   * True when the run stopped before the end of the source because its time ran out
   * ({@link SyncFeedsOptions.timeLeftMs}): the state stays `in-progress` with a cursor, and the next
   * sync continues there. `read`, `changed` and `ecosystems` then cover this run's part only.
   */
  readonly paused?: boolean;
  /** Records read that were newer than the last complete sync. */
  readonly read: number;
  /** Ids whose stored record changed (new or newer): the advisories to re-judge digests against. */
  readonly changed: readonly string[];
  /** Records skipped as malformed, with the reason (RELIABILITY.md 45). */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  /**
   * The OSV ecosystems the source covers after this run (its records' `affected[].package.ecosystem`),
   * sorted; an enrichment source (NVD, KEV) names its pseudo-ecosystem (`NVD`, `KEV`: enrichment-feed.ts
   * `ENRICHMENT_ECOSYSTEM`).
   */
  readonly ecosystems: readonly string[];
  /** Ids withdrawn because a complete snapshot source (KEV) no longer holds them (also in `changed`). */
  readonly withdrawn?: readonly string[];
  /** Set when the source could not be synced (only with `keepGoing`; otherwise the error is thrown). Its state says `failed`. */
  readonly error?: string;
  readonly ms: number;
}

/** Options of {@link syncFeeds}. */
export interface SyncFeedsOptions {
  readonly now?: () => Date;
  readonly onProgress?: (r: FeedSyncResult) => void;
  /** Read every export in full, even if unchanged since its last complete read. */
  readonly force?: boolean;
  /**
   * Go on with the next source when one fails (its state is recorded as `failed`, its result carries
   * `error`). Default false: the first failure is recorded, then thrown.
   */
  readonly keepGoing?: boolean;
  /**
   * The time this run has left, in ms (a Lambda's remaining time less a margin). Once it returns 0 or
   * less, a source whose reader keeps a cursor (an OSV zip, the NVD API) commits the records read so far
   * with a checkpoint and stops: its result says `paused` and the next sync continues there (issue 15
   * item 8). A source without a cursor (a JSON document) is read to its end. Default: no limit.
   */
  readonly timeLeftMs?: () => number;
  /**
   * Called with the records of each written batch whose upsert changed the store (feed-sync enqueues the
   * re-evaluation of their digests), before the batch after it is written. Setting it makes every batch
   * write-ahead: a checkpoint naming the batch's ids (FeedState.pendingIds) and the cursor before it is
   * committed before the batch is written, and a later attempt hands those ids to this callback again
   * before reading on — so a change is never lost to a run killed between writing and targeting, and is
   * targeted at least once.
   */
  readonly onChanged?: (source: string, records: readonly OsvRecord[]) => Promise<void>;
  /**
   * Without {@link onChanged}: records between checkpoints of a reader whose cursor moves with every
   * record (an OSV zip). Default: none — such a source commits only at its end (the embedded store
   * commits its whole index with every state, too costly per batch).
   */
  readonly checkpointRecords?: number;
  /** Records per upsert (and per write-ahead checkpoint). Default 500. */
  readonly batchSize?: number;
  /** Called after every checkpoint is committed, with the state written (progress reports, tests). */
  readonly onCheckpoint?: (source: string, state: FeedState) => void;
}

const BATCH = 500;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

/**
 * Brings a store up to date with OSV exports (DESIGN.md "Re-verify": `feed-sync`), one source at a
 * time, each committed as a unit (issue 13, "Feeds that know what they don't know"):
 *
 * 1. an export whose fingerprint equals the one of its last *complete* read is not opened;
 * 2. otherwise the source's state is set to `in-progress` (committed before any record is read, so a
 *    sync killed midway — `kill -9`, Ctrl-C, a Lambda timeout — is visible in `trustctl feeds status`
 *    and never taken for a complete source), keeping the fields of its last complete read;
 * 3. records `modified` after the newest one of the last complete read are parsed and upserted (the
 *    store keeps the newest revision of each id anyway, so reading too much is harmless and reading too
 *    little is not possible), collecting the ecosystems they name;
 * 4. the state becomes `complete` with the new fingerprint, record count and ecosystems — for the
 *    embedded store, in the same commit as the records (its `putFeedState` commits both together).
 *
 * Within a source (issue 15 item 8, a feed larger than one Lambda invocation): a reader with a cursor
 * (the NVD API's page, the OSV zip's entry index in this revision) lets the sync commit checkpoints —
 * the cursor, the attempt's running totals (`progress`) and, with `onChanged`, the write-ahead ids of the
 * batch about to be written (`pendingIds`) — and stop cleanly when `timeLeftMs` runs out; the next sync
 * continues at the cursor, re-targets the write-ahead ids first, and completes with the whole read's
 * totals. A cursor taken in another revision of the export is ignored: a new export is read from its start.
 *
 * The next sync resumes an `in-progress` or `failed` source from its last complete read and leaves
 * complete unchanged ones alone. A state written before statuses existed (no `ecosystems`) is read in
 * full, since only a full read tells which ecosystems the export covers. A malformed record is skipped
 * with its reason and the sync goes on; an export that cannot be read marks the source `failed`.
 */
export async function syncFeeds(sources: readonly FeedSourceLike[], store: AdvisoryStore, opts: SyncFeedsOptions = {}): Promise<FeedSyncResult[]> {
  const now = (): string => (opts.now?.() ?? new Date()).toISOString();
  const batchSize = opts.batchSize ?? BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const results: FeedSyncResult[] = [];
  // Every source this sync will read is on record from the start: one it never reaches (the sync was
  // killed before) shows as not complete in `feeds status`, rather than not at all.
  const fresh = new Set<string>();
  for (const src of sources) {
    if ((await store.getFeedState(src.source)) !== undefined) continue;
    await store.putFeedState(src.source, { syncedAt: '', records: 0, status: 'in-progress' });
    fresh.add(src.source);
  }
  for (const src of sources) {
    const t0 = Date.now();
    let state: FeedState | undefined;
    let fingerprint: string | undefined;
    let startedAt: string | undefined;
    try {
      state = await store.getFeedState(src.source);
      fingerprint = await src.fingerprint();
      const known = state?.ecosystems !== undefined && state.status !== undefined;
      if (!opts.force && known && state!.status === 'complete' && state!.fingerprint === fingerprint) {
        const r: FeedSyncResult = { source: src.source, unchanged: true, read: 0, changed: [], skipped: [], ecosystems: state!.ecosystems ?? [], ms: Date.now() - t0 };
        results.push(r);
        opts.onProgress?.(r);
        continue;
      }
      const resumed = !fresh.has(src.source) && (state?.status === 'in-progress' || state?.status === 'failed');
      startedAt = now();
      const keptCursor = !opts.force && resumed ? state?.cursor : undefined;
      // The totals of an attempt continued in this run: only for the very revision it was reading.
      const carried = keptCursor !== undefined && state?.pending === fingerprint ? state?.progress : undefined;
      const wal = opts.onChanged !== undefined;
      // Write-ahead ids of an attempt killed between writing a batch and targeting it: target them first.
      if (wal && resumed && state?.pendingIds !== undefined && state.pendingIds.length > 0) {
        const stored = (await Promise.all(state.pendingIds.map((id) => store.get(id)))).filter((r): r is OsvRecord => r !== undefined);
        if (stored.length > 0) await opts.onChanged!(src.source, stored);
      }
      await store.putFeedState(src.source, {
        ...lastComplete(state), status: 'in-progress', startedAt, pending: fingerprint,
        ...(keptCursor !== undefined ? { cursor: keptCursor, ...(carried ? { progress: carried } : {}) } : {}),
      });

      // Incremental only on top of a complete read whose ecosystems are known (the records before `since` are not parsed again).
      const since = opts.force || !known ? undefined : state?.modified;
      const ecosystems = new Set<string>(opts.force || !known ? [] : state?.ecosystems ?? []);
      for (const e of carried?.ecosystems ?? []) ecosystems.add(e);
      const skipped: { id: string; reason: string }[] = [];
      const changed: string[] = [];
      let read = carried?.read ?? 0;
      let newest = since;
      if (carried?.modified && (!newest || Date.parse(carried.modified) > Date.parse(newest))) newest = carried.modified;
      let batch: OsvRecord[] = [];
      // A resumed attempt of a source whose reader keeps a cursor continues where the last one committed.
      const readOpts: FeedReadOptions = {
        ...(since ? { since } : {}), ...(keptCursor ? { resume: keptCursor } : {}), revision: fingerprint,
        onSkip: (id: string, reason: string) => skipped.push({ id, reason }),
      };
      const stream = src.read ? undefined : await src.open();
      const recs: FeedRecords = src.read ? src.read(readOpts) : readFeedStream(stream!, src.source, readOpts);
      let savedCursor = keptCursor;
      let sinceCheckpoint = 0;
      let paused = false;
      /** The cursor and totals before the first record of {@link batch}: where a write-ahead checkpoint may continue. */
      let batchCursor: string | undefined;
      let batchProgress: FeedProgress | undefined;
      const progressNow = (): FeedProgress => ({ read, ...(newest ? { modified: newest } : {}), ecosystems: [...ecosystems].sort() });
      /** Records that everything before `cursor` is committed (and, with `pendingIds`, that those are being written). */
      const checkpoint = async (cursor: string | undefined, progress: FeedProgress | undefined, pendingIds?: readonly string[]): Promise<void> => {
        const st: FeedState = {
          ...lastComplete(state), status: 'in-progress', startedAt: startedAt!, pending: fingerprint!,
          ...(cursor !== undefined ? { cursor, ...(progress ? { progress } : {}) } : {}),
          ...(pendingIds !== undefined && pendingIds.length > 0 ? { pendingIds } : {}),
        };
        await store.putFeedState(src.source, st);
        savedCursor = cursor;
        sinceCheckpoint = 0;
        opts.onCheckpoint?.(src.source, st);
      };
      /** Writes the batch; with `onChanged`, behind a write-ahead checkpoint naming its ids, and targets what changed. */
      const writeBatch = async (): Promise<void> => {
        if (batch.length === 0) return;
        const records = batch;
        batch = [];
        if (wal) await checkpoint(batchCursor, batchProgress, records.map((r) => r.id));
        const ids = await store.upsert(records);
        changed.push(...ids);
        sinceCheckpoint += records.length;
        if (wal && ids.length > 0) {
          const set = new Set(ids);
          await opts.onChanged!(src.source, records.filter((r) => set.has(r.id)));
        }
      };
      /** Writes the batch and, for a reader whose cursor moves by pages (the NVD API), commits the cursor it reached. */
      const flush = async (): Promise<void> => {
        await writeBatch();
        // Every record the reader yielded before its cursor is now committed: an interrupted sync may continue there.
        const cursor = recs.cursor;
        if (!wal && !recs.positional && cursor !== undefined && cursor !== savedCursor) await checkpoint(cursor, progressNow());
      };
      try {
        for await (const rec of recs) {
          // Everything the reader yielded before `rec` is in the store or in the batch.
          const cursor = recs.cursor;
          if (cursor !== undefined) {
            if (opts.timeLeftMs !== undefined && opts.timeLeftMs() <= 0) {
              // Out of time: commit what was read and stop here; the next run continues at `rec`.
              await writeBatch();
              await checkpoint(cursor, progressNow());
              paused = true;
              break;
            }
            // The reader moved its cursor past the records batched so far (the NVD API finished a page): commit them with it.
            if (!recs.positional && cursor !== savedCursor && !wal) await flush();
            else if (recs.positional && !wal && opts.checkpointRecords !== undefined && sinceCheckpoint + batch.length >= opts.checkpointRecords) {
              await writeBatch();
              await checkpoint(cursor, progressNow());
            }
          }
          if (batch.length === 0) {
            batchCursor = cursor;
            batchProgress = wal && cursor !== undefined ? progressNow() : undefined;
          }
          read++;
          if (!newest || Date.parse(rec.modified) > Date.parse(newest)) newest = rec.modified;
          for (const a of rec.affected) ecosystems.add(a.ecosystem);
          // A snapshot source re-issues every entry with each release: only a real change is written.
          if (recs.samePayload) {
            const stored = await store.get(rec.id);
            if (stored && recs.samePayload(stored, rec)) continue;
          }
          batch.push(rec);
          if (batch.length >= batchSize) await flush();
        }
        if (!paused) await flush();
      } catch (err) {
        // A reader with a cursor failed after yielding records (NVD went away): keep what they gave, so the next attempt continues after them.
        const cursor = recs.cursor;
        if (cursor !== undefined && (batch.length > 0 || cursor !== savedCursor)) {
          await writeBatch().then(() => checkpoint(cursor, progressNow())).catch(() => undefined);
        }
        throw err;
      } finally {
        stream?.destroy();
      }
      if (paused) {
        const r: FeedSyncResult = {
          source: src.source, unchanged: false, paused: true, ...(resumed ? { resumed } : {}), read, changed, skipped, ecosystems: [...ecosystems].sort(), ms: Date.now() - t0,
        };
        results.push(r);
        opts.onProgress?.(r);
        continue;
      }
      if (recs.kind === 'nvd' || recs.kind === 'kev') ecosystems.add(ENRICHMENT_ECOSYSTEM[recs.kind]);
      // Entries a complete snapshot held before and this one does not: withdrawn as of this snapshot.
      const withdrawn: string[] = [];
      if (recs.members !== undefined) {
        const now_ = new Set(recs.members);
        const at = newest ?? now();
        // The ids of the last complete snapshot (kept through in-progress and failed attempts).
        for (const id of state?.members ?? []) {
          if (now_.has(id)) continue;
          const stored = await store.get(id);
          if (!stored || stored.withdrawn !== undefined || Date.parse(stored.modified) >= Date.parse(at)) continue;
          batch.push({ ...stored, modified: at, withdrawn: at });
          withdrawn.push(id);
        }
        await flush();
      }
      const covered = [...ecosystems].sort();
      await store.putFeedState(src.source, {
        fingerprint, syncedAt: now(), records: read, ...(newest ? { modified: newest } : {}), status: 'complete', ecosystems: covered,
        ...(recs.members !== undefined ? { members: [...recs.members] } : {}),
      });
      const r: FeedSyncResult = {
        source: src.source, unchanged: false, ...(resumed ? { resumed } : {}), read, changed, skipped, ecosystems: covered,
        ...(withdrawn.length > 0 ? { withdrawn } : {}), ms: Date.now() - t0,
      };
      results.push(r);
      opts.onProgress?.(r);
    } catch (err) {
      // Recorded so that `feeds status` and every scan see the source as not complete. If the store
      // itself is what failed, this may fail too: the original error is the one that matters.
      // The cursor the failed attempt committed (or the one it resumed from) is kept for the next attempt.
      // So are its progress and its write-ahead ids (records that may be stored without their re-evaluation targeted).
      const last = await store.getFeedState(src.source).catch(() => undefined);
      const cursor = last?.cursor;
      await store.putFeedState(src.source, {
        ...lastComplete(state), status: 'failed', startedAt: startedAt ?? now(), ...(fingerprint ? { pending: fingerprint } : {}),
        ...(cursor !== undefined ? { cursor, ...(last?.progress ? { progress: last.progress } : {}) } : {}),
        ...(last?.pendingIds !== undefined && last.pendingIds.length > 0 ? { pendingIds: last.pendingIds } : {}),
        error: errorText(err),
      }).catch(() => undefined);
      if (!opts.keepGoing) throw err;
      const r: FeedSyncResult = { source: src.source, unchanged: false, read: 0, changed: [], skipped: [], ecosystems: [], error: errorText(err), ms: Date.now() - t0 };
      results.push(r);
      opts.onProgress?.(r);
    }
  }
  return results;
}

/** The fields of a state that describe its last complete read (kept while a later read runs or after it failed). */
function lastComplete(state: FeedState | undefined): FeedState {
  if (!state) return { syncedAt: '', records: 0 };
  // A state from before statuses (no ecosystems) vouches for nothing: keep its timestamps, not a coverage.
  const { fingerprint, modified, syncedAt, records, ecosystems, members } = state;
  return {
    syncedAt, records,
    ...(members !== undefined && state.status !== undefined ? { members } : {}),
    ...(fingerprint !== undefined ? { fingerprint } : {}),
    ...(modified !== undefined ? { modified } : {}),
    ...(ecosystems !== undefined && state.status !== undefined ? { ecosystems } : {}),
  };
}
