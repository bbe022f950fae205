import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { readOsvZip } from '../../../lib/engine/advisories/feed';
import { parseOsvRecord } from '../../../lib/engine/advisories/record';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { keyResultCacheOf, matchPackages, primaryId, type MatcherStore, type VulnerabilityFinding } from '../../../lib/engine/match/matcher';
import { RangeCache } from '../../../lib/engine/match/compiled-ranges';
import { parseDpkgStatus } from '../../../lib/engine/catalog/dpkg';
import { parseApkInstalled } from '../../../lib/engine/catalog/apk';
import type { Digest, Package } from '../../../lib/engine/model';
import { scanImage } from '../../../lib/engine/scan-image';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { corpusPath, SHARED } from '../../helpers/corpus';
import { MemorySource } from '../../helpers/memory-source';
import { join } from 'node:path';

/** A real record of ../shared/corpus/osv, through the same parser the feed reader uses. */
function record(file: string): OsvRecord {
  const r = parseOsvRecord(JSON.parse(readFileSync(corpusPath('osv', file), 'utf8')));
  if (!('record' in r)) throw new Error(`${file}: ${JSON.stringify(r)}`);
  return r.record;
}

async function storeOf(...files: string[]): Promise<MemoryAdvisoryStore> {
  const store = new MemoryAdvisoryStore();
  await store.upsert(files.map(record));
  return store;
}

const stanza = (name: string, version: string, source?: string) =>
  `Package: ${name}\nStatus: install ok installed\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nArchitecture: amd64\n\n`;
const apk = (name: string, version: string, origin: string) => `P:${name}\nV:${version}\nA:x86_64\no:${origin}\n\n`;
const osRelease = (id: string, versionId: string) => `ID=${id}\nVERSION_ID="${versionId}"\n`;

const vulns = (fs: readonly { type: string }[]) => fs.filter((f): f is VulnerabilityFinding => f.type === 'vulnerability');
const summary = (fs: readonly { type: string }[]) => vulns(fs).map((f) => `${f.package} ${f.id} fixed=${f.fixedIn ?? '-'} via=${f.match.via}`).sort();

describe('matching packages of a real image against real OSV records', () => {
  it('Debian: matches on the source package and its version, not the binary one (DLA-3008-1, openssl in Debian 9)', async () => {
    // libssl1.1 is a binary of source openssl; a binNMU gives it a version ("+b1") no advisory names,
    // and no advisory names the binary package at all. The openssl binary is already at the fix.
    const image = buildImage({
      layers: [{
        entries: [
          { path: 'etc/os-release', body: osRelease('debian', '9') },
          { path: 'var/lib/dpkg/status', body: stanza('libssl1.1', '1.1.0l-1~deb9u5+b1', 'openssl (1.1.0l-1~deb9u5)') + stanza('openssl', '1.1.0l-1~deb9u6') + stanza('apparmor', '2.11.0-2') },
        ],
      }],
    });
    const store = await storeOf('distro/DLA-3008-1.json', 'distro/DEBIAN-CVE-2017-6507.json');
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: { store, schemes: SCHEMES, feeds: [{ source: 'osv:Debian', status: 'complete', revision: 'r1', syncedAt: new Date().toISOString(), ecosystems: ['Debian:9'] }] } });
    const found = vulns(r.images[0].findings);
    // DEBIAN-CVE-2017-6507 names Debian 10–13, not 9: apparmor is not matched in this release.
    expect(summary(found)).toEqual(['pkg:deb/debian/libssl1.1@1.1.0l-1~deb9u5+b1?arch=amd64&distro=debian-9 DLA-3008-1 fixed=1.1.0l-1~deb9u6 via=source package']);
    expect(found[0]).toMatchObject({ installedVersion: '1.1.0l-1~deb9u5+b1', match: { ecosystem: 'Debian:9', name: 'openssl', version: '1.1.0l-1~deb9u5', kind: 'versions' } });
    // osv.dev enumerates the affected source versions; the range gives the same answer.
    expect(found[0].fixedIn).toBe('1.1.0l-1~deb9u6');
    // The policy (not the matcher) turns findings into a verdict: DLA-3008-1 carries no rating and no
    // other source is synced, so its severity is unknown — and unknown with a fix counts as high (issue 14).
    expect(found[0]).toMatchObject({ severity: 'unknown', severitySource: 'none', severities: [] });
    expect(r.verdict.status).toBe('quarantined');
    expect(r.verdict.reasons.map((x) => x.message)).toEqual([expect.stringMatching(/^vulnerabilities of unknown severity, treated as high \(vulnerabilities.unknownSeverityAs\)/)]);
  });

  it('Debian 12: the same apparmor version is affected where the record names the release', async () => {
    const store = await storeOf('distro/DEBIAN-CVE-2017-6507.json');
    const p: Package = {
      ecosystem: 'Debian', name: 'apparmor', version: '2.11.0-2', purl: 'pkg:deb/debian/apparmor@2.11.0-2', distro: 'Debian:12', sourceName: 'apparmor', sourceVersion: '2.11.0-2',
      locations: [{ layer: `sha256:${'0'.repeat(64)}` as Digest, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1' },
    };
    const { findings } = await matchPackages([p, { ...p, version: '2.11.0-3', sourceVersion: '2.11.0-3' }], store, SCHEMES);
    // The record names its CVE as `upstream`, not as an alias: the id stays the record's own, the CVE is reported beside it.
    expect(vulns(findings).map((f) => [f.installedVersion, f.id, f.fixedIn, f.upstream])).toEqual([['2.11.0-2', 'DEBIAN-CVE-2017-6507', '2.11.0-3', ['CVE-2017-6507']]]);
  });

  it('Alpine: the origin package, the release\'s own range, and -rN ordered by number (ALPINE-CVE-2025-26519, musl)', async () => {
    const image = (release: string, musl: string) => buildImage({
      layers: [{
        entries: [
          { path: 'etc/os-release', body: osRelease('alpine', release) },
          { path: 'lib/apk/db/installed', body: apk('musl', musl, 'musl') + apk('musl-utils', musl, 'musl') },
        ],
      }],
    });
    const store = await storeOf('distro/ALPINE-CVE-2025-26519.json');
    const run = async (release: string, musl: string) =>
      vulns((await scanImage(MemorySource.fromBuilt(image(release, musl)), { limits: DEFAULT_LIMITS, advisories: { store, schemes: SCHEMES, feeds: [] } })).images[0].findings);
    // 3.19 is fixed in 1.2.4_git20230717-r5: r4 is affected (both binaries of the origin), r5 and r10 are not
    // (r10 > r5 by number; as strings "r10" < "r5").
    expect((await run('3.19.1', '1.2.4_git20230717-r4')).map((f) => [f.id, f.fixedIn, f.match.name])).toEqual([
      ['ALPINE-CVE-2025-26519', '1.2.4_git20230717-r5', 'musl'], ['ALPINE-CVE-2025-26519', '1.2.4_git20230717-r5', 'musl'],
    ]);
    expect(await run('3.19.1', '1.2.4_git20230717-r5')).toEqual([]);
    expect(await run('3.19.1', '1.2.4_git20230717-r10')).toEqual([]);
    // The same version on 3.18, whose fix is 1.2.4-r3: apk orders the post-release 1.2.4_git20230717 after 1.2.4-r3.
    expect(await run('3.18.4', '1.2.4_git20230717-r4')).toEqual([]);
    expect((await run('3.18.4', '1.2.4-r2')).map((f) => f.fixedIn)).toEqual(['1.2.4-r3', '1.2.4-r3']);
  });

  it('npm: a GHSA record with its CVE alias reported once (GHSA-29mw-wpgm-hmr9, lodash)', async () => {
    const store = await storeOf('npm/GHSA-29mw-wpgm-hmr9.json');
    const p = (version: string): Package => ({
      ecosystem: 'npm', name: 'lodash', version, purl: `pkg:npm/lodash@${version}`,
      locations: [{ layer: `sha256:${'0'.repeat(64)}` as Digest, path: '/app/package-lock.json' }], cataloger: { name: 'npm-lock', version: '1' },
    });
    const { findings } = await matchPackages([p('4.17.20'), p('4.17.21'), p('3.10.1')], store, SCHEMES);
    expect(findings.map((f) => [f.installedVersion, f.id, f.aliases, f.fixedIn, f.severity])).toEqual([['4.17.20', 'CVE-2020-28500', ['GHSA-29mw-wpgm-hmr9'], '4.17.21', 'medium']]);
    // The record's own publication date, for the policy's grace period.
    expect(findings[0].published).toBe(record('npm/GHSA-29mw-wpgm-hmr9.json').published);
    expect(findings[0].published).toBeDefined();
  });

  it('OS packages without a known release are not silently clean: they are unknowns', async () => {
    const store = await storeOf('distro/DLA-3008-1.json');
    const { findings, unknowns } = await matchPackages([{
      ecosystem: 'Debian', name: 'openssl', version: '1.1.0l-1~deb9u5', purl: 'pkg:deb/debian/openssl@1.1.0l-1~deb9u5',
      locations: [{ layer: `sha256:${'0'.repeat(64)}` as Digest, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1' },
    }], store, SCHEMES);
    expect(findings).toEqual([]);
    expect(unknowns[0].reason).toMatch(/distribution release is unknown/);
  });

  it('withdrawn records never produce findings', async () => {
    const store = new MemoryAdvisoryStore();
    await store.upsert([{ ...record('npm/GHSA-29mw-wpgm-hmr9.json'), withdrawn: '2024-01-01T00:00:00Z' }]);
    const { findings } = await matchPackages([{
      ecosystem: 'npm', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20',
      locations: [{ layer: `sha256:${'0'.repeat(64)}` as Digest, path: '/p' }], cataloger: { name: 'npm-lock', version: '1' },
    }], store, SCHEMES);
    expect(findings).toEqual([]);
  });

  it('records that name each other become one finding with every id (PyPI export: PYSEC + GHSA for one CVE)', async () => {
    const store = new MemoryAdvisoryStore();
    const wanted: OsvRecord[] = [];
    for await (const r of readOsvZip(createReadStream(join(SHARED, 'feeds', 'osv', 'PyPI', 'all.zip')))) {
      if (r.affected.some((a) => a.name.toLowerCase() === 'django')) wanted.push(r);
    }
    await store.upsert(wanted);
    const django: Package = {
      ecosystem: 'PyPI', name: 'django', version: '3.2.0', purl: 'pkg:pypi/django@3.2.0',
      locations: [{ layer: `sha256:${'0'.repeat(64)}` as Digest, path: '/app/requirements.txt' }], cataloger: { name: 'pypi', version: '1' },
    };
    const { findings } = await matchPackages([django], store, SCHEMES);
    expect(findings.length).toBeGreaterThan(10);
    // Every id appears in exactly one finding: no CVE reported twice under a PYSEC and a GHSA id.
    const all = findings.flatMap((f) => [f.id, ...f.aliases]);
    expect(new Set(all).size).toBe(all.length);
    const merged = findings.filter((f) => f.aliases.some((a) => a.startsWith('PYSEC-')) && f.aliases.some((a) => a.startsWith('GHSA-')));
    expect(merged.length).toBeGreaterThan(0);
    for (const f of findings) expect(f.fixedIn === undefined || SCHEMES.schemeFor('PyPI')!.compare(f.fixedIn, '3.2.0') > 0).toBe(true);
  });

  it.each([
    ['one CVE wins', ['GHSA-x', 'CVE-2020-1', 'PYSEC-1'], 'PyPI', 'CVE-2020-1'],
    ['two CVEs: the ecosystem database id', ['CVE-2020-1', 'CVE-2020-2', 'GO-2020-1', 'GHSA-y'], 'Go', 'GO-2020-1'],
    ['no native id: GHSA', ['CVE-2020-1', 'CVE-2020-2', 'GHSA-y'], 'npm', 'GHSA-y'],
  ])('primary id: %s', (_n, ids, eco, want) => {
    expect(primaryId(ids, eco)).toBe(want);
  });
});

describe('compiled ranges (issue 16 item 4): a whole scan answers exactly as the plain evaluation', () => {
  // A realistic package set from real data: every dpkg and apk database of ../shared/corpus/pkgdb (as
  // Debian 11 and 12, Alpine v3.16 and v3.19) and every language package the peers assert for the
  // corpus lock files, against every record of the OSV exports that have a version scheme.
  const LAYER = `sha256:${'0'.repeat(64)}` as Digest;
  const at = [{ layer: LAYER, path: '/fixture' }];
  const cataloger = { name: 'corpus', version: '1' };
  const LANG: Record<string, Package['ecosystem']> = { npm: 'npm', pypi: 'PyPI', golang: 'Go', cargo: 'crates.io', rubygems: 'RubyGems', composer: 'Packagist', nuget: 'NuGet' };

  function corpusPackages(): Package[] {
    const out: Package[] = [];
    const pkgdb = join(SHARED, 'corpus', 'pkgdb');
    for (const dir of readdirSync(join(pkgdb, 'dpkg'))) {
      const status = join(pkgdb, 'dpkg', dir, 'var', 'lib', 'dpkg', 'status');
      if (!existsSync(status)) continue;
      for (const e of parseDpkgStatus(readFileSync(status, 'utf8')).entries) {
        for (const distro of ['Debian:11', 'Debian:12']) {
          out.push({ ecosystem: 'Debian', name: e.name, version: e.version, purl: `pkg:deb/debian/${e.name}@${e.version}?distro=${distro}`, sourceName: e.sourceName, sourceVersion: e.sourceVersion, distro, locations: at, cataloger });
        }
      }
    }
    for (const dir of readdirSync(join(pkgdb, 'apk'))) {
      const installed = join(pkgdb, 'apk', dir, 'lib', 'apk', 'db', 'installed');
      if (!existsSync(installed)) continue;
      for (const e of parseApkInstalled(readFileSync(installed, 'utf8')).entries) {
        for (const distro of ['Alpine:v3.16', 'Alpine:v3.19']) {
          out.push({ ecosystem: 'Alpine', name: e.name, version: e.version, purl: `pkg:apk/alpine/${e.name}@${e.version}?distro=${distro}`, sourceName: e.origin, distro, locations: at, cataloger });
        }
      }
    }
    for (const [folder, ecosystem] of Object.entries(LANG)) {
      if (!existsSync(join(pkgdb, folder))) continue;
      for (const dir of readdirSync(join(pkgdb, folder))) {
        const expected = JSON.parse(readFileSync(join(pkgdb, folder, dir, 'expected.json'), 'utf8')) as { cases: { packages?: { name?: string; version?: string | null }[] }[] };
        for (const c of expected.cases) {
          for (const p of c.packages ?? []) {
            if (!p.name || !p.version) continue;
            out.push({ ecosystem, name: p.name, version: p.version, purl: `pkg:generic/${encodeURIComponent(p.name)}@${p.version}?eco=${ecosystem}`, locations: at, cataloger });
          }
        }
      }
    }
    return out;
  }

  let store: MemoryAdvisoryStore;
  let packages: Package[];
  beforeAll(async () => {
    store = new MemoryAdvisoryStore();
    for (const feed of ['Debian', 'Alpine', 'Go', 'PyPI', 'npm', 'crates.io', 'RubyGems']) {
      const batch: OsvRecord[] = [];
      for await (const r of readOsvZip(createReadStream(join(SHARED, 'feeds', 'osv', feed, 'all.zip')))) batch.push(r);
      await store.upsert(batch);
    }
    packages = corpusPackages();
  }, 240_000);

  /** A store that hands out a fresh copy of every record on every read, as a store that parses again does. */
  const reparsing = (s: MemoryAdvisoryStore): MatcherStore => ({
    lookup: async (e, n) => (await s.lookup(e, n)).map((r) => structuredClone(r)),
    get: async (id) => {
      const r = await s.get(id);
      return r && structuredClone(r);
    },
  });

  it('findings (ids, packages, fixed versions, severities) and unknowns are identical, cold cache, warm cache, and records parsed again', async () => {
    const reference = await matchPackages(packages, store, SCHEMES, { ranges: 'reference' });
    const cache = new RangeCache();
    const cold = await matchPackages(packages, store, SCHEMES, { ranges: cache });
    const warm = await matchPackages(packages, store, SCHEMES, { ranges: cache });
    const reparsed = await matchPackages(packages, reparsing(store), SCHEMES, { ranges: cache });
    const tiny = await matchPackages(packages, store, SCHEMES, { ranges: new RangeCache(8) });
    const shared = await matchPackages(packages, store, SCHEMES);
    // The comparison means something: many findings, over several ecosystems.
    expect(packages.length).toBeGreaterThan(500);
    expect(reference.findings.length).toBeGreaterThan(100);
    expect(new Set(reference.findings.map((f) => f.match.ecosystem.split(':')[0])).size).toBeGreaterThanOrEqual(4);
    const view = (r: typeof reference) => JSON.stringify(r);
    for (const got of [cold, warm, reparsed, tiny, shared]) expect(view(got)).toBe(view(reference));
    // And the cache did what it claims: the warm run compiled nothing, the re-parsed one only verified.
    expect(cache.stats.hits).toBeGreaterThan(0);
    expect(cache.stats.verifiedHits).toBeGreaterThan(0);
    expect(cache.stats.stale).toBe(0);
    // The warm run answered lookups from the answers kept across scans.
    expect(keyResultCacheOf(cache).stats.hits).toBeGreaterThan(0);
  }, 240_000);

  it('an unparsable installed version or event stays an unknown (parse-error) on the compiled path', async () => {
    const odd: Package[] = [
      { ecosystem: 'Debian', name: 'openssl', version: 'not a version', purl: 'pkg:deb/debian/openssl@bad', distro: 'Debian:12', locations: at, cataloger },
      { ecosystem: 'PyPI', name: 'django', version: 'x.y.z!', purl: 'pkg:pypi/django@bad', locations: at, cataloger },
    ];
    const reference = await matchPackages(odd, store, SCHEMES, { ranges: 'reference' });
    const compiled = await matchPackages(odd, store, SCHEMES, { ranges: new RangeCache() });
    expect(JSON.stringify(compiled)).toBe(JSON.stringify(reference));
    expect(compiled.unknowns.filter((u) => u.class === 'parse-error').length).toBeGreaterThan(0);
  }, 60_000);
});

describe('memos (issue 16 item 4): a new revision of a record is never answered from a memo', () => {
  // The lookup answers kept across scans (KeyResultCache), the per-record ratings, NVD choice and
  // details sentence (resolve.ts) and the per-answer finding facts: a store holding a new revision
  // hands out another object, and the scan after it must say what a fresh matcher says about it.
  const ID = 'npm/GHSA-29mw-wpgm-hmr9.json';
  const lodash = (version: string): Package => ({
    ecosystem: 'npm', name: 'lodash', version, purl: `pkg:npm/lodash@${version}`,
    locations: [{ layer: `sha256:${'0'.repeat(64)}` as Digest, path: '/app/package-lock.json' }], cataloger: { name: 'npm-lock', version: '1' },
  });
  const packages = [lodash('4.17.20'), lodash('4.17.20'), lodash('4.17.21'), lodash('4.17.22'), lodash('3.10.1')];
  const revise = (change: (r: OsvRecord) => OsvRecord): OsvRecord => ({ ...change(structuredClone(record(ID))), modified: '2030-01-01T00:00:00Z' });
  const semverRange = (introduced: string, fixed: string) => [{ type: 'SEMVER' as const, events: [{ introduced }, { fixed }] }];
  const cases: { name: string; next: OsvRecord }[] = [
    { name: 'fixed version moved up', next: revise((r) => ({ ...r, affected: r.affected.map((a) => ({ ...a, ranges: semverRange('4.0.0', '4.17.22') })) })) },
    { name: 'range narrowed: 4.17.20 no longer affected', next: revise((r) => ({ ...r, affected: r.affected.map((a) => ({ ...a, ranges: semverRange('4.0.0', '4.17.5') })) })) },
    { name: 'summary removed: the details sentence is used', next: revise((r) => ({ ...r, summary: undefined, details: 'A new first sentence. And more.' })) },
    { name: 'details changed and summary removed', next: revise((r) => ({ ...r, summary: undefined, details: 'Another text entirely! Second.' })) },
    { name: 'CVSS vector changed: severity follows', next: revise((r) => ({ ...r, severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] })) },
    { name: 'withdrawn', next: revise((r) => ({ ...r, withdrawn: '2030-01-01T00:00:00Z' })) },
    { name: 'lodash entry renamed away: only lodash-es is left', next: revise((r) => ({ ...r, affected: r.affected.map((a) => ({ ...a, name: a.name === 'lodash' ? 'lodash-old' : a.name })) })) },
    { name: 'alias added', next: revise((r) => ({ ...r, aliases: [...r.aliases, 'CVE-2099-0001'] })) },
  ];

  it.each(cases)('$name', async ({ next }) => {
    const store = new MemoryAdvisoryStore();
    await store.upsert([record(ID)]);
    const cache = new RangeCache();
    const before = await matchPackages(packages, store, SCHEMES, { ranges: cache });
    const again = await matchPackages(packages, store, SCHEMES, { ranges: cache });
    // The second scan over the same record objects is answered from the memo, and says the same.
    expect(keyResultCacheOf(cache).stats.hits).toBeGreaterThan(0);
    expect(JSON.stringify(again)).toBe(JSON.stringify(before));
    await store.upsert([next]);
    const after = await matchPackages(packages, store, SCHEMES, { ranges: cache });
    const fresh = new MemoryAdvisoryStore();
    await fresh.upsert([next]);
    const reference = await matchPackages(packages, fresh, SCHEMES, { ranges: 'reference' });
    expect(JSON.stringify(after)).toBe(JSON.stringify(reference));
    // The revision changes the answer (else the case would prove nothing).
    expect(JSON.stringify(after)).not.toBe(JSON.stringify(before));
  });

  it('two packages with the same lookup get their own package fields from shared facts', async () => {
    const store = await storeOf(ID);
    const { findings } = await matchPackages([lodash('4.17.20'), { ...lodash('4.17.20'), purl: 'pkg:npm/lodash@4.17.20?other', locations: [{ layer: `sha256:${'1'.repeat(64)}` as Digest, path: '/other/package-lock.json' }] }], store, SCHEMES);
    expect(findings.map((f) => [f.package, f.path, f.id, f.fixedIn])).toEqual([
      ['pkg:npm/lodash@4.17.20', '/app/package-lock.json', 'CVE-2020-28500', '4.17.21'],
      ['pkg:npm/lodash@4.17.20?other', '/other/package-lock.json', 'CVE-2020-28500', '4.17.21'],
    ]);
  });
});
