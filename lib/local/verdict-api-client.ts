/**
 * The deploy gate's remote reader: `GET <server>/verdicts/<digest>` of `trustctl serve` (or the
 * pipeline's verdict API behind HTTPS). HTTPS only, except plain HTTP to a loopback host (tests, a
 * port-forward); a self-signed server's CA can be given as a PEM. Fail closed: anything but a 200
 * with a valid verdict or a 404 is an error — never "no verdict", never "trusted" (a 403 from a
 * Function URL refusing a signature included).
 *
 * Authentication is one of: none, a bearer token (`authorization`), or a {@link RequestSigner} that
 * signs each request (SigV4 for an `AWS_IAM` Function URL: lib/aws/function-url-signer.ts). Both
 * use the `Authorization` header, so they cannot be combined.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TrustError } from '../engine/errors';
import type { Digest } from '../engine/model';
import { parseDigest } from '../engine/model';
import { parseStoredVerdict } from '../engine/verdicts/order';
import type { StoredVerdict } from '../engine/verdicts/port';

/** The verdict API could not be read (connection, TLS, status, body). */
export class VerdictApiError extends TrustError {
  constructor(message: string, readonly status?: number, options?: { cause?: unknown }) {
    super('VERDICT_API', message, options);
  }
}

/** Options of {@link VerdictApiClient}. */
export interface VerdictApiClientOptions {
  /** PEM CA bundle trusted for the server's certificate (a self-signed webhook cert). */
  readonly ca?: string | Buffer;
  /** Per-request timeout (ms). Default 10 000. */
  readonly timeoutMs?: number;
  /** Authorization header value sent with every request (e.g. `Bearer …`), never logged. */
  readonly authorization?: string;
  /** Signs every request (SigV4); excludes `authorization`. */
  readonly signer?: RequestSigner;
}

/** A request about to be sent, as a {@link RequestSigner} sees it. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case header names; `host` is added by the signer. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Signs a request: returns every header to send (the request's own, `host`, and the signature's). */
export interface RequestSigner {
  sign(request: SignableRequest): Promise<Record<string, string>>;
}

const MAX_BODY = 1 << 20;
const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/;

/** Reads verdicts by digest from a verdict API. */
export class VerdictApiClient {
  private readonly base: URL;

  constructor(server: string, private readonly options: VerdictApiClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(server);
    } catch (e) {
      throw new VerdictApiError(`invalid verdict API URL ${JSON.stringify(server)}`, undefined, { cause: e });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
      throw new VerdictApiError(`the verdict API must be https:// (plain http only on loopback), got ${url.protocol}//${url.host}`);
    }
    if (options.authorization !== undefined && options.signer !== undefined) {
      throw new VerdictApiError('a bearer token and a request signer both use the Authorization header: give one');
    }
    this.base = url;
  }

  /** The verdict of `digest`, or undefined when the API has none (404). */
  async get(digest: Digest): Promise<StoredVerdict | undefined> {
    const d = parseDigest(digest);
    const url = new URL(`${this.base.pathname.replace(/\/$/, '')}/verdicts/${d}`, this.base);
    const { status, body } = await this.fetch(url);
    if (status === 404) return undefined;
    if (status === 401 || status === 403) {
      const how = this.options.signer ? 'the SigV4 signature or the caller\'s lambda:InvokeFunctionUrl permission' : this.options.authorization ? 'the bearer token' : 'authentication: none was sent';
      throw new VerdictApiError(`verdict API answered ${status} for ${d}: access denied (check ${how})`, status);
    }
    if (status !== 200) throw new VerdictApiError(`verdict API answered ${status} for ${d}`, status);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      throw new VerdictApiError(`verdict API sent a body that is not JSON for ${d}`, status, { cause: e });
    }
    try {
      return parseStoredVerdict(json, d);
    } catch (e) {
      throw new VerdictApiError(`verdict API sent an invalid verdict for ${d}`, status, { cause: e });
    }
  }

  private async fetch(url: URL): Promise<{ status: number; body: string }> {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeout = this.options.timeoutMs ?? 10_000;
    const own: Record<string, string> = { accept: 'application/json', ...(this.options.authorization ? { authorization: this.options.authorization } : {}) };
    // A signer's failure (no credentials) is thrown as it is: it says what to configure.
    const headers = this.options.signer ? await this.options.signer.sign({ method: 'GET', url, headers: own }) : own;
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'GET',
        headers,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
        timeout,
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy(new VerdictApiError(`verdict API response over ${MAX_BODY} bytes`, res.statusCode));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new VerdictApiError(`verdict API did not answer within ${timeout} ms`)));
      req.on('error', (e) => reject(e instanceof VerdictApiError ? e : new VerdictApiError(`verdict API unreachable at ${url.origin}: ${e.message}`, undefined, { cause: e })));
      req.end();
    });
  }
}
