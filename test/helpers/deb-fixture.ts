/**
 * Real Debian packages as test fixtures: `apt-get download <pkg>[=<version>]` (the host is Debian 12
 * bookworm) into a cache under /var/cache/trustctl keyed by package and version, so a clean clone on the
 * same machine type fetches each .deb once; unpacked with `dpkg-deb -x` into a temp dir the caller
 * removes ({@link unpackDeb}), or installed into a root the way dpkg leaves it ({@link installDeb}). An
 * unreachable archive fails the test (nothing is skipped silently).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where fetched .deb files are kept, one directory per `package_version`. */
export const DEB_CACHE = '/var/cache/trustctl/debs';

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...(cwd ? { cwd } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
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
  const out = run('apt-cache', ['show', '--no-all-versions', pkg]);
  const m = /^Version: (.+)$/m.exec(out);
  if (!m) throw new Error(`apt-cache show ${pkg}: no Version`);
  return m[1]!;
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
    run('apt-get', ['download', `${pkg}=${version}`], tmp);
    const got = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!got) throw new Error(`apt-get download ${pkg}=${version} left no .deb`);
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
  run('dpkg-deb', ['-x', deb.deb, dir]);
  return dir;
}

/** The paths a .deb installs (`dpkg-deb -c`), canonical (`/usr/lib/...`), regular files only. */
export function debFileList(deb: DebFile): string[] {
  return run('dpkg-deb', ['-c', deb.deb]).split('\n').filter((l) => l.startsWith('-')).map((l) => {
    const p = l.slice(l.indexOf('./') + 1);
    return p;
  });
}

/** The absolute paths a .deb installs as dpkg writes them into `info/<name>.list`: `/.` first, directories and links included. */
export function dpkgListOf(deb: DebFile): string[] {
  const out = new Set<string>();
  for (const line of run('dpkg-deb', ['-c', deb.deb]).split('\n')) {
    const m = / \.(\/.*?)(?: -> .*| link to .*)?$/.exec(line);
    if (!m) continue;
    out.add(m[1] === '/' ? '/.' : m[1].replace(/\/$/, ''));
  }
  return [...out];
}

/** What {@link installDeb} leaves out, for negative cases. */
export interface InstallOptions {
  /** Write no `/var/lib/dpkg/info/<name>.list`. */
  readonly noFileList?: boolean;
  /** Paths left out of the file list (the files are still unpacked). */
  readonly unlisted?: (path: string) => boolean;
}

/**
 * Installs `deb` into `root` as dpkg would record it: the files unpacked (`dpkg-deb -x`), a
 * `/var/lib/dpkg/status` stanza from the control fields (`dpkg-deb -f`) with `Status: install ok
 * installed` (appended, so several packages can share a root), and `/var/lib/dpkg/info/<name>.list`.
 */
export function installDeb(root: string, deb: DebFile, opts: InstallOptions = {}): { name: string; version: string } {
  run('dpkg-deb', ['-x', deb.deb, root]);
  const control = run('dpkg-deb', ['-f', deb.deb]).replace(/\n+$/, '');
  const name = /^Package: (.+)$/m.exec(control)![1];
  const version = /^Version: (.+)$/m.exec(control)![1];
  const info = join(root, 'var', 'lib', 'dpkg', 'info');
  mkdirSync(info, { recursive: true });
  writeFileSync(join(root, 'var', 'lib', 'dpkg', 'status'), `${control.replace(/^(Package: .+)$/m, '$1\nStatus: install ok installed')}\n\n`, { flag: 'a' });
  if (!opts.noFileList) writeFileSync(join(info, `${name}.list`), `${dpkgListOf(deb).filter((p) => !opts.unlisted?.(p)).join('\n')}\n`);
  return { name, version };
}
