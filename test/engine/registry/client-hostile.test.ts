import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import {
  AuthError,
  DigestMismatchError,
  ImmutableTagError,
  InvalidReferenceError,
  LimitExceededError,
  NotFoundError,
  RedirectError,
  RegistryError,
  SizeMismatchError,
  TransferTimeoutError,
} from '../../../lib/engine/errors';
import { DEFAULT_LIMITS, type Limits } from '../../../lib/engine/limits';
import { type Digest, MediaType, sha256Digest } from '../../../lib/engine/model';
import { RegistryClient, type RegistryClientOptions } from '../../../lib/engine/registry/client';
import type { CredentialProvider } from '../../../lib/engine/registry/source';
import { type FakeHandler, type FakeServer, type SeenRequest, sendError, startFakeServer, writeForever } from './fake-server';

/**
 * The registry client against hostile in-process servers (RELIABILITY.md 18, 20, 22, 23) and the
 * transport behaviours around them: retries, authentication challenges, immutable-tag answers.
 */

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(handler: FakeHandler): Promise<FakeServer> {
  const s = await startFakeServer(handler);
  servers.push(s);
  return s;
}

const ALICE: CredentialProvider = { getCredentials: async () => ({ kind: 'basic', username: 'alice', password: 's3cret' }) };
const ALICE_BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

function clientFor(server: FakeServer, opts: Partial<RegistryClientOptions> = {}): { client: RegistryClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const client = new RegistryClient({
    registry: server.host,
    limits: DEFAULT_LIMITS,
    ...opts,
    // Record the waits instead of sleeping: assertions are on what was asked for, never on time.
    retries: { ...opts.retries, sleep: async (ms) => void sleeps.push(ms) },
  });
  return { client, sleeps };
}

/** Reads a stream to the end; resolves with what arrived, rejects with the stream's error (and what arrived before it). */
async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function drainCounting(stream: Readable): Promise<{ delivered: number; error?: unknown }> {
  let delivered = 0;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) delivered += c.length;
  } catch (error) {
    return { delivered, error };
  }
  return { delivered };
}

const GOOD = Buffer.from('the layer bytes the manifest promised');
const GOOD_DIGEST = sha256Digest(GOOD);
const blobPath = (digest: string, repo = 'team/app'): string => `/v2/${repo}/blobs/${digest}`;

describe('blobs: verified while streaming (RELIABILITY.md 18)', () => {
  const cases: { name: string; body: Buffer; contentLength: boolean; size?: number; error: new (...a: never[]) => Error; early?: boolean }[] = [
    { name: 'bytes do not hash to the digest', body: Buffer.from('the layer bytes the attacker swapped in'.slice(0, GOOD.length)), contentLength: true, error: DigestMismatchError },
    { name: 'shorter than the descriptor (honest Content-Length)', body: GOOD.subarray(0, 10), contentLength: true, error: SizeMismatchError, early: true },
    { name: 'shorter than the descriptor (chunked)', body: GOOD.subarray(0, 10), contentLength: false, error: SizeMismatchError },
    { name: 'longer than the descriptor (honest Content-Length)', body: Buffer.concat([GOOD, Buffer.from('extra')]), contentLength: true, error: SizeMismatchError, early: true },
    { name: 'longer than the descriptor (chunked)', body: Buffer.concat([GOOD, Buffer.from('extra')]), contentLength: false, error: SizeMismatchError },
    { name: 'right bytes, descriptor lies about size', body: GOOD, contentLength: false, size: GOOD.length - 1, error: SizeMismatchError },
  ];
  it.each(cases)('$name → $error.name', async ({ body, contentLength, size, error, early }) => {
    const server = await serve((_req, res) => {
      res.writeHead(200, contentLength ? { 'Content-Length': String(body.length) } : {});
      res.end(body);
    });
    const { client } = clientFor(server);
    const desc = { digest: GOOD_DIGEST, size: size ?? GOOD.length };
    if (early) {
      await expect(client.openBlob('team/app', desc)).rejects.toBeInstanceOf(error);
    } else {
      const result = await drainCounting(await client.openBlob('team/app', desc));
      expect(result.error).toBeInstanceOf(error);
      expect(result.delivered).toBeLessThanOrEqual(desc.size);
    }
    expect(server.requests.map((r) => r.path)).toEqual([blobPath(GOOD_DIGEST)]);
  });

  it('serves the verified bytes of a good blob', async () => {
    const server = await serve((_req, res) => res.end(GOOD));
    const { client } = clientFor(server);
    expect(await drain(await client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length }))).toEqual(GOOD);
  });

  it('an endless blob stream is cut off at the first byte past the descriptor, and the connection closed', async () => {
    let written: Promise<number> | undefined;
    const server = await serve((_req, res) => {
      res.writeHead(200);
      written = writeForever(res, Buffer.alloc(64 * 1024, 0x41));
    });
    const { client } = clientFor(server);
    const desc = { digest: GOOD_DIGEST, size: 1000 };
    const result = await drainCounting(await client.openBlob('team/app', desc));
    expect(result.error).toBeInstanceOf(SizeMismatchError);
    expect(result.delivered).toBeLessThanOrEqual(1000);
    // The server saw the client go away: bounded bytes, no hang.
    expect(await written).toBeLessThan(64 * 1024 * 1024);
  });

  it('a body that stalls mid-way is aborted after the idle timeout, not waited on forever', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(GOOD.length) });
      res.write(GOOD.subarray(0, 5)); // …and nothing more
    });
    const { client } = clientFor(server, { readGuards: { idleTimeoutMs: 200 } });
    const result = await drainCounting(await client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length }));
    expect(result.error).toBeInstanceOf(TransferTimeoutError);
    expect(String((result.error as Error).message)).toMatch(/no data/);
    expect(result.delivered).toBe(5);
  });

  it('a server that never answers is retried, then a RegistryError', async () => {
    const server = await serve(() => undefined);
    const { client, sleeps } = clientFor(server, { headersTimeoutMs: 100 });
    await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(RegistryError);
    expect(server.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('a declared size over maxBlobBytes is refused before any request', async () => {
    const server = await serve((_req, res) => res.end(GOOD));
    const { client } = clientFor(server, { limits: { ...DEFAULT_LIMITS, maxBlobBytes: 10 } });
    await expect(client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length })).rejects.toBeInstanceOf(LimitExceededError);
    expect(server.requests).toHaveLength(0);
  });

  it('a 404 is NotFoundError', async () => {
    const server = await serve((_req, res) => sendError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry'));
    const { client } = clientFor(server);
    await expect(client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length })).rejects.toThrow(NotFoundError);
  });
});

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: GOOD_DIGEST, size: GOOD.length }, layers: [] }));
const MANIFEST_DIGEST = sha256Digest(MANIFEST);

function sendManifest(res: ServerResponse, bytes: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'Content-Type': MediaType.OciManifest, 'Content-Length': String(bytes.length), ...headers });
  res.end(bytes);
}

describe('manifests: capped and verified (RELIABILITY.md 18, 20)', () => {
  it('asks for every manifest type we read, and returns bytes, digest and media type', async () => {
    const server = await serve((_req, res) => sendManifest(res, MANIFEST, { 'Docker-Content-Digest': MANIFEST_DIGEST }));
    const { client } = clientFor(server);
    const m = await client.getManifest('team/app', 'v1');
    expect(m).toEqual({ mediaType: MediaType.OciManifest, digest: MANIFEST_DIGEST, bytes: MANIFEST });
    const accept = String(server.requests[0].headers.accept);
    for (const t of [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList]) expect(accept).toContain(t);
  });

  it('media type falls back to the document when Content-Type is generic', async () => {
    const server = await serve((_req, res) => sendManifest(res, MANIFEST, { 'Content-Type': 'application/json; charset=utf-8' }));
    const { client } = clientFor(server);
    expect((await client.getManifest('team/app', MANIFEST_DIGEST)).mediaType).toBe(MediaType.OciManifest);
  });

  const lying: { name: string; reference: string; bytes: Buffer; headers?: Record<string, string>; error: new (...a: never[]) => Error }[] = [
    { name: 'by digest, bytes hash to something else', reference: sha256Digest('other'), bytes: MANIFEST, error: DigestMismatchError },
    { name: 'by tag, Docker-Content-Digest disagrees with the bytes', reference: 'v1', bytes: MANIFEST, headers: { 'Docker-Content-Digest': sha256Digest('other') }, error: DigestMismatchError },
    { name: 'by tag, malformed Docker-Content-Digest', reference: 'v1', bytes: MANIFEST, headers: { 'Docker-Content-Digest': 'sha256:../../etc' }, error: RegistryError },
  ];
  it.each(lying)('$name → $error.name', async ({ reference, bytes, headers, error }) => {
    const server = await serve((_req, res) => sendManifest(res, bytes, headers));
    const { client } = clientFor(server);
    await expect(client.getManifest('team/app', reference)).rejects.toBeInstanceOf(error);
  });

  it('a manifest declaring more than 4 MiB is refused without reading it', async () => {
    let written: Promise<number> | undefined;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': MediaType.OciManifest, 'Content-Length': String(5 * 1024 * 1024) });
      written = writeForever(res, Buffer.alloc(64 * 1024, 0x20));
    });
    const { client } = clientFor(server);
    const err = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('maxManifestBytes');
    expect((err as LimitExceededError).max).toBe(4 * 1024 * 1024);
    expect(await written).toBeLessThanOrEqual(5 * 1024 * 1024);
  });

  it('a chunked manifest over 4 MiB is cut off', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': MediaType.OciManifest });
      res.end(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    });
    const { client } = clientFor(server);
    await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(LimitExceededError);
  });

  it('a manifest stream that never ends is cut off at the cap, and the connection closed', async () => {
    let written: Promise<number> | undefined;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': MediaType.OciManifest });
      written = writeForever(res, Buffer.alloc(16 * 1024, 0x20));
    });
    const limits: Limits = { ...DEFAULT_LIMITS, maxManifestBytes: 64 * 1024 };
    const { client } = clientFor(server, { limits });
    const err = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    const read = Number(/read (\d+) bytes/.exec((err as Error).message)?.[1]);
    expect(read).toBeGreaterThan(64 * 1024);
    expect(read).toBeLessThanOrEqual(64 * 1024 + 16 * 1024 * 4);
    expect(await written).toBeLessThan(64 * 1024 * 1024);
  });
});

/** A registry that wants Basic `alice:s3cret` and redirects blob reads to `storage`. */
function redirectingRegistry(storageUrl: () => string, mode: 'basic' | 'bearer'): FakeHandler {
  return (req, res) => {
    const url = new URL(req.path, 'http://x');
    if (url.pathname === '/token') {
      if (req.headers.authorization !== ALICE_BASIC) return sendError(res, 401, 'UNAUTHORIZED', 'no');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: 'registry-token-xyz', expires_in: 300 }));
      return;
    }
    const want = mode === 'basic' ? ALICE_BASIC : 'Bearer registry-token-xyz';
    if (req.headers.authorization !== want) {
      const challenge = mode === 'basic' ? 'Basic realm="fake"' : `Bearer realm="http://${req.headers.host}/token",service="fake",scope="repository:team/app:pull"`;
      return sendError(res, 401, 'UNAUTHORIZED', 'authentication required', { 'WWW-Authenticate': challenge });
    }
    if (url.pathname === blobPath(GOOD_DIGEST)) {
      res.writeHead(307, { Location: `${storageUrl()}/bucket/blob?X-Amz-Signature=sig` });
      return res.end();
    }
    if (url.pathname === '/v2/team/app/blobs/sha256:' + 'a'.repeat(64)) {
      res.writeHead(307, { Location: `/same-origin/blob` });
      return res.end();
    }
    if (url.pathname === '/same-origin/blob') return res.end(GOOD);
    sendError(res, 404, 'NOT_FOUND', 'no');
  };
}

describe('redirects (RELIABILITY.md 22, CVE-2024-35192)', () => {
  it.each(['basic', 'bearer'] as const)('%s: Authorization goes to the registry, never to the storage host it redirects to', async (mode) => {
    const storage = await serve((_req, res) => res.end(GOOD));
    const registry = await serve(redirectingRegistry(() => storage.url, mode));
    const { client } = clientFor(registry, { credentials: ALICE });
    expect(await drain(await client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length }))).toEqual(GOOD);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0].path).toBe('/bucket/blob?X-Amz-Signature=sig');
    expect(storage.requests[0].headers.authorization).toBeUndefined();
    const blobRequests = registry.requests.filter((r) => r.path === blobPath(GOOD_DIGEST));
    expect(blobRequests.at(-1)?.headers.authorization).toBe(mode === 'basic' ? ALICE_BASIC : 'Bearer registry-token-xyz');
  });

  it('a redirect within the registry origin keeps Authorization', async () => {
    const registry = await serve(redirectingRegistry(() => 'unused', 'basic'));
    const { client } = clientFor(registry, { credentials: ALICE });
    // /v2/…/blobs/sha256:aaaa… redirects to /same-origin/blob on the registry itself, which serves GOOD.
    const other = ('sha256:' + 'a'.repeat(64)) as Digest;
    const result = await drainCounting(await client.openBlob('team/app', { digest: other, size: GOOD.length }));
    expect(result.error).toBeInstanceOf(DigestMismatchError); // GOOD does not hash to aaaa…: verified even after a redirect
    expect(registry.requests.find((r) => r.path === '/same-origin/blob')?.headers.authorization).toBe(ALICE_BASIC);
  });

  it('tag pagination to another host is refused (credentials stay home), invalid tags are dropped', async () => {
    const server = await serve((req, res) => {
      if (req.path.startsWith('/v2/team/app/tags/list')) {
        const body = JSON.stringify({ name: 'team/app', tags: ['1.0', '../../etc/passwd', 'ok_2'] });
        const next = req.path.includes('last=') ? {} : { Link: '<https://evil.example/v2/team/app/tags/list?last=ok_2>; rel="next"' };
        res.writeHead(200, { 'Content-Type': 'application/json', ...next });
        res.end(body);
        return;
      }
      res.writeHead(404).end();
    });
    const { client } = clientFor(server);
    await expect(client.listTags('team/app')).rejects.toThrow(/another host/);
    const same = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ tags: ['1.0', '../../etc/passwd', 'ok_2', 42] }));
    });
    expect(await clientFor(same).client.listTags('team/app')).toEqual(['1.0', 'ok_2']);
  });

  it('a redirect loop is refused', async () => {
    const server = await serve((req, res) => {
      res.writeHead(302, { Location: req.path.startsWith('/v2/') ? '/elsewhere' : blobPath(GOOD_DIGEST) });
      res.end();
    });
    const { client } = clientFor(server);
    await expect(client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length })).rejects.toThrow(RedirectError);
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    { hops: 5, ok: true },
    { hops: 6, ok: false },
  ])('a chain of $hops redirects: followed = $ok', async ({ hops, ok }) => {
    const server = await serve((req, res) => {
      const n = req.path.startsWith('/hop/') ? Number(req.path.slice(5)) : 0;
      if (n < hops) {
        res.writeHead(307, { Location: `/hop/${n + 1}` });
        return res.end();
      }
      res.end(GOOD);
    });
    const { client } = clientFor(server);
    const attempt = client.openBlob('team/app', { digest: GOOD_DIGEST, size: GOOD.length }).then(drain);
    if (ok) await expect(attempt).resolves.toEqual(GOOD);
    else await expect(attempt).rejects.toThrow(RedirectError);
    expect(server.requests.length).toBe(ok ? hops + 1 : 6);
  });

  it('a redirect to a non-http scheme is refused', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { Location: 'file:///etc/shadow' });
      res.end();
    });
    const { client } = clientFor(server);
    await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(RedirectError);
  });
});

describe('retries: bounded, only for 429/502/503/504 and resets', () => {
  function scripted(script: ((res: ServerResponse, req: SeenRequest) => void)[]): FakeHandler {
    let i = 0;
    return (req, res) => script[Math.min(i++, script.length - 1)](res, req);
  }
  const ok = (res: ServerResponse): void => sendManifest(res, MANIFEST);
  const status = (code: number, headers: Record<string, string> = {}) => (res: ServerResponse): void => sendError(res, code, 'X', `status ${code}`, headers);

  it('429 with Retry-After is honoured, then succeeds', async () => {
    const server = await serve(scripted([status(429, { 'Retry-After': '2' }), ok]));
    const { client, sleeps } = clientFor(server);
    expect((await client.getManifest('team/app', 'v1')).digest).toBe(MANIFEST_DIGEST);
    expect(sleeps).toEqual([2000]);
    expect(server.requests).toHaveLength(2);
  });

  it('Retry-After is capped', async () => {
    const server = await serve(scripted([status(429, { 'Retry-After': '86400' }), ok]));
    const { client, sleeps } = clientFor(server, { retries: { maxRetryAfterMs: 1500 } });
    await client.getManifest('team/app', 'v1');
    expect(sleeps).toEqual([1500]);
  });

  it('503 twice then success: two jittered backoffs', async () => {
    const server = await serve(scripted([status(503), status(503), ok]));
    const { client, sleeps } = clientFor(server, { retries: { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 } });
    expect((await client.getManifest('team/app', 'v1')).bytes).toEqual(MANIFEST);
    expect(sleeps).toEqual([50, 100]);
    expect(server.requests).toHaveLength(3);
  });

  it.each([502, 503, 504])('%d forever: gives up after maxAttempts with RegistryError', async (code) => {
    const server = await serve(scripted([status(code)]));
    const { client, sleeps } = clientFor(server);
    const err = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(code);
    expect(server.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it.each([
    { code: 400, error: RegistryError },
    { code: 403, error: AuthError },
    { code: 404, error: NotFoundError },
    { code: 500, error: RegistryError },
  ])('$code is not retried → $error.name', async ({ code, error }) => {
    const server = await serve(scripted([status(code), ok]));
    const { client, sleeps } = clientFor(server);
    await expect(client.getManifest('team/app', 'v1')).rejects.toBeInstanceOf(error);
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('a connection reset is retried', async () => {
    let n = 0;
    const server = await serve((_req, res, raw) => {
      if (n++ === 0) raw.socket.destroy();
      else ok(res);
    });
    const { client, sleeps } = clientFor(server);
    expect((await client.getManifest('team/app', 'v1')).digest).toBe(MANIFEST_DIGEST);
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });
});

describe('authentication challenges (RFC 7235, Docker token auth)', () => {
  it('401 without credentials → AuthError after one request', async () => {
    const server = await serve((_req, res) => sendError(res, 401, 'UNAUTHORIZED', 'auth', { 'WWW-Authenticate': 'Basic realm="r"' }));
    const { client } = clientFor(server);
    await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(AuthError);
    expect(server.requests).toHaveLength(1);
  });

  it('credentials refused: 401 is answered once, then AuthError', async () => {
    const server = await serve((_req, res) => sendError(res, 401, 'UNAUTHORIZED', 'auth', { 'WWW-Authenticate': 'Basic realm="r"' }));
    const { client } = clientFor(server, { credentials: ALICE });
    const err = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(String((err as Error).message)).not.toContain('s3cret');
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([undefined, ALICE_BASIC]);
  });

  it('Bearer: token fetched with Basic from the realm (access_token form), cached per scope, reused', async () => {
    const server = await serve((req, res) => {
      if (req.path.startsWith('/token')) {
        const u = new URL(req.path, 'http://x');
        if (req.headers.authorization !== ALICE_BASIC) return sendError(res, 401, 'UNAUTHORIZED', 'no');
        expect(u.searchParams.get('service')).toBe('fake-registry');
        expect(u.searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ access_token: 'oauth-style-token', expires_in: 600 }));
      }
      if (req.headers.authorization !== 'Bearer oauth-style-token') {
        return sendError(res, 401, 'UNAUTHORIZED', 'auth', { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake-registry",scope="repository:team/app:pull"` });
      }
      sendManifest(res, MANIFEST);
    });
    const { client } = clientFor(server, { credentials: ALICE });
    await client.getManifest('team/app', 'v1');
    await client.getManifest('team/app', 'v2');
    expect(server.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(['GET /v2/team/app/manifests/v1', 'GET /token', 'GET /v2/team/app/manifests/v1', 'GET /v2/team/app/manifests/v2']);
  });

  it('token service refusing the credentials → AuthError', async () => {
    const server = await serve((req, res) => {
      if (req.path.startsWith('/token')) return sendError(res, 401, 'UNAUTHORIZED', 'bad password');
      sendError(res, 401, 'UNAUTHORIZED', 'auth', { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="s"` });
    });
    const { client } = clientFor(server, { credentials: ALICE });
    await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(AuthError);
  });

  it.each([
    { name: 'plain-http realm off this machine', realm: 'http://auth.example.com/token' },
    { name: 'file: realm', realm: 'file:///etc/passwd' },
    { name: 'realm with embedded credentials', realm: 'https://u:p@auth.example.com/token' },
    { name: 'no realm at all', realm: '' },
  ])('Bearer challenge with a $name is refused before credentials leave', async ({ realm }) => {
    const provider = { calls: 0, getCredentials: async () => ((provider.calls += 1), { kind: 'basic' as const, username: 'alice', password: 's3cret' }) };
    const server = await serve((_req, res) => sendError(res, 401, 'UNAUTHORIZED', 'auth', { 'WWW-Authenticate': realm ? `Bearer realm="${realm}",service="s"` : 'Bearer service="s"' }));
    const { client } = clientFor(server, { credentials: provider });
    await expect(client.getManifest('team/app', 'v1')).rejects.toThrow(AuthError);
    expect(provider.calls).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  it('Basic credentials are not sent to a plain-http registry off this machine unless marked insecure', async () => {
    // The registry name is not loopback, but it resolves here only through the test: use the auth unit directly.
    const { RegistryAuth } = await import('../../../lib/engine/registry/auth');
    const make = (insecure: boolean) =>
      new RegistryAuth({ registry: 'registry.example.com', origin: new URL('http://registry.example.com'), credentials: ALICE, insecure, send: async () => { throw new Error('no network'); }, maxTokenResponseBytes: 1024 });
    await expect(make(false).handleChallenge('Basic realm="r"', 'repository:a:pull')).rejects.toThrow(AuthError);
    const insecure = make(true);
    await insecure.handleChallenge('Basic realm="r"', 'repository:a:pull');
    expect(insecure.authorizationFor('repository:a:pull')).toBe(ALICE_BASIC);
  });
});

describe('pushing', () => {
  it('follows an absolute upload Location on another origin without Authorization, keeping its query', async () => {
    const uploads = await serve((_req, res) => {
      res.writeHead(201, { 'Docker-Content-Digest': GOOD_DIGEST });
      res.end();
    });
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== ALICE_BASIC) return sendError(res, 401, 'UNAUTHORIZED', 'auth', { 'WWW-Authenticate': 'Basic realm="r"' });
      res.writeHead(202, { Location: `${uploads.url}/upload/abc?_state=opaque` });
      res.end();
    });
    const { client } = clientFor(registry, { credentials: ALICE });
    await client.pushBlob('team/app', GOOD_DIGEST, GOOD);
    expect(uploads.requests).toHaveLength(1);
    const put = uploads.requests[0];
    expect(put.method).toBe('PUT');
    expect(put.headers.authorization).toBeUndefined();
    const u = new URL(put.path, 'http://x');
    expect(u.pathname).toBe('/upload/abc');
    expect(u.searchParams.get('_state')).toBe('opaque');
    expect(u.searchParams.get('digest')).toBe(GOOD_DIGEST);
    expect(put.body).toEqual(GOOD);
  });

  it('handles a relative upload Location on the registry', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { Location: '/v2/team/app/blobs/uploads/uuid-1' });
        return res.end();
      }
      res.writeHead(201);
      res.end();
    });
    const { client } = clientFor(registry);
    await client.pushBlob('team/app', GOOD_DIGEST, GOOD);
    expect(registry.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v2/team/app/blobs/uploads/', `PUT /v2/team/app/blobs/uploads/uuid-1?digest=${encodeURIComponent(GOOD_DIGEST)}`]);
  });

  it('refuses to push bytes that do not match their digest', async () => {
    const registry = await serve((_req, res) => res.end());
    const { client } = clientFor(registry);
    await expect(client.pushBlob('team/app', GOOD_DIGEST, Buffer.from('not it'))).rejects.toThrow(DigestMismatchError);
    expect(registry.requests).toHaveLength(0);
  });

  const immutable: { name: string; status: number; body: unknown; error: new (...a: never[]) => Error }[] = [
    {
      name: 'ECR TAG_INVALID immutable',
      status: 400,
      body: { errors: [{ code: 'TAG_INVALID', message: "The image tag 'trusted' already exists in the 'team/app' repository and cannot be overwritten because the repository is immutable." }] },
      error: ImmutableTagError,
    },
    { name: 'ECR ImageTagAlreadyExistsException', status: 400, body: { __type: 'ImageTagAlreadyExistsException', message: 'tag already exists' }, error: ImmutableTagError },
    { name: 'MANIFEST_INVALID immutable', status: 400, body: { errors: [{ code: 'MANIFEST_INVALID', message: 'tag is immutable' }] }, error: ImmutableTagError },
    { name: 'Harbor immutability rule', status: 412, body: { errors: [{ code: 'PRECONDITION', message: 'Failed to process request due to team/app:trusted configured as immutable.' }] }, error: ImmutableTagError },
    { name: 'MANIFEST_INVALID for another reason', status: 400, body: { errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid' }] }, error: RegistryError },
    { name: 'DENIED', status: 403, body: { errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }, error: AuthError },
  ];
  it.each(immutable)('PUT manifest answered "$name" → $error.name', async ({ status, body, error }) => {
    const registry = await serve((_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    const { client } = clientFor(registry);
    const err = await client.putManifest('team/app', 'trusted', MANIFEST, MediaType.OciManifest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(error);
    if (error !== ImmutableTagError) expect(err).not.toBeInstanceOf(ImmutableTagError);
  });

  it('putManifest refuses a registry that reports another digest for the bytes', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(201, { 'Docker-Content-Digest': sha256Digest('other') });
      res.end();
    });
    const { client } = clientFor(registry);
    await expect(client.putManifest('team/app', 'v1', MANIFEST, MediaType.OciManifest)).rejects.toThrow(DigestMismatchError);
  });

  it('tagManifest writes nothing when the tag already names the digest (idempotent on immutable repositories)', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Docker-Content-Digest': MANIFEST_DIGEST, 'Content-Type': MediaType.OciManifest, 'Content-Length': String(MANIFEST.length) });
        return res.end();
      }
      sendError(res, 400, 'TAG_INVALID', 'cannot be overwritten because the repository is immutable');
    });
    const { client } = clientFor(registry);
    expect(await client.tagManifest('team/app', MANIFEST_DIGEST, 'trusted')).toBe(false);
    expect(registry.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('tagManifest onto an immutable tag naming another digest → ImmutableTagError', async () => {
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Docker-Content-Digest': sha256Digest('older image'), 'Content-Type': MediaType.OciManifest });
        return res.end();
      }
      if (req.method === 'GET') return sendManifest(res, MANIFEST);
      sendError(res, 400, 'TAG_INVALID', "The image tag 'trusted' already exists in the 'team/app' repository and cannot be overwritten because the repository is immutable.");
    });
    const { client } = clientFor(registry);
    await expect(client.tagManifest('team/app', MANIFEST_DIGEST, 'trusted')).rejects.toThrow(ImmutableTagError);
    const put = registry.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual(MANIFEST);
    expect(put?.headers['content-type']).toBe(MediaType.OciManifest);
  });
});

describe('inputs are validated before any request (RELIABILITY.md 23)', () => {
  const d = GOOD_DIGEST;
  const cases: { name: string; call: (c: RegistryClient) => Promise<unknown>; error?: new (...a: never[]) => Error }[] = [
    { name: 'repository with ..', call: (c) => c.getManifest('team/../admin', 'v1') },
    { name: 'repository with uppercase', call: (c) => c.getManifest('Team/App', 'v1') },
    { name: 'repository with a query', call: (c) => c.getManifest('team/app?x=1', 'v1') },
    { name: 'tag with a slash', call: (c) => c.getManifest('team/app', 'v1/../../x') },
    { name: 'tag with percent-encoding', call: (c) => c.getManifest('team/app', '%2e%2e') },
    { name: 'tag too long', call: (c) => c.getManifest('team/app', 'a'.repeat(129)) },
    { name: 'short digest', call: (c) => c.getManifest('team/app', 'sha256:abc') },
    { name: 'uppercase digest', call: (c) => c.getManifest('team/app', d.toUpperCase()) },
    { name: 'unknown algorithm', call: (c) => c.getManifest('team/app', 'md5:' + 'a'.repeat(32)) },
    { name: 'blob digest with a path', call: (c) => c.openBlob('team/app', { digest: 'sha256:../../../etc/passwd' as Digest, size: 1 }) },
    { name: 'negative blob size', call: (c) => c.openBlob('team/app', { digest: d, size: -1 }), error: SizeMismatchError },
    { name: 'blobExists bad digest', call: (c) => c.blobExists('team/app', 'sha256:zz' as Digest) },
    { name: 'pushBlob bad digest', call: (c) => c.pushBlob('team/app', 'sha256:/x' as Digest, GOOD) },
    { name: 'putManifest bad reference', call: (c) => c.putManifest('team/app', 'a b', MANIFEST, MediaType.OciManifest) },
    { name: 'putManifest bad media type', call: (c) => c.putManifest('team/app', 'v1', MANIFEST, 'text/html\r\nX-Evil: 1') },
    { name: 'putManifest bytes not matching a digest reference', call: (c) => c.putManifest('team/app', d, MANIFEST, MediaType.OciManifest), error: DigestMismatchError },
    { name: 'tagManifest bad tag', call: (c) => c.tagManifest('team/app', MANIFEST_DIGEST, '-trusted') },
    { name: 'tagManifest bad digest', call: (c) => c.tagManifest('team/app', 'latest' as Digest, 'trusted') },
    { name: 'headManifest bad repository', call: (c) => c.headManifest('', 'v1') },
  ];
  it.each(cases)('$name', async ({ call, error }) => {
    const server = await serve((_req, res) => sendManifest(res, MANIFEST));
    const { client } = clientFor(server);
    await expect(call(client)).rejects.toBeInstanceOf(error ?? InvalidReferenceError);
    expect(server.requests).toHaveLength(0);
  });

  it.each(['registry.example.com/path', 'user@registry.example.com', 'registry.example.com?x', 'bad host'])('registry %j is refused', (registry) => {
    expect(() => new RegistryClient({ registry, limits: DEFAULT_LIMITS })).toThrow(InvalidReferenceError);
  });

  it.each([
    ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['localhost:5000', 'http://localhost:5000'],
    ['[::1]:5000', 'http://[::1]:5000'],
    ['registry.example.com', 'https://registry.example.com'],
    ['docker.io', 'https://registry-1.docker.io'],
  ])('registry %s is served from %s', (registry, origin) => {
    expect(new RegistryClient({ registry, limits: DEFAULT_LIMITS }).origin.origin).toBe(origin);
  });

  it('insecure: plain http for a non-loopback registry only when asked', () => {
    expect(new RegistryClient({ registry: 'registry.internal:5000', limits: DEFAULT_LIMITS, insecure: true }).origin.origin).toBe('http://registry.internal:5000');
  });
});
