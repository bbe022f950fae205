import type { CatalogFile, CatalogResult, Cataloger } from '../types';
import type { Package, Unknown } from '../../model';
import { purl } from '../purl';
import { parseDepsJson, parseNugetLock, type DotnetLibrary } from './deps-json';

export { parseDepsJson, parseNugetLock, type DotnetLibrary } from './deps-json';

const VERSION = '1.0.0';

function jsonCataloger(name: string, wants: (path: string) => boolean, parse: (text: string) => DotnetLibrary[], what: string): Cataloger {
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
          for (const l of parse(f.body.toString('utf8').replace(/^\uFEFF/, ''))) {
            packages.push({
              ecosystem: 'NuGet',
              name: l.name,
              version: l.version,
              purl: purl('nuget', undefined, l.name, l.version),
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
 * NuGet packages from `*.deps.json` next to a deployed .NET application. `project` libraries (the
 * application and its project references) are reported too, as trivy does: they are part of the
 * inventory, and their names are the assembly names a NuGet advisory would use if published.
 */
export const dotnetDepsCataloger: Cataloger = jsonCataloger('dotnet-deps', (p) => p.endsWith('.deps.json'), parseDepsJson, 'deps.json');

/** NuGet packages from `packages.lock.json` (all target frameworks, each name@version once). */
export const nugetLockCataloger: Cataloger = jsonCataloger('nuget-lock', (p) => p.endsWith('/packages.lock.json'), parseNugetLock, 'packages.lock.json');
