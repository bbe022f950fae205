/**
 * Real Debian packages as test fixtures: `apt-get download <pkg>` (the host is Debian 12 bookworm) into
 * a cache under /var/cache/trustctl keyed by package and version, so a clean clone on the same machine
 * type fetches each .deb once; unpacked with `dpkg-deb -x` into a temp dir the caller removes. An
 * unreachable archive fails the test (nothing is skipped silently).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
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

/** Fetches `pkg` (the candidate version) into {@link DEB_CACHE} unless it is there already. */
export function fetchDeb(pkg: string): DebFile {
  const version = debCandidateVersion(pkg);
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
