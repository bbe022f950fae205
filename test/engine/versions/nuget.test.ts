import { nugetScheme } from '../../../lib/engine/versions/nuget';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, refusedByScheme, runVectors, type Allowed, type Vector } from './vectors';

const SCALIBR_ALLOWED: readonly Allowed[] = [
  {
    reason: 'not a NuGet version: NuGetVersion.TryParse fails because a part exceeds Int32.MaxValue (System.Version parts are 32-bit)',
    versions: [
      '999999999999999999999999999991',
      '999999999999999999999999999999',
      '999999999999999999999999999991.999999999999999999999999999991.999999999999999999999999999991',
      '999999999999999999999999999999.999999999999999999999999999991.999999999999999999999999999991',
    ],
  },
];

describe('nuget scheme: corpus comparison vectors', () => {
  it('nuget/osv-scalibr-nuget-versions.json', () => {
    const r = runVectors(readCorpus<Vector[]>('nuget', 'osv-scalibr-nuget-versions.json'), nugetScheme.compare, SCALIBR_ALLOWED);
    expect(describeReport('osv-scalibr-nuget-versions.json', r)).toBe('');
    expect(r.unusedAllowances).toEqual([]);
    expect(refusedByScheme(nugetScheme, SCALIBR_ALLOWED)).toEqual([]);
  });
});

describe('nuget scheme: rules', () => {
  it.each([
    ['four parts, missing ones are 0', '1.0', '1.0.0.0', 0],
    ['the fourth part counts', '1.0.0.1', '1.0.0', 1],
    ['labels case-insensitive', '1.0.0-BETA', '1.0.0-beta', 0],
    ['numeric labels by value', '1.0.0-beta.10', '1.0.0-beta.9', 1],
    ['numeric labels below alphanumeric', '1.0.0-1', '1.0.0-a', -1],
    ['pre-release below release', '1.0.0-rc.1', '1.0.0', -1],
    ['metadata ignored', '1.0.0+a', '1.0.0+b', 0],
    ['leading zeros allowed', '1.0.01', '1.0.1', 0],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(nugetScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'latest', 'v1.0.0', '1.0.0.0.0', '1.0.0-', '1.0.0-a..b', '2147483648.0.0'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(nugetScheme.isValid(v)).toBe(false);
    expect(() => nugetScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
