/**
 * Real Debian packages fetched with `apt-get download <pkg>=<version>` (the host is Debian 12 bookworm)
 * into a cache under /var/cache/trustctl keyed by package and version, so each .deb is fetched once per
 * machine; unpacked with `dpkg-deb -x`. Used by the tests' fixtures (test/helpers/deb-fixture.ts) and by
 * the image build (./serve-image.ts), which takes the shared libraries of its Node runtime from them.
 * An unreachable archive is an error, never silently skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageBuildError } from '../../engine/errors';

/** Where fetched .deb files are kept, one directory per `package_version`. */
export const DEB_CACHE = '/var/cache/trustctl/debs';

/** Runs a tool and returns its stdout; a non-zero exit throws {@link ImageBuildError} with its stderr. */
export function runTool(cmd: string, args: readonly string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...(cwd ? { cwd } : {}) });
  if (r.status !== 0) throw new ImageBuildError(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`, { cause: r.error });
  return r.stdout;
}

/** A fetched package: its .deb file, name and version. */
export interface DebFile {
  readonly name: string;
  readonly version: string;
  readonly deb: string;
}

/** The candidate version apt would install (`apt-cache show --no-all-versions`). */
export function debCandidateVersion(pkg: string): string {
  const out = runTool('apt-cache', ['show', '--no-all-versions', pkg]);
  const m = /^Version: (.+)$/m.exec(out);
  if (!m) throw new ImageBuildError(`apt-cache show ${pkg}: no Version`);
  return m[1]!;
}

/** The candidate versions of several packages in one `apt-cache show` (each call reads apt's whole cache: seconds). */
export function debCandidateVersions(pkgs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (pkgs.length === 0) return out;
  for (const stanza of runTool('apt-cache', ['show', '--no-all-versions', ...pkgs]).split(/\n\n+/)) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1];
    const version = /^Version: (.+)$/m.exec(stanza)?.[1];
    if (name && version && !out.has(name)) out.set(name, version);
  }
  for (const p of pkgs) if (!out.has(p)) throw new ImageBuildError(`apt-cache show ${p}: no Version`);
  return out;
}

/**
 * Fetches `pkg` at `version` (default: the candidate version) into {@link DEB_CACHE} unless it is there
 * already. A pinned version must still be in the archive the first time (or cached).
 */
export function fetchDeb(pkg: string, version = debCandidateVersion(pkg)): DebFile {
  const dir = join(DEB_CACHE, `${pkg}_${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`);
  const have = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.deb')) : undefined;
  if (have) return { name: pkg, version, deb: join(dir, have) };
  mkdirSync(DEB_CACHE, { recursive: true });
  // Download into a fresh dir, then rename: a concurrent or interrupted fetch never leaves half a cache entry.
  const tmp = mkdtempSync(join(DEB_CACHE, `.${pkg}-`));
  try {
    runTool('apt-get', ['download', `${pkg}=${version}`], tmp);
    const got = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!got) throw new ImageBuildError(`apt-get download ${pkg}=${version} left no .deb`);
    try {
      renameSync(tmp, dir);
    } catch {
      // Another process won the race: use its copy.
      rmSync(tmp, { recursive: true, force: true });
    }
    const f = readdirSync(dir).find((x) => x.endsWith('.deb'))!;
    return { name: pkg, version, deb: join(dir, f) };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Unpacks a .deb's data (`dpkg-deb -x`) into a new temp dir; the caller removes it. */
export function unpackDeb(deb: DebFile): string {
  const dir = mkdtempSync(join(tmpdir(), `trustctl-deb-${deb.name}-`));
  runTool('dpkg-deb', ['-x', deb.deb, dir]);
  return dir;
}

/** The package's control fields as dpkg-deb prints them (`dpkg-deb -f`), without the trailing newlines. */
export function debControl(deb: DebFile): string {
  return runTool('dpkg-deb', ['-f', deb.deb]).replace(/\n+$/, '');
}
