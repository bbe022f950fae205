import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { osvSemverScheme, semverScheme } from '../../../lib/engine/versions/semver';
import { bothWays, describeReport, expected, readCorpus, refusedByScheme, runVectors, type Allowed, type Vector } from './vectors';

describe('semver scheme (npm, crates.io): node-semver fixtures', () => {
  it.each(['comparisons.json', 'equality.json'])('npm-semver/%s', (file) => {
    const r = runVectors(readCorpus<Vector[]>('npm-semver', file), semverScheme.compare);
    expect(describeReport(file, r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });

  it('npm-semver/invalid-versions.json: every one is refused', () => {
    const cases = readCorpus<{ version: string; reason: string }[]>('npm-semver', 'invalid-versions.json');
    expect(cases.length).toBe(7);
    expect(cases.filter((c) => semverScheme.isValid(c.version)).map((c) => `${c.version} (${c.reason})`)).toEqual([]);
    for (const c of cases) expect(() => semverScheme.compare(c.version, '1.0.0')).toThrow(InvalidVersionError);
  });

  it('npm-semver/valid-versions.json: every one is valid and equals its own parts', () => {
    const cases = readCorpus<{ version: string; major: number; minor: number; patch: number; prerelease: (string | number)[] }[]>('npm-semver', 'valid-versions.json');
    const wrong = cases.filter((c) => {
      const plain = `${c.major}.${c.minor}.${c.patch}${c.prerelease.length > 0 ? `-${c.prerelease.join('.')}` : ''}`;
      return !semverScheme.isValid(c.version) || semverScheme.compare(c.version, plain) !== 0;
    });
    expect(wrong).toEqual([]);
  });
});

/** Versions osv-scalibr's lenient SemVer parser orders that are not SemVer 2.0.0. */
const SCALIBR_ALLOWED: readonly Allowed[] = [
  {
    reason: 'not SemVer 2.0.0 (§2: a normal version is exactly X.Y.Z): the semver.org grammar and node-semver (`semver.valid` returns null) reject it; osv-scalibr pads or truncates it instead',
    versions: ['999999999999999999999999999991', '999999999999999999999999999999', '1.1.3.4.5'],
  },
];

describe('osv-semver scheme (OSV SEMVER ranges)', () => {
  it('semver/osv-scalibr-semver-versions.json', () => {
    const r = runVectors(readCorpus<Vector[]>('semver', 'osv-scalibr-semver-versions.json'), osvSemverScheme.compare, SCALIBR_ALLOWED);
    expect(describeReport('osv-scalibr-semver-versions.json', r)).toBe('');
    expect(r.unusedAllowances).toEqual([]);
    expect(refusedByScheme(osvSemverScheme, SCALIBR_ALLOWED)).toEqual([]);
  });

  it.each([
    ['a leading v is tolerated', 'v1.2.3', '1.2.3', 0],
    ['pre-release below release', '1.0.0-rc.1', '1.0.0', -1],
    ['numeric identifiers by value', '1.0.0-beta.11', '1.0.0-beta.2', 1],
    ['numeric below alphanumeric', '1.0.0-1', '1.0.0-a', -1],
    ['more identifiers above fewer', '1.0.0-alpha.1', '1.0.0-alpha', 1],
    ['build metadata ignored', '1.0.0+a', '1.0.0+b', 0],
    ['numbers of any size', '1.0.99999999999999999999', '1.0.99999999999999999998', 1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(osvSemverScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', '1.2', '01.2.3', '1.2.3-', '1.2.3-01', 'vv1.2.3', ' 1.2.3', '1.2.3+'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(osvSemverScheme.isValid(v)).toBe(false);
    expect(() => osvSemverScheme.compare(v, '1.0.0')).toThrow(InvalidVersionError);
  });
});

describe('semver scheme: rules', () => {
  it.each([
    ['npm reads v and = loosely', '=v1.2.3', '1.2.3', 0],
    ['pre-release below release', '1.2.3-beta.1', '1.2.3', -1],
    ['pre-release identifiers in ASCII order', '1.2.3-Beta', '1.2.3-beta', -1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(semverScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'latest', '1.2', '1.2.3.4', '90071992547409910.0.0'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(semverScheme.isValid(v)).toBe(false);
    expect(() => semverScheme.compare(v, '1.0.0')).toThrow(InvalidVersionError);
  });
});
