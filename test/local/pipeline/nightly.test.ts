/**
 * The nightly run end to end on the local pipeline (issue 15 items 2 and 4): the Lambda handlers of
 * lambdas/ driven as Lambda drives them (lib/local/pipeline/runner.ts) against DynamoDB Local, fauxqs
 * and Debian's docker-registry standing in for ECR. Images are pushed to `team/a`, `team/b` and
 * `other/c` WITHOUT push events; the pipeline sweeps `team/*` (the README's prefix) through the
 * registry's catalog, and:
 * - exactly the team/a and team/b images get verdicts, through the rescan queue (never the push queue);
 *   other/c gets none;
 * - with a cap of 1 each run enqueues one scan and reports the rest as deferred; the next runs
 *   continue until every image has its verdict;
 * - a digest admission looked up (the trust-api handler with RECORD_SIGHTINGS=true) is live and
 *   re-evaluated; the others, which the registry gives no push or pull time for, are not.
 */
import type { LambdaFunctionURLEvent, SQSEvent } from 'aws-lambda';
import type { Digest } from '../../../lib/engine/model';
import type { NightlyReport } from '../../../lib/engine/pipeline/nightly';
import type { BuiltImage } from '../../../lib/local/builder/image-builder';
import { pushImage } from '../../../lib/local/builder/push';
import { useLocalPipeline } from '../../helpers/local-pipeline';
import { podReview } from '../../admission/fixtures';
import { BASE_RECORDS, corpusOsv, crateImage, ECR_HOST, writeCratesFeed } from '../../engine/pipeline/helpers/fixtures';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const WAIT = Number(process.env.E2E_WAIT ?? 120_000);

describe('nightly on the local pipeline: a prefix sweep through the rescan queue, bounded per run', () => {
  /** Every record the scan-worker handled: the queue it came from and its message. */
  const handled: { queue: string; kind: string; digest?: string }[] = [];
  const errors: string[] = [];
  const d = (i: BuiltImage): Digest => i.root.digest;
  const img = (name: string): BuiltImage => crateImage([['serde', '1.0.197']], 'amd64', name);
  const a1 = img('team/a 1');
  const b1 = img('team/b 1');
  const c1 = img('other/c 1');
  const later = [img('team/a 2'), img('team/a 3'), img('team/b 2')];

  const world = useLocalPipeline({
    dirPrefix: 'trustctl-local-nightly-',
    async prepare({ registry, direct, dir }) {
      // Pushed to the registry only: no "ECR Image Action" event ever reaches the pipeline.
      await pushImage(direct, 'team/a', '1', a1);
      await pushImage(direct, 'team/b', '1', b1);
      await pushImage(direct, 'other/c', '1', c1);
      const feed = writeCratesFeed(dir, BASE_RECORDS.map(corpusOsv));
      return {
        registryOverrides: new Map([[ECR_HOST, registry.host]]),
        repositories: ['team/*'], feeds: [feed], prefix: 'nightly-e2e', visibilityTimeoutSeconds: 5,
        onError: (where, e) => errors.push(`${where}: ${(e as Error).message}`),
        wrapScanWorker: (h) => async (e: SQSEvent) => {
          for (const r of e.Records) {
            const m = JSON.parse(r.body) as { kind?: string; digest?: string; detail?: { 'image-digest'?: string } };
            handled.push({ queue: r.eventSourceARN.split(':').pop()!, kind: m.kind ?? 'event', digest: m.digest ?? m.detail?.['image-digest'] });
          }
          return h(e);
        },
      };
    },
  });
  beforeAll(() => world.pipeline.feedSync(), 180_000);

  const drained = async (): Promise<boolean> => (await world.depth(world.pipeline.queues.rescan)) === 0 && (await world.depth(world.pipeline.queues.scan)) === 0;
  const hasVerdict = async (i: BuiltImage): Promise<boolean> => (await world.store.get(d(i))) !== undefined;
  const rescanQueueName = (): string => world.pipeline.queues.rescan.split('/').pop()!;

  it('sweeps team/* only: exactly the team/a and team/b images get verdicts, through the rescan queue; other/c none', async () => {
    const report = (await world.pipeline.nightly()) as NightlyReport;
    expect(report).toMatchObject({
      verdicts: 0, reevaluate: 0, scan: 2, scanDeferred: 0, scanSkippedNotLive: 0, maxSweepScans: 500,
      swept: { repositories: 2, images: 2, failedRepositories: 0 },
    });
    await world.pipeline.until(async () => (await hasVerdict(a1)) && (await hasVerdict(b1)) && (await drained()), WAIT);
    expect(await world.store.get(d(a1))).toMatchObject({ status: 'trusted', revision: 1, ref: `${ECR_HOST}/team/a@${d(a1)}` });
    expect(await world.store.get(d(b1))).toMatchObject({ status: 'trusted', revision: 1, ref: `${ECR_HOST}/team/b@${d(b1)}` });
    expect(await world.store.get(d(c1))).toBeUndefined();
    expect(handled).toEqual(expect.arrayContaining([
      { queue: rescanQueueName(), kind: 'scan', digest: d(a1) },
      { queue: rescanQueueName(), kind: 'scan', digest: d(b1) },
    ]));
    // Nothing came through the push queue.
    expect(handled.every((h) => h.queue === rescanQueueName())).toBe(true);
    expect(await world.depth(world.pipeline.queues.rescanDlq)).toBe(0);
    expect(errors).toEqual([]);
  });

  it('with a cap of 1, each run enqueues one scan and defers the rest; the next runs continue until all have verdicts', async () => {
    await pushImage(world.direct, 'team/a', '2', later[0]);
    await pushImage(world.direct, 'team/a', '3', later[1]);
    await pushImage(world.direct, 'team/b', '2', later[2]);
    await pushImage(world.direct, 'other/c', '2', img('other/c 2'));
    const runs: Pick<NightlyReport, 'scan' | 'scanDeferred'>[] = [];
    for (let run = 0; run < 4; run++) {
      const before = (await Promise.all(later.map(hasVerdict))).filter(Boolean).length;
      const report = (await world.pipeline.nightly({ maxSweepScans: 1 })) as NightlyReport;
      runs.push({ scan: report.scan, scanDeferred: report.scanDeferred });
      expect(report.maxSweepScans).toBe(1);
      await world.pipeline.until(async () => (await Promise.all(later.map(hasVerdict))).filter(Boolean).length === before + report.scan && (await drained()), WAIT);
    }
    expect(runs).toEqual([{ scan: 1, scanDeferred: 2 }, { scan: 1, scanDeferred: 1 }, { scan: 1, scanDeferred: 0 }, { scan: 0, scanDeferred: 0 }]);
    expect(await Promise.all(later.map(hasVerdict))).toEqual([true, true, true]);
    // Each image scanned once: a deferred image is not enqueued twice.
    for (const i of later) expect(handled.filter((h) => h.kind === 'scan' && h.digest === d(i))).toHaveLength(1);
    expect(handled.every((h) => h.queue === rescanQueueName())).toBe(true);
    expect(errors).toEqual([]);
  });

  it('a digest admission looked up is live and re-evaluated; digests nobody saw (no push or pull time from this registry) are not', async () => {
    // The trust API on this pipeline's verdict table, recording sightings (the construct's default).
    process.env.RECORD_SIGHTINGS = 'true';
    const trustApi = (await import('../../../lambdas/trust-api/handler')).handler;
    const image = `${ECR_HOST}/team/a@${d(a1)}`;
    const body = JSON.stringify(podReview({ initContainers: image, containers: image, ephemeralContainers: image }));
    const event = { rawPath: '/admission/validate', requestContext: { http: { method: 'POST', path: '/admission/validate' } }, headers: {}, body, isBase64Encoded: false } as unknown as LambdaFunctionURLEvent;
    const res = (await trustApi(event)) as { statusCode?: number; body?: string };
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body ?? '') as { response: { allowed: boolean } }).response.allowed).toBe(true);
    // The sighting is written on the side, after the answer.
    await world.pipeline.until(async () => (await world.store.seenSince(new Date(Date.now() - 3_600_000))).has(d(a1)), WAIT);

    const before = (await world.store.get(d(a1)))!.revision;
    const report = (await world.pipeline.nightly()) as NightlyReport;
    expect(report).toMatchObject({ verdicts: 5, reevaluate: 1, live: { admission: 1, registry: 0, evaluated: 0 }, notLive: 4, scan: 0 });
    await world.pipeline.until(async () => (await world.store.get(d(a1)))!.revision === before + 1 && (await drained()), WAIT);
    for (const i of [b1, ...later]) expect((await world.store.history(d(i))).map((v) => v.revision)).toEqual([1]);
    expect(handled.filter((h) => h.kind === 'reevaluate').map((h) => [h.queue, h.digest])).toEqual([[rescanQueueName(), d(a1)]]);
    expect(errors).toEqual([]);
  });
});
