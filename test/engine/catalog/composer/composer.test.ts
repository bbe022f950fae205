import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '../../../helpers/corpus';
import { composerInstalledCataloger, composerLockCataloger, parseComposerInstalled, parseComposerLock } from '../../../../lib/engine/catalog/composer';
import type { Digest } from '../../../../lib/engine/model';

interface Expected { input: string; cases: { packages: { name: string; version: string; dev?: boolean }[] }[] }

const ROOT = corpusPath('pkgdb', 'composer');
const FIXTURES = readdirSync(ROOT);
const LAYER = `sha256:${'c'.repeat(64)}` as Digest;
const byKey = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

describe('composer.lock — corpus', () => {
  it('finds the composer fixtures', () => expect(FIXTURES.length).toBe(1));

  it.each(FIXTURES)('%s', (folder) => {
    const exp = JSON.parse(readFileSync(join(ROOT, folder, 'expected.json'), 'utf8')) as Expected;
    const got = parseComposerLock(readFileSync(join(ROOT, folder, exp.input), 'utf8'));
    for (const c of exp.cases) {
      // Order: trivy sorts by name; we keep packages then packages-dev, so both sides are sorted.
      // trivy omits `dev` when false; we compare it as a boolean.
      expect(got.map((p) => ({ name: p.name, version: p.version, dev: p.dev })).sort(byKey))
        .toEqual(c.packages.map((p) => ({ name: p.name, version: p.version, dev: p.dev === true })).sort(byKey));
    }
  });
});

describe('composerLockCataloger', () => {
  it('wants composer.lock only', () => {
    expect(composerLockCataloger.wants('/var/www/composer.lock')).toBe(true);
    expect(composerLockCataloger.wants('/var/www/composer.json')).toBe(false);
  });
  it('builds composer purls; garbage → unknown', () => {
    const r = composerLockCataloger.catalog([
      { path: '/app/composer.lock', layer: LAYER, body: Buffer.from(JSON.stringify({ packages: [{ name: 'symfony/polyfill-php72', version: 'v1.27.0' }], 'packages-dev': [] })), truncated: false },
      { path: '/bad/composer.lock', layer: LAYER, body: Buffer.from('{"packages": '), truncated: false },
      { path: '/bad2/composer.lock', layer: LAYER, body: Buffer.from('[1,2]'), truncated: false },
    ]);
    expect(r.packages).toEqual([{ ecosystem: 'Packagist', name: 'symfony/polyfill-php72', version: 'v1.27.0', purl: 'pkg:composer/symfony/polyfill-php72@v1.27.0', locations: [{ layer: LAYER, path: '/app/composer.lock' }], cataloger: { name: 'composer-lock', version: '1.2.0' } }]);
    expect(r.unknowns.map((u) => u.path)).toEqual(['/bad/composer.lock', '/bad2/composer.lock']);
  });
});

describe('vendor/composer/installed.json (no corpus fixture: Composer 1 and 2 layouts built here)', () => {
  const pkgs = [{ name: 'guzzlehttp/guzzle', version: '7.8.1' }, { name: 'phpunit/phpunit', version: '10.5.0' }];
  it('Composer 2 object with dev-package-names', () => {
    expect(parseComposerInstalled(JSON.stringify({ packages: pkgs, dev: true, 'dev-package-names': ['phpunit/phpunit'] }))).toEqual([
      { name: 'guzzlehttp/guzzle', version: '7.8.1', dev: false }, { name: 'phpunit/phpunit', version: '10.5.0', dev: true },
    ]);
  });
  it('Composer 1 bare array', () => {
    expect(parseComposerInstalled(JSON.stringify(pkgs)).map((p) => p.name)).toEqual(['guzzlehttp/guzzle', 'phpunit/phpunit']);
  });
  it('cataloger wants and garbage → unknown', () => {
    expect(composerInstalledCataloger.wants('/var/www/vendor/composer/installed.json')).toBe(true);
    expect(composerInstalledCataloger.wants('/var/www/vendor/composer/installed.php')).toBe(false);
    const r = composerInstalledCataloger.catalog([
      { path: '/w/vendor/composer/installed.json', layer: LAYER, body: Buffer.from(JSON.stringify({ packages: pkgs })), truncated: false },
      { path: '/x/vendor/composer/installed.json', layer: LAYER, body: Buffer.from('{"dev": true}'), truncated: false },
    ]);
    expect(r.packages.map((p) => [p.purl, p.cataloger.name])).toEqual([['pkg:composer/guzzlehttp/guzzle@7.8.1', 'composer-installed'], ['pkg:composer/phpunit/phpunit@10.5.0', 'composer-installed']]);
    expect(r.unknowns.map((u) => u.path)).toEqual(['/x/vendor/composer/installed.json']);
  });
});
