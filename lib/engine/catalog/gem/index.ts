import type { Cataloger } from '../types';
import { textCataloger } from '../text-cataloger';
import { purl } from '../purl';
import { projectLockfile } from '../installed-package-files';
import { parseGemfileLock, parseGemspec, type Gem } from './gem';

export { parseGemfileLock, parseGemspec, type Gem } from './gem';

const VERSION = '1.1.0';

function gemCataloger(name: string, wants: (path: string) => boolean, parse: (text: string) => Gem[], what: string, version = VERSION): Cataloger {
  return textCataloger<Gem>({
    name,
    version,
    what,
    wants,
    parse,
    truncated: 'parse',
    toPackage: (g) => ({ ecosystem: 'RubyGems', name: g.name, version: g.version, purl: purl('gem', undefined, g.name, g.version) }),
  });
}

/** Installed gems: `…/specifications/*.gemspec` (the stubs RubyGems writes at install time). */
export const gemspecCataloger: Cataloger = gemCataloger('gem-spec', (p) => /\/specifications\/[^/]+\.gemspec$/.test(p), (t) => [parseGemspec(t)], 'gemspec');

/**
 * Gems locked by Bundler in `Gemfile.lock` (also `gems.locked`, Bundler's alternative name); not the ones
 * gems ship inside `gems/<name>-<version>/` (installed-package-files.ts).
 */
export const gemfileLockCataloger: Cataloger = gemCataloger('gemfile-lock', projectLockfile((p) => p.endsWith('/Gemfile.lock') || p.endsWith('/gems.locked')), parseGemfileLock, 'Gemfile.lock', '1.2.0');
