/**
 * `feed-sync` (DESIGN.md step 7 "Re-verify"; performance budget "feed update → affected digests
 * re-judged from stored inventories, cost proportional to affected digests"): bring the advisory store
 * up to date with the OSV exports, turn the records that changed into package keys
 * (verdicts/keys.ts `advisoryPackageKeys`, the keys the matcher looks up), find exactly the digests
 * indexed under those keys, and enqueue their re-evaluation on the rescan queue (a changed NVD or KEV
 * enrichment record re-judges every digest with a verdict: it names a CVE, not a package). Feeds that have not
 * synced within the policy's window are reported (lib/notify, once per feed and sync time).
 */
import { enrichedCve, isEnrichmentId } from '../advisories/enrichment';
import type { OsvRecord } from '../advisories/osv';
import type { Digest } from '../model';
import type { AdvisoryStore } from '../ports';
import { syncFeeds, type FeedSyncResult } from '../sync-feeds';
import { advisoryPackageKeys } from '../verdicts/keys';
import { describeError, forEachBounded } from './common';
import { FeedSyncFailedError } from './errors';
import type { ReevaluateMessage } from './messages';
import { SILENT_LOGGER, type FeedSyncPorts, type FeedSyncState, type NotifyResult } from './ports';

/** What one feed-sync run did. */
export interface FeedSyncReport {
  /** One per feed that synced (unchanged ones included). */
  readonly results: readonly FeedSyncResult[];
  /** Feeds that could not be synced, with the error. */
  readonly failed: readonly { readonly source: string; readonly error: string }[];
  /** Advisory ids whose stored record changed. */
  readonly changedRecords: number;
  /** Package keys those records affect. */
  readonly packageKeys: number;
  /**
   * CVEs whose enrichment record (NVD severity, KEV entry) changed, sorted. Enrichment records name no
   * package: every digest with a verdict is re-judged when there is one (see {@link syncFeedsAndTarget}).
   */
  readonly enrichedCves: readonly string[];
  /** The digests enqueued for re-evaluation, sorted. */
  readonly digests: readonly Digest[];
  readonly stale: readonly NotifyResult[];
}

/** Options of {@link syncFeedsAndTarget}. */
export interface FeedSyncOptions {
  /** digestsForPackage calls in flight. Default 16. */
  readonly concurrency?: number;
  /**
   * Throw {@link FeedSyncFailedError} at the end when a feed failed (after everything else was done).
   * Default true: a scheduled Lambda is then marked failed and its errors alarm.
   */
  readonly throwOnFailure?: boolean;
}

/**
 * An advisory store that remembers the package keys of every record whose upsert changed it. Sync
 * reports changed ids only; the keys come from the records as they are written — including the ids a
 * failing upsert reports as changed before it failed (`changed` on the error), which a later run
 * would never report again.
 */
class KeyCapturingStore implements AdvisoryStore {
  readonly keys = new Set<string>();
  /** CVEs of changed enrichment records (`nvd:CVE-…`, `kev:CVE-…`): they have no package keys. */
  readonly cves = new Set<string>();
  changed = 0;
  constructor(private readonly inner: AdvisoryStore) {}

  private capture(records: readonly OsvRecord[], ids: readonly string[]): void {
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const id of ids) {
      const r = byId.get(id);
      if (!r) continue;
      this.changed++;
      if (isEnrichmentId(id)) this.cves.add(enrichedCve(id)!);
      else for (const k of advisoryPackageKeys(r)) this.keys.add(k);
    }
  }

  async upsert(records: readonly OsvRecord[]): Promise<readonly string[]> {
    try {
      const ids = await this.inner.upsert(records);
      this.capture(records, ids);
      return ids;
    } catch (err) {
      const partial = (err as { changed?: unknown }).changed;
      if (Array.isArray(partial)) this.capture(records, partial.filter((x): x is string => typeof x === 'string'));
      throw err;
    }
  }

  lookup(ecosystem: string, name: string) { return this.inner.lookup(ecosystem, name); }
  get(id: string) { return this.inner.get(id); }
  getFeedState(source: string) { return this.inner.getFeedState(source); }
  putFeedState(source: string, state: Parameters<AdvisoryStore['putFeedState']>[1]) { return this.inner.putFeedState(source, state); }
  count() { return this.inner.count(); }
}

/**
 * Syncs every feed, enqueues exactly the digests the changed records can affect, and reports stale
 * feeds. Each feed is synced on its own: one that fails (unreachable, malformed export) does not keep
 * the others — or the targeting of their changes — from happening.
 */
export async function syncFeedsAndTarget(ports: FeedSyncPorts, opts: FeedSyncOptions = {}): Promise<FeedSyncReport> {
  const log = ports.logger ?? SILENT_LOGGER;
  const clock = ports.now ?? (() => new Date());
  const store = new KeyCapturingStore(ports.advisories.store);
  const results: FeedSyncResult[] = [];
  const failed: { source: string; error: string }[] = [];
  for (const feed of ports.feeds) {
    try {
      const [r] = await syncFeeds([feed], store, { now: clock });
      results.push(r);
      if (r.unchanged) {
        // The export is the one last read (same ETag / size and mtime): the data is current as of now.
        // Recording the check keeps a quiet ecosystem from looking stale (the policy's `feeds` rule).
        const st = await ports.advisories.store.getFeedState(feed.source);
        if (st) await ports.advisories.store.putFeedState(feed.source, { ...st, syncedAt: clock().toISOString() });
      }
      log.info('feed synced', { source: r.source, unchanged: r.unchanged, read: r.read, changed: r.changed.length, skipped: r.skipped.length, ms: r.ms });
      for (const s of r.skipped.slice(0, 20)) log.warn('advisory record skipped', { source: r.source, id: s.id, reason: s.reason });
    } catch (err) {
      failed.push({ source: feed.source, error: describeError(err) });
      log.error('feed sync failed', { source: feed.source, error: describeError(err) });
    }
  }

  const keys = [...store.keys].sort();
  const cves = [...store.cves].sort();
  const digests = new Set<Digest>();
  await forEachBounded(keys, opts.concurrency ?? 16, async (k) => {
    for (const d of await ports.store.digestsForPackage(k)) digests.add(d);
  });
  // A changed NVD severity or KEV entry changes the verdict of every digest with a finding about that
  // CVE (as its id or an alias). The verdict store indexes digests by package, not by vulnerability,
  // and an enrichment record names no package: every digest with a verdict is re-judged (the nightly
  // fleet re-evaluation's cost, paid only when enrichment data changed). Re-judging reads stored
  // inventories; no image is downloaded again.
  if (cves.length > 0) for (const d of await ports.store.listDigests()) digests.add(d);
  const sorted = [...digests].sort();
  const at = clock().toISOString();
  const messages: ReevaluateMessage[] = sorted.map((digest) => ({ kind: 'reevaluate', digest, at, reason: 'feed-change' }));
  if (messages.length > 0) await ports.queue.send(messages);
  log.info('feed changes targeted', { changedRecords: store.changed, packageKeys: keys.length, enrichedCves: cves.length, digests: sorted.length });

  const states: FeedSyncState[] = await Promise.all(ports.advisories.sources.map(async (source) => {
    const st = await ports.advisories.store.getFeedState(source).catch(() => undefined);
    return { source, ...(st?.syncedAt ? { syncedAt: st.syncedAt } : {}) };
  }));
  const stale = ports.notifier ? await ports.notifier.feedsStale(states, { now: clock(), maxStaleHours: ports.policy.rules.feeds.maxStaleHours }) : [];

  const report: FeedSyncReport = { results, failed, changedRecords: store.changed, packageKeys: keys.length, enrichedCves: cves, digests: sorted, stale };
  if (failed.length > 0 && (opts.throwOnFailure ?? true)) throw new FeedSyncFailedError(failed, report);
  return report;
}
