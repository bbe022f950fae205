import type { Cataloger } from '../types';
import { textCataloger } from '../text-cataloger';
import { purl } from '../purl';
import { parseDepsJson, parseNugetLock, type DotnetLibrary } from './deps-json';

export { parseDepsJson, parseNugetLock, type DotnetLibrary } from './deps-json';

const VERSION = '1.1.0';

function jsonCataloger(name: string, wants: (path: string) => boolean, parse: (text: string) => DotnetLibrary[], what: string): Cataloger {
  return textCataloger<DotnetLibrary>({
    name,
    version: VERSION,
    what,
    wants,
    parse,
    truncated: 'skip',
    toPackage: (l) => ({ ecosystem: 'NuGet', name: l.name, version: l.version, purl: purl('nuget', undefined, l.name, l.version) }),
  });
}

/**
 * NuGet packages from `*.deps.json` next to a deployed .NET application. `project` libraries (the
 * application and its project references) are reported too, as trivy does: they are part of the
 * inventory, and their names are the assembly names a NuGet advisory would use if published.
 */
export const dotnetDepsCataloger: Cataloger = jsonCataloger('dotnet-deps', (p) => p.endsWith('.deps.json'), parseDepsJson, 'deps.json');

/** NuGet packages from `packages.lock.json` (all target frameworks, each name@version once). */
export const nugetLockCataloger: Cataloger = jsonCataloger('nuget-lock', (p) => p.endsWith('/packages.lock.json'), parseNugetLock, 'packages.lock.json');
