import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScanReport } from '../../lib/cli/format/report';
import { buildImage } from '../../lib/local/builder/image-builder';
import { writeSampleArchive } from '../../lib/local/builder/sample';
import { writeOciLayout } from '../../lib/local/builder/writers';
import { trustctl } from '../helpers/cli';
import { closeLayerWorkers, sharedLayerWorkerPool } from '../../lib/engine/layer-worker/pool';
import { layerConcurrency } from '../../lib/engine/layer-pool';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { SHARED } from '../helpers/corpus';

/** Installed packages of this machine, as dpkg counts them ("install ok installed"). */
function hostInstalled(): Set<string> {
  const text = readFileSync('/var/lib/dpkg/status', 'utf8');
  const out = new Set<string>();
  for (const stanza of text.split(/\n\n+/)) {
    if (!/^Status: install ok installed$/m.test(stanza)) continue;
    out.add(/^Package: (.+)$/m.exec(stanza)![1]);
  }
  return out;
}

/** Real OSV exports (../shared/feeds): the sample's dpkg packages and its Go binary's runtime are matched against them. */
const DEBIAN_FEED = join(SHARED, 'feeds', 'osv', 'Debian', 'all.zip');
const GO_FEED = join(SHARED, 'feeds', 'osv', 'Go', 'all.zip');

describe('trustctl scan', () => {
  let dir: string;
  let cacheDir: string;
  let dataDir: string;
  const sample = () => `oci-archive:${join(dir, 'sample.oci.tar')}`;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-scan-'));
    cacheDir = join(dir, 'cache');
    dataDir = join(dir, 'advisories');
    await writeSampleArchive(join(dir, 'sample.oci.tar'));
    const sync = await trustctl('feeds', 'sync', '--feed', DEBIAN_FEED, '--feed', GO_FEED, '--data-dir', dataDir);
    if (sync.code !== 0) throw new Error(`feeds sync failed: ${sync.err}`);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => closeLayerWorkers());

  it('prints the DESIGN.md document for the quick-start sample: this machine’s dpkg packages and the Go binary’s runtime', async () => {
    const r = await trustctl('scan', sample(), '--format', 'json', '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64');
    // stdout is the report alone; stderr says where the verdict was recorded (only the platform: --platform).
    // Issue 14: the Go runtime's vulnerabilities carry no severity in the Go export and no NVD data is
    // synced here — unknown is not low, so fixed ones quarantine by default (vulnerabilities.unknownSeverityAs).
    expect(r.err).toMatch(/^recorded sha256:[0-9a-f]{64} revision \d+: first verdict: quarantined\nverdict store: /);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as ScanReport;
    expect(report.schemaVersion).toBe(1);
    expect(report.image).toMatchObject({ ref: sample(), platform: 'linux/amd64' });
    expect(report.verdict.status).toBe('quarantined');
    expect(report.verdict.reasons.map((x) => x.message)).toContainEqual(expect.stringMatching(/^vulnerabilities of unknown severity, treated as high \(vulnerabilities.unknownSeverityAs\) with a fix available: /));
    const deb = report.packages.filter((p) => p.ecosystem === 'Debian');
    expect(new Set(deb.map((p) => p.name))).toEqual(hostInstalled());
    expect(deb.every((p) => p.distro === 'Debian:12' && p.purl.startsWith('pkg:deb/debian/') && p.purl.includes('distro=debian-12'))).toBe(true);
    const go = report.packages.filter((p) => p.ecosystem === 'Go');
    // Debian builds docker-registry in GOPATH mode: its build info names the Go runtime only (stdlib).
    expect(go.find((p) => p.name === 'stdlib')?.locations[0].path).toBe('/usr/bin/docker-registry');
    for (const p of report.packages) {
      expect(p.locations.length).toBeGreaterThan(0);
      expect(p.cataloger).toMatch(/^[\w.-]+@[\w.+-]+$/);
    }
    // Matched against the real feeds: every finding names a package of the report, OS packages under
    // Debian:12. (This Debian snapshot predates the machine's packages; Go 1.19's runtime has many.)
    const purls = new Set(report.packages.map((p) => p.purl));
    const vulns = (report.findings as (ScanReport['findings'][number] & { match?: { ecosystem: string; name: string } })[]).filter((f) => f.type === 'vulnerability');
    // The sample runs as `nobody` and has no HEALTHCHECK: the only other finding is that one.
    expect(report.findings.filter((f) => f.type !== 'vulnerability').map((f) => f.id)).toEqual(['TC-MC-007']);
    expect(vulns.length).toBeGreaterThan(0);
    for (const f of vulns) {
      expect(f.type).toBe('vulnerability');
      expect(purls.has(f.package!)).toBe(true);
      expect(['Debian:12', 'Go']).toContain(f.match?.ecosystem);
    }
    expect(vulns.some((f) => f.package?.startsWith('pkg:golang/stdlib@'))).toBe(true);
    expect(report.feeds?.map((f) => f.source).sort()).toEqual(['osv:Debian', 'osv:Go']);
    expect(existsSync(cacheDir)).toBe(true);
  });

  it('the second scan of an index reads every layer from the cache; platforms keep their own verdicts', async () => {
    const r = await trustctl('scan', sample(), '--cache-dir', cacheDir, '--data-dir', dataDir);
    // Quarantined (exit 1): unknown-severity Go runtime vulnerabilities with fixes, on both platforms (see above).
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Verdict\s+QUARANTINED/);
    expect(r.out).toMatch(/linux\/amd64 .*\nLayers\s+2 \(2 from cache\)/);
    const json = JSON.parse((await trustctl('scan', sample(), '--format', 'json', '--cache-dir', cacheDir, '--data-dir', dataDir)).out) as ScanReport;
    expect(json.image.platform).toBeNull();
    expect(json.platforms?.map((p) => [p.platform, p.verdict.status])).toEqual([['linux/amd64', 'quarantined'], ['linux/arm64', 'quarantined']]);
  });

  it('without vulnerability data the image is quarantined, and the table says what to do', async () => {
    const r = await trustctl('scan', sample(), '--cache-dir', cacheDir, '--data-dir', join(dir, 'empty-store'), '--platform', 'linux/amd64');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[unscannable\] NO_VULNERABILITY_DATA: .*feeds sync/);
  });

  it('--feed matches against exactly the given export for this scan; the table lists the vulnerabilities; what it does not cover is never clean (RELIABILITY.md 55)', async () => {
    const r = await trustctl('scan', sample(), '--cache-dir', cacheDir, '--feed', GO_FEED, '--data-dir', join(dir, 'empty-store'), '--platform', 'linux/amd64');
    // The sample also holds Debian packages, which the Go export does not speak for.
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\[unscannable\] no-vulnerability-data: \d+ things? not examined/);
    expect(r.out).toMatch(/no vulnerability data for Debian:12/);
    expect(r.out).not.toMatch(/no vulnerability data for Go\b/);
    expect(r.out).toMatch(/Vulnerabilities \d+ \(/);
    expect(r.out).toMatch(/SEVERITY\s+ID\s+PACKAGE\s+INSTALLED\s+FIXED IN/);
  });

  it('--format sarif: one result per finding, SARIF 2.1.0', async () => {
    const r = await trustctl('scan', sample(), '--format', 'sarif', '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64');
    const json = JSON.parse((await trustctl('scan', sample(), '--format', 'json', '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64')).out) as ScanReport;
    const sarif = JSON.parse(r.out) as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results).toHaveLength(json.findings.length);
    const rules = new Set(sarif.runs[0].tool.driver.rules.map((x) => x.id));
    for (const res of sarif.runs[0].results) {
      expect(rules.has(res.ruleId)).toBe(true);
      expect(['error', 'warning', 'note']).toContain(res.level);
    }
  });

  it('--policy decides the verdict: the same findings quarantine under a stricter policy (exit 1), with the rule', async () => {
    const strict = join(dir, 'strict.yaml');
    writeFileSync(strict, 'apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    severities: [critical, high, medium, low, unknown]\n    onlyWithFix: false\n');
    const r = await trustctl('scan', sample(), '--format', 'json', '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64', '--policy', strict);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as ScanReport & { verdict: { policyHash: string } };
    expect(report.verdict.status).toBe('quarantined');
    expect(report.verdict.reasons.map((x) => x.rule)).toContain('vulnerabilities');
    const dflt = JSON.parse((await trustctl('scan', sample(), '--format', 'json', '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64')).out) as typeof report;
    expect(dflt.verdict.policyHash).not.toBe(report.verdict.policyHash);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    severities: [catastrophic]\n');
    const refused = await trustctl('scan', sample(), '--data-dir', dataDir, '--policy', bad);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/BAD_POLICY.*bad\.yaml:5/);
  });

  it('--no-cache writes nothing', async () => {
    const empty = join(dir, 'unused-cache');
    const saved = process.env.TRUSTCTL_CACHE_DIR;
    process.env.TRUSTCTL_CACHE_DIR = empty;
    try {
      // Exit 1: a completed scan whose verdict is quarantined (unknown-severity vulnerabilities, see above).
      expect((await trustctl('scan', sample(), '--no-cache', '--data-dir', dataDir, '--platform', 'linux/arm64')).code).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.TRUSTCTL_CACHE_DIR;
      else process.env.TRUSTCTL_CACHE_DIR = saved;
    }
    expect(existsSync(empty)).toBe(false);
  });

  it.each([
    ['cyclonedx', (d: Record<string, unknown>) => expect(d).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5' })],
    ['spdx', (d: Record<string, unknown>) => expect(d).toMatchObject({ spdxVersion: 'SPDX-2.3' })],
  ])('--format %s exports the same packages', async (format, check) => {
    const r = await trustctl('scan', sample(), '--format', format, '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64');
    expect(r.code).toBe(1); // completed, quarantined (see the first test)
    const doc = JSON.parse(r.out) as Record<string, unknown>;
    check(doc);
    const json = JSON.parse((await trustctl('scan', sample(), '--format', 'json', '--cache-dir', cacheDir, '--data-dir', dataDir, '--platform', 'linux/amd64')).out) as ScanReport;
    for (const p of json.packages.slice(0, 50)) expect(r.out).toContain(JSON.stringify(p.purl));
  });

  it('scans a directory read-only: dir:<path>', async () => {
    const root = join(dir, 'checkout');
    mkdirSync(join(root, 'app'), { recursive: true });
    writeFileSync(join(root, 'app', 'Cargo.lock'), 'version = 3\n\n[[package]]\nname = "serde"\nversion = "1.0.197"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n');
    const r = await trustctl('scan', `dir:${root}`, '--format', 'json', '--data-dir', dataDir);
    // The store holds the Debian and Go exports only: the crates.io package was not asked about.
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as ScanReport;
    expect(report.unknowns).toEqual([expect.objectContaining({ class: 'no-vulnerability-data', consumer: 'osv-matcher', path: '/app/Cargo.lock', reason: expect.stringMatching(/^no vulnerability data for crates\.io/) })]);
    expect(report.packages.map((p) => p.purl)).toEqual(['pkg:cargo/serde@1.0.197']);
    expect(report.packages[0].locations[0].path).toBe('/app/Cargo.lock');
  });

  it('content and image checks: malware deleted by a later layer, a key in a layer, a token in Env, root user — in every format', async () => {
    // EICAR's standard string, kept in two halves so that no scanner flags this file.
    const eicar = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
    const key = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBVy2vB0dQ2xL5qXk3rA1mZ7tq9kDzrJQnAm9VhGZp8SgAAAJgR5Jt9EeSb', '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
    const token = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    const layout = join(dir, 'checks');
    writeOciLayout(layout, buildImage({
      config: { Env: ['PATH=/usr/bin', `GITHUB_TOKEN=${token}`], Cmd: ['/app/run'] },
      layers: [
        { entries: [{ path: 'tmp/eicar.com', body: eicar }, { path: 'root/.ssh/id_ed25519', body: key, mode: 0o600 }] },
        { entries: [{ path: 'tmp/.wh.eicar.com' }] },
      ],
    }), { tag: 'x' });
    const r = await trustctl('scan', `oci:${layout}:x`, '--format', 'json', '--no-cache', '--data-dir', dataDir);
    const report = JSON.parse(r.out) as ScanReport;
    const byType = (t: string) => report.findings.filter((f) => f.type === t);
    expect(byType('malware')).toEqual([expect.objectContaining({ id: 'EICAR-Test-File', path: '/tmp/eicar.com', severity: 'critical' })]);
    expect(byType('secret').map((f) => f.path).sort()).toEqual(['/root/.ssh/id_ed25519', 'config:Env[1]']);
    expect(byType('misconfig').map((f) => f.id)).toContain('TC-MC-001');
    // No report carries the secrets themselves.
    for (const format of ['json', 'table', 'sarif', 'cyclonedx', 'spdx']) {
      const out = (await trustctl('scan', `oci:${layout}:x`, '--format', format, '--no-cache', '--data-dir', dataDir)).out;
      expect(out).not.toContain(token);
      expect(out).not.toContain('QyNTUxOQAAACBVy2vB0dQ2xL5qXk3rA1mZ7tq9kDzrJQnAm9VhGZp8Sg');
    }
    const table = (await trustctl('scan', `oci:${layout}:x`, '--no-cache', '--data-dir', dataDir)).out;
    expect(table).toMatch(/CRITICAL\s+malware\s+EICAR-Test-File\s+\/tmp\/eicar.com/);
    // --no-checks: packages and vulnerabilities only.
    const bare = JSON.parse((await trustctl('scan', `oci:${layout}:x`, '--format', 'json', '--no-cache', '--no-checks', '--data-dir', dataDir)).out) as ScanReport;
    expect(bare.findings).toEqual([]);
  });

  it('--workers: the layers read on worker threads give the same report, with signature files too', async () => {
    const layout = join(dir, 'workers');
    const rules = join(dir, 'workers.rules');
    writeFileSync(rules, 'Test.Miner-Pool: "stratum+tcp://"\n');
    writeOciLayout(layout, buildImage({
      layers: [
        { entries: [{ path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' }, { path: 'var/lib/dpkg/status', body: 'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n' }] },
        { compression: 'zstd', entries: [{ path: 'opt/miner.conf', body: 'stratum+tcp://pool.example:3333\n' }, { path: 'app/node_modules/lodash/package.json', body: '{"name":"lodash","version":"4.17.20"}' }] },
        { entries: [{ path: 'app/README', body: 'top' }] },
      ],
    }), { tag: 'x' });
    // Timestamps of the evaluation differ between two runs; nothing else may.
    const report = async (...extra: string[]): Promise<string> => {
      const r = await trustctl('scan', `oci:${layout}:x`, '--format', 'json', '--no-cache', '--no-record', '--malware-rules', rules, '--data-dir', dataDir, ...extra);
      expect(r.err).not.toMatch(/error/i);
      return JSON.stringify(JSON.parse(r.out), (k, v: unknown) => (/At$/.test(k) ? undefined : v));
    };
    const here = await report();
    expect(here).toContain('Test.Miner-Pool');
    expect(here).toContain('lodash');
    const before = sharedLayerWorkerPool(1).answered;
    expect(await report('--workers')).toBe(here);
    // Worker threads run only when two layers or more are read at once (this machine's cores and memory).
    if (layerConcurrency(DEFAULT_LIMITS) >= 2) expect(sharedLayerWorkerPool(1).answered - before).toBe(3);
  });

  it('an image over a cap is quarantined (exit 1) with the reason', async () => {
    const layout = join(dir, 'capped');
    writeOciLayout(layout, buildImage({ layers: [{ entries: Array.from({ length: 12 }, (_, i) => ({ path: `f${i}`, body: 'x' })) }] }), { tag: 'x' });
    const r = await trustctl('scan', `oci:${layout}:x`, '--no-cache', '--data-dir', dataDir, '--limit', 'maxEntries=10');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Verdict\s+QUARANTINED/);
    expect(r.out).toMatch(/\[unscannable\] LIMIT_EXCEEDED/);
  });

  it.each([
    ['a config lying about diff_ids', () => buildImage({ layers: [{ entries: [{ path: 'a', body: 'a' }] }], corrupt: { diffIds: [0] } }), /DIGEST_MISMATCH/],
  ])('%s: could not scan (exit 2), nothing on stdout', async (_n, build, reason) => {
    const layout = join(dir, `bad-${Math.random().toString(16).slice(2)}`);
    writeOciLayout(layout, build(), { tag: 'x' });
    const r = await trustctl('scan', `oci:${layout}:x`, '--no-cache');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(reason);
  });

  it.each([
    ['a missing directory', ['scan', 'dir:/nonexistent/dir'], /BAD_DIRECTORY/],
    ['an unknown format', ['scan', 'dir:/tmp', '--format', 'xml'], /Allowed choices/],
  ])('%s exits 2', async (_n, args, message) => {
    const r = await trustctl(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
