import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 (node:http, random free port) whose every answer the test scripts —
 * for the hostile registries of RELIABILITY.md 18–23 that no real registry will play. It records what
 * it was sent, so tests can assert on headers (is `Authorization` there?) and request counts.
 */

/** A request as the server saw it. */
export interface SeenRequest {
  readonly method: string;
  /** Path and query, e.g. `/v2/app/blobs/sha256:…`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A handler; `req.body` is the whole request body. */
export type FakeHandler = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => unknown;

/** A running fake server. */
export interface FakeServer {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly requests: SeenRequest[];
  stop(): Promise<void>;
}

/** Starts a server answering with `handler`. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const seen: SeenRequest = { method: raw.method ?? '', path: raw.url ?? '/', headers: raw.headers, body: Buffer.concat(chunks) };
      requests.push(seen);
      Promise.resolve(handler(seen, res, raw)).catch((err: unknown) => {
        res.destroy(err as Error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes `{"errors":[{code,message}]}` as the distribution spec's error format. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ errors: [{ code, message }] }));
}

/**
 * Writes chunks of `chunk` until the client goes away; resolves with the bytes written. Honours
 * backpressure, so the count measures what the client's reading let through (plus socket buffers).
 */
export function writeForever(res: ServerResponse, chunk: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    let closed = false;
    res.on('close', () => {
      closed = true;
      resolve(written);
    });
    const pump = (): void => {
      while (!closed) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** Writes `body` one byte every `everyMs` (after the status line and headers), until done or the client leaves. */
export function trickle(res: ServerResponse, body: Buffer, everyMs: number, headers: Record<string, string> = {}, status = 200): void {
  res.writeHead(status, headers);
  // Headers now (Node sends them with the first byte otherwise): what trickles is the body.
  res.flushHeaders();
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed || i >= body.length) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(body.subarray(i, ++i));
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}
