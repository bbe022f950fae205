/**
 * feed-sync (lib/engine/pipeline/feed-sync.ts) with enrichment feeds: NVD and KEV records name a CVE,
 * not a package, so a change to one re-judges every digest with a verdict (the verdict store indexes
 * digests by package only); an unchanged enrichment feed re-judges nothing; OSV changes still target
 * exactly the digests of their packages. Over the in-memory stores, with real scans of built images
 * and the real NVD corpus / KEV catalog.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeed } from '../../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { allChecks } from '../../../lib/engine/checks/checks';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import type { Digest } from '../../../lib/engine/model';
import { syncFeedsAndTarget } from '../../../lib/engine/pipeline/feed-sync';
import type { RescanMessage } from '../../../lib/engine/pipeline/messages';
import type { FeedSyncPorts } from '../../../lib/engine/pipeline/ports';
import { DEFAULT_POLICY } from '../../../lib/engine/policy/default-policy';
import { pluginsOf } from '../../../lib/engine/record-scan';
import { recordScanWithIndex } from '../../../lib/engine/reevaluate';
import { scanImage } from '../../../lib/engine/scan-image';
import { MemoryVerdictStore } from '../../../lib/engine/verdicts/memory-store';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { SHARED } from '../../helpers/corpus';
import { MemorySource } from '../../helpers/memory-source';
import { crateImage } from './helpers/fixtures';

const NVD_DIR = join(SHARED, 'corpus', 'nvd');
const KEV_FILE = join(SHARED, 'feeds', 'kev', 'known_exploited_vulnerabilities.json');
const checks = allChecks();
const regex = crateImage([['regex', '1.5.4']], 'amd64', 'feed-sync');
const serde = crateImage([['serde', '1.0.197']], 'arm64', 'feed-sync');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'trustctl-feed-sync-enrichment-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function world() {
  const store = new MemoryVerdictStore();
  const advisories = new MemoryAdvisoryStore();
  for (const img of [regex, serde]) {
    const result = await scanImage(MemorySource.fromBuilt(img), { limits: DEFAULT_LIMITS, checks, advisories: { store: advisories, schemes: SCHEMES, feeds: [] } });
    await recordScanWithIndex(store, result, { plugins: pluginsOf({ checks }), evaluatedAt: '2026-11-20T01:00:00Z' });
  }
  const sent: RescanMessage[] = [];
  const ports = async (feeds: string[]): Promise<FeedSyncPorts> => {
    const sources = (await Promise.all(feeds.map((f) => openFeed(f)))).flat();
    return {
      store, advisories: { store: advisories, schemes: SCHEMES, sources: sources.map((s) => s.source) }, feeds: sources,
      queue: { send: async (m) => void sent.push(...m) }, policy: DEFAULT_POLICY, now: () => new Date('2026-12-07T12:00:00Z'),
    };
  };
  return { store, advisories, sent, ports };
}

const sorted = (ds: Digest[]): Digest[] => [...ds].sort();

describe('feed-sync with NVD and KEV feeds', () => {
  it('a changed NVD or KEV record re-judges every digest with a verdict; an unchanged feed, none', async () => {
    const w = await world();
    const all = sorted([...(await w.store.listDigests())]);
    expect(all.length).toBeGreaterThanOrEqual(2);

    const first = await syncFeedsAndTarget(await w.ports([NVD_DIR]));
    expect(first.changedRecords).toBe(40);
    expect(first.packageKeys).toBe(0);
    expect(first.enrichedCves).toHaveLength(40);
    expect(first.enrichedCves).toContain('CVE-2023-0286');
    expect(first.digests).toEqual(all);
    expect(w.sent.map((m) => m.kind === 'reevaluate' && m.digest)).toEqual(all);

    const again = await syncFeedsAndTarget(await w.ports([NVD_DIR]));
    expect(again).toMatchObject({ changedRecords: 0, enrichedCves: [], digests: [] });

    // A KEV catalog: first sync re-judges all; a newer release that changes one entry re-judges all again; one that changes nothing, none.
    const kevPath = join(tmp, 'kev.json');
    const kev = JSON.parse(readFileSync(KEV_FILE, 'utf8')) as { dateReleased: string; vulnerabilities: Record<string, unknown>[] };
    writeFileSync(kevPath, JSON.stringify(kev));
    expect((await syncFeedsAndTarget(await w.ports([kevPath]))).digests).toEqual(all);
    const [e0, ...rest] = kev.vulnerabilities;
    writeFileSync(kevPath, JSON.stringify({ ...kev, dateReleased: '2025-09-01T00:00:00.000Z', vulnerabilities: [{ ...e0, knownRansomwareCampaignUse: 'Known' }, ...rest] }));
    const changed = await syncFeedsAndTarget(await w.ports([kevPath]));
    expect(changed.enrichedCves).toEqual([e0.cveID]);
    expect(changed.digests).toEqual(all);
    writeFileSync(kevPath, JSON.stringify({ ...kev, dateReleased: '2025-09-02T00:00:00.000Z', vulnerabilities: [{ ...e0, knownRansomwareCampaignUse: 'Known' }, ...rest] }));
    const same = await syncFeedsAndTarget(await w.ports([kevPath]));
    expect(same.results[0]).toMatchObject({ unchanged: false, read: 1404, changed: [] });
    expect(same.digests).toEqual([]);
  }, 60_000);
});
