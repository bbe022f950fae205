/**
 * `trustctl serve` and `trustctl admission manifests` (lib/cli/commands/serve.ts, admission.ts),
 * registered on a fresh program as lib/cli/main.ts will: in-process with a real embedded verdict store
 * in a temporary directory and real HTTP(S), and once as a child process stopped by SIGTERM.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { InsecureListenError, AdmissionConfigError } from '../../lib/admission/errors';
import { registerAdmission } from '../../lib/cli/commands/admission';
import { registerServe } from '../../lib/cli/commands/serve';
import type { CliContext } from '../../lib/cli/main';
import { EmbeddedVerdictStore } from '../../lib/local/verdict-store';
import { TRUSTED, digestOf, pinned, podReview, verdict } from './fixtures';
import { captureIO } from '../helpers/cli';
import { httpText, waitForOutput } from '../helpers/http-text';

/** A program with only our commands, its context, and what it printed. */
function program(stop?: AbortSignal): { program: Command; ctx: CliContext; out: () => string; err: () => string } {
  const { io, out, err } = captureIO();
  const ctx: CliContext = { io, exitCode: -1 };
  const p = new Command('trustctl').exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerServe(p, ctx, stop ? { stop } : {});
  registerAdmission(p, ctx);
  return { program: p, ctx, out, err };
}

const get = httpText;
const waitFor = (what: () => string, re: RegExp): Promise<RegExpExecArray> => waitForOutput(what, re);

let dir: string;
let dataDir: string;
let cert: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trustctl-cli-admission-'));
  dataDir = join(dir, 'verdicts');
  const store = new EmbeddedVerdictStore(dataDir);
  const fresh = new Date(Date.now() - 3600_000).toISOString();
  await store.put(verdict(digestOf('app'), 'trusted', fresh));
  await store.put(verdict(digestOf('day-old'), 'trusted', new Date(Date.now() - 30 * 3600_000).toISOString()));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  cert = readFileSync(join(dir, 'tls.crt'), 'utf8');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trustctl serve', () => {
  it('serves the embedded store with the given rules, prints its URL on stderr, stops when told', async () => {
    const stop = new AbortController();
    const p = program(stop.signal);
    const run = p.program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--verdict-dir', dataDir, '--trusted-registry', `${TRUSTED}/team/*`, '--max-verdict-age', '24h', '--namespace-mode', 'dev=warn', '--namespace-mode', 'sandbox=off']);
    const [, url] = await waitFor(p.err, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    try {
      expect((await get(`${url}/healthz`)).body).toBe('ok');
      expect(JSON.parse((await get(`${url}/verdicts/${digestOf('app')}`)).body).status).toBe('trusted');
      const review = (images: Record<string, string>, namespace: string): Promise<{ status: number; body: string }> =>
        get(`${url}/admission/validate`, { method: 'POST', body: JSON.stringify(podReview(images, { namespace })) });
      const all = (image: string): Record<string, string> => ({ initContainers: image, containers: image, ephemeralContainers: image });
      expect(JSON.parse((await review(all(pinned('app')), 'prod')).body).response.allowed).toBe(true);
      // --max-verdict-age 24h: a 30-hour-old verdict is stale.
      const stale = JSON.parse((await review(all(pinned('day-old')), 'prod')).body).response;
      expect(stale.allowed).toBe(false);
      expect(stale.status.message).toContain('over the 1d allowed');
      // --trusted-registry
      expect(JSON.parse((await review(all(pinned('app', 'ghcr.io')), 'prod')).body).response.status.message).toContain('not on the trusted registry list');
      // --namespace-mode
      expect(JSON.parse((await review(all(pinned('day-old')), 'dev')).body).response).toMatchObject({ allowed: true, warnings: expect.any(Array) });
      expect(JSON.parse((await review(all('nginx'), 'sandbox')).body).response).toEqual({ uid: expect.any(String), allowed: true });
    } finally {
      stop.abort();
    }
    await run;
    expect(p.err()).toContain('trustctl serve: stopped (stop)');
    expect(p.ctx.exitCode).toBe(0);
  });

  it('serves HTTPS with --tls-cert and --tls-key', async () => {
    const stop = new AbortController();
    const p = program(stop.signal);
    const run = p.program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--verdict-dir', dataDir, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')]);
    const [, url] = await waitFor(p.err, /listening on (https:\/\/127\.0\.0\.1:\d+)/);
    try {
      expect((await get(`${url}/healthz`, { ca: cert })).body).toBe('ok');
    } finally {
      stop.abort();
    }
    await run;
  });

  it('refuses plain HTTP on a non-loopback host', async () => {
    const p = program(AbortSignal.abort());
    await expect(p.program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--host', '0.0.0.0', '--verdict-dir', dataDir])).rejects.toThrow(InsecureListenError);
  });

  it.each([
    { name: '--tls-cert without --tls-key', args: ['--tls-cert', 'x.crt'], error: AdmissionConfigError },
    { name: 'a lookup timeout over the webhook timeout', args: ['--lookup-timeout', '6s'], error: AdmissionConfigError },
  ])('refuses $name', async ({ args, error }) => {
    const p = program(AbortSignal.abort());
    await expect(p.program.parseAsync(['node', 'trustctl', 'serve', '--port', '0', '--verdict-dir', dataDir, ...args])).rejects.toThrow(error);
  });

  it.each([
    { name: 'a bad namespace mode', args: ['--namespace-mode', 'dev=audit'], message: /expected <namespace>=enforce\|warn\|off/ },
    { name: 'a registry pattern without host', args: ['--trusted-registry', 'library/alpine'], message: /must start with a registry host/ },
    { name: 'a duration without unit', args: ['--max-verdict-age', '7'], message: /invalid duration/ },
    { name: 'a port out of range', args: ['--port', '70000'], message: /port number/ },
  ])('rejects $name as bad usage', async ({ args, message }) => {
    const p = program(AbortSignal.abort());
    await expect(p.program.parseAsync(['node', 'trustctl', 'serve', ...args])).rejects.toThrow();
    expect(p.err()).toMatch(message);
  });

  describe('as a process', () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    });

    it('runs until SIGTERM, then closes and exits 0', async () => {
      const root = resolve(__dirname, '..', '..');
      const code = `
        const { Command } = require('commander');
        const { registerServe } = require('./lib/cli/commands/serve');
        const ctx = { io: { stdout: process.stdout, stderr: process.stderr }, exitCode: -1 };
        const p = new Command('trustctl');
        registerServe(p, ctx);
        p.parseAsync(['serve', '--port', '0', '--verdict-dir', ${JSON.stringify(dataDir)}], { from: 'user' })
          .then(() => process.exit(ctx.exitCode), (e) => { console.error(e); process.exit(2); });`;
      child = spawn(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
      const [, url] = await waitFor(() => err, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect((await get(`${url}/healthz`)).body).toBe('ok');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toContain('trustctl serve: stopped (SIGTERM)');
    });
  });
});

describe('trustctl admission manifests', () => {
  it('prints both configurations as YAML', async () => {
    const p = program();
    await p.program.parseAsync(['node', 'trustctl', 'admission', 'manifests']);
    const docs = parseAllDocuments(p.out()).map((d) => d.toJS() as { kind: string; webhooks: { clientConfig: { service: unknown }; timeoutSeconds: number }[] });
    expect(docs.map((d) => d.kind)).toEqual(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
    expect(docs[0].webhooks[0].clientConfig.service).toEqual({ namespace: 'trustctl', name: 'trustctl', path: '/admission/validate', port: 8443 });
    expect(p.ctx.exitCode).toBe(0);
  });

  it('takes namespace, service, port, CA bundle, timeout and --no-mutating', async () => {
    const p = program();
    await p.program.parseAsync(['node', 'trustctl', 'admission', 'manifests', '--namespace', 'security', '--service', 'gate', '--port', '443', '--ca-bundle', join(dir, 'tls.crt'), '--timeout', '10', '--no-mutating']);
    const docs = parseAllDocuments(p.out()).map((d) => d.toJS() as { kind: string; webhooks: { clientConfig: { service: unknown; caBundle: string }; timeoutSeconds: number; namespaceSelector: { matchExpressions: { values: string[] }[] } }[] });
    expect(docs.map((d) => d.kind)).toEqual(['ValidatingWebhookConfiguration']);
    const w = docs[0].webhooks[0];
    expect(w.clientConfig.service).toEqual({ namespace: 'security', name: 'gate', path: '/admission/validate', port: 443 });
    expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8')).toBe(cert);
    expect(w.timeoutSeconds).toBe(10);
    expect(w.namespaceSelector.matchExpressions[0].values).toEqual(['kube-system', 'security']);
  });

  it('--url instead of a Service', async () => {
    const p = program();
    await p.program.parseAsync(['node', 'trustctl', 'admission', 'manifests', '--url', 'https://gate.example.com']);
    expect(p.out()).toContain('url: https://gate.example.com/admission/validate');
    expect(p.out()).toContain('url: https://gate.example.com/admission/mutate');
  });

  it.each([
    { name: 'a timeout of 31 s', args: ['--timeout', '31'] },
    { name: 'a missing CA bundle file', args: ['--ca-bundle', '/nonexistent/ca.pem'] },
    { name: 'an http URL', args: ['--url', 'http://gate.example.com'] },
  ])('refuses $name', async ({ args }) => {
    const p = program();
    await expect(p.program.parseAsync(['node', 'trustctl', 'admission', 'manifests', ...args])).rejects.toThrow();
    expect(p.out()).toBe('');
  });
});
