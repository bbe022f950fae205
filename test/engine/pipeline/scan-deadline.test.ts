import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { ScanTimeoutError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import type { Digest } from '../../../lib/engine/model';
import type { ScanPorts } from '../../../lib/engine/pipeline/ports';
import { scanDigest } from '../../../lib/engine/pipeline/scan';
import { DEFAULT_POLICY } from '../../../lib/engine/policy/default-policy';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { MemoryVerdictStore } from '../../../lib/engine/verdicts/memory-store';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { type FakeServer, startFakeServer, trickle } from '../registry/fake-server';

/**
 * The pipeline's scan flow under its deadline (RELIABILITY.md 60): `scanDeadlineMs` (the Lambda's
 * remaining time less a margin, lambdas/scan-worker) bounds the whole scan. A registry trickling a
 * manifest or a blob ends the scan with ScanTimeoutError — the message is retried, nothing is
 * recorded, the claim is released — while the same registry at full speed is scanned and recorded.
 */

const image = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', body: 'hello\n' }] }] });
const layer = image.images[0].layers[0].descriptor;

describe('scanDigest under the pipeline deadline (RELIABILITY.md 60)', () => {
  let server: FakeServer;
  let slow: 'none' | 'manifest' | 'blob' = 'none';
  beforeAll(async () => {
    server = await startFakeServer((req, res) => {
      if (req.path.includes('/manifests/')) {
        if (slow === 'manifest') return trickle(res, image.root.bytes, 200, { 'Content-Length': String(image.root.bytes.length) });
        return res.writeHead(200, { 'Content-Type': image.root.mediaType }).end(image.root.bytes);
      }
      const digest = req.path.split('/').pop() as Digest;
      const bytes = image.blobs.get(digest);
      if (!bytes) return res.writeHead(404).end();
      if (slow === 'blob' && digest === layer.digest) return trickle(res, bytes, 200, { 'Content-Length': String(bytes.length) });
      return res.writeHead(200).end(bytes);
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  function ports(deadlineMs: number): { ports: ScanPorts; store: MemoryVerdictStore; released: string[] } {
    const store = new MemoryVerdictStore();
    const client = new RegistryClient({ registry: server.host, limits: DEFAULT_LIMITS });
    const released: string[] = [];
    return {
      store,
      released,
      ports: {
        store,
        advisories: { store: new MemoryAdvisoryStore(), schemes: SCHEMES, sources: [] },
        policy: DEFAULT_POLICY,
        registry: { client: () => client },
        limits: DEFAULT_LIMITS,
        claims: { claim: async () => true, release: async (key) => void released.push(key) },
        scanDeadlineMs: () => deadlineMs,
      },
    };
  }

  it.each([
    { name: 'a manifest trickled 1 byte / 200 ms', trickled: 'manifest' as const },
    { name: 'a layer blob trickled 1 byte / 200 ms', trickled: 'blob' as const },
  ])('$name: ScanTimeoutError, nothing recorded, the claim released', async ({ trickled }) => {
    slow = trickled;
    const p = ports(500);
    const err = await scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest }, p.ports).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanTimeoutError);
    expect(await p.store.get(image.root.digest)).toBeUndefined();
    expect(p.released).toEqual([`scan:${image.root.digest}`]);
  });

  it('a deadline already spent (no time left in the invocation) scans nothing', async () => {
    slow = 'none';
    const p = ports(0);
    await expect(scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest }, p.ports)).rejects.toBeInstanceOf(ScanTimeoutError);
    expect(await p.store.get(image.root.digest)).toBeUndefined();
  });

  it('the same registry at full speed: scanned and recorded within the deadline', async () => {
    slow = 'none';
    const p = ports(60_000);
    const out = await scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest }, p.ports);
    expect(out.status).toBe('scanned');
    expect(await p.store.get(image.root.digest)).toBeDefined();
  });
});
