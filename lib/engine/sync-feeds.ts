import type { Readable } from 'node:stream';
import { ENRICHMENT_ECOSYSTEM, type FeedReadOptions, type FeedRecords, readFeedStream } from './advisories/enrichment-feed';
import type { OsvRecord } from './advisories/osv';
import type { AdvisoryStore, FeedState } from './ports';

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
 * The next sync resumes an `in-progress` or `failed` source from its last complete read and leaves
 * complete unchanged ones alone. A state written before statuses existed (no `ecosystems`) is read in
 * full, since only a full read tells which ecosystems the export covers. A malformed record is skipped
 * with its reason and the sync goes on; an export that cannot be read marks the source `failed`.
 */
export async function syncFeeds(sources: readonly FeedSourceLike[], store: AdvisoryStore, opts: SyncFeedsOptions = {}): Promise<FeedSyncResult[]> {
  const now = (): string => (opts.now?.() ?? new Date()).toISOString();
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
      await store.putFeedState(src.source, { ...lastComplete(state), status: 'in-progress', startedAt, pending: fingerprint, ...(keptCursor !== undefined ? { cursor: keptCursor } : {}) });

      // Incremental only on top of a complete read whose ecosystems are known (the records before `since` are not parsed again).
      const since = opts.force || !known ? undefined : state?.modified;
      const ecosystems = new Set<string>(opts.force || !known ? [] : state?.ecosystems ?? []);
      const skipped: { id: string; reason: string }[] = [];
      const changed: string[] = [];
      let read = 0;
      let newest = since;
      let batch: OsvRecord[] = [];
      // A resumed attempt of a source whose reader keeps a cursor continues where the last one committed.
      const readOpts: FeedReadOptions = { ...(since ? { since } : {}), ...(keptCursor ? { resume: keptCursor } : {}), onSkip: (id: string, reason: string) => skipped.push({ id, reason }) };
      const stream = src.read ? undefined : await src.open();
      const recs: FeedRecords = src.read ? src.read(readOpts) : readFeedStream(stream!, src.source, readOpts);
      let savedCursor: string | undefined;
      const flush = async (): Promise<void> => {
        if (batch.length > 0) changed.push(...(await store.upsert(batch)));
        batch = [];
        // Every record the reader yielded before its cursor is now committed: an interrupted sync may continue there.
        const cursor = recs.cursor;
        if (cursor !== undefined && cursor !== savedCursor) {
          await store.putFeedState(src.source, { ...lastComplete(state), status: 'in-progress', startedAt: startedAt!, pending: fingerprint!, cursor });
          savedCursor = cursor;
        }
      };
      try {
        for await (const rec of recs) {
          // The reader moved its cursor past the records batched so far (the NVD API finished a page): commit them with it.
          if (recs.cursor !== undefined && recs.cursor !== savedCursor) await flush();
          read++;
          if (!newest || Date.parse(rec.modified) > Date.parse(newest)) newest = rec.modified;
          for (const a of rec.affected) ecosystems.add(a.ecosystem);
          // A snapshot source re-issues every entry with each release: only a real change is written.
          if (recs.samePayload) {
            const stored = await store.get(rec.id);
            if (stored && recs.samePayload(stored, rec)) continue;
          }
          batch.push(rec);
          if (batch.length >= BATCH) await flush();
        }
        await flush();
      } catch (err) {
        // A reader with a cursor failed after finishing pages (NVD went away): keep what they gave, so the next attempt continues after them.
        if (recs.cursor !== undefined && recs.cursor !== savedCursor) await flush().catch(() => undefined);
        throw err;
      } finally {
        stream?.destroy();
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
      const cursor = (await store.getFeedState(src.source).catch(() => undefined))?.cursor;
      await store.putFeedState(src.source, {
        ...lastComplete(state), status: 'failed', startedAt: startedAt ?? now(), ...(fingerprint ? { pending: fingerprint } : {}), ...(cursor !== undefined ? { cursor } : {}), error: errorText(err),
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
