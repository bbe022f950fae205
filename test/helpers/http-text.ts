/**
 * Small HTTP(S) helpers for tests that drive a server the CLI started: one request whose whole body is
 * read as text, and a wait for a line the process printed (its listening URL).
 */
import * as http from 'node:http';
import * as https from 'node:https';

/** One request to `url` (http or https; `ca` trusts a test CA); the status and the body as text. */
export function httpText(url: string, opts: { method?: string; body?: string; ca?: string } = {}): Promise<{ status: number; body: string }> {
  const request = url.startsWith('https:') ? https.request : http.request;
  return new Promise((ok, fail) => {
    const req = request(url, { method: opts.method ?? 'GET', ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

/** Polls `what()` every 25 ms until `re` matches it (at most `tries` times); throws with what was printed. */
export async function waitForOutput(what: () => string, re: RegExp, tries = 400): Promise<RegExpExecArray> {
  for (let i = 0; i < tries; i++) {
    const m = re.exec(what());
    if (m) return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never printed ${re}: ${what()}`);
}
