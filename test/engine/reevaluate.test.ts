/**
 * lib/engine/reevaluate.ts with enrichment data (issue 14, Deliver item 6): a re-evaluation matches the
 * stored inventory against the store *with its `get`*, so NVD and KEV records synced after the scan
 * change severities and verdicts — with and without a batch MatchCache. Real data: DEBIAN-CVE-2014-0160
 * from ../shared/feeds/osv/Debian, the CISA KEV snapshot, NVD's CVE-2023-4911 from ../shared/corpus/nvd.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kevRecords, nvdRecord } from '../../lib/engine/advisories/enrichment';
import { readOsvZip } from '../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../lib/engine/advisories/osv';
import type { Digest, Package } from '../../lib/engine/model';
import { parsePolicy } from '../../lib/engine/policy/schema';
import { pluginsOf } from '../../lib/engine/record-scan';
import { MatchCache, reevaluateDigest, type ReevaluateOptions } from '../../lib/engine/reevaluate';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import { SCHEMES } from '../../lib/engine/versions/schemes';
import { SHARED } from '../helpers/corpus';

const LAYER = `sha256:${'0'.repeat(64)}` as Digest;
const DIGEST = `sha256:${'e'.repeat(64)}` as Digest;
const AT = '2026-12-01T00:00:00Z';
const FEEDS = [{ source: 'osv:Debian', syncedAt: AT, records: 1, status: 'complete' as const, revision: 'r1', ecosystems: ['Debian:10', 'Debian:12'] }];
// Unknown counts as low here, so that only a rating (NVD) or KEV can quarantine; KEV warns in the NVD case.
const POLICY = parsePolicy('apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    unknownSeverityAs: low\n');
const POLICY_KEV_WARN = parsePolicy('apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    unknownSeverityAs: low\n    knownExploited: warn\n');

const deb = (name: string, version: string, distro: string, source: string, sourceVersion: string): Package => ({
  ecosystem: 'Debian', name, version, purl: `pkg:deb/debian/${name}@${version}`, distro, sourceName: source, sourceVersion,
  locations: [{ layer: LAYER, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1' },
});

async function debianRecord(id: string): Promise<OsvRecord> {
  for await (const r of readOsvZip(createReadStream(join(SHARED, 'feeds', 'osv', 'Debian', 'all.zip')))) if (r.id === id) return r;
  throw new Error(`${id} not in the Debian export`);
}
const kev = (): OsvRecord[] => kevRecords(JSON.parse(readFileSync(join(SHARED, 'feeds', 'kev', 'known_exploited_vulnerabilities.json'), 'utf8'))).records;
function nvd(cve: string): OsvRecord {
  const r = nvdRecord(JSON.parse(readFileSync(join(SHARED, 'corpus', 'nvd', 'records', `${cve}.json`), 'utf8')));
  if (!('id' in r)) throw new Error(r.skip);
  return r;
}

async function setup(pkg: Package, records: OsvRecord[]): Promise<{ store: MemoryVerdictStore; advisories: MemoryAdvisoryStore }> {
  const store = new MemoryVerdictStore();
  await store.putInventory(DIGEST, { packages: [pkg], unknowns: [], findings: [], layers: [] });
  const advisories = new MemoryAdvisoryStore();
  await advisories.upsert(records);
  return { store, advisories };
}

const opts = (advisories: MemoryAdvisoryStore, at: string, policy = POLICY, cached = false): ReevaluateOptions => ({
  advisories: { store: advisories, schemes: SCHEMES, feeds: FEEDS.map((f) => ({ ...f, syncedAt: at })) },
  plugins: pluginsOf({ checks: [] }), policy, evaluatedAt: at, now: () => new Date(at), ...(cached ? { matchCache: new MatchCache() } : {}),
});

describe.each([['without a MatchCache', false], ['with a MatchCache', true]] as const)('re-evaluation reads NVD and KEV records through the store (%s)', (_name, cached) => {
  it('a KEV entry synced after the scan quarantines the stored inventory (Heartbleed, DEBIAN-CVE-2014-0160)', async () => {
    const { store, advisories } = await setup(deb('libssl1.0.0', '1.0.1e-2', 'Debian:10', 'openssl', '1.0.1e-2'), [await debianRecord('DEBIAN-CVE-2014-0160')]);
    const before = await reevaluateDigest(store, DIGEST, opts(advisories, '2026-12-01T00:00:00Z', POLICY, cached));
    expect(before.status === 'recorded' && before.recorded.current.status).toBe('trusted');
    await advisories.upsert(kev());
    const after = await reevaluateDigest(store, DIGEST, opts(advisories, '2026-12-02T00:00:00Z', POLICY, cached));
    expect(after.status === 'recorded' && after.recorded.current.status).toBe('quarantined');
    expect(after.status === 'recorded' && after.recorded.current.reasons.map((r) => r.message)).toEqual([expect.stringMatching(/^known exploited vulnerabilities \(CISA KEV\): DEBIAN-CVE-2014-0160/)]);
  });

  it('an NVD record synced after the scan gives the finding its severity (CVE-2023-4911, 7.8 high by Red Hat as CNA)', async () => {
    const glibc: OsvRecord = {
      id: 'TEST-GLIBC-2023-4911', modified: '2024-01-01T00:00:00Z', aliases: [], related: [], upstream: ['CVE-2023-4911'], severity: [], references: [],
      affected: [{ ecosystem: 'Debian:12', name: 'glibc', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.36-9+deb12u3' }] }], versions: [], severity: [] }],
    };
    const { store, advisories } = await setup(deb('libc6', '2.36-9+deb12u1', 'Debian:12', 'glibc', '2.36-9+deb12u1'), [glibc]);
    const before = await reevaluateDigest(store, DIGEST, opts(advisories, '2026-12-01T00:00:00Z', POLICY_KEV_WARN, cached));
    expect(before.status === 'recorded' && [before.recorded.current.status, before.recorded.current.counts]).toEqual(['trusted', expect.objectContaining({ unknown: 1 })]);
    await advisories.upsert([nvd('CVE-2023-4911')]);
    const after = await reevaluateDigest(store, DIGEST, opts(advisories, '2026-12-02T00:00:00Z', POLICY_KEV_WARN, cached));
    expect(after.status === 'recorded' && [after.recorded.current.status, after.recorded.current.counts]).toEqual(['quarantined', expect.objectContaining({ high: 1, unknown: 0 })]);
  });
});
