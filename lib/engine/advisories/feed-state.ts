/**
 * A source's stored sync state (ports.ts `FeedState`) as scans, verdicts and `trustctl feeds status`
 * name it (model `FeedInfo`). States come from a file or a table another process wrote: every field is
 * checked, and one that is not what it should be is dropped — a dropped `status` or `ecosystems`
 * makes the source cover nothing (fail closed), never more.
 */
import type { FeedInfo } from '../model';
import type { AdvisoryStore, FeedState, FeedStatus } from '../ports';

const STATUSES: readonly FeedStatus[] = ['complete', 'in-progress', 'failed'];

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The feed as a report names it; `state` undefined: never synced. */
export function feedInfoOf(source: string, state: FeedState | undefined): FeedInfo {
  if (!state || typeof state !== 'object') return { source };
  const s = state as unknown as Record<string, unknown>;
  const status = STATUSES.find((x) => x === s.status);
  const ecosystems = Array.isArray(s.ecosystems) && s.ecosystems.every(text) ? [...(s.ecosystems as string[])].sort() : undefined;
  return {
    source,
    ...(text(s.syncedAt) ? { syncedAt: s.syncedAt } : {}),
    ...(text(s.modified) ? { modified: s.modified } : {}),
    ...(typeof s.records === 'number' && Number.isSafeInteger(s.records) && s.records >= 0 ? { records: s.records } : {}),
    ...(status ? { status } : {}),
    ...(text(s.fingerprint) ? { revision: s.fingerprint } : {}),
    ...(ecosystems && status ? { ecosystems } : {}),
    ...(text(s.pending) && status !== 'complete' ? { pending: s.pending } : {}),
    ...(text(s.error) && status === 'failed' ? { error: s.error } : {}),
  };
}

/** Every source the store has a state for (its `listFeeds`), in order, as {@link feedInfoOf}. */
export async function storedFeeds(store: Pick<AdvisoryStore, 'getFeedState' | 'listFeeds'>): Promise<FeedInfo[]> {
  const out: FeedInfo[] = [];
  for (const source of (await store.listFeeds?.()) ?? []) out.push(feedInfoOf(source, await store.getFeedState(source)));
  return out;
}
