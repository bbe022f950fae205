import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrCredentialProvider, parseEcrHost } from '../../lib/aws/ecr-credentials';
import { AuthError } from '../../lib/engine/errors';

const ecr = mockClient(ECRClient);
const HOUR = 3600_000;
const T0 = Date.UTC(2025, 0, 1);

/** GetAuthorizationToken's real response shape (ECR API reference, AuthorizationData). */
function tokenResponse(password: string, expiresAt: number) {
  return {
    $metadata: { httpStatusCode: 200 },
    authorizationData: [
      {
        authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
        expiresAt: new Date(expiresAt),
        proxyEndpoint: 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      },
    ],
  };
}

beforeEach(() => ecr.reset());

describe('parseEcrHost', () => {
  it.each([
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', { account: '123456789012', region: 'eu-west-1', fips: false }],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com:443', { account: '123456789012', region: 'eu-west-1', fips: false }],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', { account: '123456789012', region: 'cn-north-1', fips: false }],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', { account: '123456789012', region: 'us-east-1', fips: true }],
    ['123456789012.dkr-ecr.us-east-1.on.aws', { account: '123456789012', region: 'us-east-1', fips: false }],
    ['123456789012.dkr-ecr-fips.us-gov-west-1.on.aws', { account: '123456789012', region: 'us-gov-west-1', fips: true }],
    ['12345678901.dkr.ecr.eu-west-1.amazonaws.com', undefined],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.com', undefined],
    ['evil.com/123456789012.dkr.ecr.eu-west-1.amazonaws.com', undefined],
    ['public.ecr.aws', undefined],
    ['127.0.0.1:5000', undefined],
  ])('%s', (host, want) => expect(parseEcrHost(host)).toEqual(want));
});

describe('EcrCredentialProvider', () => {
  const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

  it('decodes AWS:<password> into Basic credentials and caches them until expiresAt minus the margin', async () => {
    let now = T0;
    ecr.on(GetAuthorizationTokenCommand).resolvesOnce(tokenResponse('first-password', T0 + 12 * HOUR)).resolvesOnce(tokenResponse('second-password', T0 + 24 * HOUR));
    const provider = new EcrCredentialProvider({ now: () => now, refreshMarginMs: 5 * 60_000 });
    expect(await provider.getCredentials(host)).toEqual({ kind: 'basic', username: 'AWS', password: 'first-password' });
    now = T0 + 11 * HOUR;
    expect(await provider.getCredentials(host)).toEqual({ kind: 'basic', username: 'AWS', password: 'first-password' });
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
    now = T0 + 12 * HOUR - 4 * 60_000; // inside the margin: refresh
    expect(await provider.getCredentials(host)).toEqual({ kind: 'basic', username: 'AWS', password: 'second-password' });
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  it('concurrent callers share one GetAuthorizationToken call', async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves(tokenResponse('pw', Date.now() + 12 * HOUR));
    const provider = new EcrCredentialProvider();
    const all = await Promise.all([1, 2, 3, 4].map(() => provider.getCredentials(host)));
    expect(new Set(all.map((c) => JSON.stringify(c))).size).toBe(1);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
  });

  it('answers undefined for hosts that are not ECR, without calling AWS', async () => {
    const provider = new EcrCredentialProvider();
    expect(await provider.getCredentials('registry.example.com')).toBeUndefined();
    expect(await provider.getCredentials('123456789012.dkr.ecr.eu-west-1.amazonaws.com.attacker.net')).toBeUndefined();
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(0);
  });

  it('uses a FIPS client for FIPS hosts, one client per region', async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves(tokenResponse('pw', Date.now() + 12 * HOUR));
    const made: string[] = [];
    const provider = new EcrCredentialProvider({ clientFor: (region, fips) => (made.push(`${region}/${fips}`), new ECRClient({ region, useFipsEndpoint: fips })) });
    await provider.getCredentials('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com');
    await provider.getCredentials('123456789012.dkr.ecr.us-east-1.amazonaws.com');
    await provider.getCredentials('210987654321.dkr.ecr.us-east-1.amazonaws.com');
    expect(made).toEqual(['us-east-1/true', 'us-east-1/false']);
  });

  it.each([
    { name: 'the SDK call fails', setup: () => ecr.on(GetAuthorizationTokenCommand).rejects(new Error('AccessDeniedException: not allowed')) },
    { name: 'no authorization data', setup: () => ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [] }) },
    { name: 'a token that is not user:password', setup: () => ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: Buffer.from('garbage').toString('base64') }] }) },
  ])('$name → AuthError', async ({ setup }) => {
    setup();
    await expect(new EcrCredentialProvider().getCredentials(host)).rejects.toThrow(AuthError);
  });
});
