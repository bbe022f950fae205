import { LimitExceededError, RedirectError, RegistryError, ScanTimeoutError, TransferTimeoutError, TrustError } from '../errors';

/**
 * The HTTP layer under the registry client: one request with manual redirects, bounded retries, and
 * capped body reads. It uses Node's global fetch with `redirect: 'manual'` so that every hop is a
 * decision we make, not one undici makes for us (RELIABILITY.md 22; Trivy CVE-2024-35192 leaked
 * registry credentials to the storage host a blob redirect pointed at).
 */

/** Redirect statuses (RFC 9110 §15.4). 300 and 304 are not redirects we follow. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Hops we follow at most (a registry → CDN → signed S3 URL chain is 2–3 hops in practice). */
export const MAX_REDIRECTS = 5;

/** True for hosts on this machine: 127.0.0.0/8, `localhost`, `::1` (URL.hostname keeps IPv6 brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Decides the next hop of a redirect, or refuses it (RELIABILITY.md 22):
 * - only http(s) targets (no `file:`, `data:` …);
 * - never from https to http (a downgrade exposes the signed URL and anything sent with it);
 * - no loops (a URL already visited) and at most {@link MAX_REDIRECTS} hops.
 * Whether credentials go along is decided per hop by the caller from the origin, never inherited.
 */
export function nextRedirect(from: URL, location: string | null, visited: readonly string[], maxRedirects = MAX_REDIRECTS): URL {
  if (!location) throw new RegistryError(`redirect from ${describeUrl(from)} has no Location header`);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new RedirectError(`redirect from ${describeUrl(from)} to an invalid URL`);
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') throw new RedirectError(`refusing redirect to scheme ${to.protocol}`);
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    throw new RedirectError(`refusing https → http downgrade from ${describeUrl(from)} to ${describeUrl(to)}`);
  }
  if (to.username || to.password) throw new RedirectError('refusing redirect to a URL with embedded credentials');
  if (visited.includes(to.href)) throw new RedirectError(`redirect loop at ${describeUrl(to)}`);
  if (visited.length > maxRedirects) throw new RedirectError(`more than ${maxRedirects} redirects`);
  return to;
}

/** A URL for messages: origin and path only — signed query strings (S3, CloudFront) are credentials. */
export function describeUrl(u: URL): string {
  return `${u.origin}${u.pathname}`;
}

/** Retry policy: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface RetryOptions {
  /** Attempts in total, the first included. Default 4. */
  readonly maxAttempts?: number;
  /** First backoff ceiling in ms. Default 200. */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling in ms. Default 5000. */
  readonly maxDelayMs?: number;
  /** Largest wait a `Retry-After` header can ask for, in ms. Default 30000. */
  readonly maxRetryAfterMs?: number;
  /**
   * How to wait (tests record the delays instead of sleeping). The default ends early, without an
   * error, when `signal` (the scan's deadline) fires, and leaves no timer behind.
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random source in [0, 1) for the jitter. */
  readonly random?: () => number;
}

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
  random: Math.random,
};

/** Statuses worth another try: rate limiting and gateway/availability errors. Never other 4xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'HEADERS_TIMEOUT']);

/** True for a transport failure worth another try (connection reset mid-request, header timeout). */
export function isRetryableNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  }
  return false;
}

/**
 * Milliseconds a `Retry-After` header asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP-date),
 * capped at `max`; `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, max: number, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const t = Date.parse(v);
    if (Number.isNaN(t)) return undefined;
    ms = t - now;
  }
  return Math.max(0, Math.min(ms, max));
}

/** Backoff before attempt `attempt + 1` (0-based): uniform in [0, min(max, base·2^attempt)). */
export function backoffDelay(attempt: number, opts: Required<RetryOptions>): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** attempt);
  return Math.floor(opts.random() * ceiling);
}

/** One outgoing request. `body` is a Buffer so that a retry or a 307/308 can send it again. */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

/** What a request ended with after its redirects: the final response and where it came from. */
export interface HttpResult {
  readonly response: Response;
  readonly url: URL;
}

/** Options of {@link sendFollowingRedirects}. */
export interface SendOptions {
  /** The `Authorization` value for a hop, or undefined to send none (decided from the hop's origin). */
  readonly authorizationFor: (url: URL) => string | undefined;
  readonly userAgent: string;
  readonly maxRedirects?: number;
  /** Milliseconds to wait for response headers of one hop. */
  readonly headersTimeoutMs: number;
  /** The scan's overall deadline (see deadline.ts): aborts the request while it waits for headers. */
  readonly signal?: AbortSignal;
}

/**
 * Sends a request and follows redirects by hand. `Authorization` is computed per hop by
 * `authorizationFor` — the registry client gives it only to the registry's own origin, so a 307 to
 * S3 or another port never carries the registry token (RELIABILITY.md 22, CVE-2024-35192).
 */
export async function sendFollowingRedirects(req: HttpRequest, opts: SendOptions): Promise<HttpResult> {
  let url = req.url;
  let method = req.method;
  let body = req.body;
  const visited: string[] = [url.href];
  for (;;) {
    const headers: Record<string, string> = { 'User-Agent': opts.userAgent, ...(req.headers ?? {}) };
    const auth = opts.authorizationFor(url);
    if (auth) headers.Authorization = auth;
    if (body === undefined) delete headers['Content-Type'];
    throwIfDeadlinePassed(opts.signal, describeUrl(url));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), opts.headersTimeoutMs);
    // The deadline's listener lives only while we wait for headers: the body is read by a
    // GuardedBody, which watches the deadline itself (no listener piles up on a long-lived signal).
    const onDeadline = (): void => controller.abort();
    opts.signal?.addEventListener('abort', onDeadline, { once: true });
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, redirect: 'manual', signal: controller.signal });
    } catch (err) {
      throwIfDeadlinePassed(opts.signal, describeUrl(url));
      // The cause carries a code so that the retry policy treats a silent server like a reset connection.
      if (controller.signal.aborted) {
        throw new RegistryError(`no response headers from ${describeUrl(url)} within ${opts.headersTimeoutMs} ms`, undefined, { cause: Object.assign(new Error('headers timeout'), { code: 'HEADERS_TIMEOUT' }) });
      }
      throw err;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onDeadline);
    }
    if (!REDIRECT_STATUSES.has(response.status)) return { response, url };
    // Free the connection: a redirect's body is never read.
    await response.body?.cancel().catch(() => undefined);
    const to = nextRedirect(url, response.headers.get('location'), visited, opts.maxRedirects ?? MAX_REDIRECTS);
    // RFC 9110 §15.4.4: 303 means "GET the other resource"; 307/308 (and 301/302 for GET/HEAD) keep the method.
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
    }
    visited.push(to.href);
    url = to;
  }
}

/**
 * Guards on every body we read (RELIABILITY.md 60): a registry that trickles a manifest, a blob or a
 * token response must not hold a scan. Only time spent *waiting for the server* counts — while the
 * consumer is busy (backpressure: a slow scanner is not a slow registry) no read is pending.
 *
 * - `idleTimeoutMs`: one read may wait this long for its next bytes;
 * - `minBytesPerSecond` over `rateWindowMs`: once a body has been waited on for a whole window, the
 *   bytes of the last window of waiting must average at least this rate. The window is also the grace
 *   period: small bodies and slow starts (TCP slow start, a cold CDN edge) are never judged. The
 *   defaults (1 KiB/s over 30 s) are far below any working registry or CDN (MB/s) and far above a
 *   trickle (1 byte/s); what still passes them is bounded by the scan's overall deadline.
 */
export interface ReadGuards {
  /** Milliseconds a read may wait for the next bytes. Default 60 000. */
  readonly idleTimeoutMs: number;
  /** Minimum average rate over the window, bytes per second; 0 turns the check off. Default 1024. */
  readonly minBytesPerSecond: number;
  /** Milliseconds of waiting the rate is averaged over (and the grace before it is checked). Default 30 000. */
  readonly rateWindowMs: number;
}

/** The defaults of {@link ReadGuards}. */
export const DEFAULT_READ_GUARDS: ReadGuards = { idleTimeoutMs: 60_000, minBytesPerSecond: 1024, rateWindowMs: 30_000 };

/** Throws the deadline's {@link ScanTimeoutError} when `signal` has fired. */
export function throwIfDeadlinePassed(signal: AbortSignal | undefined, during?: string): void {
  if (signal?.aborted) throw deadlineError(signal, during);
}

/** The error a fired deadline signal stands for: its reason when that is ours, else a generic one. */
export function deadlineError(signal: AbortSignal, during?: string): TrustError {
  const reason: unknown = signal.reason;
  if (reason instanceof ScanTimeoutError) return during && !reason.during ? new ScanTimeoutError(reason.deadline, during) : reason;
  if (reason instanceof TrustError) return reason;
  return new ScanTimeoutError('aborted', during);
}

/** What one `read()` of a body's reader resolves with. */
type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/** Options of {@link GuardedBody}. */
export interface GuardOptions {
  readonly guards?: ReadGuards;
  /** The scan's overall deadline. */
  readonly signal?: AbortSignal;
  /** What is read, for messages (`manifest team/app:1.0`). */
  readonly what: string;
  /** Who sends it, for messages (`127.0.0.1:5000`). */
  readonly from?: string;
}

/**
 * Pull-based reads of a response body under {@link ReadGuards} and the deadline: every `read()` races
 * the server against the idle timer and the deadline, and the bytes per time spent waiting are
 * checked over a sliding window. On any failure the body is cancelled (the connection is closed).
 */
export class GuardedBody {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly guards: ReadGuards;
  /** Cumulative (waited ms, bytes) after reads, back to the last one at least one window of waiting ago. */
  private samples: [number, number][] = [[0, 0]];
  private waited = 0;
  private bytes = 0;
  private finished = false;

  constructor(response: Response, private readonly opts: GuardOptions) {
    this.reader = response.body?.getReader();
    this.guards = opts.guards ?? DEFAULT_READ_GUARDS;
  }

  /** The next chunk, or `undefined` at the end of the body. */
  async read(): Promise<Uint8Array | undefined> {
    if (!this.reader || this.finished) return undefined;
    const { signal, what } = this.opts;
    if (signal?.aborted) {
      await this.cancel();
      throw deadlineError(signal, what);
    }
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let result: ReadResult;
    try {
      result = await new Promise<ReadResult>((resolve, reject) => {
        timer = setTimeout(() => reject(new TransferTimeoutError('idle', `${what}: no data${this.fromText()} for ${this.guards.idleTimeoutMs} ms`)), this.guards.idleTimeoutMs);
        // The pending read (a socket) keeps the process alive, not its watchdog.
        timer.unref();
        if (signal) {
          onAbort = () => reject(deadlineError(signal, what));
          signal.addEventListener('abort', onAbort, { once: true });
        }
        this.reader!.read().then(resolve, reject);
      });
    } catch (err) {
      await this.cancel();
      if (signal?.aborted) throw deadlineError(signal, what);
      throw err;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    if (result.done) {
      this.finished = true;
      return undefined;
    }
    this.waited += performance.now() - started;
    this.bytes += result.value.byteLength;
    this.checkRate();
    return result.value;
  }

  /** Over one whole window of waiting, the bytes of the last window must reach the minimum rate. */
  private checkRate(): void {
    const { minBytesPerSecond, rateWindowMs } = this.guards;
    if (minBytesPerSecond <= 0) return;
    // One sample per 1/32 of the window at most: a fast body (thousands of reads that wait ~0 ms) keeps
    // a few dozen samples, not one per chunk.
    const last = this.samples[this.samples.length - 1];
    if (this.waited - last[0] >= rateWindowMs / 32) this.samples.push([this.waited, this.bytes]);
    const from = this.waited - rateWindowMs;
    while (this.samples.length > 1 && this.samples[1][0] <= from) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const span = this.waited - t0;
    if (span < rateWindowMs) return;
    const rate = ((this.bytes - b0) * 1000) / span;
    if (rate < minBytesPerSecond) {
      void this.cancel();
      throw new TransferTimeoutError(
        'slow',
        `${this.opts.what}: ${this.bytes - b0} bytes${this.fromText()} in ${Math.round(span)} ms of waiting (${rate.toFixed(1)} B/s), below the minimum ${minBytesPerSecond} B/s`,
      );
    }
  }

  private fromText(): string {
    return this.opts.from ? ` from ${this.opts.from}` : '';
  }

  /** Stops reading and closes the body; safe to call more than once. */
  async cancel(): Promise<void> {
    this.finished = true;
    await this.reader?.cancel().catch(() => undefined);
  }
}

/**
 * Reads a response body into memory, refusing more than `max` bytes: a declared Content-Length over
 * the cap is refused before reading, and a body that streams past it (or never ends) is cancelled at
 * the first chunk over the cap, so at most `max` + one chunk is ever read (RELIABILITY.md 20). Every
 * read is guarded by `guard` (idle timeout, minimum rate, deadline — RELIABILITY.md 60).
 */
export async function readBodyCapped(response: Response, max: number, limit: string, what: string, guard: Omit<GuardOptions, 'what'> = {}): Promise<Buffer> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new LimitExceededError(limit, max, `${what} declares ${declared} bytes`);
  }
  if (!response.body) return Buffer.alloc(0);
  const body = new GuardedBody(response, { ...guard, what });
  const chunks: Buffer[] = [];
  let n = 0;
  for (;;) {
    const value = await body.read();
    if (value === undefined) break;
    n += value.byteLength;
    if (n > max) {
      await body.cancel();
      throw new LimitExceededError(limit, max, `${what} is larger than allowed (read ${n} bytes before stopping)`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks);
}

/** Discards a response body we do not need, so its connection can be reused or closed. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
