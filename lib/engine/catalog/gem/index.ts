import type { CatalogFile, CatalogResult, Cataloger } from '../types';
import type { Package, Unknown } from '../../model';
import { purl } from '../purl';
import { parseGemfileLock, parseGemspec, type Gem } from './gem';

export { parseGemfileLock, parseGemspec, type Gem } from './gem';

const VERSION = '1.0.0';

function textCataloger(name: string, wants: (path: string) => boolean, parse: (text: string) => Gem[], what: string): Cataloger {
  return {
    name,
    version: VERSION,
    wants,
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      for (const f of files) {
        if (f.truncated) unknowns.push({ layer: f.layer, path: f.path, reason: `${what} truncated at the read limit; parsed as far as read` });
        try {
          for (const g of parse(f.body.toString('utf8'))) {
            packages.push({
              ecosystem: 'RubyGems',
              name: g.name,
              version: g.version,
              purl: purl('gem', undefined, g.name, g.version),
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

/** Installed gems: `…/specifications/*.gemspec` (the stubs RubyGems writes at install time). */
export const gemspecCataloger: Cataloger = textCataloger('gem-spec', (p) => /\/specifications\/[^/]+\.gemspec$/.test(p), (t) => [parseGemspec(t)], 'gemspec');

/** Gems locked by Bundler in `Gemfile.lock` (also `gems.locked`, Bundler's alternative name). */
export const gemfileLockCataloger: Cataloger = textCataloger('gemfile-lock', (p) => p.endsWith('/Gemfile.lock') || p.endsWith('/gems.locked'), parseGemfileLock, 'Gemfile.lock');
