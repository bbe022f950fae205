import { InvalidVersionError, type VersionScheme } from './scheme';

/*
 * Debian package versions, `[epoch:]upstream_version[-debian_revision]`, per Debian Policy §5.6.12
 * (https://www.debian.org/doc/debian-policy/ch-controlfields.html#version) and dpkg's own code:
 * parseversion() in lib/dpkg/parsehelp.c and verrevcmp() in lib/dpkg/version.c
 * (https://git.dpkg.org/cgit/dpkg/dpkg.git/tree/lib/dpkg/version.c).
 */

/** A Debian version split into its parts. */
export interface DpkgVersion {
  readonly epoch: number;
  readonly upstream: string;
  /** '' when the version has no `-revision` (which then compares equal to `0`). */
  readonly revision: string;
}

/** C's isspace() in the C locale, which dpkg uses; JavaScript's `\s` is wider. */
const SPACE = /[ \t\n\v\f\r]/;
const TRIM = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

/**
 * Parses a version as dpkg's parseversion() does. Returns the reason for a version dpkg rejects,
 * whether as an error (empty, embedded space, bad epoch, empty upstream or revision) or with a
 * warning (upstream not starting with a digit, a character outside `[A-Za-z0-9.+~:-]` in the
 * upstream or `[A-Za-z0-9.+~]` in the revision): Dpkg::Version's is_valid() refuses both kinds.
 */
export function parseDpkgVersion(v: string): DpkgVersion | string {
  const s = v.replace(TRIM, '');
  if (s === '') return 'version string is empty';
  if (SPACE.test(s)) return 'version string has embedded spaces';
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e === '') return 'epoch in version is empty';
    if (!/^[0-9]+$/.test(e)) return 'epoch in version is not number';
    if (e.replace(/^0+/, '').length > 10 || Number(e) > 2147483647) return 'epoch in version is too big';
    epoch = Number(e);
    rest = s.slice(colon + 1);
    if (rest === '') return 'nothing after colon in version number';
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (dash >= 0 && revision === '') return 'revision number is empty';
  if (upstream === '') return 'version number is empty';
  if (!/^[0-9]/.test(upstream)) return 'version number does not start with digit';
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) return 'invalid character in version number';
  if (!/^[A-Za-z0-9.+~]*$/.test(revision)) return 'invalid character in revision number';
  return { epoch, upstream, revision };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** dpkg's order(): `~` before everything (even the end), then the end and digits, letters, then the rest. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/**
 * dpkg's verrevcmp() on an upstream version or a revision: alternating non-digit runs (compared
 * character by character with {@link order}) and digit runs (compared by value, any length).
 * Returns -1, 0 or 1.
 */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return Math.sign(ac - bc);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return Math.sign(firstDiff);
  }
  return 0;
}

/** dpkg_version_compare(): epoch, then upstream, then revision. Returns -1, 0 or 1. */
export function compareDpkgVersions(x: DpkgVersion, y: DpkgVersion): number {
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
}

function parseOrThrow(v: string): DpkgVersion {
  const p = parseDpkgVersion(v);
  if (typeof p === 'string') throw new InvalidVersionError('dpkg', v, p);
  return p;
}

/**
 * Debian and Ubuntu package versions, ordered as `dpkg --compare-versions` orders them: epoch
 * numerically, then upstream version and revision with verrevcmp (`~` sorts before anything, even the
 * end, so `1.0~rc1 < 1.0`; letters before other characters; digit runs by value). A missing revision
 * equals `0`.
 */
export const dpkgScheme: VersionScheme = {
  name: 'dpkg',
  version: '1.0.0',
  ecosystems: ['Debian', 'Ubuntu'],
  isValid: (v) => typeof parseDpkgVersion(v) !== 'string',
  compare: (a, b) => compareDpkgVersions(parseOrThrow(a), parseOrThrow(b)),
  parse: (v) => {
    const p = parseDpkgVersion(v);
    return typeof p === 'string' ? undefined : p;
  },
  compareParsed: (a, b) => compareDpkgVersions(a as DpkgVersion, b as DpkgVersion),
};
