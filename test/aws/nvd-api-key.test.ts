/**
 * The NVD API key from the environment or AWS Secrets Manager (lib/aws/nvd-api-key.ts). Secrets Manager
 * has no local emulator: its client is mocked (aws-sdk-client-mock) with realistic GetSecretValue
 * payloads; the key then goes, in the apiKey header, to the in-process NVD server.
 */
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiKeyOfSecret, nvdApiKeyFromEnv, NvdApiKeyError } from '../../lib/aws/nvd-api-key';
import { openFeed } from '../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../lib/engine/advisories/memory-store';
import { syncFeeds } from '../../lib/engine/sync-feeds';
import { SHARED } from '../helpers/corpus';
import { NvdApiServer } from '../helpers/nvd-api-server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const sm = mockClient(SecretsManagerClient);
const KEY = '0f3c2a6e-9b1d-4c8e-a7f5-2d6b8e4c1a90';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trustctl/nvd-api-key-AbCdEf';

/** A GetSecretValue response as the service sends it (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html). */
function secretResponse(secretString: string | undefined) {
  return {
    $metadata: { httpStatusCode: 200, requestId: 'f8b1c7d2-0000-4000-8000-000000000001', attempts: 1, totalRetryDelay: 0 },
    ARN: SECRET_ARN,
    Name: 'trustctl/nvd-api-key',
    VersionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222',
    ...(secretString !== undefined ? { SecretString: secretString } : { SecretBinary: new Uint8Array([1, 2, 3]) }),
    VersionStages: ['AWSCURRENT'],
    CreatedDate: new Date('2026-01-01T00:00:00Z'),
  };
}

beforeEach(() => sm.reset());

describe('nvdApiKeyFromEnv', () => {
  it('NVD_API_KEY wins; no variable: no key; the secret is read once, on first use', async () => {
    expect(await nvdApiKeyFromEnv({ NVD_API_KEY: ` ${KEY} `, NVD_API_KEY_SECRET_ID: SECRET_ARN })!()).toBe(KEY);
    expect(nvdApiKeyFromEnv({})).toBeUndefined();
    sm.on(GetSecretValueCommand).resolves(secretResponse(KEY));
    const get = nvdApiKeyFromEnv({ NVD_API_KEY_SECRET_ID: SECRET_ARN }, new SecretsManagerClient({ region: 'eu-west-1' }))!;
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(await get()).toBe(KEY);
    expect(await get()).toBe(KEY);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: SECRET_ARN }]);
  });

  it.each([
    ['the bare key', KEY, KEY],
    ['JSON {"apiKey"}', JSON.stringify({ apiKey: KEY }), KEY],
    ['JSON {"NVD_API_KEY"} (console key/value)', JSON.stringify({ NVD_API_KEY: KEY }), KEY],
    ['the key with a trailing newline', `${KEY}\n`, KEY],
  ])('secret holding %s → the key', (_n, secret, key) => {
    expect(apiKeyOfSecret(secret)).toBe(key);
  });

  it.each([
    ['JSON without a key field', JSON.stringify({ user: 'x' }), /without a string "apiKey"/],
    ['broken JSON', '{"apiKey": ', /not valid JSON/],
    ['a value with a line break inside', `${KEY}\r\nX-Injected: 1`, /does not hold a usable key/],
    ['empty', '  ', /does not hold a usable key/],
  ])('secret holding %s → NvdApiKeyError', (_n, secret, msg) => {
    expect(() => apiKeyOfSecret(secret)).toThrow(NvdApiKeyError);
    expect(() => apiKeyOfSecret(secret)).toThrow(msg);
  });

  it.each([
    ['a missing secret', () => sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} })), /cannot read the NVD API key secret .*ResourceNotFoundException/],
    ['a binary secret', () => sm.on(GetSecretValueCommand).resolves(secretResponse(undefined)), /has no SecretString/],
  ])('%s → NvdApiKeyError (the sync fails rather than going on without the key)', async (_n, arrange, msg) => {
    arrange();
    const get = nvdApiKeyFromEnv({ NVD_API_KEY_SECRET_ID: SECRET_ARN }, new SecretsManagerClient({ region: 'eu-west-1' }))!;
    await expect(get()).rejects.toThrow(msg);
  });
});

describe('the key from Secrets Manager reaches NVD in the apiKey header', () => {
  const dir = join(SHARED, 'corpus', 'nvd', 'records');
  const records = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>);
  let server: NvdApiServer;
  let now = Date.parse('2026-12-07T12:00:00Z');
  beforeAll(async () => {
    server = await new NvdApiServer({ records, now: () => now, apiKey: KEY }).start();
  });
  afterAll(() => server.stop());

  it('every request carries it; a failed secret read fails the source (not keyless)', async () => {
    sm.on(GetSecretValueCommand).resolves(secretResponse(JSON.stringify({ apiKey: KEY })));
    const apiKey = nvdApiKeyFromEnv({ NVD_API_KEY_SECRET_ID: SECRET_ARN }, new SecretsManagerClient({ region: 'eu-west-1' }))!;
    const sleep = async (ms: number) => {
      now += ms;
    };
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(await openFeed(server.url, { nvd: { apiKey, now: () => now, sleep, resultsPerPage: 10 } }), store);
    expect(r.read).toBe(40);
    expect(server.requests.map((q) => q.apiKey)).toEqual(Array(4).fill(KEY)); // four pages of ten

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    const broken = nvdApiKeyFromEnv({ NVD_API_KEY_SECRET_ID: SECRET_ARN }, new SecretsManagerClient({ region: 'eu-west-1' }))!;
    const before = server.requests.length;
    await expect(syncFeeds(await openFeed(server.url, { nvd: { apiKey: broken, now: () => now, sleep } }), store)).rejects.toThrow(/cannot get the NVD API key/);
    expect(server.requests.length).toBe(before);
  });
});

