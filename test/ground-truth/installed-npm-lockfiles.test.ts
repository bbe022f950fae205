/**
 * Issue 14 "Only what is installed is inventory" and "one finding per (vulnerability, package,
 * version)", with real npm releases (pinned by integrity in test/helpers/npm-fixtures.json, fetched from
 * the registry once and cached): `handlebars@4.0.11` ships the package-lock.json of its own development
 * tree — hundreds of packages none of which is installed — and lodash@4.17.4 (CVE-2018-3721) sits in
 * three node_modules folders. Scanned as a user would (`trustctl scan dir:`, the real OSV npm export):
 * the shipped lockfile adds nothing, the app's own lockfile is still read, and lodash's vulnerability
 * is one finding carrying every location.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePackageLock } from '../../lib/engine/catalog/npm';
import { REPO, runTrustctlMeasured, type ScanReport } from '../helpers/ground-truth';
import { installNpmPackage } from '../helpers/npm-tarball';

const MINUTES = 60_000;
const SHIPPED_LOCK = '/app/node_modules/handlebars/package-lock.json';
const LODASH_COPIES = ['/app/node_modules/lodash', '/app/node_modules/handlebars/node_modules/lodash', '/srv/tool/node_modules/lodash'];

type Report = ScanReport & { findings: { type: string; id: string; aliases: string[]; package?: string; path?: string; locations?: { layer: string; path: string }[] }[] };

describe('real npm releases: a lockfile shipped inside a package is not inventory; one finding per vulnerability (issue 14)', () => {
  let work: string;
  let root: string;
  let report: Report;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'trustctl-npm-installed-'));
    root = join(work, 'root');
    await installNpmPackage(join(root, 'app', 'node_modules', 'handlebars'), 'handlebars', '4.0.11');
    for (const dir of LODASH_COPIES) await installNpmPackage(join(root, dir), 'lodash', '4.17.4');
    // The application's own manifest and lockfile, as `npm install` writes them (lockfileVersion 3).
    writeFileSync(join(root, 'app', 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { handlebars: '4.0.11', lodash: '4.17.4' } }));
    writeFileSync(join(root, 'app', 'package-lock.json'), JSON.stringify({
      name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies: { handlebars: '4.0.11', lodash: '4.17.4' } },
        'node_modules/handlebars': { version: '4.0.11' },
        'node_modules/handlebars/node_modules/lodash': { version: '4.17.4' },
        'node_modules/lodash': { version: '4.17.4' },
      },
    }));
    const env = { ...process.env, TRUSTCTL_DATA_DIR: join(work, 'data'), TRUSTCTL_CACHE_DIR: join(work, 'cache') };
    const feeds = join(work, 'feeds', 'npm');
    mkdirSync(feeds, { recursive: true });
    symlinkSync(join(REPO, '..', 'shared', 'feeds', 'osv', 'npm', 'all.zip'), join(feeds, 'all.zip'));
    const adv = join(work, 'advisories');
    const sync = await runTrustctlMeasured(['feeds', 'sync', '--feed', join(work, 'feeds'), '--data-dir', adv], env);
    if (sync.code !== 0) throw new Error(`feeds sync failed (${sync.code}): ${sync.stderr.slice(-2000)}`);
    const run = await runTrustctlMeasured(['scan', `dir:${root}`, '--format', 'json', '--no-record', '--no-cache', '--no-progress', '--data-dir', adv], env);
    if (run.code === 2 || !run.stdout) throw new Error(`scan failed (exit ${run.code}): ${run.stderr.slice(-3000)}`);
    report = JSON.parse(run.stdout) as Report;
  }, 10 * MINUTES);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the fixture is what the case is about: handlebars@4.0.11 really ships a lockfile of hundreds of packages', () => {
    expect(existsSync(join(root, SHIPPED_LOCK))).toBe(true);
    expect(parsePackageLock(readFileSync(join(root, SHIPPED_LOCK), 'utf8')).length).toBeGreaterThan(500);
  });

  test('no package comes from the lockfile handlebars ships; handlebars itself is catalogued', () => {
    const at = (path: string) => report.packages.filter((p) => (p.locations ?? []).some((l) => l.path === path));
    expect(at(SHIPPED_LOCK)).toEqual([]);
    expect(at('/app/node_modules/handlebars/package.json').map((p) => `${p.name}@${p.version}`)).toEqual(['handlebars@4.0.11']);
    expect(report.findings.filter((f) => f.path === SHIPPED_LOCK || (f.locations ?? []).some((l) => l.path === SHIPPED_LOCK))).toEqual([]);
  });

  test("the application's own lockfile is still read", () => {
    const fromLock = report.packages.filter((p) => (p.locations ?? []).some((l) => l.path === '/app/package-lock.json')).map((p) => `${p.name}@${p.version}`).sort();
    expect(fromLock).toEqual(['handlebars@4.0.11', 'lodash@4.17.4']);
  });

  test('lodash CVE-2018-3721 is one finding carrying every copy (three node_modules and the app lockfile)', () => {
    const hits = report.findings.filter((f) => f.type === 'vulnerability' && f.package === 'pkg:npm/lodash@4.17.4' && (f.id === 'CVE-2018-3721' || f.aliases.includes('CVE-2018-3721')));
    expect(hits).toHaveLength(1);
    expect(hits[0].locations!.map((l) => l.path)).toEqual([
      '/app/node_modules/handlebars/node_modules/lodash/package.json',
      '/app/node_modules/lodash/package.json',
      '/app/package-lock.json',
      '/srv/tool/node_modules/lodash/package.json',
    ]);
    expect(hits[0].path).toBe(hits[0].locations![0].path);
    // And every other finding is one per (id, package, version) too.
    const keys = report.findings.filter((f) => f.type === 'vulnerability').map((f) => `${f.id} ${f.package}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
