/**
 * Data-driven agreement test: every fixture under ../shared/corpus/pkgdb/npm/ is parsed with our parser
 * for its format and compared (name + version) with what the peer scanner's test asserts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '../../../helpers/corpus';
import { type NpmEntry, parsePackageJson, parsePackageLock, parsePnpmLock, parseYarnLock } from '../../../../lib/engine/catalog/npm';

interface ExpectedPackage { name?: string; version?: string; dev?: boolean }
interface Expected { input: string; cases: { test: string; options?: Record<string, unknown>; packages: ExpectedPackage[] }[] }

const ROOT = corpusPath('pkgdb', 'npm');
const FIXTURES = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** Which parser reads a fixture, by the peer test it came from (trivy's parser package in the folder name). */
function parserFor(fixture: string): (text: string) => NpmEntry[] {
  if (fixture.startsWith('trivy-nodejs-npm-')) return parsePackageLock;
  if (fixture.startsWith('trivy-nodejs-pnpm-')) return parsePnpmLock;
  if (fixture.startsWith('trivy-nodejs-yarn-')) return parseYarnLock;
  if (fixture.startsWith('trivy-nodejs-packagejson-')) return parsePackageJson;
  throw new Error(`no parser for fixture ${fixture}`);
}

/**
 * Fixture packages where we knowingly differ from the peer. Each entry is `name@version` the peer
 * asserts and we do not report; the test asserts exactly this difference.
 */
const DISAGREEMENTS: Record<string, { missing: string[]; reason: string }> = {
  'trivy-nodejs-npm-package-lock_v3_with_workspace': {
    missing: ['function1@'],
    reason: 'node_modules/function1 links to the workspace folder functions/func1, which has no "version": '
      + 'trivy reports it with an empty version; a versionless package cannot be matched against advisories '
      + 'and would give a versionless purl, so we drop it (workspaces are the project\'s own code).',
  },
  'trivy-nodejs-pnpm-pnpm-lock_v9': {
    missing: ['package1@'],
    reason: '`package1@file:package1` is a local folder dependency whose v9 entry has no `version`: trivy '
      + 'reports it with an empty version; we drop versionless entries (same rule as npm workspaces).',
  },
  'trivy-nodejs-packagejson-without_version_package': {
    missing: ['angular@'],
    reason: 'package.json without "version": trivy returns a package with an empty version; npm requires a '
      + 'version of an installed package, so parsePackageJson returns nothing (the installed cataloger records an unknown).',
  },
  'trivy-nodejs-packagejson-without_name_and_version_package': {
    missing: ['@'],
    reason: 'package.json with neither name nor version: trivy returns an all-empty package; there is nothing '
      + 'to identify, so we return no package (the installed cataloger records an unknown).',
  },
};

/** name@version set (deduplicated, sorted). */
function ids(list: readonly { name?: string; version?: string }[]): string[] {
  return [...new Set(list.map((p) => `${p.name ?? ''}@${p.version ?? ''}`))].sort();
}

describe('npm corpus agreement (../shared/corpus/pkgdb/npm)', () => {
  it('finds the fixtures', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(38);
  });

  it.each(FIXTURES)('%s', (fixture) => {
    const expected = JSON.parse(readFileSync(join(ROOT, fixture, 'expected.json'), 'utf8')) as Expected;
    const text = readFileSync(join(ROOT, fixture, expected.input), 'utf8');
    let entries = parserFor(fixture)(text);
    // trivy's pnpm parser drops `dev: true` packages of lockfile v5/v6 (v9 records no dev flag, and
    // trivy keeps everything there). We keep dev packages (they are installed unless `--prod`) and
    // flag them; to compare with the peer we apply its filter to our output for v5/v6 files.
    if (fixture.startsWith('trivy-nodejs-pnpm-') && /^lockfileVersion: '?[56]\./m.test(text)) {
      entries = entries.filter((e) => !e.dev);
    }
    for (const c of expected.cases) {
      expect(c.options ?? {}).toEqual({}); // no npm fixture uses non-default options
      // Representation: trivy keeps one package per (id, dev) or per peer-dependency variant, so the
      // same name@version can appear twice (e.g. jest-pnp-resolver@1.2.3 in v9_same-vers-diff-peers);
      // our inventory has one package per name@version per file, so both sides are compared as sets.
      const want = ids(c.packages);
      const got = ids(entries);
      const dis = DISAGREEMENTS[fixture];
      if (dis) {
        expect(dis.reason.length).toBeGreaterThan(20);
        expect(want.filter((id) => !got.includes(id))).toEqual([...dis.missing].sort());
        expect(got.filter((id) => !want.includes(id))).toEqual([]);
      } else {
        expect(got).toEqual(want);
      }
    }
  });

  it('every DISAGREEMENTS entry names an existing fixture', () => {
    for (const f of Object.keys(DISAGREEMENTS)) expect(FIXTURES).toContain(f);
  });
});
