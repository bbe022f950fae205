import { inspect } from 'node:util';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SlackWebhookConfigError } from '../../lib/notify/errors';
import {
  EnvWebhookUrl,
  parseWebhookSecret,
  SecretsManagerWebhookUrl,
  StaticWebhookUrl,
  validateWebhookUrl,
  WEBHOOK_SECRET_ENV,
  WEBHOOK_URL_ENV,
  webhookUrlSourceFromEnv,
} from '../../lib/notify/webhook-url';

const sm = mockClient(SecretsManagerClient);
beforeEach(() => sm.reset());

const TOKEN = 'XyZsecretTOKEN123';
const HOOK = `https://hooks.slack.com/services/T0001/B0001/${TOKEN}`;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:trustctl/slack-webhook-AbCdEf';

/** GetSecretValue's real response shape (Secrets Manager API reference, GetSecretValue response syntax). */
function secretResponse(secretString: string | undefined, versionId = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111') {
  return {
    $metadata: { httpStatusCode: 200, requestId: 'f8b1c7d2-0000-4000-8000-000000000000', attempts: 1, totalRetryDelay: 0 },
    ARN: SECRET_ARN,
    Name: 'trustctl/slack-webhook',
    VersionId: versionId,
    ...(secretString !== undefined ? { SecretString: secretString } : { SecretBinary: new Uint8Array([1, 2, 3]) }),
    VersionStages: ['AWSCURRENT'],
    CreatedDate: new Date('2026-01-01T00:00:00Z'),
  };
}

/** The message, stack and inspected form of an error: nothing of the secret may be in any of them. */
function everythingAbout(err: unknown): string {
  return `${String((err as Error).message)}\n${String((err as Error).stack)}\n${inspect(err, { depth: 10 })}`;
}

describe('validateWebhookUrl', () => {
  it.each<[string, string, boolean, boolean]>([
    ['https is accepted', HOOK, false, true],
    ['surrounding whitespace is trimmed', `  ${HOOK}\n`, false, true],
    ['http to a public host is refused', `http://hooks.slack.com/services/T/B/${TOKEN}`, false, false],
    ['http to a public host is refused even with allowInsecureLoopback', `http://hooks.slack.com/services/T/B/${TOKEN}`, true, false],
    ['http to 127.0.0.1 is refused without allowInsecureLoopback', `http://127.0.0.1:8080/services/T/B/${TOKEN}`, false, false],
    ['http to 127.0.0.1 is accepted with allowInsecureLoopback', `http://127.0.0.1:8080/services/T/B/${TOKEN}`, true, true],
    ['http to localhost is accepted with allowInsecureLoopback', `http://localhost:8080/services/T/B/${TOKEN}`, true, true],
    ['another scheme is refused', `ftp://hooks.slack.com/${TOKEN}`, false, false],
    ['user info is refused', `https://user:${TOKEN}@hooks.slack.com/services/T/B/x`, false, false],
    ['not a URL is refused', `hooks.slack.com/services/${TOKEN}`, false, false],
  ])('%s', (_name, raw, allowInsecureLoopback, ok) => {
    if (ok) {
      expect(validateWebhookUrl(raw, { allowInsecureLoopback }).href).toBe(new URL(raw.trim()).href);
      return;
    }
    let err: unknown;
    try {
      validateWebhookUrl(raw, { allowInsecureLoopback });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SlackWebhookConfigError);
    // The refused value may be the real secret with a typo: never quoted.
    expect(everythingAbout(err)).not.toContain(TOKEN);
    expect((err as Error).cause).toBeUndefined();
  });
});

describe('parseWebhookSecret', () => {
  it.each<[string, string, string | typeof SlackWebhookConfigError]>([
    ['the bare URL', HOOK, HOOK],
    ['the bare URL with a newline', `${HOOK}\n`, HOOK],
    ['JSON {"url"}', JSON.stringify({ url: HOOK }), HOOK],
    ['JSON {"webhookUrl"}', JSON.stringify({ webhookUrl: HOOK, channel: '#alerts' }), HOOK],
    ['invalid JSON', `{"url": "${HOOK}"`, SlackWebhookConfigError],
    ['JSON without a url', JSON.stringify({ hook: HOOK }), SlackWebhookConfigError],
    ['JSON with a non-string url', JSON.stringify({ url: 42 }), SlackWebhookConfigError],
  ])('%s', (_name, secret, want) => {
    if (typeof want === 'string') {
      expect(parseWebhookSecret(secret)).toBe(want);
    } else {
      expect(() => parseWebhookSecret(secret)).toThrow(want);
      try {
        parseWebhookSecret(secret);
      } catch (err) {
        expect(everythingAbout(err)).not.toContain(TOKEN);
      }
    }
  });
});

describe('EnvWebhookUrl', () => {
  it('reads TRUSTCTL_SLACK_WEBHOOK_URL on every call', async () => {
    const env: NodeJS.ProcessEnv = { [WEBHOOK_URL_ENV]: HOOK };
    const source = new EnvWebhookUrl({ env });
    expect((await source.url()).href).toBe(HOOK);
    env[WEBHOOK_URL_ENV] = HOOK.replace('B0001', 'B0002');
    expect((await source.url()).href).toContain('B0002');
    expect(source.description).toBe('env TRUSTCTL_SLACK_WEBHOOK_URL');
  });

  it('an unset variable is a config error naming the variable', async () => {
    await expect(new EnvWebhookUrl({ env: {} }).url()).rejects.toThrow(new SlackWebhookConfigError('TRUSTCTL_SLACK_WEBHOOK_URL is not set'));
    await expect(new EnvWebhookUrl({ env: { OTHER: ' ' }, variable: 'OTHER' }).url()).rejects.toThrow('OTHER is not set');
  });

  it('holds nothing a log line would print', () => {
    const source = new EnvWebhookUrl({ env: { [WEBHOOK_URL_ENV]: HOOK } });
    expect(JSON.stringify(source)).not.toContain(TOKEN);
    expect(inspect(source, { depth: 10, showHidden: true })).not.toContain(TOKEN);
  });
});

describe('StaticWebhookUrl', () => {
  it('validates once and hides the URL from JSON and inspect', async () => {
    const source = new StaticWebhookUrl(HOOK);
    expect((await source.url()).href).toBe(HOOK);
    expect(JSON.stringify(source)).not.toContain(TOKEN);
    expect(inspect(source, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(() => new StaticWebhookUrl(HOOK.replace('https:', 'http:'))).toThrow(SlackWebhookConfigError);
  });
});

describe('SecretsManagerWebhookUrl', () => {
  it('reads the secret with GetSecretValue (AWSCURRENT) and caches it for the TTL', async () => {
    let now = 0;
    sm.on(GetSecretValueCommand).resolves(secretResponse(HOOK));
    const source = new SecretsManagerWebhookUrl({ secretId: 'trustctl/slack-webhook', client: new SecretsManagerClient({ region: 'eu-west-1' }), ttlMs: 60_000, now: () => now });
    expect((await source.url()).href).toBe(HOOK);
    now = 59_999;
    expect((await source.url()).href).toBe(HOOK);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: 'trustctl/slack-webhook', VersionStage: 'AWSCURRENT' });
    now = 60_000;
    await source.url();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(source.description).toBe('secret trustctl/slack-webhook');
  });

  it.each([
    ['a bare URL', HOOK],
    ['JSON {"url"}', JSON.stringify({ url: HOOK })],
    ['JSON {"webhookUrl"}', JSON.stringify({ webhookUrl: HOOK })],
  ])('accepts %s as SecretString', async (_name, secretString) => {
    sm.on(GetSecretValueCommand).resolves(secretResponse(secretString));
    const source = new SecretsManagerWebhookUrl({ secretId: SECRET_ARN, client: new SecretsManagerClient({ region: 'eu-west-1' }) });
    expect((await source.url()).href).toBe(HOOK);
  });

  it('invalidate() makes the next call read the secret again (a rotated webhook)', async () => {
    const rotated = HOOK.replace('B0001', 'B0002');
    sm.on(GetSecretValueCommand).resolvesOnce(secretResponse(HOOK)).resolvesOnce(secretResponse(rotated, 'v2'));
    const source = new SecretsManagerWebhookUrl({ secretId: SECRET_ARN, client: new SecretsManagerClient({ region: 'eu-west-1' }) });
    expect((await source.url()).href).toBe(HOOK);
    source.invalidate();
    expect((await source.url()).href).toBe(rotated);
  });

  it('concurrent callers share one GetSecretValue call', async () => {
    sm.on(GetSecretValueCommand).resolves(secretResponse(HOOK));
    const source = new SecretsManagerWebhookUrl({ secretId: SECRET_ARN, client: new SecretsManagerClient({ region: 'eu-west-1' }) });
    await Promise.all([source.url(), source.url(), source.url()]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('a failed read is a config error naming the secret, and is not cached', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }))
      .resolves(secretResponse(HOOK));
    const source = new SecretsManagerWebhookUrl({ secretId: SECRET_ARN, client: new SecretsManagerClient({ region: 'eu-west-1' }) });
    const err = await source.url().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackWebhookConfigError);
    expect((err as Error).message).toBe(`cannot read the Slack webhook secret ${SECRET_ARN}`);
    expect((err as Error).cause).toBeInstanceOf(ResourceNotFoundException);
    expect((await source.url()).href).toBe(HOOK);
  });

  it.each<[string, ReturnType<typeof secretResponse>]>([
    ['a binary secret', secretResponse(undefined)],
    ['an http:// URL', secretResponse(HOOK.replace('https:', 'http:'))],
    ['JSON without a url', secretResponse(JSON.stringify({ token: TOKEN }))],
  ])('refuses %s without quoting it', async (_name, response) => {
    sm.on(GetSecretValueCommand).resolves(response);
    const source = new SecretsManagerWebhookUrl({ secretId: SECRET_ARN, client: new SecretsManagerClient({ region: 'eu-west-1' }) });
    const err = await source.url().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackWebhookConfigError);
    expect(everythingAbout(err)).not.toContain(TOKEN);
  });

  it('holds nothing a log line would print, even with a URL cached', async () => {
    sm.on(GetSecretValueCommand).resolves(secretResponse(HOOK));
    const source = new SecretsManagerWebhookUrl({ secretId: SECRET_ARN, client: new SecretsManagerClient({ region: 'eu-west-1' }) });
    await source.url();
    expect(JSON.stringify(source)).not.toContain(TOKEN);
    expect(inspect(source, { depth: 3, showHidden: true })).not.toContain(TOKEN);
  });
});

describe('webhookUrlSourceFromEnv', () => {
  it.each<[string, NodeJS.ProcessEnv, string | undefined]>([
    ['the URL variable', { [WEBHOOK_URL_ENV]: HOOK }, 'env TRUSTCTL_SLACK_WEBHOOK_URL'],
    ['the URL variable wins over a secret id', { [WEBHOOK_URL_ENV]: HOOK, [WEBHOOK_SECRET_ENV]: SECRET_ARN }, 'env TRUSTCTL_SLACK_WEBHOOK_URL'],
    ['a secret id', { [WEBHOOK_SECRET_ENV]: SECRET_ARN }, `secret ${SECRET_ARN}`],
    ['neither: notifications off', {}, undefined],
    ['blank values count as unset', { [WEBHOOK_URL_ENV]: ' ', [WEBHOOK_SECRET_ENV]: '' }, undefined],
  ])('%s', (_name, env, description) => {
    expect(webhookUrlSourceFromEnv(env, { client: new SecretsManagerClient({ region: 'eu-west-1' }) })?.description).toBe(description);
  });
});
