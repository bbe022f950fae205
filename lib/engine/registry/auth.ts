import { AuthError } from '../errors';
import type { HttpRequest, HttpResult } from './http';
import { DEFAULT_READ_GUARDS, type ReadGuards, describeUrl, isLoopbackHost, readBodyCapped } from './http';
import type { CredentialProvider, Credentials } from './source';

/**
 * Registry authentication: the challenge/response of RFC 7235 as the distribution registry uses it.
 * A `401` carries `WWW-Authenticate`; `Basic` means "send HTTP Basic" (RFC 7617; ECR answers so),
 * `Bearer realm,service,scope` means "get a token from the realm" (Docker token authentication
 * specification, distribution docs/spec/auth/token.md; OAuth2 refresh-token grant in oauth.md).
 */

/** One challenge of a `WWW-Authenticate` header: the scheme (lowercase) and its auth-params (keys lowercase). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form (RFC 7235 §2.1), when the challenge used it instead of auth-params. */
  readonly token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a `WWW-Authenticate` value into challenges (RFC 7235 §4.1, §2.1):
 * `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, `auth-param = token BWS "=" BWS
 * ( token / quoted-string )`. Several challenges may share one header, separated by commas, and a
 * quoted string may itself hold commas and backslash escapes (`scope="repository:a:pull,push"`), so
 * this is a small tokenizer, not a split on commas. Unparseable trailing input is ignored.
 */
export function parseWwwAuthenticate(value: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = value.length;
  const skipWs = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TCHAR.test(value[i])) i++;
    return value.slice(start, i);
  };
  const readQuoted = (): string => {
    // value[i] === '"'
    i++;
    let s = '';
    while (i < n && value[i] !== '"') {
      if (value[i] === '\\' && i + 1 < n) i++;
      s += value[i++];
    }
    i++; // closing quote (or end)
    return s;
  };
  while (i < n) {
    skipWs();
    while (i < n && (value[i] === ',' || value[i] === ' ')) i++;
    const scheme = readToken();
    if (!scheme) break;
    const params: Record<string, string> = {};
    skipWs();
    // token68 (`Negotiate abc==`): a run of token68 chars and '=' padding, then the end or a comma.
    // `realm="x"` or `realm=x,…` also start with such a run but continue with a value: params.
    const t68 = /^[A-Za-z0-9\-._~+/]+=*/.exec(value.slice(i));
    if (t68) {
      let k = i + t68[0].length;
      while (k < n && (value[k] === ' ' || value[k] === '\t')) k++;
      if (k >= n || value[k] === ',') {
        out.push({ scheme: scheme.toLowerCase(), params, token68: t68[0] });
        i = k;
        continue;
      }
    }
    // auth-params
    for (;;) {
      skipWs();
      const save = i;
      const name = readToken();
      if (!name) break;
      skipWs();
      if (value[i] !== '=') {
        // Not a param: the start of the next challenge.
        i = save;
        break;
      }
      i++;
      skipWs();
      const v = value[i] === '"' ? readQuoted() : readToken();
      params[name.toLowerCase()] = v;
      skipWs();
      if (value[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    out.push({ scheme: scheme.toLowerCase(), params });
  }
  return out;
}

/** A Bearer token and the time (ms since epoch) after which we stop using it. */
interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** How the registry wants to be authenticated, learnt from its first challenge. */
type Mode = { kind: 'anonymous' } | { kind: 'basic'; header: string } | { kind: 'bearer'; realm: URL; service?: string };

/** Sends a request (with redirects and retries) giving `authorization` only to `origin`, under the scan's deadline. */
export type AuthSender = (req: HttpRequest, authorization?: { origin: string; value: string }, signal?: AbortSignal) => Promise<HttpResult>;

/** Options of {@link RegistryAuth}. */
export interface RegistryAuthOptions {
  /** Registry host[:port], as credential providers know it. */
  readonly registry: string;
  /** The registry's own origin: Basic credentials are only ever sent there. */
  readonly origin: URL;
  readonly credentials?: CredentialProvider;
  /** The user opted into plain http for a non-loopback registry (credentials may then be sent over it). */
  readonly insecure: boolean;
  readonly send: AuthSender;
  /** Bytes of a token response we read at most. */
  readonly maxTokenResponseBytes: number;
  /** Idle timeout and minimum rate of the token response (a trickling token service must not hold a scan). */
  readonly readGuards?: ReadGuards;
  readonly now?: () => number;
}

/** True when credentials may go to `u`: https, or plain http on this machine (or the registry the user marked insecure). */
function mayCarryCredentials(u: URL, insecureOrigin?: string): boolean {
  return u.protocol === 'https:' || (u.protocol === 'http:' && (isLoopbackHost(u.hostname) || u.origin === insecureOrigin));
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * Holds a registry's authentication state: the scheme it asked for and a Bearer token cache keyed by
 * scope. The client asks {@link authorizationFor} before each request and calls {@link handleChallenge}
 * on a 401. Credentials and tokens never appear in messages.
 */
export class RegistryAuth {
  private mode: Mode = { kind: 'anonymous' };
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly opts: RegistryAuthOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The `Authorization` value for a request to the registry that needs `scope`, if we have one. */
  authorizationFor(scope: string): string | undefined {
    switch (this.mode.kind) {
      case 'basic':
        return this.mode.header;
      case 'bearer': {
        const t = this.tokens.get(scope);
        return t && t.expiresAt > this.now() ? `Bearer ${t.token}` : undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * Before a request: when the registry is known to want Bearer tokens and none is cached for
   * `scope`, fetch one now rather than collect another 401 first (as containerd's docker resolver does).
   */
  async prepare(scope: string, signal?: AbortSignal): Promise<void> {
    if (this.mode.kind === 'bearer' && this.authorizationFor(scope) === undefined) {
      await this.fetchTokenOnce(scope, [scope], signal);
    }
  }

  /**
   * Reacts to a 401 from the registry: learns the scheme from `WWW-Authenticate` and obtains what it
   * asks for (Basic credentials, or a Bearer token for the challenge's scope). Throws {@link AuthError}
   * when there is nothing we may send.
   */
  async handleChallenge(header: string | null, scope: string, signal?: AbortSignal): Promise<void> {
    const challenges = parseWwwAuthenticate(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      const realm = this.parseRealm(bearer.params.realm);
      this.mode = { kind: 'bearer', realm, service: bearer.params.service };
      this.tokens.delete(scope);
      const scopes = bearer.params.scope ? bearer.params.scope.split(' ').filter(Boolean) : [scope];
      await this.fetchTokenOnce(scope, scopes, signal);
      return;
    }
    if (basic) {
      const creds = await this.getCredentials();
      if (!creds) throw new AuthError(`${this.opts.registry} requires authentication and no credentials are configured for it`);
      if (creds.kind !== 'basic') throw new AuthError(`${this.opts.registry} asks for Basic authentication but only an identity token is configured`);
      this.assertMayCarry(this.opts.origin);
      this.mode = { kind: 'basic', header: basicHeader(creds.username, creds.password) };
      return;
    }
    throw new AuthError(`${this.opts.registry} answered 401 without a challenge we support (${challenges.map((c) => c.scheme).join(', ') || 'none'})`);
  }

  private parseRealm(realm: string | undefined): URL {
    if (!realm) throw new AuthError(`${this.opts.registry}: Bearer challenge without a realm`);
    let u: URL;
    try {
      u = new URL(realm);
    } catch {
      throw new AuthError(`${this.opts.registry}: Bearer realm is not a URL`);
    }
    // A realm is where we send credentials: https only, or plain http on this machine. A plain-http
    // realm elsewhere would put the password on the wire (and let anyone on the path mint tokens).
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
      throw new AuthError(`${this.opts.registry}: refusing token realm ${describeUrl(u)} (must be https)`);
    }
    if (u.username || u.password) throw new AuthError(`${this.opts.registry}: token realm must not embed credentials`);
    return u;
  }

  private assertMayCarry(u: URL): void {
    const insecureOrigin = this.opts.insecure ? this.opts.origin.origin : undefined;
    if (!mayCarryCredentials(u, insecureOrigin)) {
      throw new AuthError(`refusing to send credentials for ${this.opts.registry} over plain http to ${describeUrl(u)}`);
    }
  }

  private async getCredentials(): Promise<Credentials | undefined> {
    if (!this.opts.credentials) return undefined;
    try {
      return await this.opts.credentials.getCredentials(this.opts.registry);
    } catch (err) {
      throw new AuthError(`could not obtain credentials for ${this.opts.registry}`, { cause: err });
    }
  }

  /**
   * One token request per scope at a time: concurrent 401s share it (under the first caller's
   * deadline; the idle timeout and minimum rate bound it for everyone).
   */
  private fetchTokenOnce(key: string, scopes: readonly string[], signal?: AbortSignal): Promise<void> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.fetchToken(key, scopes, signal).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async fetchToken(key: string, scopes: readonly string[], signal?: AbortSignal): Promise<void> {
    if (this.mode.kind !== 'bearer') return;
    const { realm, service } = this.mode;
    const creds = await this.getCredentials();
    const url = new URL(realm.href);
    let req: HttpRequest;
    let authorization: { origin: string; value: string } | undefined;
    if (creds?.kind === 'token') {
      // An identity token is an OAuth2 refresh token (distribution docs/spec/auth/oauth.md).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.token, client_id: 'trustctl' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      req = { method: 'POST', url, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) };
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds?.kind === 'basic') {
        // token.md: the client authenticates to the realm with Basic and gets a token for the scope.
        url.searchParams.set('account', creds.username);
        authorization = { origin: url.origin, value: basicHeader(creds.username, creds.password) };
      }
      req = { method: 'GET', url };
    }
    const result = await this.opts.send(req, authorization, signal);
    const { response } = result;
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      throw new AuthError(`token service for ${this.opts.registry} refused ${creds ? 'the configured credentials' : 'anonymous access'} (HTTP ${response.status})`);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new AuthError(`token service for ${this.opts.registry} answered HTTP ${response.status}`);
    }
    const body = await readBodyCapped(response, this.opts.maxTokenResponseBytes, 'maxManifestBytes', `token response for ${this.opts.registry}`, {
      guards: this.opts.readGuards ?? DEFAULT_READ_GUARDS,
      from: describeUrl(realm),
      ...(signal ? { signal } : {}),
    });
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new AuthError(`token service for ${this.opts.registry} did not answer JSON`);
    }
    // token.md: `token`, with `access_token` as the OAuth2-compatible alias; either may be present.
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token || /[\s\r\n]/.test(token)) throw new AuthError(`token service for ${this.opts.registry} answered without a usable token`);
    // token.md: expires_in defaults to 60 s. Stop using a token a little before it expires.
    const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    const lifetime = expiresIn * 1000;
    const expiresAt = this.now() + Math.max(lifetime / 2, lifetime - 10_000);
    this.tokens.set(key, { token, expiresAt });
  }
}
