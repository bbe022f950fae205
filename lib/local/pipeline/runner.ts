/**
 * The serverless pipeline on a laptop (issue "The serverless pipeline", item 4): the very Lambda
 * handlers of lambdas/, driven the way Lambda drives them, against real local servers — DynamoDB
 * Local (tables and the verdict stream), an SQS-protocol server (fauxqs: the scan and rescan queues,
 * each with its DLQ and redrive policy), and a registry standing in for ECR (`registryOverrides`).
 *
 * What AWS wires, this wires the same way: the EventBridge rule's SQS target is {@link LocalPipeline.pushEvent}
 * (the event JSON as the message body), the SQS event source mappings are {@link SqsEventSource}s
 * (partial batch responses, visibility timeout, maxReceiveCount → DLQ), the stream mapping is a
 * {@link StreamEventSource} filtered to `sk = VERDICT`, and the schedules are
 * {@link LocalPipeline.feedSync} / {@link LocalPipeline.nightly} — whose sweep lists the overridden
 * registries through the registry API (`/v2/_catalog`, lib/local/pipeline/registry-catalog.ts), as
 * ECR's DescribeRepositories would. Handlers read their configuration
 * from the environment as on Lambda; the runner sets it before it loads them, so one process runs one
 * pipeline.
 */
import { CreateTableCommand, type CreateTableInput, DescribeTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { tableDefinition as advisoryTableDefinition } from '../../aws/advisory-store';
import { pkSkTable } from '../../aws/dynamodb-table';
import { LAYER_CACHE_TTL_ATTRIBUTE } from '../../aws/layer-cache';
import { DEADLINE_SAFETY_MARGIN_MS } from '../../engine/registry/deadline';
import { QUEUE_MAX_RECEIVE_COUNT } from '../../engine/pipeline/retries';
import { tableDefinition as verdictTableDefinition } from '../../aws/verdict-store';
import { SqsEventSource } from './sqs-event-source';
import { StreamEventSource } from './stream-event-source';

/** Options of {@link startLocalPipeline}. */
export interface LocalPipelineOptions {
  /** DynamoDB Local's endpoint (`http://127.0.0.1:<port>`). */
  readonly dynamodbEndpoint: string;
  /** The SQS-protocol server's endpoint. */
  readonly sqsEndpoint: string;
  /** ECR host → local `host:port` serving it (TRUSTCTL_REGISTRY_OVERRIDE). */
  readonly registryOverrides?: ReadonlyMap<string, string>;
  /** OSV exports feed-sync reads (paths or URLs). */
  readonly feeds?: readonly string[];
  /** The policy as JSON (POLICY_JSON); default: the built-in policy. */
  readonly policyJson?: string;
  /** A Slack webhook URL (loopback http allowed): notifications on transitions. */
  readonly slackWebhookUrl?: string;
  /**
   * REPOSITORIES: the repositories the nightly sweep lists in each overridden registry — names, or
   * patterns like `team/*` (lib/local/pipeline/registry-catalog.ts). Default every repository.
   */
  readonly repositories?: readonly string[];
  /** LIVE_WINDOW_DAYS of the nightly run (default 30); {@link LocalPipeline.nightly} may change it per run. */
  readonly liveWindowDays?: number;
  /** NIGHTLY_MAX_SWEEP_SCANS of the nightly run (default 500); {@link LocalPipeline.nightly} may change it per run. */
  readonly maxSweepScans?: number;
  /** Names are prefixed with this (several pipelines on one DynamoDB Local / fauxqs). Default `trustctl`. */
  readonly prefix?: string;
  /** Visibility timeout of the work queues, seconds (AWS: ≥ 6× the function timeout). Default 30. */
  readonly visibilityTimeoutSeconds?: number;
  /** Receives before a message goes to its DLQ. Default 5. */
  readonly maxReceiveCount?: number;
  /** Pollers of the scan queue (the push mapping's maximum concurrency). Default 2. */
  readonly scanConcurrency?: number;
  /** Pollers of the rescan queue. Default 1. */
  readonly rescanConcurrency?: number;
  /**
   * How long one scan may take, ms: each scan-worker invocation gets a context whose remaining time is
   * this plus DEADLINE_SAFETY_MARGIN_MS — a function timeout that short, as Lambda would report it.
   * Default: a Lambda's longest run (15 minutes).
   */
  readonly scanDeadlineMs?: number;
  /**
   * The scan-worker's retries (SCAN_RETRY_BASE_SECONDS, SCAN_RETRY_MAX_SECONDS, SCAN_MAX_ATTEMPTS,
   * SCAN_MAX_TOTAL_SECONDS; lib/engine/pipeline/retries.ts). Default: the pipeline's defaults.
   */
  readonly scanRetries?: { readonly baseDelaySeconds?: number; readonly maxDelaySeconds?: number; readonly maxScanAttempts?: number; readonly maxScanTimeSeconds?: number };
  /**
   * Wraps each handler invocation (fault injection in tests: a worker that dies mid-batch is a
   * wrapper that throws after the handler ran part of the batch).
   */
  readonly wrapScanWorker?: (handler: (e: SQSEvent) => Promise<SQSBatchResponse>) => (e: SQSEvent) => Promise<SQSBatchResponse>;
  /** Told about handler failures (the mappings retry them). */
  readonly onError?: (where: string, error: unknown) => void;
}

/** A running local pipeline. */
export interface LocalPipeline {
  readonly tables: { readonly verdicts: string; readonly advisories: string; readonly layers: string };
  readonly queues: { readonly scan: string; readonly scanDlq: string; readonly rescan: string; readonly rescanDlq: string };
  readonly sources: { readonly scan: SqsEventSource; readonly rescan: SqsEventSource; readonly fanout: StreamEventSource };
  /** What an EventBridge rule with an SQS target does with an "ECR Image Action" event. */
  pushEvent(event: unknown): Promise<void>;
  /** The feed-sync schedule firing once. */
  feedSync(): Promise<unknown>;
  /**
   * The nightly schedule firing once. `settings` change the nightly run's variables from this run on
   * (the handler reads LIVE_WINDOW_DAYS and NIGHTLY_MAX_SWEEP_SCANS on every run, as a Lambda
   * whose configuration was updated would).
   */
  nightly(settings?: { readonly liveWindowDays?: number; readonly maxSweepScans?: number }): Promise<unknown>;
  /** Resolves when `done()` holds, polling; rejects after `timeoutMs`. */
  until(done: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const creds = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A Lambda context for local invocations: `remainingMs` left (default plenty: a Lambda's longest run). */
function context(name: string, remainingMs = 15 * 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false, functionName: name, functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`, memoryLimitInMB: '2048',
    awsRequestId: `${name}-${Date.now()}`, logGroupName: `/aws/lambda/${name}`, logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined, fail: () => undefined, succeed: () => undefined,
  };
}

async function ensureTable(client: DynamoDBClient, def: CreateTableInput): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: def.TableName }));
    return;
  } catch {
    // not there yet
  }
  await client.send(new CreateTableCommand(def));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: def.TableName! });
}

async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<{ url: string; arn: string }> {
  let url: string;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  } catch {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  }
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  return { url, arn };
}

/** Creates the tables and queues (if absent), sets the handlers' environment, loads them and starts the mappings. */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const prefix = options.prefix ?? 'trustctl';
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: options.dynamodbEndpoint, credentials: creds });
  const streams = new DynamoDBStreamsClient({ region: 'us-east-1', endpoint: options.dynamodbEndpoint, credentials: creds });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: options.sqsEndpoint, credentials: creds, useQueueUrlAsEndpoint: false });

  const tables = { verdicts: `${prefix}-verdicts`, advisories: `${prefix}-advisories`, layers: `${prefix}-layers` };
  await ensureTable(dynamodb, verdictTableDefinition(tables.verdicts));
  await ensureTable(dynamodb, advisoryTableDefinition(tables.advisories));
  await ensureTable(dynamodb, pkSkTable(tables.layers));
  await dynamodb.send(new UpdateTimeToLiveCommand({ TableName: tables.layers, TimeToLiveSpecification: { Enabled: true, AttributeName: LAYER_CACHE_TTL_ATTRIBUTE } })).catch(() => undefined);

  const visibility = String(options.visibilityTimeoutSeconds ?? 30);
  const redrive = (arn: string) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: String(options.maxReceiveCount ?? QUEUE_MAX_RECEIVE_COUNT) });
  const scanDlq = await ensureQueue(sqs, `${prefix}-scan-dlq`, {});
  const rescanDlq = await ensureQueue(sqs, `${prefix}-rescan-dlq`, {});
  const scan = await ensureQueue(sqs, `${prefix}-scan`, { VisibilityTimeout: visibility, RedrivePolicy: redrive(scanDlq.arn) });
  const rescan = await ensureQueue(sqs, `${prefix}-rescan`, { VisibilityTimeout: visibility, RedrivePolicy: redrive(rescanDlq.arn) });

  // The environment the CDK construct gives the functions, pointed at the local servers.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint, AWS_ENDPOINT_URL_SQS: options.sqsEndpoint,
    VERDICT_TABLE: tables.verdicts, ADVISORY_TABLE: tables.advisories, LAYER_TABLE: tables.layers,
    SCAN_QUEUE_URL: scan.url, RESCAN_QUEUE_URL: rescan.url,
    FEEDS: (options.feeds ?? []).join(','),
    TRUSTCTL_REGISTRY_OVERRIDE: [...(options.registryOverrides ?? new Map())].map(([k, v]) => `${k}=${v}`).join(','),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  });
  const retries = options.scanRetries ?? {};
  for (const [name, value] of [
    ['SCAN_RETRY_BASE_SECONDS', retries.baseDelaySeconds], ['SCAN_RETRY_MAX_SECONDS', retries.maxDelaySeconds],
    ['SCAN_MAX_ATTEMPTS', retries.maxScanAttempts], ['SCAN_MAX_TOTAL_SECONDS', retries.maxScanTimeSeconds],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = String(value);
  }
  if (options.policyJson) process.env.POLICY_JSON = options.policyJson;
  if (options.repositories) process.env.REPOSITORIES = options.repositories.join(',');
  const nightlySettings = (settings: { readonly liveWindowDays?: number; readonly maxSweepScans?: number }): void => {
    if (settings.liveWindowDays !== undefined) process.env.LIVE_WINDOW_DAYS = String(settings.liveWindowDays);
    if (settings.maxSweepScans !== undefined) process.env.NIGHTLY_MAX_SWEEP_SCANS = String(settings.maxSweepScans);
  };
  nightlySettings(options);
  if (options.slackWebhookUrl) process.env.TRUSTCTL_SLACK_WEBHOOK_URL = options.slackWebhookUrl;

  // Loaded only now: the handlers read the environment above on their first invocation.
  const scanWorker = (await import('../../../lambdas/scan-worker/handler')).handler;
  const fanout = (await import('../../../lambdas/verdict-fanout/handler')).handler;
  const feedSyncHandler = (await import('../../../lambdas/feed-sync/handler')).handler;
  const nightlyHandler = (await import('../../../lambdas/nightly/handler')).handler;

  const onError = (where: string) => (e: unknown) => options.onError?.(where, e);
  const scanRemainingMs = options.scanDeadlineMs === undefined ? undefined : options.scanDeadlineMs + DEADLINE_SAFETY_MARGIN_MS;
  const invokeScan = (e: SQSEvent) => scanWorker(e, context('scan-worker', scanRemainingMs));
  const scanHandler = options.wrapScanWorker ? options.wrapScanWorker(invokeScan) : invokeScan;
  const sources = {
    scan: new SqsEventSource({ client: sqs, queueUrl: scan.url, handler: scanHandler, batchSize: 1, concurrency: options.scanConcurrency ?? 2, onError: onError('scan-worker') }),
    rescan: new SqsEventSource({ client: sqs, queueUrl: rescan.url, handler: scanHandler, batchSize: 5, concurrency: options.rescanConcurrency ?? 1, onError: onError('scan-worker (rescan)') }),
    fanout: new StreamEventSource({
      dynamodb, streams, tableName: tables.verdicts, batchSize: 10, maxRetryAttempts: 5,
      // The construct's filter criteria: current-verdict items only (history, inventories, claims are not news).
      filter: (r) => r.dynamodb?.Keys?.sk?.S === 'VERDICT' && r.eventName !== 'REMOVE',
      handler: (e: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => fanout(e, context('verdict-fanout')),
      onError: onError('verdict-fanout'),
      onFailure: (records, error) => options.onError?.('verdict-fanout (on-failure destination)', Object.assign(new Error(`${records.length} stream record(s) given up`), { cause: error })),
    }),
  };
  // LATEST: the tables were just created or hold verdicts already fanned out (DynamoDB Local also
  // refuses TRIM_HORIZON on a new empty shard with TrimmedDataAccessException).
  await sources.fanout.start('LATEST');
  await sources.scan.start();
  await sources.rescan.start();

  const scheduled = (detailType: string) => ({ version: '0', id: `local-${Date.now()}`, 'detail-type': detailType, source: 'aws.events', account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {} });
  return {
    tables,
    queues: { scan: scan.url, scanDlq: scanDlq.url, rescan: rescan.url, rescanDlq: rescanDlq.url },
    sources,
    async pushEvent(event) {
      await sqs.send(new SendMessageCommand({ QueueUrl: scan.url, MessageBody: JSON.stringify(event) }));
    },
    feedSync: () => feedSyncHandler(scheduled('Scheduled Event'), context('feed-sync')),
    nightly: (settings = {}) => {
      nightlySettings(settings);
      return nightlyHandler(scheduled('Scheduled Event'), context('nightly'));
    },
    async until(done, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      while (!(await done())) {
        if (Date.now() > end) throw new Error(`local pipeline: condition not reached within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await Promise.all([sources.scan.stop(), sources.rescan.stop(), sources.fanout.stop()]);
      dynamodb.destroy();
      streams.destroy();
      sqs.destroy();
    },
  };
}
