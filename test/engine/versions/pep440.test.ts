import { normalizePep440, parsePep440, pep440Scheme } from '../../../lib/engine/versions/pep440';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, refusedByScheme, runVectors, type Allowed, type Vector } from './vectors';

/**
 * Versions osv-scalibr's PyPI files order that are not PEP 440. They were ordered with packaging's
 * LegacyVersion, which packaging 22 removed: pip (packaging ≥ 22; checked with packaging 26.2)
 * raises InvalidVersion for each, so we refuse them.
 */
const SCALIBR_ALLOWED: readonly Allowed[] = [
  {
    reason: 'not a PEP 440 version: packaging.version.Version() (pip\'s parser, packaging 26.2) raises InvalidVersion; the fixture ordered it with the LegacyVersion that packaging 22 removed',
    versions: [
      '0.1-bulbasaur', '0.1-charmander', '0.9-doduo', '0.9-eevee', '0.9-fearow', '0.9-gyarados', '0.9-horsea', '0.9-ivysaur',
      '-class.-jw.util.version.version-pre', '-class.-jw.util.version.version-preview', '-class.-jw.util.version.version-dev',
      '-class.-jw.util.version.Version-', '2.0.1rc2-git', '0.7.1.fix1', '0.7.4.svn.r2010', '2013-01-21T20:33:09+0100',
      '2013-01-23T17:11:52+0100', '2013-02-01T20:50:46+0100', '2013-02-02T19:59:03+0100', '2013-02-02T20:23:17+0100',
      '2013-02-08T17:40:57+0000', '2013-03-27T16:32:26+0100', '2013-05-09T12:47:53+0200', '2013-05-10T17:55:56+0200',
      '2013-05-14T20:16:05+0200', '2013-06-01T10:32:51+0200', '2013-07-19T09:11:08+0000', '2013-08-12T21:48:56+0200',
      '2013-09-11T19-27-10', '2013-12-23T17-51-15', '2014-01-12T15-52-10', '0.0.1-test1', '0.7.10p1', '0.7.11p1', '0.7.11p2',
      '0.7.11p3', '0.8.1p1', '0.8.3p1', '0.8.4p1', '0.8.4p2', '0.8.6p1', '0.8.7p1', 'trunk', '0.3m1', '0.3m2', '0.3m3',
      '0.3m4', '0.3m5', '0.4m1', '0.4m2', '0.4m3', '0.4m4', '0.4m5', '0.5m1', '0.5m2', '0.5m3', '0.5m4', '0.5m5', '0.6m1',
      '0.6m2', '0.6m3', '0.6m4', '0.6m5', '0.6m6', '1.3.1-STAGING', '4.11-final', '5.0-final', 'a3', '2.0.0-final',
      '1.0beta6.1', '0.3.1-p1', '0.4.0-p1',
    ],
  },
];

describe('pep440 scheme: corpus comparison vectors', () => {
  it('pypi/pypa-packaging-compare.json', () => {
    const r = runVectors(readCorpus<Vector[]>('pypi', 'pypa-packaging-compare.json'), pep440Scheme.compare);
    expect(describeReport('pypa-packaging-compare.json', r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });

  it('pypi/pypa-packaging-VERSIONS-ordered.json is strictly increasing', () => {
    const versions = readCorpus<string[]>('pypi', 'pypa-packaging-VERSIONS-ordered.json');
    const wrong = versions.slice(1).flatMap((v, i) => (pep440Scheme.compare(versions[i], v) < 0 ? [] : [`${versions[i]} !< ${v}`]));
    expect(wrong).toEqual([]);
  });

  it.each(['osv-scalibr-pypi-versions.json', 'osv-scalibr-pypi-versions-generated.json'])('pypi/%s', (file) => {
    const r = runVectors(readCorpus<Vector[]>('pypi', file), pep440Scheme.compare, SCALIBR_ALLOWED);
    expect(describeReport(file, r)).toBe('');
  });

  it('the osv-scalibr allow-list is used and every listed version is refused', () => {
    const unusedIn = ['osv-scalibr-pypi-versions.json', 'osv-scalibr-pypi-versions-generated.json'].map(
      (f) => new Set(runVectors(readCorpus<Vector[]>('pypi', f), pep440Scheme.compare, SCALIBR_ALLOWED).unusedAllowances),
    );
    expect([...unusedIn[0]].filter((x) => unusedIn[1].has(x))).toEqual([]);
    expect(refusedByScheme(pep440Scheme, SCALIBR_ALLOWED)).toEqual([]);
  });
});

type Props = Record<string, { params: string[]; cases: Record<string, unknown>[] }>;

describe('pep440 scheme: pypa/packaging property tables (pypi/pypa-packaging-version-properties.json)', () => {
  const props = readCorpus<Props>('pypi', 'pypa-packaging-version-properties.json');
  const num = (s: string | undefined): number | null => (s === undefined ? null : Number(s));
  /** What each packaging test asserts, computed from our parse. */
  const derive: Record<string, (v: string) => unknown> = {
    test_normalized_versions: (v) => normalizePep440(v),
    test_version_str_repr: (v) => normalizePep440(v),
    test_version_public: (v) => normalizePep440(v)?.split('+')[0],
    test_version_base_version: (v) => {
      const p = parsePep440(v);
      return p && `${p.epoch !== '0' ? `${p.epoch}!` : ''}${p.release.join('.')}`;
    },
    test_version_epoch: (v) => num(parsePep440(v)?.epoch),
    test_version_release: (v) => parsePep440(v)?.release.map(Number),
    test_version_local: (v) => parsePep440(v)?.local?.join('.') ?? null,
    test_version_pre: (v) => {
      const pre = parsePep440(v)?.pre;
      return pre ? [pre[0], Number(pre[1])] : null;
    },
    test_version_dev: (v) => num(parsePep440(v)?.dev),
    test_version_post: (v) => num(parsePep440(v)?.post),
    test_version_is_prerelease: (v) => {
      const p = parsePep440(v);
      return p !== undefined && (p.pre !== undefined || p.dev !== undefined);
    },
    test_version_is_devrelease: (v) => parsePep440(v)?.dev !== undefined,
    test_version_is_postrelease: (v) => parsePep440(v)?.post !== undefined,
  };

  it('refuses every test_invalid_versions case', () => {
    const cases = props.test_invalid_versions.cases.map((c) => c.version as string);
    expect(cases.filter((v) => pep440Scheme.isValid(v))).toEqual([]);
    for (const v of cases) expect(() => pep440Scheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });

  it.each(Object.keys(derive))('%s', (test) => {
    const table = props[test];
    const [, want] = table.params;
    const wrong = table.cases.filter((c) => JSON.stringify(derive[test](c.version as string)) !== JSON.stringify(c[want])).map((c) => `${JSON.stringify(c)} → ${JSON.stringify(derive[test](c.version as string))}`);
    expect(table.cases.length).toBeGreaterThan(0);
    expect(wrong).toEqual([]);
  });

  it('covers every table in the file', () => {
    expect(Object.keys(props).sort()).toEqual([...Object.keys(derive), 'test_invalid_versions'].sort());
  });
});

describe('pep440 scheme: rules', () => {
  it.each([
    ['dev < pre < release < post', '1.0.dev1', '1.0a1', -1],
    ['rc below release', '1.0rc1', '1.0', -1],
    ['post above release', '1.0.post1', '1.0', 1],
    ['implicit post release', '1.0-1', '1.0.post1', 0],
    ['spellings normalised', '1.0-RC1', '1.0rc1', 0],
    ['trailing zeros do not count', '1.0.0', '1', 0],
    ['epoch first', '1!0.1', '2.0', 1],
    ['local version above its public version', '1.0+ubuntu1', '1.0', 1],
    ['numbers of any size', '1.0.99999999999999999999', '1.0.99999999999999999998', 1],
    ['surrounding whitespace allowed', ' 1.0 ', '1.0', 0],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(pep440Scheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'latest', '1.0-bulbasaur', '1..0', '1.0+'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(pep440Scheme.isValid(v)).toBe(false);
    expect(() => pep440Scheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
