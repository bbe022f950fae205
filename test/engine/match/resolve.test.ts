/**
 * lib/engine/match/resolve.ts (and the NVD part of severity.ts): a finding's severity from every source,
 * KEV, MAL- records, summaries — on real data: the NVD records of ../shared/corpus/nvd, the CISA KEV
 * snapshot of ../shared/feeds/kev, the OSV exports of ../shared/feeds/osv, OpenSSF malicious-packages
 * records saved in fixtures/malicious-packages (sources in its README).
 */
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kevRecords, nvdRecord } from '../../../lib/engine/advisories/enrichment';
import { readOsvZip } from '../../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { parseOsvRecord } from '../../../lib/engine/advisories/record';
import { matchPackages, type MatchedFinding, type VulnerabilityFinding } from '../../../lib/engine/match/matcher';
import { firstSentence, resolveSeverity } from '../../../lib/engine/match/resolve';
import { nvdSeverity } from '../../../lib/engine/match/severity';
import type { Digest, Package } from '../../../lib/engine/model';
import { DEFAULT_POLICY } from '../../../lib/engine/policy/default-policy';
import { evaluatePolicy } from '../../../lib/engine/policy/evaluate';
import { parsePolicy } from '../../../lib/engine/policy/schema';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { corpusPath, SHARED } from '../../helpers/corpus';

const NVD_DIR = join(SHARED, 'corpus', 'nvd', 'records');
const LAYER = `sha256:${'0'.repeat(64)}` as Digest;
const NOW = new Date('2026-12-01T00:00:00Z');
const FEEDS = [{ source: 'osv', syncedAt: '2026-11-30T12:00:00Z' }];

/** Every NVD corpus record as an enrichment record (advisories/enrichment.ts `nvdRecord`). */
function nvdCorpus(): OsvRecord[] {
  return readdirSync(NVD_DIR).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const r = nvdRecord(JSON.parse(readFileSync(join(NVD_DIR, f), 'utf8')));
    if (!('id' in r)) throw new Error(`${f}: ${r.skip}`);
    return r;
  });
}

/** The CISA KEV snapshot as enrichment records. */
function kevCorpus(): OsvRecord[] {
  return kevRecords(JSON.parse(readFileSync(join(SHARED, 'feeds', 'kev', 'known_exploited_vulnerabilities.json'), 'utf8'))).records;
}

/** The records of one OSV export (../shared/feeds/osv/<eco>/all.zip) `keep` selects, through the feed reader. */
async function feedRecords(eco: string, keep: (r: OsvRecord) => boolean = () => true): Promise<OsvRecord[]> {
  const out: OsvRecord[] = [];
  for await (const r of readOsvZip(createReadStream(join(SHARED, 'feeds', 'osv', eco, 'all.zip')))) if (keep(r)) out.push(r);
  return out;
}

function corpusRecord(file: string): OsvRecord {
  const r = parseOsvRecord(JSON.parse(readFileSync(corpusPath('osv', file), 'utf8')));
  if (!('record' in r)) throw new Error(`${file}: ${JSON.stringify(r)}`);
  return r.record;
}

function fixtureRecord(file: string): OsvRecord {
  const r = parseOsvRecord(JSON.parse(readFileSync(join(__dirname, 'fixtures', 'malicious-packages', file), 'utf8')));
  if (!('record' in r)) throw new Error(`${file}: ${JSON.stringify(r)}`);
  return r.record;
}

async function storeWith(...records: OsvRecord[][]): Promise<MemoryAdvisoryStore> {
  const s = new MemoryAdvisoryStore();
  await s.upsert(records.flat());
  return s;
}

const pkg = (ecosystem: string, name: string, version: string, purl: string, over: Partial<Package> = {}): Package => ({
  ecosystem: ecosystem as Package['ecosystem'], name, version, purl, locations: [{ layer: LAYER, path: '/x' }], cataloger: { name: 'test', version: '1' }, ...over,
});
const stdlib = (v: string): Package => pkg('Go', 'stdlib', v, `pkg:golang/stdlib@${v}`, { locations: [{ layer: LAYER, path: '/usr/local/bin/app' }] });
const vulns = (fs: readonly MatchedFinding[]): VulnerabilityFinding[] => fs.filter((f): f is VulnerabilityFinding => f.type === 'vulnerability');
const cveOf = (id: string): string => id.replace(/^nvd:/, '');

/**
 * The expected NVD severity per CVE, from the corpus README's table (written from NVD's published
 * values, independently of this code): `score SEVERITY (version, type, source)` or `—`.
 */
function readmeExpectations(): Map<string, { score: number; severity: string; type: string } | undefined> {
  const out = new Map<string, { score: number; severity: string; type: string } | undefined>();
  for (const line of readFileSync(join(SHARED, 'corpus', 'nvd', 'README.md'), 'utf8').split('\n')) {
    const m = /^\| (CVE-\d+-\d+) \| [^|]+ \| [^|]+ \| [^|]+ \| ([^|]+) \|/.exec(line);
    if (!m) continue;
    const v3 = /^(\d+\.\d) ([A-Z]+) \(v3\.\d, (Primary|Secondary)/.exec(m[2].trim());
    out.set(m[1], v3 ? { score: Number(v3[1]), severity: v3[2].toLowerCase(), type: v3[3] } : undefined);
  }
  return out;
}

describe('NVD severity for every record of ../shared/corpus/nvd (data-driven)', () => {
  const nvd = nvdCorpus();
  const expected = readmeExpectations();
  let osv: OsvRecord[] = [];
  beforeAll(async () => {
    const cves = new Set(nvd.map((r) => cveOf(r.id)));
    const names = (r: OsvRecord): string[] => [r.id, ...r.aliases, ...r.upstream];
    const keep = (r: OsvRecord): boolean => names(r).some((i) => cves.has(i));
    osv = [...await feedRecords('Go', keep), ...await feedRecords('PyPI', keep), ...await feedRecords('Debian', keep)];
  }, 60_000);

  it('the README states an expectation for each of the 40 records', () => {
    expect(nvd).toHaveLength(40);
    expect(nvd.map((r) => cveOf(r.id)).filter((c) => !expected.has(c))).toEqual([]);
  });

  it.each(nvd.map((r) => [cveOf(r.id), r] as const))('%s: a finding about it carries NVD\'s severity (or falls through when NVD has none)', async (cve, record) => {
    // Real package records that name the CVE (id, alias or upstream); a CVE no shipped feed names gets a
    // minimal record aliasing it (CVE-2023-4911 and CVE-2024-2961 are newer than the Debian snapshot).
    const members = osv.filter((r) => [r.id, ...r.aliases, ...r.upstream].includes(cve));
    const used = members.length > 0 ? members : [{ id: `TEST-${cve}`, modified: '2024-01-01T00:00:00Z', aliases: [cve], related: [], upstream: [], severity: [], affected: [], references: [] } as OsvRecord];
    const store = await storeWith([record]);
    for (const m of used) {
      const ids = [m.id, ...m.aliases];
      const r = await resolveSeverity([{ record: m, affected: m.affected[0] }], ids, m.upstream, store);
      const want = expected.get(cve);
      if (want) {
        expect({ id: m.id, severity: r.severity, score: r.score, by: r.severities[0].origin, type: r.severities[0].type })
          .toEqual({ id: m.id, severity: want.severity, score: want.score, by: 'nvd', type: want.type });
        expect(r.severitySource).toMatch(/^NVD CVSS v3\.[01] \(/);
      } else {
        // Awaiting Analysis with empty metrics: NVD gives nothing, the next source decides.
        expect(r.severities.some((s) => s.origin === 'nvd')).toBe(false);
      }
    }
  });
});

/** A minimal NVD CVE API 2.0 `cve` object with the given metrics (vectors from real records). */
function nvdCve(id: string, metrics: Record<string, unknown[]>, vulnStatus = 'Analyzed'): OsvRecord {
  const r = nvdRecord({ id, published: '2024-01-01T00:00:00.000', lastModified: '2024-02-01T00:00:00.000', vulnStatus, descriptions: [{ lang: 'en', value: 'A test. More.' }], metrics });
  if (!('id' in r)) throw new Error(r.skip);
  return r;
}
const metric = (version: string, vector: string, type: 'Primary' | 'Secondary', source = type === 'Primary' ? 'nvd@nist.gov' : 'security-advisories@github.com', baseScore?: number) =>
  ({ source, type, cvssData: { version, vectorString: vector, ...(baseScore !== undefined ? { baseScore } : {}) } });
// Real vectors: CVE-2023-0286 (7.4), CVE-2019-14234 (9.8, v3.0), CVE-2024-3651 (6.2, v3.0), CVE-2019-11236 v2 (4.3), CVE-2020-14343 v2 (10.0).
const V31_74 = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H';
const V30_98 = 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const V31_98 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const V30_62 = 'CVSS:3.0/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H';
const V2_43 = 'AV:N/AC:M/Au:N/C:N/I:P/A:N';
const V2_100 = 'AV:N/AC:L/Au:N/C:C/I:C/A:C';
const V40_93 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';

describe('nvdSeverity: which NVD metric decides (named cases)', () => {
  /** [name, metrics, vulnStatus, expected {severity, score, type, version} or undefined, cvssV4 score] */
  const CASES: readonly (readonly [string, Record<string, unknown[]>, string, { severity: string; score: number; type: string; source: string } | undefined, number | undefined])[] = [
    ['Primary (NVD) before a higher Secondary (CNA)', { cvssMetricV31: [metric('3.1', V31_98, 'Secondary'), metric('3.1', V31_74, 'Primary')] }, 'Analyzed', { severity: 'high', score: 7.4, type: 'Primary', source: 'NVD CVSS v3.1' }, undefined],
    ['no Primary: the Secondary decides', { cvssMetricV30: [metric('3.0', V30_62, 'Secondary', 'security@huntr.dev')] }, 'Awaiting Analysis', { severity: 'medium', score: 6.2, type: 'Secondary', source: 'NVD CVSS v3.0' }, undefined],
    ['v3.0 and v3.1 in one tier: the highest score wins (v3.0 9.8 over v3.1 7.4)', { cvssMetricV31: [metric('3.1', V31_74, 'Primary')], cvssMetricV30: [metric('3.0', V30_98, 'Primary')] }, 'Analyzed', { severity: 'critical', score: 9.8, type: 'Primary', source: 'NVD CVSS v3.0' }, undefined],
    ['v3.0 and v3.1 equal: v3.1', { cvssMetricV31: [metric('3.1', V31_98, 'Primary')], cvssMetricV30: [metric('3.0', V30_98, 'Primary')] }, 'Analyzed', { severity: 'critical', score: 9.8, type: 'Primary', source: 'NVD CVSS v3.1' }, undefined],
    ['v3 decides, v4 shown beside it', { cvssMetricV40: [metric('4.0', V40_93, 'Secondary')], cvssMetricV31: [metric('3.1', V31_74, 'Primary')] }, 'Analyzed', { severity: 'high', score: 7.4, type: 'Primary', source: 'NVD CVSS v3.1' }, 9.3],
    ['v4 only', { cvssMetricV40: [metric('4.0', V40_93, 'Secondary')] }, 'Received', { severity: 'critical', score: 9.3, type: 'Secondary', source: 'NVD CVSS v4.0' }, undefined],
    ['v2 only: NVD v2 bands (10.0 is high, never critical)', { cvssMetricV2: [metric('2.0', V2_100, 'Primary'), metric('2.0', V2_43, 'Primary')] }, 'Analyzed', { severity: 'high', score: 10, type: 'Primary', source: 'NVD CVSS v2.0' }, undefined],
    ['v3 before v2 in the same tier', { cvssMetricV31: [metric('3.1', V31_74, 'Primary')], cvssMetricV2: [metric('2.0', V2_100, 'Primary')] }, 'Analyzed', { severity: 'high', score: 7.4, type: 'Primary', source: 'NVD CVSS v3.1' }, undefined],
    ['Awaiting Analysis with empty metrics: nothing (falls through)', {}, 'Awaiting Analysis', undefined, undefined],
    ['Rejected: ignored', { cvssMetricV31: [metric('3.1', V31_98, 'Primary')] }, 'Rejected', undefined, undefined],
    ['a vector that does not score is skipped', { cvssMetricV31: [metric('3.1', 'CVSS:3.1/AV:N/AC:L', 'Primary'), metric('3.1', V31_74, 'Secondary')] }, 'Analyzed', { severity: 'high', score: 7.4, type: 'Secondary', source: 'NVD CVSS v3.1' }, undefined],
  ];
  it.each(CASES)('%s', (_name, metrics, status, want, v4) => {
    const r = nvdSeverity(nvdCve('CVE-2099-0001', metrics, status));
    if (!want) return expect(r).toBeUndefined();
    expect(r?.rating).toMatchObject({ ...want, origin: 'nvd', record: 'nvd:CVE-2099-0001' });
    expect(r?.cvssV4?.score).toBe(v4);
    return undefined;
  });

  it('scores the vector itself: a disagreeing published baseScore is noted, not used', () => {
    const r = nvdSeverity(nvdCve('CVE-2099-0002', { cvssMetricV31: [metric('3.1', V31_74, 'Primary', 'nvd@nist.gov', 9.9)] }));
    expect(r?.rating).toMatchObject({ score: 7.4, severity: 'high', note: 'NVD publishes baseScore 9.9 for this vector; the computed base score 7.4 is used' });
  });
});

describe('resolveSeverity: the order of sources (named cases on real records)', () => {
  const rubysec = async (id: string): Promise<OsvRecord> => (await feedRecords('RubyGems', (r) => r.id === id))[0];

  it('NVD before the record\'s own rating, and every source listed (RubySec 7.5 vs NVD for CVE-2023-0286 style)', async () => {
    // x_RUBYSEC-jquery-rails-CVE-2015-9251: RubySec rates 6.1; an NVD record for its CVE decides instead.
    const r = await rubysec('x_RUBYSEC-jquery-rails-CVE-2015-9251');
    const store = await storeWith([nvdCve('CVE-2015-9251', { cvssMetricV31: [metric('3.1', V31_74, 'Primary')] })]);
    const s = await resolveSeverity([{ record: r, affected: r.affected[0] }], [r.id, ...r.aliases], r.upstream, store);
    expect(s).toMatchObject({ severity: 'high', score: 7.4, severitySource: 'NVD CVSS v3.1 (nvd@nist.gov, Primary)' });
    expect(s.severities.map((x) => `${x.origin} ${x.source} ${x.severity}`)).toEqual(['nvd NVD CVSS v3.1 high', 'advisory RubySec database_specific.cvss_v3 medium']);
  });

  it('RubySec\'s numeric database_specific.cvss_v3 rates a record with no vector (x_RUBYSEC-actionpack-CVE-2014-0130: 7.5)', async () => {
    const r = await rubysec('x_RUBYSEC-actionpack-CVE-2014-0130');
    const s = await resolveSeverity([{ record: r, affected: r.affected[0] }], [r.id, ...r.aliases], r.upstream, new MemoryAdvisoryStore());
    expect(s).toMatchObject({ severity: 'high', score: 7.5, severitySource: 'RubySec database_specific.cvss_v3' });
  });

  it('the record\'s own rating before an alias\'s, both listed (x_RUBYSEC-jquery-rails-CVE-2011-4969: RubySec cvss_v2 4.3; GHSA-579v-mp3v-rrw5 MODERATE)', async () => {
    const r = await rubysec('x_RUBYSEC-jquery-rails-CVE-2011-4969');
    const store = await storeWith([corpusRecord('npm/GHSA-579v-mp3v-rrw5.json')]);
    const s = await resolveSeverity([{ record: r, affected: r.affected[0] }], [r.id, ...r.aliases], r.upstream, store);
    expect(s).toMatchObject({ severity: 'medium', severitySource: 'RubySec database_specific.cvss_v2' });
    expect(s.severities.map((x) => `${x.record} ${x.origin} ${x.source} ${x.severity}`)).toEqual([
      'x_RUBYSEC-jquery-rails-CVE-2011-4969 advisory RubySec database_specific.cvss_v2 medium',
      'GHSA-579v-mp3v-rrw5 alias GHSA database_specific.severity medium',
    ]);
  });

  it('alias join: a GO- record takes the rating of the Bitnami record for the same CVE (GO-2022-0493 ← BIT-golang-2022-29526)', async () => {
    const go = corpusRecord('go/GO-2022-0493.json');
    const store = await storeWith(await feedRecords('Bitnami', (r) => r.id === 'BIT-golang-2022-29526'));
    const s = await resolveSeverity([{ record: go, affected: go.affected[0] }], [go.id, ...go.aliases], go.upstream, store);
    expect(s).toMatchObject({ severity: 'medium', severitySource: 'BIT-golang-2022-29526 CVSS_V3 (alias)' });
    expect(s.severities[0]).toMatchObject({ record: 'BIT-golang-2022-29526', origin: 'alias' });
    // Without the other export, nothing rates it.
    expect((await resolveSeverity([{ record: go, affected: go.affected[0] }], [go.id, ...go.aliases], go.upstream, new MemoryAdvisoryStore())).severity).toBe('unknown');
  });

  it('a Debian record: NVD decides before any distribution rating (DEBIAN-CVE-2017-6507)', async () => {
    const r = corpusRecord('distro/DEBIAN-CVE-2017-6507.json');
    const store = await storeWith([nvdCve('CVE-2017-6507', { cvssMetricV31: [metric('3.1', V31_74, 'Primary')] })]);
    const s = await resolveSeverity([{ record: r, affected: r.affected[0] }], [r.id, ...r.aliases], r.upstream, store);
    expect(s.severities[0]).toMatchObject({ origin: 'nvd', record: 'nvd:CVE-2017-6507' });
  });

  it('a store that holds no NVD, KEV or alias record: the record\'s own ratings, no enrichment', async () => {
    const r = await rubysec('x_RUBYSEC-actionpack-CVE-2014-0130');
    const s = await resolveSeverity([{ record: r, affected: r.affected[0] }], [r.id, ...r.aliases], r.upstream, { lookup: async () => [], get: async () => undefined });
    expect(s.severitySource).toBe('RubySec database_specific.cvss_v3');
  });
});

describe('a Go-only image (stdlib v1.20.0 against the real Go feed)', () => {
  let goFeed: OsvRecord[] = [];
  beforeAll(async () => {
    goFeed = await feedRecords('Go', (r) => r.affected.some((a) => a.name === 'stdlib'));
  }, 60_000);
  const policyLow = parsePolicy('apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    unknownSeverityAs: low\n');

  it('with no severity source: every finding is unknown, and the default policy quarantines it (unknown is not low)', async () => {
    const { findings } = await matchPackages([stdlib('v1.20.0')], await storeWith(goFeed), SCHEMES);
    const v = vulns(findings);
    expect(v.length).toBeGreaterThan(20);
    expect(v.every((f) => f.severity === 'unknown' && f.severitySource === 'none')).toBe(true);
    expect(v.filter((f) => f.fixedIn).length).toBeGreaterThan(0);
    const verdict = evaluatePolicy(DEFAULT_POLICY, { ref: 'go-only', digest: LAYER, findings, feeds: FEEDS, now: NOW });
    expect(verdict.status).toBe('quarantined');
    expect(verdict.reasons[0].message).toMatch(/^vulnerabilities of unknown severity, treated as high \(vulnerabilities.unknownSeverityAs\) with a fix available: /);
    // unknownSeverityAs: low → trusted (the assumption is the policy's to make).
    expect(evaluatePolicy(policyLow, { ref: 'go-only', digest: LAYER, findings, feeds: FEEDS, now: NOW }).status).toBe('trusted');
  });

  it('with ../shared/corpus/nvd synced: every finding whose CVE has a scored NVD record carries NVD\'s severity', async () => {
    const nvd = nvdCorpus();
    const { findings } = await matchPackages([stdlib('v1.20.0')], await storeWith(goFeed, nvd), SCHEMES);
    const scored = new Map(nvd.flatMap((r) => { const s = nvdSeverity(r); return s ? [[cveOf(r.id), s.rating] as const] : []; }));
    const covered = vulns(findings).filter((f) => [f.id, ...f.aliases].some((i) => scored.has(i)));
    expect(covered.length).toBeGreaterThan(0);
    for (const f of covered) {
      const want = scored.get([f.id, ...f.aliases].find((i) => scored.has(i))!)!;
      expect({ id: f.id, severity: f.severity, score: f.score, source: f.severitySource.slice(0, 3) }).toEqual({ id: f.id, severity: want.severity, score: want.score, source: 'NVD' });
    }
  });

  it('summaries: a Go record without summary uses the first sentence of its details', async () => {
    const { findings } = await matchPackages([stdlib('v1.20.0')], await storeWith(goFeed), SCHEMES);
    expect(vulns(findings).every((f) => typeof f.summary === 'string' && f.summary.length > 0 && f.summary.length <= 200)).toBe(true);
  });
});

describe('known exploited (CISA KEV snapshot, real overlap: Heartbleed)', () => {
  it('Debian openssl affected by DEBIAN-CVE-2014-0160 carries knownExploited and the default policy quarantines it whatever its severity', async () => {
    const debian = await feedRecords('Debian', (r) => r.id === 'DEBIAN-CVE-2014-0160');
    const store = await storeWith(debian, kevCorpus());
    const openssl = pkg('Debian', 'libssl1.0.0', '1.0.1e-2+deb7u4', 'pkg:deb/debian/libssl1.0.0@1.0.1e-2+deb7u4', { distro: 'Debian:10', sourceName: 'openssl', sourceVersion: '1.0.1e-2' });
    const { findings } = await matchPackages([openssl], store, SCHEMES);
    const v = vulns(findings);
    expect(v.map((f) => [f.id, f.knownExploited])).toEqual([['DEBIAN-CVE-2014-0160', { cve: 'CVE-2014-0160', dateAdded: '2022-05-04', dueDate: '2022-05-25', ransomware: 'Unknown' }]]);
    const verdict = evaluatePolicy(DEFAULT_POLICY, { ref: 'x', digest: LAYER, findings, feeds: FEEDS, now: NOW });
    expect(verdict.reasons.map((r) => r.message)).toEqual([expect.stringMatching(/^known exploited vulnerabilities \(CISA KEV\): DEBIAN-CVE-2014-0160/)]);
    expect(v[0].message).toContain('known exploited (CISA KEV, added 2022-05-04)');
  });

  it('the NVD corpus and KEV overlap on CVE-2023-4911 (glibc, Looney Tunables): NVD severity (Secondary) and KEV both attach', async () => {
    const glibc = { id: 'TEST-GLIBC', modified: '2024-01-01T00:00:00Z', aliases: [], related: [], upstream: ['CVE-2023-4911'], severity: [], references: [],
      affected: [{ ecosystem: 'Debian:12', name: 'glibc', ranges: [{ type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: '2.36-9+deb12u3' }] }], versions: [], severity: [] }] };
    const store = await storeWith([glibc], nvdCorpus(), kevCorpus());
    const libc = pkg('Debian', 'libc6', '2.36-9+deb12u1', 'pkg:deb/debian/libc6@2.36-9+deb12u1', { distro: 'Debian:12', sourceName: 'glibc', sourceVersion: '2.36-9+deb12u1' });
    const [f] = vulns((await matchPackages([libc], store, SCHEMES)).findings);
    expect(f).toMatchObject({ severity: 'high', score: 7.8, severitySource: 'NVD CVSS v3.1 (secalert@redhat.com, Secondary)', knownExploited: { cve: 'CVE-2023-4911', dateAdded: '2023-11-21' } });
  });
});

describe('MAL- records (OpenSSF malicious-packages) are malware findings', () => {
  const CASES: readonly (readonly [string, Package, string | undefined])[] = [
    ['a range introduced: 0 (every version): 0-dns 1.0.0', pkg('npm', '0-dns', '1.0.0', 'pkg:npm/0-dns@1.0.0'), 'MAL-2022-9'],
    ['an explicit versions list naming the installed version: 000webhost-admin 999.9.9', pkg('npm', '000webhost-admin', '999.9.9', 'pkg:npm/000webhost-admin@999.9.9'), 'MAL-2024-11848'],
    ['a version the list does not name: 000webhost-admin 1.0.0', pkg('npm', '000webhost-admin', '1.0.0', 'pkg:npm/000webhost-admin@1.0.0'), undefined],
  ];
  it.each(CASES)('%s', async (_name, p, want) => {
    const store = await storeWith([fixtureRecord('MAL-2022-9.json'), fixtureRecord('MAL-2024-11848.json')]);
    const { findings } = await matchPackages([p], store, SCHEMES);
    if (!want) return expect(findings).toEqual([]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ type: 'malware', id: want, severity: 'critical', package: p.purl, installedVersion: p.version });
    expect(findings[0].message).toMatch(new RegExp(`^${p.name} ${p.version} is a known malicious package version \\(${want}, OpenSSF malicious-packages\\)`));
    const verdict = evaluatePolicy(DEFAULT_POLICY, { ref: 'x', digest: LAYER, findings, feeds: FEEDS, now: NOW });
    expect(verdict.reasons.map((r) => r.rule)).toEqual(['malware']);
    return undefined;
  });
});

describe('firstSentence (summaries from details)', () => {
  const CASES: readonly (readonly [string, string, string | undefined])[] = [
    ['one sentence of two', 'The parser panics on bad input. An attacker can crash it.', 'The parser panics on bad input.'],
    ['e.g. does not end a sentence', 'Some inputs, e.g. long headers, exhaust memory. More text.', 'Some inputs, e.g. long headers, exhaust memory.'],
    ['a version number does not end a sentence', 'Versions before 1.2.3 of x mishandle y. Fixed in 1.2.4.', 'Versions before 1.2.3 of x mishandle y.'],
    ['a version at the end of a sentence ends it', 'Fixed in 1.2.3. Upgrade now.', 'Fixed in 1.2.3.'],
    ['a lower-case continuation is not a new sentence', 'Calls to net/http. server are slow. Done.', 'Calls to net/http. server are slow.'],
    ['whitespace and line breaks collapse', 'A  multi-line\n  description\nhere. Next.', 'A multi-line description here.'],
    ['Markdown rule and emphasis lines are skipped (MAL- details)', '\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: ghsa-malware (x)\nAny computer that has this package installed is compromised. Rotate keys.', 'Any computer that has this package installed is compromised.'],
    ['no period: the whole text', 'No punctuation here', 'No punctuation here'],
    ['blank: none', '  \n ', undefined],
  ];
  it.each(CASES)('%s', (_name, text, want) => {
    expect(firstSentence(text)).toBe(want);
  });

  it('caps the length at a word boundary', () => {
    const s = firstSentence(`${'word '.repeat(100)}end.`, 50)!;
    expect(s.length).toBeLessThanOrEqual(50);
    expect(s.endsWith('word…')).toBe(true);
  });
});
