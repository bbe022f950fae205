/**
 * SigV4 for Function URLs (lib/aws/function-url-signer.ts): the SDK's signer, checked by an
 * independent verifier written from AWS's specification (test/helpers/sigv4-verifier.ts) — itself
 * first checked against AWS's published test vector.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { AuthError } from '../../lib/engine/errors';
import { functionUrlRegion, SigV4Signer } from '../../lib/aws/function-url-signer';
import { canonicalRequest, startSigV4Server, verifySigV4 } from '../helpers/sigv4-verifier';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('functionUrlRegion', () => {
  it.each([
    { name: 'a Function URL', host: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws', region: 'eu-west-1' },
    { name: 'a GovCloud Function URL', host: 'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-gov-west-1.on.aws', region: 'us-gov-west-1' },
    { name: 'upper case', host: 'ABCDEF.LAMBDA-URL.AP-SOUTHEAST-2.ON.AWS', region: 'ap-southeast-2' },
    { name: 'a look-alike suffix', host: 'abc.lambda-url.eu-west-1.on.aws.example.com', region: undefined },
    { name: 'a look-alike prefix', host: 'evil.abc.lambda-url.eu-west-1.on.aws', region: undefined },
    { name: 'API Gateway', host: 'abc.execute-api.eu-west-1.amazonaws.com', region: undefined },
    { name: 'no URL id', host: 'lambda-url.eu-west-1.on.aws', region: undefined },
    { name: 'loopback', host: '127.0.0.1', region: undefined },
  ])('$name', ({ host, region }) => {
    expect(functionUrlRegion(host)).toBe(region);
  });
});

describe('the independent verifier', () => {
  // AWS's SigV4 test suite, "get-vanilla": GET / with Host and X-Amz-Date, service "service".
  const vanilla = {
    method: 'GET',
    url: '/',
    headers: {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    },
  };
  const exp = { ...KEYS, region: 'us-east-1', service: 'service', now: () => Date.UTC(2015, 7, 30, 12, 36) };

  it("accepts AWS's published get-vanilla signature and builds its canonical request", () => {
    expect(canonicalRequest(vanilla, ['host', 'x-amz-date'], Buffer.alloc(0))).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(verifySigV4(vanilla, Buffer.alloc(0), exp)).toEqual({ ok: true, signedHeaders: ['host', 'x-amz-date'] });
  });

  it.each([
    { name: 'another secret', exp: { ...exp, secretAccessKey: 'x' }, reason: /does not match/ },
    { name: 'another region', exp: { ...exp, region: 'eu-west-1' }, reason: /expected eu-west-1/ },
    { name: 'a stale date', exp: { ...exp, now: () => Date.UTC(2015, 7, 30, 13, 0) }, reason: /expired/ },
    { name: 'a missing session token', exp: { ...exp, sessionToken: 't' }, reason: /x-amz-security-token is not signed/ },
  ])('refuses the same request for $name', ({ exp: e, reason }) => {
    const r = verifySigV4(vanilla, Buffer.alloc(0), e);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(reason);
  });
});

describe('SigV4Signer', () => {
  const now = (): number => Date.now();

  /** Sends GET `path` to `url` with the headers `signer` makes. */
  async function send(signer: SigV4Signer, base: string, path: string): Promise<number> {
    const url = new URL(path, base);
    const headers = await signer.sign({ method: 'GET', url, headers: { accept: 'application/json' } });
    return new Promise((ok, fail) => {
      const req = request(url, { method: 'GET', headers }, (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode ?? 0));
      });
      req.on('error', fail);
      req.end();
    });
  }

  it.each([
    { name: 'long-term keys', creds: KEYS, path: '/verdicts/sha256:0123abcd' },
    { name: 'a session (token signed)', creds: { ...KEYS, sessionToken: 'FQoGZXIvYXdzE//session+token=' }, path: '/verdicts/sha256:0123abcd' },
    { name: 'a path with characters to encode and a query', creds: KEYS, path: '/a b/c%2Fd/verdicts/sha256:ff?z=1&a=x%20y&a=b' },
  ])('signs what an independent verifier accepts: $name', async ({ creds, path }) => {
    const server = await startSigV4Server({ ...creds, region: 'eu-west-1', service: 'lambda', now }, (_req, res) => res.writeHead(200).end('{}'));
    try {
      const signer = new SigV4Signer({ region: 'eu-west-1', credentials: async () => creds });
      expect(await send(signer, server.url, path)).toBe(200);
      expect(server.requests.map((r) => r.check.ok)).toEqual([true]);
    } finally {
      await server.close();
    }
  });

  it.each([
    { name: 'a wrong secret', signer: { region: 'eu-west-1', credentials: async () => ({ ...KEYS, secretAccessKey: 'wrong' }) }, reason: /does not match/ },
    { name: 'the wrong region', signer: { region: 'us-east-1', credentials: async () => KEYS }, reason: /expected eu-west-1\/lambda/ },
    { name: 'the wrong service', signer: { region: 'eu-west-1', service: 'execute-api', credentials: async () => KEYS }, reason: /expected eu-west-1\/lambda/ },
  ])('is refused (403) with $name', async ({ signer, reason }) => {
    const server = await startSigV4Server({ ...KEYS, region: 'eu-west-1', service: 'lambda', now }, (_req, res) => res.writeHead(200).end('{}'));
    try {
      expect(await send(new SigV4Signer(signer), server.url, '/verdicts/sha256:00')).toBe(403);
      const [r] = server.requests;
      expect(r.check.ok ? '' : r.check.reason).toMatch(reason);
    } finally {
      await server.close();
    }
  });

  it('check() and sign() fail with AuthError, naming what to configure, when there are no credentials', async () => {
    const signer = new SigV4Signer({ region: 'eu-west-1', credentials: async () => Promise.reject(new Error('Could not load credentials from any providers')) });
    await expect(signer.check()).rejects.toThrow(AuthError);
    await expect(signer.check()).rejects.toThrow(/no AWS credentials to sign the request with SigV4 \(Could not load credentials from any providers\)/);
    // Nothing is sent: the server would count it.
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await expect(send(signer, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/verdicts/sha256:00')).rejects.toThrow(AuthError);
      expect(hits).toBe(0);
    } finally {
      server.close();
    }
  });
});
