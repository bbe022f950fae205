import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import {
  AuthError,
  DigestMismatchError,
  ImmutableTagError,
  InvalidReferenceError,
  LimitExceededError,
  NotFoundError,
  RedirectError,
  RegistryError,
  ScanTimeoutError,
  SizeMismatchError,
  TrustError,
} from '../errors';
import type { Limits } from '../limits';
import { type Descriptor, type Digest, MANIFEST_ACCEPT, digestOf, isDigest, isRepository, isTag, parseDigest, sha256Digest } from '../model';
import { RegistryAuth } from './auth';
import {
  DEFAULT_READ_GUARDS,
  DEFAULT_RETRY,
  GuardedBody,
  type HttpRequest,
  type HttpResult,
  type RetryOptions,
  backoffDelay,
  describeUrl,
  discardBody,
  isLoopbackHost,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type ReadGuards,
  readBodyCapped,
  sendFollowingRedirects,
  throwIfDeadlinePassed,
} from './http';
import type { CredentialProvider, ManifestBytes } from './source';
import { VerifyingStream, checkDeclaredSize, verifyBytes } from './verify';

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Registry host[:port], e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** Where credentials come from; without one, only anonymous access (and anonymous tokens). */
  readonly credentials?: CredentialProvider;
  readonly limits: Limits;
  /**
   * Use plain http for a registry that is not on this machine. Loopback registries (127.0.0.0/8,
   * localhost, [::1]) always use plain http, as Docker allows them without configuration.
   */
  readonly insecure?: boolean;
  readonly retries?: RetryOptions;
  readonly userAgent?: string;
  /** Milliseconds to wait for the response headers of one request. Default 60 000. */
  readonly headersTimeoutMs?: number;
  /**
   * Idle timeout and minimum transfer rate of every body read — manifests, indexes, configs, blobs,
   * token and error responses (RELIABILITY.md 60). Defaults: {@link DEFAULT_READ_GUARDS}.
   */
  readonly readGuards?: Partial<ReadGuards>;
}

/** Per-call options of the reads a scan makes. */
export interface ReadOptions {
  /**
   * The scan's overall deadline (deadline.ts `startDeadline`): when it fires, the request or the body
   * being read is abandoned with its {@link ScanTimeoutError}. Per call, because a client is shared
   * between scans in the pipeline.
   */
  readonly signal?: AbortSignal;
}

/** What HEAD on a manifest tells: enough to know what a tag points at without downloading it. */
export interface ManifestHead {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size?: number;
}

/** Which access a request needs (the `actions` of a token scope, distribution docs/spec/auth/scope.md). */
type Access = 'pull' | 'push';

const ERROR_BODY_MAX = 64 * 1024;

/**
 * A Readable over a guarded body. `_read` is called only when the consumer wants more, so a read —
 * and the time it waits — is pending only while we are ready for bytes: backpressure from a slow
 * consumer never counts as a slow registry. Destroying the stream cancels the body (closes the socket).
 */
function guardedReadable(body: GuardedBody): Readable {
  return new Readable({
    read() {
      body.read().then(
        (chunk) => this.push(chunk === undefined ? null : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
        (err: unknown) => this.destroy(err as Error),
      );
    },
    destroy(err, callback) {
      body.cancel().then(() => callback(err), () => callback(err));
    },
  });
}

/** Docker Hub's registry API lives on another host than its reference name (distribution/reference). */
function apiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

function assertRepository(repo: string): void {
  if (typeof repo !== 'string' || !isRepository(repo)) throw new InvalidReferenceError(`invalid repository name ${JSON.stringify(String(repo).slice(0, 300))}`);
}

function assertTag(tag: string): void {
  if (typeof tag !== 'string' || !isTag(tag)) throw new InvalidReferenceError(`invalid tag ${JSON.stringify(String(tag).slice(0, 200))}`);
}

/** A tag or a digest, validated before it becomes part of a URL (RELIABILITY.md 23). */
function parseReference(reference: string): { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string } {
  if (isDigest(reference)) return { kind: 'digest', digest: reference };
  if (typeof reference === 'string' && isTag(reference)) return { kind: 'tag', tag: reference };
  throw new InvalidReferenceError(`invalid manifest reference (neither tag nor digest) ${JSON.stringify(String(reference).slice(0, 200))}`);
}

/** The media type of a response without parameters (`; charset=utf-8`). */
function contentType(res: Response): string | undefined {
  const v = res.headers.get('content-type');
  return v ? v.split(';')[0].trim().toLowerCase() : undefined;
}

/** Error codes and messages of a registry error body (distribution-spec "Error Codes"). */
interface RegistryErrorBody {
  readonly codes: string[];
  readonly text: string;
}

function sanitize(s: string, max = 300): string {
  // Registry text goes into our messages; keep it printable and short.
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

async function readErrorBody(res: Response, guards: ReadGuards, signal?: AbortSignal): Promise<RegistryErrorBody> {
  let raw: Buffer;
  try {
    raw = await readBodyCapped(res, ERROR_BODY_MAX, 'maxManifestBytes', 'error body', { guards, signal });
  } catch (err) {
    // The status says what went wrong; an unreadable error body only loses its detail. The deadline does not.
    if (err instanceof ScanTimeoutError) throw err;
    return { codes: [], text: '' };
  }
  const text = raw.toString('utf8');
  try {
    const doc = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[]; __type?: unknown; message?: unknown };
    if (Array.isArray(doc.errors)) {
      const codes = doc.errors.map((e) => (typeof e?.code === 'string' ? e.code : '')).filter(Boolean);
      const messages = doc.errors.map((e) => `${typeof e?.code === 'string' ? e.code : '?'}: ${typeof e?.message === 'string' ? e.message : ''}`);
      return { codes, text: sanitize(messages.join('; ')) };
    }
    // AWS JSON protocol errors (`__type`) as ECR's API front answers them.
    if (typeof doc.__type === 'string') return { codes: [doc.__type.split('#').pop() ?? doc.__type], text: sanitize(`${doc.__type}: ${String(doc.message ?? '')}`) };
  } catch {
    // not JSON: keep the text
  }
  return { codes: [], text: sanitize(text) };
}

/**
 * True when a failed manifest PUT means "this tag is immutable": ECR answers `TAG_INVALID` ("… cannot be
 * overwritten because the repository is immutable") or, from its API, `ImageTagAlreadyExistsException`;
 * Harbor answers a `PRECONDITION`/`TAG_INVALID`/`MANIFEST_INVALID` error whose message says immutable.
 */
export function isImmutableTagFailure(body: RegistryErrorBody): boolean {
  if (body.codes.includes('ImageTagAlreadyExistsException') || body.text.includes('ImageTagAlreadyExistsException')) return true;
  const tagCodes = ['TAG_INVALID', 'MANIFEST_INVALID', 'PRECONDITION', 'DENIED'];
  return body.codes.some((c) => tagCodes.includes(c)) && /immutable|cannot be overwritten/i.test(body.text);
}

/**
 * A client of the OCI distribution API (opencontainers/distribution-spec, spec.md) for one registry.
 *
 * Everything that comes back is treated as hostile until checked: manifests are read into a capped
 * buffer and verified against the digest asked for (or against `Docker-Content-Digest` when asked by
 * tag); blobs stream through {@link VerifyingStream}; redirects are followed by hand and never carry
 * credentials to another origin; every repository, tag and digest is validated before it becomes part
 * of a URL (RELIABILITY.md 18, 20, 22, 23).
 */
export class RegistryClient {
  /** The registry host[:port] as given. */
  readonly registry: string;
  /** `http(s)://host[:port]` the API is served from. */
  readonly origin: URL;
  private readonly limits: Limits;
  private readonly auth: RegistryAuth;
  private readonly retry: Required<RetryOptions>;
  private readonly userAgent: string;
  private readonly headersTimeoutMs: number;
  private readonly guards: ReadGuards;

  constructor(opts: RegistryClientOptions) {
    const host = apiHost(opts.registry);
    let origin: URL;
    try {
      origin = new URL(`https://${host}`);
    } catch {
      throw new InvalidReferenceError(`invalid registry ${JSON.stringify(opts.registry)}`);
    }
    if (origin.host !== host.toLowerCase() || /[/?#@]/.test(host)) throw new InvalidReferenceError(`invalid registry ${JSON.stringify(opts.registry)}`);
    if (opts.insecure || isLoopbackHost(origin.hostname)) origin = new URL(`http://${host}`);
    this.registry = opts.registry;
    this.origin = origin;
    this.limits = opts.limits;
    this.retry = { ...DEFAULT_RETRY, ...(opts.retries ?? {}) };
    this.userAgent = opts.userAgent ?? 'trustctl/0.1';
    this.headersTimeoutMs = opts.headersTimeoutMs ?? 60_000;
    this.guards = { ...DEFAULT_READ_GUARDS, ...(opts.readGuards ?? {}) };
    this.auth = new RegistryAuth({
      registry: opts.registry,
      origin,
      credentials: opts.credentials,
      insecure: opts.insecure ?? false,
      maxTokenResponseBytes: Math.min(opts.limits.maxManifestBytes, 1024 * 1024),
      readGuards: this.guards,
      send: (req, authorization, signal) => this.sendWithRetries(req, (u) => (authorization && u.origin === authorization.origin ? authorization.value : undefined), signal),
    });
  }

  private url(path: string): URL {
    return new URL(path, this.origin);
  }

  /**
   * Sends with redirects and bounded retries: 429 (after `Retry-After`, capped), 502/503/504 and
   * connection resets are tried again with exponential backoff and full jitter; nothing else is.
   */
  private async sendWithRetries(req: HttpRequest, authorizationFor: (u: URL) => string | undefined, signal?: AbortSignal): Promise<HttpResult> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= this.retry.maxAttempts;
      let result: HttpResult;
      try {
        result = await sendFollowingRedirects(req, { authorizationFor, userAgent: this.userAgent, headersTimeoutMs: this.headersTimeoutMs, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (!last && isRetryableNetworkError(err)) {
          await this.pause(backoffDelay(attempt, this.retry), signal, req.url);
          continue;
        }
        if (err instanceof TrustError) throw err;
        throw new RegistryError(`${req.method} ${describeUrl(req.url)} failed: ${sanitize(String((err as Error)?.message ?? err))}`, undefined, { cause: err });
      }
      const { response } = result;
      if (!last && isRetryableStatus(response.status)) {
        const after = response.status === 429 ? parseRetryAfter(response.headers.get('retry-after'), this.retry.maxRetryAfterMs) : undefined;
        await discardBody(response);
        await this.pause(after ?? backoffDelay(attempt, this.retry), signal, req.url);
        continue;
      }
      return result;
    }
  }

  /** A backoff that the deadline cuts short (a `Retry-After: 30` must not outlive the scan). */
  private async pause(ms: number, signal: AbortSignal | undefined, url: URL): Promise<void> {
    throwIfDeadlinePassed(signal, describeUrl(url));
    await this.retry.sleep(ms, signal);
    throwIfDeadlinePassed(signal, describeUrl(url));
  }

  /**
   * One registry API request with authentication: the cached credentials for `repo`'s scope go to the
   * registry's origin only; a 401 from the registry is answered once by authenticating (RFC 7235),
   * a second 401 is the caller's to report.
   */
  private async request(req: HttpRequest, repo: string, access: Access, signal?: AbortSignal, scopeOverride?: string): Promise<HttpResult> {
    const scope = scopeOverride ?? `repository:${repo}:${access === 'push' ? 'pull,push' : 'pull'}`;
    await this.auth.prepare(scope, signal);
    const origin = this.origin.origin;
    const authFor = (u: URL): string | undefined => (u.origin === origin ? this.auth.authorizationFor(scope) : undefined);
    const first = await this.sendWithRetries(req, authFor, signal);
    if (first.response.status !== 401 || first.url.origin !== origin) return first;
    const challenge = first.response.headers.get('www-authenticate');
    await discardBody(first.response);
    await this.auth.handleChallenge(challenge, scope, signal);
    return this.sendWithRetries(req, authFor, signal);
  }

  /** The guards of one body read from this registry. */
  private guard(signal?: AbortSignal): { guards: ReadGuards; from: string; signal?: AbortSignal } {
    return { guards: this.guards, from: this.registry, ...(signal ? { signal } : {}) };
  }

  /** Turns an unexpected response into the right error of the tree; always throws. */
  private async fail(res: Response, what: string, signal?: AbortSignal): Promise<never> {
    const body = await readErrorBody(res, this.guards, signal);
    const detail = body.text ? `: ${body.text}` : '';
    if (res.status === 401 || res.status === 403) throw new AuthError(`${what}: ${this.registry} refused access (HTTP ${res.status})${detail}`);
    if (res.status === 404) throw new NotFoundError(`${what}: not found in ${this.registry}${detail}`);
    throw new RegistryError(`${what}: ${this.registry} answered HTTP ${res.status}${detail}`, res.status);
  }

  /**
   * GET a manifest or index by tag or digest (distribution-spec "Pulling manifests"), with
   * `Accept: MANIFEST_ACCEPT` — the distribution registry answers 404 for an OCI manifest when the
   * OCI type is not accepted. Reads at most `limits.maxManifestBytes` (RELIABILITY.md 20). By digest the
   * bytes must hash to it; by tag the digest is computed from the bytes and must equal
   * `Docker-Content-Digest` when the registry sends one. The body is read under the idle timeout,
   * minimum rate and `opts.signal` deadline (RELIABILITY.md 60).
   */
  async getManifest(repo: string, reference: string, opts: ReadOptions = {}): Promise<ManifestBytes> {
    assertRepository(repo);
    const ref = parseReference(reference);
    const what = `manifest ${repo}:${ref.kind === 'digest' ? ref.digest : ref.tag}`;
    const { response } = await this.request({ method: 'GET', url: this.url(`/v2/${repo}/manifests/${reference}`), headers: { Accept: MANIFEST_ACCEPT } }, repo, 'pull', opts.signal);
    if (response.status !== 200) return this.fail(response, what, opts.signal);
    const bytes = await readBodyCapped(response, this.limits.maxManifestBytes, 'maxManifestBytes', what, this.guard(opts.signal));
    let digest: Digest;
    if (ref.kind === 'digest') {
      verifyBytes(bytes, ref.digest, undefined, what);
      digest = ref.digest;
    } else {
      digest = sha256Digest(bytes);
      const header = response.headers.get('docker-content-digest');
      if (header !== null) {
        if (!isDigest(header)) throw new RegistryError(`${what}: invalid Docker-Content-Digest header ${JSON.stringify(sanitize(header, 150))}`);
        const actual = digestOf(bytes, header);
        if (actual !== header) throw new DigestMismatchError(header, actual, what);
      }
    }
    return { mediaType: this.manifestMediaType(response, bytes), digest, bytes };
  }

  /**
   * Every tag of a repository (distribution-spec "Listing Tags": `GET /v2/<name>/tags/list?n=<page>`,
   * following `Link: <…>; rel="next"` on the same host only). Tags that do not match the spec's tag
   * pattern are dropped (RELIABILITY.md 23: never a key or a path unvalidated); at most `max` tags.
   */
  async listTags(repo: string, opts: { max?: number; page?: number } = {}): Promise<string[]> {
    assertRepository(repo);
    return this.listPages({
      first: `/v2/${repo}/tags/list?n=${opts.page ?? 1000}`, what: `tags of ${repo}`, field: 'tags', keep: isTag,
      max: opts.max ?? 10_000, maxPages: 1000, repo,
    });
  }

  /**
   * Every repository of the registry (the distribution registry's `GET /v2/_catalog?n=<page>`, token
   * scope `registry:catalog:*`, following `Link: <…>; rel="next"` on the same host only). Not part of
   * the OCI distribution spec: ECR and most hosted registries do not serve it (ECR has
   * DescribeRepositories). Names that are not valid repositories are dropped; at most `max`.
   */
  async listRepositories(opts: { max?: number; page?: number } = {}): Promise<string[]> {
    return this.listPages({
      first: `/v2/_catalog?n=${opts.page ?? 1000}`, what: 'repository catalog', field: 'repositories', keep: isRepository,
      max: opts.max ?? 100_000, maxPages: 10_000, repo: '', scope: 'registry:catalog:*',
    });
  }

  /**
   * The strings of `field` of a paginated JSON list (tags, the catalog) that pass `keep`, at most `max`
   * over at most `maxPages` pages, following `Link: <…>; rel="next"` on the same host only.
   */
  private async listPages(o: { first: string; what: string; field: string; keep: (v: string) => boolean; max: number; maxPages: number; repo: string; scope?: string }): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = o.first;
    for (let pages = 0; next !== undefined && out.length < o.max && pages < o.maxPages; pages++) {
      const url: URL = this.url(next);
      const { response } = await this.request({ method: 'GET', url, headers: { Accept: 'application/json' } }, o.repo, 'pull', undefined, o.scope);
      if (response.status !== 200) return this.fail(response, o.what);
      const bytes = await readBodyCapped(response, this.limits.maxManifestBytes, 'maxManifestBytes', o.what, this.guard());
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new RegistryError(`${o.what}: the registry answered with invalid JSON`, response.status, { cause: e });
      }
      const values = doc?.[o.field];
      for (const v of Array.isArray(values) ? values : []) if (typeof v === 'string' && o.keep(v)) out.push(v);
      const link = response.headers.get('link');
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      next = undefined;
      if (m) {
        const target = new URL(m[1], url);
        // A next page on another host would carry our credentials away (RELIABILITY.md 22).
        if (target.host !== url.host) throw new RedirectError(`${o.what}: pagination link to another host ${target.host}`);
        next = `${target.pathname}${target.search}`;
      }
    }
    return out.slice(0, o.max);
  }

  /** Content-Type when it names a manifest type; else the document's own `mediaType`; else ''. */
  private manifestMediaType(response: Response, bytes: Buffer): string {
    const ct = contentType(response);
    if (ct && ct !== 'application/json' && ct !== 'application/octet-stream' && ct !== 'text/plain') return ct;
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
      if (typeof doc.mediaType === 'string') return doc.mediaType;
    } catch {
      // the manifest parser reports malformed JSON with context
    }
    return ct ?? '';
  }

  /**
   * HEAD a manifest: what a tag or digest points at, or `undefined` when it does not exist. Falls back
   * to GET when the registry sends no `Docker-Content-Digest` (it is optional in the spec).
   */
  async headManifest(repo: string, reference: string, opts: ReadOptions = {}): Promise<ManifestHead | undefined> {
    assertRepository(repo);
    const ref = parseReference(reference);
    const what = `manifest ${repo}:${reference}`;
    const { response } = await this.request({ method: 'HEAD', url: this.url(`/v2/${repo}/manifests/${reference}`), headers: { Accept: MANIFEST_ACCEPT } }, repo, 'pull', opts.signal);
    await discardBody(response);
    if (response.status === 404) return undefined;
    if (response.status !== 200) return this.fail(response, what, opts.signal);
    const header = response.headers.get('docker-content-digest');
    const len = response.headers.get('content-length');
    if (header !== null && isDigest(header) && (ref.kind === 'tag' || header === ref.digest)) {
      return { digest: header, mediaType: contentType(response) ?? '', ...(len && /^\d+$/.test(len) ? { size: Number(len) } : {}) };
    }
    const m = await this.getManifest(repo, reference, opts);
    return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
  }

  /**
   * GET a blob as a stream through {@link VerifyingStream}: it errors when the content is longer than
   * the descriptor (at the first extra byte), shorter, or hashes to another digest (RELIABILITY.md 18).
   * A declared size over `limits.maxBlobBytes` is refused before any request. Redirects to storage are
   * followed without credentials (case 22). Descriptor `urls` (foreign layers) are never fetched.
   * The body is read under the idle timeout, minimum rate and `opts.signal` deadline (RELIABILITY.md
   * 60); time the consumer spends not reading (backpressure) does not count against the registry.
   */
  async openBlob(repo: string, desc: Pick<Descriptor, 'digest' | 'size'>, opts: ReadOptions = {}): Promise<Readable> {
    assertRepository(repo);
    const digest = parseDigest(desc.digest, 'blob digest');
    checkDeclaredSize(desc, this.limits.maxBlobBytes, 'maxBlobBytes');
    const what = `blob ${digest}`;
    const { response } = await this.request({ method: 'GET', url: this.url(`/v2/${repo}/blobs/${digest}`) }, repo, 'pull', opts.signal);
    if (response.status !== 200) return this.fail(response, what, opts.signal);
    const len = response.headers.get('content-length');
    if (len !== null && /^\d+$/.test(len) && Number(len) !== desc.size) {
      await discardBody(response);
      throw new SizeMismatchError(desc.size, Number(len), what);
    }
    if (!response.body) throw new RegistryError(`${what}: response has no body`);
    const source = guardedReadable(new GuardedBody(response, { ...this.guard(opts.signal), what }));
    const verifier = new VerifyingStream({ digest, size: desc.size }, what);
    // pipeline propagates a transport error into the verifier, and a consumer's destroy() back to the socket.
    pipeline(source, verifier, () => undefined);
    return verifier;
  }

  /** HEAD a blob (distribution-spec "Checking if content exists in the registry"). */
  async blobExists(repo: string, digest: Digest): Promise<boolean> {
    assertRepository(repo);
    const d = parseDigest(digest, 'blob digest');
    const { response } = await this.request({ method: 'HEAD', url: this.url(`/v2/${repo}/blobs/${d}`) }, repo, 'pull');
    await discardBody(response);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    return this.fail(response, `blob ${d}`);
  }

  /**
   * Uploads a blob monolithically (distribution-spec "Pushing a blob monolithically", POST then PUT):
   * POST `/blobs/uploads/` opens a session whose `Location` may be relative or absolute, then PUT
   * `<location>?digest=` with the bytes. The bytes are checked against `digest` first.
   */
  async pushBlob(repo: string, digest: Digest, bytes: Buffer): Promise<void> {
    assertRepository(repo);
    const d = parseDigest(digest, 'blob digest');
    verifyBytes(bytes, d, undefined, `blob ${d} to push`);
    const what = `upload of blob ${d} to ${repo}`;
    const start = await this.request({ method: 'POST', url: this.url(`/v2/${repo}/blobs/uploads/`), headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(0) }, repo, 'push');
    if (start.response.status === 201) {
      await discardBody(start.response); // the registry mounted or already had it
      return;
    }
    if (start.response.status !== 202) return this.fail(start.response, what);
    await discardBody(start.response);
    const uploadUrl = this.resolveLocation(start.url, start.response.headers.get('location'), what);
    uploadUrl.searchParams.set('digest', d);
    const put = await this.request({ method: 'PUT', url: uploadUrl, headers: { 'Content-Type': 'application/octet-stream' }, body: bytes }, repo, 'push');
    if (put.response.status !== 201 && put.response.status !== 204 && put.response.status !== 200) return this.fail(put.response, what);
    await discardBody(put.response);
    const header = put.response.headers.get('docker-content-digest');
    if (header !== null && isDigest(header) && header !== d && digestOf(bytes, header) !== header) throw new DigestMismatchError(d, header, what);
  }

  /** An upload `Location`: relative to the request, http(s) only, no https → http downgrade. */
  private resolveLocation(base: URL, location: string | null, what: string): URL {
    if (!location) throw new RegistryError(`${what}: registry sent no Location`);
    let u: URL;
    try {
      u = new URL(location, base);
    } catch {
      throw new RegistryError(`${what}: invalid Location`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RedirectError(`${what}: refusing upload location with scheme ${u.protocol}`);
    if (base.protocol === 'https:' && u.protocol === 'http:') throw new RedirectError(`${what}: refusing https → http downgrade of the upload location`);
    return u;
  }

  /**
   * PUT a manifest under a tag or digest (distribution-spec "Pushing Manifests") and return its digest.
   * When `reference` is a digest the bytes must hash to it. Immutable-tag refusals (ECR's `TAG_INVALID`
   * "…immutable", `ImageTagAlreadyExistsException`, Harbor's immutability rule) become
   * {@link ImmutableTagError}.
   */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    assertRepository(repo);
    const ref = parseReference(reference);
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) throw new InvalidReferenceError(`invalid manifest media type ${JSON.stringify(mediaType.slice(0, 200))}`);
    if (bytes.length > this.limits.maxManifestBytes) {
      throw new LimitExceededError('maxManifestBytes', this.limits.maxManifestBytes, `manifest to push is ${bytes.length} bytes`);
    }
    const digest = ref.kind === 'digest' ? ref.digest : sha256Digest(bytes);
    if (ref.kind === 'digest') verifyBytes(bytes, ref.digest, undefined, 'manifest to push');
    const what = `push of manifest ${repo}:${reference}`;
    const { response } = await this.request({ method: 'PUT', url: this.url(`/v2/${repo}/manifests/${reference}`), headers: { 'Content-Type': mediaType }, body: bytes }, repo, 'push');
    if (response.status < 200 || response.status > 299) {
      if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 403 && response.status !== 404) {
        const body = await readErrorBody(response, this.guards);
        if (isImmutableTagFailure(body)) throw new ImmutableTagError(`${what}: the tag is immutable in ${this.registry} (${body.text})`);
        throw new RegistryError(`${what}: ${this.registry} answered HTTP ${response.status}${body.text ? `: ${body.text}` : ''}`, response.status);
      }
      return this.fail(response, what);
    }
    await discardBody(response);
    const header = response.headers.get('docker-content-digest');
    if (header !== null && isDigest(header)) {
      const actual = digestOf(bytes, header);
      if (actual !== header) throw new DigestMismatchError(header, actual, what);
    }
    return digest;
  }

  /**
   * Points `tag` at the manifest `digest` by GETting its exact bytes and PUTting them unchanged under
   * the tag (same bytes ⇒ same digest; nothing is re-serialised). Idempotent: when the tag already names
   * the digest nothing is written, so re-tagging works even where tags are immutable. Returns whether
   * the tag was written.
   */
  async tagManifest(repo: string, digest: Digest, tag: string): Promise<boolean> {
    assertRepository(repo);
    const d = parseDigest(digest, 'manifest digest');
    assertTag(tag);
    const current = await this.headManifest(repo, tag);
    if (current?.digest === d) return false;
    const m = await this.getManifest(repo, d);
    await this.putManifest(repo, tag, m.bytes, m.mediaType);
    return true;
  }

  /**
   * Removes `tag` from `repo` when it names `digest`, and only the tag: `DELETE /v2/<name>/manifests/<tag>`
   * (distribution-spec "Deleting tags", https://github.com/opencontainers/distribution-spec/blob/main/spec.md#deleting-tags).
   * Never deletes by digest — that would delete the image and every tag on it. A tag that is absent or
   * names another digest is left alone (`absent`); a registry that refuses deleting by tag (distribution
   * 2.x answers 4xx: it deletes manifests by digest only) leaves the tag in place (`unsupported`).
   */
  async untag(repo: string, digest: Digest, tag: string): Promise<{ result: 'removed' | 'absent' | 'unsupported'; message?: string }> {
    assertRepository(repo);
    const d = parseDigest(digest, 'manifest digest');
    assertTag(tag);
    const current = await this.headManifest(repo, tag);
    if (current?.digest !== d) return { result: 'absent', message: current ? `${repo}:${tag} names ${current.digest}, not ${d}` : `${repo}:${tag} does not exist` };
    const what = `removal of tag ${repo}:${tag}`;
    const { response } = await this.request({ method: 'DELETE', url: this.url(`/v2/${repo}/manifests/${tag}`) }, repo, 'push');
    if (response.status >= 200 && response.status <= 299) {
      await discardBody(response);
      return { result: 'removed' };
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 403) {
      const body = await readErrorBody(response, this.guards);
      return { result: 'unsupported', message: `${what}: ${this.registry} answered HTTP ${response.status}${body.text ? `: ${body.text}` : ''}` };
    }
    return this.fail(response, what);
  }
}
