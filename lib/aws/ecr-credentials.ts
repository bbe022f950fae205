import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { AuthError } from '../engine/errors';
import type { CredentialProvider, Credentials } from '../engine/registry/source';

/**
 * ECR registry hosts, as amazon-ecr-credential-helper recognises them (ecr-login/api/client.go):
 * `<account>.dkr.ecr.<region>.amazonaws.com`, the China partition `.amazonaws.com.cn`, FIPS
 * `dkr.ecr-fips`, dual-stack `dkr-ecr.<region>.on.aws`, and the isolated partitions.
 */
const ECR_HOST = /^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-z0-9][a-z0-9-]*)\.(amazonaws\.com(?:\.cn)?|on\.aws|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

/** Account, region and FIPS flag of an ECR registry host[:port], or `undefined` for any other host. */
export function parseEcrHost(registry: string): { account: string; region: string; fips: boolean } | undefined {
  const host = registry.toLowerCase().replace(/:\d+$/, '');
  const m = ECR_HOST.exec(host);
  return m ? { account: m[1], region: m[3], fips: m[2] !== undefined } : undefined;
}

/** Options of {@link EcrCredentialProvider}. */
export interface EcrCredentialOptions {
  /** Builds the ECR client of a region (tests and custom endpoints). */
  readonly clientFor?: (region: string, fips: boolean) => ECRClient;
  /** Stop using a token this many ms before its `expiresAt`. Default 5 minutes (tokens last 12 hours). */
  readonly refreshMarginMs?: number;
  readonly now?: () => number;
}

interface Cached {
  readonly creds: Credentials;
  readonly expiresAt: number;
}

/**
 * Registry credentials for ECR from `GetAuthorizationToken` (ECR API reference): the token is base64
 * `AWS:<password>`, valid for 12 hours, and is used as HTTP Basic. Cached per registry host until
 * `expiresAt` minus a margin; concurrent callers share one request. Hosts that are not ECR get
 * `undefined`, so this provider can sit in a chain. The token is never logged.
 */
export class EcrCredentialProvider implements CredentialProvider {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<Credentials>>();
  private readonly clients = new Map<string, ECRClient>();
  private readonly now: () => number;
  private readonly margin: number;

  constructor(private readonly opts: EcrCredentialOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.margin = opts.refreshMarginMs ?? 5 * 60_000;
  }

  async getCredentials(registry: string): Promise<Credentials | undefined> {
    const parsed = parseEcrHost(registry);
    if (!parsed) return undefined;
    const key = registry.toLowerCase().replace(/:\d+$/, '');
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.creds;
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.fetch(key, parsed.account, parsed.region, parsed.fips).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private client(region: string, fips: boolean): ECRClient {
    const k = `${region}/${fips}`;
    let c = this.clients.get(k);
    if (!c) {
      c = this.opts.clientFor?.(region, fips) ?? new ECRClient({ region, useFipsEndpoint: fips });
      this.clients.set(k, c);
    }
    return c;
  }

  private async fetch(key: string, account: string, region: string, fips: boolean): Promise<Credentials> {
    let out;
    try {
      // registryIds is deprecated by ECR ("the token is valid for all registries the principal can access").
      out = await this.client(region, fips).send(new GetAuthorizationTokenCommand({}));
    } catch (err) {
      throw new AuthError(`ECR GetAuthorizationToken failed for account ${account} in ${region}`, { cause: err });
    }
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken) throw new AuthError(`ECR GetAuthorizationToken returned no token for ${region}`);
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new AuthError('ECR authorization token is not user:password');
    const creds: Credentials = { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    const expires = data.expiresAt instanceof Date ? data.expiresAt.getTime() : this.now() + 60 * 60_000;
    this.cache.set(key, { creds, expiresAt: expires - this.margin });
    return creds;
  }
}
