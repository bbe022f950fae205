import { InvalidVersionError, type VersionScheme } from './scheme';

/*
 * Alpine package versions: `digit{.digit}...{letter}{_suffix{number}}...{-r#}`.
 *
 * A port of apk-tools 2.x src/version.c (the 2.12 – 2.14 tokenizer:
 * https://gitlab.alpinelinux.org/alpine/apk-tools/-/blob/v2.14.9/src/version.c), which is what Alpine
 * 3.x images run. apk-tools 3 (https://gitlab.alpinelinux.org/alpine/apk-tools/-/blob/master/src/version.c)
 * changed a few corner cases; where the two differ we follow 2.x:
 *  - an empty number (`1.`, `1..2`, `1-r`) is a number worth 0 in 2.x, invalid in 3;
 *  - an empty suffix (`1_`) is the "no suffix" value in 2.x, invalid in 3;
 *  - `~<hex>` commit-hash tokens (`1.0~1234`) exist only in 3; 2.x rejects them.
 * For versions both accept, the two order identically. The tokenizer before 2.12 (Alpine 3.12 and
 * older) also accepted a digit right after a letter (`6.0.2p1`); 2.12 and later reject it, and so do we.
 * Numbers are unsigned 64-bit values, as apk_blob_pull_uint() reads them.
 */

/** Token kinds, in apk-tools 2.x order: the comparison uses that order. */
const enum Tok {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  RevisionNo = 5,
  End = 6,
  Invalid = 7,
}

/** Suffix values: `_alpha` … `_rc` sort below the release (`None`), `_cvs` … `_p` above it. */
const SUFFIXES: Readonly<Record<string, number>> = { alpha: 1, beta: 2, pre: 3, rc: 4, '': 5, cvs: 6, svn: 7, git: 8, hg: 9, p: 10 };
const SUFFIX_NONE = 5;

interface TokenState {
  token: Tok;
  /** The token's text (digits, one letter or the suffix name). */
  value: string;
  suffix: number;
  /** Read position in the version string. */
  pos: number;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';

function span(s: string, from: number, test: (c: string) => boolean): number {
  let i = from;
  while (i < s.length && test(s[i])) i++;
  return i;
}

/** token_first(): the leading digits, or invalid when there are none. */
function tokenFirst(s: string): TokenState {
  const end = span(s, 0, isDigit);
  return { token: end > 0 ? Tok.InitialDigit : Tok.Invalid, value: s.slice(0, end), suffix: 0, pos: end };
}

/** token_next(): classifies the next token by its first character and checks it may follow the last one. */
function tokenNext(t: TokenState, s: string): void {
  if (t.pos >= s.length) {
    t.token = Tok.End;
    return;
  }
  const c = s[t.pos];
  if (isLower(c)) {
    if (t.token > Tok.Digit) {
      t.token = Tok.Invalid;
      return;
    }
    t.value = c;
    t.token = Tok.Letter;
    t.pos++;
    return;
  }
  if (c === '.' || isDigit(c)) {
    if (c === '.') {
      if (t.token > Tok.Digit) {
        t.token = Tok.Invalid;
        return;
      }
      t.pos++;
    }
    // apk-tools 2.x accepts an empty digit run here (`1.` or `1..2`); 3.x does not.
    const end = span(s, t.pos, isDigit);
    t.value = s.slice(t.pos, end);
    t.pos = end;
    if (t.token === Tok.Suffix) t.token = Tok.SuffixNo;
    else if (t.token === Tok.InitialDigit || t.token === Tok.Digit) t.token = Tok.Digit;
    else t.token = Tok.Invalid;
    return;
  }
  if (c === '_') {
    if (t.token > Tok.SuffixNo) {
      t.token = Tok.Invalid;
      return;
    }
    const end = span(s, t.pos + 1, isLower);
    t.value = s.slice(t.pos + 1, end);
    t.pos = end;
    const suffix = Object.hasOwn(SUFFIXES, t.value) ? SUFFIXES[t.value] : 0;
    t.suffix = suffix;
    t.token = suffix === 0 ? Tok.Invalid : Tok.Suffix;
    return;
  }
  if (c === '-') {
    if (t.token >= Tok.RevisionNo || s[t.pos + 1] !== 'r') {
      t.token = Tok.Invalid;
      return;
    }
    // apk-tools 2.x accepts `-r` with no number (worth 0); 3.x does not.
    const end = span(s, t.pos + 2, isDigit);
    t.value = s.slice(t.pos + 2, end);
    t.pos = end;
    t.token = Tok.RevisionNo;
    return;
  }
  t.token = Tok.Invalid;
}

/** apk_blob_pull_uint(): the value of a digit run as apk holds it, an unsigned 64-bit integer. */
function uint(digits: string): bigint | number {
  return digits.length <= 15 ? Number(digits || '0') : BigInt.asUintN(64, BigInt(digits));
}

const cmp = (a: bigint | number | string, b: bigint | number | string): number => (a < b ? -1 : a > b ? 1 : 0);

/** token_cmp() of two tokens of the same kind. */
function tokenCmp(a: TokenState, b: TokenState, sa: string, sb: string): number {
  switch (a.token) {
    case Tok.Digit:
      // A leading zero after a dot makes the part a string compared bytewise (the Gentoo rule): 1.01 < 1.1.
      // An empty digit run peeks at the character after it, as the C code does; that is never '0'.
      if ((a.value[0] ?? sa[a.pos]) === '0' || (b.value[0] ?? sb[b.pos]) === '0') return cmp(a.value, b.value);
      return cmp(uint(a.value), uint(b.value));
    case Tok.InitialDigit:
    case Tok.SuffixNo:
    case Tok.RevisionNo:
      return cmp(uint(a.value), uint(b.value));
    case Tok.Letter:
      return cmp(a.value, b.value);
    case Tok.Suffix:
      return cmp(a.suffix, b.suffix);
    default:
      return cmp(a.value, b.value);
  }
}

/**
 * apk_version_validate() of apk-tools 2.x: true when the whole string is one well-formed Alpine version.
 */
export function apkValid(v: string): boolean {
  const t = tokenFirst(v);
  while (t.token < Tok.End) tokenNext(t, v);
  return t.token === Tok.End;
}

function compareFuzzy(a: string, b: string, fuzzy: boolean): number {
  const ta = tokenFirst(a);
  const tb = tokenFirst(b);
  while (ta.token === tb.token && ta.token < Tok.End) {
    const r = tokenCmp(ta, tb, a, b);
    if (r !== 0) return r;
    tokenNext(ta, a);
    tokenNext(tb, b);
  }
  if (ta.token === tb.token) return 0;
  // Fuzzy matching: `b` is a prefix of `a`.
  if (tb.token === Tok.End && fuzzy) return 0;
  // Equal so far: the longer version is greater, unless what it has next is a pre-release suffix.
  if (ta.token === Tok.Suffix && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.token === Tok.Suffix && tb.suffix < SUFFIX_NONE) return 1;
  if (ta.token > tb.token) return -1;
  if (tb.token > ta.token) return 1;
  return 0;
}

/**
 * apk_version_compare() of apk-tools 2.x, exactly as `apk version -t a b` answers, including its
 * answers for strings {@link apkValid} rejects (tokens are compared until the first one that differs
 * in kind or value). Returns -1, 0 or 1. {@link apkScheme} refuses invalid versions instead.
 */
export function apkVersionCompare(a: string, b: string): number {
  return compareFuzzy(a, b, false);
}

/**
 * apk_version_match() of apk-tools 2.x: does `a` satisfy the dependency operator `op` (`<`, `<=`,
 * `=`, `>=`, `>`, `~` — same version prefix, as in `so:libfoo~1.2` — and the combinations `<~`,
 * `>~`) against `b`?
 */
export function apkVersionMatch(a: string, op: string, b: string): boolean {
  const LESS = 1;
  const EQUAL = 2;
  const GREATER = 4;
  const FUZZY = 8;
  let mask = 0;
  for (const c of op) {
    if (c === '<') mask |= LESS;
    else if (c === '>') mask |= GREATER;
    else if (c === '=') mask |= EQUAL;
    else if (c === '~') mask |= FUZZY | EQUAL;
    else return false;
  }
  const r = compareFuzzy(a, b, (mask & FUZZY) !== 0);
  return ((r < 0 ? LESS : r > 0 ? GREATER : EQUAL) & mask) !== 0;
}

/**
 * Alpine packages (also Wolfi and Chainguard, which use apk), ordered as apk-tools 2.x orders them: numbers
 * by value (a part after a dot with a leading zero compares as a string), a letter after the numbers,
 * `_alpha` `_beta` `_pre` `_rc` below the release and `_cvs` `_svn` `_git` `_hg` `_p` above it, then `-rN`.
 * Versions apk_version_validate() rejects are invalid.
 */
export const apkScheme: VersionScheme = {
  name: 'apk',
  version: '1.0.0',
  ecosystems: ['Alpine', 'Wolfi', 'Chainguard'],
  isValid: apkValid,
  compare(a, b) {
    for (const v of [a, b]) if (!apkValid(v)) throw new InvalidVersionError('apk', v);
    return apkVersionCompare(a, b);
  },
};
