/**
 * Real npm releases for tests: the tarballs named in npm-fixtures.json, fetched once from the npm
 * registry, checked against the pinned sha512 integrity and cached under /var/cache/trustctl/npm by
 * lib/local/builder/npm-release.ts (the image build fetches its Node runtime the same way). When the
 * registry is unreachable or the bytes differ from the pin, the fetch FAILS: a fixture that silently
 * goes missing proves nothing.
 */
import { type NpmRelease, fetchNpmRelease, unpackNpmTarball } from '../../lib/local/builder/npm-release';
import fixtures from './npm-fixtures.json';

function pinned(name: string, version: string): NpmRelease {
  const f = fixtures.tarballs.find((t) => t.name === name && t.version === version);
  if (!f) throw new Error(`${name}@${version} is not pinned in test/helpers/npm-fixtures.json`);
  return f;
}

/** The cached tarball of a pinned release (fetched and verified when absent or not matching the pin). */
export async function npmTarball(name: string, version: string): Promise<string> {
  return fetchNpmRelease(pinned(name, version));
}

/** Installs a pinned release into `dir` (`…/node_modules/<name>`), as npm unpacks it (the tarball's top folder stripped). */
export async function installNpmPackage(dir: string, name: string, version: string): Promise<void> {
  unpackNpmTarball(await npmTarball(name, version), dir);
}
