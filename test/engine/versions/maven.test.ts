import { mavenCanonical, mavenScheme } from '../../../lib/engine/versions/maven';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, runVectors, type Allowed, type Vector } from './vectors';

/*
 * We port Maven 4's ComparableVersion and agree with Maven 4's own test (apache-maven-ComparableVersionTest.json)
 * on every case. osv-scalibr's Maven files were produced by an older maven-artifact; where they differ
 * we checked Maven's own class (maven-artifact 3.9.6, `java -cp maven-artifact-3.9.6.jar
 * org.apache.maven.artifact.versioning.ComparableVersion a b`).
 */
const SCALIBR_ALLOWED: readonly Allowed[] = [
  {
    reason:
      'Maven 3.9.6 ComparableVersion (run) and Maven 4 both give our answer: `.X1` is read as `-X1` (MNG-7644) and `1-ga-1` as `1-1`; the fixture came from an older maven-artifact',
    pairs: [
      ['1-1', '1-ga-1'],
      ['1.0.0-RC16', '1.0.0.RC8-beta'],
      ['1.0.0-gradle-rework-beta3', '1.0.0.RC7-3'],
      ['2.9.0-1', '2.9.0.RC1'],
      ['6.1.12.rc5', '6.1.12rc1'],
      ['1.1.31.sec10', '1.1.31_noneautotype'],
      ['1.1.34.sec10', '1.1.34_noneautotype'],
      ['1.1.46.sec10', '1.1.46_noneautotype'],
      ['1.2.8.sec10_noneautotype', '1.2.8_noneautotype'],
      ['1.2.31.sec10', '1.2.31_noneautotype'],
      ['1.2.48.sec10', '1.2.48_noneautotype'],
      ['1.2.50.sec10', '1.2.50_noneautotype'],
      ['1.2.54.sec10', '1.2.54_noneautotype'],
      ['1.2.57.sec10', '1.2.57_noneautotype'],
      ['1.2.60.sec10', '1.2.60_noneautotype'],
      ['1.2.67.sec10', '1.2.67_noneautotype'],
      ['1.0.0rc0', '1.0.beta8'],
      ['1.5.9.RC1', '1.5.9-RC0'],
      ['1.1.0-01-glassfish', '1.1.0.Beta1'],
    ],
  },
  {
    reason:
      'Maven 4 reads a qualifier and the number after it as one item (CombinationItem: `beta11`, `rc-2`, `bar-1` = `bar1`), so `X11 > X.6`; Maven 3.9.6 (run) gives the fixture\'s answer. We follow Maven 4, whose ComparableVersionTest we pass in full',
    pairs: [
      ['1-1.foo-bar-1-baz-0.1', '1-1.foo-bar1baz-.1'],
      ['3.2.0rc2', '3.2.0-rc.1'],
      ['1.0.0-beta11', '1.0.0-beta.6'],
      ['3.5.0-CR-2', '3.5.0.Beta-1'],
      ['v3.7.0rc2', 'v3.7.0-rc.3'],
    ],
  },
];

describe('maven scheme: corpus comparison vectors', () => {
  it('maven/apache-maven-ComparableVersionTest.json (Maven 4)', () => {
    const r = runVectors(readCorpus<Vector[]>('maven', 'apache-maven-ComparableVersionTest.json'), mavenScheme.compare);
    expect(describeReport('apache-maven-ComparableVersionTest.json', r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });

  it('maven/apache-maven-ComparableVersionTest-canonical.json', () => {
    const cases = readCorpus<{ version: string; canonical: string }[]>('maven', 'apache-maven-ComparableVersionTest-canonical.json');
    expect(cases.filter((c) => mavenCanonical(c.version) !== c.canonical)).toEqual([]);
  });

  it.each(['osv-scalibr-maven-versions.json', 'osv-scalibr-maven-versions-generated.json'])('maven/%s', (file) => {
    const r = runVectors(readCorpus<Vector[]>('maven', file), mavenScheme.compare, SCALIBR_ALLOWED);
    expect(describeReport(file, r)).toBe('');
  });

  it('every allow-listed pair occurs in the osv-scalibr files', () => {
    const unusedIn = ['osv-scalibr-maven-versions.json', 'osv-scalibr-maven-versions-generated.json'].map(
      (f) => new Set(runVectors(readCorpus<Vector[]>('maven', f), mavenScheme.compare, SCALIBR_ALLOWED).unusedAllowances),
    );
    expect([...unusedIn[0]].filter((x) => unusedIn[1].has(x))).toEqual([]);
  });
});

describe('maven scheme: rules', () => {
  it.each([
    ['qualifier order', '1.0-alpha-1', '1.0-beta-1', -1],
    ['snapshot below release', '1.0-SNAPSHOT', '1.0', -1],
    ['ga, final and release are the release', '1.0.Final', '1.0', 0],
    ['sp above release', '1.0-sp1', '1.0', 1],
    ['unknown qualifiers above sp, lexically', '1.0-xyz', '1.0-sp', 1],
    ['case-insensitive', '1.0-RC1', '1.0-rc1', 0],
    ['cr is rc', '1.0-cr1', '1.0-rc1', 0],
    ['trailing zeros do not count', '1.0.0', '1', 0],
    ['numbers of any size', '1.123456789012345678901', '1.123456789012345678900', 1],
    ['a number above a qualifier', '1.0.1', '1.0-sp1', 1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(mavenScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'x'.repeat(257)])('throws InvalidVersionError for what Maven refuses (%#)', (v) => {
    expect(mavenScheme.isValid(v)).toBe(false);
    expect(() => mavenScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
