import { nvdApiKeyFromEnv } from '../aws/nvd-api-key';
import { KEV_URL } from '../engine/advisories/enrichment-feed';
import { openFeed } from '../engine/advisories/feed';
import { NVD_API_URL } from '../engine/advisories/nvd-api';
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
/**
 * Every feed `trustctl feeds sync` reads when none is named: the OSV exports above, NVD's CVE API 2.0
 * (CVSS severities; key from `NVD_API_KEY` or the secret `NVD_API_KEY_SECRET_ID` names) and CISA's
 * Known Exploited Vulnerabilities catalog.
 */
export const DEFAULT_FEEDS = [
  ...DEFAULT_FEED_ECOSYSTEMS.map((e) => `https://osv-vulnerabilities.storage.googleapis.com/${encodeURIComponent(e)}/all.zip`),
  NVD_API_URL,
  KEV_URL,
];

/**
 * Every source the given specs name (an OSV zip, NVD JSON or the KEV catalog — told apart by content —,
 * a folder of any mix, an https URL, the NVD API URL). The NVD API key is taken from the environment.
 */
export async function feedSources(specs: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<FeedSourceLike[]> {
  const out: FeedSourceLike[] = [];
  const apiKey = nvdApiKeyFromEnv(env);
  for (const spec of specs) out.push(...(await openFeed(spec, { nvd: apiKey ? { apiKey } : {} })));
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
