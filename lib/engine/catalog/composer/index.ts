import type { Cataloger } from '../types';
import { textCataloger } from '../text-cataloger';
import { purl } from '../purl';
import { projectLockfile } from '../installed-package-files';
import { parseComposerInstalled, parseComposerLock, type ComposerPackage } from './composer-lock';

export { parseComposerInstalled, parseComposerLock, type ComposerPackage } from './composer-lock';

const VERSION = '1.1.0';

function composerCataloger(name: string, wants: (path: string) => boolean, parse: (text: string) => ComposerPackage[], what: string, version = VERSION): Cataloger {
  return textCataloger<ComposerPackage>({
    name,
    version,
    what,
    wants,
    parse,
    truncated: 'skip',
    toPackage: (p) => {
      const slash = p.name.indexOf('/');
      return {
        ecosystem: 'Packagist',
        name: p.name,
        version: p.version,
        purl: slash > 0 ? purl('composer', p.name.slice(0, slash), p.name.slice(slash + 1), p.version) : purl('composer', undefined, p.name, p.version),
      };
    },
  });
}

/**
 * Packagist packages from `composer.lock` (require and require-dev both: the lock file does not say
 * whether `--no-dev` was used at install time). purl type `composer` with the vendor as namespace. A
 * `composer.lock` inside `vendor/<vendor>/<package>/` is that package's own (installed-package-files.ts).
 */
export const composerLockCataloger: Cataloger = composerCataloger('composer-lock', projectLockfile((p) => p.endsWith('/composer.lock')), parseComposerLock, 'composer.lock', '1.2.0');

/** Packagist packages installed on disk, from `vendor/composer/installed.json` (Composer 1 and 2 layouts). */
export const composerInstalledCataloger: Cataloger = composerCataloger('composer-installed', (p) => p.endsWith('/vendor/composer/installed.json'), parseComposerInstalled, 'installed.json');
