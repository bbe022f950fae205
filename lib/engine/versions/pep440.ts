import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/*
 * PEP 440 (https://peps.python.org/pep-0440/), as pypa/packaging's `Version` implements it
 * (https://github.com/pypa/packaging/blob/main/src/packaging/version.py) — what pip orders with.
 * Our own port rather than an npm package: the one candidate (@renovatebot/pep440 4.2.1) reads numbers
 * with `Number` (wrong past 2^53), throws on surrounding whitespace that packaging accepts, and
 * mis-prints local versions. Numbers here are digit strings compared by value, like Python's ints.
 *
 * Versions that are not PEP 440 (setuptools' old "legacy" versions such as `0.1-bulbasaur`) are
 * invalid, as they are to packaging ≥ 22 and so to pip.
 */

/** packaging's VERSION_PATTERN, matched case-insensitively with surrounding whitespace allowed. */
const PATTERN = new RegExp(
  [
    '^\\s*v?',
    '(?:(?<epoch>[0-9]+)!)?',
    '(?<release>[0-9]+(?:\\.[0-9]+)*)',
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?',
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?',
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?',
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?',
    '\\s*$',
  ].join(''),
  'i',
);

/** A parsed PEP 440 version; numbers are digit strings without leading zeros. */
export interface Pep440Version {
  readonly epoch: string;
  readonly release: readonly string[];
  /** `a`, `b` or `rc` and its number. */
  readonly pre?: readonly [letter: 'a' | 'b' | 'rc', n: string];
  readonly post?: string;
  readonly dev?: string;
  /** Local segments, lower-cased; numeric ones without leading zeros. */
  readonly local?: readonly string[];
}

const int = (s: string | undefined): string => (s ?? '0').replace(/^0+(?=\d)/, '');
const isNum = (s: string): boolean => /^[0-9]+$/.test(s);

/** Parses a PEP 440 version as packaging's `Version()` does; undefined when it is not one. */
export function parsePep440(v: string): Pep440Version | undefined {
  const g = PATTERN.exec(v)?.groups;
  if (!g) return undefined;
  const preLetter = g.pre_l?.toLowerCase();
  const pre = preLetter === undefined ? undefined : ([preLetter === 'alpha' || preLetter === 'a' ? 'a' : preLetter === 'beta' || preLetter === 'b' ? 'b' : 'rc', int(g.pre_n)] as const);
  const post = g.post === undefined ? undefined : int(g.post_n1 ?? g.post_n2);
  const dev = g.dev === undefined ? undefined : int(g.dev_n);
  const local = g.local?.toLowerCase().split(/[-_.]/).map((p) => (isNum(p) ? int(p) : p));
  return { epoch: int(g.epoch), release: g.release.split('.').map(int), ...(pre && { pre }), ...(post !== undefined && { post }), ...(dev !== undefined && { dev }), ...(local && { local }) };
}

/** The normalised spelling of a PEP 440 version (packaging's `str(Version(v))`); undefined when invalid. */
export function normalizePep440(v: string): string | undefined {
  const p = parsePep440(v);
  if (!p) return undefined;
  return [
    p.epoch !== '0' ? `${p.epoch}!` : '',
    p.release.join('.'),
    p.pre ? p.pre.join('') : '',
    p.post !== undefined ? `.post${p.post}` : '',
    p.dev !== undefined ? `.dev${p.dev}` : '',
    p.local ? `+${p.local.join('.')}` : '',
  ].join('');
}

const NEG = -1; // stands for packaging's NegativeInfinity
const POS = 1; // stands for packaging's Infinity

/** Compares two slots of packaging's sort key, where a slot is ±infinity or a value. */
function slot<T>(x: T | number, y: T | number, cmp: (a: T, b: T) => number): number {
  const xi = typeof x === 'number';
  const yi = typeof y === 'number';
  if (xi && yi) return (x as number) - (y as number);
  if (xi) return x as number;
  if (yi) return -(y as number);
  return cmp(x as T, y as T);
}

function compareRelease(a: readonly string[], b: readonly string[]): number {
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const trim = (r: readonly string[]): readonly string[] => {
    let n = r.length;
    while (n > 0 && r[n - 1] === '0') n--;
    return r.slice(0, n);
  };
  const x = trim(a);
  const y = trim(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareDigits(x[i], y[i]);
    if (c !== 0) return c;
  }
  return Math.sign(x.length - y.length);
}

/** Local segments: numeric above alphanumeric, numbers by value, strings lexically, longer above shorter. */
function compareLocal(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const an = isNum(a[i]);
    const bn = isNum(b[i]);
    if (an !== bn) return an ? 1 : -1;
    const c = an ? compareDigits(a[i], b[i]) : a[i] < b[i] ? -1 : a[i] > b[i] ? 1 : 0;
    if (c !== 0) return c;
  }
  return Math.sign(a.length - b.length);
}

/**
 * packaging's `_cmpkey` order: epoch, release, then pre-release (a lone `.devN` sorts below every
 * pre-release; no pre-release sorts above them), post-release (none below any), dev release (none above
 * any), local version (none below any). Returns -1, 0 or 1.
 */
export function comparePep440(x: Pep440Version, y: Pep440Version): number {
  const preKey = (v: Pep440Version): NonNullable<Pep440Version['pre']> | number => (v.pre ?? (v.post === undefined && v.dev !== undefined ? NEG : POS));
  const c =
    compareDigits(x.epoch, y.epoch) ||
    compareRelease(x.release, y.release) ||
    slot(preKey(x), preKey(y), (a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : compareDigits(a[1], b[1]))) ||
    slot(x.post ?? NEG, y.post ?? NEG, compareDigits) ||
    slot(x.dev ?? POS, y.dev ?? POS, compareDigits) ||
    slot(x.local ?? NEG, y.local ?? NEG, compareLocal);
  return Math.sign(c);
}

function parseOrThrow(v: string): Pep440Version {
  const p = parsePep440(v);
  if (!p) throw new InvalidVersionError('pep440', v, 'not a PEP 440 version');
  return p;
}

/**
 * PyPI versions, ordered by PEP 440
 * (https://peps.python.org/pep-0440/#summary-of-permitted-suffixes-and-relative-ordering): epoch, release
 * numbers, `.devN` < `aN` < `bN` < `rcN` < release < `.postN`, a local version (`+ubuntu1`) above its
 * public version; spellings normalised (`1.0-RC1` is `1.0rc1`, `1.0-1` is `1.0.post1`).
 */
export const pep440Scheme: VersionScheme = {
  name: 'pep440',
  version: '1.0.0',
  ecosystems: ['PyPI'],
  isValid: (v) => parsePep440(v) !== undefined,
  compare: (a, b) => comparePep440(parseOrThrow(a), parseOrThrow(b)),
  parse: (v) => parsePep440(v),
  compareParsed: (a, b) => comparePep440(a as Pep440Version, b as Pep440Version),
};
