/**
 * Real Debian packages as test fixtures: `apt-get download <pkg>[=<version>]` (the host is Debian 12
 * bookworm) into a cache under /var/cache/trustctl keyed by package and version, so a clean clone on the
 * same machine type fetches each .deb once; unpacked with `dpkg-deb -x` into a temp dir the caller
 * removes ({@link unpackDeb}), or installed into a root the way dpkg leaves it ({@link installDeb}). An
 * unreachable archive fails the test (nothing is skipped silently).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DebFile, debControl, runTool as run } from '../../lib/local/builder/debian-packages';

// Fetching and unpacking live in lib/ since the image build (`npm run image`) needs them too.
export { DEB_CACHE, type DebFile, debCandidateVersion, fetchDeb, unpackDeb } from '../../lib/local/builder/debian-packages';

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
  const control = debControl(deb);
  const name = /^Package: (.+)$/m.exec(control)![1];
  const version = /^Version: (.+)$/m.exec(control)![1];
  const info = join(root, 'var', 'lib', 'dpkg', 'info');
  mkdirSync(info, { recursive: true });
  writeFileSync(join(root, 'var', 'lib', 'dpkg', 'status'), `${control.replace(/^(Package: .+)$/m, '$1\nStatus: install ok installed')}\n\n`, { flag: 'a' });
  if (!opts.noFileList) writeFileSync(join(info, `${name}.list`), `${dpkgListOf(deb).filter((p) => !opts.unlisted?.(p)).join('\n')}\n`);
  return { name, version };
}
