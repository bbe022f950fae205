import { RedirectError, RegistryError } from '../../../lib/engine/errors';
import { DEFAULT_RETRY, backoffDelay, isLoopbackHost, isRetryableNetworkError, isRetryableStatus, nextRedirect, parseRetryAfter } from '../../../lib/engine/registry/http';

describe('nextRedirect (RELIABILITY.md 22)', () => {
  const from = new URL('https://registry.example.com/v2/app/blobs/sha256:abc');
  const cases: { name: string; from?: URL; location: string | null; visited?: string[]; expect: string | typeof RedirectError | typeof RegistryError }[] = [
    { name: 'absolute https to a CDN', location: 'https://cdn.example.net/blob?X-Amz-Signature=s', expect: 'https://cdn.example.net/blob?X-Amz-Signature=s' },
    { name: 'relative path on the same origin', location: '/v2/app/blobs/other', expect: 'https://registry.example.com/v2/app/blobs/other' },
    { name: 'https → http downgrade refused', location: 'http://cdn.example.net/blob', expect: RedirectError },
    { name: 'https → http downgrade on the same host refused', location: 'http://registry.example.com/v2/x', expect: RedirectError },
    { name: 'http → https upgrade allowed', from: new URL('http://127.0.0.1:5000/v2/'), location: 'https://127.0.0.1:5001/x', expect: 'https://127.0.0.1:5001/x' },
    { name: 'file: scheme refused', location: 'file:///etc/passwd', expect: RedirectError },
    { name: 'data: scheme refused', location: 'data:text/plain,hi', expect: RedirectError },
    { name: 'embedded credentials refused', location: 'https://user:pw@cdn.example.net/x', expect: RedirectError },
    { name: 'loop back to a visited URL refused', location: 'https://registry.example.com/v2/app/blobs/sha256:abc', visited: [from.href], expect: RedirectError },
    { name: 'sixth hop refused', location: 'https://h6.example.com/', visited: [from.href, 'https://h1/', 'https://h2/', 'https://h3/', 'https://h4/', 'https://h5/'], expect: RedirectError },
    { name: 'fifth hop allowed', location: 'https://h5.example.com/', visited: [from.href, 'https://h1/', 'https://h2/', 'https://h3/', 'https://h4/'], expect: 'https://h5.example.com/' },
    { name: 'missing Location', location: null, expect: RegistryError },
  ];
  it.each(cases)('$name', ({ from: f, location, visited, expect: want }) => {
    const run = (): URL => nextRedirect(f ?? from, location, visited ?? [(f ?? from).href]);
    if (typeof want === 'string') expect(run().href).toBe(want);
    else expect(run).toThrow(want);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['[::1]', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['127.0.0.1.evil.com', false],
    ['localhost.evil.com', false],
    ['10.0.0.1', false],
  ])('%s → %s', (host, want) => expect(isLoopbackHost(host)).toBe(want));
});

describe('retry policy', () => {
  it.each([
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [500, false],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
  ])('status %d retryable: %s', (status, want) => expect(isRetryableStatus(status)).toBe(want));

  it.each([
    { name: 'delay-seconds', value: '3', want: 3000 },
    { name: 'capped', value: '3600', want: 30_000 },
    { name: 'HTTP-date in the future', value: new Date(1_000_000 + 5000).toUTCString(), want: 5000 },
    { name: 'HTTP-date in the past', value: new Date(0).toUTCString(), want: 0 },
    { name: 'garbage', value: 'soon', want: undefined },
    { name: 'absent', value: null, want: undefined },
  ])('Retry-After $name', ({ value, want }) => expect(parseRetryAfter(value, 30_000, 1_000_000)).toBe(want));

  it('backoff is full jitter under an exponentially growing, capped ceiling', () => {
    const opts = { ...DEFAULT_RETRY, random: () => 0.999999 };
    expect(backoffDelay(0, opts)).toBe(199);
    expect(backoffDelay(3, opts)).toBe(1599);
    expect(backoffDelay(20, opts)).toBe(4999);
    expect(backoffDelay(5, { ...opts, random: () => 0 })).toBe(0);
  });

  it.each([
    { name: 'reset in the cause chain', err: new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }), want: true },
    { name: 'undici socket error', err: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), want: true },
    { name: 'refused connection', err: new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), want: false },
    { name: 'plain error', err: new Error('boom'), want: false },
  ])('network error: $name', ({ err, want }) => expect(isRetryableNetworkError(err)).toBe(want));
});
