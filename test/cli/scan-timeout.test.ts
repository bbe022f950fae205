import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../lib/engine/model';
import { buildImage } from '../../lib/local/builder/image-builder';
import { trustctl } from '../helpers/cli';
import { type FakeServer, startFakeServer, trickle } from '../engine/registry/fake-server';

/**
 * `trustctl scan --timeout` against a registry on 127.0.0.1 that trickles (RELIABILITY.md 60): the
 * scan ends at the deadline with exit 2 and a SCAN_TIMEOUT message, prints no report and records no
 * verdict — so `verify` finds nothing to admit. The same registry answering at full speed is scanned
 * and recorded, so the test fails if the deadline were simply ignored or always hit.
 */

const image = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', body: 'hello\n' }] }] });
const layer = image.images[0].layers[0].descriptor;

describe('trustctl scan --timeout (RELIABILITY.md 60)', () => {
  let dir: string;
  let server: FakeServer;
  /** What the registry trickles right now: nothing, the manifest or the layer blob. */
  let slow: 'none' | 'manifest' | 'blob' = 'none';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-scan-timeout-'));
    server = await startFakeServer((req, res) => {
      if (req.path.includes('/manifests/')) {
        if (slow === 'manifest') return trickle(res, image.root.bytes, 2000, { 'Content-Type': image.root.mediaType, 'Content-Length': String(image.root.bytes.length) });
        return res.writeHead(200, { 'Content-Type': image.root.mediaType }).end(image.root.bytes);
      }
      const digest = req.path.split('/').pop() as Digest;
      const bytes = image.blobs.get(digest);
      if (!bytes) return res.writeHead(404).end();
      if (slow === 'blob' && digest === layer.digest) return trickle(res, bytes, 1000, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) });
      return res.writeHead(200).end(bytes);
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const scan = (verdicts: string, ...extra: string[]) => trustctl('scan', `${server.host}/team/app:1.0`, '--no-cache', '--no-progress', '--verdict-dir', join(dir, verdicts), ...extra);

  it.each([
    { name: 'a manifest trickled 1 byte / 2 s', trickled: 'manifest' as const },
    { name: 'a layer blob trickled 1 byte / s', trickled: 'blob' as const },
  ])('$name: exit 2 at the deadline, no report, no verdict', async ({ trickled }) => {
    slow = trickled;
    const verdicts = `verdicts-${trickled}`;
    const r = await scan(verdicts, '--timeout', '1500ms');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SCAN_TIMEOUT: the scan's deadline passed \(--timeout 1s500ms\)/);
    expect(r.out).toBe('');
    expect(existsSync(join(dir, verdicts)) ? readdirSync(join(dir, verdicts)) : []).toEqual([]);
    const v = await trustctl('verify', `${server.host}/team/app@${image.root.digest}`, '--verdict-dir', join(dir, verdicts));
    expect(v.code).not.toBe(0);
  });

  it('the same registry at full speed: scanned and recorded within the default timeout', async () => {
    slow = 'none';
    const r = await scan('verdicts-fast');
    expect(r.err).toContain(`recorded ${image.root.digest}`);
    expect([0, 1]).toContain(r.code);
  });

  it.each(['0s', 'soon', '10'])('--timeout %s is refused (exit 2)', async (value) => {
    slow = 'none';
    const r = await scan('verdicts-bad', '--timeout', value);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/timeout|duration/i);
  });
});
