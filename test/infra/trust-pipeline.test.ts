/**
 * The TrustPipeline construct, asserted on synthesized templates (RELIABILITY.md 25, 28, 33, 44).
 * Two syntheses for the whole file: the app as `cdk synth` builds it (defaults, cdk-nag, real
 * esbuild bundling) and one with every prop set (bundling skipped: the code is the same).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { DEFAULT_FEEDS } from '../../lib/cli/advisories';
import { parsePolicy, policyHash, PolicyError } from '../../lib/engine/policy/schema';
import { buildApp } from '../../lib/infra/app';
import { nightly } from '../../lib/engine/pipeline/nightly';
import { corpusBytes } from '../helpers/corpus';
import { LAMBDA_NODE_OPTIONS, SWEEP_FAILED_METRIC, SWEEP_METRIC_NAMESPACE, TrustPipeline, type TrustPipelineProps } from '../../lib/infra/trust-pipeline';
import { TrustPipelineStack } from '../../lib/infra/trust-pipeline-stack';
import { acknowledgments, actionsOf, cfn, grantsOf, logicalId, newApp, removeOutdirs, resourcesOf, servicesOf, validationReport, type Grants } from './helpers';

/** Template JSON, typed as JSON.parse types it: the assertions below check its shape. */
type Json = ReturnType<typeof JSON.parse>;
type Resources = Record<string, { Type: string; Properties: Record<string, Json>; DeletionPolicy?: string }>;

const POLICY_YAML = `apiVersion: trustctl/v1
kind: Policy
metadata: { name: strict }
rules:
  vulnerabilities:
    severities: [critical, high, medium]
exceptions:
  - finding: CVE-2024-1234
    reason: accepted until the vendor ships a fix
    expires: 2030-01-01
    scope: { repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web }
`;
const SLACK_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trustctl/slack-AbCdEf';
const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trustctl/api-token-GhIjKl';
const NVD_KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trustctl/nvd-api-key-MnOpQr';

/** One synthesized app and what the tests read from it. */
interface Synth {
  readonly stack: TrustPipelineStack;
  readonly p: TrustPipeline;
  readonly template: Template;
  readonly resources: Resources;
  readonly assembly: CloudAssembly;
}

function synth(app: App, pipeline?: (stack: Stack) => TrustPipelineProps): Synth {
  // The props may need constructs of the stack (a secret, a topic): build the stack, then its props.
  let stack!: TrustPipelineStack;
  if (pipeline) {
    const holder = new Stack(app, 'Deps');
    stack = new TrustPipelineStack(app, 'TrustPipeline', { pipeline: pipeline(holder) });
  } else {
    buildApp(app);
    stack = app.node.findChild('TrustPipeline') as TrustPipelineStack;
  }
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName('TrustPipeline').template);
  return { stack, p: stack.pipeline, template, resources: template.toJSON().Resources as Resources, assembly };
}

let dflt: Synth;
let custom: Synth;

afterAll(removeOutdirs);

beforeAll(() => {
  dflt = synth(newApp());
  custom = synth(newApp({ bundle: false }), (deps) => ({
    repositories: ['web', 'team-a/*'],
    trustedRegistries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'ghcr.io/acme/*'],
    policy: POLICY_YAML,
    feeds: ['https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip', 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip'],
    feedSyncSchedule: Schedule.rate(Duration.minutes(30)),
    nightlySchedule: Schedule.cron({ minute: '30', hour: '3' }),
    slackWebhookSecret: Secret.fromSecretCompleteArn(deps, 'Slack', SLACK_ARN),
    nvdApiKeySecret: Secret.fromSecretCompleteArn(deps, 'NvdKey', NVD_KEY_ARN),
    scanConcurrency: 20,
    rescanConcurrency: 3,
    memorySize: 3008,
    scanTimeout: Duration.minutes(10),
    maxVerdictAge: Duration.days(3),
    liveWindow: Duration.days(14),
    nightlyHistoryRetention: Duration.days(30),
    admissionAuth: 'none',
    apiTokenSecret: Secret.fromSecretCompleteArn(deps, 'Token', TOKEN_ARN),
    alarmTopic: new Topic(deps, 'Alarms'),
  }));
});

const byType = (s: Synth, type: string): [string, Resources[string]][] => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const fnRes = (s: Synth, fn: NodejsFunction): Resources[string] => s.resources[logicalId(fn)];
const queueRes = (s: Synth, q: Queue): Resources[string] => s.resources[logicalId(q)];
const functions = (s: Synth): NodejsFunction[] => [s.p.scanWorker, s.p.verdictFanout, s.p.feedSync, s.p.nightly, s.p.trustApi];

describe('push events (DESIGN.md "The data\'s way" 1)', () => {
  const ARRIVALS = { $or: [{ 'action-type': ['PUSH', 'REPLICATE'], result: ['SUCCESS'] }, { 'sync-status': ['SUCCESS'] }] };
  it('the rule matches successful pushes, pull through cache syncs and replications, every repository by default', () => {
    const rule = dflt.resources[logicalId(dflt.p.pushRule)];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action', 'ECR Pull Through Cache Action', 'ECR Replication Action'],
      detail: ARRIVALS,
    });
  });

  /**
   * EventBridge content filtering as far as the rule uses it (EventBridge User Guide, "Event patterns":
   * arrays of values or `{prefix}`, nested objects, `$or`), to run AWS's samples through the synthesized pattern.
   */
  const matches = (pattern: Record<string, unknown>, event: Record<string, unknown>): boolean => Object.entries(pattern).every(([k, p]) => {
    if (k === '$or') return (p as Record<string, unknown>[]).some((alt) => matches(alt, event));
    const v = event[k];
    if (Array.isArray(p)) return p.some((c) => (typeof c === 'object' && c !== null && 'prefix' in c ? typeof v === 'string' && v.startsWith((c as { prefix: string }).prefix) : c === v));
    return typeof v === 'object' && v !== null && matches(p as Record<string, unknown>, v as Record<string, unknown>);
  });
  type Sample = Record<string, unknown> & { detail: Record<string, unknown> };
  const sample = (where: 'corpus' | 'fixtures', file: string): Sample => JSON.parse(where === 'corpus'
    ? corpusBytes('events', 'aws', file).toString('utf8')
    : readFileSync(join(__dirname, '..', 'fixtures', 'ecr-events', file), 'utf8')) as Sample;
  const corpus = 'corpus';
  const fixtures = 'fixtures';
  const PTC = sample(fixtures, 'ecr-pull-through-cache-action.json');
  const REPL = sample(fixtures, 'ecr-replication-action.json');
  it.each([
    ['a push (AWS sample)', sample(corpus, 'awsdocs-ecr__ecr-image-action-push.json'), true, false],
    ['a pull through cache sync (AWS sample)', PTC, true, false],
    ['a replication (AWS sample)', REPL, true, false],
    ['a pull through cache sync into a watched prefix', { ...PTC, detail: { ...PTC.detail, 'repository-name': 'team-a/alpine' } }, true, true],
    ['a replica in a repository not watched', REPL, true, false],
    ['a DELETE (AWS sample)', sample(corpus, 'awsdocs-ecr__ecr-image-action-delete.json'), false, false],
    ['a scan result (AWS sample)', sample(corpus, 'awsdocs-ecr__ecr-image-scan-basic.json'), false, false],
    ['a failed pull through cache sync', { ...PTC, detail: { ...PTC.detail, 'sync-status': 'FAILED' } }, false, false],
    ['a failed replication', { ...REPL, detail: { ...REPL.detail, result: 'FAILURE' } }, false, false],
  ])('the synthesized pattern and %s', (_n, event, byDefault, withRepositories) => {
    expect(matches(dflt.resources[logicalId(dflt.p.pushRule)].Properties.EventPattern, event)).toBe(byDefault);
    expect(matches(custom.resources[logicalId(custom.p.pushRule)].Properties.EventPattern, event)).toBe(withRepositories);
  });

  it('filters detail.repository-name when repositories are given (exact names, prefixes)', () => {
    const rule = custom.resources[logicalId(custom.p.pushRule)];
    expect(rule.Properties.EventPattern.detail).toEqual({
      ...ARRIVALS,
      'repository-name': ['web', { prefix: 'team-a/' }],
    });
  });

  it('targets the scan queue, with the rule\'s own DLQ and a retry policy (RELIABILITY.md 33)', () => {
    const [target] = dflt.resources[logicalId(dflt.p.pushRule)].Properties.Targets;
    expect(target.Arn).toEqual(JSON.parse(cfn(dflt.stack, dflt.p.scanQueue.queueArn)));
    expect(target.DeadLetterConfig.Arn).toEqual(JSON.parse(cfn(dflt.stack, dflt.p.eventDeadLetterQueue.queueArn)));
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
  });

  it('every EventBridge rule target has a DLQ', () => {
    for (const s of [dflt, custom]) {
      const rules = byType(s, 'AWS::Events::Rule');
      expect(rules).toHaveLength(3);
      for (const [, r] of rules) for (const t of r.Properties.Targets) expect(t.DeadLetterConfig?.Arn).toBeDefined();
    }
  });
});

describe('queues (RELIABILITY.md 25, 28)', () => {
  it('visibility timeout ≥ 6× the consuming function\'s timeout, for every SQS event source (read from the template)', () => {
    for (const s of [dflt, custom]) {
      const sqsMappings = byType(s, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties.EventSourceArn).includes('Queue'));
      expect(sqsMappings).toHaveLength(3);
      for (const [, m] of sqsMappings) {
        const queueId = m.Properties.EventSourceArn['Fn::GetAtt'][0] as string;
        const fnId = m.Properties.FunctionName.Ref as string;
        const timeout = s.resources[fnId].Properties.Timeout as number;
        expect(timeout).toBeGreaterThan(0);
        expect(s.resources[queueId].Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
      }
    }
    expect(fnRes(dflt, dflt.p.scanWorker).Properties.Timeout).toBe(300);
    expect(fnRes(custom, custom.p.scanWorker).Properties.Timeout).toBe(600);
    expect(queueRes(custom, custom.p.scanQueue).Properties.VisibilityTimeout).toBe(3600);
  });

  it('work queues: DLQ after 5 receives, 4 days retention; DLQs keep 14 days', () => {
    for (const [q, dlq] of [[dflt.p.scanQueue, dflt.p.scanDeadLetterQueue], [dflt.p.rescanQueue, dflt.p.rescanDeadLetterQueue]] as const) {
      const props = queueRes(dflt, q).Properties;
      expect(props.RedrivePolicy).toEqual({ deadLetterTargetArn: JSON.parse(cfn(dflt.stack, dlq.queueArn)), maxReceiveCount: 5 });
      expect(props.MessageRetentionPeriod).toBe(4 * 86400);
    }
    expect(dflt.p.deadLetterQueues).toHaveLength(6);
    for (const dlq of dflt.p.deadLetterQueues) expect(queueRes(dflt, dlq).Properties.MessageRetentionPeriod).toBe(14 * 86400);
  });

  it('every queue is encrypted and refuses requests without TLS', () => {
    const queues = byType(dflt, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(9);
    const policies = byType(dflt, 'AWS::SQS::QueuePolicy');
    for (const [id, q] of queues) {
      expect(q.Properties.SqsManagedSseEnabled === true || q.Properties.KmsMasterKeyId !== undefined).toBe(true);
      const denies = policies
        .filter(([, p]) => JSON.stringify(p.Properties.Queues).includes(`"${id}"`))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
        .filter((st: Json) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      expect(denies.length).toBeGreaterThan(0);
    }
  });
});

describe('scan-worker event sources', () => {
  const sqsMapping = (s: Synth, q: Queue): Record<string, Json> => {
    const arn = cfn(s.stack, q.queueArn);
    const found = byType(s, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties.EventSourceArn) === arn);
    expect(found).toHaveLength(1);
    return found[0][1].Properties;
  };

  it('both queues feed the scan-worker with partial batch responses and small batches', () => {
    for (const s of [dflt, custom]) {
      for (const q of [s.p.scanQueue, s.p.rescanQueue]) {
        const m = sqsMapping(s, q);
        expect(m.FunctionName).toEqual({ Ref: logicalId(s.p.scanWorker) });
        expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
        expect(m.BatchSize).toBeGreaterThanOrEqual(1);
        expect(m.BatchSize).toBeLessThanOrEqual(5);
      }
    }
  });

  it('push scans get more concurrency than re-evaluations (defaults 10 and 2, props honoured)', () => {
    const conc = (s: Synth, q: Queue): number => sqsMapping(s, q).ScalingConfig.MaximumConcurrency;
    expect(conc(dflt, dflt.p.scanQueue)).toBe(10);
    expect(conc(dflt, dflt.p.rescanQueue)).toBe(2);
    expect(conc(custom, custom.p.scanQueue)).toBe(20);
    expect(conc(custom, custom.p.rescanQueue)).toBe(3);
    for (const s of [dflt, custom]) expect(conc(s, s.p.scanQueue)).toBeGreaterThan(conc(s, s.p.rescanQueue));
  });
});

describe('verdict-fanout stream', () => {
  it('reads NEW_AND_OLD_IMAGES of the verdict table, only sk = VERDICT inserts and modifications, bisecting, with an on-failure DLQ', () => {
    const streams = byType(dflt, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties.EventSourceArn).includes('StreamArn'));
    expect(streams).toHaveLength(1);
    const m = streams[0][1].Properties;
    expect(m.EventSourceArn).toEqual({ 'Fn::GetAtt': [logicalId(dflt.p.verdictTable), 'StreamArn'] });
    expect(m.FunctionName).toEqual({ Ref: logicalId(dflt.p.verdictFanout) });
    expect(JSON.parse(m.FilterCriteria.Filters[0].Pattern)).toEqual({ eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { sk: { S: ['VERDICT'] } } } });
    expect(m.BisectBatchOnFunctionError).toBe(true);
    expect(m.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(m.DestinationConfig.OnFailure.Destination).toEqual(JSON.parse(cfn(dflt.stack, dflt.p.fanoutDeadLetterQueue.queueArn)));
  });
});

describe('schedules', () => {
  const expr = (s: Synth, r: TrustPipeline['feedSyncRule']): string => s.resources[logicalId(r)].Properties.ScheduleExpression;
  const target = (s: Synth, r: TrustPipeline['feedSyncRule']): Record<string, Json> => s.resources[logicalId(r)].Properties.Targets[0];

  it('feed-sync hourly and nightly at 02:00 UTC by default; the props replace them', () => {
    expect(expr(dflt, dflt.p.feedSyncRule)).toBe('rate(1 hour)');
    expect(expr(dflt, dflt.p.nightlyRule)).toBe('cron(0 2 * * ? *)');
    expect(expr(custom, custom.p.feedSyncRule)).toBe('rate(30 minutes)');
    expect(expr(custom, custom.p.nightlyRule)).toBe('cron(30 3 * * ? *)');
  });

  it('invoke their functions; failed invocations land in each function\'s DLQ', () => {
    expect(target(dflt, dflt.p.feedSyncRule).Arn).toEqual({ 'Fn::GetAtt': [logicalId(dflt.p.feedSync), 'Arn'] });
    expect(target(dflt, dflt.p.nightlyRule).Arn).toEqual({ 'Fn::GetAtt': [logicalId(dflt.p.nightly), 'Arn'] });
    expect(fnRes(dflt, dflt.p.feedSync).Properties.DeadLetterConfig.TargetArn).toEqual(JSON.parse(cfn(dflt.stack, dflt.p.feedSyncDeadLetterQueue.queueArn)));
    expect(fnRes(dflt, dflt.p.nightly).Properties.DeadLetterConfig.TargetArn).toEqual(JSON.parse(cfn(dflt.stack, dflt.p.nightlyDeadLetterQueue.queueArn)));
  });
});

describe('alarms', () => {
  const alarmsOn = (s: Synth, q: Queue, metric: string): Record<string, Json>[] =>
    byType(s, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.MetricName === metric && a.Namespace === 'AWS/SQS' && JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(q), 'QueueName'] } }]));

  it('every DLQ alarms on its first visible message', () => {
    for (const dlq of dflt.p.deadLetterQueues) {
      const [a, ...more] = alarmsOn(dflt, dlq, 'ApproximateNumberOfMessagesVisible');
      expect(more).toHaveLength(0);
      expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    }
  });

  it('both work queues alarm on the age of their oldest message (push 15 min, rescan 6 h)', () => {
    const [push] = alarmsOn(dflt, dflt.p.scanQueue, 'ApproximateAgeOfOldestMessage');
    const [rescan] = alarmsOn(dflt, dflt.p.rescanQueue, 'ApproximateAgeOfOldestMessage');
    expect(push).toMatchObject({ Threshold: 15 * 60, ComparisonOperator: 'GreaterThanThreshold' });
    expect(rescan).toMatchObject({ Threshold: 6 * 3600, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('a sweep that cannot list the registry or a repository is a metric from nightly\'s own error lines, and an alarm (issue 15)', async () => {
    // The lines nightly really logs when ECR refuses (the filter must name them exactly).
    const errors: string[] = [];
    const failing = { repositories: async function* () { throw new Error('AccessDenied'); }, images: async function* () {} };
    await nightly({ store: { listDigests: async () => [], get: async () => undefined }, queue: { send: async () => undefined }, catalog: failing as never, liveWindowDays: 30, logger: { info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) } });
    const repoFailing = { repositories: async function* () { yield { registry: 'r.example', repository: 'team/a' }; }, images: async function* () { throw new Error('throttled'); } };
    await nightly({ store: { listDigests: async () => [], get: async () => undefined }, queue: { send: async () => undefined }, catalog: repoFailing as never, liveWindowDays: 30, logger: { info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) } });
    expect(errors).toHaveLength(2);
    const [[, filter], ...more] = byType(dflt, 'AWS::Logs::MetricFilter');
    expect(more).toHaveLength(0);
    expect(filter.Properties.LogGroupName).toEqual({ Ref: logicalId(dflt.p.nightly.logGroup) });
    for (const m of errors) expect(filter.Properties.FilterPattern).toContain(`($.message = "${m}")`);
    expect(filter.Properties.MetricTransformations).toEqual([{ MetricNamespace: SWEEP_METRIC_NAMESPACE, MetricName: SWEEP_FAILED_METRIC, MetricValue: '1', DefaultValue: 0 }]);
    const alarm = dflt.resources[logicalId(dflt.p.sweepFailedAlarm)].Properties;
    expect(alarm).toMatchObject({ Namespace: SWEEP_METRIC_NAMESPACE, MetricName: SWEEP_FAILED_METRIC, Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
  });

  it('every alarm is accounted for: 6 DLQs, 3 work queues (scan, rescan, feed-sync), trust-API errors and throttles, fan-out IteratorAge, sweep listing', () => {
    expect(byType(dflt, 'AWS::CloudWatch::Alarm')).toHaveLength(13);
    expect(dflt.p.alarms).toHaveLength(13);
    expect(dflt.p.alarms).toContain(dflt.p.sweepFailedAlarm);
  });

  it('notify the alarm topic (on alarm and on recovery): a TLS-only topic created by default, the given one otherwise', () => {
    const [[topicId, topic], ...moreTopics] = byType(dflt, 'AWS::SNS::Topic');
    expect(moreTopics).toHaveLength(0);
    expect(topicId).toBe(logicalId(dflt.p.alarmTopic));
    expect(topic.Properties.DisplayName).toBe('trustctl pipeline alarms');
    // enforceSSL: a topic policy denying publishes without TLS.
    const [[, policy]] = byType(dflt, 'AWS::SNS::TopicPolicy');
    expect(policy.Properties.Topics).toEqual([{ Ref: topicId }]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]));
    for (const [, a] of byType(dflt, 'AWS::CloudWatch::Alarm')) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
    // The given topic (in another stack) replaces it: no topic of the pipeline's own.
    expect(byType(custom, 'AWS::SNS::Topic')).toHaveLength(0);
    for (const [, a] of byType(custom, 'AWS::CloudWatch::Alarm')) {
      expect(a.Properties.AlarmActions).toHaveLength(1);
      expect(a.Properties.OKActions).toHaveLength(1);
      expect(JSON.stringify(a.Properties.AlarmActions)).toContain('Alarms');
    }
  });

  const fnAlarm = (s: Synth, fn: NodejsFunction, metric: string): Record<string, Json>[] =>
    byType(s, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.MetricName === metric && a.Namespace === 'AWS/Lambda' && JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }]));

  it('the trust API alarms on its first error and its first throttle in a minute (admission fails closed)', () => {
    for (const metric of ['Errors', 'Throttles']) {
      const [a, ...more] = fnAlarm(dflt, dflt.p.trustApi, metric);
      expect(more).toHaveLength(0);
      expect(a).toMatchObject({ Statistic: 'Sum', Period: 60, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    }
  });

  it('verdict-fanout alarms when its stream IteratorAge passes 5 minutes', () => {
    const [a, ...more] = fnAlarm(dflt, dflt.p.verdictFanout, 'IteratorAge');
    expect(more).toHaveLength(0);
    expect(a).toMatchObject({ Statistic: 'Maximum', Period: 60, Threshold: 5 * 60 * 1000, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
  });
});

describe('dashboard', () => {
  /** The dashboard body as CloudFormation holds it (Fn::Join of literals and references), rendered to text with references as `<LogicalId>`. */
  const body = (s: Synth): string => {
    const [[, d], ...more] = byType(s, 'AWS::CloudWatch::Dashboard');
    expect(more).toHaveLength(0);
    const parts = d.Properties.DashboardBody['Fn::Join'][1] as Json[];
    return parts.map((p: Json) => (typeof p === 'string' ? p : `<${p.Ref ?? p['Fn::GetAtt']?.[0]}>`)).join('');
  };

  it('one dashboard: alarm states, work queues, every DLQ, every function, the trust API, stream lag', () => {
    const text = body(dflt);
    expect(text).toContain('"type":"alarm"');
    for (const title of ['Work queues: visible messages', 'Work queues: age of oldest message (s)', 'Dead-letter queues: visible messages', 'Invocations', 'Errors', 'Throttles', 'Duration p99 (ms)', 'Trust API: requests, errors, throttles', 'verdict-fanout IteratorAge (ms)']) {
      expect(text).toContain(`"title":"${title}"`);
    }
    for (const q of [dflt.p.scanQueue, dflt.p.rescanQueue, ...dflt.p.deadLetterQueues]) expect(text).toContain(`<${logicalId(q)}>`);
    for (const f of functions(dflt)) expect(text).toContain(`<${logicalId(f)}>`);
    for (const a of dflt.p.alarms) expect(text).toContain(`<${logicalId(a)}>`);
    expect(text).toContain('"IteratorAge"');
    expect(text).toContain('"ApproximateAgeOfOldestMessage"');
  });
});

describe('per-function IAM (RELIABILITY.md 44)', () => {
  const READ = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:Query', 'dynamodb:Scan'];
  const WRITE = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
  const SQS_CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
  const SQS_SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
  const arn = (s: Synth, v: string): string => cfn(s.stack, v);
  const tables = (g: Grants, actions: readonly string[]): string[] => resourcesOf(g, actions).filter((r) => r.includes('Table'));
  let g: Record<'scan' | 'fanout' | 'feed' | 'nightly' | 'api', Grants>;
  let gc: typeof g;

  beforeAll(() => {
    const all = (s: Synth): typeof g => ({
      scan: grantsOf(s.template, s.p.scanWorker),
      fanout: grantsOf(s.template, s.p.verdictFanout),
      feed: grantsOf(s.template, s.p.feedSync),
      nightly: grantsOf(s.template, s.p.nightly),
      api: grantsOf(s.template, s.p.trustApi),
    });
    g = all(dflt);
    gc = all(custom);
  });

  it('each function has its own role, assumable by Lambda only, with no managed or inline policies', () => {
    const roles = functions(dflt).map((f) => fnRes(dflt, f).Properties.Role['Fn::GetAtt'][0] as string);
    expect(new Set(roles).size).toBe(5);
    for (const r of roles) {
      const props = dflt.resources[r].Properties;
      expect(props.AssumeRolePolicyDocument.Statement).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }]);
      expect(props.ManagedPolicyArns).toBeUndefined();
      expect(props.Policies).toBeUndefined();
    }
  });

  it('every function writes logs to its own log group only, and traces', () => {
    for (const f of functions(dflt)) {
      const grants = grantsOf(dflt.template, f);
      expect(actionsOf(grants, 'logs')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(resourcesOf(grants, ['logs:CreateLogStream', 'logs:PutLogEvents'])).toEqual([JSON.stringify({ 'Fn::GetAtt': [logicalId(f.logGroup), 'Arn'] })]);
      expect(actionsOf(grants, 'xray')).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  });

  it('scan-worker: pulls images (never tags them), reads/writes verdicts and layers, reads advisories, consumes both queues', () => {
    expect(servicesOf(g.scan)).toEqual(['dynamodb', 'ecr', 'logs', 'sqs', 'xray']);
    expect(actionsOf(g.scan, 'ecr')).toEqual(['ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer']);
    expect(g.scan.has('ecr:PutImage')).toBe(false);
    expect([...g.scan.get('ecr:GetAuthorizationToken')!]).toEqual(['*']);
    expect(tables(g.scan, WRITE)).toEqual([arn(dflt, dflt.p.layerTable.tableArn), arn(dflt, dflt.p.verdictTable.tableArn)].sort());
    expect(tables(g.scan, ['dynamodb:GetItem'])).toHaveLength(3);
    expect(actionsOf(g.scan, 'sqs')).toEqual(SQS_CONSUME);
    expect(resourcesOf(g.scan, SQS_CONSUME)).toEqual([arn(dflt, dflt.p.rescanQueue.queueArn), arn(dflt, dflt.p.scanQueue.queueArn)].sort());
  });

  it('verdict-fanout: the stream, tags (registry token, BatchGetImage + PutImage; DescribeImages + BatchDeleteImage for the stale tag), its DLQ; no table reads or writes', () => {
    expect(servicesOf(g.fanout)).toEqual(['dynamodb', 'ecr', 'logs', 'sqs', 'xray']);
    expect(actionsOf(g.fanout, 'ecr')).toEqual(['ecr:BatchDeleteImage', 'ecr:BatchGetImage', 'ecr:DescribeImages', 'ecr:GetAuthorizationToken', 'ecr:PutImage']);
    expect(actionsOf(g.fanout, 'dynamodb')).toEqual(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams']);
    expect(resourcesOf(g.fanout, ['dynamodb:GetRecords'])).toEqual([JSON.stringify({ 'Fn::GetAtt': [logicalId(dflt.p.verdictTable), 'StreamArn'] })]);
    expect(resourcesOf(g.fanout, ['sqs:SendMessage'])).toEqual([arn(dflt, dflt.p.fanoutDeadLetterQueue.queueArn)]);
  });

  it('with Slack, verdict-fanout and feed-sync may write the notification ledger (NOTIFY# items) of the verdict table, nothing else of it', () => {
    const ledger = `${arn(custom, custom.p.verdictTable.tableArn)} when ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['NOTIFY#*'] } })}`;
    expect(resourcesOf(gc.fanout, WRITE)).toEqual([ledger]);
    expect(actionsOf(gc.fanout, 'dynamodb').filter((a) => WRITE.includes(a))).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect(tables(gc.feed, WRITE)).toEqual([arn(custom, custom.p.advisoryTable.tableArn), ledger].sort());
    expect(tables(gc.feed, ['dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'])).toEqual([arn(custom, custom.p.advisoryTable.tableArn)]);
    for (const x of [gc.scan, gc.nightly, gc.api]) expect(resourcesOf(x, WRITE).filter((r) => r.includes('NOTIFY#'))).toEqual([]);
  });

  it('feed-sync: writes advisories only, reads the verdict table, sends to the rescan and feed-sync queues, consumes the feed-sync queue', () => {
    expect(servicesOf(g.feed)).toEqual(['dynamodb', 'logs', 'sqs', 'xray']);
    expect(tables(g.feed, WRITE)).toEqual([arn(dflt, dflt.p.advisoryTable.tableArn)]);
    expect(tables(g.feed, READ)).toEqual([arn(dflt, dflt.p.advisoryTable.tableArn), arn(dflt, dflt.p.verdictTable.tableArn)].sort());
    expect(actionsOf(g.feed, 'sqs')).toEqual([...new Set([...SQS_CONSUME, ...SQS_SEND])].sort());
    expect(resourcesOf(g.feed, ['sqs:SendMessage'])).toEqual([arn(dflt, dflt.p.feedSyncDeadLetterQueue.queueArn), arn(dflt, dflt.p.feedSyncQueue.queueArn), arn(dflt, dflt.p.rescanQueue.queueArn)].sort());
    expect(resourcesOf(g.feed, ['sqs:ReceiveMessage'])).toEqual([arn(dflt, dflt.p.feedSyncQueue.queueArn)]);
  });

  it('nightly: reads verdicts, lists the registry, sends to the rescan queue only (issue 15 item 4); writes no table', () => {
    expect(servicesOf(g.nightly)).toEqual(['dynamodb', 'ecr', 'logs', 'sqs', 'xray']);
    expect(actionsOf(g.nightly, 'ecr')).toEqual(['ecr:DescribeImages', 'ecr:DescribeRepositories', 'ecr:ListImages']);
    expect(actionsOf(g.nightly, 'dynamodb').every((a) => READ.includes(a))).toBe(true);
    expect(tables(g.nightly, READ)).toEqual([arn(dflt, dflt.p.verdictTable.tableArn)]);
    expect(resourcesOf(g.nightly, ['sqs:SendMessage'])).toEqual(
      [arn(dflt, dflt.p.nightlyDeadLetterQueue.queueArn), arn(dflt, dflt.p.rescanQueue.queueArn)].sort(),
    );
  });

  it('trust-api: reads the verdict table; its one write is UpdateItem on it (admission sightings, issue 15 item 4)', () => {
    expect(servicesOf(g.api)).toEqual(['dynamodb', 'logs', 'xray']);
    expect(actionsOf(g.api, 'dynamodb').every((a) => READ.includes(a) || a === 'dynamodb:UpdateItem')).toBe(true);
    expect(tables(g.api, READ)).toEqual([arn(dflt, dflt.p.verdictTable.tableArn)]);
    const writes = [...g.api.keys()].filter((a) => /^(dynamodb:(Put|Update|Delete|BatchWrite)|sqs:(Send|Delete)|ecr:Put|secretsmanager:)/.test(a));
    expect(writes).toEqual(['dynamodb:UpdateItem']);
  });

  it('ECR permissions cover the watched repositories only; every repository of the account with \'all\'', () => {
    const all = JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':repository/*']] });
    for (const x of [g.scan, g.fanout, g.nightly]) expect(resourcesOf(x, actionsOf(x, 'ecr').filter((a) => a !== 'ecr:GetAuthorizationToken'))).toEqual([all]);
    const repo = (name: string): string => JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:repository/${name}`]] });
    for (const x of [gc.scan, gc.fanout, gc.nightly]) expect(resourcesOf(x, actionsOf(x, 'ecr').filter((a) => a !== 'ecr:GetAuthorizationToken'))).toEqual([repo('team-a/*'), repo('web')]);
  });

  it('verdict-fanout may tag (PutImage) and untag (BatchDeleteImage) only in the configured repositories', () => {
    const repo = (name: string): string => JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:repository/${name}`]] });
    for (const action of ['ecr:PutImage', 'ecr:BatchDeleteImage', 'ecr:DescribeImages']) {
      expect([...gc.fanout.get(action)!].sort()).toEqual([repo('team-a/*'), repo('web')]);
      expect(gc.fanout.get(action)!.has('*')).toBe(false);
    }
    // No other function may write or delete images.
    for (const x of [g.scan, g.nightly, g.api, g.feed, gc.scan, gc.nightly, gc.api, gc.feed]) {
      expect(x.has('ecr:PutImage') || x.has('ecr:BatchDeleteImage')).toBe(false);
    }
  });

  it('the Slack secret is readable by verdict-fanout and feed-sync only; the API token by trust-api only', () => {
    const secretReaders = (secret: string): string[] =>
      Object.entries(gc).filter(([, x]) => resourcesOf(x, ['secretsmanager:GetSecretValue']).includes(secret)).map(([k]) => k).sort();
    expect(secretReaders(SLACK_ARN)).toEqual(['fanout', 'feed']);
    expect(secretReaders(TOKEN_ARN)).toEqual(['api']);
    // The NVD API key: feed-sync only (issue 14).
    expect(secretReaders(NVD_KEY_ARN)).toEqual(['feed']);
    for (const x of Object.values(g)) expect(actionsOf(x, 'secretsmanager')).toEqual([]);
  });
});

describe('tables', () => {
  const table = (t: TrustPipeline['verdictTable']): Resources[string] => dflt.resources[logicalId(t)];

  it('string pk + sk, on demand, point-in-time recovery, encrypted', () => {
    const all = byType(dflt, 'AWS::DynamoDB::Table');
    expect(all).toHaveLength(3);
    for (const [, t] of all) {
      expect(t.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
      expect(t.Properties.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }]);
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.Properties.SSESpecification.SSEEnabled).toBe(true);
    }
  });

  it('the verdict table streams old and new images; no other table streams', () => {
    expect(table(dflt.p.verdictTable).Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(table(dflt.p.advisoryTable).Properties.StreamSpecification).toBeUndefined();
    expect(table(dflt.p.layerTable).Properties.StreamSpecification).toBeUndefined();
  });

  it('the layer and verdict tables (scan claims, ledger) expire items by expiresAt; verdicts and advisories are retained on delete', () => {
    expect(table(dflt.p.layerTable).Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table(dflt.p.verdictTable).Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table(dflt.p.advisoryTable).Properties.TimeToLiveSpecification).toBeUndefined();
    expect(table(dflt.p.verdictTable).DeletionPolicy).toBe('Retain');
    expect(table(dflt.p.advisoryTable).DeletionPolicy).toBe('Retain');
  });

  it('the verdict table has deletion protection (the verdicts admission enforces)', () => {
    expect(table(dflt.p.verdictTable).Properties.DeletionProtectionEnabled).toBe(true);
    expect(table(custom.p.verdictTable).Properties.DeletionProtectionEnabled).toBe(true);
  });
});

describe('functions', () => {
  it('run on the newest Node.js runtime aws-cdk-lib knows, on arm64, traced, logging to a 1-month log group', () => {
    const version = (r: string): number => Number(/^nodejs(\d+)/.exec(r)?.[1] ?? 0);
    const newest = Runtime.ALL.map(String).filter((r) => /^nodejs\d+\.x$/.test(r)).sort((a, b) => version(b) - version(a))[0];
    expect(byType(dflt, 'AWS::Lambda::Function')).toHaveLength(5);
    for (const f of functions(dflt)) {
      const props = fnRes(dflt, f).Properties;
      expect(props.Runtime).toBe(newest);
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      // Powertools: the service name every function's logger (and a tracer, when one is added) reports under.
      expect(props.Environment.Variables.POWERTOOLS_SERVICE_NAME).toMatch(/^trustctl-[a-z-]+$/);
      expect(props.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(f.logGroup) });
      expect(dflt.resources[logicalId(f.logGroup)].Properties.RetentionInDays).toBe(30);
      expect(props.Handler).toBe('index.handler');
    }
    expect(fnRes(dflt, dflt.p.scanWorker).Properties.MemorySize).toBe(2048);
    expect(fnRes(custom, custom.p.scanWorker).Properties.MemorySize).toBe(3008);
  });

  it('are bundled by esbuild without Docker: one index.js (CommonJS, with a source map) per function, SDK included', () => {
    const assets = dflt.assembly.directory;
    for (const f of functions(dflt)) {
      const code = fnRes(dflt, f).Properties.Code;
      expect(code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
      const dir = join(assets, `asset.${code.S3Key.replace('.zip', '')}`);
      expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
    }
    expect(existsSync(join(assets, 'TrustPipeline.template.json'))).toBe(true);
  });

  it('get only the environment they read (defaults)', () => {
    const env = (f: NodejsFunction): Record<string, unknown> => fnRes(dflt, f).Properties.Environment.Variables;
    const ref = (c: Parameters<typeof logicalId>[0]): unknown => ({ Ref: logicalId(c) });
    const base = (name: string): Record<string, unknown> => ({ POWERTOOLS_SERVICE_NAME: `trustctl-${name}`, NODE_OPTIONS: LAMBDA_NODE_OPTIONS });
    const feeds = DEFAULT_FEEDS.join(',');
    const p = dflt.p;
    expect(env(p.scanWorker)).toEqual({ ...base('scan-worker'), VERDICT_TABLE: ref(p.verdictTable), ADVISORY_TABLE: ref(p.advisoryTable), LAYER_TABLE: ref(p.layerTable), FEEDS: feeds, NIGHTLY_HISTORY_RETENTION_DAYS: '90' });
    expect(env(p.verdictFanout)).toEqual(base('verdict-fanout'));
    expect(env(p.feedSync)).toEqual({ ...base('feed-sync'), ADVISORY_TABLE: ref(p.advisoryTable), VERDICT_TABLE: ref(p.verdictTable), RESCAN_QUEUE_URL: ref(p.rescanQueue), FEED_SYNC_QUEUE_URL: ref(p.feedSyncQueue), FEEDS: feeds });
    expect(env(p.nightly)).toEqual({
      ...base('nightly'), VERDICT_TABLE: ref(p.verdictTable), RESCAN_QUEUE_URL: ref(p.rescanQueue), REPOSITORIES: '*', LIVE_WINDOW_DAYS: '30', NIGHTLY_MAX_SWEEP_SCANS: '500',
    });
    expect(env(p.trustApi)).toEqual({ ...base('trust-api'), VERDICT_TABLE: ref(p.verdictTable), MAX_VERDICT_AGE_MS: String(7 * 86_400_000), RECORD_SIGHTINGS: 'true' });
    expect(DEFAULT_FEEDS.length).toBeGreaterThan(5);
    expect(feeds).toContain('https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip');
    // Issue 14: NVD (CVE severities) and CISA KEV beside OSV.
    expect(feeds).toContain('https://services.nvd.nist.gov/rest/json/cves/2.0');
    expect(feeds).toContain('https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json');
  });

  it('get the props as environment: policy JSON, registries, repositories, secrets, ages', () => {
    const env = (f: NodejsFunction): Record<string, Json> => fnRes(custom, f).Properties.Environment.Variables;
    const p = custom.p;
    const feeds = 'https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip,https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip';
    expect(env(p.scanWorker).FEEDS).toBe(feeds);
    expect(env(p.feedSync).FEEDS).toBe(feeds);
    expect(env(p.verdictFanout)).toEqual({ POWERTOOLS_SERVICE_NAME: 'trustctl-verdict-fanout', NODE_OPTIONS: LAMBDA_NODE_OPTIONS, VERDICT_TABLE: { Ref: logicalId(p.verdictTable) }, SLACK_SECRET_ARN: SLACK_ARN });
    expect(env(p.feedSync)).toMatchObject({ SLACK_SECRET_ARN: SLACK_ARN });
    expect(env(p.nightly)).toMatchObject({ REPOSITORIES: 'web,team-a/*', LIVE_WINDOW_DAYS: '14' });
    expect(env(p.trustApi)).toMatchObject({ API_TOKEN_SECRET_ARN: TOKEN_ARN, TRUSTED_REGISTRIES: '123456789012.dkr.ecr.eu-west-1.amazonaws.com,ghcr.io/acme/*', MAX_VERDICT_AGE_MS: String(3 * 86_400_000) });
    const holders = (name: string): string[] => functions(custom).filter((f) => env(f)[name] !== undefined).map((f) => f.node.scope!.node.id).sort();
    expect(holders('POLICY_JSON')).toEqual(['FeedSync', 'ScanWorker']);
    expect(holders('SLACK_SECRET_ARN')).toEqual(['FeedSync', 'VerdictFanout']);
    expect(holders('NVD_API_KEY_SECRET_ID')).toEqual(['FeedSync']);
    expect(env(p.feedSync).NVD_API_KEY_SECRET_ID).toBe(NVD_KEY_ARN);
    expect(holders('TRUSTED_REGISTRIES')).toEqual(['TrustApi']);
    expect(holders('API_TOKEN_SECRET_ARN')).toEqual(['TrustApi']);
    expect(holders('MAX_VERDICT_AGE_MS')).toEqual(['TrustApi']);
    expect(holders('LIVE_WINDOW_DAYS')).toEqual(['Nightly']);
    expect(env(p.scanWorker).NIGHTLY_HISTORY_RETENTION_DAYS).toBe('30');
    expect(holders('NIGHTLY_HISTORY_RETENTION_DAYS')).toEqual(['ScanWorker']);
    expect(holders('REPOSITORIES')).toEqual(['Nightly']);
    // POLICY_JSON: compact JSON of the parsed policy, itself a valid policy with the same hash.
    const json = env(p.scanWorker).POLICY_JSON as string;
    expect(env(p.feedSync).POLICY_JSON).toBe(json);
    expect(json).not.toMatch(/\n/);
    const fromYaml = parsePolicy(POLICY_YAML);
    const fromEnv = parsePolicy(json);
    expect(policyHash(fromEnv)).toBe(policyHash(fromYaml));
    expect(fromEnv.metadata?.name).toBe('strict');
    expect(JSON.parse(json).rules.vulnerabilities.severities).toEqual(['critical', 'high', 'medium']);
  });

  it('the trust API is a Function URL: IAM auth by default; NONE (public, bearer token checked by the handler) on request', () => {
    const url = (s: Synth): Record<string, Json> => byType(s, 'AWS::Lambda::Url')[0][1].Properties;
    expect(url(dflt)).toMatchObject({ AuthType: 'AWS_IAM', TargetFunctionArn: { 'Fn::GetAtt': [logicalId(dflt.p.trustApi), 'Arn'] } });
    expect(url(custom).AuthType).toBe('NONE');
    // A public URL needs both permissions (lambda:InvokeFunction only through the URL).
    const publicInvoke = byType(custom, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties.Principal === '*').map(([, r]) => r.Properties);
    expect(publicInvoke).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE' }),
      expect.objectContaining({ Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true }),
    ]));
    expect(publicInvoke).toHaveLength(2);
    expect(byType(dflt, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties.Principal === '*')).toHaveLength(0);
  });
});

describe('cdk-nag (AwsSolutions + Serverless)', () => {
  it('reports no unacknowledged error or warning, with every default and with every prop set', () => {
    expect(validationReport(dflt.assembly.directory)).toEqual([]);
    expect(validationReport(custom.assembly.directory)).toEqual([]);
  });

  it('every acknowledgment has a written reason; the accepted findings are exactly these', () => {
    const acks = acknowledgments(dflt.stack);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(40);
    const summary = [...new Set(acks.map((a) => `${a.path.replace('TrustPipeline/Pipeline/', '')} ${a.id}`))].sort();
    expect(summary).toEqual([
      'AlarmTopic AwsSolutions-SNS2',
      'EventDeadLetterQueue AwsSolutions-SQS3',
      'EventDeadLetterQueue Serverless-SQSRedrivePolicy',
      'FanoutDeadLetterQueue AwsSolutions-SQS3',
      'FanoutDeadLetterQueue Serverless-SQSRedrivePolicy',
      'FeedSync/Function Serverless-LambdaEventSourceMappingDestination',
      'FeedSync/Role AwsSolutions-IAM5[Resource::*]',
      'FeedSyncDeadLetterQueue Serverless-SQSRedrivePolicy',
      'Nightly/Role AwsSolutions-IAM5[Resource::*]',
      'Nightly/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
      'NightlyDeadLetterQueue Serverless-SQSRedrivePolicy',
      'RescanDeadLetterQueue Serverless-SQSRedrivePolicy',
      'ScanDeadLetterQueue Serverless-SQSRedrivePolicy',
      'ScanWorker/Function Serverless-LambdaDLQ',
      'ScanWorker/Function Serverless-LambdaEventSourceMappingDestination',
      'ScanWorker/Role AwsSolutions-IAM5[Resource::*]',
      'ScanWorker/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
      'TrustApi/Function Serverless-LambdaDLQ',
      'TrustApi/Role AwsSolutions-IAM5[Resource::*]',
      'VerdictFanout/Function Serverless-LambdaDLQ',
      'VerdictFanout/Role AwsSolutions-IAM5[Resource::*]',
      'VerdictFanout/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
    ]);
    // With repositories named, only the prefix needs a wildcard acknowledgment; exact names need none.
    const customRepoAcks = acknowledgments(custom.stack).filter((a) => a.id.includes('repository/')).map((a) => a.id);
    expect(new Set(customRepoAcks)).toEqual(new Set(['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/team-a/*]']));
  });
});

describe('settings that fail synthesis', () => {
  const build = (props: TrustPipelineProps): (() => TrustPipeline) => () => new TrustPipeline(new Stack(new App(), 'S'), 'P', props);

  it('a bad policy fails with the policy\'s own error', () => {
    const bad = 'apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    severities: [catastrophic]\n';
    expect(build({ policy: bad })).toThrow(PolicyError);
    expect(build({ policy: bad })).toThrow(/rules\.vulnerabilities\.severities/);
    expect(build({ policy: 'kind: Nonsense' })).toThrow(PolicyError);
    expect(build({ policy: '' })).toThrow(/empty/);
  });

  it('bad repositories, feeds, registries, timeouts and auth settings', () => {
    expect(build({ repositories: [] })).toThrow(/repositories is empty/);
    expect(build({ repositories: ['Web'] })).toThrow(/neither an ECR repository name/);
    expect(build({ repositories: ['*'] })).toThrow(/neither an ECR repository name/);
    expect(build({ feeds: [] })).toThrow(/at least one/);
    expect(build({ feeds: ['http://example.com/all.zip'] })).toThrow(/https/);
    expect(build({ trustedRegistries: ['a.io,b.io'] })).toThrow(/comma/);
    expect(build({ scanTimeout: Duration.minutes(16) })).toThrow(/15 minutes/);
    expect(build({ admissionAuth: 'none' })).toThrow(/apiTokenSecret/);
    expect(build({ nightlyHistoryRetention: Duration.days(0) })).toThrow(/nightlyHistoryRetention/);
  });

  it('an environment that cannot fit Lambda\'s 4 KB', () => {
    const feeds = Array.from({ length: 60 }, (_, i) => `https://osv-vulnerabilities.storage.googleapis.com/Ecosystem${i}/all.zip`);
    expect(build({ feeds })).toThrow(/4096-byte limit/);
  });
});
