/**
 * Real npm releases for tests: the tarballs named in npm-fixtures.json, fetched once from the npm
 * registry (`https://registry.npmjs.org/<name>/-/<name>-<version>.tgz`), checked against the pinned
 * sha512 integrity (Subresource Integrity form, as the registry's `dist.integrity`), cached under
 * /var/cache/trustctl/npm and unpacked where a test wants the package installed. When the registry is
 * unreachable or the bytes differ from the pin, the fetch FAILS: a fixture that silently goes missing
 * proves nothing.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fixtures from './npm-fixtures.json';

/** Where fetched tarballs are kept between runs. */
export const NPM_CACHE = process.env.TRUSTCTL_NPM_CACHE ?? '/var/cache/trustctl/npm';

/** One pinned release. */
export interface NpmFixture {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

function pinned(name: string, version: string): NpmFixture {
  const f = fixtures.tarballs.find((t) => t.name === name && t.version === version);
  if (!f) throw new Error(`${name}@${version} is not pinned in test/helpers/npm-fixtures.json`);
  return f;
}

function integrityOf(bytes: Buffer): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** The cached tarball of a pinned release (fetched and verified when absent or not matching the pin). */
export async function npmTarball(name: string, version: string): Promise<string> {
  const f = pinned(name, version);
  const file = join(NPM_CACHE, `${name.replace('/', '__')}-${version}.tgz`);
  if (existsSync(file) && integrityOf(readFileSync(file)) === f.integrity) return file;
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  const url = `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  const got = integrityOf(bytes);
  if (got !== f.integrity) throw new Error(`${url}: integrity ${got} is not the pinned ${f.integrity}`);
  mkdirSync(NPM_CACHE, { recursive: true });
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Installs a pinned release into `dir` (`…/node_modules/<name>`), as npm unpacks it (the tarball's top folder stripped). */
export async function installNpmPackage(dir: string, name: string, version: string): Promise<void> {
  const tgz = await npmTarball(name, version);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1', '--no-same-owner'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${tgz}: ${r.stderr}`);
}
