/**
 * The pipeline flows (lib/engine/pipeline) end to end on real local parts (DESIGN.md "Real parts"):
 * DynamoDB Local (verdict, advisory and layer tables, the verdict table's stream), the Debian
 * docker-registry behind a counting pass-through (blob downloads are counted on the wire), fauxqs as
 * the rescan queue, a local Slack server, OSV records from ../shared/corpus. ECR's DescribeRepositories
 * / DescribeImages are the only mocks (aws-sdk-client-mock, real payload shapes).
 *
 * The tests of this file build on each other, in order: pushes are scanned, a feed change re-judges
 * exactly the affected digests, the verdict stream fans out, the nightly run sweeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchDeleteImageCommand, type BatchDeleteImageCommandInput, DescribeImagesCommand, type DescribeImagesCommandInput, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoAdvisoryStore } from '../../../lib/aws/advisory-store';
import { EcrImageCatalog } from '../../../lib/aws/ecr-catalog';
import { DynamoLayerCache } from '../../../lib/aws/layer-cache';
import { DynamoNotificationLedger } from '../../../lib/aws/notification-ledger';
import { SlackPipelineNotifier } from '../../../lib/aws/pipeline-notifier';
import { PipelineRegistryAccess } from '../../../lib/aws/pipeline-ports';
import { SqsRescanQueue } from '../../../lib/aws/rescan-queue';
import { DynamoScanClaims } from '../../../lib/aws/scan-claims';
import { verdictChangeOf } from '../../../lib/aws/verdict-stream';
import { DynamoVerdictStore } from '../../../lib/aws/verdict-store';
import { openFeed } from '../../../lib/engine/advisories/feed';
import { allChecks } from '../../../lib/engine/checks/checks';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import type { Digest } from '../../../lib/engine/model';
import {
  fanOut,
  nightly,
  reevaluate,
  scanPushed,
  syncFeedsAndTarget,
  type FanOutPorts,
  type FeedSyncPorts,
  type RescanOutcome,
  type ScanOutcome,
  type ScanPorts,
} from '../../../lib/engine/pipeline';
import { DEFAULT_POLICY } from '../../../lib/engine/policy/default-policy';
import { indexPlatformsOf } from '../../../lib/engine/reevaluate';
import { trustTagFor } from '../../../lib/engine/registry/trust-tags';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { pushImage } from '../../../lib/local/builder/push';
import { SlackNotifier } from '../../../lib/notify/slack';
import { StaticWebhookUrl } from '../../../lib/notify/webhook-url';
import type { BuiltImage } from '../../../lib/local/builder/image-builder';
import { ACCOUNT, arrivalEvent, attestationManifest, BASE_RECORDS, corpusOsv, crateImage, ECR_HOST, pushEvent, REPO, revised, testImages, writeCratesFeed } from './helpers/fixtures';
import { drain } from './helpers/sqs-poller';
import { StreamTail } from './helpers/streams';
import { startWorld, type World } from './helpers/world';

const ecr = mockClient(ECRClient);
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const images = testImages();
const other = crateImage([['serde', '1.0.197']], 'amd64', 'other repository');
const REGEX_ADVISORY = 'crates.io/RUSTSEC-2022-0013.json';
const SMALLVEC_ADVISORY = 'crates.io/RUSTSEC-2021-0003.json';

let w: World;
let store: DynamoVerdictStore;
let advisoryStore: DynamoAdvisoryStore;
let feedDir: string;
let rescan: { url: string; arn: string };
let tail: StreamTail;
let scanPorts: ScanPorts;
let fanOutPorts: FanOutPorts;

const d = (img: BuiltImage): Digest => img.root.digest;
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

async function feedPorts(): Promise<FeedSyncPorts> {
  return {
    store, advisories: scanPorts.advisories, feeds: await openFeed(feedDir), policy: DEFAULT_POLICY,
    queue: new SqsRescanQueue({ client: w.sqs.client, queueUrl: rescan.url }), logger: silent,
  };
}

/** What Lambda's event source does with the rescan queue, the flow as the record handler. */
async function drainRescans(): Promise<RescanOutcome[]> {
  const outcomes: RescanOutcome[] = [];
  const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: { itemIdentifier: string }[] = [];
    for (const r of event.Records) {
      try {
        outcomes.push(await reevaluate(r.body, scanPorts));
      } catch {
        failures.push({ itemIdentifier: r.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
  await drain(w.sqs.client, rescan, handler);
  return outcomes;
}

/** The blobs of `img` downloaded through the proxy, by count. */
const downloads = (img: BuiltImage): number[] => [...img.blobs.keys()].map((b) => w.proxy.blobGets.get(b) ?? 0);

beforeAll(async () => {
  w = await startWorld('flows');
  store = new DynamoVerdictStore({ client: w.dynamodb, tableName: w.tables.verdicts, retry: { baseDelayMs: 1 } });
  advisoryStore = new DynamoAdvisoryStore({ client: w.dynamodb, tableName: w.tables.advisories });
  tail = new StreamTail(w.dynamodb, w.ddb.endpoint, w.tables.verdicts);
  await pushImage(w.direct, REPO, 'latest', images.regex);
  await pushImage(w.direct, REPO, 'smallvec', images.smallvec);
  await pushImage(w.direct, REPO, 'multi', images.index);
  await pushImage(w.direct, REPO, 'unannounced', images.unpushed);
  await pushImage(w.direct, 'team/other', '1.0', other);
  feedDir = mkdtempSync(join(tmpdir(), 'trustctl-pipeline-feeds-'));
  writeCratesFeed(feedDir, BASE_RECORDS.map(corpusOsv));
  rescan = { url: await w.sqs.createQueue('rescan', { VisibilityTimeout: '30' }), arn: '' };
  rescan.arn = await w.sqs.queueArn(rescan.url);
  const sources = (await openFeed(feedDir)).map((f) => f.source);
  scanPorts = {
    store,
    advisories: { store: advisoryStore, schemes: SCHEMES, sources },
    policy: DEFAULT_POLICY,
    checks: allChecks(),
    limits: DEFAULT_LIMITS,
    registry: new PipelineRegistryAccess({ limits: DEFAULT_LIMITS, overrides: w.overrides }),
    cache: new DynamoLayerCache(w.dynamodb, w.tables.layers),
    claims: new DynamoScanClaims({ client: w.dynamodb, tableName: w.tables.verdicts }),
    logger: silent,
  };
  const ledger = new DynamoNotificationLedger({ client: w.dynamodb, tableName: w.tables.verdicts });
  const slack = new SlackNotifier({ webhook: new StaticWebhookUrl(w.slack.webhookUrl, { allowInsecureLoopback: true }), ledger, maxAttempts: 2, sleep: async () => undefined, logger: silent });
  fanOutPorts = { registry: scanPorts.registry, notifier: new SlackPipelineNotifier(slack), logger: silent };
  // The feeds as they were before any image was pushed: nothing to target yet.
  expect((await syncFeedsAndTarget(await feedPorts())).digests).toEqual([]);
}, 180_000);

afterAll(async () => {
  tail?.destroy();
  await w?.stop();
  if (feedDir) rmSync(feedDir, { recursive: true, force: true });
});

describe('scanPushed: push event → verdict (DESIGN.md steps 1–5)', () => {
  it('an ECR push event (the AWS docs sample, as an SQS body) is scanned through the registry and recorded', async () => {
    const out = await scanPushed(JSON.stringify(pushEvent(d(images.regex))), scanPorts);
    expect(out).toMatchObject({ status: 'scanned', digest: d(images.regex), verdict: 'trusted', ref: `${ECR_HOST}/${REPO}:latest@${d(images.regex)}` });
    const v = await store.get(d(images.regex));
    expect(v).toMatchObject({ status: 'trusted', revision: 1, ref: `${ECR_HOST}/${REPO}:latest@${d(images.regex)}` });
    expect(downloads(images.regex).every((n) => n === 1)).toBe(true);
  });

  it.each([
    ['the same event again (an SQS redelivery)', 'sequential'],
    ['the same event 3× at once (RELIABILITY.md 24)', 'concurrent'],
  ] as const)('%s → one scan, one verdict write', async (_name, mode) => {
    const img = mode === 'sequential' ? images.regex : images.smallvec;
    const event = JSON.stringify(pushEvent(d(img), REPO, mode === 'sequential' ? 'latest' : 'smallvec'));
    const outcomes: ScanOutcome[] = mode === 'sequential'
      ? [await scanPushed(event, scanPorts)]
      : await Promise.all([scanPushed(event, scanPorts), scanPushed(event, scanPorts), scanPushed(event, scanPorts)]);
    const scanned = outcomes.filter((o) => o.status === 'scanned').length;
    expect(scanned).toBe(mode === 'sequential' ? 0 : 1);
    expect(outcomes.every((o) => ['scanned', 'duplicate', 'in-progress'].includes(o.status))).toBe(true);
    expect(await store.history(d(img))).toHaveLength(1);
    expect(downloads(img).every((n) => n === 1)).toBe(true);
  });

  it('an image index: a verdict per platform, the aggregate, and the index record to re-judge it from', async () => {
    const out = await scanPushed(pushEvent(d(images.index), REPO, 'multi'), scanPorts);
    expect(out.status).toBe('scanned');
    if (out.status !== 'scanned') return;
    expect(out.recorded.map((r) => r.digest)).toEqual([d(images.amd), d(images.arm), d(images.index)]);
    expect(indexPlatformsOf(await store.getInventory(d(images.index)))).toEqual([
      { digest: d(images.amd), platform: 'linux/amd64' },
      { digest: d(images.arm), platform: 'linux/arm64' },
    ]);
  });

  it('a download that dies mid-scan: nothing recorded, the claim given back; the retry records the verdict once (RELIABILITY.md 27)', async () => {
    const img = crateImage([['serde', '1.0.197'], ['chrono', '0.4.38']], 'amd64', 'interrupted');
    await pushImage(w.direct, REPO, 'interrupted', img);
    const event = pushEvent(d(img), REPO, 'interrupted');
    w.proxy.cutNextBlobs(50);
    await expect(scanPushed(event, scanPorts)).rejects.toThrow();
    expect(await store.get(d(img))).toBeUndefined();
    w.proxy.cutNextBlobs(0);
    expect((await scanPushed(event, scanPorts)).status).toBe('scanned');
    expect(await store.history(d(img))).toHaveLength(1);
  });

  it.each([
    ['a DELETE event', 'awsdocs-ecr__ecr-image-action-delete.json', 'ignored'],
    ['an ECR scan-result event', 'aws-lambda-go__ecr-image-scan-event.json', 'ignored'],
  ])('%s is not acted on', async (_name, file, status) => {
    const { corpusBytes } = await import('../../helpers/corpus');
    expect((await scanPushed(corpusBytes('events', 'aws', file).toString('utf8'), scanPorts)).status).toBe(status);
  });

  it('a push to another repository is recorded under its own reference', async () => {
    const out = await scanPushed(pushEvent(d(other), 'team/other', '1.0'), scanPorts);
    expect(out).toMatchObject({ status: 'scanned', ref: `${ECR_HOST}/team/other:1.0@${d(other)}` });
  });
});

describe('syncFeedsAndTarget + reevaluate: a feed change re-judges exactly the affected digests', () => {
  it('an upserted regex advisory targets the digests with regex only, which turn quarantined without a layer download', async () => {
    writeCratesFeed(feedDir, [...BASE_RECORDS.map(corpusOsv), revised(REGEX_ADVISORY, '2026-11-01T00:00:00Z')]);
    const report = await syncFeedsAndTarget(await feedPorts());
    expect(report.changedRecords).toBe(1);
    expect(report.packageKeys).toBe(1);
    // The regex image, the index's amd64 platform and the index itself (indexed under its platforms' keys).
    expect(report.digests).toEqual(sorted([d(images.regex), d(images.amd), d(images.index)]));
    const before = w.proxy.totalBlobGets();
    const outcomes = await drainRescans();
    expect(w.proxy.totalBlobGets()).toBe(before);
    expect(outcomes.map((o) => o.status)).toEqual(['reevaluated', 'reevaluated', 'reevaluated']);
    for (const img of [images.regex, images.amd, images.index]) {
      const v = await store.get(d(img));
      expect(v).toMatchObject({ status: 'quarantined', revision: 2 });
      // An index's aggregate reasons are its platforms' messages, prefixed (policy/baseline.ts aggregateVerdict).
      expect(v!.reasons.map((r) => r.message).join(' ')).toMatch(/CVE-2022-24713 in pkg:cargo\/regex@1\.5\.4/);
    }
    // Not targeted: unchanged.
    for (const img of [images.smallvec, images.arm, other]) expect(await store.get(d(img))).toMatchObject({ status: 'trusted', revision: 1 });
  });

  it('an unchanged export is not read again, and targets nothing', async () => {
    const report = await syncFeedsAndTarget(await feedPorts());
    expect(report.results.map((r) => r.unchanged)).toEqual([true]);
    expect(report.digests).toEqual([]);
  });
});

describe('fanOut: the verdict stream → trust tag + Slack on transitions (DESIGN.md step 6)', () => {
  let records: StreamRecord[];
  const fanAll = async (rs: readonly StreamRecord[]) => {
    const out = [];
    for (const r of rs) {
      const change = verdictChangeOf(r.dynamodb?.OldImage, r.dynamodb?.NewImage);
      if (change) out.push(await fanOut(change.previous, change.next, fanOutPorts));
    }
    return out;
  };

  it('first verdicts get their tag quietly; each new quarantine is tagged on the registry and posted once', async () => {
    records = await tail.nextVerdicts();
    const outcomes = await fanAll(records);
    expect(outcomes.filter((o) => o.status === 'fanned-out' && o.notification.status === 'sent').map((o) => o.digest).sort()).toEqual(sorted([d(images.regex), d(images.amd), d(images.index)]));
    expect(w.slack.posts).toHaveLength(3);
    for (const img of [images.regex, images.index]) {
      expect((await w.direct.headManifest(REPO, trustTagFor('quarantined', d(img))))?.digest).toBe(d(img));
    }
    // Only the pushed digest is tagged: a platform manifest of the index is told to Slack but stays
    // untagged (ECR lifecycle rules for untagged images keep applying to it).
    const amd = outcomes.find((o) => o.digest === d(images.amd));
    expect(amd).toMatchObject({ status: 'fanned-out', tag: { result: 'skipped', message: expect.stringContaining(`platform manifest of the index ${d(images.index)}`) } });
    for (const status of ['quarantined', 'trusted'] as const) expect(await w.direct.headManifest(REPO, trustTagFor(status, d(images.amd)))).toBeUndefined();
    expect((await w.direct.headManifest(REPO, trustTagFor('trusted', d(images.smallvec))))?.digest).toBe(d(images.smallvec));
    expect((await w.direct.headManifest('team/other', trustTagFor('trusted', d(other))))?.digest).toBe(d(other));
  });

  it('the same stream records delivered again → no second Slack message, tags unchanged', async () => {
    const outcomes = await fanAll(records);
    expect(w.slack.posts).toHaveLength(3);
    const sent = outcomes.filter((o) => o.status === 'fanned-out');
    expect(sent.every((o) => o.status === 'fanned-out' && o.notification.status !== 'sent')).toBe(true);
    // The index's platforms are skipped again, every other tag is already there.
    const notUnchanged = sent.filter((o) => o.status === 'fanned-out' && o.tag.result !== 'unchanged');
    expect(notUnchanged.every((o) => o.status === 'fanned-out' && o.tag.result === 'skipped')).toBe(true);
    expect([...new Set(notUnchanged.map((o) => o.digest))].sort()).toEqual(sorted([d(images.amd), d(images.arm)]));
  });

  it('Slack answering 500 leaves the verdict as recorded and the tag written; a later delivery of the record posts (RELIABILITY.md 34)', async () => {
    writeCratesFeed(feedDir, [...BASE_RECORDS.map(corpusOsv), revised(REGEX_ADVISORY, '2026-11-01T00:00:00Z'), revised(SMALLVEC_ADVISORY, '2026-11-02T00:00:00Z')]);
    expect((await syncFeedsAndTarget(await feedPorts())).digests).toEqual([d(images.smallvec)]);
    await drainRescans();
    const change = (await tail.nextVerdicts()).map((r) => verdictChangeOf(r.dynamodb?.OldImage, r.dynamodb?.NewImage)).find((c) => c?.next.digest === d(images.smallvec))!;
    expect(change.previous?.status).toBe('trusted');
    w.slack.script(2, { status: 500 });
    const failed = await fanOut(change.previous, change.next, fanOutPorts);
    expect(failed).toMatchObject({ status: 'fanned-out', to: 'quarantined', notification: { status: 'failed' }, tag: { result: 'written' } });
    // The flip's stale `trust-trusted-…` tag: Debian's docker-registry (distribution 2.8) deletes
    // manifests by digest only — which would delete the image — so the tag is left and reported.
    const stale = trustTagFor('trusted', d(images.smallvec));
    expect(failed).toMatchObject({ staleTag: { tag: stale, result: 'unsupported', message: expect.stringMatching(/HTTP 4\d\d/) } });
    expect((await w.direct.headManifest(REPO, stale))?.digest).toBe(d(images.smallvec));
    expect((await w.direct.headManifest(REPO, trustTagFor('quarantined', d(images.smallvec))))?.digest).toBe(d(images.smallvec));
    expect(await store.get(d(images.smallvec))).toMatchObject({ status: 'quarantined', revision: 2 });
    expect(w.slack.posts).toHaveLength(3);
    const retried = await fanOut(change.previous, change.next, fanOutPorts);
    expect(retried).toMatchObject({ notification: { status: 'sent' } });
    expect(w.slack.posts).toHaveLength(4);
  });

  it('on ECR the flip\'s stale tag goes: DescribeImages shows another tag keeping the image, BatchDeleteImage by that tag only', async () => {
    // The same trusted → quarantined change delivered again (the registry-API path above left the stale tag).
    const change = { previous: (await store.history(d(images.smallvec))).find((h) => h.revision === 1)!, next: (await store.get(d(images.smallvec)))! };
    expect([change.previous.status, change.next.status]).toEqual(['trusted', 'quarantined']);
    // ECR's view of the image, read from the real registry: every tag that names the digest.
    ecr.reset();
    ecr.on(DescribeImagesCommand).callsFake(async (input: DescribeImagesCommandInput) => {
      const digest = input.imageIds![0].imageDigest!;
      const tags: string[] = [];
      for (const t of await w.direct.listTags(REPO)) if ((await w.direct.headManifest(REPO, t))?.digest === digest) tags.push(t);
      return { imageDetails: [{ registryId: ACCOUNT, repositoryName: REPO, imageDigest: digest, imageTags: tags, imageSizeInBytes: 2048, imagePushedAt: new Date(), imageManifestMediaType: images.smallvec.root.mediaType }] };
    });
    ecr.on(BatchDeleteImageCommand).callsFake((input: BatchDeleteImageCommandInput) => ({ imageIds: input.imageIds!.map((i) => ({ ...i, imageDigest: d(images.smallvec) })), failures: [] }));
    const ecrAccess = new PipelineRegistryAccess({ limits: DEFAULT_LIMITS, ecrFor: () => new ECRClient({ region: 'us-west-2' }) });
    const onEcr = { ...fanOutPorts, registry: { client: (r: string) => scanPorts.registry.client(r), untag: ecrAccess.untag.bind(ecrAccess) } };
    const stale = trustTagFor('trusted', d(images.smallvec));
    const out = await fanOut(change.previous, change.next, onEcr);
    expect(out).toMatchObject({ tag: { result: 'unchanged' }, staleTag: { tag: stale, result: 'removed', message: expect.stringContaining(trustTagFor('quarantined', d(images.smallvec))) } });
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input)).toEqual([{ registryId: ACCOUNT, repositoryName: REPO, imageIds: [{ imageTag: stale }] }]);
  });
});

describe('nightly: live digests re-evaluated, the registry swept (RELIABILITY.md 32)', () => {
  const DAY = 86_400_000;
  const detail = (img: BuiltImage, pushedDaysAgo: number, pulledDaysAgo?: number, tags: string[] = []) => ({
    registryId: ACCOUNT, repositoryName: REPO, imageDigest: d(img), imageTags: tags, imageSizeInBytes: 2048,
    imagePushedAt: new Date(Date.now() - pushedDaysAgo * DAY),
    imageManifestMediaType: img.root.mediaType,
    ...(img.isIndex ? {} : { artifactMediaType: 'application/vnd.oci.image.config.v1+json' }),
    ...(pulledDaysAgo !== undefined ? { lastRecordedPullTime: new Date(Date.now() - pulledDaysAgo * DAY) } : {}),
  });

  beforeAll(() => {
    ecr.reset();
    // The sweep covers `team/*` (a prefix, as the README configures it): DescribeRepositories lists
    // every repository, the catalog keeps those under team/ — `platform/base` must not be swept.
    const repository = (name: string) => ({ repositoryName: name, registryId: ACCOUNT, repositoryArn: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`, repositoryUri: `${ECR_HOST}/${name}`, imageTagMutability: 'MUTABLE' as const, createdAt: new Date('2025-01-01T00:00:00Z') });
    ecr.on(DescribeRepositoriesCommand).callsFake((input: { nextToken?: string; repositoryNames?: string[] }) => {
      if (input.repositoryNames) throw new Error('DescribeRepositories: repositoryNames must not carry a pattern');
      return input.nextToken === 'repos-2' ? { repositories: [repository(REPO)] } : { repositories: [repository('platform/base')], nextToken: 'repos-2' };
    });
    // Two pages, as DescribeImages pages them (nextToken).
    ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => input.nextToken === 'page-2'
      ? {
          imageDetails: [
            detail(images.index, 100, undefined, ['multi']), detail(images.amd, 100), detail(images.arm, 100),
            // Never announced by an event: no verdict.
            detail(images.unpushed, 0, undefined, ['unannounced']),
            // A cosign signature: an artifact, not an image.
            { registryId: ACCOUNT, repositoryName: REPO, imageDigest: `sha256:${'5'.repeat(64)}`, imageTags: [`sha256-${'5'.repeat(64)}.sig`], imagePushedAt: new Date(), imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', artifactMediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' },
          ],
        }
      : { imageDetails: [detail(images.regex, 1, undefined, ['latest']), detail(images.smallvec, 200, 2, ['smallvec'])], nextToken: 'page-2' });
  });

  it('enqueues live digests (recent push or pull; not swept but recently evaluated) and scans the one without a verdict', async () => {
    const revisionsBefore = await Promise.all([images.regex, images.smallvec, other, images.index].map(async (i) => (await store.get(d(i)))!.revision));
    const report = await nightly({
      store, queue: new SqsRescanQueue({ client: w.sqs.client, queueUrl: rescan.url }),
      catalog: new EcrImageCatalog({ client: new ECRClient({ region: 'us-west-2' }), repositories: ['team/*'] }),
      liveWindowDays: 30, logger: silent,
    });
    expect(report).toEqual({
      // Not live: the index and its platforms (pushed 100 days ago, never pulled), and the image of the
      // interrupted scan (its repository was swept and does not list it any more: deleted).
      verdicts: 7, reevaluate: 3, notLive: 4, scan: 1,
      // No sighting reader here: `other` (team/other, not listed by this sweep) is live by its recent evaluation.
      live: { admission: 0, registry: 2, evaluated: 1 }, scanDeferred: 0, scanSkippedNotLive: 0, maxSweepScans: 500,
      swept: { repositories: 1, images: 6, failedRepositories: 0 },
    });
    const outcomes = await drainRescans();
    expect(outcomes.filter((o) => o.status === 'reevaluated').map((o) => 'digest' in o && o.digest).sort()).toEqual(sorted([d(images.regex), d(images.smallvec), d(other)]));
    expect(outcomes.filter((o) => o.status === 'scanned').map((o) => 'digest' in o && o.digest)).toEqual([d(images.unpushed)]);
    expect(await store.get(d(images.unpushed))).toMatchObject({ status: 'trusted', revision: 1, ref: `${ECR_HOST}/${REPO}@${d(images.unpushed)}` });
    const revisionsAfter = await Promise.all([images.regex, images.smallvec, other, images.index].map(async (i) => (await store.get(d(i)))!.revision));
    // Re-evaluated ones get a fresh revision; the index (pushed 100 days ago, never pulled) is not live.
    expect(revisionsAfter).toEqual([revisionsBefore[0] + 1, revisionsBefore[1] + 1, revisionsBefore[2] + 1, revisionsBefore[3]]);
  });

  it('the nightly re-evaluation\'s history item expires (TTL expiresAt); push and feed-change history and the current verdict do not', async () => {
    const out = await w.dynamodb.send(new QueryCommand({
      TableName: w.tables.verdicts, KeyConditionExpression: 'pk = :pk', ConsistentRead: true,
      ExpressionAttributeValues: { ':pk': { S: `DIGEST#${d(images.regex)}` } },
    }));
    const items = (out.Items ?? []).map((i) => ({ sk: i.sk.S!, expiresAt: i.expiresAt?.N }));
    const history = items.filter((i) => i.sk.startsWith('HIST#'));
    const newest = history[history.length - 1];
    expect(history.length).toBeGreaterThan(1);
    expect(Number(newest.expiresAt)).toBeGreaterThan(Date.now() / 1000);
    expect(history.slice(0, -1).map((i) => i.expiresAt)).toEqual(history.slice(0, -1).map(() => undefined));
    expect(items.find((i) => i.sk === 'VERDICT')).toEqual({ sk: 'VERDICT', expiresAt: undefined });
  });

  it('a rescan message delivered twice does nothing the second time', async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    const msg = { kind: 'reevaluate', digest: d(images.regex), at };
    const out = await reevaluate(JSON.stringify(msg), scanPorts);
    expect(out.status).toBe('duplicate');
  });
});

describe('images that arrive without a push, and artifacts that are never scanned alone (issue 15)', () => {

  it('a pull through cache sync (the AWS sample, in the pipeline\'s account and region) is scanned in the cache repository', async () => {
    const img = crateImage([['serde', '1.0.197']], 'amd64', 'pull through cache');
    await pushImage(w.direct, 'docker-hub/alpine', '3.17.2', img);
    const event = arrivalEvent('pull-through-cache', d(img));
    expect(await scanPushed(JSON.stringify(event), scanPorts)).toMatchObject({ status: 'scanned', ref: `${ECR_HOST}/docker-hub/alpine:3.17.2@${d(img)}` });
    expect(await store.get(d(img))).toMatchObject({ status: 'trusted' });
  });

  it('a replication into this region is scanned as the replica', async () => {
    const img = crateImage([['serde', '1.0.197'], ['smallvec', '1.13.2']], 'amd64', 'replica');
    await pushImage(w.direct, 'docker/repository', 'latest', img);
    const event = arrivalEvent('replication', d(img));
    expect(await scanPushed(JSON.stringify(event), scanPorts)).toMatchObject({ status: 'scanned', ref: `${ECR_HOST}/docker/repository:latest@${d(img)}` });
  });

  it('a BuildKit attestation manifest (in-toto layer, platform unknown/unknown) named alone is not scanned and gets no verdict', async () => {
    const att = attestationManifest(d(images.regex));
    const { root } = att;
    await pushImage(w.direct, REPO, 'attestation-alone', att);
    const out = await scanPushed(pushEvent(root.digest, REPO, 'attestation-alone'), scanPorts);
    expect(out.status).toBe('ignored');
    expect(out.status === 'ignored' && out.reason).toMatch(/application\/vnd\.in-toto\+json/);
    expect(await store.get(root.digest)).toBeUndefined();
    // The sweep's path (a scan message) ends the same way.
    expect((await reevaluate(JSON.stringify({ kind: 'scan', registry: ECR_HOST, repository: REPO, digest: root.digest, reason: 'sweep' }), scanPorts)).status).toBe('ignored');
  });
});
