/**
 * lib/aws/pipeline-ports.ts: the environment contract the CDK construct sets (table-driven), registry
 * overrides, the trust API's bearer token (Secrets Manager through aws-sdk-client-mock), `lazily`.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { availableParallelism } from 'node:os';
import { AwsPipeline, BearerTokenCheck, lazily, parseRegistryOverrides, PipelineConfigError, PipelineRegistryAccess, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { DEFAULT_POLICY } from '../../lib/engine/policy/default-policy';
import { policyHash } from '../../lib/engine/policy/schema';

const secrets = mockClient(SecretsManagerClient);
beforeEach(() => secrets.reset());

describe('readPipelineConfig', () => {
  it('every variable the construct sets', () => {
    const c = readPipelineConfig({
      VERDICT_TABLE: 'v', ADVISORY_TABLE: 'a', LAYER_TABLE: 'l', SCAN_QUEUE_URL: 'https://sqs/s', RESCAN_QUEUE_URL: 'https://sqs/r',
      POLICY_JSON: JSON.stringify({ apiVersion: 'trustctl/v1', kind: 'Policy', rules: { vulnerabilities: { severities: ['critical'] } } }),
      FEEDS: 'https://osv/npm/all.zip, https://osv/PyPI/all.zip', TRUSTED_REGISTRIES: '123456789012.dkr.ecr.*.amazonaws.com/**',
      REPOSITORIES: 'team/a,team/b', SLACK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack', MAX_VERDICT_AGE_MS: '604800000',
      LIVE_WINDOW_DAYS: '14', API_TOKEN_SECRET_ARN: 'arn:token', NIGHTLY_HISTORY_RETENTION_DAYS: '30',
    });
    expect(c).toMatchObject({
      verdictTable: 'v', advisoryTable: 'a', layerTable: 'l', scanQueueUrl: 'https://sqs/s', rescanQueueUrl: 'https://sqs/r',
      feeds: ['https://osv/npm/all.zip', 'https://osv/PyPI/all.zip'], trustedRegistries: ['123456789012.dkr.ecr.*.amazonaws.com/**'],
      repositories: ['team/a', 'team/b'], slackSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack', maxVerdictAgeMs: 604800000,
      liveWindowDays: 14, apiTokenSecretArn: 'arn:token', localRun: false, nightlyHistoryRetentionDays: 30,
    });
    expect(c.policy.rules.vulnerabilities.severities).toEqual(['critical']);
  });

  it.each([
    ['nothing set: defaults', {}, { repositories: '*', liveWindowDays: 30, feeds: [], trustedRegistries: [], localRun: false }],
    ['REPOSITORIES=*', { REPOSITORIES: '*' }, { repositories: '*' }],
    ['a local run (endpoint override)', { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' }, { localRun: true }],
    ['a registry override', { TRUSTCTL_REGISTRY_OVERRIDE: '123456789012.dkr.ecr.us-west-2.amazonaws.com=127.0.0.1:5000' }, { localRun: true, ecrEndpoint: false }],
    ['a local ECR API endpoint', { AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:4566' }, { ecrEndpoint: true }],
    ['the Slack URL itself (local runs)', { TRUSTCTL_SLACK_WEBHOOK_URL: 'http://127.0.0.1:1/services/x' }, { slackWebhookFromEnv: true }],
    ['the Lambda runtime\'s memory size', { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' }, { lambdaMemoryMb: 2048 }],
  ])('%s', (_n, env, expected) => {
    const c = readPipelineConfig(env);
    expect(c).toMatchObject(expected);
    expect(policyHash(c.policy)).toBe(policyHash(DEFAULT_POLICY));
  });

  it.each([
    ['a policy that is not one', { POLICY_JSON: '{"kind":"Policy"}' }, /POLICY_JSON/],
    ['a policy that is not JSON/YAML', { POLICY_JSON: '{' }, /POLICY_JSON/],
    ['a negative age', { MAX_VERDICT_AGE_MS: '-1' }, /MAX_VERDICT_AGE_MS/],
    ['a window that is not a number', { LIVE_WINDOW_DAYS: 'a month' }, /LIVE_WINDOW_DAYS/],
    ['a history retention that is not positive', { NIGHTLY_HISTORY_RETENTION_DAYS: '0' }, /NIGHTLY_HISTORY_RETENTION_DAYS/],
    ['an override without =', { TRUSTCTL_REGISTRY_OVERRIDE: '127.0.0.1:5000' }, /TRUSTCTL_REGISTRY_OVERRIDE/],
  ])('refuses %s, naming the variable', (_n, env, message) => {
    expect(() => readPipelineConfig(env)).toThrow(PipelineConfigError);
    expect(() => readPipelineConfig(env)).toThrow(message);
  });
});

describe('AwsPipeline.layerConcurrency: layers a scan reads at once, from the Lambda\'s memory', () => {
  it.each([
    ['2,048 MB: 2 layers (on 2 cores or more)', '2048', Math.min(2, availableParallelism())],
    ['1,024 MB: 1 layer', '1024', 1],
    ['512 MB: 1 layer', '512', 1],
  ])('%s', (_n, mb, expected) => {
    const p = new AwsPipeline(readPipelineConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: mb }));
    expect(p.layerConcurrency).toBe(expected);
  });
});

describe('registry overrides', () => {
  it('several pairs; the client serves the override while callers keep the ECR name', () => {
    const o = parseRegistryOverrides('a.dkr.ecr.x.amazonaws.com=127.0.0.1:5000, b.example=[::1]:5001');
    expect([...o]).toEqual([['a.dkr.ecr.x.amazonaws.com', '127.0.0.1:5000'], ['b.example', '[::1]:5001']]);
    const access = new PipelineRegistryAccess({ limits: DEFAULT_LIMITS, overrides: o });
    expect(access.client('a.dkr.ecr.x.amazonaws.com').registry).toBe('127.0.0.1:5000');
    expect(access.client('ghcr.io').registry).toBe('ghcr.io');
    expect(access.client('ghcr.io')).toBe(access.client('ghcr.io'));
  });
});

describe('BearerTokenCheck (trust API behind a public Function URL)', () => {
  const check = () => new BearerTokenCheck({ secretId: 'arn:token', client: new SecretsManagerClient({ region: 'us-east-1' }) });
  it.each([
    ['the right token', 'Bearer s3cr3t-token', true],
    ['lower-case scheme', 'bearer s3cr3t-token', true],
    ['a wrong token', 'Bearer s3cr3t-tokem', false],
    ['a prefix of the token', 'Bearer s3cr3t', false],
    ['Basic credentials', 'Basic czNjcjN0LXRva2Vu', false],
    ['no header', undefined, false],
  ])('%s', async (_n, header, allowed) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 's3cr3t-token\n' });
    expect(await check().allows(header)).toBe(allowed);
  });

  it('a secret that cannot be read is an error, not a pass', async () => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(check().allows('Bearer x')).rejects.toBeInstanceOf(PipelineConfigError);
  });
});

describe('lazily', () => {
  it('makes once; a failed promise is made again on the next call', async () => {
    let calls = 0;
    const get = lazily(async () => {
      calls++;
      if (calls === 1) throw new Error('transient');
      return calls;
    });
    await expect(get()).rejects.toThrow('transient');
    await new Promise((r) => setImmediate(r));
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
    expect(calls).toBe(2);
  });
});
