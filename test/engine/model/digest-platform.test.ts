import { InvalidReferenceError } from '../../../lib/engine/errors';
import { formatPlatform, isDigest, parseDigest, parsePlatform, platformMatches, sha256Digest, shortDigest } from '../../../lib/engine/model';

describe('digests', () => {
  it.each([
    ['sha256', `sha256:${'0'.repeat(64)}`, true],
    ['sha512', `sha512:${'f'.repeat(128)}`, true],
    ['uppercase hex is not canonical', `sha256:${'A'.repeat(64)}`, false],
    ['too short', `sha256:${'0'.repeat(10)}`, false],
    ['path smuggling', 'sha256:../../blobs', false],
    ['not a string', 42, false],
  ])('%s', (_n, value, ok) => {
    expect(isDigest(value)).toBe(ok);
    if (!ok) expect(() => parseDigest(value)).toThrow(InvalidReferenceError);
  });

  it('hashes like sha256sum and shortens like docker', () => {
    // sha256 of the empty string (FIPS 180-4 test vector).
    const d = sha256Digest('');
    expect(d).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(shortDigest(d)).toBe('e3b0c44298fc');
  });
});

describe('platforms', () => {
  it.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
  ])('parses %s', (s, p) => {
    expect(parsePlatform(s)).toEqual(p);
    expect(formatPlatform(parsePlatform(s))).toBe(s);
  });

  it.each(['linux', 'linux/amd64/v1/x', 'Linux/AMD64', 'linux//amd64'])('rejects %s', (s) => {
    expect(() => parsePlatform(s)).toThrow(InvalidReferenceError);
  });

  it.each([
    ['arm64 implies v8', 'linux/arm64', 'linux/arm64/v8', true],
    ['arm implies v7', 'linux/arm', 'linux/arm/v7', true],
    ['arm v6 is not v7', 'linux/arm/v6', 'linux/arm', false],
    ['different arch', 'linux/amd64', 'linux/arm64', false],
    ['different os', 'windows/amd64', 'linux/amd64', false],
  ])('%s', (_n, a, b, ok) => {
    expect(platformMatches(parsePlatform(a), parsePlatform(b))).toBe(ok);
  });
});
