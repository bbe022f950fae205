import { openFeed } from '../engine/advisories/feed';
import { feedInfoOf, storedFeeds } from '../engine/advisories/feed-state';
import { MemoryAdvisoryStore } from '../engine/advisories/memory-store';
import type { AdvisorySource, FeedInfo } from '../engine/scan-image';
import { syncFeeds, type FeedSourceLike } from '../engine/sync-feeds';
import { SCHEMES } from '../engine/versions/schemes';
import { defaultAdvisoryDir, EmbeddedAdvisoryStore } from '../local/advisory-store';

/**
 * The OSV exports `trustctl feeds sync` reads when none is named: osv.dev's bulk exports
 * (https://google.github.io/osv.dev/data/#data-dumps) of the ecosystems our catalogers report.
 */
export const DEFAULT_FEED_ECOSYSTEMS = ['Debian', 'Ubuntu', 'Alpine', 'AlmaLinux', 'Rocky Linux', 'npm', 'PyPI', 'Go', 'Maven', 'RubyGems', 'crates.io', 'NuGet', 'Packagist'];
export const DEFAULT_FEEDS = DEFAULT_FEED_ECOSYSTEMS.map((e) => `https://osv-vulnerabilities.storage.googleapis.com/${encodeURIComponent(e)}/all.zip`);

/** Every source the given specs name (a zip, a folder of `<Ecosystem>/all.zip`, an https URL). */
export async function feedSources(specs: readonly string[]): Promise<FeedSourceLike[]> {
  const out: FeedSourceLike[] = [];
  for (const spec of specs) out.push(...(await openFeed(spec)));
  return out;
}

/**
 * What a scan matches against: exactly the `--feed`s given (read into memory for this scan), else the
 * embedded store. `feeds` names every source with its status, revision and covered ecosystems, so the
 * scan can tell which ecosystems of its inventory no complete source covers (match/coverage.ts).
 */
export async function advisoriesForScan(feeds: readonly string[], dataDir?: string): Promise<{ advisories?: AdvisorySource; close(): Promise<void> }> {
  if (feeds.length > 0) {
    const store = new MemoryAdvisoryStore();
    const results = await syncFeeds(await feedSources(feeds), store);
    const info: FeedInfo[] = await Promise.all(results.map(async (r) => feedInfoOf(r.source, await store.getFeedState(r.source))));
    return { advisories: { store, schemes: SCHEMES, feeds: info }, close: async () => undefined };
  }
  const dir = dataDir ?? defaultAdvisoryDir();
  let store: EmbeddedAdvisoryStore;
  try {
    store = await EmbeddedAdvisoryStore.open(dir, { readOnly: true });
  } catch {
    return { close: async () => undefined };
  }
  if ((await store.count()) === 0) {
    await store.close();
    return { close: async () => undefined };
  }
  // Every source with a state, complete or not: coverage (match/coverage.ts) tells them apart.
  const feedsInfo = await storedFeeds(store);
  return { advisories: { store, schemes: SCHEMES, feeds: feedsInfo }, close: () => store.close() };
}
