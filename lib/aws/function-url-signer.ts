/**
 * SigV4 for the trust API's Lambda Function URL (`AWS_IAM` auth): every request is signed with the
 * caller's AWS credentials for service `lambda`
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), by the SDK's own
 * signer (`@smithy/signature-v4`). Credentials come from the SDK's default chain (env, profile, SSO,
 * web identity, container, IMDS), so CI runners with OIDC roles and laptops with profiles both work.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthError } from '../engine/errors';
import type { RequestSigner, SignableRequest } from '../local/verdict-api-client';

/** A Lambda Function URL host: `<url-id>.lambda-url.<region>.on.aws`; group 1 is the region. */
const FUNCTION_URL_HOST = /^[a-z0-9]+\.lambda-url\.([a-z]{2}(?:-[a-z]+)+-\d+)\.on\.aws$/;

/** The region of a Lambda Function URL host, or undefined for any other host. */
export function functionUrlRegion(hostname: string): string | undefined {
  return FUNCTION_URL_HOST.exec(hostname.toLowerCase())?.[1];
}

type Init = ConstructorParameters<typeof SignatureV4>[0];
/** The credential provider the signer takes (the SDK's `AwsCredentialIdentityProvider`). */
export type AwsCredentialProvider = Exclude<Init['credentials'], { accessKeyId: string }>;

/**
 * SHA-256 (or HMAC-SHA256 with a secret) over node:crypto, in the shape the signer wants
 * (`@smithy/types` Checksum) — what `@smithy/hash-node` does, which is not installed.
 */
class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** Options of {@link SigV4Signer}. */
export interface SigV4SignerOptions {
  /** The region the request is signed for (a Function URL's region: {@link functionUrlRegion}). */
  readonly region: string;
  /** Default `lambda` (Function URLs). */
  readonly service?: string;
  /** Default: the SDK's default chain (`@aws-sdk/credential-provider-node`). */
  readonly credentials?: AwsCredentialProvider;
}

/** Signs requests with SigV4 (Authorization, X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Security-Token). */
export class SigV4Signer implements RequestSigner {
  readonly region: string;
  readonly service: string;
  private readonly credentials: AwsCredentialProvider;
  private readonly signer: SignatureV4;

  constructor(opts: SigV4SignerOptions) {
    this.region = opts.region;
    this.service = opts.service ?? 'lambda';
    this.credentials = opts.credentials ?? defaultProvider();
    this.signer = new SignatureV4({ credentials: () => this.resolveCredentials(), region: this.region, service: this.service, sha256: NodeSha256 });
  }

  /** `sigv4 (lambda, eu-west-1)`: which authentication is used, for the user. */
  describe(): string {
    return `SigV4 (service ${this.service}, region ${this.region}, AWS credentials from the default chain)`;
  }

  /**
   * Resolves the credentials once now, so that "no credentials" is told at once, before any
   * request (and before a `--wait` loop would retry it). Throws {@link AuthError}.
   */
  async check(): Promise<void> {
    await this.resolveCredentials();
  }

  /** The headers to send: the request's own plus the signature's. */
  async sign(req: SignableRequest): Promise<Record<string, string>> {
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of req.url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : [...[prev].flat(), v];
    }
    const signed = await this.signer.sign({
      method: req.method,
      protocol: req.url.protocol,
      hostname: req.url.hostname,
      ...(req.url.port ? { port: Number(req.url.port) } : {}),
      // The path as it goes on the wire; the signer URI-encodes each segment (Function URLs are not S3).
      path: req.url.pathname,
      query,
      headers: { ...req.headers, host: req.url.host },
    });
    return signed.headers;
  }

  private async resolveCredentials(): ReturnType<AwsCredentialProvider> {
    try {
      return await this.credentials();
    } catch (e) {
      throw new AuthError(`no AWS credentials to sign the request with SigV4 (${(e as Error).message}); configure the default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an OIDC role in CI) or send a bearer token instead`, { cause: e });
    }
  }
}
