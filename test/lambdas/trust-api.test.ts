/**
 * trust-api (lambdas/trust-api/handler.ts) invoked with Lambda Function URL events (payload format 2.0,
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads) over a verdict table
 * on DynamoDB Local: the verdict API, the admission webhook, and the bearer token a public URL requires
 * (the token secret: Secrets Manager through aws-sdk-client-mock).
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { DynamoVerdictStore, tableDefinition } from '../../lib/aws/verdict-store';
import { sha256Digest, type Digest } from '../../lib/engine/model';
import type { VerdictEvaluation } from '../../lib/engine/verdicts/port';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';

type Result = Exclude<LambdaFunctionURLResult, string>;
type Handler = (e: LambdaFunctionURLEvent) => Promise<Result>;

const TABLE = 'trust-api-verdicts';
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const TOKEN = 'k8s-api-server-bearer-token-0123456789';
const savedEnv = { ...process.env };

const trusted = sha256Digest('trust-api:trusted');
const quarantined = sha256Digest('trust-api:quarantined');
const unknown = sha256Digest('trust-api:unknown');

const verdict = (digest: Digest, status: 'trusted' | 'quarantined'): VerdictEvaluation => ({
  digest, ref: `${REGISTRY}/team/app@${digest}`, status,
  reasons: status === 'trusted' ? [] : [{ rule: 'vulnerabilities', message: 'critical/high vulnerabilities with a fix available: CVE-2022-24713 in pkg:cargo/regex@1.5.4 (high, fixed in 1.5.5)', findings: ['CVE-2022-24713'] }],
  counts: { critical: 0, high: status === 'trusted' ? 0 : 1, medium: 0, low: 0, unknown: 0 },
  policyHash: 'sha256:p', feedRevision: new Date().toISOString(), plugins: ['osv-matcher@1.0.0'], evaluatedAt: new Date().toISOString(),
});

/** A Function URL request (payload 2.0), as Lambda delivers it. */
function urlEvent(method: string, path: string, opts: { body?: unknown; base64?: boolean; headers?: Record<string, string> } = {}): LambdaFunctionURLEvent {
  const text = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return {
    version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '',
    headers: { host: 'abcdefghijklmnop.lambda-url.eu-west-1.on.aws', 'user-agent': 'kube-apiserver-admission', ...(text ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    requestContext: {
      accountId: 'anonymous', apiId: 'abcdefghijklmnop', domainName: 'abcdefghijklmnop.lambda-url.eu-west-1.on.aws', domainPrefix: 'abcdefghijklmnop',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'kube-apiserver-admission' },
      requestId: 'id', routeKey: '$default', stage: '$default', time: '28/Nov/2026:10:00:00 +0000', timeEpoch: 1795860000000,
    },
    ...(text !== undefined ? { body: opts.base64 ? Buffer.from(text).toString('base64') : text, isBase64Encoded: opts.base64 === true } : { isBase64Encoded: false }),
  } as LambdaFunctionURLEvent;
}

/** An AdmissionReview v1 for a Pod CREATE (Kubernetes docs, "Request"). */
const podReview = (image: string) => ({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: '705ab4f5-6393-11e8-b7cc-42010a800002', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' }, requestResource: { group: '', version: 'v1', resource: 'pods' },
    name: 'app', namespace: 'team-a', operation: 'CREATE', userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'u', groups: ['system:serviceaccounts'] },
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'team-a' }, spec: { containers: [{ name: 'app', image }] } },
    oldObject: null, dryRun: false, options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
  },
});

/**
 * The handler module loaded afresh with `env` (each execution environment reads its configuration
 * once). The module registry is a new one, so Secrets Manager is mocked on that registry's client class.
 */
async function loadHandler(env: Record<string, string>, token?: string): Promise<Handler> {
  Object.assign(process.env, env);
  let h: Handler | undefined;
  await jest.isolateModulesAsync(async () => {
    if (token !== undefined) {
      const sm = await import('@aws-sdk/client-secrets-manager');
      (await import('aws-sdk-client-mock')).mockClient(sm.SecretsManagerClient).on(sm.GetSecretValueCommand).resolves({ SecretString: token });
    }
    h = (await import('../../lambdas/trust-api/handler')).handler as Handler;
  });
  return h!;
}

const db = useDynamoDbLocal({ tables: [tableDefinition(TABLE)] });
beforeAll(async () => {
  const store = new DynamoVerdictStore({ client: db.client, tableName: TABLE });
  await store.put(verdict(trusted, 'trusted'));
  await store.put(verdict(quarantined, 'quarantined'));
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: db.server.endpoint, VERDICT_TABLE: TABLE, TRUSTED_REGISTRIES: `${REGISTRY}/team/*`, MAX_VERDICT_AGE_MS: String(7 * 86_400_000),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});

afterAll(() => {
  process.env = savedEnv;
});

describe('trust-api behind an IAM-authenticated Function URL', () => {
  let handler: Handler;
  beforeAll(async () => {
    handler = await loadHandler({});
  });

  it.each([
    ['a trusted verdict', 'GET', `/verdicts/${trusted}`, 200, { status: 'trusted', digest: trusted }],
    ['a quarantined verdict', 'GET', `/verdicts/${quarantined}`, 200, { status: 'quarantined' }],
    ['no verdict', 'GET', `/verdicts/${unknown}`, 404, { error: { code: 'NO_VERDICT' } }],
    ['a bad digest', 'GET', '/verdicts/sha256:abc', 400, { error: { code: 'INVALID_REFERENCE' } }],
    ['a URL-encoded digest', 'GET', `/verdicts/${encodeURIComponent(trusted)}`, 200, { status: 'trusted' }],
    ['the wrong method', 'POST', `/verdicts/${trusted}`, 405, { error: { code: 'METHOD_NOT_ALLOWED' } }],
    ['an unknown route', 'GET', '/nope', 404, { error: { code: 'NOT_FOUND' } }],
  ])('%s', async (_n, method, path, status, body) => {
    const r = await handler(urlEvent(method, path));
    expect(r.statusCode).toBe(status);
    expect(JSON.parse(r.body as string)).toMatchObject(body);
  });

  it('/healthz', async () => {
    expect(await handler(urlEvent('GET', '/healthz'))).toMatchObject({ statusCode: 200, body: 'ok' });
  });

  it.each([
    ['a trusted digest is admitted', `${REGISTRY}/team/app@${trusted}`, false, true],
    ['a quarantined digest is denied with its reasons', `${REGISTRY}/team/app@${quarantined}`, false, false],
    ['a digest without a verdict is denied (RELIABILITY.md 40)', `${REGISTRY}/team/app@${unknown}`, false, false],
    ['a registry not on the list is denied (RELIABILITY.md 41)', `ghcr.io/evil/app@${trusted}`, false, false],
    ['a base64 body (as Function URLs deliver binary content types)', `${REGISTRY}/team/app@${trusted}`, true, true],
  ])('/admission/validate: %s', async (_n, image, base64, allowed) => {
    const r = await handler(urlEvent('POST', '/admission/validate', { body: podReview(image), base64 }));
    expect(r.statusCode).toBe(200);
    const review = JSON.parse(r.body as string) as { response: { uid: string; allowed: boolean; status?: { message?: string } } };
    expect(review.response).toMatchObject({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed });
    if (image.includes(quarantined)) expect(review.response.status?.message).toMatch(/CVE-2022-24713/);
  });

  it('a body that is not an AdmissionReview is a 400 (the API server applies failurePolicy)', async () => {
    expect((await handler(urlEvent('POST', '/admission/validate', { body: { hello: 'world' } }))).statusCode).toBe(400);
  });
});

describe('trust-api behind a public Function URL (API_TOKEN_SECRET_ARN)', () => {
  let handler: Handler;
  beforeAll(async () => {
    handler = await loadHandler({ API_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trust-api-token' }, TOKEN);
  });

  it.each([
    ['no token', {}, 401],
    ['a wrong token', { authorization: 'Bearer not-the-token' }, 401],
    ['the token', { authorization: `Bearer ${TOKEN}` }, 200],
  ])('%s', async (_n, headers, status) => {
    const r = await handler(urlEvent('GET', `/verdicts/${trusted}`, { headers })) as Result;
    expect(r.statusCode).toBe(status);
    expect(r.body).not.toContain(TOKEN);
  });

  it('/healthz needs no token', async () => {
    expect((await handler(urlEvent('GET', '/healthz'))).statusCode).toBe(200);
  });
});
