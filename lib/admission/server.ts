import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { TrustError } from '../engine/errors';
import { isDigest } from '../engine/model';
import { isLoopbackHost } from '../engine/registry/http';
import type { AdmissionController, AdmissionPath } from './decide';
import { AdmissionReviewError, InsecureListenError } from './errors';
import { MUTATE_PATH, VALIDATE_PATH } from './manifests';

/**
 * `trustctl serve`: the admission webhook and the verdict API over HTTPS (DESIGN.md "The house",
 * lib/admission). The routes are plain functions of `(method, path, body)` ({@link createTrustHandler}),
 * so the same code can answer behind a Lambda function URL; {@link createTrustServer} only reads the
 * body (capped) and writes the answer.
 *
 * - `POST /admission/validate`, `POST /admission/mutate`: AdmissionReview v1 in and out
 *   (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request).
 *   A body that is no AdmissionReview is a 400: the API server then applies `failurePolicy: Fail`.
 * - `GET /verdicts/<digest>`: the stored verdict (200), 404 when there is none, 400 for a bad digest,
 *   503 when the store fails or is slow — never an answer that reads as trusted on error.
 * - `GET /healthz`: 200 `ok` (the Pod's probes).
 */

/** What a route answers. */
export interface HandlerResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The routes as one function: the server and a Lambda adapter call it the same way. */
export type TrustHandler = (method: string, path: string, body?: Buffer | string) => Promise<HandlerResponse>;

/** Largest request body read: AdmissionReviews carry whole objects, and etcd's own object limit is about 1.5 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Options of {@link createTrustHandler}. */
export interface TrustHandlerOptions {
  /** Decides reviews and reads verdicts (its store and cache). */
  readonly controller: AdmissionController;
  /** Default {@link DEFAULT_MAX_BODY_BYTES}. Larger bodies get 413. */
  readonly maxBodyBytes?: number;
  /** Where failures are reported (never request bodies). */
  readonly log?: (line: string) => void;
}

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store' });
const TEXT_HEADERS = Object.freeze({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });

function json(status: number, value: unknown): HandlerResponse {
  return { status, headers: JSON_HEADERS, body: JSON.stringify(value) };
}

function error(status: number, code: string, message: string, extraHeaders: Record<string, string> = {}): HandlerResponse {
  return { status, headers: { ...JSON_HEADERS, ...extraHeaders }, body: JSON.stringify({ error: { code, message } }) };
}

const HEALTHY: HandlerResponse = Object.freeze({ status: 200, headers: TEXT_HEADERS, body: 'ok' });
const VERDICTS_PREFIX = '/verdicts/';

/** The routes of the trust server (see the module comment). */
export function createTrustHandler(options: TrustHandlerOptions): TrustHandler {
  const { controller, log } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const admission = async (path: AdmissionPath, body: Buffer | string | undefined): Promise<HandlerResponse> => {
    const size = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (size > maxBodyBytes) return error(413, 'BODY_TOO_LARGE', `request body over ${maxBodyBytes} bytes`);
    try {
      return json(200, await controller.review(body ?? '', path));
    } catch (err) {
      if (err instanceof AdmissionReviewError) return error(400, err.code, err.message);
      log?.(`admission ${path}: ${describe(err)}`);
      return error(500, 'INTERNAL', 'the admission decision failed; see the server log');
    }
  };

  const verdict = async (rawDigest: string): Promise<HandlerResponse> => {
    let digest: string;
    try {
      digest = decodeURIComponent(rawDigest);
    } catch {
      digest = rawDigest;
    }
    if (!isDigest(digest)) return error(400, 'INVALID_REFERENCE', 'expected /verdicts/<algorithm>:<hex>, e.g. /verdicts/sha256:…');
    try {
      const v = await controller.fetchVerdict(digest);
      return v ? json(200, v) : error(404, 'NO_VERDICT', `no verdict for ${digest}`);
    } catch (err) {
      log?.(`verdict ${digest}: ${describe(err)}`);
      return error(503, 'VERDICT_STORE_UNREACHABLE', `verdict store unreachable: ${err instanceof TrustError ? err.code : 'error'}`);
    }
  };

  return async (method, rawPath, body) => {
    const q = rawPath.indexOf('?');
    const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
    if (path === VALIDATE_PATH || path === MUTATE_PATH) {
      if (method !== 'POST') return error(405, 'METHOD_NOT_ALLOWED', `${path} takes POST`, { allow: 'POST' });
      return admission(path === VALIDATE_PATH ? 'validate' : 'mutate', body);
    }
    if (path.startsWith(VERDICTS_PREFIX)) {
      if (method !== 'GET') return error(405, 'METHOD_NOT_ALLOWED', `${path} takes GET`, { allow: 'GET' });
      return verdict(path.slice(VERDICTS_PREFIX.length));
    }
    if (path === '/healthz') {
      if (method !== 'GET') return error(405, 'METHOD_NOT_ALLOWED', '/healthz takes GET', { allow: 'GET' });
      return HEALTHY;
    }
    return error(404, 'NOT_FOUND', `no route ${path.slice(0, 200)}`);
  };
}

function describe(err: unknown): string {
  return err instanceof TrustError ? `${err.code}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** PEM certificate chain and key of the server. */
export interface TlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Options of {@link createTrustServer}. */
export interface TrustServerOptions extends TrustHandlerOptions {
  /**
   * The address the caller will listen on. Without {@link tls} it must be loopback (127.0.0.0/8,
   * `::1`, `localhost`): the API server only calls webhooks over HTTPS, and verdicts must not cross
   * a network in clear text.
   */
  readonly host: string;
  /** Serve HTTPS with this certificate and key (the API server checks it against the caBundle). */
  readonly tls?: TlsOptions;
  /** Milliseconds a client has to send a whole request. Default 10 000. */
  readonly requestTimeoutMs?: number;
}

/** A body this much over the cap is not drained before the 413: the connection is closed instead. */
const DRAIN_FACTOR = 4;

/**
 * A Node server for the routes of {@link createTrustHandler}: HTTPS with `tls`, plain HTTP only for a
 * loopback `host` (else {@link InsecureListenError}). Not listening yet: call
 * `server.listen(port, options.host)`. A plain server that ends up bound to a non-loopback address
 * anyway (`listen(port)` binds every interface) closes itself and emits the same error.
 */
export function createTrustServer(options: TrustServerOptions): http.Server | https.Server {
  if (!options.tls && !isLoopbackHost(options.host)) {
    throw new InsecureListenError(`refusing plain HTTP on ${options.host}: give a TLS certificate and key (--tls-cert, --tls-key), or listen on 127.0.0.1`);
  }
  const handle = createTrustHandler(options);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.log;

  const send = (res: http.ServerResponse, r: HandlerResponse, close = false): void => {
    if (res.headersSent) return;
    res.writeHead(r.status, { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)), ...(close ? { connection: 'close' } : {}) });
    res.end(r.body);
  };
  const tooLarge = (): HandlerResponse => error(413, 'BODY_TOO_LARGE', `request body over ${maxBodyBytes} bytes`);

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    if (method === 'GET' || method === 'HEAD') {
      // No body to wait for on reads.
      req.resume();
      handle(method, url).then((r) => send(res, r), (err: unknown) => send(res, error(500, 'INTERNAL', describe(err))));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > DRAIN_FACTOR * maxBodyBytes) {
      send(res, tooLarge(), true);
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBodyBytes) chunks.push(c);
      else if (size > DRAIN_FACTOR * maxBodyBytes) {
        send(res, tooLarge(), true);
        req.destroy();
      }
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      // Over the cap but drained: answer on a connection that stays usable.
      if (size > maxBodyBytes) return send(res, tooLarge());
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      handle(method, url, body).then(
        (r) => send(res, r),
        (err: unknown) => {
          log?.(`${method} ${url}: ${describe(err)}`);
          send(res, error(500, 'INTERNAL', 'internal error'));
        },
      );
    });
  };

  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, listener)
    : http.createServer(listener);
  server.requestTimeout = options.requestTimeoutMs ?? 10_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  if (!options.tls) {
    server.prependListener('listening', () => {
      const a = server.address() as AddressInfo | string | null;
      if (a && typeof a === 'object' && !isLoopbackHost(a.address)) {
        server.close();
        server.emit('error', new InsecureListenError(`refusing plain HTTP on ${a.address}: listen on ${options.host}, or give a TLS certificate and key`));
      }
    });
  }
  return server;
}
