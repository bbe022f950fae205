/**
 * Issue 14, "Done when": on the quick-start sample with ../shared/corpus/nvd synced, every finding whose
 * CVE (or an alias's CVE) has a scored record there carries that record's severity — and without the NVD
 * records the share of UNKNOWN severities is higher (the README's figures come from this scan; see
 * bench/severity-coverage).
 *
 * The expected severity of each CVE is read from the corpus README's own table (written from the NVD
 * records by whoever assembled the corpus: v3.x from `cvssMetricV31`/`V30`, Primary entry first; else
 * v4.0; else v2), not computed by our code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScanReport } from '../../lib/cli/format/report';
import { buildImage } from '../../lib/local/builder/image-builder';
import { quickstartAppFiles, writeSampleArchive } from '../../lib/local/builder/sample';
import { writeOciLayout } from '../../lib/local/builder/writers';
import { trustctl } from '../helpers/cli';
import { SHARED } from '../helpers/corpus';

const NVD = join(SHARED, 'corpus', 'nvd');
const OSV = ['Debian', 'Go', 'PyPI', 'npm'].map((e) => join(SHARED, 'feeds', 'osv', e, 'all.zip'));
const RANK = ['unknown', 'low', 'medium', 'high', 'critical'];

/** CVE → the severity the corpus README's table gives it (v3.x, else v4.0, else v2; absent when none). */
function corpusSeverities(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(NVD, 'README.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (!/^CVE-\d{4}-\d+$/.test(cells[1] ?? '')) continue;
    const [v3, v4, v2] = [cells[5], cells[6], cells[7]];
    const rated = [v3, v4, v2].find((c) => c && c !== '—');
    const m = rated ? / (CRITICAL|HIGH|MEDIUM|LOW) /.exec(` ${rated} `) : null;
    if (m) out.set(cells[1], m[1].toLowerCase());
  }
  return out;
}

type VulnFinding = ScanReport['findings'][number] & { upstream?: string[]; severitySource?: string };

const cvesOf = (f: VulnFinding): string[] => [...new Set([f.id, ...f.aliases, ...(f.upstream ?? [])].filter((i) => i.startsWith('CVE-')))];

describe('the quick-start sample: severities with and without the NVD corpus', () => {
  let dir: string;
  let without: VulnFinding[];
  let withNvd: VulnFinding[];
  const expected = corpusSeverities();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-severity-'));
    const image = join(dir, 'sample.oci.tar');
    await writeSampleArchive(image, quickstartAppFiles(SHARED));
    const scan = async (data: string, feeds: string[]): Promise<VulnFinding[]> => {
      const sync = await trustctl('feeds', 'sync', ...feeds.flatMap((f) => ['--feed', f]), '--data-dir', data);
      if (sync.code !== 0) throw new Error(`feeds sync failed: ${sync.err}`);
      const r = await trustctl('scan', `oci-archive:${image}`, '--format', 'json', '--data-dir', data, '--cache-dir', join(dir, 'cache'), '--platform', 'linux/amd64', '--no-record');
      if (r.code !== 0 && r.code !== 1) throw new Error(`scan failed (${r.code}): ${r.err}`);
      return (JSON.parse(r.out) as ScanReport).findings.filter((f) => f.type === 'vulnerability') as VulnFinding[];
    };
    without = await scan(join(dir, 'osv-only'), OSV);
    withNvd = await scan(join(dir, 'osv-nvd'), [...OSV, NVD]);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the corpus README gives a severity to most of its 40 CVEs (the oracle is not empty)', () => {
    expect(expected.size).toBeGreaterThanOrEqual(30);
  });

  it('every finding whose CVE has a scored NVD record carries that record\'s severity, from NVD', () => {
    const covered = withNvd.filter((f) => cvesOf(f).some((c) => expected.has(c)));
    // The sample's PyPI lock file and Go runtime are what the corpus was collected for.
    expect(covered.length).toBeGreaterThanOrEqual(20);
    for (const f of covered) {
      const want = cvesOf(f).map((c) => expected.get(c)).filter((s): s is string => s !== undefined)
        .sort((a, b) => RANK.indexOf(b) - RANK.indexOf(a))[0];
      expect({ id: f.id, severity: f.severity, source: f.severitySource?.startsWith('NVD') }).toEqual({ id: f.id, severity: want, source: true });
    }
  });

  it('the same findings are found with and without NVD; NVD only lowers the share of UNKNOWN', () => {
    const key = (f: VulnFinding) => `${f.id} ${f.package}`;
    expect(withNvd.map(key).sort()).toEqual(without.map(key).sort());
    const unknown = (fs: VulnFinding[]) => fs.filter((f) => f.severity === 'unknown').length;
    expect(unknown(withNvd)).toBeLessThan(unknown(without));
    // No finding loses a severity it had without NVD.
    const before = new Map(without.map((f) => [key(f), f.severity]));
    for (const f of withNvd) if (before.get(key(f)) !== 'unknown') expect(f.severity).not.toBe('unknown');
  });
});

describe('a Go-only image with fixed stdlib vulnerabilities and no severity source', () => {
  let dir: string;
  let layout: string;
  let data: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-go-only-'));
    layout = join(dir, 'layout');
    data = join(dir, 'advisories');
    // Debian's docker-registry: a real Go binary (Go 1.19.8 runtime), nothing else in the image.
    writeOciLayout(layout, buildImage({ layers: [{ fromHost: [{ hostPath: '/usr/bin/docker-registry', imagePath: '/usr/bin/docker-registry' }] }] }), { tag: 'go' });
    const sync = await trustctl('feeds', 'sync', '--feed', join(SHARED, 'feeds', 'osv', 'Go', 'all.zip'), '--data-dir', data);
    if (sync.code !== 0) throw new Error(`feeds sync failed: ${sync.err}`);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const scan = (...extra: string[]) => trustctl('scan', `oci:${layout}:go`, '--format', 'json', '--no-cache', '--no-record', '--data-dir', data, ...extra);

  it('is quarantined by the default policy: unknown severity with a fix counts as high, and the report says it was assumed', async () => {
    const r = await scan();
    const report = JSON.parse(r.out) as ScanReport & { verdict: { reasons: { rule: string; message: string }[] } };
    const vulns = report.findings.filter((f) => f.type === 'vulnerability');
    expect(vulns.length).toBeGreaterThan(10);
    expect(vulns.every((f) => f.severity === 'unknown' && (f.package ?? '').startsWith('pkg:golang/stdlib'))).toBe(true);
    expect(vulns.some((f) => f.fixedIn !== undefined)).toBe(true);
    expect(r.code).toBe(1);
    expect(JSON.stringify(report.verdict)).toMatch(/unknown severity, treated as high \(vulnerabilities\.unknownSeverityAs\)/);
  });

  it('is trusted when the policy says unknown is low (the quarantine came from the assumption alone)', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: trustctl/v1\nkind: Policy\nmetadata: { name: unknown-low }\nrules:\n  vulnerabilities:\n    unknownSeverityAs: low\n');
    const r = await scan('--policy', policy);
    expect(r.code).toBe(0);
  });
});
