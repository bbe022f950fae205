/**
 * An independent SigV4 verifier, written from AWS's specification
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html) with node:crypto only —
 * not with the signer under test — and an in-process HTTP server on 127.0.0.1 that, like an
 * `AWS_IAM` Lambda Function URL, answers 403 to any request whose signature does not verify.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server knows: the caller's keys, and the scope requests must be signed for. */
export interface SigV4Expectation {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When given, `X-Amz-Security-Token` must carry it and be signed. */
  readonly sessionToken?: string;
  readonly region: string;
  readonly service: string;
  /** The clock; default Date.now. Signatures more than 5 minutes off are refused (as AWS does). */
  readonly now?: () => number;
}

/** A verified request, or why not. */
export type SigV4Check = { readonly ok: true; readonly signedHeaders: readonly string[] } | { readonly ok: false; readonly reason: string };

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** The spec's UriEncode: every byte but A–Z a–z 0–9 - _ . ~ as %XY (upper-case hex); '/' too unless `keepSlash`. */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The canonical request of `req` (its method, the path and query as sent, the named headers) and
 * the payload hash, as the spec's step 1 lays out. Services other than S3 URI-encode each path
 * segment twice: the path as it arrives (already encoded once) is encoded once more here.
 */
export function canonicalRequest(req: { method: string; url: string; headers: Record<string, string | string[] | undefined> }, signedHeaders: readonly string[], body: Buffer): string {
  const [rawPath, rawQuery = ''] = req.url.split('?', 2);
  const canonicalUri = rawPath.split('/').map((seg) => uriEncode(seg)).join('/') || '/';
  const params = rawQuery === '' ? [] : rawQuery.split('&').map((kv) => {
    const [k, v = ''] = kv.split('=', 2);
    return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))] as const;
  });
  params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalHeaders = signedHeaders.map((h) => {
    const v = req.headers[h];
    const value = (Array.isArray(v) ? v.join(',') : v ?? '').trim().replace(/\s+/g, ' ');
    return `${h}:${value}\n`;
  }).join('');
  return [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), sha256Hex(body)].join('\n');
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$/;

/** Verifies the SigV4 signature of a request (its headers and body) against `exp`. */
export function verifySigV4(req: { method: string; url: string; headers: Record<string, string | string[] | undefined> }, body: Buffer, exp: SigV4Expectation): SigV4Check {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return { ok: false, reason: 'no Authorization header' };
  const m = AUTH.exec(auth);
  if (!m) return { ok: false, reason: `Authorization is not AWS4-HMAC-SHA256: ${auth.slice(0, 40)}` };
  const [, keyId, date, region, service, signedList, signature] = m;
  if (keyId !== exp.accessKeyId) return { ok: false, reason: `unknown access key ${keyId}` };
  if (region !== exp.region || service !== exp.service) return { ok: false, reason: `signed for ${region}/${service}, expected ${exp.region}/${exp.service}` };
  const amzDate = req.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) return { ok: false, reason: `bad X-Amz-Date ${String(amzDate)}` };
  const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs((exp.now ?? Date.now)() - when) > 5 * 60_000) return { ok: false, reason: 'signature expired or from the future' };
  const signedHeaders = signedList.split(';');
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.join(';') !== sorted.join(';')) return { ok: false, reason: 'SignedHeaders not sorted' };
  for (const must of ['host', 'x-amz-date', ...(exp.sessionToken ? ['x-amz-security-token'] : [])]) {
    if (!signedHeaders.includes(must)) return { ok: false, reason: `${must} is not signed` };
  }
  if (exp.sessionToken && req.headers['x-amz-security-token'] !== exp.sessionToken) return { ok: false, reason: 'wrong session token' };
  const payloadHeader = req.headers['x-amz-content-sha256'];
  if (payloadHeader !== undefined && payloadHeader !== sha256Hex(body)) return { ok: false, reason: 'X-Amz-Content-Sha256 does not match the body' };
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest(req, signedHeaders, body))].join('\n');
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${exp.secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = hmac(kSigning, stringToSign).toString('hex');
  if (expected !== signature) return { ok: false, reason: 'The request signature we calculated does not match the signature you provided.' };
  return { ok: true, signedHeaders };
}

/** An HTTP server on 127.0.0.1 that verifies every request's SigV4 signature before `handler` sees it. */
export async function startSigV4Server(exp: SigV4Expectation, handler: RequestListener): Promise<{ url: string; requests: { check: SigV4Check; path: string }[]; close: () => Promise<void> }> {
  const requests: { check: SigV4Check; path: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const check = verifySigV4({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, Buffer.concat(chunks), exp);
      requests.push({ check, path: req.url ?? '' });
      if (!check.ok) {
        // As a Function URL answers (x-amzn-ErrorType: AccessDeniedException).
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' }).end(JSON.stringify({ Message: 'Forbidden' }));
        return;
      }
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
