import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/*
 * Packagist (Composer) versions, ordered the way osv-scanner / osv-scalibr order them
 * (https://github.com/google/osv-scalibr/blob/main/semantic/version-packagist.go): PHP's
 * version_compare() (https://www.php.net/manual/en/function.version-compare.php, php-src
 * ext/standard/versioning.c) after dropping a leading `v`/`V`, as Composer does. Two places where
 * osv-scalibr's port departs from PHP are kept as osv-scalibr has them, so that we agree with it: only
 * `-`, `_` and `+` separate parts (PHP also splits on other punctuation), and a word that is none of
 * the special forms weighs as much as `dev` (PHP puts it below `dev`).
 */

/** Longest version accepted; bounds the work per comparison. */
const MAX_LENGTH = 256;

/** Splits a version into parts: `v` dropped, `-_+` made `.`, a `.` between digits and non-digits. */
function components(version: string): string[] {
  const v = version
    .replace(/^[vV]/, '')
    .replace(/[-_+]/g, '.')
    .replace(/([^\d.])(\d)/g, '$1.$2')
    .replace(/(\d)([^\d.])/g, '$1.$2');
  return v.split('.');
}

/** version_compare's special forms, by prefix: dev < alpha/a < beta/b < RC/rc < # (a number) < pl/p. */
function weigh(part: string): number {
  if (part.startsWith('RC')) return 3;
  const specials = ['dev', 'a', 'b', 'rc', '#', 'p'];
  const i = specials.findIndex((s) => part.startsWith(s));
  return i < 0 ? 0 : i;
}

const isNumber = (s: string): boolean => /^[0-9]+$/.test(s);

function compareSpecial(a: string, b: string): number {
  return Math.sign(weigh(a) - weigh(b));
}

function compareComponents(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const an = isNumber(a[i]);
    const bn = isNumber(b[i]);
    const c = an && bn ? compareDigits(a[i], b[i]) : !an && !bn ? compareSpecial(a[i], b[i]) : an ? compareSpecial('#', b[i]) : compareSpecial(a[i], '#');
    if (c !== 0) return c;
  }
  // The longer one wins when its next part is a number; otherwise its rest is weighed against a number.
  if (a.length > b.length) return isNumber(a[b.length]) ? 1 : compareComponents(a.slice(b.length), ['#']);
  if (a.length < b.length) return isNumber(b[a.length]) ? -1 : compareComponents(['#'], b.slice(a.length));
  return 0;
}

/** True for a version we order: non-empty, at most 256 characters, no whitespace or control characters. */
export function packagistValid(v: string): boolean {
  return v.length > 0 && v.length <= MAX_LENGTH && !/[\s\u0000-\u001f\u007f]/.test(v);
}

/** osv-scalibr's Packagist comparison as -1, 0 or 1. */
export function comparePackagist(a: string, b: string): number {
  return compareComponents(components(a), components(b));
}

/**
 * Packagist (PHP) versions: PHP version_compare() order after a leading `v` is dropped: numbers by
 * value, `dev` < `alpha` = `a` < `beta` = `b` < `RC` = `rc` < a number < `pl` = `p`, as osv-scanner
 * orders them.
 */
export const packagistScheme: VersionScheme = {
  name: 'packagist',
  version: '1.0.0',
  ecosystems: ['Packagist'],
  isValid: packagistValid,
  compare(a, b) {
    for (const v of [a, b]) if (!packagistValid(v)) throw new InvalidVersionError('packagist', v);
    return comparePackagist(a, b);
  },
};
