/**
 * The pipeline's ports on AWS, built from the environment the CDK construct sets (the Lambdas' one
 * source of configuration). A handler builds one {@link AwsPipeline} per execution environment, on its
 * first invocation, and reuses its clients — DynamoDB, SQS, ECR, Secrets Manager, registry clients
 * with their ECR tokens — across invocations.
 *
 * Environment (every function gets the subset it needs; a missing one is a {@link PipelineConfigError}
 * naming it):
 *
 * | variable | what |
 * |---|---|
 * | `VERDICT_TABLE` | verdict table (verdict-store.ts); also holds scan claims and the notification ledger |
 * | `ADVISORY_TABLE` | advisory table (advisory-store.ts) |
 * | `LAYER_TABLE` | layer cache table (layer-cache.ts) |
 * | `SCAN_QUEUE_URL`, `RESCAN_QUEUE_URL` | the push queue and the rescan queue |
 * | `FEED_SYNC_QUEUE_URL` | feed-sync: one message per feed, continued across invocations (feed-sync-continuation.ts); absent: every feed inline per scheduled run |
 * | `POLICY_JSON` | the policy as JSON (parsePolicy reads JSON, a subset of YAML); absent: the default policy |
 * | `FEEDS` | comma-separated feed URLs (or, locally, paths): OSV exports, the NVD CVE API 2.0, the CISA KEV catalog |
 * | `NVD_API_KEY_SECRET_ID` | the Secrets Manager secret holding the NVD API key (lib/aws/nvd-api-key.ts); absent: `NVD_API_KEY`, else no key (NVD's lower rate limit) |
 * | `TRUSTED_REGISTRIES` | comma-separated `registry/repository` patterns for admission; empty: any |
 * | `REPOSITORIES` | comma-separated repository names to sweep, or `*` (default) |
 * | `SLACK_SECRET_ARN` | the Secrets Manager secret holding the Slack webhook URL; absent: no Slack |
 * | `TRUSTCTL_SLACK_WEBHOOK_URL` | local runs only: the webhook URL itself (lib/notify's variable), when there is no secret |
 * | `MAX_VERDICT_AGE_MS` | admission's oldest accepted verdict (default 7 days) |
 * | `API_TOKEN_SECRET_ARN` | trust-api behind a public Function URL: the secret holding the bearer token every request must carry |
 * | `LIVE_WINDOW_DAYS` | nightly: a digest seen at admission, pushed or pulled within this many days is live: re-evaluated, or swept for a scan (default 30) |
 * | `NIGHTLY_MAX_SWEEP_SCANS` | nightly: scans of images without a verdict one run enqueues at most, newest first (default 500) |
 * | `RECORD_SIGHTINGS` | trust-api: `true` records admission sightings on the verdict table (UpdateItem; lib/admission/sightings.ts); absent: read-only |
 * | `NIGHTLY_HISTORY_RETENTION_DAYS` | scan-worker: days a nightly re-evaluation's history item is kept (TTL; default 90, verdict-store.ts) |
 * | `SCAN_RETRY_BASE_SECONDS`, `SCAN_RETRY_MAX_SECONDS` | scan-worker: a failed message comes back after base × 2^(receives − 1) seconds, at most max (defaults 30, 900; lib/engine/pipeline/retries.ts) |
 * | `SCAN_MAX_ATTEMPTS` | scan-worker: the receive on which a scan that hits its deadline is recorded as unscannable (default 4: one short of the DLQ) |
 * | `SCAN_MAX_TOTAL_SECONDS` | scan-worker: also give up once this long has passed since the first receive (default: attempts only) |
 * | `TRUSTCTL_REGISTRY_OVERRIDE` | local runs only: `<registry host>=<host:port>[,…]` serves a registry (ECR) from elsewhere |
 * | `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_ECR` | local runs only: honoured by the SDK itself; a local run sweeps ECR only with an ECR endpoint |
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NVD_API_KEY_ENV, NVD_API_KEY_SECRET_ENV, nvdApiKeyFromEnv } from './nvd-api-key';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AdmissionController } from '../admission/decide';
import { AdmissionSightings } from '../admission/sightings';
import { createTrustHandler, type TrustHandler } from '../admission/server';
import { openFeed, type FeedSource } from '../engine/advisories/feed';
import { allChecks } from '../engine/checks/checks';
import type { Check } from '../engine/checks/types';
import { TrustError } from '../engine/errors';
import { DEFAULT_LIMITS, type Limits } from '../engine/limits';
import { layerConcurrency } from '../engine/layer-pool';
import type {
  AdvisoryPort,
  FanOutPorts,
  FeedSyncPorts,
  NightlyPorts,
  PipelineLogger,
  RegistryAccess,
  TagRemoval,
  ScanPorts,
} from '../engine/pipeline/ports';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../engine/pipeline/retries';
import { DEFAULT_POLICY } from '../engine/policy/default-policy';
import { parsePolicy, type Policy } from '../engine/policy/schema';
import { RegistryClient } from '../engine/registry/client';
import type { CredentialProvider } from '../engine/registry/source';
import { SCHEMES } from '../engine/versions/schemes';
import { MemoryNotificationLedger } from '../notify/ledger';
import { SlackNotifier } from '../notify/slack';
import { EnvWebhookUrl, SecretsManagerWebhookUrl, WEBHOOK_URL_ENV } from '../notify/webhook-url';
import { DynamoAdvisoryStore } from './advisory-store';
import { SharedAdvisoryCache } from '../engine/advisories/shared-cache';
import { EcrCredentialProvider, parseEcrHost } from './ecr-credentials';
import type { Digest } from '../engine/model';
import { untagEcrImage } from './ecr-untag';
import { traced } from './pipeline-logging';
import { EcrImageCatalog } from './ecr-catalog';
import { RegistryImageCatalog } from '../local/pipeline/registry-catalog';
import { DynamoLayerCache } from './layer-cache';
import { DynamoNotificationLedger } from './notification-ledger';
import { SlackPipelineNotifier } from './pipeline-notifier';
import { SqsMessageVisibility } from './message-visibility';
import { SqsRescanQueue } from './rescan-queue';
import { DynamoScanClaims } from './scan-claims';
import { SqsFeedSyncQueue } from './feed-sync-queue';
import type { FeedContinuationPorts } from '../engine/pipeline/feed-sync-continuation';
import { DynamoVerdictStore } from './verdict-store';

/** A configuration variable is missing or malformed. The message names the variable, never a secret's value. */
export class PipelineConfigError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PIPELINE_CONFIG', message, options);
  }
}

/** The pipeline's configuration, read from the environment by {@link readPipelineConfig}. */
export interface PipelineConfig {
  readonly verdictTable?: string;
  readonly advisoryTable?: string;
  readonly layerTable?: string;
  readonly scanQueueUrl?: string;
  readonly rescanQueueUrl?: string;
  /** FEED_SYNC_QUEUE_URL: the feed-sync queue (one message per feed); absent: feed-sync syncs every feed in its scheduled run. */
  readonly feedSyncQueueUrl?: string;
  readonly policy: Policy;
  readonly feeds: readonly string[];
  readonly trustedRegistries: readonly string[];
  readonly repositories: '*' | readonly string[];
  readonly slackSecretArn?: string;
  /** NVD_API_KEY_SECRET_ID: the secret holding the NVD API key. */
  readonly nvdApiKeySecretId?: string;
  /** NVD_API_KEY: the key itself (local runs; the secret wins). */
  readonly nvdApiKey?: string;
  /** True when TRUSTCTL_SLACK_WEBHOOK_URL holds the webhook URL itself (used by local runs only; SLACK_SECRET_ARN wins). */
  readonly slackWebhookFromEnv: boolean;
  readonly apiTokenSecretArn?: string;
  readonly maxVerdictAgeMs?: number;
  readonly liveWindowDays: number;
  /** NIGHTLY_MAX_SWEEP_SCANS: scans one nightly run enqueues at most (absent: the flow's default, 500). */
  readonly maxSweepScans?: number;
  /** RECORD_SIGHTINGS=true: the trust API records admission sightings (needs dynamodb:UpdateItem on the verdict table). */
  readonly recordSightings: boolean;
  /** NIGHTLY_HISTORY_RETENTION_DAYS: how long nightly re-evaluation history items are kept (absent: the store's default). */
  readonly nightlyHistoryRetentionDays?: number;
  /** SCAN_RETRY_BASE_SECONDS, SCAN_RETRY_MAX_SECONDS, SCAN_MAX_ATTEMPTS, SCAN_MAX_TOTAL_SECONDS over DEFAULT_RETRY_POLICY. */
  readonly retries: RetryPolicy;
  /** Registry host → the host:port that serves it (local runs). */
  readonly registryOverrides: ReadonlyMap<string, string>;
  /**
   * AWS_LAMBDA_FUNCTION_MEMORY_SIZE (set by the Lambda runtime), in MB: the memory a scan's layers in
   * flight are sized from (lib/engine/layer-pool.ts). Absent outside Lambda: the machine's.
   */
  readonly lambdaMemoryMb?: number;
  /** True when an ECR API endpoint is configured (AWS_ENDPOINT_URL_ECR): a local run sweeps ECR only then. */
  readonly ecrEndpoint: boolean;
  /**
   * True when a local-run variable is set (an endpoint or registry override): only then may the Slack
   * webhook be plain http to a loopback address (the tests' Slack server).
   */
  readonly localRun: boolean;
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:]+\](?::\d{1,5})?$/;

/** Parses `TRUSTCTL_REGISTRY_OVERRIDE`: `<registry>=<host:port>` pairs, comma-separated. */
export function parseRegistryOverrides(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of list(value)) {
    const eq = pair.indexOf('=');
    const from = pair.slice(0, eq).trim();
    const to = pair.slice(eq + 1).trim();
    if (eq <= 0 || !HOST.test(from) || !HOST.test(to)) throw new PipelineConfigError(`TRUSTCTL_REGISTRY_OVERRIDE: ${JSON.stringify(pair.slice(0, 200))} is not <registry host>=<host:port>`);
    out.set(from, to);
  }
  return out;
}

function parseFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new PipelineConfigError(`${name}: ${JSON.stringify(raw.slice(0, 20))} is not true or false`);
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new PipelineConfigError(`${name}: ${JSON.stringify(raw.slice(0, 50))} is not a positive number`);
  return n;
}

/** The nightly run's own settings (LIVE_WINDOW_DAYS, NIGHTLY_MAX_SWEEP_SCANS). */
export interface NightlySettings {
  readonly liveWindowDays: number;
  readonly maxSweepScans?: number;
}

/**
 * Reads LIVE_WINDOW_DAYS (default 30) and NIGHTLY_MAX_SWEEP_SCANS (a whole number ≥ 0); throws
 * {@link PipelineConfigError} naming a malformed one. The nightly handler reads them on every run.
 */
export function readNightlySettings(env: NodeJS.ProcessEnv = process.env): NightlySettings {
  const raw = env.NIGHTLY_MAX_SWEEP_SCANS?.trim();
  let maxSweepScans: number | undefined;
  if (raw) {
    maxSweepScans = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(maxSweepScans)) throw new PipelineConfigError(`NIGHTLY_MAX_SWEEP_SCANS: ${JSON.stringify(raw.slice(0, 50))} is not a whole number`);
  }
  return { liveWindowDays: positiveNumber(env, 'LIVE_WINDOW_DAYS') ?? 30, ...(maxSweepScans !== undefined ? { maxSweepScans } : {}) };
}

/** The retry policy from SCAN_RETRY_BASE_SECONDS, SCAN_RETRY_MAX_SECONDS, SCAN_MAX_ATTEMPTS, SCAN_MAX_TOTAL_SECONDS. */
function readRetryPolicy(env: NodeJS.ProcessEnv): RetryPolicy {
  const attempts = positiveNumber(env, 'SCAN_MAX_ATTEMPTS');
  if (attempts !== undefined && !Number.isInteger(attempts)) throw new PipelineConfigError(`SCAN_MAX_ATTEMPTS: ${attempts} is not a whole number`);
  const total = positiveNumber(env, 'SCAN_MAX_TOTAL_SECONDS');
  return {
    baseDelaySeconds: positiveNumber(env, 'SCAN_RETRY_BASE_SECONDS') ?? DEFAULT_RETRY_POLICY.baseDelaySeconds,
    maxDelaySeconds: positiveNumber(env, 'SCAN_RETRY_MAX_SECONDS') ?? DEFAULT_RETRY_POLICY.maxDelaySeconds,
    maxScanAttempts: attempts ?? DEFAULT_RETRY_POLICY.maxScanAttempts,
    ...(total !== undefined ? { maxScanTimeMs: total * 1000 } : {}),
  };
}

/** Reads the configuration from `env`; throws {@link PipelineConfigError} naming a malformed variable. */
export function readPipelineConfig(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  let policy = DEFAULT_POLICY;
  const policyJson = env.POLICY_JSON?.trim();
  if (policyJson) {
    try {
      policy = parsePolicy(policyJson, 'POLICY_JSON');
    } catch (err) {
      throw new PipelineConfigError(`POLICY_JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const repos = env.REPOSITORIES?.trim();
  const opt = (name: string): string | undefined => env[name]?.trim() || undefined;
  return {
    ...(opt('VERDICT_TABLE') ? { verdictTable: opt('VERDICT_TABLE') } : {}),
    ...(opt('ADVISORY_TABLE') ? { advisoryTable: opt('ADVISORY_TABLE') } : {}),
    ...(opt('LAYER_TABLE') ? { layerTable: opt('LAYER_TABLE') } : {}),
    ...(opt('SCAN_QUEUE_URL') ? { scanQueueUrl: opt('SCAN_QUEUE_URL') } : {}),
    ...(opt('RESCAN_QUEUE_URL') ? { rescanQueueUrl: opt('RESCAN_QUEUE_URL') } : {}),
    ...(opt('FEED_SYNC_QUEUE_URL') ? { feedSyncQueueUrl: opt('FEED_SYNC_QUEUE_URL') } : {}),
    policy,
    feeds: list(env.FEEDS),
    trustedRegistries: list(env.TRUSTED_REGISTRIES),
    repositories: !repos || repos === '*' ? '*' : list(repos),
    ...(opt('SLACK_SECRET_ARN') ? { slackSecretArn: opt('SLACK_SECRET_ARN') } : {}),
    ...(opt(NVD_API_KEY_SECRET_ENV) ? { nvdApiKeySecretId: opt(NVD_API_KEY_SECRET_ENV) } : {}),
    ...(opt(NVD_API_KEY_ENV) ? { nvdApiKey: opt(NVD_API_KEY_ENV) } : {}),
    slackWebhookFromEnv: Boolean(opt(WEBHOOK_URL_ENV)),
    ...(opt('API_TOKEN_SECRET_ARN') ? { apiTokenSecretArn: opt('API_TOKEN_SECRET_ARN') } : {}),
    ...(positiveNumber(env, 'MAX_VERDICT_AGE_MS') !== undefined ? { maxVerdictAgeMs: positiveNumber(env, 'MAX_VERDICT_AGE_MS') } : {}),
    ...readNightlySettings(env),
    recordSightings: parseFlag(env, 'RECORD_SIGHTINGS'),
    ...(positiveNumber(env, 'NIGHTLY_HISTORY_RETENTION_DAYS') !== undefined ? { nightlyHistoryRetentionDays: positiveNumber(env, 'NIGHTLY_HISTORY_RETENTION_DAYS') } : {}),
    retries: readRetryPolicy(env),
    ...(positiveNumber(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE') !== undefined ? { lambdaMemoryMb: positiveNumber(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE') } : {}),
    registryOverrides: parseRegistryOverrides(env.TRUSTCTL_REGISTRY_OVERRIDE),
    ecrEndpoint: Boolean(opt('AWS_ENDPOINT_URL_ECR') || opt('AWS_ENDPOINT_URL')),
    localRun: Boolean(opt('TRUSTCTL_REGISTRY_OVERRIDE') || opt('AWS_ENDPOINT_URL_DYNAMODB') || opt('AWS_ENDPOINT_URL_SQS') || opt('AWS_ENDPOINT_URL')),
  };
}

/** A required variable's value, or {@link PipelineConfigError}. */
function need<K extends keyof PipelineConfig>(config: PipelineConfig, key: K, variable: string): NonNullable<PipelineConfig[K]> {
  const v = config[key];
  if (v === undefined || v === null || v === '') throw new PipelineConfigError(`${variable} is not set`);
  return v as NonNullable<PipelineConfig[K]>;
}

/**
 * Registry clients by host, one per host for the life of the process (their bearer tokens and ECR
 * credentials are cached inside). A host in `overrides` is served by another host:port — a local
 * registry standing in for ECR — while events and verdicts keep naming the original.
 */
export class PipelineRegistryAccess implements RegistryAccess {
  private readonly clients = new Map<string, RegistryClient>();

  private readonly ecrClients = new Map<string, ECRClient>();

  constructor(private readonly opts: {
    readonly limits: Limits;
    readonly overrides?: ReadonlyMap<string, string>;
    readonly credentials?: CredentialProvider;
    /** The ECR API client of a region (tests and custom endpoints); default: the SDK's, per region. */
    readonly ecrFor?: (region: string, fips: boolean) => ECRClient;
  }) {}

  /**
   * Removes a stale trust tag without deleting the image: on ECR through the ECR API (a DELETE by tag
   * on ECR's registry API is no tag-only delete), elsewhere — and for a host served by an override —
   * through the registry API.
   */
  async untag(registry: string, repository: string, digest: Digest, tag: string): Promise<TagRemoval> {
    const ecr = this.opts.overrides?.has(registry) ? undefined : parseEcrHost(registry);
    if (!ecr) return this.client(registry).untag(repository, digest, tag);
    const key = `${ecr.region}/${ecr.fips}`;
    let c = this.ecrClients.get(key);
    if (!c) {
      c = this.opts.ecrFor?.(ecr.region, ecr.fips) ?? traced(new ECRClient({ region: ecr.region, useFipsEndpoint: ecr.fips, maxAttempts: 8 }));
      this.ecrClients.set(key, c);
    }
    return untagEcrImage(c, { registryId: ecr.account, repository, digest, tag });
  }

  /** The client for `registry` (created once). */
  client(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      c = new RegistryClient({ registry: this.opts.overrides?.get(registry) ?? registry, limits: this.opts.limits, ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}) });
      this.clients.set(registry, c);
    }
    return c;
  }
}

/**
 * The execution environment's shared advisory cache (lib/engine/advisories/shared-cache.ts): module
 * scope, so it is kept across warm invocations of a Lambda and shared by every {@link AwsPipeline} of
 * the process (entries are keyed by advisory table and feed revision).
 */
let containerCache: SharedAdvisoryCache | undefined;

/** The process's {@link SharedAdvisoryCache}, made on first use with the default bounds. */
export function containerAdvisoryCache(): SharedAdvisoryCache {
  containerCache ??= new SharedAdvisoryCache();
  return containerCache;
}

/** Options of {@link AwsPipeline}. */
export interface AwsPipelineOptions {
  /**
   * The advisory cache evaluations read through; `false`: none (every read goes to DynamoDB, strongly
   * consistent — the cost bench's baseline). Default: {@link containerAdvisoryCache}.
   */
  readonly advisoryCache?: SharedAdvisoryCache | false;
}

/** SDK clients the pipeline uses; tests and callers may pass their own. */
export interface AwsClients {
  readonly dynamodb?: DynamoDBClient;
  readonly sqs?: SQSClient;
  readonly ecr?: ECRClient;
  readonly secrets?: SecretsManagerClient;
}

/**
 * The ports of every flow, on AWS, from one configuration. Everything is created on first use and
 * kept: a Lambda execution environment builds one and reuses it for every invocation.
 */
export class AwsPipeline {
  readonly limits: Limits = DEFAULT_LIMITS;
  readonly checks: readonly Check[] = allChecks();
  private readonly cache = new Map<string, unknown>();

  constructor(readonly config: PipelineConfig, private readonly clients: AwsClients = {}, readonly logger?: PipelineLogger, private readonly options: AwsPipelineOptions = {}) {}

  private once<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  /** DynamoDB; the SDK retries throttling with backoff (RELIABILITY.md 31), given room to. */
  get dynamodb(): DynamoDBClient {
    return this.clients.dynamodb ?? this.once('dynamodb', () => traced(new DynamoDBClient({ maxAttempts: 8 })));
  }

  /** SQS; queue URLs never redirect requests (a local endpoint would otherwise be bypassed). */
  get sqs(): SQSClient {
    return this.clients.sqs ?? this.once('sqs', () => traced(new SQSClient({ maxAttempts: 8, useQueueUrlAsEndpoint: false })));
  }

  get ecr(): ECRClient {
    return this.clients.ecr ?? this.once('ecr', () => traced(new ECRClient({ maxAttempts: 8 })));
  }

  get verdictStore(): DynamoVerdictStore {
    const days = this.config.nightlyHistoryRetentionDays;
    return this.once('verdicts', () => new DynamoVerdictStore({
      client: this.dynamodb,
      tableName: need(this.config, 'verdictTable', 'VERDICT_TABLE'),
      ...(days !== undefined ? { nightlyHistoryRetentionMs: Math.round(days * 24 * 60 * 60 * 1000) } : {}),
    }));
  }

  get advisoryStore(): DynamoAdvisoryStore {
    return this.once('advisories', () => new DynamoAdvisoryStore({ client: this.dynamodb, tableName: need(this.config, 'advisoryTable', 'ADVISORY_TABLE') }));
  }

  /** The advisory table read eventually consistently: the shared cache's reader once a feed revision has settled. */
  get eventualAdvisoryStore(): DynamoAdvisoryStore {
    return this.once('advisoriesEventual', () => new DynamoAdvisoryStore({ client: this.dynamodb, tableName: need(this.config, 'advisoryTable', 'ADVISORY_TABLE'), consistentReads: false }));
  }

  /** The advisory cache evaluations read through, or undefined when turned off. */
  get advisoryCache(): SharedAdvisoryCache | undefined {
    return this.options.advisoryCache === false ? undefined : (this.options.advisoryCache ?? containerAdvisoryCache());
  }

  get registry(): PipelineRegistryAccess {
    return this.once('registry', () => new PipelineRegistryAccess({
      limits: this.limits,
      overrides: this.config.registryOverrides,
      credentials: new EcrCredentialProvider(this.clients.ecr ? { clientFor: () => this.clients.ecr! } : {}),
      ...(this.clients.ecr ? { ecrFor: () => this.clients.ecr! } : {}),
    }));
  }

  /** The configured feeds as sources (nothing is read until a sync). */
  feedSources(): Promise<FeedSource[]> {
    return this.once('feeds', () => {
      // The NVD API key: the secret when configured (it wins), else the key itself (local runs).
      const apiKey = nvdApiKeyFromEnv({
        ...(this.config.nvdApiKeySecretId ? { [NVD_API_KEY_SECRET_ENV]: this.config.nvdApiKeySecretId } : this.config.nvdApiKey ? { [NVD_API_KEY_ENV]: this.config.nvdApiKey } : {}),
      }, this.clients.secrets);
      const p = (async () => (await Promise.all(this.config.feeds.map((f) => openFeed(f, { nvd: apiKey ? { apiKey } : {} })))).flat())();
      // A failed open must not stay cached: the next invocation tries again.
      p.catch(() => this.cache.delete('feeds'));
      return p;
    });
  }

  /**
   * The advisory store with the configured feeds' source ids, and — unless turned off — the reader
   * of each evaluation: the container's shared cache, keyed by the advisory table and the feed revision.
   */
  async advisories(): Promise<AdvisoryPort> {
    const sources = (await this.feedSources()).map((f) => f.source);
    const store = this.advisoryStore;
    const cache = this.advisoryCache;
    if (!cache) return { store, schemes: SCHEMES, sources };
    const namespace = need(this.config, 'advisoryTable', 'ADVISORY_TABLE');
    const eventual = this.eventualAdvisoryStore;
    return { store, schemes: SCHEMES, sources, readerFor: (feeds) => cache.view(store, feeds, { namespace, eventual }) };
  }

  /**
   * Slack through the webhook URL in SLACK_SECRET_ARN — or, in a local run (lib/local/pipeline: no
   * Secrets Manager), TRUSTCTL_SLACK_WEBHOOK_URL — deduplicated on the verdict table; undefined when
   * neither applies.
   */
  get notifier(): SlackPipelineNotifier | undefined {
    const fromEnv = this.config.localRun && this.config.slackWebhookFromEnv;
    if (!this.config.slackSecretArn && !fromEnv) return undefined;
    return this.once('notifier', () => {
      const webhook = this.config.slackSecretArn
        ? new SecretsManagerWebhookUrl({
            secretId: this.config.slackSecretArn,
            client: this.clients.secrets ?? traced(new SecretsManagerClient({ maxAttempts: 5 })),
            allowInsecureLoopback: this.config.localRun,
          })
        : new EnvWebhookUrl({ allowInsecureLoopback: true });
      const table = this.config.verdictTable;
      // Without the table, dedupe holds within this execution environment only: a record retried on
      // another instance may post again. Better a rare duplicate than a missed quarantine.
      if (!table) this.logger?.warn('VERDICT_TABLE is not set: Slack notifications are deduplicated per instance only');
      const ledger = table ? new DynamoNotificationLedger({ client: this.dynamodb, tableName: table }) : new MemoryNotificationLedger();
      return new SlackPipelineNotifier(new SlackNotifier({ webhook, ledger, ...(this.logger ? { logger: this.logger } : {}) }));
    });
  }

  /** Ports of scanPushed / reevaluate (the scan-worker). */
  async scanPorts(opts: { readonly claimLeaseMs?: () => number } = {}): Promise<ScanPorts> {
    const layerTable = this.config.layerTable;
    return {
      store: this.verdictStore,
      advisories: await this.advisories(),
      policy: this.config.policy,
      checks: this.checks,
      limits: this.limits,
      registry: this.registry,
      ...(layerTable ? { cache: this.once('layers', () => new DynamoLayerCache(this.dynamodb, layerTable)) } : {}),
      claims: this.once('claims', () => new DynamoScanClaims({ client: this.dynamodb, tableName: need(this.config, 'verdictTable', 'VERDICT_TABLE') })),
      ...(opts.claimLeaseMs ? { claimLeaseMs: opts.claimLeaseMs } : {}),
      retries: this.config.retries,
      layerConcurrency: this.layerConcurrency,
      // Layer workers (`layerWorkers: { checks: {} }`, the spec of allChecks()) stay off until they
      // are measured to beat the main thread on a Lambda (issue 16).
      ...(this.logger ? { logger: this.logger } : {}),
    };
  }

  /**
   * Layers one scan reads at once: the cores, bounded by the Lambda's configured memory (a 2,048 MB
   * scan-worker reads 2 with the default limits, a 1,024 MB one 1) — lib/engine/layer-pool.ts.
   */
  get layerConcurrency(): number {
    const mb = this.config.lambdaMemoryMb;
    return layerConcurrency(this.limits, mb !== undefined ? { memoryBytes: mb * 1024 * 1024 } : {});
  }

  /** ChangeMessageVisibility of failed scan-worker records: the configured queue URLs first (local runs), else each record's ARN. */
  get messageVisibility(): SqsMessageVisibility {
    return this.once('visibility', () => new SqsMessageVisibility({
      client: this.sqs,
      queueUrls: [this.config.scanQueueUrl, this.config.rescanQueueUrl],
      ...(this.logger ? { logger: this.logger } : {}),
    }));
  }

  /** Ports of fanOut (verdict-fanout). */
  fanOutPorts(): FanOutPorts {
    const notifier = this.notifier;
    return { registry: this.registry, ...(notifier ? { notifier } : {}), ...(this.logger ? { logger: this.logger } : {}) };
  }

  get rescanQueue(): SqsRescanQueue {
    return this.once('rescan', () => new SqsRescanQueue({ client: this.sqs, queueUrl: need(this.config, 'rescanQueueUrl', 'RESCAN_QUEUE_URL') }));
  }

  /** Ports of syncFeedsAndTarget (feed-sync). */
  async feedSyncPorts(): Promise<FeedSyncPorts> {
    const notifier = this.notifier;
    return {
      store: this.verdictStore,
      advisories: await this.advisories(),
      feeds: await this.feedSources(),
      queue: this.rescanQueue,
      policy: this.config.policy,
      ...(notifier ? { notifier } : {}),
      ...(this.logger ? { logger: this.logger } : {}),
    };
  }

  /**
   * Ports of feed-sync with one feed per message (FEED_SYNC_QUEUE_URL): the feed-sync queue, and a lease
   * per feed on the advisory table (`CLAIM#feed-sync#…` items, scan-claims.ts) — the table feed-sync
   * already writes, so no other grant is needed.
   */
  async feedContinuationPorts(): Promise<FeedContinuationPorts> {
    const queueUrl = need(this.config, 'feedSyncQueueUrl', 'FEED_SYNC_QUEUE_URL');
    return {
      ...(await this.feedSyncPorts()),
      feedQueue: this.once('feedQueue', () => new SqsFeedSyncQueue({ client: this.sqs, queueUrl })),
      claims: this.once('feedClaims', () => new DynamoScanClaims({ client: this.dynamodb, tableName: need(this.config, 'advisoryTable', 'ADVISORY_TABLE') })),
    };
  }

  /** Ports of nightly: every message to the rescan queue; admission sightings from the verdict table. */
  nightlyPorts(): NightlyPorts {
    return {
      store: this.verdictStore,
      queue: this.rescanQueue,
      sightings: this.verdictStore,
      // A local run has no ECR API unless one is configured: it sweeps the registries it serves (registryOverrides).
      ...(this.config.localRun && !this.config.ecrEndpoint
        ? (this.config.registryOverrides.size > 0 ? { catalog: this.once('registryCatalog', () => new RegistryImageCatalog({ registry: this.registry, registries: [...this.config.registryOverrides.keys()], repositories: this.config.repositories })) } : {})
        : { catalog: this.once('catalog', () => new EcrImageCatalog({ client: this.ecr, repositories: this.config.repositories })) }),
      liveWindowDays: this.config.liveWindowDays,
      ...(this.config.maxSweepScans !== undefined ? { maxSweepScans: this.config.maxSweepScans } : {}),
      ...(this.logger ? { logger: this.logger } : {}),
    };
  }

  /** The bearer token check of a public trust API (API_TOKEN_SECRET_ARN); undefined when the URL uses IAM auth. */
  get apiToken(): BearerTokenCheck | undefined {
    const secretId = this.config.apiTokenSecretArn;
    if (!secretId) return undefined;
    return this.once('apiToken', () => new BearerTokenCheck({ secretId, client: this.clients.secrets ?? traced(new SecretsManagerClient({ maxAttempts: 5 })) }));
  }

  /** The admission webhook and verdict API routes (lib/admission/server.ts) over the verdict table, for trust-api. */
  trustHandler(): TrustHandler {
    return this.once('trust', () => {
      const log = this.logger;
      const controller = new AdmissionController(
        { trustedRegistries: [...this.config.trustedRegistries], ...(this.config.maxVerdictAgeMs !== undefined ? { maxVerdictAge: this.config.maxVerdictAgeMs } : {}) },
        {
          store: this.verdictStore,
          ...(log ? { log: (message: string) => log.warn(message) } : {}),
          // Only with RECORD_SIGHTINGS: a read-only role (dynamodb:GetItem/Query) records nothing.
          ...(this.config.recordSightings ? { sightings: new AdmissionSightings({ writer: this.verdictStore, ...(log ? { log: (line: string) => log.warn(line) } : {}) }) } : {}),
        },
      );
      return createTrustHandler({ controller, ...(log ? { log: (line: string) => log.warn(line) } : {}) });
    });
  }
}

/** Options of {@link BearerTokenCheck}. */
export interface BearerTokenCheckOptions {
  readonly secretId: string;
  readonly client: SecretsManagerClient;
  /** How long the token read is reused. Default 5 minutes (a rotated token is seen soon). */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The trust API's bearer token check for a public Function URL: `Authorization: Bearer <token>` must
 * equal the secret's `SecretString`, compared in constant time (hashes of both, so lengths leak
 * nothing). The token is read from Secrets Manager and cached; it is never logged or echoed.
 */
export class BearerTokenCheck {
  private cached?: { readonly digest: Buffer; readonly until: number };
  private readonly now: () => number;

  constructor(private readonly opts: BearerTokenCheckOptions) {
    this.now = opts.now ?? Date.now;
  }

  private async expected(): Promise<Buffer> {
    if (this.cached && this.cached.until > this.now()) return this.cached.digest;
    let out;
    try {
      out = await this.opts.client.send(new GetSecretValueCommand({ SecretId: this.opts.secretId }));
    } catch (err) {
      throw new PipelineConfigError(`cannot read the API token secret ${this.opts.secretId}`, { cause: err });
    }
    const token = out.SecretString?.trim();
    if (!token) throw new PipelineConfigError(`the API token secret ${this.opts.secretId} has no SecretString`);
    this.cached = { digest: sha256(token), until: this.now() + (this.opts.ttlMs ?? 5 * 60_000) };
    return this.cached.digest;
  }

  /** True when `authorization` (the header's value) carries the token. */
  async allows(authorization: string | undefined): Promise<boolean> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const expected = await this.expected();
    return m !== null && timingSafeEqual(sha256(m[1]), expected);
  }
}

/**
 * A value made on first use and kept — the handlers' module-scope pipeline — unless making it failed,
 * in which case the next call tries again (a configuration fixed by a redeploy, a transient error).
 */
export function lazily<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    if (!made) {
      const value = make();
      if (value instanceof Promise) value.catch(() => { made = undefined; });
      made = { value };
    }
    return made.value;
  };
}
