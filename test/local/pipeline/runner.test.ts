/**
 * The whole serverless pipeline, end to end, on real local parts: the Lambda handlers of lambdas/
 * driven as Lambda drives them (lib/local/pipeline/runner.ts) against DynamoDB Local (tables, verdict
 * stream), fauxqs (queues with DLQs), Debian's docker-registry standing in for ECR, and a Slack
 * stand-in. Push → verdict → tag → notification; a feed change → targeted rescan → verdict change →
 * new trust tag, the stale one removed by tag only;
 * and the fault cases of RELIABILITY.md 24, 27, 31 and 34 — duplicate events, a worker that dies
 * mid-batch, DynamoDB throttling and 5xx and registry 503s on the wire — with 0 lost scans and 0
 * duplicate verdict writes.
 */
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Digest } from '../../../lib/engine/model';
import { trustTagFor } from '../../../lib/engine/registry/trust-tags';
import type { BuiltImage } from '../../../lib/local/builder/image-builder';
import { pushImage } from '../../../lib/local/builder/push';
import { useLocalPipeline } from '../../helpers/local-pipeline';
import { mulberry32 } from '../../helpers/prng';
import { arrivalEvent, attestationManifest, BASE_RECORDS, corpusOsv, crateImage, ECR_HOST, pushEvent, REPO, revised, testImages, writeCratesFeed } from '../../engine/pipeline/helpers/fixtures';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const REGEX_ADVISORY = 'crates.io/RUSTSEC-2022-0013.json';
/** smallvec 0.6.10: critical, fixed in 0.6.14 — in the feed from the start, so that push quarantines. */
const SMALLVEC_ADVISORY = 'crates.io/RUSTSEC-2021-0003.json';

/**
 * An HTTP pass-through that answers some requests itself — a fault on the wire, as the service would
 * send it — and counts what it forwarded.
 */
interface FaultProxy {
  readonly endpoint: string;
  readonly host: string;
  /** Faults injected so far, by kind. */
  readonly injected: Map<string, number>;
  /** Decides per request: undefined forwards it, else `[kind, status, headers, body]` is answered. */
  fault: (req: IncomingMessage, n: number) => [string, number, Record<string, string>, string] | undefined;
  readonly counts: { requests: number; blobGets: number };
  stop(): Promise<void>;
}

async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [host, port] = target.split(':');
  const p: FaultProxy = {
    endpoint: '', host: '', injected: new Map(), fault: () => undefined, counts: { requests: 0, blobGets: 0 },
    stop: async () => undefined,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = ++p.counts.requests;
    const f = p.fault(req, n);
    if (f) {
      p.injected.set(f[0], (p.injected.get(f[0]) ?? 0) + 1);
      req.resume();
      res.writeHead(f[1], f[2]).end(f[3]);
      return;
    }
    if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) p.counts.blobGets++;
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.headersSent ? res.end() : res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(p, { endpoint: `http://${addr}`, host: addr, stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  return p;
}

/** DynamoDB's own throttling and 5xx answers (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html). */
const THROTTLE: [string, number, Record<string, string>, string] = ['ddb-throttle', 400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' }, JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded.' })];
const DDB_500: [string, number, Record<string, string>, string] = ['ddb-500', 500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' }, JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' })];
const REGISTRY_503: [string, number, Record<string, string>, string] = ['registry-503', 503, { 'content-type': 'application/json' }, JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable' }] })];

describe('the local pipeline, end to end (lambdas/ on DynamoDB Local, fauxqs, docker-registry, Slack stand-in)', () => {
  let ddbProxy: FaultProxy;
  let registryProxy: FaultProxy;
  const images = testImages();
  const errors: string[] = [];
  let crashes = 0;
  const d = (i: BuiltImage) => i.root.digest as Digest;

  const world = useLocalPipeline({
    dirPrefix: 'trustctl-local-pipeline-',
    slack: true,
    async prepare({ ddb, registry, slack, direct, dir, onStop }) {
      ddbProxy = await startFaultProxy(new URL(ddb.endpoint).host);
      onStop(() => ddbProxy.stop());
      registryProxy = await startFaultProxy(registry.host);
      onStop(() => registryProxy.stop());
      for (const [img, tag] of [[images.regex, 'regex'], [images.smallvec, 'smallvec'], [images.index, 'multi']] as const) await pushImage(direct, REPO, tag, img);
      const feed = writeCratesFeed(dir, [...BASE_RECORDS, SMALLVEC_ADVISORY].map(corpusOsv));
      return {
        dynamodbEndpoint: ddbProxy.endpoint,
        registryOverrides: new Map([[ECR_HOST, registryProxy.host]]),
        feeds: [feed], slackWebhookUrl: slack.webhookUrl, prefix: 'e2e',
        visibilityTimeoutSeconds: 2, maxReceiveCount: 5, scanConcurrency: 2,
        onError: (where, e) => errors.push(`${where}: ${(e as Error).message}`),
        // A worker that dies mid-batch (RELIABILITY.md 27): the first invocation does its work, then the
        // process "crashes" before Lambda can delete the message — so SQS delivers it again.
        wrapScanWorker: (h) => async (e) => {
          const out = await h(e);
          if (crashes++ === 0) throw new Error('worker crashed after handling its batch');
          return out;
        },
      };
    },
  });
  beforeAll(() => world.pipeline.feedSync(), 180_000);

  it('push → verdict → tag → Slack, under throttling, 5xx, a crashed worker and duplicate events: 0 lost scans, 0 duplicate verdict writes', async () => {
    // Faults on the wire from now on (RELIABILITY.md 31): a quarter of all DynamoDB requests throttled
    // and one in 14 a 500, drawn independently per request (a fixed pattern would lock concurrent
    // callers into always drawing the fault); every 4th blob GET a 503 from the registry. (At 50% the
    // SDK's own retry quota runs dry and recovery rests on SQS redelivery after visibility timeouts:
    // nothing is lost either, but it takes minutes — too long for the suite.)
    const random = mulberry32(20261129);
    ddbProxy.fault = () => {
      const x = random();
      return x < 0.25 ? THROTTLE : x < 0.25 + 1 / 14 ? DDB_500 : undefined;
    };
    registryProxy.fault = (req, n) => (req.method === 'GET' && /\/blobs\//.test(req.url ?? '') && n % 4 === 0 ? REGISTRY_503 : undefined);
    const pushed = [[images.regex, 'regex'], [images.smallvec, 'smallvec'], [images.index, 'multi']] as const;
    // Every event delivered 4 times, at once (EventBridge and SQS are at least once: RELIABILITY.md 24).
    await Promise.all(pushed.flatMap(([img, tag]) => Array.from({ length: 4 }, () => world.pipeline.pushEvent(pushEvent(d(img), REPO, tag)))));
    const all = [images.regex, images.smallvec, images.index, images.amd, images.arm];
    await world.pipeline.until(async () => (await Promise.all(all.map((i) => world.store.get(d(i))))).every(Boolean) && (await world.depth(world.pipeline.queues.scan)) === 0, Number(process.env.E2E_WAIT ?? 240_000));
    expect(ddbProxy.injected.get('ddb-throttle')).toBeGreaterThan(0);
    expect(ddbProxy.injected.get('ddb-500')).toBeGreaterThan(0);
    expect(registryProxy.injected.get('registry-503')).toBeGreaterThan(0);
    expect(crashes).toBeGreaterThan(1);
    // 0 lost scans: every pushed digest (and the index's platforms) has its verdict; nothing in the DLQ.
    expect(await world.depth(world.pipeline.queues.scanDlq)).toBe(0);
    // 0 duplicate verdict writes: one revision each, despite duplicates, retries and the crash.
    for (const img of all) expect((await world.store.history(d(img))).map((v) => v.revision)).toEqual([1]);
    // smallvec 0.6.10 is quarantined on push; the others are trusted (no advisory names regex yet).
    expect((await world.store.get(d(images.smallvec)))!.status).toBe('quarantined');
    for (const img of [images.regex, images.index]) expect((await world.store.get(d(img)))!.status).toBe('trusted');
    ddbProxy.fault = () => undefined;
    registryProxy.fault = () => undefined;
    // Fan-out: the tag of each pushed digest on the registry; Slack hears of the quarantine once
    // (a trusted first verdict is not news), however often the event and the stream record came.
    for (const [img] of pushed) {
      const v = (await world.store.get(d(img)))!;
      await world.pipeline.until(async () => (await world.direct.headManifest(REPO, trustTagFor(v.status, d(img))))?.digest === d(img), 60_000);
    }
    await world.pipeline.until(() => world.slack.posts.length >= 1, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(world.slack.posts.map((p) => JSON.stringify(p)).filter((t) => t.includes(`\\n\`${d(images.smallvec)}\``))).toHaveLength(1);
    expect(world.slack.posts).toHaveLength(1);
    expect(JSON.stringify(world.slack.posts[0])).toMatch(/smallvec/);
  }, 360_000);

  it('a feed change → targeted rescan of exactly the digests with the package → verdict change → tag and one Slack message, no layer downloaded', async () => {
    const blobGets = registryProxy.counts.blobGets;
    const posts = world.slack.posts.length;
    // Deleting a tag alone (distribution-spec "Deleting tags",
    // https://github.com/opencontainers/distribution-spec/blob/main/spec.md#deleting-tags) is what ECR's
    // BatchDeleteImage by tag and distribution v3 do; Debian's docker-registry (distribution 2.8) refuses
    // it. The proxy answers it as distribution v3's tag store does (`Untag` removes the tag's directory
    // from the registry's storage), so the flip's stale-tag removal runs against the registry's own data.
    const untagged: string[] = [];
    registryProxy.fault = (req) => {
      const m = req.method === 'DELETE' ? /^\/v2\/(.+)\/manifests\/([\w][\w.-]{0,127})$/.exec(req.url ?? '') : null;
      if (!m) return undefined;
      rmSync(join(world.registry.dir, 'data', 'docker', 'registry', 'v2', 'repositories', m[1], '_manifests', 'tags', m[2]), { recursive: true });
      untagged.push(`${m[1]}:${m[2]}`);
      return ['tag-delete', 202, {}, ''];
    };
    writeCratesFeed(world.dir, [...[...BASE_RECORDS, SMALLVEC_ADVISORY].map(corpusOsv), revised(REGEX_ADVISORY, '2026-11-01T00:00:00Z')]);
    const summary = (await world.pipeline.feedSync()) as { enqueued: number; changedRecords: number };
    expect(summary).toMatchObject({ changedRecords: 1, enqueued: 3 });
    const hit = [images.regex, images.amd, images.index];
    await world.pipeline.until(async () => (await Promise.all(hit.map((i) => world.store.get(d(i))))).every((v) => v?.status === 'quarantined'), 90_000);
    for (const img of hit) expect(await world.store.get(d(img))).toMatchObject({ status: 'quarantined', revision: 2 });
    // Not affected: not re-evaluated.
    for (const img of [images.smallvec, images.arm]) expect(await world.store.get(d(img))).toMatchObject({ revision: 1 });
    expect(await world.store.get(d(images.smallvec))).toMatchObject({ status: 'quarantined' });
    expect(registryProxy.counts.blobGets).toBe(blobGets);
    // The transitions reach the registry and Slack, once each.
    // Only the pushed digests are tagged, never a platform manifest of the index.
    for (const img of [images.regex, images.index]) {
      await world.pipeline.until(async () => (await world.direct.headManifest(REPO, trustTagFor('quarantined', d(img))))?.digest === d(img), 60_000);
    }
    for (const status of ['trusted', 'quarantined'] as const) expect(await world.direct.headManifest(REPO, trustTagFor(status, d(images.amd)))).toBeUndefined();
    await world.pipeline.until(() => world.slack.posts.length >= posts + hit.length, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const texts = world.slack.posts.slice(posts).map((p) => JSON.stringify(p));
    expect(texts).toHaveLength(hit.length);
    // One message per digest (its Digest field; a platform's image ref names the index it came in).
    for (const img of hit) expect(texts.filter((t) => t.includes(`\\n\`${d(img)}\``))).toHaveLength(1);
    expect(texts.join(' ')).toContain('CVE-2022-24713');
    // The stream delivered the same verdicts again (nothing new): still one message per transition.
    expect(errors.filter((e) => /on-failure/.test(e))).toEqual([]);
    // The flip removed the stale `trust-trusted-…` tag of each pushed digest — by tag only: the image,
    // its push tag and its new trust tag stay.
    for (const img of [images.regex, images.index]) {
      await world.pipeline.until(async () => (await world.direct.headManifest(REPO, trustTagFor('trusted', d(img)))) === undefined, 60_000);
      expect((await world.direct.headManifest(REPO, d(img)))?.digest).toBe(d(img));
      expect((await world.direct.headManifest(REPO, trustTagFor('quarantined', d(img))))?.digest).toBe(d(img));
    }
    expect((await world.direct.headManifest(REPO, 'regex'))?.digest).toBe(d(images.regex));
    expect(untagged.sort()).toEqual([images.regex, images.index].map((i) => `${REPO}:${trustTagFor('trusted', d(i))}`).sort());
    registryProxy.fault = () => undefined;
  }, 180_000);

  it('a pull through cache sync and a replication (events shaped as the AWS event schemas) are scanned; an attestation manifest pushed alone gets no verdict and no DLQ entry', async () => {
    const cached = crateImage([['serde', '1.0.197']], 'amd64', 'e2e pull through cache');
    const replica = crateImage([['serde', '1.0.197'], ['chrono', '0.4.38']], 'amd64', 'e2e replica');
    const att = attestationManifest(d(images.regex));
    await pushImage(world.direct, 'docker-hub/alpine', '3.17.2', cached);
    await pushImage(world.direct, 'docker/repository', 'latest', replica);
    await pushImage(world.direct, REPO, 'attestation-alone', att);
    await world.pipeline.pushEvent(arrivalEvent('pull-through-cache', d(cached)));
    await world.pipeline.pushEvent(arrivalEvent('replication', d(replica)));
    await world.pipeline.pushEvent(pushEvent(att.root.digest, REPO, 'attestation-alone'));
    await world.pipeline.until(async () => Boolean(await world.store.get(d(cached))) && Boolean(await world.store.get(d(replica))) && (await world.depth(world.pipeline.queues.scan)) === 0, 120_000);
    expect(await world.store.get(d(cached))).toMatchObject({ status: 'trusted', ref: `${ECR_HOST}/docker-hub/alpine:3.17.2@${d(cached)}` });
    expect(await world.store.get(d(replica))).toMatchObject({ ref: `${ECR_HOST}/docker/repository:latest@${d(replica)}` });
    expect(await world.store.get(att.root.digest)).toBeUndefined();
    expect(await world.depth(world.pipeline.queues.scanDlq)).toBe(0);
  }, 180_000);
});
