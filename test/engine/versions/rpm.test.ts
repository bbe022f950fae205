import { compareEvr, parseEvr, rpmScheme, rpmvercmp } from '../../../lib/engine/versions/rpm';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, refusedByScheme, runVectors, type Allowed, type Vector } from './vectors';

/** The EVR file compares full `[epoch:]version[-release]` strings; one of its operands is empty. */
const EVR_ALLOWED: readonly Allowed[] = [
  {
    reason: 'an empty version: rpm has no package without a Version (rpmbuild: "Version field must be present"), so we refuse it rather than order it',
    versions: [''],
  },
];

describe('rpm scheme: corpus comparison vectors', () => {
  // These files compare one version or release string with rpmvercmp (rpm's own test-suite semantics).
  it.each(['rpm-tests-rpmvercmp.at.json', 'rpm-tests-rpmvercmp.at-commented-oddities.json', 'go-rpm-version-version_testcase.go-rpmvercmp.json'])('rpm/%s (rpmvercmp)', (file) => {
    const r = runVectors(readCorpus<Vector[]>('rpm', file), rpmvercmp);
    expect(describeReport(file, r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });

  it('rpm/go-rpm-version-TestParseAndCompare-evr.json (full EVRs)', () => {
    const r = runVectors(readCorpus<Vector[]>('rpm', 'go-rpm-version-TestParseAndCompare-evr.json'), rpmScheme.compare, EVR_ALLOWED);
    expect(describeReport('go-rpm-version-TestParseAndCompare-evr.json', r)).toBe('');
    expect(r.unusedAllowances).toEqual([]);
    expect(refusedByScheme(rpmScheme, EVR_ALLOWED)).toEqual([]);
  });

  it('rpm/osv-scalibr-redhat-versions.json (full EVRs)', () => {
    const r = runVectors(readCorpus<Vector[]>('rpm', 'osv-scalibr-redhat-versions.json'), rpmScheme.compare);
    expect(describeReport('osv-scalibr-redhat-versions.json', r)).toBe('');
    expect(r.agreed).toBe(r.total);
  });
});

describe('rpm scheme: rules', () => {
  it.each([
    ['tilde sorts before the end', '1.0~rc1', '1.0', -1],
    ['caret sorts after the end', '1.0^git1', '1.0', 1],
    ['caret sorts before more version', '1.0^git1', '1.0.1', -1],
    ['digits beat letters', '1.0.1', '1.0.a', 1],
    ['separators do not count', '1_0', '1.0', 0],
    ['epoch first', '1:1.0-1', '2.0-1', 1],
    ['missing epoch is 0', '0:1.0-1', '1.0-1', 0],
    ['release after version', '1.0-10.el9', '1.0-9.el9', 1],
    ['a missing release sorts below any release', '1.0', '1.0-0', -1],
    ['digit runs of any length', '1.99999999999999999999', '1.99999999999999999998', 1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(rpmScheme.compare, a, b)).toEqual(expected(want));
  });

  it('splits EVRs as rpm parseEVR does', () => {
    expect(parseEvr('2:1.2.3-4.el9')).toEqual({ epoch: '2', version: '1.2.3', release: '4.el9' });
    expect(parseEvr('1.2.3')).toEqual({ epoch: undefined, version: '1.2.3', release: undefined });
    expect(parseEvr('1.m+e2:1')).toEqual({ epoch: undefined, version: '1.m+e2:1', release: undefined });
    expect(compareEvr(':1.0', '0:1.0')).toBe(0);
  });

  it.each(['', '1.0 1', '1.0\n', '-1', '2:'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(rpmScheme.isValid(v)).toBe(false);
    expect(() => rpmScheme.compare(v, '1.0')).toThrow(InvalidVersionError);
  });
});
