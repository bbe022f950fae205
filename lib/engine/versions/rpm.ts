import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);

/**
 * rpmvercmp() of one version or release string, a port of rpm's rpmio/rpmvercmp.c
 * (https://github.com/rpm-software-management/rpm/blob/master/rpmio/rpmvercmp.c). The string is read as
 * runs of ASCII digits or ASCII letters; every other character only separates runs, except `~`, which
 * sorts before anything (even the end: `1.0~rc1 < 1.0`), and `^`, which sorts after the end but before
 * anything else (`1.0 < 1.0^git1 < 1.0.1`). Digit runs compare by value and beat letter runs; letter
 * runs compare bytewise; the string with runs left over is the greater. Returns -1, 0 or 1.
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const inRun = numeric ? isDigit : isAlpha;
    let ie = i;
    let je = j;
    while (ie < a.length && inRun(a[ie])) ie++;
    while (je < b.length && inRun(b[je])) je++;
    // Runs of different kinds: the numeric one is newer (rpm: "numeric segments are always newer than alpha").
    if (je === j) return numeric ? 1 : -1;
    const x = a.slice(i, ie);
    const y = b.slice(j, je);
    const c = numeric ? compareDigits(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** An RPM `[epoch:]version[-release]`, split as rpm's parseEVR() splits it. */
export interface Evr {
  /** The digits before a leading `:` (`''` before the colon means 0); undefined without one. */
  readonly epoch: string | undefined;
  readonly version: string;
  /** What follows the last `-`; undefined when there is none. */
  readonly release: string | undefined;
}

/**
 * Splits an EVR as rpm's parseEVR() (lib/rpmds.c) does: an epoch only when the string starts with
 * digits (or nothing) followed by `:`, so `1.m+e2:1` has none; the release after the last `-`.
 */
export function parseEvr(s: string): Evr {
  let i = 0;
  while (isDigit(s[i])) i++;
  const hasEpoch = s[i] === ':';
  const epoch = hasEpoch ? s.slice(0, i) || '0' : undefined;
  const rest = hasEpoch ? s.slice(i + 1) : s;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: undefined };
}

/**
 * Orders two EVRs: epoch (missing = 0), then version, then release, each with {@link rpmvercmp}
 * (rpm's rpmverCmp(), lib/rpmver.c). rpm skips the release when one side has none, which makes `1`
 * equal to both `1-1` and `1-2`; to keep the order total we put a missing release below any release,
 * as osv-scalibr's Red Hat comparator does (`1 < 1-0`). OSV RPM records always carry a release.
 */
export function compareEvr(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  const e = rpmvercmp(x.epoch ?? '0', y.epoch ?? '0');
  if (e !== 0) return e;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0) return v;
  if (x.release === undefined || y.release === undefined) return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
  return rpmvercmp(x.release, y.release);
}

/** Longest EVR accepted: far beyond any real package, and it bounds the work per comparison. */
const MAX_LENGTH = 1024;

/**
 * rpm accepts almost any string as a version; we refuse the ones no package can carry: empty, longer
 * than {@link MAX_LENGTH}, or containing whitespace or control characters (rpmbuild rejects those
 * in Version and Release).
 */
export function rpmValid(v: string): boolean {
  return v.length > 0 && v.length <= MAX_LENGTH && !/[\s\u0000-\u001f\u007f]/.test(v) && parseEvr(v).version !== '';
}

/**
 * RPM-based distributions: `[epoch:]version-release` ordered as rpm orders installed packages
 * (see {@link compareEvr}), each part with rpmvercmp, including `~` (pre-release) and `^` (snapshot).
 */
export const rpmScheme: VersionScheme = {
  name: 'rpm',
  version: '1.0.0',
  ecosystems: ['RPM', 'Red Hat', 'AlmaLinux', 'Rocky Linux', 'openSUSE', 'SUSE', 'Mageia', 'openEuler', 'Photon OS', 'Azure Linux'],
  isValid: rpmValid,
  compare(a, b) {
    for (const v of [a, b]) if (!rpmValid(v)) throw new InvalidVersionError('rpm', v);
    return compareEvr(a, b);
  },
};
