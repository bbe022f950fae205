/**
 * How far into a match of a rule's regex one of the rule's keywords must start: the bound B that lets
 * the streaming secrets scanner run a rule only near its keyword occurrences instead of over the whole
 * window (rules.ts, `SecretStreamScanner`), without losing a match.
 *
 * ## The claim
 *
 * {@link keywordBound}`(pattern, keywords)` = B (a number) means: every match of `pattern`, in any
 * latin1 text, contains an occurrence of one of `keywords` — compared as the keyword automaton compares
 * them (../multi-pattern.ts: text bytes folded by `LATIN1_LOWER`, keyword bytes as they are) — that
 * starts at most B characters after the match's start. `undefined` means no such bound is proved (a
 * keyword that is not part of the match, an unbounded prefix before it, or a construct this analyser
 * does not know), and the rule keeps the full scan.
 *
 * ## How B is computed (and why it is sound)
 *
 * The pattern's source is parsed (JavaScript regex syntax without the `u`/`v`/`y` flags, which are
 * refused) into terms, and for each node N two figures are derived bottom-up:
 *
 * - `maxLen(N)`: the most characters a match of N can span (∞ when a quantifier is unbounded);
 * - `kw(N)`: a number b such that every match of N holds a keyword starting at offset ≤ b within it
 *   (∞ when not proved).
 *
 * A node whose matches form a small finite set of strings (literals, small classes, bounded
 * quantifiers and alternations of those) also carries that set, *folded*: each character as
 * `LATIN1_LOWER` folds the text character the regex consumed. Only ASCII characters enter such a set
 * (a non-ASCII literal or class is opaque): under the `i` flag without `u`, an ASCII pattern character
 * matches exactly its two ASCII cases in a latin1 text (ECMAScript Canonicalize never maps a character
 * ≥ 128 onto one < 128), and both fold to the same lower-case byte — so the folded set holds the folded
 * text of every possible match, as the automaton sees it. Then `kw` of the set is the largest, over its
 * strings, first offset of a keyword in the string (∞ if one string holds none).
 *
 * - A sequence T1…Tn: consecutive finite terms are joined into one finite set (their concatenations,
 *   so a keyword made of several literal characters, or of `api[_-]?key`, is seen whole); then, with
 *   P_i the sum of `maxLen` of the parts before part i, `kw = min_i (P_i + kw(part i))`: a match of
 *   the sequence is its parts' matches one after another, part i starts at most P_i in, and a keyword
 *   inside part i's match is inside the sequence's match.
 * - An alternation: `kw = max` over the alternatives (a match is a match of one of them), `maxLen =
 *   max`.
 * - A quantified term A{m,n}: `maxLen = n · maxLen(A)`; `kw = kw(A)` when m ≥ 1 (a match starts with a
 *   match of A), ∞ when m = 0 (it may be empty).
 * - Lookarounds, `^`, `$`, `\b`, `\B` consume nothing: the finite set {""} (so they join a finite run
 *   unchanged); what a lookaround's inside could match is ignored (it is not part of the match).
 * - A back-reference matches what its group captured: `maxLen` of the group, no keyword claimed.
 * - Anything else (`.`, `\d`, large or negated classes, non-ASCII): one character, no keyword claimed.
 *
 * Every step only ever over-estimates `maxLen` and `kw`, so B is an upper bound. The rules' tests
 * check it two more ways: matches generated from each pattern hold a keyword within B, and a table
 * of the expected B per built-in rule fails when an edit moves it.
 *
 * ## What the scanner does with B
 *
 * A match starting at p holds a keyword starting in [p, p + B]. So if the first keyword occurrence at
 * or after the scan's position `pos` starts at k, no match starts in [pos, k − B): the regex can resume
 * at `max(pos, k − B)` and find the same next match — the leftmost one at or after `pos` — that a scan
 * from `pos` finds. Lookbehinds still see the text before that position (a regex reads the whole
 * string whatever `lastIndex` is).
 */

/** Largest finite set of strings a node keeps (beyond it, the node is opaque). */
const MAX_STRINGS = 512;
/** Longest string in a finite set. */
const MAX_STRING_CHARS = 256;
/** Largest character class kept as a finite set of characters. */
const MAX_CLASS_CHARS = 8;

/** What the analysis knows about one node. */
interface Info {
  /** Most characters a match spans (Infinity: unbounded). */
  readonly maxLen: number;
  /** Every match holds a keyword starting at most this far in (Infinity: not proved). */
  readonly kw: number;
  /** The folded strings every match is one of, when they are few. */
  readonly lang?: readonly string[];
}

/** A construct the analyser does not handle: the pattern gets no bound. */
class Refused extends Error {}

const EMPTY: Info = { maxLen: 0, kw: Infinity, lang: [''] };
const ONE_CHAR: Info = { maxLen: 1, kw: Infinity };

/** First offset of any keyword in `s`, or Infinity. */
function firstKeyword(s: string, keywords: readonly string[]): number {
  let best = Infinity;
  for (const k of keywords) {
    const i = s.indexOf(k);
    if (i >= 0 && i < best) best = i;
  }
  return best;
}

/** The figures of a finite set of folded strings. */
function fromLang(lang: readonly string[], keywords: readonly string[]): Info {
  let maxLen = 0;
  let kw = 0;
  for (const s of lang) {
    maxLen = Math.max(maxLen, s.length);
    kw = Math.max(kw, firstKeyword(s, keywords));
  }
  return { maxLen, kw: lang.length === 0 ? Infinity : kw, lang };
}

/** Every concatenation a·b, or undefined when there would be too many or too long. */
function product(a: readonly string[], b: readonly string[]): string[] | undefined {
  if (a.length * b.length > MAX_STRINGS) return undefined;
  const out = new Set<string>();
  for (const x of a) for (const y of b) {
    if (x.length + y.length > MAX_STRING_CHARS) return undefined;
    out.add(x + y);
  }
  return [...out];
}

/** The folded form of an ASCII character code (what `LATIN1_LOWER` gives for it). */
const fold = (c: number): string => String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);

/** A recursive-descent reader of one regex source (ECMAScript syntax, non-Unicode mode). */
class Parser {
  private i = 0;
  /** maxLen of each capturing group once closed (1-based); undefined while open. */
  private readonly groups: (number | undefined)[] = [];
  private readonly totalGroups: number;

  constructor(private readonly src: string, private readonly keywords: readonly string[]) {
    this.totalGroups = countGroups(src);
  }

  parse(): Info {
    const info = this.disjunction();
    if (this.i !== this.src.length) throw new Refused(`unexpected ${this.src[this.i]} at ${this.i}`);
    return info;
  }

  private peek(k = 0): string {
    return this.src[this.i + k] ?? '';
  }

  private disjunction(): Info {
    const alts = [this.alternative()];
    while (this.peek() === '|') {
      this.i++;
      alts.push(this.alternative());
    }
    if (alts.length === 1) return alts[0];
    const maxLen = Math.max(...alts.map((a) => a.maxLen));
    const kw = Math.max(...alts.map((a) => a.kw));
    if (alts.every((a) => a.lang !== undefined)) {
      const union = [...new Set(alts.flatMap((a) => a.lang!))];
      if (union.length <= MAX_STRINGS) return { maxLen, kw, lang: union };
    }
    return { maxLen, kw };
  }

  private alternative(): Info {
    let kw = Infinity;
    let before = 0; // sum of maxLen of the parts already closed
    let run: readonly string[] = ['']; // the finite part being built
    let whole = true; // every term so far joined the one run
    const flush = (): void => {
      const r = fromLang(run, this.keywords);
      kw = Math.min(kw, before + r.kw);
      before += r.maxLen;
      run = [''];
    };
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const t = this.term();
      if (t.lang !== undefined) {
        const joined = product(run, t.lang);
        if (joined !== undefined) {
          run = joined;
          continue;
        }
        whole = false;
        flush();
        run = t.lang;
        continue;
      }
      whole = false;
      flush();
      kw = Math.min(kw, before + t.kw);
      before += t.maxLen;
    }
    if (whole) return fromLang(run, this.keywords);
    flush();
    return { maxLen: before, kw };
  }

  private term(): Info {
    const c = this.peek();
    if (c === '^' || c === '$') {
      this.i++;
      return this.noQuantifier(EMPTY);
    }
    if (c === '\\' && (this.peek(1) === 'b' || this.peek(1) === 'B')) {
      this.i += 2;
      return this.noQuantifier(EMPTY);
    }
    if (c === '(' && this.peek(1) === '?' && (this.peek(2) === '=' || this.peek(2) === '!' || (this.peek(2) === '<' && (this.peek(3) === '=' || this.peek(3) === '!')))) {
      this.i += this.peek(2) === '<' ? 4 : 3;
      this.disjunction(); // parsed for its groups; it consumes nothing
      this.expect(')');
      return this.noQuantifier(EMPTY);
    }
    return this.quantified(this.atom());
  }

  /** Annex B allows `(?=x)*`; refused here, as is any quantifier on an assertion. */
  private noQuantifier(info: Info): Info {
    if ('*+?{'.includes(this.peek()) && this.peek() !== '') throw new Refused('quantified assertion');
    return info;
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) throw new Refused(`expected ${ch} at ${this.i}`);
    this.i++;
  }

  private atom(): Info {
    const c = this.peek();
    if (c === '(') {
      this.i++;
      let capture = true;
      if (this.peek() === '?') {
        if (this.peek(1) === ':') {
          capture = false;
          this.i += 2;
        } else if (this.peek(1) === '<') {
          const close = this.src.indexOf('>', this.i);
          if (close < 0 || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(this.src.slice(this.i + 2, close))) throw new Refused('group name');
          this.i = close + 1;
        } else throw new Refused('group modifier');
      }
      const n = capture ? this.groups.push(undefined) : 0;
      const inner = this.disjunction();
      this.expect(')');
      if (capture) this.groups[n - 1] = inner.maxLen;
      return inner;
    }
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.i++;
      return ONE_CHAR;
    }
    if (c === '\\') return this.atomEscape();
    if (c === '' || '*+?{}])|'.includes(c)) throw new Refused(`${c || 'end'} at ${this.i}`);
    this.i++;
    return this.char(c.charCodeAt(0));
  }

  /** One known character. */
  private char(code: number): Info {
    return code < 0x80 ? fromLang([fold(code)], this.keywords) : ONE_CHAR;
  }

  private atomEscape(): Info {
    const e = this.peek(1);
    if (/[1-9]/.test(e)) {
      const digits = /^[0-9]+/.exec(this.src.slice(this.i + 1))![0];
      const n = Number(digits);
      // Annex B: a number above the group count is an octal escape, not a reference. Refused.
      if (n > this.totalGroups) throw new Refused('octal escape');
      const maxLen = this.groups[n - 1];
      if (maxLen === undefined) throw new Refused('reference to a group not closed yet');
      this.i += 1 + digits.length;
      return { maxLen, kw: Infinity };
    }
    const code = this.escapeChar();
    return code === undefined ? ONE_CHAR : this.char(code);
  }

  /**
   * The character of the escape at `i` (consumed), or undefined for a class escape (`\d`, `\s`…).
   * Refuses escapes whose meaning depends on Annex B leniency (`\c`, `\k`, `\p`, letters).
   */
  private escapeChar(inClass = false): number | undefined {
    const e = this.peek(1);
    this.i += 2;
    switch (e) {
      case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        return undefined;
      case 't': return 9;
      case 'n': return 10;
      case 'v': return 11;
      case 'f': return 12;
      case 'r': return 13;
      case 'b':
        if (inClass) return 8;
        throw new Refused('\\b');
      case '0':
        if (/[0-9]/.test(this.peek())) throw new Refused('octal escape');
        return 0;
      case 'x': case 'u': {
        const n = e === 'x' ? 2 : 4;
        const hex = this.src.slice(this.i, this.i + n);
        if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) throw new Refused(`\\${e}`);
        this.i += n;
        return parseInt(hex, 16);
      }
      default:
        if (e !== '' && /[\^$\\.*+?()[\]{}|/-]/.test(e)) return e.charCodeAt(0);
        throw new Refused(`escape \\${e}`);
    }
  }

  private charClass(): Info {
    this.i++;
    const negated = this.peek() === '^';
    if (negated) this.i++;
    const chars = new Set<number>();
    let opaque = negated;
    const member = (): number | undefined => {
      if (this.peek() === '\\') return this.escapeChar(true);
      const c = this.peek();
      if (c === '') throw new Refused('unterminated class');
      this.i++;
      return c.charCodeAt(0);
    };
    while (this.peek() !== ']') {
      const lo = member();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        this.i++;
        const hi = member();
        if (lo === undefined || hi === undefined) throw new Refused('class escape in a range');
        if (hi < lo) throw new Refused('range out of order');
        if (hi - lo + chars.size >= MAX_CLASS_CHARS || hi >= 0x80) opaque = true;
        else for (let x = lo; x <= hi; x++) chars.add(x);
        continue;
      }
      if (lo === undefined || lo >= 0x80) opaque = true;
      else chars.add(lo);
    }
    this.i++;
    if (opaque || chars.size > MAX_CLASS_CHARS) return ONE_CHAR;
    if (chars.size === 0) return { maxLen: 0, kw: Infinity, lang: [] }; // `[]` never matches
    return fromLang([...new Set([...chars].map(fold))], this.keywords);
  }

  private quantified(a: Info): Info {
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const q = /^\{([0-9]+)(,([0-9]*))?\}/.exec(this.src.slice(this.i));
      if (!q) throw new Refused('literal {');
      min = Number(q[1]);
      max = q[2] === undefined ? min : q[3] === '' ? Infinity : Number(q[3]);
      if (max < min) throw new Refused('quantifier out of order');
      this.i += q[0].length - 1;
    } else return a;
    this.i++;
    if (this.peek() === '?') this.i++; // lazy: the same set of matches
    const maxLen = a.maxLen === 0 ? 0 : max * a.maxLen;
    const kw = min >= 1 ? a.kw : Infinity;
    if (a.lang !== undefined && Number.isFinite(max)) {
      // The strings of A{min,max}: every concatenation of min to max of A's strings.
      let lang: string[] | undefined = [];
      let power: string[] | undefined = [''];
      for (let k = 0; k <= max && power !== undefined && lang !== undefined; k++) {
        if (k >= min) lang = lang.length + power.length > MAX_STRINGS ? undefined : [...new Set([...lang, ...power])];
        if (k < max) power = product(power, a.lang);
      }
      if (lang !== undefined && power !== undefined) return fromLang(lang, this.keywords);
    }
    return { maxLen, kw };
  }
}

/** Number of capturing groups in a regex source (to tell a back-reference from an octal escape). */
function countGroups(src: string): number {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(' && (src[i + 1] !== '?' || (src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!'))) n++;
  }
  return n;
}

/**
 * The proved bound B of the module documentation for a rule: every match of `pattern` holds one of
 * `keywords` (folded comparison, as the keyword automaton) starting at most B characters in; or
 * `undefined` (no bound proved: the rule is scanned in full). Patterns with the `u`, `v` or `y` flag,
 * or without `g`, get none; so do rules with an empty keyword (they run everywhere anyway).
 */
export function keywordBound(pattern: RegExp, keywords: readonly string[]): number | undefined {
  if (!pattern.global || pattern.sticky || pattern.unicode || pattern.flags.includes('v')) return undefined;
  if (keywords.length === 0 || keywords.some((k) => k === '')) return undefined;
  try {
    const { kw } = new Parser(pattern.source, keywords).parse();
    return Number.isFinite(kw) ? kw : undefined;
  } catch (e) {
    if (e instanceof Refused) return undefined;
    throw e;
  }
}
