import type { CatalogFile, CatalogResult, Cataloger } from '../types';
import type { Package, Unknown } from '../../model';
import { purl } from '../purl';
import { parseComposerInstalled, parseComposerLock, type ComposerPackage } from './composer-lock';

export { parseComposerInstalled, parseComposerLock, type ComposerPackage } from './composer-lock';

const VERSION = '1.0.0';

function composerCataloger(name: string, wants: (path: string) => boolean, parse: (text: string) => ComposerPackage[], what: string): Cataloger {
  return {
    name,
    version: VERSION,
    wants,
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      for (const f of files) {
        if (f.truncated) { unknowns.push({ layer: f.layer, path: f.path, reason: `${what} truncated at the read limit; not parsed` }); continue; }
        try {
          for (const p of parse(f.body.toString('utf8'))) {
            const slash = p.name.indexOf('/');
            packages.push({
              ecosystem: 'Packagist',
              name: p.name,
              version: p.version,
              purl: slash > 0 ? purl('composer', p.name.slice(0, slash), p.name.slice(slash + 1), p.version) : purl('composer', undefined, p.name, p.version),
              locations: [{ layer: f.layer, path: f.path }],
              cataloger: { name, version: VERSION },
            });
          }
        } catch (e) {
          unknowns.push({ layer: f.layer, path: f.path, reason: `${what}: ${(e as Error).message}` });
        }
      }
      return { packages, unknowns };
    },
  };
}

/**
 * Packagist packages from `composer.lock` (require and require-dev both: the lock file does not say
 * whether `--no-dev` was used at install time). purl type `composer` with the vendor as namespace.
 */
export const composerLockCataloger: Cataloger = composerCataloger('composer-lock', (p) => p.endsWith('/composer.lock'), parseComposerLock, 'composer.lock');

/** Packagist packages installed on disk, from `vendor/composer/installed.json` (Composer 1 and 2 layouts). */
export const composerInstalledCataloger: Cataloger = composerCataloger('composer-installed', (p) => p.endsWith('/vendor/composer/installed.json'), parseComposerInstalled, 'installed.json');
