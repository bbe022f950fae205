import { goScheme, goSemverCanonical, goSemverCompare, goSemverValid } from '../../../lib/engine/versions/go';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, runVectors, type Allowed, type Vector } from './vectors';

/**
 * golang-mod-semver-compare.json follows x/mod/semver.Compare, whose invalid versions compare equal to
 * each other and below every valid one: it runs through goSemverCompare, the exact port. goScheme
 * refuses invalid versions instead and must agree on every valid pair.
 */
const COMPARE_ALLOWED: readonly Allowed[] = [
  {
    reason:
      'SemVer §11 and the go command order MINOR numerically (v1.19.0 > v1.2.0: `go list -m -versions` and x/mod/semver as released, whose compareInt compares lengths first). The transcribed golang/mod@8b446299 semver_test.go asserts Compare("v1.19", "v1.2") == -1 and its semver.go compares the digit strings lexically; we keep numeric order',
    pairs: [['v1.19', 'v1.2']],
  },
];

describe('go scheme: corpus vectors', () => {
  const vectors = readCorpus<Vector[]>('go', 'golang-mod-semver-compare.json');

  it('go/golang-mod-semver-compare.json (x/mod/semver.Compare, invalid versions included)', () => {
    const r = runVectors(vectors, goSemverCompare, COMPARE_ALLOWED);
    expect(describeReport('golang-mod-semver-compare.json', r)).toBe('');
    expect(r.unusedAllowances).toEqual([]);
  });

  it('goScheme agrees on every pair of valid versions and refuses the invalid ones', () => {
    const valid = vectors.filter((v) => goSemverValid(v.a) && goSemverValid(v.b));
    expect(valid.length).toBeGreaterThan(500);
    expect(runVectors(valid, goScheme.compare, COMPARE_ALLOWED).disagreements).toEqual([]);
    for (const v of vectors.flatMap((x) => [x.a, x.b]).filter((x) => !goSemverValid(x))) expect(() => goScheme.compare(v, 'v1.0.0')).toThrow(InvalidVersionError);
  });

  it('go/golang-mod-semver-canonical.json (IsValid and Canonical)', () => {
    const cases = readCorpus<{ version: string; valid: boolean; canonical: string }[]>('go', 'golang-mod-semver-canonical.json');
    const wrong = cases.filter((c) => goSemverValid(c.version) !== c.valid || goSemverCanonical(c.version) !== c.canonical);
    expect(cases.length).toBe(32);
    expect(wrong).toEqual([]);
  });
});

describe('go scheme: rules', () => {
  it.each([
    ['OSV writes Go versions without the v', '1.2.3', 'v1.2.3', 0],
    ['shorthands', 'v1.2', 'v1.2.0', 0],
    ['minor numerically', 'v1.19.0', 'v1.2.0', 1],
    ['+incompatible is build metadata', 'v2.0.0+incompatible', 'v2.0.0', 0],
    ['pseudo-versions order by timestamp', 'v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-0123456789ab', -1],
    ['a pseudo-version sorts below its release', 'v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4', -1],
    ['and above the release it builds on', 'v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3', 1],
    ['stdlib pre-releases', '1.21.0-rc.2', '1.21.0', -1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(goScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'latest', 'v1.2-pre', 'v01.2.3', '1.2.3.4', 'vv1.0.0', 'v1.0.0-'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(goScheme.isValid(v)).toBe(false);
    expect(() => goScheme.compare(v, 'v1.0.0')).toThrow(InvalidVersionError);
  });
});
