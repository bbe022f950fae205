import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, AlarmStatusWidget, ComparisonOperator, Dashboard, GraphWidget, type IMetric, type Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { CompositePrincipal, Grant, type IPrincipal, type IRole, Role, ServicePrincipal, WebIdentityPrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Architecture, FilterCriteria, FilterRule, FunctionUrlAuthType, Runtime, StartingPosition, Tracing, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { A_PK, A_SK } from '../aws/dynamodb-table';
import { LAYER_CACHE_TTL_ATTRIBUTE } from '../aws/layer-cache';
import { DEFAULT_FEEDS } from '../cli/advisories';
import { parsePolicy, type Policy } from '../engine/policy/schema';
import { DEFAULT_RETRY_POLICY, QUEUE_MAX_RECEIVE_COUNT, SQS_MAX_VISIBILITY_SECONDS } from '../engine/pipeline/retries';

/**
 * Node flags of every function: `--enable-source-maps` makes stack traces name lib/ files and lines
 * (esbuild writes the maps, Node needs the flag to read them); `--max-semi-space-size=16` keeps V8's
 * young generation at Node 20's 32 MiB — Node 24 lets it grow to 128 MiB, which made a 1.3 GB image's
 * scan peak ~100 MiB higher for the same work at the same speed (README "Performance", issue 16).
 */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=16';

/**
 * The Lambda runtime of every function: the newest Node.js runtime aws-cdk-lib knows (cdk-nag's
 * AwsSolutions-L1 / Serverless-LambdaLatestVersion require the latest of the family).
 */
export const PIPELINE_RUNTIME = Runtime.NODEJS_24_X;
/** esbuild's target for {@link PIPELINE_RUNTIME}. */
const ESBUILD_TARGET = 'node24';

/** The sort key of a digest's current verdict in the verdict table (lib/aws/verdict-store.ts); the fan-out only sees those records. */
const VERDICT_SK = 'VERDICT';
/** Partition keys of the Slack notification ledger's items in the verdict table (lib/aws/notification-ledger.ts). */
const LEDGER_PK_PATTERN = 'NOTIFY#*';
/** Partition keys of the verdict table's digest list items, where admission sightings live (lib/aws/verdict-store.ts). */
export const SIGHTING_PK_PATTERN = 'DIGESTS#*';
/** The TTL attribute of every expiring item: layer records, scan claims, ledger claims (lib/aws/layer-cache.ts, scan-claims.ts, notification-ledger.ts). */
const TTL_ATTRIBUTE = LAYER_CACHE_TTL_ATTRIBUTE;

/** Visibility timeout of a work queue per second of the consumer's timeout (AWS: at least 6×; RELIABILITY.md 28). */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** Receives of a work-queue message before it goes to the queue's DLQ (the retry policy's, so its last scan attempt stays below it). */
export const MAX_RECEIVE_COUNT = QUEUE_MAX_RECEIVE_COUNT;
/** Age of the oldest push-queue message that raises the alarm. */
export const SCAN_QUEUE_AGE_ALARM = Duration.minutes(15);
/** Age of the oldest rescan-queue message that raises the alarm. */
export const RESCAN_QUEUE_AGE_ALARM = Duration.hours(6);
/**
 * Age of the oldest feed-sync message that raises the alarm: a feed's message (scheduled or a
 * continuation) is taken within seconds unless feed-sync fails or a feed's chain of continuations stalls.
 */
export const FEED_SYNC_QUEUE_AGE_ALARM = Duration.hours(2);
/** feed-sync's timeout: one continued invocation of a feed (lib/engine/pipeline/feed-sync-continuation.ts). */
export const FEED_SYNC_TIMEOUT = Duration.minutes(15);
/** Age of the verdict stream's newest-read record (verdict-fanout's IteratorAge) that raises the alarm: tags and Slack lag behind verdicts. */
export const FANOUT_ITERATOR_AGE_ALARM = Duration.minutes(5);
/** Period of the trust API's error and throttle alarms: any error or throttle in it raises them (admission fails closed: Pod writes are denied). */
export const TRUST_API_ALARM_PERIOD = Duration.minutes(1);
/** CloudWatch namespace and metric of repositories or registries the nightly sweep could not list. */
export const SWEEP_METRIC_NAMESPACE = 'TrustPipeline';
export const SWEEP_FAILED_METRIC = 'SweepListingFailed';
/** Total size Lambda allows for a function's environment variables (keys and values). */
const LAMBDA_ENV_LIMIT_BYTES = 4096;
/** What a deploy-time value (ARN, URL, table name) is assumed to take in the environment. */
const TOKEN_VALUE_BYTES = 256;

/** ECR repository names (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html), optionally ending in `*` (a prefix). */
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_PREFIX = /^[a-z0-9][a-z0-9._/-]*\*$/;

/** Settings of {@link TrustPipeline}. Every one is optional. */
export interface TrustPipelineProps {
  /**
   * The ECR repositories whose pushes are scanned and which the nightly sweep covers: exact names,
   * or prefixes ending in `*` (`team-a/*`). Filters the push rule on `detail.repository-name` and
   * scopes the ECR permissions to those repositories.
   * @default 'all' — every repository of the stack's account and region
   */
  readonly repositories?: readonly string[] | 'all';
  /**
   * The admission allow-list: `registry/repository` patterns an admitted image must match
   * (`123456789012.dkr.ecr.eu-west-1.amazonaws.com/*`, `ghcr.io/acme/*`); an image from anywhere else
   * is denied without contacting its registry. Passed to trust-api as `TRUSTED_REGISTRIES`, comma-separated.
   * @default - no allow-list: any registry (the verdict still decides)
   */
  readonly trustedRegistries?: readonly string[];
  /**
   * The policy file's text (YAML, `kind: Policy`). Parsed and validated at synthesis — a bad policy
   * fails `cdk synth` with the policy's own error — and passed as compact JSON in `POLICY_JSON` to
   * the scan-worker (judging) and feed-sync (its stale-feed rule).
   * @default - the built-in default policy (lib/engine/policy/default-policy.yaml)
   */
  readonly policy?: string;
  /**
   * What errors about `policy` call it (a file name).
   * @default 'TrustPipeline policy'
   */
  readonly policySource?: string;
  /**
   * Feed URLs feed-sync ingests, passed as `FEEDS`: OSV exports (`https://…/<Ecosystem>/all.zip`), the
   * NVD CVE API 2.0 (`https://services.nvd.nist.gov/rest/json/cves/2.0`, read incrementally within
   * NVD's rate limits) and the CISA KEV catalog JSON; each is told apart by content (or, for the NVD
   * API, by its URL path).
   * @default - osv.dev's exports of every ecosystem the catalogers report, the NVD API and CISA's KEV catalog (lib/cli/advisories.ts `DEFAULT_FEEDS`)
   */
  readonly feeds?: readonly string[];
  /**
   * When feed-sync runs.
   * @default Schedule.rate(Duration.hours(1))
   */
  readonly feedSyncSchedule?: Schedule;
  /**
   * When the nightly re-evaluation and registry sweep runs.
   * @default Schedule.cron({ minute: '0', hour: '2' }) — 02:00 UTC every day
   */
  readonly nightlySchedule?: Schedule;
  /**
   * Secret holding the Slack incoming-webhook URL (`SecretString` = the URL, or JSON with `url` or
   * `webhookUrl`). Readable by verdict-fanout (transitions) and feed-sync (stale feeds) only, which
   * then also get the notification ledger (`NOTIFY#` items of the verdict table) that makes each
   * message post once.
   * @default - no Slack notifications
   */
  readonly slackWebhookSecret?: ISecret;
  /**
   * Secret holding the NVD API key (`SecretString` = the key, or JSON with `apiKey`;
   * https://nvd.nist.gov/developers/request-an-api-key). Readable by feed-sync only, passed as
   * `NVD_API_KEY_SECRET_ID`. With a key NVD allows 50 requests per 30 s instead of 5.
   * @default - no key: NVD's keyless rate limit (a first full sync then takes ~15 minutes of requests)
   */
  readonly nvdApiKeySecret?: ISecret;
  /**
   * Most concurrent scan-worker invocations for the push queue (the event source's maximum concurrency, 2–1000).
   * @default 10
   */
  readonly scanConcurrency?: number;
  /**
   * Most concurrent scan-worker invocations for the rescan queue (2–1000). Kept below
   * `scanConcurrency` so that a nightly re-evaluation never delays the scan of a fresh push.
   * @default 2
   */
  readonly rescanConcurrency?: number;
  /**
   * Memory of the scan-worker in MiB (CPU scales with it).
   * @default 2048
   */
  readonly memorySize?: number;
  /**
   * Timeout of the scan-worker (at most 15 minutes). Both work queues get a visibility timeout of
   * 6× this value.
   * @default Duration.minutes(5)
   */
  readonly scanTimeout?: Duration;
  /**
   * Delay before a failed scan-worker message is received again (SQS ChangeMessageVisibility on the
   * record); it doubles with each receive up to `scanRetryMaxDelay`, and never exceeds the queue's
   * visibility timeout. Passed as `SCAN_RETRY_BASE_SECONDS` when set.
   * @default Duration.seconds(30) (lib/engine/pipeline/retries.ts DEFAULT_RETRY_POLICY)
   */
  readonly scanRetryDelay?: Duration;
  /**
   * Longest retry delay of a failed scan-worker message (at most 12 hours). Passed as `SCAN_RETRY_MAX_SECONDS` when set.
   * @default Duration.minutes(15) (DEFAULT_RETRY_POLICY)
   */
  readonly scanRetryMaxDelay?: Duration;
  /**
   * The receive on which a scan that still hits its deadline (the function's remaining time) is given
   * up and recorded as quarantined, `unscannable` (`SCAN_TIMEOUT`), instead of retried into the DLQ.
   * At most the queues' maxReceiveCount ({@link MAX_RECEIVE_COUNT}); below it, the receives left are
   * spares for a worker killed before it recorded. Passed as `SCAN_MAX_ATTEMPTS` when set.
   * @default 4 — MAX_RECEIVE_COUNT - 1 (DEFAULT_RETRY_POLICY)
   */
  readonly scanAttempts?: number;
  /**
   * Also give a timed-out scan up once this long has passed since its message was first received,
   * whichever comes first. Passed as `SCAN_MAX_TOTAL_SECONDS`.
   * @default - the attempts alone decide
   */
  readonly maxScanTime?: Duration;
  /**
   * Age after which a verdict is stale: the trust API (admission) denies it. Passed to trust-api as
   * `MAX_VERDICT_AGE_MS`. Keep it well above the nightly period: the nightly run re-evaluates every
   * live digest, so their verdicts stay younger.
   * @default Duration.days(7)
   */
  readonly maxVerdictAge?: Duration;
  /**
   * How far back a digest counts as live for the nightly run (whole days): seen at admission (a
   * sighting the trust API records), pushed or pulled within it. Live digests are re-evaluated; images
   * without a verdict are swept for a scan only when pushed or pulled within it. Passed to nightly as
   * `LIVE_WINDOW_DAYS`.
   * @default Duration.days(30)
   */
  readonly liveWindow?: Duration;
  /**
   * Scans of images without a verdict one nightly run enqueues at most (newest pushes first); the rest
   * go out on the following nights. Bounds the first run on a registry full of old images. Passed to
   * nightly as `NIGHTLY_MAX_SWEEP_SCANS`.
   * @default 500
   */
  readonly maxSweepScans?: number;
  /**
   * Whether the trust API records admission sightings (the last time admission looked a digest up, at
   * most one conditional `dynamodb:UpdateItem` per digest per day): the nightly run re-evaluates digests
   * in use. Without it, only pushes and pulls ECR records make a digest live. Passed as `RECORD_SIGHTINGS`.
   * @default true
   */
  readonly recordAdmissionSightings?: boolean;
  /**
   * How long a nightly re-evaluation's history item is kept (whole days; DynamoDB TTL on `expiresAt`
   * deletes it after). Push and feed-change history and current verdicts never expire. Passed to the
   * scan-worker as `NIGHTLY_HISTORY_RETENTION_DAYS`.
   * @default Duration.days(90)
   */
  readonly nightlyHistoryRetention?: Duration;
  /**
   * Authentication of the trust API's Function URL: `'iam'` (SigV4-signed requests; grant callers
   * with {@link TrustPipeline.grantInvokeUrl}) or `'none'` (public URL; the handler requires
   * `Authorization: Bearer <token>` with the token of {@link apiTokenSecret}) — for a cluster or CI
   * outside AWS, and for a Kubernetes API server, which cannot sign requests with SigV4.
   * @default 'iam'
   */
  readonly admissionAuth?: 'iam' | 'none';
  /**
   * The bearer token the trust API requires when `admissionAuth` is `'none'` (`SecretString` = the
   * token). Required then; passed as `API_TOKEN_SECRET_ARN`, readable by trust-api only.
   * @default - none (required when admissionAuth is 'none')
   */
  readonly apiTokenSecret?: ISecret;
  /**
   * Topic every alarm (DLQ not empty, work queue too old, trust-API errors and throttles, stream
   * IteratorAge) notifies, on alarm and on recovery. Subscribe on-call to it.
   * @default - a topic created by the construct ({@link TrustPipeline.alarmTopic}), TLS-only
   */
  readonly alarmTopic?: ITopic;
  /**
   * An IAM role for `trustctl serve --verdict-table` running in an EKS cluster: it may only read
   * current verdicts (`dynamodb:GetItem` on the verdict table — all DynamoVerdictStore.get calls),
   * assumed by one Kubernetes service account through IRSA and/or EKS Pod Identity. Its ARN is
   * {@link TrustPipeline.clusterReaderRole} (stack output `ClusterReaderRoleArn`): annotate the
   * service account with it (IRSA) or name it in the pod identity association.
   * @default - no cluster reader role
   */
  readonly clusterReaderRole?: ClusterReaderRoleProps;
}

/**
 * Who may assume the cluster reader role ({@link TrustPipelineProps.clusterReaderRole}): one service
 * account, through IRSA (`oidcProviderArn`) and/or EKS Pod Identity (`podIdentity`).
 */
export interface ClusterReaderRoleProps {
  /**
   * IRSA: the ARN of the cluster's IAM OIDC provider,
   * `arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>` (a literal: the
   * trust policy's condition keys are built from the issuer after `oidc-provider/`). The role then
   * trusts `sts:AssumeRoleWithWebIdentity` from that provider for
   * `<issuer>:sub = system:serviceaccount:<namespace>:<serviceAccount>` and
   * `<issuer>:aud = sts.amazonaws.com` only
   * (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html).
   * @default - no IRSA trust (Pod Identity only)
   */
  readonly oidcProviderArn?: string;
  /** The namespace of the service account `trustctl serve` runs as. */
  readonly namespace: string;
  /** The service account `trustctl serve` runs as. */
  readonly serviceAccount: string;
  /**
   * EKS Pod Identity: trust `pods.eks.amazonaws.com` (`sts:AssumeRole`, `sts:TagSession`), as
   * https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html shows. The service account is
   * then chosen by the pod identity association (`aws eks create-pod-identity-association
   * --namespace <namespace> --service-account <serviceAccount> --role-arn <role ARN>`), which only
   * a principal allowed `iam:PassRole` on this role can create.
   * @default true
   */
  readonly podIdentity?: boolean;
}

/** A Kubernetes namespace or service-account name (DNS-1123 subdomain, as the API server checks it). */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** An IAM OIDC provider ARN; group 1 is the issuer (host and path, no scheme). */
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/([^\s]+)$/;

/** The trust of the cluster reader role: the principals {@link ClusterReaderRoleProps} names, validated. */
function clusterReaderPrincipal(p: ClusterReaderRoleProps): IPrincipal {
  for (const [what, v] of [['namespace', p.namespace], ['serviceAccount', p.serviceAccount]] as const) {
    if (!K8S_NAME.test(v)) throw new Error(`TrustPipeline: clusterReaderRole.${what} ${JSON.stringify(v)} is not a Kubernetes name`);
  }
  const principals: IPrincipal[] = [];
  if (p.oidcProviderArn !== undefined) {
    if (Token.isUnresolved(p.oidcProviderArn)) throw new Error('TrustPipeline: clusterReaderRole.oidcProviderArn must be a literal ARN (its issuer names the trust policy\'s condition keys)');
    const m = OIDC_PROVIDER_ARN.exec(p.oidcProviderArn);
    if (!m) throw new Error(`TrustPipeline: clusterReaderRole.oidcProviderArn ${JSON.stringify(p.oidcProviderArn)} is not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>)`);
    const issuer = m[1];
    principals.push(new WebIdentityPrincipal(p.oidcProviderArn, {
      StringEquals: { [`${issuer}:sub`]: `system:serviceaccount:${p.namespace}:${p.serviceAccount}`, [`${issuer}:aud`]: 'sts.amazonaws.com' },
    }));
  }
  if (p.podIdentity ?? true) principals.push(new ServicePrincipal('pods.eks.amazonaws.com').withSessionTags());
  if (principals.length === 0) throw new Error('TrustPipeline: clusterReaderRole needs oidcProviderArn (IRSA) or podIdentity (EKS Pod Identity)');
  return principals.length === 1 ? principals[0] : new CompositePrincipal(...principals);
}

/** Settings of one function (internal). */
interface FunctionSpec {
  readonly name: 'scan-worker' | 'verdict-fanout' | 'feed-sync' | 'nightly' | 'trust-api';
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly deadLetterQueue?: Queue;
}

/**
 * The serverless trust pipeline (DESIGN.md "The data's way"): ECR push events → EventBridge → SQS
 * scan queue → scan-worker; the verdict table's stream → verdict-fanout (registry tags, Slack);
 * feed-sync and nightly on schedules, re-evaluating through a separate rescan queue; the trust API
 * (admission webhook + verdict API) on a Lambda Function URL. Every queue has a DLQ, every DLQ and
 * every work queue's backlog age has an alarm, and every function has its own role with only its
 * own permissions.
 */
export class TrustPipeline extends Construct {
  /**
   * Verdicts, history, inventories and the package → digest index (lib/aws/verdict-store.ts), plus
   * scan claims and the Slack notification ledger (which expire: TTL on `expiresAt`); streams
   * NEW_AND_OLD_IMAGES; retained on delete.
   */
  public readonly verdictTable: Table;
  /** OSV advisories and feed states (lib/aws/advisory-store.ts); retained on delete. */
  public readonly advisoryTable: Table;
  /** The layer cache (lib/aws/layer-cache.ts); TTL attribute `expiresAt`; destroyed with the stack (it is rebuilt by scanning). */
  public readonly layerTable: Table;

  /** Push scans: the ECR push rule's target, consumed by the scan-worker. */
  public readonly scanQueue: Queue;
  /** Push-scan messages received {@link MAX_RECEIVE_COUNT} times without success. */
  public readonly scanDeadLetterQueue: Queue;
  /** Re-evaluations (feed-sync, nightly), consumed by the scan-worker at lower concurrency. */
  public readonly rescanQueue: Queue;
  /** Rescan messages received {@link MAX_RECEIVE_COUNT} times without success. */
  public readonly rescanDeadLetterQueue: Queue;
  /** Events EventBridge could not deliver to a rule target (push rule, both schedules; RELIABILITY.md 33). */
  public readonly eventDeadLetterQueue: Queue;
  /** Stream batches verdict-fanout failed on after its retries (the on-failure destination: shard and sequence numbers). */
  public readonly fanoutDeadLetterQueue: Queue;
  /**
   * One message per feed to sync (the schedule's tick enqueues them; a feed not finished within an
   * invocation enqueues its continuation), consumed by feed-sync one at a time per invocation.
   */
  public readonly feedSyncQueue: Queue;
  /**
   * Feed-sync queue messages received {@link MAX_RECEIVE_COUNT} times without success, and scheduled
   * feed-sync invocations that failed after Lambda's asynchronous retries.
   */
  public readonly feedSyncDeadLetterQueue: Queue;
  /** Scheduled nightly invocations that failed after Lambda's asynchronous retries. */
  public readonly nightlyDeadLetterQueue: Queue;
  /** Every dead-letter queue above (each has an alarm). */
  public readonly deadLetterQueues: readonly Queue[];

  /** lambdas/scan-worker: consumes the scan and the rescan queue (partial batch responses). */
  public readonly scanWorker: NodejsFunction;
  /** lambdas/verdict-fanout: the verdict table's stream → tags and Slack. */
  public readonly verdictFanout: NodejsFunction;
  /** lambdas/feed-sync: OSV feeds → advisory table; targeted re-evaluations → rescan queue. */
  public readonly feedSync: NodejsFunction;
  /** lambdas/nightly: re-evaluates live digests, sweeps ECR for digests without a verdict. */
  public readonly nightly: NodejsFunction;
  /** lambdas/trust-api: admission webhook and verdict API. */
  public readonly trustApi: NodejsFunction;
  /** The trust API's HTTPS endpoint (`trustApiUrl.url`). */
  public readonly trustApiUrl: FunctionUrl;

  /** ECR "Image Action" PUSH/SUCCESS → scan queue. */
  public readonly pushRule: Rule;
  /** The feed-sync schedule. */
  public readonly feedSyncRule: Rule;
  /** The nightly schedule. */
  public readonly nightlyRule: Rule;
  /** Alarms when the nightly sweep could not list the registry or a repository (metric {@link SWEEP_FAILED_METRIC}). */
  public readonly sweepFailedAlarm: Alarm;

  /**
   * One alarm per DLQ (messages visible > 0), one per work queue (oldest message too old), the trust
   * API's errors and throttles, verdict-fanout's IteratorAge; each notifies {@link alarmTopic}.
   */
  public readonly alarms: readonly Alarm[];
  /** The topic every alarm notifies (on alarm and on recovery): the `alarmTopic` prop, else one created here. */
  public readonly alarmTopic: ITopic;
  /** The CloudWatch dashboard of the pipeline's key metrics (queues, DLQs, functions, trust API, stream lag, alarms). */
  public readonly dashboard: Dashboard;
  /**
   * The role of `trustctl serve --verdict-table` in an EKS cluster (`dynamodb:GetItem` on the verdict
   * table only), when the `clusterReaderRole` prop is given.
   */
  public readonly clusterReaderRole?: IRole;

  constructor(scope: Construct, id: string, props: TrustPipelineProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    // ---- settings, validated before anything is created (a bad setting fails synthesis) ----
    const repositories = checkRepositories(props.repositories ?? 'all');
    const policyJson = props.policy === undefined ? undefined : policyEnvironmentJson(parsePolicy(props.policy, props.policySource ?? 'TrustPipeline policy'));
    const feeds = props.feeds ?? DEFAULT_FEEDS;
    if (feeds.length === 0) throw new Error('TrustPipeline: feeds must name at least one OSV export (omit it for the default feeds)');
    for (const f of feeds) if (!/^https:\/\/[^\s,]+$/.test(f)) throw new Error(`TrustPipeline: feed ${JSON.stringify(f)} is not an https:// URL without commas`);
    for (const r of props.trustedRegistries ?? []) if (r === '' || /[\s,]/.test(r)) throw new Error(`TrustPipeline: trusted registry ${JSON.stringify(r)} is empty or contains a comma or whitespace`);
    const scanTimeout = props.scanTimeout ?? Duration.minutes(5);
    if (scanTimeout.toSeconds() > 900) throw new Error('TrustPipeline: scanTimeout is at most 15 minutes (the Lambda limit)');
    const scanConcurrency = props.scanConcurrency ?? 10;
    const rescanConcurrency = props.rescanConcurrency ?? 2;
    const maxVerdictAge = props.maxVerdictAge ?? Duration.days(7);
    const liveWindowDays = (props.liveWindow ?? Duration.days(30)).toDays();
    if (liveWindowDays < 1) throw new Error('TrustPipeline: liveWindow is at least 1 day');
    const maxSweepScans = props.maxSweepScans ?? 500;
    if (!Number.isSafeInteger(maxSweepScans) || maxSweepScans < 0) throw new Error(`TrustPipeline: maxSweepScans must be a whole number ≥ 0, got ${maxSweepScans}`);
    const recordSightings = props.recordAdmissionSightings ?? true;
    const nightlyHistoryRetentionDays = (props.nightlyHistoryRetention ?? Duration.days(90)).toDays();
    if (nightlyHistoryRetentionDays < 1) throw new Error('TrustPipeline: nightlyHistoryRetention is at least 1 day');
    // Retries: the defaults live in the engine (lib/engine/pipeline/retries.ts DEFAULT_RETRY_POLICY); only a prop given is passed.
    const scanAttempts = props.scanAttempts;
    if (scanAttempts !== undefined && (!Number.isInteger(scanAttempts) || scanAttempts < 1 || scanAttempts > MAX_RECEIVE_COUNT)) throw new Error(`TrustPipeline: scanAttempts is a whole number from 1 to ${MAX_RECEIVE_COUNT} (the queues' maxReceiveCount)`);
    const scanRetryDelaySeconds = props.scanRetryDelay?.toSeconds();
    const scanRetryMaxDelaySeconds = props.scanRetryMaxDelay?.toSeconds();
    const retryBase = scanRetryDelaySeconds ?? DEFAULT_RETRY_POLICY.baseDelaySeconds;
    const retryMax = scanRetryMaxDelaySeconds ?? Math.max(retryBase, DEFAULT_RETRY_POLICY.maxDelaySeconds); // the engine lets the base win over the default cap
    if (retryBase < 1 || retryMax < retryBase || retryMax > SQS_MAX_VISIBILITY_SECONDS) throw new Error('TrustPipeline: scanRetryDelay is at least 1 second and scanRetryMaxDelay between it and 12 hours (SQS ChangeMessageVisibility)');
    const maxScanTimeSeconds = props.maxScanTime?.toSeconds();
    if (maxScanTimeSeconds !== undefined && maxScanTimeSeconds < 1) throw new Error('TrustPipeline: maxScanTime is at least 1 second');
    const admissionAuth = props.admissionAuth ?? 'iam';
    if (admissionAuth === 'none' && !props.apiTokenSecret) throw new Error("TrustPipeline: admissionAuth 'none' needs apiTokenSecret (the bearer token the trust API requires)");
    const clusterReaderTrust = props.clusterReaderRole ? clusterReaderPrincipal(props.clusterReaderRole) : undefined;

    // ---- tables (keys as lib/aws/*-store.ts tableDefinition / pkSkTable) ----
    const table = (tid: string, extra: Partial<ConstructorParameters<typeof Table>[2]>): Table =>
      new Table(this, tid, {
        partitionKey: { name: A_PK, type: AttributeType.STRING },
        sortKey: { name: A_SK, type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        ...extra,
      });
    // Deletion protection: the verdicts are what admission enforces; a stack update or console click must not drop them (issue 15 item 10).
    this.verdictTable = table('VerdictTable', { stream: StreamViewType.NEW_AND_OLD_IMAGES, timeToLiveAttribute: TTL_ATTRIBUTE, removalPolicy: RemovalPolicy.RETAIN, deletionProtection: true });
    this.advisoryTable = table('AdvisoryTable', { removalPolicy: RemovalPolicy.RETAIN });
    this.layerTable = table('LayerTable', { timeToLiveAttribute: TTL_ATTRIBUTE, removalPolicy: RemovalPolicy.DESTROY });

    // ---- queues ----
    const queue = (qid: string, extra: ConstructorParameters<typeof Queue>[2] = {}): Queue =>
      new Queue(this, qid, { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, ...extra });
    const dlq = (qid: string): Queue => {
      const q = queue(qid, { retentionPeriod: Duration.days(14) });
      acknowledge(q, 'Serverless-SQSRedrivePolicy', 'This queue is a dead-letter queue, the end of the line: it has no DLQ of its own; its alarm fires on the first message.');
      return q;
    };
    const workQueue = (qid: string, deadLetterQueue: Queue): Queue =>
      queue(qid, {
        visibilityTimeout: Duration.seconds(scanTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      });
    this.scanDeadLetterQueue = dlq('ScanDeadLetterQueue');
    this.scanQueue = workQueue('ScanQueue', this.scanDeadLetterQueue);
    this.rescanDeadLetterQueue = dlq('RescanDeadLetterQueue');
    this.rescanQueue = workQueue('RescanQueue', this.rescanDeadLetterQueue);
    this.eventDeadLetterQueue = dlq('EventDeadLetterQueue');
    acknowledge(this.eventDeadLetterQueue, 'AwsSolutions-SQS3', 'This queue is the dead-letter queue of the EventBridge rule targets (push rule, schedules); EventBridge DLQs are set on the target, not in a redrive policy.');
    this.fanoutDeadLetterQueue = dlq('FanoutDeadLetterQueue');
    acknowledge(this.fanoutDeadLetterQueue, 'AwsSolutions-SQS3', "This queue is the on-failure destination of verdict-fanout's DynamoDB stream event source, not a redrive target.");
    this.feedSyncDeadLetterQueue = dlq('FeedSyncDeadLetterQueue');
    // A feed per message, each invocation continuing where the last checkpoint is (issue 15 item 8).
    this.feedSyncQueue = queue('FeedSyncQueue', {
      visibilityTimeout: Duration.seconds(FEED_SYNC_TIMEOUT.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.feedSyncDeadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.nightlyDeadLetterQueue = dlq('NightlyDeadLetterQueue');
    this.deadLetterQueues = [this.scanDeadLetterQueue, this.rescanDeadLetterQueue, this.eventDeadLetterQueue, this.fanoutDeadLetterQueue, this.feedSyncDeadLetterQueue, this.nightlyDeadLetterQueue];

    // ---- environment (only what each function reads: lib/aws/pipeline-ports.ts readPipelineConfig) ----
    const none: Record<string, string> = {};
    const env: Record<string, Record<string, string>> = {
      verdicts: { VERDICT_TABLE: this.verdictTable.tableName },
      advisories: { ADVISORY_TABLE: this.advisoryTable.tableName },
      layers: { LAYER_TABLE: this.layerTable.tableName },
      rescanQueue: { RESCAN_QUEUE_URL: this.rescanQueue.queueUrl },
      feedSyncQueue: { FEED_SYNC_QUEUE_URL: this.feedSyncQueue.queueUrl },
      policy: policyJson === undefined ? none : { POLICY_JSON: policyJson },
      feeds: { FEEDS: feeds.join(',') },
      registries: props.trustedRegistries ? { TRUSTED_REGISTRIES: props.trustedRegistries.join(',') } : none,
      repositories: { REPOSITORIES: repositories === 'all' ? '*' : repositories.join(',') },
      slack: props.slackWebhookSecret ? { SLACK_SECRET_ARN: props.slackWebhookSecret.secretArn } : none,
      nvdKey: props.nvdApiKeySecret ? { NVD_API_KEY_SECRET_ID: props.nvdApiKeySecret.secretArn } : none,
      maxAge: { MAX_VERDICT_AGE_MS: String(maxVerdictAge.toMilliseconds()) },
      liveWindow: { LIVE_WINDOW_DAYS: String(liveWindowDays), NIGHTLY_MAX_SWEEP_SCANS: String(maxSweepScans) },
      sightings: recordSightings ? { RECORD_SIGHTINGS: 'true' } : none,
      historyRetention: { NIGHTLY_HISTORY_RETENTION_DAYS: String(nightlyHistoryRetentionDays) },
      retries: {
        ...(scanRetryDelaySeconds !== undefined ? { SCAN_RETRY_BASE_SECONDS: String(scanRetryDelaySeconds) } : {}),
        ...(scanRetryMaxDelaySeconds !== undefined ? { SCAN_RETRY_MAX_SECONDS: String(scanRetryMaxDelaySeconds) } : {}),
        ...(scanAttempts !== undefined ? { SCAN_MAX_ATTEMPTS: String(scanAttempts) } : {}),
        ...(maxScanTimeSeconds !== undefined ? { SCAN_MAX_TOTAL_SECONDS: String(maxScanTimeSeconds) } : {}),
      },
      apiToken: admissionAuth === 'none' && props.apiTokenSecret ? { API_TOKEN_SECRET_ARN: props.apiTokenSecret.secretArn } : none,
    };

    // ---- functions ----
    this.scanWorker = this.lambda({
      name: 'scan-worker',
      description: 'Scans pushed images and re-evaluates digests: SQS scan + rescan queues → verdict table',
      memorySize: props.memorySize ?? 2048,
      timeout: scanTimeout,
      environment: { ...env.verdicts, ...env.advisories, ...env.layers, ...env.policy, ...env.feeds, ...env.historyRetention, ...env.retries },
    });
    this.verdictFanout = this.lambda({
      name: 'verdict-fanout',
      description: "Verdict table stream → registry trust tags and Slack on transitions",
      memorySize: 512,
      timeout: Duration.minutes(1),
      // The verdict table only as the Slack notification ledger: without Slack, the fan-out only tags.
      environment: props.slackWebhookSecret ? { ...env.verdicts, ...env.slack } : {},
    });
    this.feedSync = this.lambda({
      name: 'feed-sync',
      description: 'Syncs OSV, NVD and KEV feeds into the advisory table; enqueues re-evaluations of affected digests',
      memorySize: 2048,
      timeout: FEED_SYNC_TIMEOUT,
      environment: { ...env.advisories, ...env.verdicts, ...env.rescanQueue, ...env.feedSyncQueue, ...env.feeds, ...env.policy, ...env.slack, ...env.nvdKey },
      deadLetterQueue: this.feedSyncDeadLetterQueue,
    });
    this.nightly = this.lambda({
      name: 'nightly',
      description: 'Nightly: re-evaluates live digests, sweeps ECR for digests without a verdict',
      memorySize: 1024,
      timeout: Duration.minutes(15),
      // The rescan queue only: a push never waits behind a nightly backlog (issue 15 item 4).
      environment: { ...env.verdicts, ...env.rescanQueue, ...env.repositories, ...env.liveWindow },
      deadLetterQueue: this.nightlyDeadLetterQueue,
    });
    this.trustApi = this.lambda({
      name: 'trust-api',
      description: 'Admission webhook (validate, mutate) and verdict API over a Function URL',
      memorySize: 1024,
      timeout: Duration.seconds(10),
      environment: { ...env.verdicts, ...env.registries, ...env.maxAge, ...env.apiToken, ...env.sightings },
    });
    this.trustApiUrl = this.trustApi.addFunctionUrl({ authType: admissionAuth === 'iam' ? FunctionUrlAuthType.AWS_IAM : FunctionUrlAuthType.NONE });

    // ---- event sources ----
    const sqsSource = (q: Queue, maxConcurrency: number, batchSize: number): SqsEventSource =>
      new SqsEventSource(q, { batchSize, maxConcurrency, reportBatchItemFailures: true });
    // A push scan may take minutes (layers are downloaded): one image per invocation, so the timeout is per image.
    this.scanWorker.addEventSource(sqsSource(this.scanQueue, scanConcurrency, 1));
    // A re-evaluation reads stored inventories only (no layer download): a few per invocation.
    this.scanWorker.addEventSource(sqsSource(this.rescanQueue, rescanConcurrency, 5));
    // One feed per invocation (its time is the feed's budget); two feeds at a time at most (SQS event
    // sources allow no fewer). Two deliveries of one feed never write it at once: a lease per feed
    // (lib/engine/pipeline/feed-sync-continuation.ts) on the advisory table.
    this.feedSync.addEventSource(sqsSource(this.feedSyncQueue, 2, 1));
    this.verdictFanout.addEventSource(new DynamoEventSource(this.verdictTable, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 10,
      bisectBatchOnError: true,
      retryAttempts: 10,
      maxRecordAge: Duration.days(1),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.fanoutDeadLetterQueue),
      filters: [FilterCriteria.filter({
        eventName: FilterRule.or('INSERT', 'MODIFY'),
        dynamodb: { Keys: { [A_SK]: { S: FilterRule.isEqual(VERDICT_SK) } } },
      })],
    }));

    // ---- EventBridge ----
    this.pushRule = new Rule(this, 'EcrPushRule', {
      description: 'ECR images arriving (push, pull through cache sync, replication; SUCCESS) → trust pipeline scan queue',
      // Pull through cache and replication put images in a repository without a PUSH event; each has
      // its own detail-type (Amazon ECR User Guide, "Amazon ECR events and EventBridge"). Replication
      // events arrive in the destination's account and region: deploy the stack there.
      eventPattern: {
        source: ['aws.ecr'],
        detailType: ['ECR Image Action', 'ECR Pull Through Cache Action', 'ECR Replication Action'],
        detail: {
          $or: [
            { 'action-type': ['PUSH', 'REPLICATE'], result: ['SUCCESS'] },
            { 'sync-status': ['SUCCESS'] },
          ],
          ...(repositories === 'all' ? {} : { 'repository-name': repositories.map((r) => (r.endsWith('*') ? { prefix: r.slice(0, -1) } : r)) }),
        },
      },
      targets: [new SqsQueue(this.scanQueue, { deadLetterQueue: this.eventDeadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    const scheduled = (fn: NodejsFunction): LambdaFunction =>
      new LambdaFunction(fn, { deadLetterQueue: this.eventDeadLetterQueue, retryAttempts: 2, maxEventAge: Duration.hours(1) });
    this.feedSyncRule = new Rule(this, 'FeedSyncSchedule', {
      description: 'trust pipeline: OSV feed sync',
      schedule: props.feedSyncSchedule ?? Schedule.rate(Duration.hours(1)),
      targets: [scheduled(this.feedSync)],
    });
    this.nightlyRule = new Rule(this, 'NightlySchedule', {
      description: 'trust pipeline: nightly re-evaluation and registry sweep',
      schedule: props.nightlySchedule ?? Schedule.cron({ minute: '0', hour: '2' }),
      targets: [scheduled(this.nightly)],
    });

    // ---- permissions (each function: its own role, only its own actions) ----
    const repoArns = repositories === 'all'
      ? [stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })]
      : repositories.map((r) => stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: r }));
    const ecr = (grantee: IGrantable, actions: string[]): Grant => Grant.addToPrincipal({ grantee, actions, resourceArns: repoArns });

    // The registry API (lib/engine/registry/client.ts) authenticates with an ECR token; GetAuthorizationToken has no resource-level permissions.
    const ecrToken = (grantee: IGrantable): Grant => Grant.addToPrincipal({ grantee, actions: ['ecr:GetAuthorizationToken'], resourceArns: ['*'] });
    // The Slack notification ledger: claims (conditional PutItem) and releases (DeleteItem) of NOTIFY# items only — never a verdict.
    const ledger = (grantee: IGrantable): Grant => Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.verdictTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [LEDGER_PK_PATTERN] } },
    });

    // scan-worker: pull images (manifests, layers), read/write verdicts (and scan claims) and layers, read advisories (queue consumption: the event sources,
    // whose grant includes sqs:ChangeMessageVisibility and GetQueueAttributes — the per-message retry delay, lib/aws/message-visibility.ts).
    ecrToken(this.scanWorker);
    ecr(this.scanWorker, ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
    this.verdictTable.grantReadWriteData(this.scanWorker);
    this.layerTable.grantReadWriteData(this.scanWorker);
    this.advisoryTable.grantReadData(this.scanWorker);
    // verdict-fanout: the stream (event source), re-tag images (registry API: HEAD/GET manifest, PUT manifest),
    // remove the stale trust tag on a flip (DescribeImages, then BatchDeleteImage by tag — lib/aws/ecr-untag.ts),
    // Slack webhook and ledger. Scoped to the configured repositories like every ECR grant here.
    ecrToken(this.verdictFanout);
    ecr(this.verdictFanout, ['ecr:BatchGetImage', 'ecr:PutImage', 'ecr:DescribeImages', 'ecr:BatchDeleteImage']);
    if (props.slackWebhookSecret) {
      props.slackWebhookSecret.grantRead(this.verdictFanout);
      ledger(this.verdictFanout);
    }
    // feed-sync: advisories, the package index of the verdict table, the rescan queue, Slack (stale feeds) and ledger.
    this.advisoryTable.grantReadWriteData(this.feedSync);
    this.verdictTable.grantReadData(this.feedSync);
    this.rescanQueue.grantSendMessages(this.feedSync);
    // The schedule's tick enqueues one message per feed; an unfinished feed enqueues its continuation (consumption: the event source).
    this.feedSyncQueue.grantSendMessages(this.feedSync);
    if (props.slackWebhookSecret) {
      props.slackWebhookSecret.grantRead(this.feedSync);
      ledger(this.feedSync);
    }
    // The NVD API key: feed-sync only (no other function talks to NVD).
    props.nvdApiKeySecret?.grantRead(this.feedSync);
    // nightly: verdicts and sightings (read), the registry (list), the rescan queue (send) — never the push queue.
    this.verdictTable.grantReadData(this.nightly);
    ecr(this.nightly, ['ecr:DescribeImages', 'ecr:ListImages', 'ecr:DescribeRepositories']);
    this.rescanQueue.grantSendMessages(this.nightly);
    // trust-api: verdicts, read; with sightings, UpdateItem only (lib/aws/verdict-store.ts recordSighting:
    // one conditional update of a digest list item, at most once a day per digest).
    this.verdictTable.grantReadData(this.trustApi);
    // Scoped by partition key to the digest list items: the trust API can never change a verdict.
    const grantSightings = (grantee: IGrantable): void => {
      Grant.addToPrincipal({
        grantee,
        actions: ['dynamodb:UpdateItem'],
        resourceArns: [this.verdictTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [SIGHTING_PK_PATTERN] } },
      });
    };
    if (recordSightings) grantSightings(this.trustApi);
    if (admissionAuth === 'none') props.apiTokenSecret?.grantRead(this.trustApi);
    // The cluster's `trustctl serve --verdict-table`: DynamoVerdictStore.get is one GetItem, nothing else
    // (no Query, no BatchGet, no stream); with sightings, UpdateItem of digest list items only. The table's key is AWS-managed: no KMS grant is needed.
    if (clusterReaderTrust) {
      const role = new Role(this, 'ClusterReaderRole', {
        assumedBy: clusterReaderTrust,
        description: `trustctl serve in EKS (${props.clusterReaderRole!.namespace}/${props.clusterReaderRole!.serviceAccount}): reads current verdicts`,
        maxSessionDuration: Duration.hours(1),
      });
      this.verdictTable.grant(role, 'dynamodb:GetItem');
      // `serve --record-sightings`: the same digest-list-only UpdateItem as the trust API's.
      if (recordSightings) grantSightings(role);
      this.clusterReaderRole = role;
    }

    acknowledge(this.scanWorker.role!, 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken has no resource-level permissions (it must be granted on *); X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have none either.');
    acknowledge(this.verdictFanout.role!, 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken (registry API token), dynamodb:ListStreams (stream event source) and X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level permissions.');
    for (const fn of [this.feedSync, this.nightly, this.trustApi]) {
      acknowledge(fn.role!, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level permissions.');
    }
    const repoWildcards = repoArns.map((a) => renderForNag(stack.resolve(a))).filter((a) => a.includes('*'));
    for (const fn of [this.scanWorker, this.verdictFanout, this.nightly]) {
      for (const arn of repoWildcards) {
        acknowledge(fn.role!, `AwsSolutions-IAM5[Resource::${arn}]`, repositories === 'all'
          ? "The pipeline watches every ECR repository of the account and region (repositories: 'all'); narrow it with the repositories prop."
          : 'A repository prefix of the repositories prop: every repository under it is watched.');
      }
    }
    acknowledge(this.scanWorker, 'Serverless-LambdaDLQ', 'Invoked by SQS event source mappings (synchronously): failed messages go to the source queues\' redrive DLQs, a function DLQ only applies to asynchronous invocations.');
    acknowledge(this.verdictFanout, 'Serverless-LambdaDLQ', 'Invoked by a DynamoDB stream event source mapping (synchronously): failed batches go to its on-failure SQS destination, a function DLQ only applies to asynchronous invocations.');
    acknowledge(this.trustApi, 'Serverless-LambdaDLQ', 'Invoked synchronously through its Function URL: the caller gets the error (admission fails closed), a function DLQ only applies to asynchronous invocations.');
    acknowledge(this.feedSync, 'Serverless-LambdaEventSourceMappingDestination', 'SQS event source mappings support no on-failure destination: a failed feed-sync message goes to the feed-sync queue\'s redrive DLQ (maxReceiveCount 5), which has an alarm.');
    acknowledge(this.scanWorker, 'Serverless-LambdaEventSourceMappingDestination', 'SQS event source mappings support no on-failure destination: failed messages go to each queue\'s redrive DLQ (maxReceiveCount 5), which has an alarm.');

    // ---- alarms ----
    const alarms: Alarm[] = [];
    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic();
    const addAlarm = (alarm: Alarm): void => {
      alarm.addAlarmAction(new SnsAction(this.alarmTopic));
      alarm.addOkAction(new SnsAction(this.alarmTopic));
      alarms.push(alarm);
    };
    for (const q of this.deadLetterQueues) {
      addAlarm(new Alarm(q, 'NotEmptyAlarm', {
        alarmDescription: `Trust pipeline: messages in the dead-letter queue ${q.node.id} — inspect them, fix the cause, redrive.`,
        metric: q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }));
    }
    const ageAlarm = (q: Queue, limit: Duration, period: Duration, consumer = 'the scan-worker is'): Alarm => new Alarm(q, 'OldestMessageAlarm', {
      alarmDescription: `Trust pipeline: the oldest message of ${q.node.id} waits longer than ${limit.toHumanString()} — ${consumer} failing, throttled or too slow.`,
      metric: q.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM }),
      threshold: limit.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    addAlarm(ageAlarm(this.scanQueue, SCAN_QUEUE_AGE_ALARM, Duration.minutes(1)));
    addAlarm(ageAlarm(this.rescanQueue, RESCAN_QUEUE_AGE_ALARM, Duration.minutes(5)));
    addAlarm(ageAlarm(this.feedSyncQueue, FEED_SYNC_QUEUE_AGE_ALARM, Duration.minutes(5), 'feed-sync (or a feed\'s chain of continuations) is'));
    for (const a of this.observabilityAlarms()) addAlarm(a);
    // The sweep recovers lost push events (RELIABILITY.md 32): a registry or repository it could not
    // list is counted from nightly's own error lines (lib/engine/pipeline/nightly.ts) and alarmed on.
    const sweepFailures = new MetricFilter(this.nightly, 'SweepFailedMetricFilter', {
      logGroup: this.nightly.logGroup,
      metricNamespace: SWEEP_METRIC_NAMESPACE,
      metricName: SWEEP_FAILED_METRIC,
      filterPattern: FilterPattern.any(
        FilterPattern.stringValue('$.message', '=', 'registry not swept: repositories cannot be listed'),
        FilterPattern.stringValue('$.message', '=', 'repository not swept'),
      ),
      metricValue: '1',
      defaultValue: 0,
    });
    this.sweepFailedAlarm = new Alarm(this.nightly, 'SweepFailedAlarm', {
      alarmDescription: 'Trust pipeline: the nightly sweep could not list the registry or a repository (see the nightly logs, "not swept") — images whose push event was lost stay unscanned and denied.',
      metric: sweepFailures.metric({ period: Duration.hours(1), statistic: Stats.SUM }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    addAlarm(this.sweepFailedAlarm);
    this.alarms = alarms;
    this.dashboard = this.createDashboard(alarms);
  }

  // ---- observability (issue 15 item 9): alarm topic, function/stream alarms, dashboard ----

  /** The default alarm topic: TLS-only publishing (AwsSolutions-SNS3); see the SNS2 acknowledgment for why it has no KMS key. */
  private createAlarmTopic(): Topic {
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'trustctl pipeline alarms', enforceSSL: true });
    acknowledge(topic, 'AwsSolutions-SNS2', 'CloudWatch alarms can publish to an encrypted topic only with a customer-managed KMS key granting cloudwatch.amazonaws.com (the AWS-managed SNS key does not); alarm notifications carry alarm names, metric names and thresholds only, no data of the pipeline. Pass alarmTopic to use an encrypted topic of your own.');
    return topic;
  }

  /**
   * The trust API's errors and throttles (each one is an admission request that failed closed: a
   * denied Pod write) and verdict-fanout's IteratorAge (tags and Slack falling behind verdicts).
   */
  private observabilityAlarms(): Alarm[] {
    const api = this.trustApi;
    const count = (metric: IMetric, what: string, id: string): Alarm => new Alarm(api, id, {
      alarmDescription: `Trust pipeline: the trust API ${what} — admission requests fail closed (Pod writes are denied). Check its logs and traces.`,
      metric,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    return [
      count(api.metricErrors({ period: TRUST_API_ALARM_PERIOD, statistic: Stats.SUM }), 'returned errors', 'ErrorsAlarm'),
      count(api.metricThrottles({ period: TRUST_API_ALARM_PERIOD, statistic: Stats.SUM }), 'was throttled', 'ThrottlesAlarm'),
      new Alarm(this.verdictFanout, 'IteratorAgeAlarm', {
        alarmDescription: `Trust pipeline: verdict-fanout reads the verdict table's stream more than ${FANOUT_ITERATOR_AGE_ALARM.toHumanString()} behind — registry tags and Slack lag behind verdicts (failing or throttled fan-out).`,
        metric: this.verdictFanout.metric('IteratorAge', { period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
        threshold: FANOUT_ITERATOR_AGE_ALARM.toMilliseconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];
  }

  /** One dashboard: work queues, DLQs, every function's invocations/errors/throttles/duration, the trust API, stream lag, alarm states. */
  private createDashboard(alarms: readonly Alarm[]): Dashboard {
    const fns: [string, NodejsFunction][] = [['scan-worker', this.scanWorker], ['verdict-fanout', this.verdictFanout], ['feed-sync', this.feedSync], ['nightly', this.nightly], ['trust-api', this.trustApi]];
    const period = Duration.minutes(5);
    const labelled = (fn: (f: NodejsFunction) => Metric): IMetric[] => fns.map(([name, f]) => fn(f).with({ label: name }));
    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms], width: 24 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Work queues: visible messages',
        left: [this.scanQueue, this.rescanQueue, this.feedSyncQueue].map((q) => q.metricApproximateNumberOfMessagesVisible({ period, statistic: Stats.MAXIMUM, label: q.node.id })),
      }),
      new GraphWidget({
        title: 'Work queues: age of oldest message (s)',
        left: [this.scanQueue, this.rescanQueue, this.feedSyncQueue].map((q) => q.metricApproximateAgeOfOldestMessage({ period, statistic: Stats.MAXIMUM, label: q.node.id })),
      }),
      new GraphWidget({
        title: 'Dead-letter queues: visible messages',
        left: this.deadLetterQueues.map((q) => q.metricApproximateNumberOfMessagesVisible({ period, statistic: Stats.MAXIMUM, label: q.node.id })),
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: 'Invocations', left: labelled((f) => f.metricInvocations({ period, statistic: Stats.SUM })) }),
      new GraphWidget({ title: 'Errors', left: labelled((f) => f.metricErrors({ period, statistic: Stats.SUM })) }),
      new GraphWidget({ title: 'Throttles', left: labelled((f) => f.metricThrottles({ period, statistic: Stats.SUM })) }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: 'Duration p99 (ms)', left: labelled((f) => f.metricDuration({ period, statistic: Stats.p(99) })) }),
      new GraphWidget({
        title: 'Trust API: requests, errors, throttles',
        left: [
          this.trustApi.metricInvocations({ period, statistic: Stats.SUM, label: 'invocations' }),
          this.trustApi.metricErrors({ period, statistic: Stats.SUM, label: 'errors' }),
          this.trustApi.metricThrottles({ period, statistic: Stats.SUM, label: 'throttles' }),
        ],
      }),
      new GraphWidget({
        title: 'verdict-fanout IteratorAge (ms)',
        left: [this.verdictFanout.metric('IteratorAge', { period, statistic: Stats.MAXIMUM, label: 'verdict-fanout' })],
      }),
    );
    return dashboard;
  }

  /** Lets `grantee` call the trust API's Function URL (`lambda:InvokeFunctionUrl`; needed when admissionAuth is 'iam'). */
  public grantInvokeUrl(grantee: IGrantable): Grant {
    return this.trustApi.grantInvokeUrl(grantee);
  }

  /** One function: its own role (logs of its own log group only), log group (1 month), bundled with esbuild. */
  private lambda(spec: FunctionSpec): NodejsFunction {
    const root = projectRoot();
    const scope = new Construct(this, pascal(spec.name));
    const role = new Role(scope, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `trust pipeline ${spec.name}`,
    });
    const logGroup = new LogGroup(scope, 'Logs', { retention: RetentionDays.ONE_MONTH });
    logGroup.grantWrite(role);
    checkEnvironmentSize(spec.name, { POWERTOOLS_SERVICE_NAME: `trustctl-${spec.name}`, NODE_OPTIONS: LAMBDA_NODE_OPTIONS, ...spec.environment });
    const fn = new NodejsFunction(scope, 'Function', {
      entry: join(root, 'lambdas', spec.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      runtime: PIPELINE_RUNTIME,
      architecture: Architecture.ARM_64,
      description: spec.description,
      memorySize: spec.memorySize,
      timeout: spec.timeout,
      role,
      logGroup,
      tracing: Tracing.ACTIVE,
      environment: { POWERTOOLS_SERVICE_NAME: `trustctl-${spec.name}`, NODE_OPTIONS: LAMBDA_NODE_OPTIONS, ...spec.environment },
      ...(spec.deadLetterQueue ? { deadLetterQueue: spec.deadLetterQueue } : {}),
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: ESBUILD_TARGET,
        format: OutputFormat.CJS,
        // Bundle everything, the AWS SDK v3 included: the functions run the SDK versions package-lock.json pins, not the runtime's.
        externalModules: [],
        logLevel: LogLevel.WARNING,
      },
    });
    return fn;
  }
}

/**
 * `POLICY_JSON`: the parsed policy (defaults filled in) as compact JSON, without where it was
 * written (`source`, exception `line`s) — so the text is itself a valid policy document:
 * `parsePolicy(POLICY_JSON)` gives the same policy (same policy hash) the YAML gave.
 */
export function policyEnvironmentJson(policy: Policy): string {
  const { source: _source, exceptions, ...rest } = policy;
  return JSON.stringify({ ...rest, exceptions: exceptions.map(({ source: _s, line: _l, ...e }) => e) });
}

/** The repository settings, checked: 'all' or a non-empty list of ECR names / `prefix*`. */
function checkRepositories(repos: readonly string[] | 'all'): readonly string[] | 'all' {
  if (repos === 'all') return repos;
  if (repos.length === 0) throw new Error("TrustPipeline: repositories is empty — name at least one repository, or use 'all'");
  for (const r of repos) {
    if (!REPOSITORY_NAME.test(r) && !REPOSITORY_PREFIX.test(r)) {
      throw new Error(`TrustPipeline: repository ${JSON.stringify(r)} is neither an ECR repository name nor a prefix ending in '*'`);
    }
  }
  return [...new Set(repos)];
}

/** Fails synthesis when a function's environment cannot fit Lambda's 4 KB (a large policy, many feeds). */
function checkEnvironmentSize(name: string, environment: Record<string, string>): void {
  let bytes = 0;
  for (const [k, v] of Object.entries(environment)) {
    bytes += Buffer.byteLength(k) + (Token.isUnresolved(v) ? TOKEN_VALUE_BYTES : Buffer.byteLength(v));
  }
  if (bytes > LAMBDA_ENV_LIMIT_BYTES - 256) {
    throw new Error(`TrustPipeline: the environment of ${name} would take about ${bytes} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}-byte limit (a large policy or long feed list?)`);
  }
}

/** A cdk-nag acknowledgment with its reason (cdk-nag 3: CDK's Validations; the finding id names the rule and, for IAM5, the resource). */
function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The repository root: the nearest directory above this file with package-lock.json (works from lib/ and from dist/lib/). */
function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package-lock.json')) && existsSync(join(dir, 'lambdas'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`TrustPipeline: no package-lock.json with lambdas/ above ${__dirname}`);
    dir = up;
  }
}

const pascal = (s: string): string => s.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');

/**
 * A resolved CloudFormation value as cdk-nag names it in a finding id (its `flattenCfnReference`):
 * `Fn::Join` joined, `Ref` as `<Name>`, `Fn::GetAtt` as `<Resource.Attribute>`.
 */
function renderForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(renderForNag).join(delimiter);
    }
    if (o.Ref !== undefined) return `<${renderForNag(o.Ref)}>`;
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [res, attr] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${renderForNag(res)}.${renderForNag(attr)}>`;
    }
  }
  return JSON.stringify(value);
}

