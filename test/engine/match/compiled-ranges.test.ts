import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { readOsvZip } from '../../../lib/engine/advisories/feed';
import type { OsvAffected, OsvRange, OsvRecord } from '../../../lib/engine/advisories/osv';
import { affectedPositions, compileAffected, InstalledVersion, isAffectedCompiled, RangeCache } from '../../../lib/engine/match/compiled-ranges';
import { normalizePackageName } from '../../../lib/engine/advisories/names';
import { isAffected } from '../../../lib/engine/match/ranges';
import type { VersionScheme } from '../../../lib/engine/versions/scheme';
import { osvSemverScheme } from '../../../lib/engine/versions/semver';
import { apkScheme } from '../../../lib/engine/versions/apk';
import { dpkgScheme } from '../../../lib/engine/versions/dpkg';
import { rubygemsScheme } from '../../../lib/engine/versions/rubygems';
import { schemeFor } from '../../../lib/engine/versions/schemes';
import { SHARED } from '../../helpers/corpus';

const semver = osvSemverScheme;

function affectedOf(ranges: OsvRange[], versions: string[] = [], ecosystem = 'Debian:12', name = 'pkg'): OsvAffected {
  return { ecosystem, name, ranges, versions, severity: [] };
}

function recordOf(id: string, modified: string, affected: OsvAffected[]): OsvRecord {
  return { id, modified, aliases: [], related: [], upstream: [], severity: [], affected, references: [] };
}

const eco = (...events: OsvRange['events'][number][]): OsvRange => ({ type: 'ECOSYSTEM', events });

/** The compiled answer for one version (fresh compile, no cache). */
const compiledAnswer = (version: string, a: OsvAffected, scheme: VersionScheme) =>
  isAffectedCompiled(new InstalledVersion(version, scheme, semver), a, compileAffected(a, scheme, semver));

describe('compiled ranges answer exactly as ranges.ts: table', () => {
  // Each case: both evaluations must agree, and the answer must be the expected one.
  const cases: [string, OsvAffected, VersionScheme, string, { affected: boolean; fixed?: string; problem?: RegExp }][] = [
    ['fixed above: affected, fix reported', affectedOf([eco({ introduced: '0' }, { fixed: '1.2-1' })]), dpkgScheme, '1.1-1', { affected: true, fixed: '1.2-1' }],
    ['at the fix: not affected', affectedOf([eco({ introduced: '0' }, { fixed: '1.2-1' })]), dpkgScheme, '1.2-1', { affected: false }],
    ['events out of order are sorted first', affectedOf([eco({ fixed: '2.0' }, { introduced: '1.0' }, { fixed: '1.5' }, { introduced: '1.8' })]), dpkgScheme, '1.9', { affected: true, fixed: '2.0' }],
    ['last_affected: at it affected, above not', affectedOf([eco({ introduced: '1.0' }, { last_affected: '1.4' })]), dpkgScheme, '1.4', { affected: true }],
    ['last_affected above', affectedOf([eco({ introduced: '1.0' }, { last_affected: '1.4' })]), dpkgScheme, '1.4.1', { affected: false }],
    ['limit caps the range', affectedOf([eco({ introduced: '0' }, { limit: '3.0' })]), dpkgScheme, '3.1', { affected: false }],
    ['below the limit', affectedOf([eco({ introduced: '0' }, { limit: '3.0' })]), dpkgScheme, '2.9', { affected: true }],
    ['explicit versions list: hit with the range\'s fix', affectedOf([eco({ introduced: '0' }, { fixed: '5' })], ['1.0']), dpkgScheme, '1.0', { affected: true, fixed: '5' }],
    ['event version the scheme cannot order: a problem, never a silent pass', affectedOf([eco({ introduced: '0' }, { fixed: 'not-a-version' })]), dpkgScheme, '1.0', { affected: false, problem: /ECOSYSTEM range has versions dpkg cannot order: not-a-version/ }],
    ['installed version the scheme cannot order: a problem', affectedOf([eco({ introduced: '0' }, { fixed: '2.0' })]), dpkgScheme, 'x!1', { affected: false, problem: /installed version x!1 is not a valid dpkg version/ }],
    ['scheme without a parsed form (apk): unparsable event still a problem', affectedOf([eco({ introduced: '0' }, { fixed: 'bogus!' })], [], 'Alpine:v3.19'), apkScheme, '1.0-r0', { affected: false, problem: /apk cannot order: bogus!/ }],
    ['scheme without a parsed form (apk): affected', affectedOf([eco({ introduced: '1.0-r0' }, { fixed: '1.0.5-r0' })], [], 'Alpine:v3.19'), apkScheme, '1.0.2-r1', { affected: true, fixed: '1.0.5-r0' }],
    ['rubygems parsed form: unparsable event still a problem', affectedOf([eco({ introduced: '0' }, { fixed: '1.0 beta' })], [], 'RubyGems'), rubygemsScheme, '0.5', { affected: false, problem: /rubygems cannot order/ }],
    ['SEMVER range uses SemVer; invalid installed version is a problem', affectedOf([{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.2.3' }] }]), dpkgScheme, '1.0', { affected: false, problem: /not a valid osv-semver version/ }],
    ['SEMVER range hit', affectedOf([{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.2.3' }] }]), dpkgScheme, '1.2.2', { affected: true, fixed: '1.2.3' }],
    ['GIT ranges are not evaluated', affectedOf([{ type: 'GIT', repo: 'x', events: [{ introduced: '0' }] }]), dpkgScheme, '1.0', { affected: false }],
    ['installed "0" sorts below everything as in ranges.ts', affectedOf([eco({ introduced: '0' }, { fixed: '0.1' })]), dpkgScheme, '0', { affected: true, fixed: '0.1' }],
  ];
  it.each(cases)('%s', (_name, a, scheme, version, want) => {
    const ref = isAffected(version, a, scheme, semver);
    const got = compiledAnswer(version, a, scheme);
    expect(got).toEqual(ref);
    expect(got.affected).toBe(want.affected);
    if (got.affected && want.fixed) expect(got.hit.fixed).toBe(want.fixed);
    if (want.problem) expect(got.affected ? [] : got.problems.join('\n')).toMatch(want.problem);
  });

  it('refuses a compiled form used with other schemes than it was compiled for', () => {
    const a = affectedOf([eco({ introduced: '0' })]);
    expect(() => isAffectedCompiled(new InstalledVersion('1', rubygemsScheme, semver), a, compileAffected(a, dpkgScheme, semver))).toThrow(/other schemes/);
  });
});

/** Installed versions worth trying against an entry: its own event and listed versions, neighbours of them, and junk. */
function candidates(a: OsvAffected): string[] {
  const out = new Set<string>(['0', '1.0', 'not a version!', '']);
  for (const r of a.ranges) {
    for (const e of r.events) {
      const v = Object.values(e)[0] as string;
      if (v === '0') continue;
      out.add(v);
      out.add(`${v}.1`);
      out.add(`${v}~1`);
      out.add(v.replace(/\d+(?!.*\d)/, (d) => String(Math.max(0, Number(d) - 1))));
    }
  }
  for (const v of a.versions.slice(0, 3)) out.add(v);
  return [...out];
}

describe('compiled ranges answer exactly as ranges.ts: records of the shipped OSV exports', () => {
  // Whole exports for the language ecosystems; the first records of the large distribution exports
  // (each names every release: thousands of entries) are enough to cover their shapes.
  // (Bitnami, Hackage and GHC have no version scheme: never evaluated.)
  const feeds: [string, number][] = [['Debian', 3000], ['Alpine', 1500], ['AlmaLinux', 2000], ['Go', Infinity], ['PyPI', Infinity], ['npm', Infinity], ['crates.io', Infinity], ['RubyGems', Infinity]];
  it.each(feeds)('%s (up to %d records)', async (feed, max) => {
    let records = 0;
    let evaluated = 0;
    let hits = 0;
    let problems = 0;
    const mismatches: string[] = [];
    const cache = new RangeCache(1024);
    for await (const r of readOsvZip(createReadStream(join(SHARED, 'feeds', 'osv', feed, 'all.zip')))) {
      if (++records > max) break;
      for (const [i, a] of r.affected.entries()) {
        const scheme = schemeFor(a.ecosystem);
        if (!scheme) continue;
        const compiled = cache.compiled(r, i, a, scheme, semver);
        for (const v of candidates(a)) {
          const ref = isAffected(v, a, scheme, semver);
          const got = isAffectedCompiled(new InstalledVersion(v, scheme, semver), a, compiled);
          evaluated++;
          if (ref.affected) hits++;
          else problems += ref.problems.length;
          if (JSON.stringify(got) !== JSON.stringify(ref)) mismatches.push(`${r.id} affected[${i}] ${JSON.stringify(v)}: ${JSON.stringify(got)} vs ${JSON.stringify(ref)}`);
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(evaluated).toBeGreaterThan(0);
    // The comparison means something only if both answers occur.
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThan(evaluated);
    void problems;
  }, 300_000);
});

describe('RangeCache', () => {
  const r1 = recordOf('DSA-1', '2024-01-01T00:00:00Z', [affectedOf([eco({ introduced: '0' }, { fixed: '2.0' })])]);
  const answer = (cache: RangeCache, r: OsvRecord, version: string, scheme: VersionScheme = dpkgScheme) =>
    isAffectedCompiled(new InstalledVersion(version, scheme, semver), r.affected[0], cache.compiled(r, 0, r.affected[0], scheme, semver));

  const cases: [string, (c: RangeCache) => { result: ReturnType<typeof answer>; want: boolean; stats: Partial<RangeCache['stats']> }][] = [
    ['same object: identity hit', (c) => {
      answer(c, r1, '1.0');
      return { result: answer(c, r1, '1.0'), want: true, stats: { hits: 1, compiles: 1 } };
    }],
    ['equal record parsed again (new object, same ranges): verified hit', (c) => {
      answer(c, r1, '1.0');
      return { result: answer(c, structuredClone(r1), '1.0'), want: true, stats: { verifiedHits: 1, compiles: 1 } };
    }],
    ['new revision with a later fix: compiled again, the match does not disappear', (c) => {
      expect(answer(c, r1, '2.5').affected).toBe(false);
      const r2 = recordOf('DSA-1', '2024-02-01T00:00:00Z', [affectedOf([eco({ introduced: '0' }, { fixed: '3.0' })])]);
      return { result: answer(c, r2, '2.5'), want: true, stats: { compiles: 2 } };
    }],
    ['same id and date but other ranges (another store): stale entry replaced, never used', (c) => {
      expect(answer(c, r1, '2.5').affected).toBe(false);
      const other = recordOf('DSA-1', r1.modified, [affectedOf([eco({ introduced: '0' }, { fixed: '3.0' })])]);
      return { result: answer(c, other, '2.5'), want: true, stats: { stale: 1, compiles: 2 } };
    }],
    ['same id and date, one more event: stale', (c) => {
      answer(c, r1, '2.5');
      const other = recordOf('DSA-1', r1.modified, [affectedOf([eco({ introduced: '0' }, { fixed: '2.0' }, { introduced: '2.4' })])]);
      return { result: answer(c, other, '2.5'), want: true, stats: { stale: 1 } };
    }],
    ['other scheme for the same record: compiled again for it', (c) => {
      answer(c, r1, '1.0');
      return { result: answer(c, r1, '1.0', rubygemsScheme), want: true, stats: { stale: 1, compiles: 2 } };
    }],
    ['record whose event no scheme orders: a problem on every hit, never a pass', (c) => {
      const bad = recordOf('DSA-2', '2024-01-01T00:00:00Z', [affectedOf([eco({ introduced: '0' }, { fixed: 'bogus' })])]);
      expect(answer(c, bad, '1.0')).toMatchObject({ affected: false, problems: [expect.stringMatching(/cannot order: bogus/)] });
      return { result: answer(c, bad, '1.0'), want: false, stats: { hits: 1, compiles: 1 } };
    }],
  ];
  it.each(cases)('%s', (_name, run) => {
    const cache = new RangeCache(16);
    const { result, want, stats } = run(cache);
    expect(result.affected).toBe(want);
    if (!want && !result.affected) expect(result.problems.length).toBeGreaterThan(0);
    expect(cache.stats).toMatchObject(stats);
  });

  it('is bounded: at most two generations, and an evicted entry is compiled again with the same answer', () => {
    const cache = new RangeCache(2);
    const recs = Array.from({ length: 7 }, (_, i) => recordOf(`R-${i}`, '2024-01-01T00:00:00Z', [affectedOf([eco({ introduced: '0' }, { fixed: `${i + 1}.0` })])]));
    for (const r of recs) answer(cache, r, '0.5');
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.stats.compiles).toBe(7);
    // R-0 was evicted long ago: compiled again, same answer.
    expect(answer(cache, recs[0], '0.5')).toEqual(isAffected('0.5', recs[0].affected[0], dpkgScheme, semver));
    expect(cache.stats.compiles).toBe(8);
    // The newest is still held.
    answer(cache, recs[6], '0.5');
    expect(cache.stats.hits).toBe(1);
    expect(cache.size).toBeLessThanOrEqual(4);
  });

  it.each([[0], [-1], [Number.NaN]])('refuses a generation of %p', (g) => {
    expect(() => new RangeCache(g)).toThrow(RangeError);
  });
});

describe('affectedPositions: the entries a lookup visits, from an index built once per record', () => {
  const entry = (ecosystem: string, name: string): OsvAffected => ({ ecosystem, name, ranges: [], versions: [] } as unknown as OsvAffected);
  const rec = (affected: OsvAffected[]): OsvRecord => ({ id: 'X-1', modified: '2024-01-01T00:00:00Z', aliases: [], upstream: [], affected } as unknown as OsvRecord);
  /** What the loop over every entry kept: the reference the index must equal. */
  const scan = (r: OsvRecord, ecosystem: string, norm: string) =>
    r.affected.flatMap((a, i) => (a.ecosystem === ecosystem && normalizePackageName(a.ecosystem, a.name) === norm ? [i] : []));
  const debian = rec([entry('Debian:11', 'openssl'), entry('Debian:12', 'openssl'), entry('Debian:13', 'openssl'), entry('Debian:12', 'openssl'), entry('Debian:12', 'libssl')]);
  const pypi = rec([entry('PyPI', 'Django'), entry('PyPI', 'django_rest'), entry('npm', 'Django')]);
  const cases: { name: string; r: OsvRecord; ecosystem: string; norm: string; want: number[] }[] = [
    { name: 'one release of several', r: debian, ecosystem: 'Debian:11', norm: 'openssl', want: [0] },
    { name: 'a release named twice: both, in order', r: debian, ecosystem: 'Debian:12', norm: 'openssl', want: [1, 3] },
    { name: 'another package of the same release', r: debian, ecosystem: 'Debian:12', norm: 'libssl', want: [4] },
    { name: 'release not named', r: debian, ecosystem: 'Debian:10', norm: 'openssl', want: [] },
    { name: 'PyPI names normalised (PEP 503)', r: pypi, ecosystem: 'PyPI', norm: 'django', want: [0] },
    { name: 'PyPI separators normalised', r: pypi, ecosystem: 'PyPI', norm: 'django-rest', want: [1] },
    { name: 'npm is case-sensitive', r: pypi, ecosystem: 'npm', norm: 'django', want: [] },
  ];
  it.each(cases)('$name', ({ r, ecosystem, norm, want }) => {
    expect(affectedPositions(r, ecosystem, norm)).toEqual(want);
    expect(affectedPositions(r, ecosystem, norm)).toEqual(scan(r, ecosystem, norm));
  });
  it('a new revision (another object) and a replaced affected[] array are indexed afresh', () => {
    const r1 = rec([entry('Debian:12', 'openssl')]);
    expect(affectedPositions(r1, 'Debian:12', 'openssl')).toEqual([0]);
    const r2 = { ...r1, modified: '2025-01-01T00:00:00Z', affected: [entry('Debian:11', 'openssl'), entry('Debian:12', 'openssl')] } as OsvRecord;
    expect(affectedPositions(r2, 'Debian:12', 'openssl')).toEqual([1]);
    (r1 as unknown as { affected: OsvAffected[] }).affected = [entry('Debian:13', 'openssl')];
    expect(affectedPositions(r1, 'Debian:12', 'openssl')).toEqual([]);
    expect(affectedPositions(r1, 'Debian:13', 'openssl')).toEqual([0]);
  });
});
