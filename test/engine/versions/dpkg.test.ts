import { dpkgScheme, parseDpkgVersion, verrevcmp } from '../../../lib/engine/versions/dpkg';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, runVectors, type Vector } from './vectors';

// Every Debian vector agrees with dpkg: no allow-list.
describe('dpkg scheme: corpus comparison vectors', () => {
  it.each(['dpkg-Dpkg_Version.t-DATA.json', 'osv-scalibr-debian-versions.json', 'osv-scalibr-debian-versions-generated.json'])('debian/%s', (file) => {
    const r = runVectors(readCorpus<Vector[]>('debian', file), dpkgScheme.compare);
    expect(describeReport(file, r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });
});

interface ParseFile {
  'Dpkg_Version.t_invalid': { version: string; reason: string }[];
  't-version.c_parse_ok': { input: string; epoch: number; upstream: string; revision: string }[];
  't-version.c_parse_error': string[];
  't-version.c_parse_fails_with_warning': string[];
}

describe('dpkg scheme: parsing (debian/dpkg-version-parse.json)', () => {
  const parse = readCorpus<ParseFile>('debian', 'dpkg-version-parse.json');

  it('splits every t-version.c parse_ok input as dpkg does', () => {
    const wrong = parse['t-version.c_parse_ok']
      .filter((c) => JSON.stringify(parseDpkgVersion(c.input)) !== JSON.stringify({ epoch: c.epoch, upstream: c.upstream, revision: c.revision }))
      .map((c) => `${JSON.stringify(c.input)} → ${JSON.stringify(parseDpkgVersion(c.input))}`);
    expect(wrong).toEqual([]);
  });

  it.each([
    ['t-version.c parse errors', parse['t-version.c_parse_error']],
    ['t-version.c warnings (Dpkg::Version is_valid refuses them)', parse['t-version.c_parse_fails_with_warning']],
    ['Dpkg_Version.t invalid versions', parse['Dpkg_Version.t_invalid'].map((c) => c.version)],
  ])('refuses every one of the %s', (_name, versions) => {
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.filter((v) => dpkgScheme.isValid(v))).toEqual([]);
    for (const v of versions) expect(() => dpkgScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});

describe('dpkg scheme: rules', () => {
  it.each([
    ['tilde sorts before the end', '1.0~rc1', '1.0', -1],
    ['double tilde before single', '1.0~~', '1.0~', -1],
    ['letters sort before other characters', '1.0a', '1.0+', -1],
    ['epoch wins over everything', '1:0.1', '9.9', 1],
    ['missing revision equals 0', '1.0', '1.0-0', 0],
    ['digit runs by value, any length', '1.123456789012345678901234567890', '1.123456789012345678901234567889', 1],
    ['leading zeros do not count', '1.001', '1.1', 0],
    ['revision compared after upstream', '1.0-2', '1.0-10', -1],
    ['surrounding whitespace is ignored', ' 1.0-1\t', '1.0-1', 0],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(dpkgScheme.compare, a, b)).toEqual(expected(want));
  });

  it('verrevcmp compares one part', () => {
    expect(verrevcmp('1.2~', '1.2')).toBe(-1);
    expect(verrevcmp('', '0')).toBe(0);
  });

  it.each(['', 'abc', '1.0 beta', ':1.0', '1.0-', 'a:1.0', '1.0-r@1'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(dpkgScheme.isValid(v)).toBe(false);
    expect(() => dpkgScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
