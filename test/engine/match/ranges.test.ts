import type { OsvAffected, OsvEvent } from '../../../lib/engine/advisories/osv';
import { GO_DEVEL, inRange, isAffected } from '../../../lib/engine/match/ranges';
import { parseOsvRecord } from '../../../lib/engine/advisories/record';
import { goScheme } from '../../../lib/engine/versions/go';
import { osvSemverScheme } from '../../../lib/engine/versions/semver';
import { corpusBytes } from '../../helpers/corpus';
import { InvalidVersionError, type VersionScheme } from '../../../lib/engine/versions/scheme';

/**
 * Dotted integers ("1.10" > "1.9"): enough to pin the OSV evaluation algorithm itself, which is the
 * same for every ecosystem; the ecosystems' own orderings are tested against their vectors in
 * test/engine/versions.
 */
const dotted: VersionScheme = {
  name: 'dotted', version: '1', ecosystems: ['Test'],
  isValid: (v) => /^\d+(\.\d+)*$/.test(v),
  compare(a, b) {
    if (!this.isValid(a)) throw new InvalidVersionError('dotted', a);
    if (!this.isValid(b)) throw new InvalidVersionError('dotted', b);
    const x = a.split('.').map(Number);
    const y = b.split('.').map(Number);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  },
};

const range = (...events: OsvEvent[]) => ({ type: 'ECOSYSTEM' as const, events });
const affected = (over: Partial<OsvAffected>): OsvAffected => ({ ecosystem: 'Test', name: 'p', ranges: [], versions: [], severity: [], ...over });

describe('OSV range evaluation (https://ossf.github.io/osv-schema/#evaluation)', () => {
  it.each([
    ['introduced 0 opens from the start', range({ introduced: '0' }, { fixed: '2.0' }), '0.1', '>=0, <2.0'],
    ['the fixed version is not affected', range({ introduced: '0' }, { fixed: '2.0' }), '2.0', undefined],
    ['above the fix', range({ introduced: '0' }, { fixed: '2.0' }), '2.1', undefined],
    ['below introduced', range({ introduced: '1.5' }, { fixed: '2.0' }), '1.4', undefined],
    ['introduced itself is affected', range({ introduced: '1.5' }, { fixed: '2.0' }), '1.5', '>=1.5, <2.0'],
    ['no fix: open-ended', range({ introduced: '1.0' }), '99', '>=1.0'],
    ['last_affected is affected', range({ introduced: '0' }, { last_affected: '1.4' }), '1.4', '>=0, <=1.4'],
    ['above last_affected', range({ introduced: '0' }, { last_affected: '1.4' }), '1.4.1', undefined],
    ['second interval of two', range({ introduced: '0' }, { fixed: '1.0' }, { introduced: '2.0' }, { fixed: '2.5' }), '2.1', '>=2.0, <2.5'],
    ['between two intervals', range({ introduced: '0' }, { fixed: '1.0' }, { introduced: '2.0' }, { fixed: '2.5' }), '1.5', undefined],
    ['events in any order are sorted first', range({ fixed: '2.5' }, { introduced: '2.0' }, { fixed: '1.0' }, { introduced: '0' }), '0.5', '>=0, <1.0'],
    ['at or above a limit is never affected', range({ introduced: '0' }, { limit: '3.0' }), '3.0', undefined],
    ['below a limit', range({ introduced: '0' }, { limit: '3.0' }), '2.9', '>=0'],
    ['numeric, not string order', range({ introduced: '1.2' }, { fixed: '1.10' }), '1.9', '>=1.2, <1.10'],
  ])('%s', (_n, r, version, want) => {
    expect(inRange(version, r, dotted).hit?.range).toBe(want);
  });

  it('reports the smallest fix above the installed version', () => {
    expect(inRange('0.5', range({ introduced: '0' }, { fixed: '1.0' }, { introduced: '2.0' }, { fixed: '2.5' }), dotted).hit?.fixed).toBe('1.0');
    expect(inRange('2.2', range({ introduced: '0' }, { fixed: '1.0' }, { introduced: '2.0' }, { fixed: '2.5' }), dotted).hit?.fixed).toBe('2.5');
  });

  it('a range whose bounds the scheme cannot order is a problem, not a silent miss', () => {
    const r = inRange('1.0', range({ introduced: '0' }, { fixed: 'abc' }), dotted);
    expect(r.hit).toBeUndefined();
    expect(r.problem).toMatch(/cannot order: abc/);
  });

  it.each([
    ['explicit versions list', affected({ versions: ['1.0', '1.1'] }), '1.1', true, 'versions'],
    ['versions list is exact-string', affected({ versions: ['1.1'] }), '1.1.0', false, undefined],
    ['a GIT range never matches a version', affected({ ranges: [{ type: 'GIT', repo: 'https://x', events: [{ introduced: '0' }] }] }), '1.0', false, undefined],
    ['SEMVER ranges use the semver scheme', affected({ ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.10' }] }] }), '1.9', true, 'SEMVER'],
  ])('%s', (_n, a, version, want, kind) => {
    const r = isAffected(version, a, dotted, dotted);
    expect(r.affected).toBe(want);
    if (r.affected) expect(r.hit.kind).toBe(kind);
  });

  it('an installed version the scheme cannot read is reported', () => {
    const r = isAffected('1.0-beta', affected({ ranges: [range({ introduced: '0' })] }), dotted, dotted);
    expect(r).toEqual({ affected: false, problems: ['installed version 1.0-beta is not a valid dotted version'] });
  });
});

describe('Go `(devel)`: affected only by a range that holds every version (issue 14 item 4)', () => {
  const goRecord = (file: string, pkg: string): OsvAffected => {
    const parsed = parseOsvRecord(JSON.parse(corpusBytes('osv', 'go', file).toString('utf8')));
    if (!('record' in parsed)) throw new Error(`${file}: ${JSON.stringify(parsed)}`);
    const a = parsed.record.affected.find((x) => x.name === pkg);
    if (!a) throw new Error(`${file} has no ${pkg}`);
    return a;
  };
  it.each([
    { name: 'real GO-2025-3553: introduced 0, never fixed', a: () => goRecord('GO-2025-3553.json', 'github.com/golang-jwt/jwt'), want: true },
    { name: 'real GO-2020-0001: introduced 0, fixed', a: () => goRecord('GO-2020-0001.json', 'github.com/gin-gonic/gin'), want: false },
    { name: 'introduced later, never fixed', a: () => affected({ ranges: [{ type: 'SEMVER', events: [{ introduced: '1.2.0' }] }] }), want: false },
    { name: 'introduced 0, last_affected', a: () => affected({ ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { last_affected: '1.0.0' }] }] }), want: false },
    { name: 'introduced 0, limit *', a: () => affected({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { limit: '*' }] }] }), want: true },
    { name: 'a GIT range is no version range', a: () => affected({ ranges: [{ type: 'GIT', repo: 'https://x', events: [{ introduced: '0' }] }] }), want: false },
  ])('$name', ({ a, want }) => {
    const r = isAffected(GO_DEVEL, a(), goScheme, osvSemverScheme);
    expect(r.affected).toBe(want);
    // Never a parse problem: `(devel)` is a known state, not bad input.
    if (!r.affected) expect(r.problems).toEqual([]);
    else expect(r.hit.range).toBe('>=0');
  });

  // A pre-release toolchain (catalog/golang goVersionToSemver, govulncheck's GoTagToSemver) sits
  // inside the release's `introduced: 1.22.0-0` interval: real GO-2024-2887 holds go1.22rc1.
  it.each([
    { name: 'go1.22rc1 → v1.22.0-rc.1', version: 'v1.22.0-rc.1', want: true },
    { name: 'go1.22.4 (the fix)', version: 'v1.22.4', want: false },
    { name: 'go1.21rc2 → v1.21.0-rc.2', version: 'v1.21.0-rc.2', want: true },
  ])('stdlib pre-release $name', ({ version, want }) => {
    expect(isAffected(version, goRecord('GO-2024-2887.json', 'stdlib'), goScheme, osvSemverScheme).affected).toBe(want);
  });

  it('(devel) in another ecosystem is still an unreadable version', () => {
    expect(isAffected(GO_DEVEL, affected({ ranges: [range({ introduced: '0' })] }), dotted, dotted).affected).toBe(false);
    expect((isAffected(GO_DEVEL, affected({ ranges: [range({ introduced: '0' })] }), dotted, dotted) as { problems: readonly string[] }).problems).toHaveLength(1);
  });
});
