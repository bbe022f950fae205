import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real Slack incoming-webhook stand-in on 127.0.0.1 (DESIGN.md "Real parts": Slack = a real HTTP
 * server that records posts and can answer 429/500). It answers as Slack does
 * (https://api.slack.com/messaging/webhooks#handling_errors, changelog 2016-05-17): `200 ok` for a
 * JSON body with `text` or `blocks` at the webhook's path, `400 invalid_payload` for a body that is
 * not JSON, `400 no_text` for one with neither, `404 no_service` for another path. Tests script
 * the next N answers: a status (429 with `Retry-After`, 500…) or a hang (no answer until the
 * client gives up or the server stops).
 */

/** A scripted answer. */
export type SlackAnswer =
  | { readonly status: number; readonly body?: string; readonly retryAfter?: string }
  | { readonly hang: true };

/** One request the server saw, in arrival order. */
export interface SlackRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly contentType?: string;
  readonly body: string;
  /** The parsed body, when it was JSON. */
  readonly json?: unknown;
  /** The status answered, or `hang`. */
  readonly answer: number | 'hang';
}

/** A running server. */
export interface SlackServer {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** The webhook URL: `<baseUrl>/services/T0TEST/B0TEST/<token>`. */
  readonly webhookUrl: string;
  /** The secret path segment of {@link webhookUrl} (random per server): tests assert it is never logged. */
  readonly token: string;
  /** Every request, answered or hanging. */
  readonly requests: SlackRequestRecord[];
  /** Bodies of the posts answered `200 ok`. */
  readonly posts: unknown[];
  /** The next `count` requests (after those already scripted) get `answer` instead of Slack's usual one. */
  script(count: number, answer: SlackAnswer): void;
  /** Resolves once the server has seen `n` requests in total (no timing: it waits for the event). */
  waitForRequests(n: number): Promise<void>;
  /** Ends hanging requests by closing their connections. */
  releaseHangs(): void;
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with a free port. */
export async function startSlackServer(): Promise<SlackServer> {
  const token = randomBytes(12).toString('hex');
  const webhookPath = `/services/T0TEST/B0TEST/${token}`;
  const requests: SlackRequestRecord[] = [];
  const posts: unknown[] = [];
  const scripted: SlackAnswer[] = [];
  const hanging = new Set<ServerResponse>();
  let waiters: { n: number; resolve: () => void }[] = [];

  const record = (r: SlackRequestRecord): void => {
    requests.push(r);
    const ready = waiters.filter((w) => requests.length >= w.n);
    waiters = waiters.filter((w) => requests.length < w.n);
    for (const w of ready) w.resolve();
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const base = { method: req.method ?? '', path: req.url ?? '', ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}), body, ...(json !== undefined ? { json } : {}) };
      const send = (status: number, text: string, headers: Record<string, string> = {}): void => {
        record({ ...base, answer: status });
        res.writeHead(status, { 'content-type': 'text/html', ...headers });
        res.end(text);
      };
      const next = scripted.shift();
      if (next && 'hang' in next) {
        record({ ...base, answer: 'hang' });
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (next) return send(next.status, next.body ?? (next.status === 429 ? 'rate_limited' : 'rollup_error'), next.retryAfter !== undefined ? { 'retry-after': next.retryAfter } : {});
      if (req.url !== webhookPath) return send(404, 'no_service');
      if (req.method !== 'POST') return send(405, 'invalid_method');
      if (json === undefined || typeof json !== 'object' || json === null) return send(400, 'invalid_payload');
      const m = json as { text?: unknown; blocks?: unknown };
      if (typeof m.text !== 'string' && !Array.isArray(m.blocks)) return send(400, 'no_text');
      posts.push(json);
      send(200, 'ok');
    });
  };

  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    webhookUrl: `${baseUrl}${webhookPath}`,
    token,
    requests,
    posts,
    script(count, answer) {
      for (let i = 0; i < count; i++) scripted.push(answer);
    },
    waitForRequests(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    releaseHangs() {
      for (const res of hanging) res.destroy();
      hanging.clear();
    },
    async stop() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
