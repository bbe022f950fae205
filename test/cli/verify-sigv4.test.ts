/**
 * `trustctl verify --server` with SigV4 (lib/cli/commands/verify.ts, lib/aws/function-url-signer.ts):
 * the CLI in-process against an HTTP server on 127.0.0.1 that verifies every signature
 * independently (test/helpers/sigv4-verifier.ts) and answers verdicts like the trust API. AWS
 * credentials come from the SDK's default chain, fed by the environment. A refused signature, or no
 * credentials, is exit 2 ("cannot check") — never a pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../lib/engine/model';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import type { StoredVerdict } from '../../lib/engine/verdicts/port';
import { digestOf, verdict } from '../admission/fixtures';
import { trustctl } from '../helpers/cli';
import { startSigV4Server } from '../helpers/sigv4-verifier';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
/** {@link KEYS} as the default chain's environment source reads them. */
const ENV_KEYS = { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey };
const AWS_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'TRUSTCTL_API_TOKEN'];
const saved = new Map(AWS_VARS.map((k) => [k, process.env[k]]));

let dir: string;
let server: Awaited<ReturnType<typeof startSigV4Server>>;
const verdicts = new Map<string, StoredVerdict>();

/** Only the environment source of the default chain can answer (no profile files, no IMDS). */
function callerEnv(vars: Record<string, string>): void {
  for (const k of AWS_VARS) delete process.env[k];
  Object.assign(process.env, { AWS_CONFIG_FILE: join(dir, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true', ...vars });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trustctl-verify-sigv4-'));
  const store = new MemoryVerdictStore();
  const fresh = new Date(Date.now() - 3600_000).toISOString();
  await store.put(verdict(digestOf('app'), 'trusted', fresh));
  await store.put(verdict(digestOf('bad'), 'quarantined', fresh, [{ rule: 'no-critical', message: 'openssl: CVE-2024-0001 is critical', findings: ['CVE-2024-0001'] }]));
  for (const d of [digestOf('app'), digestOf('bad')]) verdicts.set(d, (await store.get(d as Digest))!);
  server = await startSigV4Server({ ...KEYS, region: 'eu-west-1', service: 'lambda' }, (req, res) => {
    const v = verdicts.get((req.url ?? '').replace(/^\/verdicts\//, ''));
    if (v) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no verdict"}');
  });
});

afterAll(async () => {
  await server?.close();
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  server.requests.length = 0;
});

const verify = (digest: string, ...extra: string[]) => trustctl('verify', digest, '--server', server.url, ...extra);

describe('trustctl verify --server --sigv4', () => {
  it.each([
    { name: 'trusted → 0', digest: digestOf('app'), code: 0 },
    { name: 'quarantined → 1', digest: digestOf('bad'), code: 1 },
    { name: 'no verdict → 1', digest: digestOf('never-scanned'), code: 1 },
  ])('signs with the credentials of the default chain (env): $name', async ({ digest, code }) => {
    callerEnv(ENV_KEYS);
    const r = await verify(digest, '--sigv4', '--sigv4-region', 'eu-west-1');
    expect([r.code, r.err]).toEqual([code, expect.stringContaining('trustctl verify: signing requests to 127.0.0.1 with SigV4 (service lambda, region eu-west-1, AWS credentials from the default chain)')]);
    expect(server.requests.map((q) => [q.path, q.check.ok])).toEqual([[`/verdicts/${digest}`, true]]);
  });

  it('signs with a session token too (temporary credentials: a CI OIDC role)', async () => {
    const sessionToken = 'IQoJb3JpZ2luX2VjEXAMPLE//session';
    callerEnv({ ...ENV_KEYS, AWS_SESSION_TOKEN: sessionToken });
    const s = await startSigV4Server({ ...KEYS, sessionToken, region: 'eu-west-1', service: 'lambda' }, (_req, res) => res.writeHead(200).end(JSON.stringify(verdicts.get(digestOf('app')))));
    try {
      expect((await trustctl('verify', digestOf('app'), '--server', s.url, '--sigv4', '--sigv4-region', 'eu-west-1')).code).toBe(0);
      expect(s.requests.map((q) => q.check)).toEqual([{ ok: true, signedHeaders: expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']) }]);
    } finally {
      await s.close();
    }
  });

  it.each([
    { name: 'a wrong secret (403)', env: { ...ENV_KEYS, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, region: 'eu-west-1', err: /VERDICT_API: verdict API answered 403 .*access denied \(check the SigV4 signature or the caller's lambda:InvokeFunctionUrl permission\)/, sent: 1 },
    { name: 'the wrong region (403)', env: ENV_KEYS, region: 'us-east-1', err: /answered 403/, sent: 1 },
    { name: 'no credentials in the chain (nothing sent)', env: {}, region: 'eu-west-1', err: /AUTH_ERROR: no AWS credentials to sign the request with SigV4/, sent: 0 },
  ])('fails closed with exit 2 for $name at once, also with --wait', async ({ env, region, err, sent }) => {
    callerEnv(env);
    // --wait 10m: a read error would be retried for 10 minutes (past the test's timeout); these are not.
    const r = await verify(digestOf('app'), '--sigv4', '--sigv4-region', region, '--wait', '10m');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(err);
    expect(r.out).not.toMatch(/trusted/i);
    expect(server.requests).toHaveLength(sent);
  });

  it('a Function URL host is signed without --sigv4 (region from the host): missing credentials stop it before any request', async () => {
    callerEnv({});
    const r = await trustctl('verify', digestOf('app'), '--server', 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/AUTH_ERROR: no AWS credentials to sign the request with SigV4/);
  });

  it('a bearer token is sent without SigV4 (and said so) when $TRUSTCTL_API_TOKEN is set', async () => {
    callerEnv({ ...ENV_KEYS, TRUSTCTL_API_TOKEN: 'tok' });
    const r = await verify(digestOf('app'));
    // The verifier refuses a bearer token: proof no signature was sent.
    expect(r.code).toBe(2);
    expect(r.err).toContain('trustctl verify: sending $TRUSTCTL_API_TOKEN to 127.0.0.1 as a bearer token');
    expect(r.err).toMatch(/access denied \(check the bearer token\)/);
    expect(server.requests.map((q) => q.check)).toEqual([{ ok: false, reason: expect.stringMatching(/not AWS4-HMAC-SHA256: Bearer/) }]);
  });

  it.each([
    { name: '--sigv4 with $TRUSTCTL_API_TOKEN', env: { ...ENV_KEYS, TRUSTCTL_API_TOKEN: 'tok' }, args: ['--server', 'http://127.0.0.1:9', '--sigv4', '--sigv4-region', 'eu-west-1'], err: /--sigv4 and \$TRUSTCTL_API_TOKEN both authenticate/ },
    { name: '--sigv4 on a host that is no Function URL, without --sigv4-region', env: ENV_KEYS, args: ['--server', 'http://127.0.0.1:9', '--sigv4'], err: /is not a Lambda Function URL host .*give --sigv4-region/ },
    { name: '--sigv4 without --server', env: ENV_KEYS, args: ['--sigv4'], err: /--sigv4 and --sigv4-region apply to --server only/ },
    { name: '--sigv4-region without SigV4', env: ENV_KEYS, args: ['--server', 'http://127.0.0.1:9', '--sigv4-region', 'eu-west-1'], err: /--sigv4-region applies only when requests are signed/ },
  ])('refuses $name (exit 2)', async ({ env, args, err }) => {
    callerEnv(env);
    const r = await trustctl('verify', digestOf('app'), ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(err);
  });
});
