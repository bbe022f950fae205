import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ScanTimeoutError, TransferTimeoutError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { type Descriptor, type Digest, MediaType, parseImageRef, sha256Digest } from '../../../lib/engine/model';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { startDeadline, withDeadline } from '../../../lib/engine/registry/deadline';
import type { ReadGuards } from '../../../lib/engine/registry/http';
import { RegistrySource } from '../../../lib/engine/registry/registry-source';
import type { ImageSource, ManifestBytes } from '../../../lib/engine/registry/source';
import { scanImage } from '../../../lib/engine/scan-image';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { MemorySource } from '../../helpers/memory-source';
import { type FakeServer, startFakeServer, trickle } from './fake-server';

/**
 * RELIABILITY.md 60: a registry that trickles cannot hold a scan. Real HTTP servers on 127.0.0.1
 * trickle manifests, blobs, token and error bodies; the client's per-read guards (idle timeout,
 * minimum rate over a window of waiting) and the scan's overall deadline must end every such read
 * with a named error — and never hurt a healthy server or a consumer that is merely slow. The
 * guards are set small (300 ms idle, a 1 s window) so the tests stay short; assertions are on the
 * error, never on time.
 */

const servers: FakeServer[] = [];
const deadlines: { clear(): void }[] = [];
afterEach(async () => {
  deadlines.splice(0).forEach((d) => d.clear());
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** Tight guards: nothing for 300 ms is idle; under 1 KiB/s over 1 s of waiting is too slow. */
const TIGHT: ReadGuards = { idleTimeoutMs: 300, minBytesPerSecond: 1024, rateWindowMs: 1000 };
/** Guards that never fire within a test: only the overall deadline can end a trickle. */
const LOOSE: ReadGuards = { idleTimeoutMs: 60_000, minBytesPerSecond: 0, rateWindowMs: 30_000 };

const image = buildImage({ layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/os-release', body: 'ID=test\nVERSION_ID=1\n' }] }] });
const manifest = image.images[0].manifest;
const config = image.images[0].config;
const layer = image.images[0].layers[0].descriptor;

/** A fake registry serving `image`; `slow` decides, per path, to trickle instead (every `everyMs`). */
async function registry(slow: (path: string) => boolean, everyMs: number, extra: (path: string, res: ServerResponse) => boolean = () => false): Promise<FakeServer> {
  const s = await startFakeServer((req, res) => {
    if (extra(req.path, res)) return;
    const digest = req.path.split('/').pop() as Digest;
    const doc = req.path.includes('/manifests/') ? manifest : undefined;
    const bytes = doc ? doc.bytes : image.blobs.get(digest);
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    const headers = { 'Content-Type': doc ? doc.mediaType : 'application/octet-stream', 'Content-Length': String(bytes.length) };
    if (slow(req.path)) trickle(res, bytes, everyMs, headers);
    else res.writeHead(200, headers).end(bytes);
  });
  servers.push(s);
  return s;
}

const clientOf = (s: FakeServer, readGuards: ReadGuards): RegistryClient =>
  new RegistryClient({ registry: s.host, limits: DEFAULT_LIMITS, readGuards, retries: { sleep: async () => undefined } });

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

const isManifest = (p: string): boolean => p.includes('/manifests/');
const isConfig = (p: string): boolean => p.endsWith(config.digest);
const isLayer = (p: string): boolean => p.endsWith(layer.digest);

describe('per-read guards: idle timeout and minimum rate (RELIABILITY.md 60)', () => {
  it.each([
    { name: 'a manifest trickled 1 byte / 2 s', slow: isManifest, everyMs: 2000, reason: 'idle' },
    { name: 'a manifest trickled 1 byte / 50 ms (never idle, far too slow)', slow: isManifest, everyMs: 50, reason: 'slow' },
    { name: 'a config trickled 1 byte / 50 ms', slow: isConfig, everyMs: 50, reason: 'slow' },
    { name: 'a blob trickled 1 byte / 2 s', slow: isLayer, everyMs: 2000, reason: 'idle' },
    { name: 'a blob trickled 1 byte / 50 ms (the old idle timer reset on every byte)', slow: isLayer, everyMs: 50, reason: 'slow' },
  ])('$name → TransferTimeoutError ($reason)', async ({ slow, everyMs, reason }) => {
    const s = await registry(slow, everyMs);
    const client = clientOf(s, TIGHT);
    const read = async (): Promise<unknown> => {
      const m = await client.getManifest('team/app', '1.0');
      expect(m.digest).toBe(manifest.digest);
      await drain(await client.openBlob('team/app', { digest: config.digest, size: config.bytes.length }));
      return drain(await client.openBlob('team/app', layer));
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferTimeoutError);
    expect((err as TransferTimeoutError).reason).toBe(reason);
    expect((err as Error).message).toContain(s.host);
  });

  it('a token response trickled 1 byte / 50 ms → TransferTimeoutError', async () => {
    const token = Buffer.from(JSON.stringify({ token: 'a-token-that-arrives-far-too-slowly', expires_in: 300 }));
    const s = await startFakeServer((req, res) => {
      if (req.path.startsWith('/token')) return trickle(res, token, 50, { 'Content-Type': 'application/json' });
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="test"` }).end();
    });
    servers.push(s);
    const err = await clientOf(s, TIGHT).getManifest('team/app', '1.0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferTimeoutError);
    expect((err as Error).message).toMatch(/token response/);
  });

  it('a healthy registry passes the same tight guards', async () => {
    const s = await registry(() => false, 0);
    const client = clientOf(s, TIGHT);
    expect((await client.getManifest('team/app', '1.0')).bytes).toEqual(manifest.bytes);
    expect(await drain(await client.openBlob('team/app', layer))).toEqual(image.blobs.get(layer.digest));
  });

  it('a consumer that stops reading for longer than the idle timeout and the window is not a slow registry', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    const desc = { digest: sha256Digest(big), size: big.length };
    const s = await startFakeServer((_req, res) => res.writeHead(200, { 'Content-Length': String(big.length) }).end(big));
    servers.push(s);
    const stream = await clientOf(s, TIGHT).openBlob('team/app', desc);
    let n = 0;
    for await (const c of stream as AsyncIterable<Buffer>) {
      // Backpressure: the scanner is busy for 1.5 s (idle is 300 ms, the window 1 s) after the first chunk.
      if (n === 0) await new Promise((r) => setTimeout(r, 1500));
      n += c.length;
    }
    expect(n).toBe(big.length);
  });
});

/** A deadline the test clears afterwards. */
function deadline(ms: number): ReturnType<typeof startDeadline> {
  const d = startDeadline(ms, `test ${ms}ms`);
  deadlines.push(d);
  return d;
}

describe('the overall deadline (RELIABILITY.md 60)', () => {
  it.each([
    { name: 'a manifest trickled 1 byte / 100 ms', slow: isManifest },
    { name: 'a blob trickled 1 byte / 100 ms', slow: isLayer },
  ])('$name, guards off → ScanTimeoutError', async ({ slow }) => {
    const s = await registry(slow, 100);
    const { signal } = deadline(400);
    const source = new RegistrySource(clientOf(s, LOOSE), parseImageRef(`${s.host}/team/app:1.0`), { signal });
    const err = await (async () => {
      await source.getRootManifest();
      await drain(await source.openBlob(layer));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanTimeoutError);
    expect((err as Error).message).toMatch(/deadline passed \(test 400ms\)/);
  });

  it('a registry that never answers is not retried past the deadline', async () => {
    const s = await startFakeServer(() => undefined);
    servers.push(s);
    const client = new RegistryClient({ registry: s.host, limits: DEFAULT_LIMITS, headersTimeoutMs: 60_000 });
    const err = await client.getManifest('team/app', '1.0', { signal: deadline(300).signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanTimeoutError);
  });

  it('a long Retry-After is cut short by the deadline', async () => {
    const s = await startFakeServer((_req, res) => res.writeHead(429, { 'Retry-After': '30' }).end());
    servers.push(s);
    // The real sleep: only the deadline can end the wait early.
    const client = new RegistryClient({ registry: s.host, limits: DEFAULT_LIMITS });
    const err = await client.getManifest('team/app', '1.0', { signal: deadline(300).signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanTimeoutError);
    expect(s.requests).toHaveLength(1);
  });

  it('an error body trickled after a 404 does not outlive the deadline', async () => {
    const s = await startFakeServer((_req, res) => trickle(res, Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"slowly"}]}'), 100, { 'Content-Type': 'application/json' }, 404));
    servers.push(s);
    const err = await clientOf(s, LOOSE).getManifest('team/app', '1.0', { signal: deadline(300).signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanTimeoutError);
  });

  it('withDeadline ends a blob that never ends, whatever the source (here in memory)', async () => {
    const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256Digest('never'), size: 1 << 30 };
    const endless: ImageSource = {
      name: 'endless',
      getRootManifest: () => new Promise<ManifestBytes>(() => undefined),
      getManifest: () => new Promise<ManifestBytes>(() => undefined),
      openBlob: async () => new Readable({ read() { setTimeout(() => this.push(Buffer.alloc(1)), 50); } }),
    };
    const d = deadline(300);
    const guarded = withDeadline(endless, d.signal);
    await expect(drain(await guarded.openBlob(desc))).rejects.toBeInstanceOf(ScanTimeoutError);
    await expect(guarded.getRootManifest()).rejects.toBeInstanceOf(ScanTimeoutError);
    expect(() => d.check()).toThrow(ScanTimeoutError);
  });

  it('before it passes, a scan through withDeadline is unchanged', async () => {
    const src = MemorySource.fromBuilt(image);
    const r = await scanImage(withDeadline(src, deadline(60_000).signal), { limits: DEFAULT_LIMITS });
    expect(r.digest).toBe(manifest.digest);
  });
});

describe('a trickling registry under scanImage: an error, never a verdict (RELIABILITY.md 60)', () => {
  // A gzip layer: the error must come through decompression and the tar reader unchanged — a
  // CompressionError or TarFormatError would be judged "unscannable" and recorded.
  const gz = buildImage({ layers: [{ compression: 'gzip', entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/os-release', body: 'ID=test\n'.repeat(2000) }] }] });
  it.each([
    { name: 'per-read guard', guards: TIGHT, deadlineMs: 60_000, error: TransferTimeoutError },
    { name: 'overall deadline', guards: LOOSE, deadlineMs: 400, error: ScanTimeoutError },
  ])('blob trickled mid-layer, $name → $error.name', async ({ guards, deadlineMs, error }) => {
    const blob = gz.blobs.get(gz.images[0].layers[0].descriptor.digest)!;
    const s = await startFakeServer((req, res) => {
      const digest = req.path.split('/').pop() as Digest;
      if (req.path.includes('/manifests/')) return res.writeHead(200, { 'Content-Type': gz.root.mediaType }).end(gz.root.bytes);
      const bytes = gz.blobs.get(digest);
      if (!bytes) return res.writeHead(404).end();
      if (bytes !== blob) return res.writeHead(200).end(bytes);
      // Half the layer at once, then a trickle.
      res.writeHead(200, { 'Content-Length': String(bytes.length) });
      res.write(bytes.subarray(0, bytes.length >> 1));
      const rest = bytes.subarray(bytes.length >> 1);
      let i = 0;
      const t = setInterval(() => (i < rest.length && !res.destroyed ? res.write(rest.subarray(i, ++i)) : clearInterval(t)), 50);
      res.on('close', () => clearInterval(t));
    });
    servers.push(s);
    const d = deadline(deadlineMs);
    const source = withDeadline(new RegistrySource(clientOf(s, guards), parseImageRef(`${s.host}/team/app:1.0`), { signal: d.signal }), d.signal);
    await expect(scanImage(source, { limits: DEFAULT_LIMITS })).rejects.toBeInstanceOf(error);
  });
});
