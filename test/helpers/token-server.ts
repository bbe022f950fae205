import { createSign, randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-process token server for the distribution registry's `auth.token` mode (Docker token
 * authentication specification, distribution docs/spec/auth/token.md and jwt.md). It checks HTTP Basic
 * credentials against a user table and issues RS256 JWTs whose header carries the signing certificate
 * as `x5c`; distribution 2.8 verifies that chain against its `rootcertbundle`.
 */

/** What a client sent to the token endpoint (for assertions; the password is never recorded). */
export interface TokenRequestRecord {
  readonly method: string;
  readonly user?: string;
  readonly hadAuthorization: boolean;
  readonly service?: string;
  readonly scopes: readonly string[];
  readonly status: number;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  readonly service: string;
  readonly issuer: string;
  /** PEM private key (RSA) that signs tokens. */
  readonly keyPem: string;
  /** PEM certificate of that key, listed in the registry's rootcertbundle. */
  readonly certPem: string;
  readonly users: Readonly<Record<string, string>>;
  /** Grant `pull` to anonymous requests (public repositories). Default false: anonymous gets no access. */
  readonly anonymousPull?: boolean;
  /** Token lifetime in seconds. Default 300. */
  readonly expiresIn?: number;
  /** Answer with `access_token` only (OAuth2 style) instead of `token`. */
  readonly accessTokenOnly?: boolean;
}

/** A running token server. */
export interface TokenServer {
  /** The realm URL, `http://127.0.0.1:<port>/token`. */
  readonly realm: string;
  readonly requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** The base64 DER body of a PEM certificate (what `x5c` holds, RFC 7515 §4.1.6). */
export function pemToDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** Signs a JWT with RS256 (RFC 7518 §3.3) and an `x5c` header. */
export function signJwt(claims: Record<string, unknown>, keyPem: string, certPem: string): string {
  const header = { typ: 'JWT', alg: 'RS256', x5c: [pemToDerBase64(certPem)] };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(keyPem);
  return `${input}.${b64url(sig)}`;
}

function parseScope(s: string): { type: string; name: string; actions: string[] } | undefined {
  // scope.md: resourcetype:resourcename:action[,action] — the name may contain ':' (host:port/repo).
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

/** Starts the token server on 127.0.0.1 with a free port. */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const requests: TokenRequestRecord[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown, record: Omit<TokenRequestRecord, 'status'>): void => {
      requests.push({ ...record, status });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const service = url.searchParams.get('service') ?? undefined;
    const authz = req.headers.authorization;
    let user: string | undefined;
    if (authz) {
      const m = /^Basic\s+(.+)$/i.exec(authz);
      const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      const name = decoded.slice(0, colon);
      if (colon <= 0 || opts.users[name] === undefined || opts.users[name] !== decoded.slice(colon + 1)) {
        send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }, { method: req.method ?? '', hadAuthorization: true, service, scopes });
        return;
      }
      user = name;
    }
    if (url.pathname !== '/token' || service !== opts.service) {
      send(400, { errors: [{ code: 'BAD_REQUEST', message: 'unknown service' }] }, { method: req.method ?? '', user, hadAuthorization: !!authz, service, scopes });
      return;
    }
    const access = scopes
      .map(parseScope)
      .filter((s): s is NonNullable<typeof s> => !!s && s.type === 'repository')
      .map((s) => ({ ...s, actions: user ? s.actions : opts.anonymousPull ? s.actions.filter((a) => a === 'pull') : [] }));
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const token = signJwt(
      { iss: opts.issuer, sub: user ?? '', aud: opts.service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access },
      opts.keyPem,
      opts.certPem,
    );
    const body = opts.accessTokenOnly
      ? { access_token: token, expires_in: expiresIn }
      : { token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() };
    send(200, body, { method: req.method ?? '', user, hadAuthorization: !!authz, service, scopes });
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
