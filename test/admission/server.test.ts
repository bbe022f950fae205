/**
 * The trust server over real HTTP and HTTPS on 127.0.0.1 (a self-signed certificate made with
 * `openssl req -x509` in a temporary directory), and its routes as a plain function.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionController } from '../../lib/admission/decide';
import { InsecureListenError } from '../../lib/admission/errors';
import { DEFAULT_MAX_BODY_BYTES, createTrustHandler, createTrustServer } from '../../lib/admission/server';
import type { AdmissionPorts } from '../../lib/admission/decide';
import { CountingStore, FRESH, FlakyStore, HangingStore, NOW, TRUSTED, corpusReview, digestOf, pinned, podReview, verdict } from './fixtures';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh or kept-alive connection (`agent`), with a CA for HTTPS. */
function send(url: string, opts: { method?: string; body?: string | Buffer; ca?: string; agent?: http.Agent } = {}): Promise<Reply> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(u, { method: opts.method ?? 'GET', ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.agent ? { agent: opts.agent } : {}), headers: opts.body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function listen(server: http.Server | https.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function controller(store: AdmissionPorts['store'], lookupTimeoutMs = 2000): AdmissionController {
  return new AdmissionController({ trustedRegistries: [`${TRUSTED}/team/*`], lookupTimeoutMs }, { store, now: () => NOW });
}

describe('the trust server over HTTP on 127.0.0.1', () => {
  let server: http.Server | https.Server;
  let base: string;
  const store = new CountingStore();
  const logged: string[] = [];

  beforeAll(async () => {
    await store.put(verdict(digestOf('app'), 'trusted', FRESH));
    await store.put(verdict(digestOf('bad'), 'quarantined', FRESH, [{ rule: 'no-critical', message: 'CVE-2024-0001', findings: ['CVE-2024-0001'] }]));
    server = createTrustServer({ controller: controller(store), host: '127.0.0.1', log: (l) => logged.push(l) });
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => close(server));

  it('GET /healthz → 200 ok', async () => {
    const r = await send(`${base}/healthz`);
    expect([r.status, r.body, r.headers['content-type']]).toEqual([200, 'ok', 'text/plain; charset=utf-8']);
  });

  it('POST /admission/validate → the AdmissionReview answer, uid echoed', async () => {
    const ok = await send(`${base}/admission/validate`, { method: 'POST', body: JSON.stringify(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }, { uid: 'uid-ok' })) });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json');
    expect(JSON.parse(ok.body)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-ok', allowed: true } });
    const denied = await send(`${base}/admission/validate`, { method: 'POST', body: JSON.stringify(podReview({ initContainers: pinned('app'), containers: pinned('bad'), ephemeralContainers: pinned('app') }, { uid: 'uid-bad' })) });
    // A denial is still HTTP 200: the answer is in the AdmissionReview.
    expect(denied.status).toBe(200);
    const res = JSON.parse(denied.body).response;
    expect(res).toMatchObject({ uid: 'uid-bad', allowed: false, status: { code: 403, reason: 'Forbidden' } });
    expect(res.status.message).toContain('CVE-2024-0001');
  });

  it('POST /admission/mutate answers too (no resolver: a tag is denied)', async () => {
    const r = await send(`${base}/admission/mutate`, { method: 'POST', body: JSON.stringify(podReview({ initContainers: pinned('app'), containers: `${TRUSTED}/team/app:1`, ephemeralContainers: pinned('app') }, { uid: 'm-1' })) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).response).toMatchObject({ uid: 'm-1', allowed: false });
  });

  it.each([
    { name: 'the OPA primer input (no apiVersion, no uid)', body: JSON.stringify(corpusReview('opa-docs__admissionreview-pod-partial-input.json')), message: /apiVersion/ },
    { name: 'not JSON', body: '{"apiVersion":', message: /not JSON/ },
    { name: 'an empty body', body: '', message: /not JSON/ },
  ])('a malformed review → 400 ($name)', async ({ body, message }) => {
    const r = await send(`${base}/admission/validate`, { method: 'POST', body });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'BAD_ADMISSION_REVIEW', message: expect.stringMatching(message) });
  });

  it('a body over the cap (3 MiB) → 413, and the kept-alive connection still serves', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20);
      const r = await send(`${base}/admission/validate`, { method: 'POST', body: big, agent });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error.code).toBe('BODY_TOO_LARGE');
      const after = await send(`${base}/healthz`, { agent });
      expect(after.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('GET /verdicts/<digest> → 200 with the stored verdict', async () => {
    const r = await send(`${base}/verdicts/${digestOf('app')}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual(await store.get(digestOf('app')));
    // The colon may arrive percent-encoded.
    expect((await send(`${base}/verdicts/${encodeURIComponent(digestOf('bad'))}`)).status).toBe(200);
    expect(JSON.parse((await send(`${base}/verdicts/${digestOf('bad')}`)).body).status).toBe('quarantined');
  });

  it.each([
    { name: 'no verdict → 404', path: `/verdicts/${digestOf('never')}`, status: 404, code: 'NO_VERDICT' },
    { name: 'a bad digest → 400', path: '/verdicts/sha256:xyz', status: 400, code: 'INVALID_REFERENCE' },
    { name: 'a tag instead of a digest → 400', path: '/verdicts/latest', status: 400, code: 'INVALID_REFERENCE' },
    { name: 'a bad percent escape → 400', path: '/verdicts/%E0%A4%A', status: 400, code: 'INVALID_REFERENCE' },
    { name: 'an unknown route → 404', path: '/admission', status: 404, code: 'NOT_FOUND' },
    { name: 'the root → 404', path: '/', status: 404, code: 'NOT_FOUND' },
  ])('$name', async ({ path, status, code }) => {
    const r = await send(`${base}${path}`);
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body).error.code).toBe(code);
  });

  it.each([
    { method: 'GET', path: '/admission/validate', allow: 'POST' },
    { method: 'PUT', path: '/admission/mutate', allow: 'POST' },
    { method: 'POST', path: `/verdicts/${'sha256:' + 'a'.repeat(64)}`, allow: 'GET' },
    { method: 'DELETE', path: '/healthz', allow: 'GET' },
  ])('$method $path → 405 with Allow: $allow', async ({ method, path, allow }) => {
    const r = await send(`${base}${path}`, { method, ...(method === 'POST' || method === 'PUT' ? { body: '{}' } : {}) });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
  });

  it('query strings are ignored by the router', async () => {
    expect((await send(`${base}/healthz?probe=1`)).status).toBe(200);
  });
});

describe('the verdict API never answers "trusted" on a store failure', () => {
  it.each([
    { name: 'a store that throws → 503', store: () => new FlakyStore(100), timeout: 2000 },
    { name: 'a store that never answers → 503 within the lookup budget', store: () => new HangingStore(), timeout: 50 },
  ])('$name', async ({ store, timeout }) => {
    const logged: string[] = [];
    const server = createTrustServer({ controller: controller(store(), timeout), host: '127.0.0.1', log: (l) => logged.push(l) });
    const port = await listen(server);
    try {
      const r = await send(`http://127.0.0.1:${port}/verdicts/${digestOf('app')}`);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).error.code).toBe('VERDICT_STORE_UNREACHABLE');
      expect(r.body).not.toContain('trusted');
      expect(logged.join('\n')).toMatch(/ECONNREFUSED|LOOKUP_TIMEOUT/);
      // The admission path denies for the same failure.
      const a = await send(`http://127.0.0.1:${port}/admission/validate`, { method: 'POST', body: JSON.stringify(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') })) });
      expect(JSON.parse(a.body).response.allowed).toBe(false);
      expect(JSON.parse(a.body).response.status.message).toContain('verdict store unreachable');
    } finally {
      await close(server);
    }
  });
});

describe('plain HTTP only on loopback', () => {
  it.each(['0.0.0.0', '::', '10.0.0.5', 'trustctl.trustctl.svc'])('refuses host %s without TLS', (host) => {
    expect(() => createTrustServer({ controller: controller(new CountingStore()), host })).toThrow(InsecureListenError);
    expect(() => createTrustServer({ controller: controller(new CountingStore()), host })).toThrow(/--tls-cert/);
  });

  it.each(['127.0.0.1', '127.1.2.3', 'localhost', '::1'])('accepts host %s', (host) => {
    expect(() => createTrustServer({ controller: controller(new CountingStore()), host })).not.toThrow();
  });

  it('a plain server bound to every interface anyway closes itself with InsecureListenError', async () => {
    const server = createTrustServer({ controller: controller(new CountingStore()), host: '127.0.0.1' });
    const failed = new Promise<unknown>((resolve) => server.once('error', resolve));
    server.listen(0);
    expect(await failed).toBeInstanceOf(InsecureListenError);
    await new Promise((r) => setImmediate(r));
    expect(server.listening).toBe(false);
  });
});

describe('the trust server over HTTPS', () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-serve-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '2', '-subj', '/CN=trustctl.trustctl.svc', '-addext', 'subjectAltName=DNS:trustctl.trustctl.svc,IP:127.0.0.1'], { stdio: 'pipe' });
    cert = readFileSync(join(dir, 'tls.crt'), 'utf8');
    key = readFileSync(join(dir, 'tls.key'), 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the routes over TLS, verified against the self-signed certificate', async () => {
    const store = new CountingStore();
    await store.put(verdict(digestOf('app'), 'trusted', FRESH));
    const server = createTrustServer({ controller: controller(store), host: '127.0.0.1', tls: { cert, key } });
    expect(server).toBeInstanceOf(https.Server);
    const port = await listen(server);
    try {
      const base = `https://127.0.0.1:${port}`;
      expect((await send(`${base}/healthz`, { ca: cert })).body).toBe('ok');
      const r = await send(`${base}/admission/validate`, { method: 'POST', ca: cert, body: JSON.stringify(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }, { uid: 'tls-1' })) });
      expect(JSON.parse(r.body).response).toEqual({ uid: 'tls-1', allowed: true });
      expect(JSON.parse((await send(`${base}/verdicts/${digestOf('app')}`, { ca: cert })).body).digest).toBe(digestOf('app'));
      // Without the CA the client refuses the certificate: it is a real TLS server.
      await expect(send(`${base}/healthz`)).rejects.toThrow(/self-signed|self signed/);
      // Plain HTTP to the TLS port gets no answer.
      await expect(send(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await close(server);
    }
  });

  it('with TLS, a non-loopback host is accepted', () => {
    expect(createTrustServer({ controller: controller(new CountingStore()), host: '0.0.0.0', tls: { cert, key } })).toBeInstanceOf(https.Server);
  });
});

describe('createTrustHandler: the routes as a plain function (for a Lambda adapter)', () => {
  it('answers (method, path, body) with { status, headers, body }', async () => {
    const store = new CountingStore();
    await store.put(verdict(digestOf('app'), 'trusted', FRESH));
    const handle = createTrustHandler({ controller: controller(store), maxBodyBytes: 64 * 1024 });
    const r = await handle('POST', '/admission/validate', JSON.stringify(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }, { uid: 'fn-1' })));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).response).toEqual({ uid: 'fn-1', allowed: true });
    expect(await handle('GET', '/healthz')).toEqual({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: 'ok' });
    expect((await handle('POST', '/admission/validate', 'x'.repeat(64 * 1024 + 1))).status).toBe(413);
    expect((await handle('POST', '/admission/validate')).status).toBe(400);
  });

  it('an unexpected failure in the decision → 500 (the API server then applies failurePolicy: Fail)', async () => {
    // A controller with a bug: the one failure no real part produces on purpose.
    class BuggyController extends AdmissionController {
      override async review(): Promise<never> {
        throw new TypeError('boom');
      }
    }
    const broken = new BuggyController({}, { store: new CountingStore() });
    const logged: string[] = [];
    const r = await createTrustHandler({ controller: broken, log: (l) => logged.push(l) })('POST', '/admission/validate', '{}');
    expect(r.status).toBe(500);
    expect(r.body).not.toContain('boom');
    expect(logged.join('\n')).toContain('boom');
  });
});
