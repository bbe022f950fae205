/**
 * Cost bench (issue 15, Deliver item 7): what one push scan and one nightly re-evaluation cost on AWS,
 * measured on local stand-ins with the pipeline's own AWS ports (lib/aws/pipeline-ports.ts) — DynamoDB
 * Local for the three tables, fauxqs for SQS, Debian's docker-registry standing in for ECR — with real
 * advisory data and a real ~200 MB image. One command: `npm run bench:cost` (options: `--ecosystems
 * Debian,PyPI,npm` — the OSV exports synced from ../shared/feeds/osv; `--image-mb 200`; `--json <file>`).
 *
 * Flows: (a) a push of the image into a new scan-worker container (every layer new, the advisory cache
 * cold), then a push of the same image rebuilt with a code change (one new small layer) into that warm
 * container — the common case of CI; (b) nightly re-evaluations in a new container: the pushed image's
 * inventory under five digests (images sharing its packages), the first cold, the others warm.
 *
 * Measured, each with the shared advisory cache off (every read strongly consistent, the baseline) and on:
 * - DynamoDB: `ReturnConsumedCapacity: TOTAL` on every call, summed by a middleware on the client's
 *   stack (lib/aws/consumed-capacity.ts) — read and write request units, calls;
 * - SQS: requests counted by a middleware on the SQS client, through the flow's real queue calls (the
 *   push event sent as EventBridge's target does, received and deleted as the event source mapping does;
 *   re-evaluations sent by SendMessageBatch as the nightly run does, received 5 at a time — the
 *   construct's batch size — and deleted in one batch);
 * - Lambda: GB-s = the flow's wall time on this machine × the scan-worker's configured memory
 *   (lib/infra/trust-pipeline.ts: 2048 MB, arm64), plus the request charge per invocation;
 * - CloudWatch Logs: the bytes of the JSON log lines the flow writes (as Powertools formats them) plus
 *   Lambda's START/END/REPORT lines, estimated.
 *
 * Data: the OSV exports named (default Debian, PyPI and npm, the ecosystems of the image; the Debian
 * export holds every Debian release), the NVD records of ../shared/corpus/nvd (40 CVEs — a real
 * deployment holds every CVE: NVD reads are under-counted here; the bench prints how many NVD ids were
 * asked for and what they would add if every one existed) and the CISA KEV catalog
 * (../shared/feeds/kev). Image: three layers built by our own builder from this machine's real files
 * (Debian 12): the dpkg database, os-release and shared libraries (base), the system's Python
 * packages (/usr/lib/python3/dist-packages), and npm packages from this checkout's node_modules.
 */
import { lstatSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { tableDefinition as advisoryTable } from '../../lib/aws/advisory-store';
import { CapacityMeter, RequestCounter, type CapacityTotals } from '../../lib/aws/consumed-capacity';
import { pkSkTable } from '../../lib/aws/dynamodb-table';
import { LAYER_CACHE_TTL_ATTRIBUTE } from '../../lib/aws/layer-cache';
import { AwsPipeline, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { SqsRescanQueue } from '../../lib/aws/rescan-queue';
import { tableDefinition as verdictTable } from '../../lib/aws/verdict-store';
import { SharedAdvisoryCache } from '../../lib/engine/advisories/shared-cache';
import type { Digest } from '../../lib/engine/model';
import type { PipelineLogger } from '../../lib/engine/pipeline/ports';
import { reevaluate } from '../../lib/engine/pipeline/rescan';
import { scanPushed } from '../../lib/engine/pipeline/scan';
import { RegistryClient } from '../../lib/engine/registry/client';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { syncFeeds } from '../../lib/engine/sync-feeds';
import { inventoryPackageKeys } from '../../lib/engine/verdicts/keys';
import { buildImage, type HostFileSpec, type LayerSpec } from '../../lib/local/builder/image-builder';
import { pushImage } from '../../lib/local/builder/push';
import { startDynamoDbLocal } from '../../lib/local/pipeline/dynamodb-local';
import { startFauxqs } from '../../lib/local/pipeline/fauxqs';
import { startLocalRegistry } from '../../lib/local/pipeline/local-servers';

/*
 * Prices, us-east-1, checked 2026-12-07 on the public pricing pages:
 * - Lambda (https://aws.amazon.com/lambda/pricing/): arm64 $0.0000133334 per GB-second (first tier),
 *   $0.20 per 1M requests.
 * - DynamoDB on-demand (https://aws.amazon.com/dynamodb/pricing/on-demand/), after the 1 November 2024
 *   price cut (https://aws.amazon.com/about-aws/whats-new/2024/11/amazon-dynamodb-reduces-prices-on-demand-throughput-global-tables/):
 *   $0.125 per million read request units, $0.625 per million write request units.
 * - SQS (https://aws.amazon.com/sqs/pricing/): standard queues $0.40 per million requests (each 64 KB
 *   chunk of a payload is a request; ours are far smaller).
 * - ECR (https://aws.amazon.com/ecr/pricing/): data transferred to Lambda in the same region is free.
 * - CloudWatch Logs (https://aws.amazon.com/cloudwatch/pricing/): $0.50 per GB ingested (standard class).
 * Free tiers are left out (they are per account, not per push).
 */
const PRICE = {
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.20 / 1e6,
  rru: 0.125 / 1e6,
  wru: 0.625 / 1e6,
  sqsRequest: 0.40 / 1e6,
  logGb: 0.50,
};
/** scan-worker memory (lib/infra/trust-pipeline.ts `memorySize`, default 2048 MB). */
const SCAN_WORKER_MB = 2048;
/** The rescan queue's batch size (lib/infra/trust-pipeline.ts): re-evaluations per invocation. */
const RESCAN_BATCH = 5;
/** Lambda's own START, END and REPORT lines per invocation, bytes (about). */
const PLATFORM_LOG_BYTES = 330;
/** The month of the issue: 10,000 pushes, 5,000 live digests re-evaluated each night. */
const MONTH = { pushes: 10_000, digests: 5_000, nights: 30 };

const ROOT = join(__dirname, '..', '..');
const SHARED = join(ROOT, '..', 'shared');
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const REPO = 'bench/app';

const opt = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ECOSYSTEMS = (opt('ecosystems') ?? 'Debian,PyPI,npm').split(',').map((s) => s.trim()).filter(Boolean);
const IMAGE_MB = Number(opt('image-mb') ?? 200);
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const usd = (n: number): string => `$${n < 0.01 ? n.toFixed(7) : n.toFixed(2)}`;

/** A logger that measures the bytes Powertools would write for each line (JSON with level, message, timestamp, service). */
class MeasuringLogger implements PipelineLogger {
  bytes = 0;
  private line(level: string, message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.bytes += Buffer.byteLength(JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: 'scan-worker', ...fields })) + 1;
  }
  info(m: string, f?: Readonly<Record<string, unknown>>): void { this.line('INFO', m, f); }
  warn(m: string, f?: Readonly<Record<string, unknown>>): void { this.line('WARN', m, f); }
  error(m: string, f?: Readonly<Record<string, unknown>>): void { this.line('ERROR', m, f); }
}

/** Regular files under `dir` (depth first, sorted) until `budget` bytes. */
function filesUpTo(dir: string, budget: number, imageDir: string): { specs: HostFileSpec[]; bytes: number } {
  const specs: HostFileSpec[] = [];
  let bytes = 0;
  const walk = (host: string, image: string): void => {
    for (const name of readdirSync(host).sort()) {
      if (bytes >= budget) return;
      const h = join(host, name);
      const st = lstatSync(h);
      if (st.isDirectory()) walk(h, `${image}/${name}`);
      else if (st.isFile() && bytes + st.size <= budget) {
        specs.push({ hostPath: h, imagePath: `${image}/${name}` });
        bytes += st.size;
      }
    }
  };
  walk(dir, imageDir);
  return { specs, bytes };
}

/** The ~IMAGE_MB image: base (dpkg database, os-release, shared libraries), Python packages, npm packages. */
function realImage(): { image: ReturnType<typeof buildImage>; layers: string[]; specs: LayerSpec[] } {
  const total = IMAGE_MB * 1024 * 1024;
  const python = filesUpTo('/usr/lib/python3/dist-packages', total * 0.25, '/usr/lib/python3/dist-packages');
  const node = filesUpTo(join(ROOT, 'node_modules'), total * 0.25, '/app/node_modules');
  const libs = filesUpTo('/usr/lib/x86_64-linux-gnu', total - python.bytes - node.bytes, '/usr/lib/x86_64-linux-gnu');
  const base: HostFileSpec[] = [
    { hostPath: '/usr/lib/os-release', imagePath: '/usr/lib/os-release' },
    { hostPath: '/etc/os-release', imagePath: '/etc/os-release' },
    { hostPath: '/etc/debian_version', imagePath: '/etc/debian_version' },
    { hostPath: '/var/lib/dpkg/status', imagePath: '/var/lib/dpkg/status' },
    ...libs.specs,
  ];
  const specs: LayerSpec[] = [
    { fromHost: base, createdBy: 'FROM debian:bookworm (this machine: dpkg database, shared libraries)' },
    { fromHost: python.specs, createdBy: 'RUN pip install (this machine: /usr/lib/python3/dist-packages)' },
    { fromHost: node.specs, createdBy: 'RUN npm ci (this checkout: node_modules)' },
  ];
  const image = buildImage({ layers: specs, config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['node', '/app/index.js'] } });
  const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
  return { image, specs, layers: [`base ${mb(libs.bytes)}+dpkg`, `python ${mb(python.bytes)}`, `node ${mb(node.bytes)}`] };
}

/** What one flow cost. */
interface Measured {
  readonly ddb: CapacityTotals;
  readonly sqs: number;
  readonly ms: number;
  readonly logBytes: number;
  /** Invocations of the scan-worker this flow accounts for. */
  readonly invocations: number;
}

function dollars(m: Measured): { lambda: number; rru: number; wru: number; sqs: number; logs: number; total: number } {
  const lambda = (m.ms / 1000) * (SCAN_WORKER_MB / 1024) * PRICE.lambdaGbSecond + m.invocations * PRICE.lambdaRequest;
  const rru = m.ddb.rru * PRICE.rru;
  const wru = m.ddb.wru * PRICE.wru;
  const sqs = m.sqs * PRICE.sqsRequest;
  const logs = ((m.logBytes + m.invocations * PLATFORM_LOG_BYTES) / 1e9) * PRICE.logGb;
  return { lambda, rru, wru, sqs, logs, total: lambda + rru + wru + sqs + logs };
}

function row(name: string, m: Measured): string {
  const d = dollars(m);
  return `| ${name} | ${m.ddb.rru} | ${m.ddb.wru} | ${m.ddb.calls} | ${m.sqs.toFixed(1)} | ${(m.ms / 1000).toFixed(2)} | ${usd(d.lambda)} | ${usd(d.rru)} | ${usd(d.wru)} | ${usd(d.sqs)} | ${usd(d.logs)} | **${usd(d.total)}** |`;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const [ddb, sqsServer, registry] = await Promise.all([startDynamoDbLocal(), startFauxqs(), startLocalRegistry()]);
  try {
    const creds = { accessKeyId: 'local', secretAccessKey: 'local' };
    const dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint, credentials: creds, maxAttempts: 8 });
    const sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsServer.endpoint, credentials: creds, useQueueUrlAsEndpoint: false });
    const meter = new CapacityMeter();
    meter.attach(dynamodb);
    const requests = new RequestCounter();
    requests.attach(sqs);

    const table = async (def: ReturnType<typeof pkSkTable>, ttl?: string): Promise<string> => {
      await dynamodb.send(new CreateTableCommand(def));
      await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: def.TableName! });
      if (ttl) await dynamodb.send(new UpdateTimeToLiveCommand({ TableName: def.TableName!, TimeToLiveSpecification: { Enabled: true, AttributeName: ttl } }));
      return def.TableName!;
    };
    await table(advisoryTable('advisories'));
    const queue = async (name: string): Promise<string> => (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
    const feeds = [
      ...ECOSYSTEMS.map((e) => join(SHARED, 'feeds', 'osv', e, 'all.zip')),
      join(SHARED, 'corpus', 'nvd', 'records'),
      join(SHARED, 'feeds', 'kev', 'known_exploited_vulnerabilities.json'),
    ];
    const config = (mode: string) => readPipelineConfig({
      VERDICT_TABLE: `verdicts-${mode}`, ADVISORY_TABLE: 'advisories', LAYER_TABLE: `layers-${mode}`,
      FEEDS: feeds.join(','), TRUSTCTL_REGISTRY_OVERRIDE: `${ECR}=${registry.host}`,
    });

    // ---- advisory data ----
    out(`# trustctl cost bench\n\nsyncing ${feeds.map((f) => f.slice(SHARED.length + 1)).join(', ')} into DynamoDB Local…`);
    const loader = new AwsPipeline(config('sync'), { dynamodb, sqs }, undefined, { advisoryCache: false });
    const tSync = Date.now();
    const synced = await syncFeeds(await loader.feedSources(), loader.advisoryStore);
    out(`synced ${synced.reduce((t, r) => t + r.changed.length, 0)} records from ${synced.length} sources in ${((Date.now() - tSync) / 1000).toFixed(0)} s`);

    // ---- the image ----
    const { image, layers, specs: realImageSpecs } = realImage();
    const compressed = image.images[0].layers.reduce((t, l) => t + l.descriptor.size, 0);
    const raw = image.images[0].layers.reduce((t, l) => t + l.tar.length, 0);
    const pushed = await pushImage(new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS }), REPO, 'v1', image);
    const digest = pushed.digest as Digest;
    out(`image ${digest.slice(0, 19)}…: ${layers.join(', ')}; ${(raw / 1e6).toFixed(0)} MB uncompressed, ${(compressed / 1e6).toFixed(0)} MB compressed`);

    // The same image rebuilt with a code change: the three layers above (cached) and a small new app layer.
    const appFile = join(ROOT, 'bench', 'cost', 'run.ts');
    const rebuilt = buildImage({
      layers: [
        ...realImageSpecs,
        { fromHost: [{ hostPath: appFile, imagePath: '/app/index.js' }], createdBy: 'COPY . /app (a code change)' },
      ],
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['node', '/app/index.js'] },
    });
    const digest2 = (await pushImage(new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS }), REPO, 'v2', rebuilt)).digest as Digest;

    type Results = { push: Measured; pushRebuilt: Measured; reevalFirst: Measured; reevalWarm: Measured; nvdAsked: number };
    const results: Record<string, Results> = {};
    for (const mode of ['off', 'on'] as const) {
      await table(verdictTable(`verdicts-${mode}`));
      await table(pkSkTable(`layers-${mode}`), LAYER_CACHE_TTL_ATTRIBUTE);
      const scanQ = await queue(`scan-${mode}`);
      const rescanQ = await queue(`rescan-${mode}`);
      const logger = new MeasuringLogger();
      // Count the NVD ids asked for (the corpus holds 40 CVEs: see the module documentation).
      let nvdAsked = 0;
      const countNvd = (id: string): void => void (id.startsWith('nvd:') && nvdAsked++);
      /**
       * A scan-worker execution environment: its own pipeline and (cache on) its own advisory cache.
       * The feeds were synced minutes before, as before any nightly run: settled (eventual reads) at once.
       */
      const container = async () => {
        const cache = mode === 'on' ? new SharedAdvisoryCache({ settleMs: 0 }) : undefined;
        const p = new AwsPipeline(config(mode), { dynamodb, sqs }, logger, { advisoryCache: cache ?? false });
        // Both DynamoDB readers (strong, eventual) count the NVD ids that reach them.
        for (const store of [p.advisoryStore, p.eventualAdvisoryStore]) {
          const get = store.get.bind(store);
          const getMany = store.getMany.bind(store);
          Object.assign(store, { get: (id: string) => (countNvd(id), get(id)), getMany: (ids: readonly string[]) => (ids.forEach(countNvd), getMany(ids)) });
        }
        return { p, cache, ports: await p.scanPorts() };
      };

      /** One push through the scan queue, end to end. */
      const push = async (ports: Awaited<ReturnType<typeof container>>['ports'], d: Digest, tag: string): Promise<Measured> => {
        meter.reset();
        requests.reset();
        logger.bytes = 0;
        const event = {
          version: '0', id: `bench-${tag}`, 'detail-type': 'ECR Image Action', source: 'aws.ecr', account: '123456789012', time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          region: 'us-east-1', resources: [], detail: { result: 'SUCCESS', 'repository-name': REPO, 'image-digest': d, 'action-type': 'PUSH', 'image-tag': tag },
        };
        await sqs.send(new SendMessageCommand({ QueueUrl: scanQ, MessageBody: JSON.stringify(event) }));
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: scanQ, MaxNumberOfMessages: 1 }));
        const msg = got.Messages![0];
        const t = process.hrtime.bigint();
        const scanned = await scanPushed(JSON.parse(msg.Body!), ports);
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        await sqs.send(new DeleteMessageCommand({ QueueUrl: scanQ, ReceiptHandle: msg.ReceiptHandle! }));
        if (scanned.status !== 'scanned') throw new Error(`push not scanned: ${scanned.status}`);
        const m: Measured = { ddb: meter.totals(), sqs: requests.total(), ms, logBytes: logger.bytes, invocations: 1 };
        out(`cache ${mode}: push ${tag} scanned (${scanned.verdict}, ${scanned.layersRead} layers read, ${scanned.layersCached} cached) in ${(ms / 1000).toFixed(1)} s; DynamoDB ${JSON.stringify(m.ddb.byOperation)}`);
        return m;
      };

      // ---- (a) pushes: the image into a new container, then its rebuild into the same (warm) one ----
      out('');
      const pushing = await container();
      const first = await push(pushing.ports, digest, 'v1');
      const pushRebuilt = await push(pushing.ports, digest2, 'v2');
      const nvdPush = nvdAsked;

      // ---- (b) nightly re-evaluations, in a new container: the pushed image's inventory under more digests (images with the same packages) ----
      const { p, cache, ports } = await container();
      const inv = await p.verdictStore.getInventory(digest);
      const others = Array.from({ length: RESCAN_BATCH }, (_, i) => `sha256:${(i + 1).toString(16).padStart(64, 'e')}` as Digest);
      for (const d of others) {
        await p.verdictStore.putInventory(d, inv!);
        await p.verdictStore.indexPackages(d, inventoryPackageKeys(inv!.packages));
      }
      const runs: Measured[] = [];
      meter.reset();
      requests.reset();
      await new SqsRescanQueue({ client: sqs, queueUrl: rescanQ }).send(others.map((d) => ({ kind: 'reevaluate', digest: d, reason: 'nightly' })));
      const batch = await sqs.send(new ReceiveMessageCommand({ QueueUrl: rescanQ, MaxNumberOfMessages: RESCAN_BATCH }));
      const sqsPerMessage = (requests.total() + 1) / others.length; // + the DeleteMessageBatch below
      for (const m of batch.Messages ?? []) {
        meter.reset();
        logger.bytes = 0;
        const t = process.hrtime.bigint();
        const r = await reevaluate(JSON.parse(m.Body!), ports);
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        if (r.status !== 'reevaluated') throw new Error(`not re-evaluated: ${r.status}`);
        runs.push({ ddb: meter.totals(), sqs: sqsPerMessage, ms, logBytes: logger.bytes, invocations: 1 / RESCAN_BATCH });
      }
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: rescanQ, Entries: (batch.Messages ?? []).map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      if (runs.length !== others.length) throw new Error(`received ${runs.length} of ${others.length} rescan messages`);
      const warm = runs.slice(1);
      const mean = (xs: Measured[]): Measured => ({
        ddb: { ...xs[0].ddb, rru: xs.reduce((t, x) => t + x.ddb.rru, 0) / xs.length, wru: xs.reduce((t, x) => t + x.ddb.wru, 0) / xs.length, calls: xs.reduce((t, x) => t + x.ddb.calls, 0) / xs.length },
        sqs: xs[0].sqs, ms: xs.reduce((t, x) => t + x.ms, 0) / xs.length, logBytes: xs.reduce((t, x) => t + x.logBytes, 0) / xs.length, invocations: xs[0].invocations,
      });
      results[mode] = { push: first, pushRebuilt, reevalFirst: runs[0], reevalWarm: mean(warm), nvdAsked: nvdAsked - nvdPush };
      out(`cache ${mode}: re-evaluation RRU ${runs.map((r) => r.ddb.rru).join(', ')}; ms ${runs.map((r) => r.ms.toFixed(0)).join(', ')}${cache ? `; cache ${JSON.stringify(cache.stats)}, ${cache.size} entries, ${(cache.heldBytes / 1e6).toFixed(1)} MB` : ''}`);
    }

    // ---- report ----
    out('\n## Per flow (us-east-1 prices, see bench/cost/run.ts)\n');
    out('| flow | RRU | WRU | DynamoDB calls | SQS requests | Lambda s | Lambda | reads | writes | SQS | logs | total |');
    out('|---|---|---|---|---|---|---|---|---|---|---|---|');
    out(row('push, new container, every layer new, cache off', results.off.push));
    out(row('push, new container, every layer new, cache on', results.on.push));
    out(row('push of the rebuilt app (1 new layer), warm container, cache off', results.off.pushRebuilt));
    out(row('push of the rebuilt app (1 new layer), warm container, cache on', results.on.pushRebuilt));
    out(row('re-evaluation, cache off (baseline: every one)', results.off.reevalWarm));
    out(row('re-evaluation, cache on, first in a container', results.on.reevalFirst));
    out(row('re-evaluation, cache on, warm', results.on.reevalWarm));
    const perPush = dollars(results.on.push).total;
    const perRebuilt = dollars(results.on.pushRebuilt).total;
    const perWarm = dollars(results.on.reevalWarm).total;
    const perFirst = dollars(results.on.reevalFirst).total;
    const perOff = dollars(results.off.reevalWarm).total;
    out(`\nNVD ids asked per re-evaluation: ${results.off.nvdAsked / RESCAN_BATCH} (the corpus holds 40 CVEs; if every one had a ~4 KB record: +${results.off.nvdAsked / RESCAN_BATCH} RRU strongly consistent without the cache, ~0 with it warm)`);

    // The month: each night the rescan queue's containers (the construct's rescan concurrency, 2 by
    // default) each start cold once; the rest of the 5,000 re-evaluations find the packages they share warm.
    const containers = 2;
    const nightlyOn = (containers * perFirst + (MONTH.digests - containers) * perWarm) * MONTH.nights;
    const nightlyOff = MONTH.digests * perOff * MONTH.nights;
    const pushesOn = MONTH.pushes * perPush;
    const pushesOff = MONTH.pushes * dollars(results.off.push).total;
    out('\n## Month: 10,000 pushes + 5,000 live digests re-evaluated nightly (30 runs)\n');
    out('| | cache off | cache on |');
    out('|---|---|---|');
    out(`| pushes | ${usd(pushesOff)} | ${usd(pushesOn)} |`);
    out(`| nightly re-evaluations (150,000) | ${usd(nightlyOff)} | ${usd(nightlyOn)} |`);
    out(`| total | ${usd(pushesOff + nightlyOff)} | ${usd(pushesOn + nightlyOn)} |`);
    out(`| (pushes, if every one were a rebuilt app in a warm container) | ${usd(MONTH.pushes * dollars(results.off.pushRebuilt).total)} | ${usd(MONTH.pushes * perRebuilt)} |`);
    out(`\nTargets: push ≤ $0.001 → new image, cold container ${usd(perPush)} ${perPush <= 0.001 ? 'met' : 'MISSED'}, rebuilt app ${usd(perRebuilt)} ${perRebuilt <= 0.001 ? 'met' : 'MISSED'}; re-evaluation ≤ $0.0001 → warm ${usd(perWarm)} ${perWarm <= 0.0001 ? 'met' : 'MISSED'}, first in a container ${usd(perFirst)}.`);
    out(`Lambda time measured on this machine (${process.arch}); Graviton arm64 timings differ. Total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
    const json = opt('json');
    if (json) writeFileSync(json, JSON.stringify({ results, dollars: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { push: dollars(v.push), reevalFirst: dollars(v.reevalFirst), reevalWarm: dollars(v.reevalWarm) }])), month: { pushesOff, pushesOn, nightlyOff, nightlyOn } }, null, 1));
    dynamodb.destroy();
    sqs.destroy();
  } finally {
    await Promise.all([ddb.stop(), sqsServer.stop(), registry.stop()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
