import { existsSync, readdirSync } from 'node:fs';
import { apkScheme } from '../../../lib/engine/versions/apk';
import { dpkgScheme } from '../../../lib/engine/versions/dpkg';
import { goScheme } from '../../../lib/engine/versions/go';
import { mavenScheme } from '../../../lib/engine/versions/maven';
import { nugetScheme } from '../../../lib/engine/versions/nuget';
import { packagistScheme } from '../../../lib/engine/versions/packagist';
import { pep440Scheme } from '../../../lib/engine/versions/pep440';
import { rpmScheme } from '../../../lib/engine/versions/rpm';
import { rubygemsScheme } from '../../../lib/engine/versions/rubygems';
import { InvalidVersionError, type VersionScheme } from '../../../lib/engine/versions/scheme';
import { SCHEMES, VERSION_SCHEMES, schemeFingerprint, schemeFor } from '../../../lib/engine/versions/schemes';
import { osvSemverScheme, semverScheme } from '../../../lib/engine/versions/semver';
import { corpusPath } from '../../helpers/corpus';
import { readCorpus, type Vector } from './vectors';

describe('schemeFor', () => {
  it.each<[string, VersionScheme | undefined]>([
    ['Debian', dpkgScheme],
    ['Debian:12', dpkgScheme],
    ['Ubuntu:22.04:LTS', dpkgScheme],
    ['Ubuntu:Pro:18.04:LTS', dpkgScheme],
    ['Alpine:v3.19', apkScheme],
    ['Wolfi', apkScheme],
    ['Chainguard', apkScheme],
    ['Red Hat:enterprise_linux:9::baseos', rpmScheme],
    ['Rocky Linux:9', rpmScheme],
    ['AlmaLinux:8', rpmScheme],
    ['openSUSE:Leap 15.5', rpmScheme],
    ['SUSE:Linux Enterprise Server 15 SP5', rpmScheme],
    ['Mageia:9', rpmScheme],
    ['openEuler:22.03-LTS', rpmScheme],
    ['npm', semverScheme],
    ['crates.io', semverScheme],
    ['Go', goScheme],
    ['PyPI', pep440Scheme],
    ['Maven', mavenScheme],
    ['RubyGems', rubygemsScheme],
    ['NuGet', nugetScheme],
    ['Packagist', packagistScheme],
    ['pypi', undefined],
    ['Hackage', undefined],
    ['', undefined],
  ])('%j → its scheme', (ecosystem, want) => {
    expect(schemeFor(ecosystem)).toBe(want);
  });

  it('the registry the matcher takes pairs schemeFor with the OSV SemVer', () => {
    expect(SCHEMES.schemeFor('Go:stdlib')).toBe(goScheme);
    expect(SCHEMES.semver).toBe(osvSemverScheme);
  });
});

describe('VERSION_SCHEMES', () => {
  it('has unique names and gives every ecosystem to one scheme', () => {
    const names = VERSION_SCHEMES.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const ecosystems = VERSION_SCHEMES.flatMap((s) => s.ecosystems);
    expect(new Set(ecosystems).size).toBe(ecosystems.length);
    for (const s of VERSION_SCHEMES) expect(s.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lists every ecosystem scheme of the folder', () => {
    expect(VERSION_SCHEMES).toEqual(expect.arrayContaining([dpkgScheme, apkScheme, rpmScheme, semverScheme, goScheme, pep440Scheme, mavenScheme, rubygemsScheme, nugetScheme, packagistScheme]));
    expect(VERSION_SCHEMES).toHaveLength(10);
  });

  it('fingerprints every scheme by name and version', () => {
    expect(schemeFingerprint()).toBe([...VERSION_SCHEMES, osvSemverScheme].map((s) => `${s.name}@${s.version}`).sort().join(','));
  });

  /** Garbage each scheme must refuse. Maven orders any string (ComparableVersion has no syntax), so only the empty and the over-long one. */
  const GARBAGE: Readonly<Record<string, readonly string[]>> = {
    maven: ['', 'x'.repeat(257)],
  };

  it.each([...VERSION_SCHEMES, osvSemverScheme].map((s) => [s.name, s] as const))('%s refuses garbage with InvalidVersionError', (name, scheme) => {
    for (const garbage of GARBAGE[name] ?? ['', 'not a version\n']) {
      expect(scheme.isValid(garbage)).toBe(false);
      expect(() => scheme.compare(garbage, garbage)).toThrow(InvalidVersionError);
    }
  });
});

const RUBYGEMS_FILES: [string, string][] = readdirSync(corpusPath('version-compare', 'rubygems')).filter((f) => f.endsWith('.json')).map((f) => ['rubygems', f]);

describe('parsed forms (parse / compareParsed): the same answers as isValid / compare', () => {
  // The matcher's compiled ranges (match/compiled-ranges.ts) compare parsed values: each scheme that
  // offers them must agree with its string API on every corpus version, valid or not.
  const cases: [string, VersionScheme, [folder: string, file: string][]][] = [
    ['dpkg', dpkgScheme, [['debian', 'dpkg-Dpkg_Version.t-DATA.json'], ['debian', 'osv-scalibr-debian-versions.json'], ['debian', 'osv-scalibr-debian-versions-generated.json']]],
    ['pep440', pep440Scheme, [['pypi', 'pypa-packaging-compare.json'], ['pypi', 'osv-scalibr-pypi-versions.json'], ['pypi', 'osv-scalibr-pypi-versions-generated.json']]],
    ['osv-semver', osvSemverScheme, [['semver', 'osv-scalibr-semver-versions.json'], ['npm-semver', 'comparisons.json']]],
    ['rubygems', rubygemsScheme, RUBYGEMS_FILES],
  ];
  it.each(cases)('%s', (_name, scheme, files) => {
    const { parse, compareParsed } = scheme;
    if (!parse || !compareParsed) throw new Error('scheme has no parsed form');
    const mismatches: string[] = [];
    let compared = 0;
    let invalid = 0;
    for (const [folder, file] of files) {
      if (!existsSync(corpusPath('version-compare', folder))) throw new Error(`missing ${folder}`);
      for (const { a, b } of readCorpus<Vector[]>(folder, file)) {
        const pa = parse.call(scheme, a);
        const pb = parse.call(scheme, b);
        for (const [v, p] of [[a, pa], [b, pb]] as const) {
          if ((p !== undefined) !== scheme.isValid(v)) mismatches.push(`${file}: parse(${JSON.stringify(v)}) disagrees with isValid`);
          if (p === undefined) invalid++;
        }
        if (pa === undefined || pb === undefined) continue;
        compared++;
        const want = scheme.compare(a, b);
        const got = compareParsed.call(scheme, pa, pb);
        if (Math.sign(got) !== Math.sign(want)) mismatches.push(`${file}: ${a} vs ${b}: ${got} (parsed) vs ${want}`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(50);
    void invalid;
  });

  it.each<[string, string, VersionScheme]>([['dpkg', 'x!1', dpkgScheme], ['dpkg', '', dpkgScheme], ['pep440', 'not-a-version', pep440Scheme], ['osv-semver', '1.2', osvSemverScheme], ['rubygems', '1.0 beta', rubygemsScheme]])('%s rejects %p in both forms', (_name, v, scheme) => {
    expect(scheme.isValid(v)).toBe(false);
    expect(scheme.parse?.(v)).toBeUndefined();
  });
});
