/**
 * The CDK app as `cdk synth` builds it (bin/app.ts → lib/infra/app.ts): offline, environment-agnostic,
 * with the cdk-nag rule packs — and proof that those packs would report a non-compliant resource, so
 * the "no violation" of test/infra/trust-pipeline.test.ts is not vacuous. Bundling is skipped here
 * (trust-pipeline.test.ts bundles for real).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRule } from 'aws-cdk-lib/aws-events';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { PolicyError } from '../../lib/engine/policy/schema';
import { buildApp } from '../../lib/infra/app';
import { CONTEXT_KEYS, TrustPipelineStack } from '../../lib/infra/trust-pipeline-stack';
import { logicalId, newApp, removeOutdirs, validationReport } from './helpers';

/** Template JSON, typed as JSON.parse types it. */
type Json = ReturnType<typeof JSON.parse>;

afterAll(removeOutdirs);

describe('CDK app', () => {
  it('synthesizes the TrustPipeline stack offline, environment-agnostic, with its outputs', () => {
    const app = buildApp(newApp({ bundle: false }));
    const assembly = app.synth();
    const stack = assembly.getStackByName('TrustPipeline');
    expect(stack.environment.account).toBe('unknown-account');
    expect(stack.environment.region).toBe('unknown-region');
    const template = Template.fromJSON(stack.template);
    expect(template.toJSON().Description).toBe('Container-image trust pipeline (trustctl)');
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'AdvisoryTableName', 'AlarmTopicArn', 'DashboardName', 'LayerTableName', 'RescanQueueUrl', 'ScanQueueUrl', 'TrustApiFunctionName', 'TrustApiUrl', 'VerdictTableName',
    ]);
    template.hasOutput('TrustApiUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineTrustApi'), 'FunctionUrl'] } });
    // Nothing else is said at synthesis either: no warning or error annotation.
    const messages = stack.messages.filter((m) => m.level !== 'info');
    expect(messages).toEqual([]);
  });

  it('cdk-nag fails synthesis on an unacknowledged error and names the resource (the check is not vacuous)', () => {
    const app = buildApp(newApp({ bundle: false }));
    const stack = app.node.findChild('TrustPipeline') as Stack;
    new Queue(stack, 'CarelessQueue', { removalPolicy: RemovalPolicy.DESTROY }); // no DLQ, no enforceSSL
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    const violations = validationReport(app.outdir);
    const rules = violations.map((v) => `${v.plugin} ${v.severity} ${v.rule} ${v.paths.join(',')}`).sort();
    expect(rules).toEqual([
      'AwsSolutions error AwsSolutions-SQS3 TrustPipeline/CarelessQueue/Resource',
      'AwsSolutions error AwsSolutions-SQS4 TrustPipeline/CarelessQueue/Resource',
      'Serverless error Serverless-SQSRedrivePolicy TrustPipeline/CarelessQueue/Resource',
    ]);
  });

  it('cdk-nag 3 fails synthesis on an unacknowledged warning too, and reports it', () => {
    const app = buildApp(newApp({ bundle: false }));
    const stack = app.node.findChild('TrustPipeline') as Stack;
    new LogGroup(stack, 'ForeverLogs', { retention: RetentionDays.INFINITE });
    expect(() => app.synth()).toThrow(/CloudWatchLogGroupRetentionPeriod/);
    expect(validationReport(app.outdir)).toEqual([
      { plugin: 'Serverless', rule: 'Serverless-CloudWatchLogGroupRetentionPeriod', severity: 'warning', paths: ['TrustPipeline/ForeverLogs/Resource'] },
    ]);
  });

  describe('settings from CDK context (cdk deploy -c trustctl:…=…)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trustctl-policy-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'apiVersion: trustctl/v1\nkind: Policy\nrules:\n  vulnerabilities:\n    severities: [critical]\n');
    const context = {
      [CONTEXT_KEYS.repositories]: 'web, api',
      [CONTEXT_KEYS.trustedRegistries]: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/*',
      [CONTEXT_KEYS.policyFile]: policyFile,
      [CONTEXT_KEYS.slackWebhookSecret]: 'trustctl/slack',
      [CONTEXT_KEYS.alarmTopicArn]: 'arn:aws:sns:eu-west-1:123456789012:oncall',
      [CONTEXT_KEYS.admissionAuth]: 'none',
      [CONTEXT_KEYS.apiTokenSecret]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trustctl/api-token-AbCdEf',
    };
    const appWith = (ctx: Record<string, unknown>): App => newApp({ bundle: false, context: ctx });

    it('configure the pipeline; the result still passes cdk-nag', () => {
      const app = buildApp(appWith(context));
      const stack = app.node.findChild('TrustPipeline') as TrustPipelineStack;
      const template = Template.fromJSON(app.synth().getStackByName('TrustPipeline').template);
      const res = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
      const env = (f: IConstruct): Json => res[logicalId(f)].Properties.Environment.Variables;
      const p = stack.pipeline;
      expect(res[logicalId(p.pushRule)].Properties.EventPattern.detail['repository-name']).toEqual(['web', 'api']);
      expect(env(p.nightly).REPOSITORIES).toBe('web,api');
      expect(env(p.trustApi).TRUSTED_REGISTRIES).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/*');
      expect(JSON.parse(env(p.scanWorker).POLICY_JSON).rules.vulnerabilities.severities).toEqual(['critical']);
      expect(JSON.stringify(env(p.verdictFanout).SLACK_SECRET_ARN)).toContain(':secret:trustctl/slack');
      expect(env(p.trustApi).API_TOKEN_SECRET_ARN).toBe(context[CONTEXT_KEYS.apiTokenSecret]);
      template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:oncall'] });
      // The given topic replaces the default one: no topic is created, and the output names the given one.
      template.resourceCountIs('AWS::SNS::Topic', 0);
      template.hasOutput('AlarmTopicArn', { Value: 'arn:aws:sns:eu-west-1:123456789012:oncall' });
      expect(validationReport(app.outdir)).toEqual([]);
    });

    it('explicit props win over context; bad context values fail synthesis', () => {
      const stack = new TrustPipelineStack(appWith(context), 'S', { pipeline: { repositories: ['only'], admissionAuth: 'iam' } });
      const pattern = stack.resolve((stack.pipeline.pushRule.node.defaultChild as CfnRule).eventPattern) as Json;
      expect(pattern.detail['repository-name']).toEqual(['only']);
      expect(() => new TrustPipelineStack(appWith({ [CONTEXT_KEYS.admissionAuth]: 'open' }), 'S')).toThrow(/expected iam or none/);
      writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: trustctl/v1\nkind: Policy\nrules: { malware: ignore }\n');
      expect(() => new TrustPipelineStack(appWith({ [CONTEXT_KEYS.policyFile]: join(dir, 'bad.yaml') }), 'S')).toThrow(PolicyError);
      expect(() => new TrustPipelineStack(appWith({ [CONTEXT_KEYS.policyFile]: join(dir, 'bad.yaml') }), 'S')).toThrow(/bad\.yaml:3:/);
      expect(() => new TrustPipelineStack(appWith({ [CONTEXT_KEYS.policyFile]: join(dir, 'missing.yaml') }), 'S')).toThrow(/ENOENT/);
    });
  });
});
