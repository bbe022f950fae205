import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { buildImage, buildIndex } from '../../lib/local/builder/image-builder';
import { writeOciLayout } from '../../lib/local/builder/writers';
import { EmbeddedVerdictStore } from '../../lib/local/verdict-store';
import type { Digest } from '../../lib/engine/model';
import { packageKey } from '../../lib/engine/verdicts/keys';
import { AdmissionController } from '../../lib/admission/decide';
import { createTrustServer } from '../../lib/admission/server';
import { trustctl } from '../helpers/cli';
import { SHARED } from '../helpers/corpus';

/** A real OSV export small enough to sync per run: the images below declare crates. */
const CRATES_FEED = join(SHARED, 'feeds', 'osv', 'crates.io', 'all.zip');
const PRIVATE_KEY = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBVy2vB0dQ2xL5qXk3rA1mZ7tq9kDzrJQnAm9VhGZp8SgAAAJgR5Jt9EeSb', '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
const CARGO_LOCK = 'version = 3\n\n[[package]]\nname = "serde"\nversion = "1.0.197"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n';

describe('trustctl verify / history / policy test', () => {
  let dir: string;
  let dataDir: string;
  let verdictDir: string;
  /** A clean image; `marker` makes its digest differ from the other tests' (the builder is deterministic). */
  const clean = (marker = '') => buildImage({ config: { User: '1000', Cmd: ['/app/run'] }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: CARGO_LOCK }, ...(marker ? [{ path: 'app/marker', body: marker }] : [])] }] });
  const leaky = () => buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: CARGO_LOCK }, { path: 'home/app/.ssh/id_ed25519', body: PRIVATE_KEY, mode: 0o600 }] }] });
  const layout = (name: string, image: ReturnType<typeof buildImage>): string => {
    writeOciLayout(join(dir, name), image, { tag: 'x' });
    return `oci:${join(dir, name)}:x`;
  };
  const scan = (target: string, ...extra: string[]) => trustctl('scan', target, '--no-cache', '--data-dir', dataDir, '--verdict-dir', verdictDir, ...extra);
  const verify = (what: string, ...extra: string[]) => trustctl('verify', what, '--verdict-dir', verdictDir, ...extra);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-verify-'));
    dataDir = join(dir, 'advisories');
    verdictDir = join(dir, 'verdicts');
    const sync = await trustctl('feeds', 'sync', '--feed', CRATES_FEED, '--data-dir', dataDir);
    if (sync.code !== 0) throw new Error(`feeds sync failed: ${sync.err}`);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a clean image is trusted: scan and verify both exit 0', clean, 0, 'trusted'],
    ['a leaked private key quarantines: scan and verify both exit 1', leaky, 1, 'quarantined'],
  ])('%s', async (_name, build, code, status) => {
    const image = build();
    const s = await scan(layout(`img-${code}`, image), '--format', 'json');
    expect(s.code).toBe(code);
    expect(s.err).toMatch(new RegExp(`recorded ${image.root.digest} revision 1: first verdict: ${status}`));
    const v = await verify(image.root.digest, '--format', 'json');
    expect(v.code).toBe(code);
    const doc = JSON.parse(v.out) as { image: { digest: string; ref: string }; gate: { pass: boolean }; verdict: { status: string; revision: number; policyHash: string; plugins: string[]; feedRevision: string; reasons: { rule: string; findings: string[] }[] } };
    expect(doc.image.digest).toBe(image.root.digest);
    expect(doc.gate.pass).toBe(code === 0);
    expect(doc.verdict.status).toBe(status);
    expect(doc.verdict.policyHash).toBe((JSON.parse(s.out) as { verdict: { policyHash: string } }).verdict.policyHash);
    expect(doc.verdict.plugins).toEqual(expect.arrayContaining([expect.stringMatching(/^osv-matcher@/), expect.stringMatching(/^cargo/)]));
    expect(Date.parse(doc.verdict.feedRevision)).toBeGreaterThan(Date.parse('2020-01-01'));
    if (status === 'quarantined') expect(doc.verdict.reasons).toEqual([expect.objectContaining({ rule: 'secrets', findings: expect.arrayContaining([expect.any(String)]) })]);
    // The same answer by image@digest, the form a deploy manifest carries.
    expect((await verify(`registry.example.com/team/app@${image.root.digest}`)).code).toBe(code);
  });

  it('stores the inventory (no advisory matches) and the package index for re-evaluation', async () => {
    const image = clean('inventory');
    await scan(layout('inventory', image));
    const store = new EmbeddedVerdictStore(verdictDir);
    const inv = await store.getInventory(image.root.digest as Digest);
    expect(inv?.packages.map((p) => `${p.ecosystem}/${p.name}@${p.version}`)).toEqual(['crates.io/serde@1.0.197']);
    expect(inv?.findings?.some((f) => f.type === 'vulnerability')).toBe(false);
    expect(await store.digestsForPackage(packageKey('crates.io', 'serde'))).toContain(image.root.digest);
  });

  it('a multi-platform index: every platform and the aggregate are recorded; --platform records the platform only', async () => {
    const amd = buildImage({ platform: { os: 'linux', architecture: 'amd64' }, config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: CARGO_LOCK }] }] });
    const arm = buildImage({ platform: { os: 'linux', architecture: 'arm64' }, config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: CARGO_LOCK }, { path: 'id_rsa', body: PRIVATE_KEY }] }] });
    const index = buildIndex([amd, arm]);
    const target = layout('index', index);
    const partial = await scan(target, '--platform', 'linux/amd64');
    expect(partial.code).toBe(0);
    // Only amd64 was looked at: the index itself has no verdict (the node might pull arm64).
    expect((await verify(index.root.digest)).code).toBe(1);
    expect((await verify(amd.root.digest)).code).toBe(0);
    const whole = await scan(target);
    expect(whole.code).toBe(1);
    expect((await verify(amd.root.digest)).code).toBe(0);
    expect((await verify(arm.root.digest)).code).toBe(1);
    const agg = await verify(index.root.digest, '--format', 'json');
    expect(agg.code).toBe(1);
    expect((JSON.parse(agg.out) as { verdict: { reasons: { message: string }[] } }).verdict.reasons[0].message).toMatch(/^linux\/arm64: /);
  });

  it.each([
    ['a tag alone is refused (exit 2): it can move between gate and pull', ['registry.example.com/team/app:1.0'], 2, /names no digest/],
    ['not a digest at all (exit 2)', ['sha256:xyz'], 2, /INVALID_REFERENCE/],
    ['no verdict (exit 1)', [`sha256:${'0'.repeat(64)}`], 1, /no verdict/],
    ['--max-age: an old verdict is stale (exit 1)', ['STALE', '--max-age', '1s'], 1, /stale/],
    ['unreadable verdict API (exit 2, never "no verdict")', [`sha256:${'1'.repeat(64)}`, '--server', 'http://127.0.0.1:9/'], 2, /VERDICT_API/],
    ['plain http to a remote API is refused (exit 2)', [`sha256:${'1'.repeat(64)}`, '--server', 'http://verdicts.example.com/'], 2, /must be https/],
  ])('%s', async (_name, args, code, message) => {
    let a = args;
    if (a[0] === 'STALE') {
      const store = new EmbeddedVerdictStore(verdictDir);
      const digest = `sha256:${'5'.repeat(64)}` as Digest;
      await store.put({ digest, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, policyHash: 'sha256:x', feedRevision: '2026-01-01T00:00:00Z', plugins: [], evaluatedAt: '2026-01-01T00:00:00Z' });
      expect((await verify(digest)).code).toBe(0);
      a = [digest, ...a.slice(1)];
    }
    const r = await verify(a[0], ...a.slice(1));
    expect(r.code).toBe(code);
    expect(r.out + r.err).toMatch(message);
  });

  it('--wait: a verdict that lands while waiting passes the gate', async () => {
    const store = new EmbeddedVerdictStore(verdictDir);
    const digest = `sha256:${'6'.repeat(64)}` as Digest;
    const later = setTimeout(() => void store.put({ digest, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, policyHash: 'sha256:x', feedRevision: '2026-01-01T00:00:00Z', plugins: [], evaluatedAt: new Date().toISOString() }), 300);
    try {
      const r = await verify(digest, '--wait', '20s');
      expect(r.code).toBe(0);
    } finally {
      clearTimeout(later);
    }
  });

  it('--server reads the verdict API (GET /verdicts/<digest>): 200, 404 and 500 are told apart', async () => {
    const image = clean('api');
    await scan(layout('api', image));
    const stored = await new EmbeddedVerdictStore(verdictDir).get(image.root.digest as Digest);
    const broken = `sha256:${'7'.repeat(64)}`;
    const server: Server = createServer((req, res) => {
      if (req.url === `/verdicts/${image.root.digest}`) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stored));
      } else if (req.url === `/verdicts/${broken}`) {
        res.writeHead(500).end('boom');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await trustctl('verify', image.root.digest, '--server', url)).code).toBe(0);
      expect((await trustctl('verify', `sha256:${'8'.repeat(64)}`, '--server', url)).code).toBe(1);
      const err = await trustctl('verify', broken, '--server', url);
      expect(err.code).toBe(2);
      expect(err.err).toMatch(/answered 500/);
    } finally {
      server.close();
    }
  });

  it('--server over HTTPS: trustctl serve with a self-signed certificate, trusted through --ca-cert only', async () => {
    const image = clean('https');
    await scan(layout('https', image));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    const controller = new AdmissionController({}, { store: new EmbeddedVerdictStore(verdictDir) });
    const server = createTrustServer({ controller, host: '127.0.0.1', tls: { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) } });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ok = await trustctl('verify', image.root.digest, '--server', url, '--ca-cert', join(dir, 'tls.crt'), '--format', 'json');
      expect(ok.code).toBe(0);
      expect((JSON.parse(ok.out) as { verdict: { revision: number } }).verdict.revision).toBeGreaterThanOrEqual(1);
      // Without the CA the certificate is not trusted: an error (exit 2), never a pass or "no verdict".
      const untrusted = await trustctl('verify', image.root.digest, '--server', url);
      expect(untrusted.code).toBe(2);
      expect(untrusted.err).toMatch(/VERDICT_API.*(self.signed|certificate)/i);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('--format junit and sarif: what Jenkins and GitHub code scanning ingest', async () => {
    const image = leaky();
    await scan(layout('formats', image));
    const junit = await verify(image.root.digest, '--format', 'junit');
    expect(junit.code).toBe(1);
    expect(junit.out).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="trustctl verify" tests="1" failures="1" errors="0">/);
    expect(junit.out).toMatch(/<testcase classname="trustctl\.verify" name="[^"]*sha256:[0-9a-f]{64}">\s*<failure message="quarantined by secrets[^"]*" type="quarantined">\[secrets\]/);
    expect(junit.out.match(/<(\/?)(testsuites|testsuite|testcase|failure)\b/g)).toHaveLength(8);
    const sarif = await verify(image.root.digest, '--format', 'sarif');
    expect(sarif.code).toBe(1);
    const doc = JSON.parse(sarif.out) as { version: string; runs: { results: { ruleId: string; level: string }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    expect(doc.version).toBe('2.1.0');
    expect(doc.runs[0].results).toEqual([expect.objectContaining({ ruleId: 'secrets', level: 'error' })]);
    expect(doc.runs[0].tool.driver.rules.map((r) => r.id)).toEqual(['secrets']);
    const pass = await verify(clean().root.digest, '--format', 'junit');
    expect(pass.out).not.toContain('<failure');
  });

  it('history: every revision newest first; --at answers "was it trusted at T, and why?"', async () => {
    const image = clean('history');
    const target = layout('history', image);
    const strict = join(dir, 'strict.yaml');
    writeFileSync(strict, 'apiVersion: trustctl/v1\nkind: Policy\nrules:\n  misconfig:\n    bySeverity: { critical: quarantine, high: quarantine, medium: quarantine, low: quarantine, unknown: quarantine }\n');
    expect((await scan(target)).code).toBe(0);
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const second = await scan(target, '--policy', strict);
    expect(second.err).toMatch(/revision 2: changed trusted → quarantined/);
    const h = await trustctl('history', image.root.digest, '--verdict-dir', verdictDir, '--format', 'json');
    const doc = JSON.parse(h.out) as { history: { revision: number; status: string }[] };
    expect(doc.history.map((v) => [v.revision, v.status])).toEqual([[2, 'quarantined'], [1, 'trusted']]);
    const at = JSON.parse((await trustctl('history', image.root.digest, '--verdict-dir', verdictDir, '--format', 'json', '--at', between)).out) as typeof doc;
    expect(at.history.map((v) => v.status)).toEqual(['trusted']);
    const table = await trustctl('history', image.root.digest, '--verdict-dir', verdictDir);
    expect(table.out).toMatch(/REV\s+EVALUATED\s+STATUS[^\n]*\n2\s+\S+\s+QUARANTINED[^\n]*misconfig\n1\s+\S+\s+TRUSTED/);
    expect((await trustctl('history', `sha256:${'9'.repeat(64)}`, '--verdict-dir', verdictDir)).code).toBe(1);
  });

  it('policy test re-judges a saved report and names the rule that decided each finding', async () => {
    const image = leaky();
    const report = join(dir, 'report.json');
    writeFileSync(report, (await scan(layout('policy-test', image), '--format', 'json', '--no-record')).out);
    const t = await trustctl('policy', 'test', 'default', report);
    expect(t.code).toBe(1);
    expect(t.out).toMatch(/Verdict\s+QUARANTINED/);
    expect(t.out).toMatch(/quarantine\s+secrets\s+secret\s+\S+\s+\w+\s+/);
    const exceptions = join(dir, 'exceptions.yaml');
    const id = (JSON.parse(t.out.length ? (await trustctl('policy', 'test', 'default', report, '--format', 'json')).out : '{}') as { images: { findings: { type: string; id: string }[] }[] }).images[0].findings.find((f) => f.type === 'secret')!.id;
    writeFileSync(exceptions, `apiVersion: trustctl/v1\nkind: PolicyExceptions\nexceptions:\n  - scope: { digest: "${image.root.digest}" }\n    finding: ${id}\n    owner: security@example.com\n    reason: test key, rotated\n    expires: "2099-01-01"\n  - scope: { all: true }\n    finding: CVE-2000-0001\n    owner: security@example.com\n    reason: nothing matches this\n    expires: "2099-01-01"\n`);
    const lifted = await trustctl('policy', 'test', 'default', report, '--exceptions', exceptions);
    expect(lifted.code).toBe(0);
    expect(lifted.out).toMatch(/excepted\s+secrets/);
    expect(lifted.out).toMatch(/exception #0 applied: test key, rotated/);
    expect(lifted.out).toMatch(/exception #1 unused: nothing matches this/);
    const expired = await trustctl('policy', 'test', 'default', report, '--exceptions', exceptions, '--now', '2099-06-01T00:00:00Z');
    expect(expired.code).toBe(1);
    expect(expired.out).toMatch(/exception #0 expired/);
    expect((await trustctl('policy', 'test', 'default', join(dir, 'missing.json'))).code).toBe(2);
  });

  it('policy validate / schema / default', async () => {
    const bad = join(dir, 'no-reason.yaml');
    writeFileSync(bad, 'apiVersion: trustctl/v1\nkind: PolicyExceptions\nexceptions:\n  - scope: { all: true }\n    finding: CVE-2024-0001\n    owner: me\n    expires: "2099-01-01"\n');
    const v = await trustctl('policy', 'validate', 'default', '--exceptions', bad);
    expect(v.code).toBe(2);
    expect(v.err).toMatch(/reason/);
    const schema = JSON.parse((await trustctl('policy', 'schema')).out) as object;
    const dflt = await trustctl('policy', 'default');
    const policyFile = join(dir, 'default.yaml');
    writeFileSync(policyFile, dflt.out);
    expect((await trustctl('policy', 'validate', policyFile)).out).toMatch(/valid \(0 exceptions\)/);
    const ajv = new Ajv({ strict: false });
    expect(ajv.validateSchema(schema)).toBe(true);
  });
});
