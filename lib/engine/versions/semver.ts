import * as semver from 'semver';
import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/**
 * npm's own parsing: `loose` is what npm applies to the versions it reads (normalize-package-data
 * cleans `version` with `semver.clean(v, loose)`), so `v1.2.3`, `=1.2.3` and ` 1.2.3 ` are 1.2.3.
 */
const NPM = { loose: true } as const;

/**
 * npm and crates.io versions, ordered by npm's `semver` package (https://github.com/npm/node-semver),
 * which implements SemVer 2.0.0 precedence (https://semver.org/#spec-item-11): major.minor.patch
 * numerically, a pre-release below its release, pre-release identifiers numerically when numeric,
 * numeric below alphanumeric, alphanumeric in ASCII order, more identifiers above fewer; build
 * metadata ignored. Parts above `Number.MAX_SAFE_INTEGER` are invalid, as npm has them. Cargo's
 * `semver` crate and Elixir's `Version` (Hex) order the same way (their spellings are a subset of what
 * npm accepts).
 */
export const semverScheme: VersionScheme = {
  name: 'semver',
  version: '1.0.0',
  ecosystems: ['npm', 'crates.io', 'Hex'],
  isValid: (v) => semver.valid(v, NPM) !== null,
  compare(a, b) {
    for (const v of [a, b]) if (semver.valid(v, NPM) === null) throw new InvalidVersionError('semver', v);
    return semver.compare(a, b, NPM);
  },
};

/** The SemVer 2.0.0 grammar (https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string), plus an optional `v`. */
const SEMVER2 =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

const NUMERIC = /^\d+$/;

/** SemVer 2.0.0 §11 precedence of two pre-release strings (undefined = a release). */
function comparePrerelease(x: string | undefined, y: string | undefined): number {
  if (x === y) return 0;
  if (x === undefined) return 1;
  if (y === undefined) return -1;
  const xs = x.split('.');
  const ys = y.split('.');
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const a = xs[i];
    const b = ys[i];
    if (a === b) continue;
    const an = NUMERIC.test(a);
    const bn = NUMERIC.test(b);
    if (an && bn) return compareDigits(a, b);
    if (an !== bn) return an ? -1 : 1;
    return a < b ? -1 : 1;
  }
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1;
}

function parseSemver2(v: string): RegExpExecArray {
  const m = SEMVER2.exec(v);
  if (!m) throw new InvalidVersionError('osv-semver', v, 'not SemVer 2.0.0');
  return m;
}

/** SemVer 2.0.0 §11 precedence of two {@link SEMVER2} matches. */
function compareSemver2(x: RegExpExecArray, y: RegExpExecArray): number {
  for (let i = 1; i <= 3; i++) {
    const c = compareDigits(x[i], y[i]);
    if (c !== 0) return c;
  }
  return comparePrerelease(x[4], y[4]);
}

/**
 * The ordering of OSV `SEMVER` ranges (https://ossf.github.io/osv-schema/#affectedrangestype-field):
 * strict SemVer 2.0.0 (https://semver.org/), numbers of any size, with the leading `v` that Go and
 * other sources write tolerated. Not `MAJOR.MINOR.PATCH` (`1.2`, `1.2.3.4`) is invalid.
 */
export const osvSemverScheme: VersionScheme = {
  name: 'osv-semver',
  version: '1.0.0',
  ecosystems: [],
  isValid: (v) => SEMVER2.test(v),
  compare: (a, b) => compareSemver2(parseSemver2(a), parseSemver2(b)),
  parse: (v) => SEMVER2.exec(v) ?? undefined,
  compareParsed: (a, b) => compareSemver2(a as RegExpExecArray, b as RegExpExecArray),
};
