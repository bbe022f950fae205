import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { ScanTimeoutError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import type { Digest } from '../../../lib/engine/model';
import type { ScanPorts } from '../../../lib/engine/pipeline/ports';
import type { Delivery } from '../../../lib/engine/pipeline/retries';
import { nightly } from '../../../lib/engine/pipeline/nightly';
import type { RescanMessage } from '../../../lib/engine/pipeline/messages';
import { reevaluate } from '../../../lib/engine/pipeline/rescan';
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
 * On the message's last attempt (issue 15 item 5) the deadline is an answer instead: the digest is
 * recorded as quarantined, `unscannable` with code SCAN_TIMEOUT; any other failure still only fails.
 */

const image = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', body: 'hello\n' }] }] });
const layer = image.images[0].layers[0].descriptor;

describe('scanDigest under the pipeline deadline (RELIABILITY.md 60)', () => {
  let server: FakeServer;
  let slow: 'none' | 'manifest' | 'blob' | 'blob-503' = 'none';
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
      if (slow === 'blob-503' && digest === layer.digest) return res.writeHead(503).end();
      return res.writeHead(200).end(bytes);
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  function ports(deadlineMs: number, delivery?: Delivery): { ports: ScanPorts; store: MemoryVerdictStore; released: string[] } {
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
        ...(delivery ? { delivery } : {}),
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

  it.each([
    { name: 'receive 1 of 4', delivery: { receiveCount: 1 } },
    { name: 'receive 3 of 4', delivery: { receiveCount: 3, firstReceivedAt: Date.now() - 86_400_000 } },
  ])('a deadline on $name: still only a failure (the message is retried)', async ({ delivery }) => {
    slow = 'blob';
    const p = ports(500, delivery);
    await expect(scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest }, p.ports)).rejects.toBeInstanceOf(ScanTimeoutError);
    expect(await p.store.get(image.root.digest)).toBeUndefined();
    expect(p.released).toEqual([`scan:${image.root.digest}`]);
  });

  it.each([
    { name: 'receive 4 of 4', delivery: { receiveCount: 4 }, retries: undefined, why: /attempt 4 of 4/ },
    { name: 'receive 2, an hour after the first (maxScanTimeMs 1 h)', delivery: { receiveCount: 2, firstReceivedAt: Date.now() - 3_600_000 }, retries: { baseDelaySeconds: 30, maxDelaySeconds: 900, maxScanAttempts: 4, maxScanTimeMs: 3_600_000 }, why: /since the first attempt/ },
  ])('a deadline on the last attempt ($name): recorded as quarantined, unscannable SCAN_TIMEOUT; the claim released', async ({ delivery, retries, why }) => {
    slow = 'blob';
    const p = ports(500, delivery);
    const out = await scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest, tag: 'v1' }, { ...p.ports, ...(retries ? { retries } : {}) });
    expect(out).toMatchObject({ status: 'unscannable', digest: image.root.digest, verdict: 'quarantined', reason: expect.stringMatching(why) });
    const v = await p.store.get(image.root.digest);
    expect(v).toMatchObject({ status: 'quarantined', ref: `${server.host}/team/app:v1@${image.root.digest}` });
    expect(v!.reasons).toEqual([expect.objectContaining({ rule: 'unscannable', message: expect.stringMatching(/^SCAN_TIMEOUT: the scan did not finish within the pipeline's scan deadline .*given up/) })]);
    // No inventory: a re-evaluation leaves the verdict as it is (reevaluate.ts `no-inventory`).
    expect(await p.store.getInventory(image.root.digest)).toBeUndefined();
    expect(p.released).toEqual([`scan:${image.root.digest}`]);

    // The nightly sweep lists the image but enqueues no scan (it has a verdict); its re-evaluation leaves the verdict as it is.
    const sent: RescanMessage[] = [];
    const report = await nightly({
      store: p.store, queue: { send: async (m) => void sent.push(...m) }, liveWindowDays: 30,
      catalog: {
        repositories: async function* () { yield { registry: server.host, repository: 'team/app' }; },
        images: async function* () { yield { digest: image.root.digest, tags: ['v1'], pushedAt: new Date() }; },
      },
    });
    expect(report.scan).toBe(0);
    expect(sent.map((m) => m.kind)).toEqual(['reevaluate']);
    expect(await reevaluate(sent[0], p.ports)).toMatchObject({ status: 'no-inventory' });
    expect(await p.store.history(image.root.digest)).toHaveLength(1);
    // The same message delivered again with the same feeds: answered, not scanned for ever.
    expect(await scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest }, p.ports)).toMatchObject({ status: 'duplicate' });
    // After a feed change a push of the digest scans it again — here at full speed.
    slow = 'none';
    const advisories = new MemoryAdvisoryStore();
    await advisories.putFeedState('osv:crates.io', { syncedAt: new Date(Date.now() + 1000).toISOString(), records: 0, status: 'complete', ecosystems: ['crates.io'] });
    const again = await scanDigest(
      { registry: server.host, repository: 'team/app', digest: image.root.digest, requestedAt: new Date(Date.now() + 1000).toISOString() },
      { ...p.ports, advisories: { store: advisories, schemes: SCHEMES, sources: ['osv:crates.io'] }, scanDeadlineMs: () => 60_000 },
    );
    expect(again).toMatchObject({ status: 'scanned' });
    expect((await p.store.get(image.root.digest))!.reasons.map((r) => r.rule)).not.toContain('unscannable');
  });

  it('a registry error (503) on the last attempt is no deadline: it fails, nothing recorded (RELIABILITY.md 18)', async () => {
    slow = 'blob-503';
    const p = ports(60_000, { receiveCount: 4 });
    const err = await scanDigest({ registry: server.host, repository: 'team/app', digest: image.root.digest }, p.ports).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ScanTimeoutError);
    expect(await p.store.get(image.root.digest)).toBeUndefined();
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
