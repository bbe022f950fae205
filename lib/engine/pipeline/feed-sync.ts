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
  /** One per feed that synced (unchanged ones included), or that stopped with its time ({@link FeedSyncResult.paused}). */
  readonly results: readonly FeedSyncResult[];
  /** Feeds that could not be synced, with the error. */
  readonly failed: readonly { readonly source: string; readonly error: string }[];
  /**
   * Feeds this run did not finish because its time ran out ({@link FeedSyncOptions.timeLeftMs}): stopped
   * at a checkpoint, or not started. The next run continues them (feed-sync-continuation.ts).
   */
  readonly paused: readonly string[];
  /** Records whose stored revision changed and were targeted (a write-ahead batch re-targeted after a killed run included). */
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
  /** Sync only the feeds with these source ids (one feed per queue message). Default: every feed of the ports. */
  readonly sources?: readonly string[];
  /**
   * The time the run has left, in ms (a Lambda's remaining time less a margin). Once it is 0 or less, the
   * feed being read stops at its next record with a checkpoint (sync-feeds.ts `timeLeftMs`) and feeds
   * not started are left for the next run; both are reported in {@link FeedSyncReport.paused}. Default: no limit.
   */
  readonly timeLeftMs?: () => number;
  /** Report stale feeds (the policy's `feeds` rule). Default true; a per-feed continuation leaves it to the scheduled run. */
  readonly reportStale?: boolean;
  /** Records per write (and per write-ahead checkpoint). Default 500 (sync-feeds.ts). */
  readonly batchSize?: number;
}

/**
 * Turns changed records into re-evaluations as each batch is written (sync-feeds.ts `onChanged`), so
 * that a run stopped by its deadline — or killed: the write-ahead ids come back — has enqueued the
 * re-evaluation of everything it wrote. Within one run a package key is looked up, and a digest
 * enqueued, once; across runs a digest may be enqueued again (at least once: re-evaluation is idempotent).
 */
class Targeter {
  readonly keys = new Set<string>();
  /** CVEs of changed enrichment records (`nvd:CVE-…`, `kev:CVE-…`): they have no package keys. */
  readonly cves = new Set<string>();
  readonly digests = new Set<Digest>();
  changed = 0;
  private everyDigestSent = false;
  constructor(private readonly ports: FeedSyncPorts, private readonly concurrency: number, private readonly clock: () => Date) {}

  async target(records: readonly OsvRecord[]): Promise<void> {
    const keys = new Set<string>();
    const cves = new Set<string>();
    for (const r of records) {
      if (isEnrichmentId(r.id)) cves.add(enrichedCve(r.id)!);
      else for (const k of advisoryPackageKeys(r)) if (!this.keys.has(k)) keys.add(k);
    }
    const found = new Set<Digest>();
    await forEachBounded([...keys], this.concurrency, async (k) => {
      for (const d of await this.ports.store.digestsForPackage(k)) found.add(d);
    });
    // A changed NVD severity or KEV entry changes the verdict of every digest with a finding about that
    // CVE (as its id or an alias). The verdict store indexes digests by package, not by vulnerability,
    // and an enrichment record names no package: every digest with a verdict is re-judged (the nightly
    // fleet re-evaluation's cost, paid only when enrichment data changed). Re-judging reads stored
    // inventories; no image is downloaded again.
    const everyDigest = cves.size > 0 && !this.everyDigestSent;
    if (everyDigest) for (const d of await this.ports.store.listDigests()) found.add(d);
    const fresh = [...found].filter((d) => !this.digests.has(d)).sort();
    const at = this.clock().toISOString();
    const messages: ReevaluateMessage[] = fresh.map((digest) => ({ kind: 'reevaluate', digest, at, reason: 'feed-change' }));
    if (messages.length > 0) await this.ports.queue.send(messages);
    // Remembered only once sent: a failed send leaves them to the retry (the write-ahead ids).
    for (const d of fresh) this.digests.add(d);
    for (const k of keys) this.keys.add(k);
    for (const c of cves) this.cves.add(c);
    if (everyDigest) this.everyDigestSent = true;
    this.changed += records.length;
  }
}

/**
 * Syncs the feeds, enqueues exactly the digests the changed records can affect — batch by batch, as
 * they are written (DESIGN.md step 7; issue 15 item 8) — and reports stale feeds. Each feed is synced
 * on its own: one that fails (unreachable, malformed export) does not keep the others — or the
 * targeting of their changes — from happening. With `timeLeftMs`, a feed too large for one run stops
 * at a checkpoint and the next run continues it from there.
 */
export async function syncFeedsAndTarget(ports: FeedSyncPorts, opts: FeedSyncOptions = {}): Promise<FeedSyncReport> {
  const log = ports.logger ?? SILENT_LOGGER;
  const clock = ports.now ?? (() => new Date());
  const store = ports.advisories.store;
  const targeter = new Targeter(ports, opts.concurrency ?? 16, clock);
  const results: FeedSyncResult[] = [];
  const failed: { source: string; error: string }[] = [];
  const paused: string[] = [];
  const feeds = opts.sources === undefined ? ports.feeds : ports.feeds.filter((f) => opts.sources!.includes(f.source));
  for (const feed of feeds) {
    if (opts.timeLeftMs !== undefined && opts.timeLeftMs() <= 0) {
      paused.push(feed.source);
      continue;
    }
    try {
      const [r] = await syncFeeds([feed], store, {
        now: clock,
        onChanged: (_source, records) => targeter.target(records),
        ...(opts.timeLeftMs ? { timeLeftMs: opts.timeLeftMs } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      });
      results.push(r);
      if (r.paused) paused.push(r.source);
      if (r.unchanged) {
        // The export is the one last read (same ETag / size and mtime): the data is current as of now.
        // Recording the check keeps a quiet ecosystem from looking stale (the policy's `feeds` rule).
        const st = await store.getFeedState(feed.source);
        if (st) await store.putFeedState(feed.source, { ...st, syncedAt: clock().toISOString() });
      }
      log.info(r.paused ? 'feed sync paused (continues in the next run)' : 'feed synced', { source: r.source, unchanged: r.unchanged, read: r.read, changed: r.changed.length, skipped: r.skipped.length, ms: r.ms });
      for (const s of r.skipped.slice(0, 20)) log.warn('advisory record skipped', { source: r.source, id: s.id, reason: s.reason });
    } catch (err) {
      failed.push({ source: feed.source, error: describeError(err) });
      log.error('feed sync failed', { source: feed.source, error: describeError(err) });
      // Records the failed attempt was writing (a store error midway) may be stored: target them now
      // rather than at the next attempt. Best effort — they stay in the state for the next attempt too.
      await retarget(store, feed.source, targeter).catch((e: unknown) => log.warn('feed changes not targeted yet (the next attempt will)', { source: feed.source, error: describeError(e) }));
    }
  }

  const keys = targeter.keys.size;
  const cves = [...targeter.cves].sort();
  const sorted = [...targeter.digests].sort();
  log.info('feed changes targeted', { changedRecords: targeter.changed, packageKeys: keys, enrichedCves: cves.length, digests: sorted.length, paused: paused.length });

  const stale = opts.reportStale === false ? [] : await reportStaleFeeds(ports);
  const report: FeedSyncReport = { results, failed, paused, changedRecords: targeter.changed, packageKeys: keys, enrichedCves: cves, digests: sorted, stale };
  if (failed.length > 0 && (opts.throwOnFailure ?? true)) throw new FeedSyncFailedError(failed, report);
  return report;
}

/** Targets the write-ahead ids a failed attempt left in its state (sync-feeds.ts `pendingIds`). */
async function retarget(store: AdvisoryStore, source: string, targeter: Targeter): Promise<void> {
  const ids = (await store.getFeedState(source))?.pendingIds ?? [];
  const records = (await Promise.all(ids.map((id) => store.get(id)))).filter((r): r is OsvRecord => r !== undefined);
  if (records.length > 0) await targeter.target(records);
}

/**
 * Tells about configured feeds whose last successful sync is older than the policy's
 * `feeds.maxStaleHours` (or that never synced): once per feed and sync time (lib/notify's ledger).
 */
export async function reportStaleFeeds(ports: Pick<FeedSyncPorts, 'advisories' | 'notifier' | 'policy' | 'now'>): Promise<readonly NotifyResult[]> {
  if (!ports.notifier) return [];
  const clock = ports.now ?? (() => new Date());
  const states: FeedSyncState[] = await Promise.all(ports.advisories.sources.map(async (source) => {
    const st = await ports.advisories.store.getFeedState(source).catch(() => undefined);
    return { source, ...(st?.syncedAt ? { syncedAt: st.syncedAt } : {}) };
  }));
  return ports.notifier.feedsStale(states, { now: clock(), maxStaleHours: ports.policy.rules.feeds.maxStaleHours });
}
