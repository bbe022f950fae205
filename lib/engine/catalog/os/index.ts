import type { OsInfo } from '../../model/os';
/**
 * Operating-system detection from the release files of an image's root filesystem. Primary source is
 * os-release(5) (`/etc/os-release`, falling back to `/usr/lib/os-release`); older or minimal images are
 * recognised by `/etc/alpine-release`, `/etc/redhat-release` and `/etc/debian_version`.
 */

export type { OsInfo } from '../../model/os';

/** Release files, in the order they are consulted. */
export const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release', '/etc/alpine-release', '/etc/redhat-release', '/etc/debian_version'] as const;

const WANTED = new Set<string>(OS_RELEASE_FILES);

/** True for the files {@link detectOs} reads. */
export function osWants(path: string): boolean {
  return WANTED.has(path);
}

/**
 * Parses os-release(5) text: `KEY=value` lines, `#` comments, values optionally in single or double
 * quotes; inside double quotes a backslash escapes `"`, `\`, `$` and `` ` `` (shell rules, which
 * os-release(5) adopts); unquoted values may use the same backslash escapes.
 */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    out.set(m[1], unquote(m[2]));
  }
  return out;
}

function unquote(v: string): string {
  let out = '';
  let i = 0;
  while (i < v.length) {
    const c = v[i];
    if (c === "'") {
      const end = v.indexOf("'", i + 1);
      const stop = end < 0 ? v.length : end;
      out += v.slice(i + 1, stop);
      i = stop + 1;
    } else if (c === '"') {
      i++;
      while (i < v.length && v[i] !== '"') {
        if (v[i] === '\\' && i + 1 < v.length && '"\\$`'.includes(v[i + 1])) { out += v[i + 1]; i += 2; } else { out += v[i]; i++; }
      }
      i++;
    } else if (c === '\\' && i + 1 < v.length) {
      out += v[i + 1]; i += 2;
    } else if (c === '#' && /\s/.test(v[i - 1] ?? '')) {
      break; // trailing shell comment
    } else {
      out += c; i++;
    }
  }
  return out.trim();
}

const REDHAT_IDS: ReadonlyArray<[RegExp, string]> = [
  [/^Red Hat Enterprise Linux/i, 'rhel'],
  [/^CentOS Stream/i, 'centos'],
  [/^CentOS/i, 'centos'],
  [/^Rocky Linux/i, 'rocky'],
  [/^AlmaLinux/i, 'almalinux'],
  [/^Fedora/i, 'fedora'],
  [/^Oracle Linux/i, 'ol'],
  [/^Amazon Linux/i, 'amzn'],
];

/**
 * Detects the OS from an image's release files. `read` returns a file's bytes by canonical absolute
 * path (e.g. `/etc/os-release`) or undefined when the image has no such file.
 */
export function detectOs(read: (path: string) => Buffer | undefined): OsInfo | undefined {
  for (const source of ['/etc/os-release', '/usr/lib/os-release']) {
    const body = read(source);
    if (!body) continue;
    const kv = parseOsRelease(body.toString('utf8'));
    const id = kv.get('ID')?.toLowerCase();
    if (!id) continue;
    const codename = kv.get('VERSION_CODENAME');
    const pretty = kv.get('PRETTY_NAME');
    return {
      id, versionId: kv.get('VERSION_ID') ?? '', source,
      ...(codename ? { versionCodename: codename } : {}),
      ...(pretty ? { prettyName: pretty } : {}),
    };
  }
  const alpine = read('/etc/alpine-release')?.toString('utf8').trim();
  if (alpine) return { id: 'alpine', versionId: alpine, source: '/etc/alpine-release' };
  const redhat = read('/etc/redhat-release')?.toString('utf8').trim();
  if (redhat) {
    // e.g. "Red Hat Enterprise Linux release 9.3 (Plow)", "CentOS Linux release 7.9.2009 (Core)".
    const m = /^(.*?)\s+release\s+(\S+)(?:\s+\(([^)]*)\))?/i.exec(redhat);
    const id = REDHAT_IDS.find(([re]) => re.test(redhat))?.[1];
    if (m && id) {
      return { id, versionId: m[2], source: '/etc/redhat-release', prettyName: redhat, ...(m[3] ? { versionCodename: m[3] } : {}) };
    }
  }
  const debian = read('/etc/debian_version')?.toString('utf8').trim();
  // "12.11" on stable releases, "trixie/sid" on testing/unstable (and on Ubuntu, which has os-release).
  if (debian) {
    if (/^\d+(\.\d+)*$/.test(debian)) return { id: 'debian', versionId: debian, source: '/etc/debian_version' };
    const m = /^([a-z]+)\/sid$/.exec(debian);
    return { id: 'debian', versionId: '', source: '/etc/debian_version', ...(m ? { versionCodename: m[1] } : {}) };
  }
  return undefined;
}

/**
 * The OSV ecosystem string of an OS release (https://ossf.github.io/osv-schema/#affectedpackage-field):
 * `Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS` (LTS = even year, April release) or `Ubuntu:23.10`,
 * `Rocky Linux:9`, `AlmaLinux:9`. Undefined when the release is unknown or has no OSV ecosystem.
 */
export function distroRelease(os: Pick<OsInfo, 'id' | 'versionId'>): string | undefined {
  const parts = os.versionId.split('.');
  const major = parts[0];
  if (!/^\d+$/.test(major ?? '')) return undefined;
  switch (os.id) {
    case 'debian': return `Debian:${major}`;
    case 'alpine': return parts.length >= 2 ? `Alpine:v${major}.${parts[1]}` : undefined;
    case 'ubuntu': {
      const m = /^(\d{2})\.(\d{2})/.exec(os.versionId);
      if (!m) return undefined;
      const lts = m[2] === '04' && Number(m[1]) % 2 === 0;
      return `Ubuntu:${m[1]}.${m[2]}${lts ? ':LTS' : ''}`;
    }
    case 'rocky': return `Rocky Linux:${major}`;
    case 'almalinux': return `AlmaLinux:${major}`;
    default: return undefined;
  }
}
