import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/*
 * Maven's ComparableVersion (org.apache.maven.artifact.versioning, maven-artifact), the ordering Maven
 * resolves version ranges with and the OSV Maven ecosystem uses
 * (https://maven.apache.org/pom.html#version-order-specification). A port of Maven 4's
 * compat/maven-artifact ComparableVersion.java
 * (https://github.com/apache/maven/blob/master/compat/maven-artifact/src/main/java/org/apache/maven/artifact/versioning/ComparableVersion.java),
 * checked against Maven 4's ComparableVersionTest. Maven 3.9 (checked against maven-artifact 3.9.6)
 * orders the same except in corner cases Maven 4 changed, where we follow Maven 4: a qualifier and the
 * number after it are one item (`1.0.0-beta11 > 1.0.0-beta.6`, `rc-2` == `rc2`; 3.9 says the first is
 * lower), only ASCII digits are numbers, and a zero-only prefix leaves no extra nesting. Older
 * maven-artifact releases also differ on `.X1` vs `-X2` (MNG-7644) and `1-0.alpha` (MNG-6964).
 *
 * Items: numbers (compared by value; Java keeps int, long and BigInteger apart, which orders them the
 * same as their values), strings (qualifiers), combinations (`alpha1`, `rc-2`: a qualifier and its
 * number) and lists (a `-` or a digit/letter switch opens a sub-list).
 */

type Item =
  | { readonly k: 'num'; readonly v: string }
  | { readonly k: 'str'; readonly v: string }
  | { readonly k: 'combo'; readonly s: StrItem; readonly d: Item }
  | { readonly k: 'list'; v: Item[] };
type StrItem = { readonly k: 'str'; readonly v: string };
type ListItem = { readonly k: 'list'; v: Item[] };

/** Maven 4 refuses longer versions (MAX_VERSION_LENGTH), which also bounds our recursion. */
const MAX_VERSION_LENGTH = 256;

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE_QUALIFIERS = ['ga', 'final', 'release'];
const RELEASE_VERSION_INDEX = String(QUALIFIERS.indexOf(''));

/** StringItem(value, followedByDigit): `a1` `b1` `m1` are alpha, beta, milestone; `cr` is `rc`. */
function strItem(value: string, followedByDigit: boolean): StrItem {
  let v = value;
  if (followedByDigit && v.length === 1) v = ({ a: 'alpha', b: 'beta', m: 'milestone' } as Record<string, string>)[v] ?? v;
  return { k: 'str', v: v === 'cr' ? 'rc' : v };
}

/** StringItem.comparableQualifier: known qualifiers by rank, the rest after them in lexical order. */
function comparableQualifier(q: string): string {
  if (RELEASE_QUALIFIERS.includes(q)) return RELEASE_VERSION_INDEX;
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

/** Java String.compareTo, as a sign. */
const jcmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const numItem = (digits: string): Item => ({ k: 'num', v: digits.replace(/^0+/, '') || '0' });

/** CombinationItem(value): the letters before the first digit, then the number. */
function comboItem(value: string): Item {
  const m = /\p{Nd}/u.exec(value);
  const index = m ? m.index : 0;
  return { k: 'combo', s: strItem(value.slice(0, index), true), d: numItem(value.slice(index)) };
}

function parseItem(isCombination: boolean, isDigit: boolean, buf: string): Item {
  if (isCombination) return comboItem(buf.replace(/-/g, ''));
  if (isDigit) return numItem(buf);
  return strItem(buf, false);
}

function isNull(i: Item): boolean {
  switch (i.k) {
    case 'num':
      return i.v === '0';
    case 'str':
      return i.v === '';
    case 'combo':
      return false;
    case 'list':
      return i.v.length === 0;
  }
}

/** ListItem.normalize(): drops null items that only pad before a qualifier or the end. */
function normalize(list: ListItem): void {
  const l = list.v;
  for (let i = l.length - 1; i >= 0; i--) {
    if (!isNull(l[i])) continue;
    const next = l[i + 1];
    if (i === l.length - 1 || next.k === 'str') l.splice(i, 1);
    else if (next.k === 'list') {
      const first = next.v[0];
      if (first !== undefined && (first.k === 'combo' || first.k === 'str')) l.splice(i, 1);
    }
  }
  // Removing a zero prefix must not leave an extra qualifier nesting level.
  if (l.length === 1 && l[0].k === 'list') list.v = l[0].v;
}

const isAsciiDigit = (c: string): boolean => c >= '0' && c <= '9';

/** ComparableVersion.parseVersion(). */
export function parseMaven(version: string): ListItem {
  const v = version.toLowerCase();
  const root: ListItem = { k: 'list', v: [] };
  let list = root;
  const stack: ListItem[] = [root];
  const open = (): void => {
    const sub: ListItem = { k: 'list', v: [] };
    list.v.push(sub);
    list = sub;
    stack.push(sub);
  };
  let isDigit = false;
  let isCombination = false;
  let start = 0;
  // Iterate by code point, as Java does when it meets a surrogate pair.
  for (let i = 0; i < v.length; i++) {
    const code = v.codePointAt(i) as number;
    if (code > 0xffff) i++;
    const c = String.fromCodePoint(code);
    if (c === '.') {
      list.v.push(i === start ? numItem('0') : parseItem(isCombination, isDigit, v.slice(start, i)));
      isCombination = false;
      start = i + 1;
    } else if (c === '-') {
      if (i === start) list.v.push(numItem('0'));
      else {
        // X-1 is read as X1.
        if (!isDigit && i !== v.length - 1 && isAsciiDigit(v[i + 1])) {
          isCombination = true;
          continue;
        }
        list.v.push(parseItem(isCombination, isDigit, v.slice(start, i)));
      }
      start = i + 1;
      if (list.v.length > 0) open();
      isCombination = false;
    } else if (isAsciiDigit(c)) {
      if (!isDigit && i > start) {
        // X1
        isCombination = true;
        if (list.v.length > 0) open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.v.push(parseItem(isCombination, true, v.slice(start, i)));
        start = i;
        open();
        isCombination = false;
      }
      isDigit = false;
    }
  }
  if (v.length > start) {
    // 1.0.0.X1 < 1.0.0-X2: a trailing .X is read as -X.
    if (!isDigit && list.v.length > 0) open();
    list.v.push(parseItem(isCombination, isDigit, v.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop() as ListItem);
  return root;
}

/** Item.compareTo(other); `undefined` is Java's null (a missing item). */
function cmp(a: Item, b: Item | undefined): number {
  switch (a.k) {
    case 'num':
      if (b === undefined) return a.v === '0' ? 0 : 1; // 1.0 == 1, 1.1 > 1
      return b.k === 'num' ? compareDigits(a.v, b.v) : 1; // a number beats strings, combinations and lists
    case 'str':
      if (b === undefined) return jcmp(comparableQualifier(a.v), RELEASE_VERSION_INDEX); // 1-rc < 1, 1-ga == 1, 1-sp > 1
      switch (b.k) {
        case 'num':
          return -1;
        case 'str':
          return jcmp(comparableQualifier(a.v), comparableQualifier(b.v));
        case 'combo': {
          const r = cmp(a, b.s);
          if (r !== 0) return r;
          return cmp(a, undefined) === 0 ? -cmp(b.d, undefined) : -1;
        }
        case 'list':
          return -cmp(b, a);
      }
      break;
    case 'combo':
      if (b === undefined) {
        const r = cmp(a.s, undefined);
        return r !== 0 ? r : cmp(a.d, undefined); // 1-rc1 < 1, 1-ga1 > 1
      }
      switch (b.k) {
        case 'num':
          return -1;
        case 'str': {
          const r = cmp(a.s, b);
          if (r !== 0) return r;
          return cmp(a.s, undefined) === 0 ? cmp(a.d, undefined) : 1; // X1 > X
        }
        case 'list':
          return -cmp(b, a);
        case 'combo': {
          const r = cmp(a.s, b.s);
          return r !== 0 ? r : cmp(a.d, b.d);
        }
      }
      break;
    case 'list':
      if (b === undefined) {
        // The whole list against nothing, not just its first item (MNG-6964).
        for (const i of a.v) {
          const r = cmp(i, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      switch (b.k) {
        case 'num':
          return -1; // 1-1 < 1.0.x
        case 'str':
        case 'combo': {
          let r = a.v.length === 0 ? -cmp(b, undefined) : cmp(a.v[0], b);
          for (let i = 1; r === 0 && i < a.v.length; i++) r = cmp(a.v[i], undefined);
          return r;
        }
        case 'list': {
          for (let i = 0; i < Math.max(a.v.length, b.v.length); i++) {
            const l = a.v[i];
            const r = b.v[i];
            const c = l === undefined ? (r === undefined ? 0 : -cmp(r, undefined)) : cmp(l, r);
            if (c !== 0) return c;
          }
          return 0;
        }
      }
  }
  return 0;
}

function itemString(i: Item): string {
  switch (i.k) {
    case 'num':
    case 'str':
      return i.v;
    case 'combo':
      return itemString(i.s) + itemString(i.d);
    case 'list':
      return i.v.map((x, n) => (n === 0 ? '' : x.k === 'list' ? '-' : '.') + itemString(x)).join('');
  }
}

/** ComparableVersion.getCanonical(): the parsed items written back (`1.0.0-alpha1` → `1-alpha1`, `0.x` → `x`). */
export function mavenCanonical(version: string): string {
  return itemString(parseMaven(version));
}

/** True when Maven can order `v`: every non-empty string up to Maven 4's 256-character limit. */
export function mavenValid(v: string): boolean {
  return v.length > 0 && v.length <= MAX_VERSION_LENGTH;
}

/** ComparableVersion(a).compareTo(ComparableVersion(b)) as -1, 0 or 1. */
export function compareMaven(a: string, b: string): number {
  return Math.sign(cmp(parseMaven(a), parseMaven(b)));
}

/**
 * Maven artifact versions, ordered as Maven 3.9 / 4 ComparableVersion orders them: `.`/`-`-separated
 * numbers and qualifiers, `alpha` < `beta` < `milestone` < `rc` = `cr` < `snapshot` < release (`ga`,
 * `final`, `release`) < `sp` < any other qualifier (lexically), case-insensitive; trailing zeros and
 * release qualifiers do not count (`1.0-ga` == `1`).
 */
export const mavenScheme: VersionScheme = {
  name: 'maven',
  version: '1.0.0',
  ecosystems: ['Maven'],
  isValid: mavenValid,
  compare(a, b) {
    for (const v of [a, b]) if (!mavenValid(v)) throw new InvalidVersionError('maven', v, v.length === 0 ? 'empty' : 'longer than 256 characters');
    return compareMaven(a, b);
  },
};
