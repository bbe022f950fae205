import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/*
 * A port of golang.org/x/mod/semver (https://cs.opensource.google/go/x/mod/+/master:semver/semver.go),
 * the package the go command orders module versions with (https://go.dev/ref/mod#versions).
 */

interface Parsed {
  major: string;
  minor: string;
  patch: string;
  /** `-pre.release` including the dash, or '' for a release. */
  prerelease: string;
}

const NUM = /^(0|[1-9][0-9]*)$/;
const IDENT = /^[0-9A-Za-z-]+$/;
const SHAPE = /^v([0-9]+)(?:\.([0-9]+)(?:\.([0-9]+))?)?(?:-([^+]*))?(?:\+(.*))?$/;

/**
 * x/mod/semver's parse(): `v`, then major, `.minor` and `.patch` (the shorthands `v1` and `v1.2` only
 * without pre-release or build), `-pre.release`, `+build`; no leading zeros in numbers or in numeric
 * pre-release identifiers.
 */
function parse(v: string): Parsed | undefined {
  const m = SHAPE.exec(v);
  if (!m) return undefined;
  const [, major, minor, patch, pre, build] = m;
  if (!NUM.test(major) || (minor !== undefined && !NUM.test(minor)) || (patch !== undefined && !NUM.test(patch))) return undefined;
  if (patch === undefined && (pre !== undefined || build !== undefined)) return undefined;
  if (pre !== undefined && pre.split('.').some((p) => !IDENT.test(p) || (/^[0-9]+$/.test(p) && !NUM.test(p)))) return undefined;
  if (build !== undefined && build.split('.').some((p) => !IDENT.test(p))) return undefined;
  return { major, minor: minor ?? '0', patch: patch ?? '0', prerelease: pre !== undefined ? `-${pre}` : '' };
}

/** x/mod/semver's comparePrerelease(): SemVer 2.0.0 §11 on identifiers. */
function comparePrerelease(x: string, y: string): number {
  if (x === y) return 0;
  if (x === '') return 1;
  if (y === '') return -1;
  const xs = x.slice(1).split('.');
  const ys = y.slice(1).split('.');
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const a = xs[i];
    const b = ys[i];
    if (a === b) continue;
    const an = /^[0-9]+$/.test(a);
    const bn = /^[0-9]+$/.test(b);
    if (an && bn) return compareDigits(a, b);
    if (an !== bn) return an ? -1 : 1;
    return a < b ? -1 : 1;
  }
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1;
}

/** x/mod/semver.IsValid: `v` must be a `v`-prefixed semantic version. */
export function goSemverValid(v: string): boolean {
  return parse(v) !== undefined;
}

/**
 * x/mod/semver.Canonical: `vMAJOR.MINOR.PATCH[-pre]` with missing parts filled in and build metadata
 * dropped; '' for an invalid version. Two versions compare equal exactly when their canonical forms do.
 */
export function goSemverCanonical(v: string): string {
  const p = parse(v);
  return p ? `v${p.major}.${p.minor}.${p.patch}${p.prerelease}` : '';
}

/**
 * x/mod/semver.Compare, exactly: -1, 0 or 1; build metadata (so `+incompatible`) ignored; an invalid
 * version is equal to any other invalid one and below every valid one. {@link goScheme} refuses
 * invalid versions instead.
 */
export function goSemverCompare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (!x) return y ? -1 : 0;
  if (!y) return 1;
  return compareDigits(x.major, y.major) || compareDigits(x.minor, y.minor) || compareDigits(x.patch, y.patch) || comparePrerelease(x.prerelease, y.prerelease);
}

const withV = (v: string): string => (v.startsWith('v') ? v : `v${v}`);

/**
 * Go modules (https://go.dev/ref/mod#versions), ordered by x/mod/semver: semantic versions
 * (`v1.2.3`, `v1.2.3-rc.1`), pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, pre-releases that
 * order by their timestamp) and `+incompatible` (build metadata, ignored). OSV's Go records
 * (https://go.dev/security/vuln/database#schema) and the Go standard library's versions are written
 * without the `v`, so both spellings are accepted: `1.2.3` is `v1.2.3`.
 */
export const goScheme: VersionScheme = {
  name: 'go',
  version: '1.0.0',
  ecosystems: ['Go'],
  isValid: (v) => goSemverValid(withV(v)),
  compare(a, b) {
    for (const v of [a, b]) if (!goSemverValid(withV(v))) throw new InvalidVersionError('go', v);
    return goSemverCompare(withV(a), withV(b));
  },
};
