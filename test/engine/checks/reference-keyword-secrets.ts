/**
 * The secrets scanner as it was before the rules ran only near their keywords (commit 307715f, issue 16's
 * keyword automaton: a window is decoded when it holds a keyword, then every rule whose keyword it holds
 * runs over the whole window; the automaton walked one byte after another), kept verbatim as the reference the current scanner is compared with
 * (test/engine/checks/secrets/near-keywords-differential.test.ts). Not used by the product.
 */
import type { EntryInfo } from '../../../lib/engine/layers/layer-reader';
import type { Finding } from '../../../lib/engine/model';
import { BINARY_PROBE_BYTES, MAX_FINDINGS_PER_TEXT, looksBinary, secretsWants } from '../../../lib/engine/checks/secrets';
import { LATIN1_LOWER, MultiPattern } from '../../../lib/engine/checks/multi-pattern';
import { MAX_HITS_PER_TEXT, MAX_MATCH_CHARS, RULE_CONTEXT_CHARS, SECRET_RULES, redact, type SecretHit, type SecretMatch, type SecretRule } from '../../../lib/engine/checks/secrets/rules';

interface WindowHit extends SecretMatch {
  readonly rule: SecretRule;
  /** Where the rule's regex match starts (decides which window reports it). */
  readonly start: number;
}

/** {@link scanText} over the rules whose keywords `t` is already known to contain (in precedence order). */
function runRules(t: string, rules: readonly SecretRule[], from: number, to: number): WindowHit[] {
  const taken: { start: number; end: number }[] = [];
  const overlaps = (start: number, end: number): boolean => taken.some((s) => start < s.end && s.start < end);
  const found: WindowHit[] = [];
  for (const rule of rules) {
    for (const m of t.matchAll(rule.pattern)) {
      const hit = rule.accept(m, t);
      if (!hit || hit.secret.length === 0) continue;
      const end = hit.index + hit.secret.length;
      if (overlaps(hit.index, end)) continue;
      taken.push({ start: hit.index, end });
      const start = m.index ?? hit.index;
      if (start < from || start >= to) continue;
      found.push({ ...hit, rule, start });
      if (found.length >= MAX_HITS_PER_TEXT) break;
    }
    if (found.length >= MAX_HITS_PER_TEXT) break;
  }
  return found;
}

/** The rules' keywords compiled into one automaton (cached per rule list: the built-in one is compiled once). */
interface KeywordIndex {
  readonly automaton: MultiPattern | undefined;
  /** Keyword bytes, and for each keyword the rules (indices into the list) it enables. */
  readonly keywords: readonly Buffer[];
  readonly rulesOf: readonly (readonly number[])[];
  /**
   * Rules that run on every window: they have an empty keyword (`''` is in every text). A keyword
   * with a character above U+00FF is left out: latin1 text never contains it, so it enables nothing.
   */
  readonly always: readonly number[];
}

const keywordIndexes = new WeakMap<readonly SecretRule[], KeywordIndex>();

function keywordIndex(rules: readonly SecretRule[]): KeywordIndex {
  let ix = keywordIndexes.get(rules);
  if (ix) return ix;
  const byKeyword = new Map<string, number[]>();
  const always: number[] = [];
  rules.forEach((r, i) => {
    for (const k of r.keywords) {
      if (k === '') always.push(i);
      // A character above U+00FF never occurs in latin1 text (nor in its lower case): `includes` is false.
      else if (/^[\u0000-\u00ff]*$/.test(k)) byKeyword.set(k, [...(byKeyword.get(k) ?? []), i]);
    }
  });
  const keywords = [...byKeyword.keys()].map((k) => Buffer.from(k, 'latin1'));
  const automaton = MultiPattern.compile(keywords, LATIN1_LOWER);
  ix = { automaton, keywords, rulesOf: [...byKeyword.values()], always: [...new Set(always)] };
  keywordIndexes.set(rules, ix);
  return ix;
}

/** Number of LF bytes in `b[from, to)`. */
function countLines(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = b.indexOf(10, from); i >= 0 && i < to; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * The rules over a body that arrives in chunks, in bounded memory: the text is scanned in windows of
 * `blockChars` new characters plus {@link MAX_MATCH_CHARS} + {@link RULE_CONTEXT_CHARS} before and
 * twice {@link MAX_MATCH_CHARS} + {@link RULE_CONTEXT_CHARS} after; each match is reported by the one window in which its start lies in the reported
 * span, with the context every rule looks at inside the window — so the hits are those of one pass
 * over the whole text (a body of at most `blockChars` + the overlap is one window, exactly that pass).
 * Bytes are read as latin1, as {@link findSecrets} expects. Holds at most about
 * `blockChars` + 810,000 bytes.
 *
 * What it costs: the rules' keywords are found as the bytes stream by, all at once, in one pass
 * (./multi-pattern.ts, case-folded as `toLowerCase` folds latin1), and a window becomes a string only
 * when it holds a keyword — then only the rules with a keyword in that window run (the test
 * {@link findSecrets} makes with `includes` on the lower-cased text, answered without lower-casing or
 * searching it once per keyword). A body without any keyword is copied once and never decoded.
 */
export class KeywordSecretStreamScanner {
  /** Bytes from absolute offset `base` on: `held[0, fill)`. */
  private held: Buffer;
  private fill = 0;
  private base = 0;
  /** Matches starting before this absolute offset have been reported. */
  private lo = 0;
  private linesBefore = 0;
  private readonly hits: SecretHit[] = [];
  /** Text kept before the reported span: a match's context and lookbehinds, and the regex's footing. */
  private readonly overlap = MAX_MATCH_CHARS + RULE_CONTEXT_CHARS;
  /**
   * Text needed after the reported span: a match starting in it, its context, and any match of an
   * earlier rule that overlaps it (which hides it, as in the whole text) in full.
   */
  private readonly ahead = 2 * MAX_MATCH_CHARS + RULE_CONTEXT_CHARS;
  private readonly index: KeywordIndex;
  private readonly keywordScan: KeywordPatternScan | undefined;

  /**
   * @param sizeHint the body's expected size, when known, so that it is held in one buffer from the
   * start (more or fewer bytes are fine).
   */
  constructor(private readonly rules: readonly SecretRule[] = SECRET_RULES, private readonly blockChars = 1024 * 1024, sizeHint = 0) {
    if (!Number.isSafeInteger(blockChars) || blockChars <= 0) throw new RangeError(`blockChars must be a positive integer, got ${blockChars}`);
    this.index = keywordIndex(rules);
    this.keywordScan = this.index.automaton === undefined ? undefined : new KeywordPatternScan(this.index.automaton);
    const window = blockChars + this.overlap + this.ahead;
    this.held = Buffer.allocUnsafe(Math.max(64, Math.min(sizeHint > 0 ? sizeHint : 4096, window)));
  }

  /** Characters fed so far. */
  get length(): number {
    return this.base + this.fill;
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.keywordScan?.write(chunk);
    if (this.fill + chunk.length > this.held.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.fill + chunk.length, 2 * this.held.length));
      this.held.copy(grown, 0, 0, this.fill);
      this.held = grown;
    }
    this.fill += chunk.copy(this.held, this.fill);
    while (this.base + this.fill - this.lo >= this.blockChars + this.ahead) this.scan(this.lo + this.blockChars);
  }

  /** Every hit, in text order (at most {@link MAX_HITS_PER_TEXT}). */
  end(): SecretHit[] {
    this.scan(Number.POSITIVE_INFINITY);
    this.hits.sort((a, b) => a.index - b.index);
    return this.hits;
  }

  /** The rules (in precedence order) with a keyword in the held text, i.e. at or after `base`. */
  private activeRules(): SecretRule[] {
    const { automaton, keywords, rulesOf, always } = this.index;
    if (automaton === undefined) {
      // Too many keywords for one automaton: the plain test on the held text.
      const lower = this.held.toString('latin1', 0, this.fill).toLowerCase();
      return this.rules.filter((r) => r.keywords.some((k) => lower.includes(k)));
    }
    const scan = this.keywordScan!;
    if (scan.found === 0 && always.length === 0) return [];
    const on = new Uint8Array(this.rules.length);
    for (const i of always) on[i] = 1;
    for (let k = 0; k < keywords.length; k++) {
      if (scan.lastEnd(k) >= 0 && scan.lastEnd(k) - keywords[k].length >= this.base) for (const i of rulesOf[k]) on[i] = 1;
    }
    return this.rules.filter((_r, i) => on[i] === 1);
  }

  /** Reports the matches starting in `[lo, hi)` and drops the text no later window needs. */
  private scan(hi: number): void {
    if (this.hits.length < MAX_HITS_PER_TEXT) {
      const rules = this.activeRules();
      if (rules.length > 0) {
        const text = this.held.toString('latin1', 0, this.fill);
        const found = runRules(text, rules, this.lo - this.base, hi - this.base);
        found.sort((a, b) => a.index - b.index);
        let line = this.linesBefore + 1;
        let pos = 0;
        for (const f of found) {
          if (this.hits.length >= MAX_HITS_PER_TEXT) break;
          for (; pos < f.index; pos++) if (text.charCodeAt(pos) === 10) line++;
          const { start: _start, ...hit } = f;
          this.hits.push({ ...hit, index: hit.index + this.base, line });
        }
      }
    }
    if (!Number.isFinite(hi)) return;
    this.lo = hi;
    const keepFrom = Math.max(this.base, hi - this.overlap);
    const drop = keepFrom - this.base;
    this.linesBefore += countLines(this.held, 0, drop);
    this.held.copyWithin(0, drop, this.fill);
    this.fill -= drop;
    this.base = keepFrom;
  }
}

/**
 * The automaton's scan of commit 307715f (lib/engine/checks/multi-pattern.ts `PatternScan`; the tables
 * it walks are compiled as they were). One body's pass through a {@link MultiPattern}: feed the chunks in order with {@link write}; per
 * pattern, {@link firstEnd} and {@link lastEnd} hold the absolute offset just past its first and its
 * last occurrence (-1: none yet). Nothing is allocated per body until a pattern occurs.
 */
class KeywordPatternScan {
  /** Bytes fed so far. */
  pos = 0;
  private state = 0;
  private first: Float64Array | undefined;
  private last: Float64Array | undefined;
  /** Patterns that have occurred at least once. */
  found = 0;

  constructor(private readonly mp: MultiPattern) {}

  /** Offset just past the first occurrence of pattern `p`, -1 when it has not occurred. */
  firstEnd(p: number): number {
    return this.first === undefined ? -1 : this.first[p];
  }

  /** Offset just past the latest occurrence of pattern `p`, -1 when it has not occurred. */
  lastEnd(p: number): number {
    return this.last === undefined ? -1 : this.last[p];
  }

  /** Feeds the next bytes of the body (a view is fine: nothing is kept). */
  write(chunk: Uint8Array): void {
    const { next, firstAccepting } = this.mp;
    let s = this.state;
    const len = chunk.length;
    for (let i = 0; i < len; i++) {
      s = next[(s << 8) | chunk[i]];
      if (s >= firstAccepting) this.hit(s, this.pos + i + 1);
    }
    this.state = s;
    this.pos += len;
  }

  /** Records every pattern ending at state `s`, just before absolute offset `end`. */
  private hit(s: number, end: number): void {
    const { outStart, outList } = this.mp;
    const first = (this.first ??= new Float64Array(this.mp.count).fill(-1));
    const last = (this.last ??= new Float64Array(this.mp.count).fill(-1));
    for (let k = outStart[s]; k < outStart[s + 1]; k++) {
      const p = outList[k];
      if (first[p] < 0) {
        first[p] = end;
        this.found++;
      }
      last[p] = end;
    }
  }
}

/** Where a text came from, for its findings. */
interface Place {
  readonly path: string;
  readonly layer?: string;
  /** Whether to say the line (a one-line config string has none worth saying). */
  readonly lines: boolean;
}

/**
 * Findings for the hits of one text: one per rule and distinct secret (the first line it is on), at
 * most {@link MAX_FINDINGS_PER_TEXT}. Messages carry the redacted match only.
 */
function findingsFor(hits: readonly SecretHit[], place: Place): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  let more = 0;
  for (const h of hits) {
    const key = `${h.rule.id}\0${h.secret}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (out.length >= MAX_FINDINGS_PER_TEXT) {
      more++;
      continue;
    }
    const at = place.lines ? `${place.path} line ${h.line}` : place.path;
    const label = h.label ? ` (${h.label})` : '';
    out.push({
      type: 'secret',
      id: h.rule.id,
      aliases: [],
      severity: h.rule.severity,
      ...(place.layer !== undefined ? { layer: place.layer } : {}),
      path: place.path,
      message: `${h.rule.title}${label} in ${at}: ${redact(h.secret)}`,
    });
  }
  if (more > 0) {
    const last = out[out.length - 1];
    out[out.length - 1] = { ...last, message: `${last.message} (and ${more} more secret${more === 1 ? '' : 's'} in ${place.path} not listed)` };
  }
  return out;
}


/**
 * The secrets file check of commit 307715f over one body (wants, the streaming binary probe, the
 * keyword scanner above, the findings): its findings, or `undefined` when the check passes the file.
 */
export function keywordSecretsFindings(layer: string, path: string, info: EntryInfo, chunks: readonly Buffer[], blockChars?: number): Finding[] | undefined {
  if (!secretsWants()(path, info)) return undefined;
  const opts = { blockChars };
  let scanner: KeywordSecretStreamScanner | undefined;
  let binary = false;
  let probed = 0;
  for (const chunk of chunks) {
    if (binary || chunk.length === 0) continue;
    if (probed < BINARY_PROBE_BYTES) {
      const n = Math.min(chunk.length, BINARY_PROBE_BYTES - probed);
      probed += n;
      if (looksBinary(chunk.subarray(0, n))) {
        binary = true;
        scanner = undefined;
        continue;
      }
    }
    scanner ??= new KeywordSecretStreamScanner(undefined, opts.blockChars, info.size);
    scanner.write(chunk);
  }
  return !binary && scanner !== undefined ? findingsFor(scanner.end(), { path, layer, lines: true }) : [];
}
