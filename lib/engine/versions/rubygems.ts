import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/*
 * A port of RubyGems' Gem::Version (https://github.com/rubygems/rubygems/blob/master/lib/rubygems/version.rb).
 */

/** Ruby's `\s`: space, \t, \n, \v, \f, \r (narrower than JavaScript's). */
const WS = '[ \\t\\n\\v\\f\\r]*';

/**
 * Gem::Version::ANCHORED_VERSION_PATTERN: digits, then `.`-separated alphanumeric segments, then an
 * optional `-` pre-release part. A letter needs a `.` before it unless it follows a digit in a later
 * segment: `1.0a` is a version, `1a` is not.
 */
const ANCHORED_VERSION_PATTERN = new RegExp(`^${WS}([0-9]+(?:\\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?)?${WS}$`);

/** A canonical segment: a number (digit string) or a string. */
type Segment = { readonly n: string } | string;

const isZero = (s: Segment): boolean => typeof s !== 'string' && /^0+$/.test(s.n);

/**
 * Gem::Version#canonical_segments: the version with `-` read as `.pre.`, scanned into runs of digits
 * or letters, split where the first letter run starts, trailing zeros dropped from both halves.
 */
function canonicalSegments(version: string): Segment[] {
  const v = version.trim().replace(/-/g, '.pre.');
  const segs: Segment[] = (v.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) => (/^[0-9]+$/.test(s) ? { n: s } : s));
  const firstString = segs.findIndex((s) => typeof s === 'string');
  const halves = firstString < 0 ? [segs] : [segs.slice(0, firstString), segs.slice(firstString)];
  return halves.flatMap((half) => {
    let end = half.length;
    while (end > 0 && isZero(half[end - 1])) end--;
    return half.slice(0, end);
  });
}

/**
 * True when Gem::Version.correct? accepts `v`. Blank is refused although RubyGems reads it as `0`:
 * a package with no version is not version 0.
 */
export function rubygemsValid(v: string): boolean {
  return ANCHORED_VERSION_PATTERN.test(v) && v.trim() !== '';
}

/** Gem::Version#<=> as -1, 0 or 1. */
export function compareRubygems(a: string, b: string): number {
  return compareSegments(canonicalSegments(a), canonicalSegments(b));
}

/** Gem::Version#<=> on canonical segments. */
function compareSegments(x: readonly Segment[], y: readonly Segment[]): number {
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const l = x[i] ?? { n: '0' };
    const r = y[i] ?? { n: '0' };
    const ls = typeof l === 'string';
    const rs = typeof r === 'string';
    if (ls && rs) {
      if (l !== r) return l < r ? -1 : 1;
    } else if (ls !== rs) {
      return ls ? -1 : 1; // a string segment (pre-release) sorts below any number
    } else {
      const c = compareDigits((l as { n: string }).n, (r as { n: string }).n);
      if (c !== 0) return c;
    }
  }
  return 0;
}

/**
 * RubyGems versions, ordered as Gem::Version#<=>: segments of digits or letters; a letter segment makes
 * a pre-release and sorts below any number (`1.0.b1 < 1.0`); letters compare bytewise (case-sensitive);
 * `-` means `.pre.`; trailing zeros do not count (`1.0 == 1`).
 */
export const rubygemsScheme: VersionScheme = {
  name: 'rubygems',
  version: '1.0.0',
  ecosystems: ['RubyGems'],
  isValid: rubygemsValid,
  compare(a, b) {
    for (const v of [a, b]) if (!rubygemsValid(v)) throw new InvalidVersionError('rubygems', v);
    return compareRubygems(a, b);
  },
  parse: (v) => (rubygemsValid(v) ? canonicalSegments(v) : undefined),
  compareParsed: (a, b) => compareSegments(a as Segment[], b as Segment[]),
};
