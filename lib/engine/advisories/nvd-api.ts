/**
 * The NVD CVE API 2.0 as a feed source (issue 14: a CVE severity source from NVD), following
 * https://nvd.nist.gov/developers/vulnerabilities and https://nvd.nist.gov/developers/start-here:
 *
 * - `GET <base>?startIndex=&resultsPerPage=` pages through the results (at most 2,000 per page);
 *   a page's `totalResults` says how many there are;
 * - an incremental sync adds `lastModStartDate`/`lastModEndDate` (both or neither; ISO-8601 with an
 *   offset; at most 120 days apart): a longer gap is split into consecutive windows; the first sync of a
 *   source (no `since`) pages through everything;
 * - the API key goes in the `apiKey` request header (never the URL: the URL is the source's id and gets logged);
 * - rate limits: 5 requests in a rolling 30 s window without a key, 50 with one; NVD also advises a
 *   pause between requests. {@link RateLimiter} keeps to both, with an injected clock and sleep (tests
 *   never really wait). A 403/429/503 answer (NVD's rate-limit and overload answers) is retried after
 *   `Retry-After` or an exponential backoff, a bounded number of times.
 *
 * The records become enrichment records (enrichment.ts `nvdRecord`); the sync (sync-feeds.ts) records
 * the newest `lastModified` as the source's `modified`, which is the next `lastModStartDate` less a small
 * overlap (NVD timestamps a change before every index has it). A page whose `totalResults` changes while
 * a window is being paged (NVD changed records meanwhile: positions shift, a record could be missed)
 * restarts that window; what was already taken is yielded again only when newer.
 *
 * A sync that is killed or fails midway (a Lambda timeout during the first full read, NVD going away)
 * is resumed: after every page the reader's `cursor` names the next page (or window), the sync commits
 * it with the records before it (FeedState.cursor), and the next attempt continues there. A resumed
 * listing whose `totalResults` shrank (records left it: positions moved back) is paged again from its start.
 */
import type { Readable } from 'node:stream';
import { LimitExceededError, TrustError } from '../errors';
import { nvdRecord } from './enrichment';
import type { FeedKind, FeedReadOptions, FeedRecords } from './enrichment-feed';
import { FeedError } from './feed';
import type { OsvRecord } from './osv';
import { compareOsvTimestamps, isOsvTimestamp } from './record';

/** NVD's production CVE API 2.0 endpoint. */
export const NVD_API_URL = 'https://services.nvd.nist.gov/rest/json/cves/2.0';

/** True for a URL of an NVD CVE API 2.0 endpoint (its path ends in `/rest/json/cves/2.0`). */
export function isNvdApiUrl(spec: string): boolean {
  try {
    return /\/rest\/json\/cves\/2\.0\/?$/.test(new URL(spec).pathname);
  } catch {
    return false;
  }
}

/** NVD's published limits (https://nvd.nist.gov/developers/start-here, "Rate Limits"). */
export const NVD_LIMITS = {
  withoutKey: 5,
  withKey: 50,
  windowMs: 30_000,
  maxResultsPerPage: 2_000,
  maxWindowDays: 120,
} as const;

/** Options of the NVD API client. Every default follows NVD's documentation. */
export interface NvdApiOptions {
  /** The API key, or how to get it (environment, Secrets Manager: lib/aws/nvd-api-key.ts); resolved once per read. */
  readonly apiKey?: string | (() => Promise<string | undefined>);
  readonly fetch?: typeof globalThis.fetch;
  /** The clock, in ms since the epoch (rate limiting, windows, Retry-After dates). Default `Date.now`. */
  readonly now?: () => number;
  /** How to wait (rate limiting, backoff). Default a timer. Tests pass one that advances a fake clock. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Requests per rolling window. Default 5 without a key, 50 with one. */
  readonly requestsPerWindow?: number;
  /** The rolling window. Default 30 s. */
  readonly windowMs?: number;
  /** Pause between two requests. Default `windowMs / requestsPerWindow` (6 s without a key, 0.6 s with one). */
  readonly minIntervalMs?: number;
  /** `resultsPerPage`. Default (and at most) 2,000. */
  readonly resultsPerPage?: number;
  /** Longest `lastModStartDate`…`lastModEndDate` window, in days. Default (and at most) 120. */
  readonly maxWindowDays?: number;
  /** How far before the newest `lastModified` seen the next incremental sync starts. Default 15 minutes. */
  readonly overlapMs?: number;
  /** Retries of one request answered 403/429/503 or not answered. Default 6. */
  readonly maxRetries?: number;
  /** Longest wait before a retry, whatever Retry-After says. Default 10 minutes. */
  readonly maxBackoffMs?: number;
  /** Requests (pages and retries) in one read. Default 2,000 (NVD holds ~300,000 CVEs: 150 pages). */
  readonly maxPages?: number;
  /** Restarts of a window whose `totalResults` changed. Default 3. */
  readonly maxRestarts?: number;
  /** Bytes of one page. Default 128 MiB (a page of 2,000 records is ~30 MB). */
  readonly maxPageBytes?: number;
  /** Milliseconds to wait for response headers. Default 60 000. */
  readonly timeoutMs?: number;
  /** Milliseconds to wait for the next body chunk. Default 60 000. */
  readonly idleTimeoutMs?: number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * At most `limit` requests in any rolling `windowMs`, and at least `minIntervalMs` between two. Time
 * comes from `now` and passes through `sleep`, both injected: a test drives it with a fake clock.
 */
export class RateLimiter {
  private readonly sent: number[] = [];
  constructor(private readonly o: { readonly limit: number; readonly windowMs: number; readonly minIntervalMs: number; readonly now: () => number; readonly sleep: (ms: number) => Promise<void> }) {
    if (!Number.isSafeInteger(o.limit) || o.limit <= 0) throw new RangeError(`limit must be a positive integer, got ${o.limit}`);
  }

  /** Waits until one more request may be sent, and counts it as sent. */
  async take(): Promise<void> {
    for (;;) {
      const t = this.o.now();
      while (this.sent.length > 0 && this.sent[0] <= t - this.o.windowMs) this.sent.shift();
      const last = this.sent[this.sent.length - 1];
      let wait = 0;
      if (this.sent.length >= this.o.limit) wait = this.sent[0] + this.o.windowMs - t;
      if (last !== undefined) wait = Math.max(wait, last + this.o.minIntervalMs - t);
      if (wait <= 0) {
        this.sent.push(t);
        return;
      }
      await this.o.sleep(wait);
    }
  }

  /** After the server refused for rate reasons: nothing more until `ms` from now. */
  async pause(ms: number): Promise<void> {
    if (ms > 0) await this.o.sleep(ms);
  }
}

/** `Retry-After` as milliseconds from `now` (delta-seconds or an HTTP-date, RFC 9110 §10.2.3), or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** An instant in the form NVD's date parameters take: ISO-8601 with milliseconds and an explicit offset. */
export function nvdDateParam(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '+00:00');
}

/** The `[start, end]` windows (ms) covering `from`…`to`, each at most `maxDays` long. */
export function nvdWindows(from: number, to: number, maxDays: number): [number, number][] {
  const span = maxDays * 24 * 3600 * 1000;
  const out: [number, number][] = [];
  for (let s = from; s < to; s += span) out.push([s, Math.min(s + span, to)]);
  return out.length > 0 ? out : [[from, Math.max(from, to)]];
}

const RETRY_STATUSES = new Set([403, 429, 503]);

/** A page's body, bounded in bytes and in time between chunks. */
async function readBody(res: Response, max: number, idleMs: number, controller: AbortController, where: string): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const parts: Buffer[] = [];
  let size = 0;
  let done = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FeedError(`${where}: no data for ${idleMs} ms`)), idleMs);
      });
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await Promise.race([reader.read(), idle]);
      } catch (err) {
        if (err instanceof TrustError) throw err;
        throw new FeedError(`${where}: download failed: ${message(err)}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
      if (r.done) {
        done = true;
        return Buffer.concat(parts);
      }
      size += r.value.length;
      if (size > max) throw new LimitExceededError('maxPageBytes', max, `${where}: NVD page is too large`);
      parts.push(Buffer.from(r.value));
    }
  } finally {
    if (!done) {
      controller.abort();
      reader.cancel().catch(() => undefined);
    }
  }
}

/**
 * Where an interrupted NVD read stopped: the window it was in (`from`…`to`, ms; `null`: the full
 * listing without dates), the next `startIndex` in it and the `totalResults` it had.
 */
interface NvdCursor {
  readonly from: number | null;
  readonly to: number | null;
  readonly startIndex: number;
  readonly total: number;
}

const formatCursor = (c: NvdCursor): string => `nvd1:${JSON.stringify(c)}`;

/** A cursor this reader wrote, or undefined for anything else (another reader's, a damaged one: then start over). */
function parseCursor(v: string | undefined): NvdCursor | undefined {
  if (v === undefined || !v.startsWith('nvd1:')) return undefined;
  try {
    const c = JSON.parse(v.slice(5)) as Record<string, unknown>;
    const ms = (x: unknown): x is number | null => x === null || (Number.isSafeInteger(x) && (x as number) >= 0);
    const n = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!ms(c.from) || !ms(c.to) || !n(c.startIndex) || !n(c.total)) return undefined;
    return { from: c.from, to: c.to, startIndex: c.startIndex, total: c.total };
  } catch {
    return undefined;
  }
}

interface NvdPage {
  readonly totalResults: number;
  readonly vulnerabilities: readonly unknown[];
}

/**
 * One NVD CVE API 2.0 source. Its fingerprint changes on every call: the API has no revision to
 * compare, so every sync reads — incrementally from the source's last complete `modified`.
 */
export function nvdApiSource(spec: string, o: NvdApiOptions = {}): { source: string; location: string; fingerprint(): Promise<string>; open(): Promise<Readable>; read(opts: FeedReadOptions): FeedRecords } {
  let base: URL;
  try {
    base = new URL(spec);
  } catch (err) {
    throw new FeedError(`not a URL: ${spec}`, { cause: err });
  }
  if (base.username || base.password || base.search) throw new FeedError(`NVD API URL ${spec}: no credentials or query in the URL (the key goes in the apiKey header)`);
  if (base.protocol !== 'https:' && !(base.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname))) {
    throw new FeedError(`NVD API URL ${spec}: only https (or http to 127.0.0.1 / localhost) is allowed`);
  }
  const source = base.href;
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? realSleep;
  const perPage = Math.min(o.resultsPerPage ?? NVD_LIMITS.maxResultsPerPage, NVD_LIMITS.maxResultsPerPage);
  const maxDays = Math.min(o.maxWindowDays ?? NVD_LIMITS.maxWindowDays, NVD_LIMITS.maxWindowDays);
  const doFetch = o.fetch ?? globalThis.fetch;

  return {
    source,
    location: source,
    async fingerprint() {
      return `nvd-api:${new Date(now()).toISOString()}`;
    },
    async open(): Promise<Readable> {
      throw new FeedError(`${source} is the NVD API; it is read page by page`, { source });
    },
    read(ro: FeedReadOptions): FeedRecords {
      const state: { kind?: FeedKind; cursor?: string } = {};
      let started = false;
      const run = async function* (): AsyncGenerator<OsvRecord> {
        state.kind = 'nvd';
        let key: string | undefined;
        try {
          key = typeof o.apiKey === 'function' ? await o.apiKey() : o.apiKey;
        } catch (err) {
          throw new FeedError(`${source}: cannot get the NVD API key: ${message(err)}`, { cause: err, source });
        }
        if (key !== undefined && (key.length === 0 || /[\r\n]/.test(key))) throw new FeedError(`${source}: the NVD API key is empty or malformed`, { source });
        const limit = o.requestsPerWindow ?? (key ? NVD_LIMITS.withKey : NVD_LIMITS.withoutKey);
        const windowMs = o.windowMs ?? NVD_LIMITS.windowMs;
        const limiter = new RateLimiter({ limit, windowMs, minIntervalMs: o.minIntervalMs ?? Math.ceil(windowMs / limit), now, sleep });
        const maxRetries = o.maxRetries ?? 6;
        const maxBackoff = o.maxBackoffMs ?? 600_000;
        const maxPages = o.maxPages ?? 2_000;
        const maxRestarts = o.maxRestarts ?? 3;
        const maxBytes = o.maxPageBytes ?? 128 * 1024 * 1024;
        const timeoutMs = o.timeoutMs ?? 60_000;
        const idleMs = o.idleTimeoutMs ?? 60_000;
        let pages = 0;

        const fetchPage = async (params: URLSearchParams): Promise<NvdPage> => {
          const url = new URL(base.href);
          url.search = params.toString();
          const where = `GET ${source}?${params.toString()}`;
          for (let attempt = 0; ; attempt++) {
            if (++pages > maxPages) throw new LimitExceededError('maxPages', maxPages, `${source}: too many NVD API requests in one sync`);
            await limiter.take();
            const controller = new AbortController();
            const timer = setTimeout(() => controller.abort(new FeedError(`${where}: no response within ${timeoutMs} ms`, { source })), timeoutMs);
            let res: Response | undefined;
            let failure: unknown;
            try {
              res = await doFetch(url, { method: 'GET', redirect: 'manual', signal: controller.signal, headers: { accept: 'application/json', ...(key ? { apiKey: key } : {}) } });
            } catch (err) {
              failure = controller.signal.reason instanceof FeedError ? controller.signal.reason : err;
            } finally {
              clearTimeout(timer);
            }
            const retryable = res === undefined || RETRY_STATUSES.has(res.status);
            if (retryable) {
              await res?.body?.cancel().catch(() => undefined);
              const what = res ? `HTTP ${res.status}` : message(failure);
              if (attempt >= maxRetries) throw new FeedError(`${where}: ${what}, ${maxRetries} retries exhausted`, { source, ...(res ? { status: res.status } : { cause: failure }) });
              // Retry-After when the server says; else 6 s, 12 s, 24 s… (NVD's rolling window is 30 s).
              const advised = res ? retryAfterMs(res.headers.get('retry-after'), now()) : undefined;
              await limiter.pause(Math.min(advised ?? 6_000 * 2 ** attempt, maxBackoff));
              continue;
            }
            if (!res!.ok) {
              await res!.body?.cancel().catch(() => undefined);
              // NVD explains a refused request (bad parameter, invalid key) in a `message` header.
              const why = res!.headers.get('message');
              throw new FeedError(`${where}: HTTP ${res!.status}${why ? ` (${why.slice(0, 200)})` : ''}`, { source, status: res!.status });
            }
            const body = await readBody(res!, maxBytes, idleMs, controller, where);
            let doc: unknown;
            try {
              doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
            } catch (err) {
              throw new FeedError(`${where}: not a JSON page: ${message(err).slice(0, 200)}`, { cause: err, source });
            }
            const d = doc as { totalResults?: unknown; vulnerabilities?: unknown };
            if (typeof doc !== 'object' || doc === null || !Array.isArray(d.vulnerabilities) || !Number.isSafeInteger(d.totalResults) || (d.totalResults as number) < 0) {
              throw new FeedError(`${where}: not an NVD CVE API 2.0 page (needs totalResults and vulnerabilities[])`, { source });
            }
            return { totalResults: d.totalResults as number, vulnerabilities: d.vulnerabilities };
          }
        };

        const since = ro.since !== undefined && isOsvTimestamp(ro.since) ? Date.parse(ro.since) : undefined;
        const end = now();
        const at = parseCursor(ro.resume);
        // Where to start: an interrupted attempt's cursor, else the last complete read's newest less the overlap, else everything.
        const from = at ? at.from : since === undefined ? null : since - (o.overlapMs ?? 15 * 60_000);
        const windows: ([number, number] | undefined)[] = from === null ? [undefined] : nvdWindows(from, end, maxDays);
        const seen = new Map<string, string>();
        for (const [wi, w] of windows.entries()) {
          let restarts = 0;
          // Page-level resume only into the very window (or full listing) the cursor was taken in.
          const same = wi === 0 && at !== undefined && (w === undefined ? at.to === null : at.to === w[1]);
          let startIndex = same ? at!.startIndex : 0;
          /** The total a resumed listing had: fewer now means records left it, positions shifted back: restart. */
          let resumedTotal = same ? at!.total : undefined;
          let expected: number | undefined;
          for (;;) {
            const params = new URLSearchParams({ resultsPerPage: String(perPage), startIndex: String(startIndex) });
            if (w) {
              params.set('lastModStartDate', nvdDateParam(w[0]));
              params.set('lastModEndDate', nvdDateParam(w[1]));
            }
            const page = await fetchPage(params);
            if (resumedTotal !== undefined) {
              const before = resumedTotal;
              resumedTotal = undefined;
              if (page.totalResults < before) {
                startIndex = 0;
                continue;
              }
            } else if (expected !== undefined && page.totalResults !== expected) {
              // Records changed while we paged: positions shifted. Page the window again from its start.
              if (++restarts > maxRestarts) throw new FeedError(`${source}: totalResults kept changing while paging (${expected} → ${page.totalResults}); ${maxRestarts} restarts exhausted`, { source });
              expected = undefined;
              startIndex = 0;
              continue;
            }
            expected = page.totalResults;
            if (startIndex < page.totalResults && page.vulnerabilities.length === 0) {
              throw new FeedError(`${source}: the page at startIndex ${startIndex} is empty though totalResults is ${page.totalResults}`, { source });
            }
            for (const [i, v] of page.vulnerabilities.entries()) {
              const cve = typeof v === 'object' && v !== null ? (v as { cve?: unknown }).cve : v;
              const r = nvdRecord(cve);
              if ('skip' in r) {
                ro.onSkip?.(`startIndex ${startIndex + i}`, r.skip);
                continue;
              }
              const prev = seen.get(r.id);
              if (prev !== undefined && compareOsvTimestamps(r.modified, prev) <= 0) continue;
              seen.set(r.id, r.modified);
              yield r;
            }
            startIndex += page.vulnerabilities.length;
            if (startIndex >= page.totalResults) break;
            // Every record of the pages so far has been yielded: a later attempt may go on from the next page.
            state.cursor = formatCursor({ from: w ? w[0] : null, to: w ? w[1] : null, startIndex, total: page.totalResults });
          }
          // The window is done: a later attempt starts with the next one.
          if (w && wi + 1 < windows.length) state.cursor = formatCursor({ from: windows[wi + 1]![0], to: null, startIndex: 0, total: 0 });
        }
      };
      return {
        get kind() { return state.kind; },
        get cursor() { return state.cursor; },
        [Symbol.asyncIterator]() {
          if (started) throw new Error('a feed read can be iterated once');
          started = true;
          return run();
        },
      } as FeedRecords;
    },
  };
}
