import { packagistScheme } from '../../../lib/engine/versions/packagist';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, runVectors, type Vector } from './vectors';

describe('packagist scheme: corpus comparison vectors', () => {
  it.each(['osv-scalibr-packagist-versions.json', 'osv-scalibr-packagist-versions-generated.json'])('packagist/%s', (file) => {
    const r = runVectors(readCorpus<Vector[]>('packagist', file), packagistScheme.compare);
    expect(describeReport(file, r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });
});

describe('packagist scheme: rules', () => {
  it.each([
    ['dev < alpha < beta < RC < release < patch', '1.0-dev', '1.0alpha1', -1],
    ['RC below release', '1.0RC1', '1.0', -1],
    ['pl above release', '1.0pl1', '1.0', 1],
    ['leading v ignored', 'v1.2.3', '1.2.3', 0],
    ['separators', '1.25.0-beta2.1', '1.25.0-b.2.1', 0],
    ['numbers of any size', '1.99999999999999999999', '1.99999999999999999998', 1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(packagistScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', '1.0 beta', '1.0\n'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(packagistScheme.isValid(v)).toBe(false);
    expect(() => packagistScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
