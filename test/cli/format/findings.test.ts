/**
 * How the JSON report (report.ts), SARIF (sarif.ts) and the table (commands/scan.ts `renderFindings`)
 * show what issue 14 added: known-exploited findings first and marked, severities no source knows
 * marked as such, summaries. Findings are matched from real data (DEBIAN-CVE-2014-0160 from
 * ../shared/feeds/osv/Debian and the CISA KEV snapshot; a Go stdlib finding from the Go export).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderFindings } from '../../../lib/cli/commands/scan';
import { toScanReport } from '../../../lib/cli/format/report';
import { toSarif } from '../../../lib/cli/format/sarif';
import { kevRecords } from '../../../lib/engine/advisories/enrichment';
import { readOsvZip } from '../../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { matchPackages } from '../../../lib/engine/match/matcher';
import type { Digest, Finding, Package } from '../../../lib/engine/model';
import { DEFAULT_POLICY } from '../../../lib/engine/policy/default-policy';
import { evaluatePolicy } from '../../../lib/engine/policy/evaluate';
import type { ScanResult } from '../../../lib/engine/scan-image';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { SHARED } from '../../helpers/corpus';

const LAYER = `sha256:${'1'.repeat(64)}` as Digest;
const DIGEST = `sha256:${'2'.repeat(64)}` as Digest;

async function records(eco: string, keep: (r: OsvRecord) => boolean): Promise<OsvRecord[]> {
  const out: OsvRecord[] = [];
  for await (const r of readOsvZip(createReadStream(join(SHARED, 'feeds', 'osv', eco, 'all.zip')))) if (keep(r)) out.push(r);
  return out;
}

let findings: Finding[] = [];
let result: ScanResult;
beforeAll(async () => {
  const store = new MemoryAdvisoryStore();
  await store.upsert([
    ...await records('Debian', (r) => r.id === 'DEBIAN-CVE-2014-0160'),
    ...await records('Go', (r) => r.id === 'GO-2023-1753'),
    ...kevRecords(JSON.parse(readFileSync(join(SHARED, 'feeds', 'kev', 'known_exploited_vulnerabilities.json'), 'utf8'))).records,
  ]);
  const at = { layer: LAYER, path: '/x' };
  const packages: Package[] = [
    // The Go package first: the report must still list the known-exploited finding first.
    { ecosystem: 'Go', name: 'stdlib', version: 'v1.20.0', purl: 'pkg:golang/stdlib@v1.20.0', locations: [{ ...at, path: '/usr/local/bin/app' }], cataloger: { name: 'go-binary', version: '1' } },
    { ecosystem: 'Debian', name: 'libssl1.0.0', version: '1.0.1e-2', purl: 'pkg:deb/debian/libssl1.0.0@1.0.1e-2', distro: 'Debian:10', sourceName: 'openssl', sourceVersion: '1.0.1e-2', locations: [{ ...at, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1' } },
  ];
  findings = (await matchPackages(packages, store, SCHEMES)).findings;
  const verdict = evaluatePolicy(DEFAULT_POLICY, { ref: 'sample', digest: DIGEST, findings, feeds: [], now: new Date('2026-12-01T00:00:00Z') });
  result = {
    ref: 'oci-archive:sample.tar', digest: DIGEST, mediaType: 'application/vnd.oci.image.manifest.v1+json', isIndex: false, verdict,
    images: [{ platform: 'linux/amd64', manifestDigest: DIGEST, configDigest: DIGEST, packages, unknowns: [], layers: [], findings, verdict }],
  } as unknown as ScanResult;
}, 60_000);

describe('known-exploited findings first, marked; unknown severities marked', () => {
  it('the matcher found one of each (Go stdlib: unknown severity; Heartbleed: known exploited)', () => {
    expect(findings.map((f) => [f.id, f.severity, Boolean((f as { knownExploited?: unknown }).knownExploited)])).toEqual([
      ['CVE-2023-29400', 'unknown', false], ['DEBIAN-CVE-2014-0160', 'unknown', true],
    ]);
  });

  it('JSON report: known exploited first, with knownExploited, severitySource and severities', () => {
    const r = toScanReport(result);
    expect(r.findings.map((f) => f.id)).toEqual(['DEBIAN-CVE-2014-0160', 'CVE-2023-29400']);
    expect(r.findings[0]).toMatchObject({ knownExploited: { cve: 'CVE-2014-0160', dateAdded: '2022-05-04' }, severitySource: 'none', severities: [] });
    expect(r.verdict.reasons.map((x) => x.message)).toEqual([
      expect.stringMatching(/^known exploited vulnerabilities \(CISA KEV\): DEBIAN-CVE-2014-0160/),
      expect.stringMatching(/^vulnerabilities of unknown severity, treated as high \(vulnerabilities.unknownSeverityAs\) with a fix available: CVE-2023-29400/),
    ]);
  });

  it('SARIF: known exploited first and an error; an unknown severity is an error that says so', () => {
    const results = (toSarif(result, { toolVersion: 't' }).runs as { results: { ruleId: string; level: string; message: { text: string }; properties: Record<string, unknown> }[] }[])[0].results;
    expect(results.map((x) => [x.ruleId, x.level])).toEqual([['DEBIAN-CVE-2014-0160', 'error'], ['CVE-2023-29400', 'error']]);
    expect(results[0].message.text).toMatch(/^KNOWN EXPLOITED \(CISA KEV\): /);
    expect(results[0].properties).toMatchObject({ knownExploited: { cve: 'CVE-2014-0160' } });
    expect(results[1].properties).toMatchObject({ severityUnknown: true, severitySource: 'none' });
    expect(results[1].message.text).toContain('severity unknown to every source; the default policy treats it as high');
  });

  it('table: KEV row first and marked, UNKNOWN* with its footnote, summary from details', () => {
    const lines = renderFindings(findings).split('\n');
    const rows = lines.filter((l) => /^(UNKNOWN|CRITICAL|HIGH|MEDIUM|LOW)/.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/).slice(0, 2))).toEqual([['UNKNOWN* KEV', 'DEBIAN-CVE-2014-0160'], ['UNKNOWN*', 'CVE-2023-29400']]);
    expect(lines.some((l) => l.includes('1 known exploited (CISA KEV)'))).toBe(true);
    expect(lines.some((l) => l.startsWith('  * severity unknown to every source'))).toBe(true);
    // GO-2023-1753 has a summary; DEBIAN-CVE-2014-0160 only details: its first sentence.
    expect(rows[0]).toMatch(/The \(1\) TLS and \(2\) DTLS implementations/);
  });
});
