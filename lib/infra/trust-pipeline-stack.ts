import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { TrustPipeline, type TrustPipelineProps } from './trust-pipeline';

/** Props of {@link TrustPipelineStack}: the stack's own, plus the pipeline's settings. */
export interface TrustPipelineStackProps extends StackProps {
  /**
   * Settings of the {@link TrustPipeline} construct. They win over the same settings given as CDK
   * context ({@link CONTEXT_KEYS}).
   * @default - the context's settings, else every default of TrustPipelineProps (all repositories, default policy and feeds, IAM auth)
   */
  readonly pipeline?: TrustPipelineProps;
}

/**
 * CDK context keys the stack reads, so that `cdk deploy` can be configured without code
 * (`npx cdk deploy -c trustctl:repositories=web,api -c trustctl:policyFile=policy.yaml`, or the
 * `context` of cdk.json). Lists are comma-separated strings (or JSON arrays in cdk.json).
 */
export const CONTEXT_KEYS = {
  /** `all` or repository names / `prefix*`, comma-separated. */
  repositories: 'trustctl:repositories',
  /** Admission allow-list patterns, comma-separated. */
  trustedRegistries: 'trustctl:trustedRegistries',
  /** Path of the policy YAML (relative to the directory `cdk` runs in). */
  policyFile: 'trustctl:policyFile',
  /** OSV export URLs, comma-separated. */
  feeds: 'trustctl:feeds',
  /** Slack webhook secret: its ARN or name. */
  slackWebhookSecret: 'trustctl:slackWebhookSecret',
  /** SNS topic ARN for the alarms. */
  alarmTopicArn: 'trustctl:alarmTopicArn',
  /** `iam` (default) or `none`. */
  admissionAuth: 'trustctl:admissionAuth',
  /** Bearer token secret for `admissionAuth=none`: its ARN or name. */
  apiTokenSecret: 'trustctl:apiTokenSecret',
  /** `<namespace>/<serviceAccount>` of `trustctl serve` in EKS: creates the cluster reader role. */
  clusterReaderServiceAccount: 'trustctl:clusterReaderServiceAccount',
  /** The cluster's IAM OIDC provider ARN, for IRSA trust of the cluster reader role. */
  clusterReaderOidcProviderArn: 'trustctl:clusterReaderOidcProviderArn',
  /** `true` (default) or `false`: the cluster reader role also trusts EKS Pod Identity. */
  clusterReaderPodIdentity: 'trustctl:clusterReaderPodIdentity',
} as const;

/**
 * The deployable stack: one {@link TrustPipeline} (EventBridge → SQS → Lambda, DynamoDB tables,
 * alarms) and outputs naming what users and the CLI need (trust API URL, table names, queue URLs).
 */
export class TrustPipelineStack extends Stack {
  /** The pipeline construct. */
  public readonly pipeline: TrustPipeline;

  constructor(scope: Construct, id: string, props: TrustPipelineStackProps = {}) {
    const { pipeline, ...stackProps } = props;
    super(scope, id, { description: 'Container-image trust pipeline (trustctl)', ...stackProps });
    Tags.of(this).add('app', 'trustctl');
    this.pipeline = new TrustPipeline(this, 'Pipeline', { ...this.contextSettings(), ...pipeline });

    const out = (oid: string, value: string, description: string): CfnOutput => new CfnOutput(this, oid, { value, description });
    out('TrustApiUrl', this.pipeline.trustApiUrl.url, 'Trust API (admission webhook POST /admission/validate, /admission/mutate; GET /verdicts/<digest>, /healthz)');
    out('TrustApiFunctionName', this.pipeline.trustApi.functionName, 'trust-api function (grant lambda:InvokeFunctionUrl on it for IAM auth)');
    out('VerdictTableName', this.pipeline.verdictTable.tableName, 'Verdict table (the truth enforcement reads)');
    out('AdvisoryTableName', this.pipeline.advisoryTable.tableName, 'Advisory table (OSV records, feed states)');
    out('LayerTableName', this.pipeline.layerTable.tableName, 'Layer cache table');
    out('ScanQueueUrl', this.pipeline.scanQueue.queueUrl, 'Push scan queue');
    out('RescanQueueUrl', this.pipeline.rescanQueue.queueUrl, 'Re-evaluation queue');
    out('AlarmTopicArn', this.pipeline.alarmTopic.topicArn, 'SNS topic every alarm notifies (subscribe on-call to it)');
    out('DashboardName', this.pipeline.dashboard.dashboardName, 'CloudWatch dashboard of the pipeline');
    if (this.pipeline.clusterReaderRole) {
      out('ClusterReaderRoleArn', this.pipeline.clusterReaderRole.roleArn, 'IAM role of trustctl serve --verdict-table in EKS (IRSA: eks.amazonaws.com/role-arn annotation; or the pod identity association)');
    }
  }

  /** The pipeline settings given as CDK context ({@link CONTEXT_KEYS}); absent keys are left to the defaults. */
  private contextSettings(): TrustPipelineProps {
    const str = (key: string): string | undefined => {
      const v: unknown = this.node.tryGetContext(key);
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string') throw new Error(`context ${key}: expected a string, got ${JSON.stringify(v)}`);
      return v.trim();
    };
    const list = (key: string): string[] | undefined => {
      const v: unknown = this.node.tryGetContext(key);
      if (v === undefined || v === null || v === '') return undefined;
      const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
      if (!items || items.some((x) => typeof x !== 'string')) throw new Error(`context ${key}: expected a comma-separated string or a list of strings`);
      return (items as string[]).map((s) => s.trim()).filter(Boolean);
    };
    const secret = (key: string): ISecret | undefined => {
      const v = str(key);
      if (v === undefined) return undefined;
      const cid = `Context${key.replace(/[^A-Za-z0-9]/g, '')}`;
      if (!v.startsWith('arn:')) return Secret.fromSecretNameV2(this, cid, v);
      // A complete ARN ends in the 6-character suffix Secrets Manager adds to the name.
      return /-[A-Za-z0-9]{6}$/.test(v) ? Secret.fromSecretCompleteArn(this, cid, v) : Secret.fromSecretPartialArn(this, cid, v);
    };
    const out: { -readonly [K in keyof TrustPipelineProps]: TrustPipelineProps[K] } = {};
    const repos = list(CONTEXT_KEYS.repositories);
    if (repos) out.repositories = repos.length === 1 && repos[0] === 'all' ? 'all' : repos;
    const registries = list(CONTEXT_KEYS.trustedRegistries);
    if (registries) out.trustedRegistries = registries;
    const policyFile = str(CONTEXT_KEYS.policyFile);
    if (policyFile) {
      out.policy = readFileSync(resolve(policyFile), 'utf8');
      out.policySource = policyFile;
    }
    const feeds = list(CONTEXT_KEYS.feeds);
    if (feeds) out.feeds = feeds;
    const slack = secret(CONTEXT_KEYS.slackWebhookSecret);
    if (slack) out.slackWebhookSecret = slack;
    const topic = str(CONTEXT_KEYS.alarmTopicArn);
    if (topic) out.alarmTopic = Topic.fromTopicArn(this, 'ContextAlarmTopic', topic);
    const auth = str(CONTEXT_KEYS.admissionAuth);
    if (auth !== undefined) {
      if (auth !== 'iam' && auth !== 'none') throw new Error(`context ${CONTEXT_KEYS.admissionAuth}: expected iam or none, got ${JSON.stringify(auth)}`);
      out.admissionAuth = auth;
    }
    const token = secret(CONTEXT_KEYS.apiTokenSecret);
    if (token) out.apiTokenSecret = token;
    const reader = str(CONTEXT_KEYS.clusterReaderServiceAccount);
    const oidc = str(CONTEXT_KEYS.clusterReaderOidcProviderArn);
    const podIdentity = str(CONTEXT_KEYS.clusterReaderPodIdentity);
    if (reader === undefined && (oidc !== undefined || podIdentity !== undefined)) {
      throw new Error(`context ${CONTEXT_KEYS.clusterReaderOidcProviderArn} and ${CONTEXT_KEYS.clusterReaderPodIdentity} need ${CONTEXT_KEYS.clusterReaderServiceAccount}`);
    }
    if (reader !== undefined) {
      const m = /^([^/]+)\/([^/]+)$/.exec(reader);
      if (!m) throw new Error(`context ${CONTEXT_KEYS.clusterReaderServiceAccount}: expected <namespace>/<serviceAccount>, got ${JSON.stringify(reader)}`);
      if (podIdentity !== undefined && podIdentity !== 'true' && podIdentity !== 'false') throw new Error(`context ${CONTEXT_KEYS.clusterReaderPodIdentity}: expected true or false, got ${JSON.stringify(podIdentity)}`);
      out.clusterReaderRole = { namespace: m[1], serviceAccount: m[2], ...(oidc !== undefined ? { oidcProviderArn: oidc } : {}), ...(podIdentity !== undefined ? { podIdentity: podIdentity === 'true' } : {}) };
    }
    return out;
  }
}
