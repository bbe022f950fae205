import { rubygemsScheme } from '../../../lib/engine/versions/rubygems';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, refusedByScheme, runVectors, type Allowed, type Vector } from './vectors';

const SCALIBR_ALLOWED: readonly Allowed[] = [
  {
    reason:
      'not a gem version: Gem::Version.correct? is false (ANCHORED_VERSION_PATTERN needs a `.` before a letter after the first number), so Gem::Version.new raises "Malformed version number string"',
    versions: ['1beta', '1gamma'],
  },
];

describe('rubygems scheme: corpus comparison vectors', () => {
  it('rubygems/osv-scalibr-rubygems-versions.json', () => {
    const r = runVectors(readCorpus<Vector[]>('rubygems', 'osv-scalibr-rubygems-versions.json'), rubygemsScheme.compare, SCALIBR_ALLOWED);
    expect(describeReport('osv-scalibr-rubygems-versions.json', r)).toBe('');
    expect(r.unusedAllowances).toEqual([]);
    expect(refusedByScheme(rubygemsScheme, SCALIBR_ALLOWED)).toEqual([]);
  });

  it('rubygems/osv-scalibr-rubygems-versions-generated.json', () => {
    const r = runVectors(readCorpus<Vector[]>('rubygems', 'osv-scalibr-rubygems-versions-generated.json'), rubygemsScheme.compare);
    expect(describeReport('osv-scalibr-rubygems-versions-generated.json', r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });
});

describe('rubygems scheme: rules', () => {
  it.each([
    ['a letter segment is a pre-release', '1.0.b1', '1.0', -1],
    ['pre-releases by segment', '1.0.a.2', '1.0.b1', -1],
    ['- means .pre.', '1.0-1', '1.0.pre.1', 0],
    ['trailing zeros do not count', '1.0.0', '1', 0],
    ['letters are case-sensitive', '1.0.B', '1.0.a', -1],
    ['numbers of any size', '1.99999999999999999999', '1.99999999999999999998', 1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(rubygemsScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'junk', '1..2', '1.2 3.4', '1.0\n2.0', '1a'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(rubygemsScheme.isValid(v)).toBe(false);
    expect(() => rubygemsScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
