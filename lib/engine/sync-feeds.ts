import type { Readable } from 'node:stream';
import { readOsvZip } from './advisories/feed';
import type { OsvRecord } from './advisories/osv';
import type { AdvisoryStore } from './ports';

/** One OSV export to read: a file, a folder's `<Ecosystem>/all.zip`, or a URL (advisories/feed.ts `openFeed`). */
export interface FeedSourceLike {
  /** Stable id of the source, the key of its {@link FeedState}. */
  readonly source: string;
  /** Changes whenever the export does (size+mtime, ETag…): an unchanged export is not read again. */
  fingerprint(): Promise<string>;
  open(): Promise<Readable>;
}

/** What one sync did with one source. */
export interface FeedSyncResult {
  readonly source: string;
  /** True when the export's fingerprint had not changed: nothing was read. */
  readonly unchanged: boolean;
  /** Records read that were newer than the last sync. */
  readonly read: number;
  /** Ids whose stored record changed (new or newer): the advisories to re-judge digests against. */
  readonly changed: readonly string[];
  /** Records skipped as malformed, with the reason (RELIABILITY.md 45). */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  readonly ms: number;
}

const BATCH = 500;

/**
 * Brings a store up to date with OSV exports (DESIGN.md "Re-verify": `feed-sync`), incrementally: an
 * export whose fingerprint is unchanged is not opened; otherwise only records `modified` after the
 * newest one already taken from that source are parsed and upserted (the store keeps the newest
 * revision of each id anyway, so reading too much is harmless and reading too little is not possible).
 * A malformed record is skipped with its reason and the sync goes on.
 */
export async function syncFeeds(
  sources: readonly FeedSourceLike[],
  store: AdvisoryStore,
  opts: { now?: () => Date; onProgress?: (r: FeedSyncResult) => void; force?: boolean } = {},
): Promise<FeedSyncResult[]> {
  const results: FeedSyncResult[] = [];
  for (const src of sources) {
    const t0 = Date.now();
    const fingerprint = await src.fingerprint();
    const state = await store.getFeedState(src.source);
    if (!opts.force && state?.fingerprint === fingerprint) {
      const r = { source: src.source, unchanged: true, read: 0, changed: [], skipped: [], ms: Date.now() - t0 };
      results.push(r);
      opts.onProgress?.(r);
      continue;
    }
    const since = opts.force ? undefined : state?.modified;
    const skipped: { id: string; reason: string }[] = [];
    const changed: string[] = [];
    let read = 0;
    let newest = state?.modified;
    let batch: OsvRecord[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      changed.push(...(await store.upsert(batch)));
      batch = [];
    };
    const stream = await src.open();
    try {
      for await (const rec of readOsvZip(stream, { since, onSkip: (id: string, reason: string) => skipped.push({ id, reason }) })) {
        read++;
        if (!newest || Date.parse(rec.modified) > Date.parse(newest)) newest = rec.modified;
        batch.push(rec);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
    } finally {
      stream.destroy();
    }
    await store.putFeedState(src.source, {
      fingerprint, syncedAt: (opts.now?.() ?? new Date()).toISOString(), records: read, ...(newest ? { modified: newest } : {}),
    });
    const r = { source: src.source, unchanged: false, read, changed, skipped, ms: Date.now() - t0 };
    results.push(r);
    opts.onProgress?.(r);
  }
  return results;
}
