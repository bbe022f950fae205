/**
 * An in-process NVD CVE API 2.0 server on 127.0.0.1 for tests, over real NVD `cve` objects
 * (../shared/corpus/nvd/records). It implements what the client relies on, as
 * https://nvd.nist.gov/developers/vulnerabilities documents it: `startIndex`/`resultsPerPage` paging
 * (at most 2,000), `lastModStartDate`/`lastModEndDate` filtering (both or neither, at most 120 days
 * apart; a bad request is answered 404 with a `message` header, as NVD does), the `apiKey` header (an
 * unknown key → 404), and the rate limit (5 requests per rolling 30 s without a key, 50 with one; over
 * it → 403). Time is the test's fake clock, so the limit is enforced without anyone really waiting.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NvdServerOptions {
  /** The records served (bare `cve` objects). */
  readonly records: Record<string, unknown>[];
  /** The fake clock (ms). */
  readonly now: () => number;
  /** The valid API key. */
  readonly apiKey?: string;
  /** Sent with every 403 (seconds), when set. */
  readonly retryAfterSeconds?: number;
}

export interface NvdRequest {
  readonly params: Record<string, string>;
  readonly apiKey?: string;
  readonly status: number;
  readonly at: number;
}

export class NvdApiServer {
  private server?: Server;
  url = '';
  readonly requests: NvdRequest[] = [];
  /** Called before each answer with the request's number (0-based): tests change the data mid-sync. */
  beforeAnswer?: (n: number, params: Record<string, string>) => void;
  /** Overrides `totalResults` in answers (a server claiming more than it has). */
  claimTotal?: number;
  /** Sends headers and part of the body, then never ends the answer. */
  hang = false;
  /** Answers 500 from this request number on (a server going away mid-sync). */
  failFrom?: number;
  records: Record<string, unknown>[];
  private readonly sent: { at: number; keyed: boolean }[] = [];
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly o: NvdServerOptions) {
    this.records = [...o.records];
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/rest/json/cves/2.0`;
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.open) r.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Requests refused for exceeding the rate limit. */
  get rateLimited(): number {
    return this.requests.filter((r) => r.status === 403).length;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const params = Object.fromEntries(u.searchParams.entries());
    const keyHeader = req.headers.apikey;
    const apiKey = typeof keyHeader === 'string' ? keyHeader : undefined;
    const at = this.o.now();
    const n = this.requests.length;
    const done = (status: number, headers: Record<string, string> = {}, body?: string): void => {
      this.requests.push({ params, ...(apiKey !== undefined ? { apiKey } : {}), status, at });
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
    };
    if (u.pathname !== '/rest/json/cves/2.0') return done(404);
    if (apiKey !== undefined && apiKey !== this.o.apiKey) return done(404, { message: 'Invalid apiKey' });
    // Rolling 30 s window per client kind, on the fake clock.
    const keyed = apiKey !== undefined;
    const recent = this.sent.filter((s) => s.keyed === keyed && s.at > at - 30_000).length;
    this.sent.push({ at, keyed });
    if (recent >= (keyed ? 50 : 5)) return done(403, this.o.retryAfterSeconds !== undefined ? { 'retry-after': String(this.o.retryAfterSeconds) } : {});
    if (this.failFrom !== undefined && n >= this.failFrom) return done(500);
    this.beforeAnswer?.(n, params);
    const startIndex = Number(params.startIndex ?? '0');
    const perPage = Number(params.resultsPerPage ?? '2000');
    if (!Number.isInteger(startIndex) || startIndex < 0 || !Number.isInteger(perPage) || perPage < 1 || perPage > 2000) return done(404, { message: 'Invalid startIndex or resultsPerPage' });
    const s = params.lastModStartDate;
    const e = params.lastModEndDate;
    if ((s === undefined) !== (e === undefined)) return done(404, { message: 'Both lastModStartDate and lastModEndDate are required when either is present' });
    let list = this.records;
    if (s !== undefined && e !== undefined) {
      const from = Date.parse(s);
      const to = Date.parse(e);
      if (Number.isNaN(from) || Number.isNaN(to) || !/[+-]\d{2}:\d{2}$|Z$/.test(s)) return done(404, { message: 'Invalid date' });
      if (to - from > 120 * 24 * 3600 * 1000) return done(404, { message: 'The lastModified date range must not exceed 120 days' });
      list = list.filter((r) => {
        const t = Date.parse(`${r.lastModified as string}Z`);
        return t >= from && t <= to;
      });
    }
    const page = list.slice(startIndex, startIndex + perPage);
    const body = JSON.stringify({
      resultsPerPage: page.length, startIndex, totalResults: this.claimTotal ?? list.length, format: 'NVD_CVE', version: '2.0',
      timestamp: new Date(at).toISOString().replace(/Z$/, ''), vulnerabilities: page.map((cve) => ({ cve })),
    });
    if (this.hang) {
      this.requests.push({ params, ...(apiKey !== undefined ? { apiKey } : {}), status: 200, at });
      this.open.add(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(body.slice(0, 100));
      return;
    }
    return done(200, {}, body);
  }
}
