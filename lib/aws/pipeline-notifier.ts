import type { FeedSyncState, NotifyResult, PipelineNotifier } from '../engine/pipeline/ports';
import type { StoredVerdict } from '../engine/verdicts/port';
import type { DeliveryOutcome, SlackNotifier } from '../notify/slack';
import { staleFeeds, verdictTransition } from '../notify/transitions';

/** A delivery outcome as the flows report it (the error's code and message: lib/notify never puts the URL in them). */
function resultOf(o: DeliveryOutcome): NotifyResult {
  if (o.status === 'failed') return { status: 'failed', kind: o.kind, key: o.key, error: `${o.error.code}: ${o.error.message}` };
  return { status: o.status, kind: o.kind, key: o.key };
}

/**
 * The pipeline's notifier (lib/engine/pipeline/ports.ts {@link PipelineNotifier}) on lib/notify: what
 * is news is decided by lib/notify/transitions.ts (`verdictTransition`, `staleFeeds`) and each
 * notification goes through `SlackNotifier.deliver` — ledger claim, render, post with retries, release
 * on final failure — which never throws.
 */
export class SlackPipelineNotifier implements PipelineNotifier {
  constructor(private readonly notifier: Pick<SlackNotifier, 'deliver'>) {}

  /** Posts a `new-quarantine` / `back-to-trusted` transition; anything else is `not-news`. */
  async verdictChanged(previous: StoredVerdict | undefined, next: StoredVerdict): Promise<NotifyResult> {
    const n = verdictTransition(previous, next);
    if (!n) return { status: 'not-news' };
    return resultOf(await this.notifier.deliver(n));
  }

  /** Posts one message per stale feed (once per feed and last sync time, by the ledger). */
  async feedsStale(feeds: readonly FeedSyncState[], options: { readonly now: Date; readonly maxStaleHours: number }): Promise<readonly NotifyResult[]> {
    const out: NotifyResult[] = [];
    for (const n of staleFeeds(feeds.map((f) => ({ feed: f.source, ...(f.syncedAt ? { syncedAt: f.syncedAt } : {}) })), { now: options.now.getTime(), maxStaleHours: options.maxStaleHours })) {
      out.push(resultOf(await this.notifier.deliver(n)));
    }
    return out;
  }
}
