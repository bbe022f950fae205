/**
 * A deadline hit, end to end on the local pipeline (issue 15 item 5 and its "Done when"): the Lambda
 * handlers of lambdas/ driven as Lambda drives them (lib/local/pipeline/runner.ts) against DynamoDB
 * Local, fauxqs and Debian's docker-registry behind a proxy that trickles one image's layer, so every
 * scan of it runs out of the (tiny) scan deadline. Its message comes back after the retry delay — the
 * queues' own visibility timeout is 600 s, far beyond the test's wait — and on the last attempt the
 * digest is recorded as quarantined, `unscannable` (SCAN_TIMEOUT): nothing in the DLQ, the scan claim
 * released, the fan-out tags it like any quarantine; an image pushed meanwhile is scanned and trusted.
 */
import { type IncomingMessage, request, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Digest } from '../../../lib/engine/model';
import { trustTagFor } from '../../../lib/engine/registry/trust-tags';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { pushImage } from '../../../lib/local/builder/push';
import { useLocalPipeline } from '../../helpers/local-pipeline';
import { ECR_HOST, pushEvent, REPO } from '../../engine/pipeline/helpers/fixtures';
import { trickle } from '../../engine/registry/fake-server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** 8 KiB trickled at 10 bytes a second: never within the 4 s deadline. */
const slow = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'opt/', type: 'dir' }, { path: 'opt/huge.bin', body: 'z'.repeat(8192) }] }] });
const fast = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', body: 'fast\n' }] }] });
const slowLayer = slow.images[0].layers[0].descriptor.digest;
const SCAN_ATTEMPTS = 3;

/** A pass-through to the registry that trickles one blob (1 byte / 100 ms), counting its GETs. */
async function startTrickleProxy(target: string, blob: string): Promise<{ host: string; slowGets: () => number; stop: () => Promise<void> }> {
  const [host, port] = target.split(':');
  let slowGets = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const trickled = req.method === 'GET' && (req.url ?? '').split('?')[0].endsWith(`/blobs/${blob}`);
    if (trickled) slowGets++;
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (r) => {
      if (!trickled || r.statusCode !== 200) {
        res.writeHead(r.statusCode ?? 502, r.headers);
        return void r.pipe(res);
      }
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const body = Buffer.concat(chunks);
        trickle(res, body, 100, { 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' });
      });
    });
    up.on('error', () => (res.headersSent ? res.end() : res.writeHead(502).end()));
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    slowGets: () => slowGets,
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('the local pipeline: a scan that never fits its deadline ends as an unscannable verdict', () => {
  let proxy: Awaited<ReturnType<typeof startTrickleProxy>>;
  const errors: string[] = [];
  const d = (i: typeof slow): Digest => i.root.digest;

  const world = useLocalPipeline({
    dirPrefix: 'trustctl-local-deadline-',
    async prepare({ registry, direct, onStop }) {
      proxy = await startTrickleProxy(registry.host, slowLayer);
      onStop(() => proxy.stop());
      await pushImage(direct, REPO, 'huge', slow);
      await pushImage(direct, REPO, 'small', fast);
      return {
        registryOverrides: new Map([[ECR_HOST, proxy.host]]), prefix: 'deadline',
        // 600 s: a message seen again within this test came back by the retry delay, not the queue's timeout.
        visibilityTimeoutSeconds: 600, maxReceiveCount: 5, scanConcurrency: 2,
        scanDeadlineMs: 4000,
        scanRetries: { baseDelaySeconds: 1, maxDelaySeconds: 2, maxScanAttempts: SCAN_ATTEMPTS },
        onError: (where, e) => errors.push(`${where}: ${(e as Error).message}`),
      };
    },
  });

  it('the slow image: retried after the backoff, then quarantined as unscannable on its last attempt; the fast one trusted; nothing in the DLQ, the claim released, the quarantine tagged', async () => {
    await world.pipeline.pushEvent(pushEvent(d(slow), REPO, 'huge'));
    await world.pipeline.pushEvent(pushEvent(d(fast), REPO, 'small'));
    await world.pipeline.until(async () => Boolean(await world.store.get(d(slow))) && Boolean(await world.store.get(d(fast))) && (await world.depth(world.pipeline.queues.scan)) === 0, 90_000);

    // The attempts ran out of time reading the trickled layer (on a loaded machine one may run out
    // even before reaching it — a deadline all the same); the last one recorded the verdict.
    expect(proxy.slowGets()).toBeGreaterThanOrEqual(1);
    expect(proxy.slowGets()).toBeLessThanOrEqual(SCAN_ATTEMPTS);
    const v = await world.store.get(d(slow));
    expect(v).toMatchObject({ status: 'quarantined', revision: 1, ref: `${ECR_HOST}/${REPO}:huge@${d(slow)}` });
    expect(v!.reasons).toEqual([expect.objectContaining({ rule: 'unscannable', message: expect.stringMatching(new RegExp(`^SCAN_TIMEOUT: the scan did not finish within .*attempt ${SCAN_ATTEMPTS} of ${SCAN_ATTEMPTS}`)) })]);
    expect(await world.store.get(d(fast))).toMatchObject({ status: 'trusted', revision: 1 });

    expect(await world.depth(world.pipeline.queues.scanDlq)).toBe(0);
    const claim = await world.dynamodb.send(new GetItemCommand({ TableName: world.pipeline.tables.verdicts, Key: { pk: { S: `CLAIM#scan:${d(slow)}` }, sk: { S: 'LEASE' } } }));
    expect(claim.Item).toBeUndefined();
    // Two failed invocations (the deadlines before the last attempt), reported as partial batch failures.
    expect(world.pipeline.sources.scan.stats.failed).toBe(SCAN_ATTEMPTS - 1);

    // The fan-out treats it as any quarantine: the registry's trust tag names the digest.
    await world.pipeline.until(async () => (await world.direct.headManifest(REPO, trustTagFor('quarantined', d(slow))))?.digest === d(slow), 30_000);
    expect(errors.filter((e) => !/scan-worker/.test(e))).toEqual([]);
  }, 180_000);
});
