/**
 * Real Debian packages for tests: a `.deb` fetched once from Debian's archive with `apt-get download`
 * (the host is bookworm, as the ground-truth root), cached under /var/cache/trustctl keyed by package
 * and version, and installed into a temp root the way dpkg would leave it — the files unpacked
 * (`dpkg-deb -x`), a `/var/lib/dpkg/status` stanza from the control fields (`dpkg-deb -f`) with
 * `Status: install ok installed`, and the file list `/var/lib/dpkg/info/<name>.list` from the archive's
 * members (`dpkg-deb -c`). When the archive is unreachable the fetch FAILS: a fixture that silently
 * goes missing proves nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** Where fetched .deb files are kept between runs. */
export const DEB_CACHE = process.env.TRUSTCTL_DEB_CACHE ?? '/var/cache/trustctl/debs';

function run(cmd: string, args: readonly string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/**
 * The cached `.deb` of `name` at exactly `version` (fetched with `apt-get download name=version` when
 * absent). Its control fields are checked against what was asked.
 */
export function debFile(name: string, version: string): string {
  const dir = join(DEB_CACHE, `${name}_${version.replace(/:/g, '%3a')}`);
  const existing = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.deb')) : [];
  let file = existing.length === 1 ? join(dir, existing[0]) : undefined;
  if (!file) {
    mkdirSync(DEB_CACHE, { recursive: true });
    const tmp = mkdtempSync(join(DEB_CACHE, '.fetch-'));
    try {
      run('apt-get', ['download', '-q', `${name}=${version}`], tmp);
      const got = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
      if (got.length !== 1) throw new Error(`apt-get download ${name}=${version} gave ${got.length} .deb files`);
      mkdirSync(dir, { recursive: true });
      renameSync(join(tmp, got[0]), join(dir, got[0]));
      file = join(dir, got[0]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const control = run('dpkg-deb', ['-f', file, 'Package', 'Version']);
  if (!control.includes(`Package: ${name}\n`) || !control.includes(`Version: ${version}\n`)) throw new Error(`${file} is not ${name} ${version}: ${control}`);
  return file;
}

/** The absolute paths a .deb installs, as dpkg writes them into `info/<name>.list` (`/.` first). */
export function debFileList(deb: string): string[] {
  const out = new Set<string>();
  for (const line of run('dpkg-deb', ['-c', deb]).split('\n')) {
    const m = / \.(\/.*?)(?: -> .*| link to .*)?$/.exec(line);
    if (!m) continue;
    const path = m[1] === '/' ? '/.' : m[1].replace(/\/$/, '');
    out.add(path);
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
 * Installs `deb` into `root` as dpkg would record it (see the module comment); appends to an existing
 * status file so that several packages can be installed into one root.
 */
export function installDeb(root: string, deb: string, opts: InstallOptions = {}): { name: string; version: string } {
  run('dpkg-deb', ['-x', deb, root]);
  const control = run('dpkg-deb', ['-f', deb]).replace(/\n+$/, '');
  const name = /^Package: (.+)$/m.exec(control)![1];
  const version = /^Version: (.+)$/m.exec(control)![1];
  const info = join(root, 'var', 'lib', 'dpkg', 'info');
  mkdirSync(info, { recursive: true });
  const stanza = control.replace(/^(Package: .+)$/m, '$1\nStatus: install ok installed');
  writeFileSync(join(root, 'var', 'lib', 'dpkg', 'status'), `${stanza}\n\n`, { flag: 'a' });
  if (!opts.noFileList) {
    const files = debFileList(deb).filter((p) => !opts.unlisted?.(p));
    writeFileSync(join(info, `${name}.list`), `${files.join('\n')}\n`);
  }
  return { name, version };
}
