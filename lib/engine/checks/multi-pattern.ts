/**
 * Many byte strings found in one pass over a body that arrives in chunks: an Aho-Corasick automaton
 * compiled to a full DFA (one table lookup per byte, whatever the number of patterns), shared by the
 * content checks — the malware check's byte-pattern rules and the secrets check's rule keywords.
 *
 * The scan state is a single integer carried from one chunk to the next, so a pattern split across
 * chunks (at any byte, down to 1-byte chunks) is found exactly as in the whole body, without holding
 * a seam buffer or copying a chunk. Every occurrence is seen (overlapping ones included); a
 * {@link PatternScan} keeps, per pattern, the end of its first and of its last occurrence, which is
 * all the checks need (the first place a malware rule matched; whether a secrets window holds a
 * keyword).
 *
 * Case folding is built into the table (`fold`): a text byte is folded before it is compared, the
 * pattern bytes are not — the contract of `text.toLowerCase().includes(keyword)` on latin1 text, which
 * is what the secrets rules' keyword test was.
 */

/** A byte → byte map applied to the text before comparing (not to the patterns). */
export type ByteFold = Uint8Array;

/**
 * `String.prototype.toLowerCase` on one latin1 character, as a byte map: for every latin1 code unit
 * its lower case is one latin1 code unit (A–Z and À–Þ except ×), so folding bytes with this table and
 * then comparing is exactly `latin1(text).toLowerCase()` compared with the keyword.
 */
export const LATIN1_LOWER: ByteFold = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const l = String.fromCharCode(b).toLowerCase();
    // Never otherwise for latin1, but a fold must stay one byte; keep the byte as it is if not.
    t[b] = l.length === 1 && l.charCodeAt(0) < 256 ? l.charCodeAt(0) : b;
  }
  return t;
})();

/** Largest automaton compiled (states): 2^16 keeps the table in 16-bit entries, at most 32 MiB. */
export const MAX_STATES = 1 << 16;

/**
 * A compiled set of byte patterns. Immutable and shared: each body gets its own cheap
 * {@link PatternScan} ({@link scan}).
 */
export class MultiPattern {
  /** `next[state * 256 + byte]`: the DFA (failure links folded in). */
  readonly next: Uint8Array | Uint16Array;
  /** States from this one on are those where at least one pattern ends. */
  readonly firstAccepting: number;
  /** Patterns ending at state `s`: `outList[outStart[s] .. outStart[s + 1])`. */
  readonly outStart: Int32Array;
  readonly outList: Int32Array;
  /** Pattern lengths (bytes). */
  readonly lengths: Int32Array;
  /** How many patterns were compiled — unmatchable ones (a byte the fold never produces) included, so indices stay aligned. */
  readonly count: number;
  /** True when some pattern is empty: it "occurs" in every body, even an empty one. */
  readonly hasEmpty: boolean;
  /** The longest pattern's length: no state stands for more text than this (see {@link PatternScan.write}). */
  readonly maxLength: number;

  private constructor(next: Uint8Array | Uint16Array, firstAccepting: number, outStart: Int32Array, outList: Int32Array, lengths: Int32Array, hasEmpty: boolean) {
    this.next = next;
    this.firstAccepting = firstAccepting;
    this.outStart = outStart;
    this.outList = outList;
    this.lengths = lengths;
    this.count = lengths.length;
    this.hasEmpty = hasEmpty;
    this.maxLength = lengths.reduce((m, n) => Math.max(m, n), 0);
  }

  /**
   * Compiles `patterns` (indices are kept: match reports name the pattern by its index). With
   * `fold`, a text byte `b` is compared as `fold[b]`; a pattern byte that no folded byte equals makes
   * that pattern unmatchable (as `lower.includes('A')` never holds). Returns `undefined` when the
   * automaton would exceed {@link MAX_STATES} states (or the patterns total more than four times that
   * many bytes) — the caller keeps a simpler matcher then.
   */
  static compile(patterns: readonly Uint8Array[], fold?: ByteFold): MultiPattern | undefined {
    // Which text bytes lead to each pattern byte: inverse of the fold.
    const sources: number[][] = Array.from({ length: 256 }, () => []);
    for (let b = 0; b < 256; b++) sources[fold ? fold[b] : b].push(b);
    // Trie over pattern bytes (goto), states numbered in creation order; state 0 is the root.
    const gotoMaps: Map<number, number>[] = [new Map()];
    const ends: number[][] = [[]];
    let hasEmpty = false;
    let total = 1;
    for (const p of patterns) total += p.length;
    if (total > MAX_STATES * 4) return undefined; // cheap early refusal; the trie is checked exactly below
    patterns.forEach((p, idx) => {
      if (p.length === 0) {
        hasEmpty = true;
        return;
      }
      for (let i = 0; i < p.length; i++) if (sources[p[i]].length === 0) return; // unmatchable
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        let t = gotoMaps[s].get(p[i]);
        if (t === undefined) {
          t = gotoMaps.length;
          gotoMaps.push(new Map());
          ends.push([]);
          gotoMaps[s].set(p[i], t);
        }
        s = t;
      }
      ends[s].push(idx);
    });
    const n = gotoMaps.length;
    if (n > MAX_STATES) return undefined;
    // Breadth-first: failure links, outputs merged along them, and the full transition table over
    // pattern bytes; then text bytes are mapped through the fold.
    const byPatternByte = new Uint16Array(n * 256);
    const fail = new Int32Array(n);
    const order: number[] = [];
    for (let c = 0; c < 256; c++) {
      const t = gotoMaps[0].get(c);
      if (t !== undefined) {
        byPatternByte[c] = t;
        fail[t] = 0;
        order.push(t);
      }
    }
    const outs: number[][] = ends.map((e) => [...e]);
    for (let q = 0; q < order.length; q++) {
      const s = order[q];
      outs[s].push(...outs[fail[s]].filter((x) => !outs[s].includes(x)));
      for (let c = 0; c < 256; c++) {
        const t = gotoMaps[s].get(c);
        if (t !== undefined) {
          fail[t] = byPatternByte[fail[s] * 256 + c];
          byPatternByte[s * 256 + c] = t;
          order.push(t);
        } else byPatternByte[s * 256 + c] = byPatternByte[fail[s] * 256 + c];
      }
    }
    // Renumber: accepting states last, so the scan tests `state >= firstAccepting` (no second
    // table load per byte); the root stays 0.
    const accepts = (st: number): boolean => outs[st].length > 0;
    const renum = new Int32Array(n);
    let k = 0;
    for (let st = 0; st < n; st++) if (!accepts(st)) renum[st] = k++;
    const firstAccepting = k;
    for (let st = 0; st < n; st++) if (accepts(st)) renum[st] = k++;
    // At most 256 states fit a byte table (the secrets keywords do): a quarter of the cache footprint.
    const next = n <= 256 ? new Uint8Array(n * 256) : new Uint16Array(n * 256);
    const f = fold ?? IDENTITY;
    for (let st = 0; st < n; st++) for (let b = 0; b < 256; b++) next[renum[st] * 256 + b] = renum[byPatternByte[st * 256 + f[b]]];
    const outStart = new Int32Array(n + 1);
    const list: number[] = [];
    const byNew: number[][] = new Array<number[]>(n);
    for (let st = 0; st < n; st++) byNew[renum[st]] = outs[st];
    for (let st = 0; st < n; st++) {
      outStart[st] = list.length;
      // Pattern order within a state does not matter to callers (they record per pattern).
      for (const x of byNew[st]) list.push(x);
    }
    outStart[n] = list.length;
    return new MultiPattern(next, firstAccepting, outStart, Int32Array.from(list), Int32Array.from(patterns.map((p) => p.length)), hasEmpty);
  }

  /**
   * A fresh scan of one body. With `record`, the scan also keeps every occurrence (see
   * {@link PatternScan.recordedEnds}), for a caller that needs where the patterns are, not just whether.
   */
  scan(record = false): PatternScan {
    return new PatternScan(this, record);
  }
}

const IDENTITY: ByteFold = Uint8Array.from({ length: 256 }, (_, i) => i);

/**
 * One body's pass through a {@link MultiPattern}: feed the chunks in order with {@link write}; per
 * pattern, {@link firstEnd} and {@link lastEnd} hold the absolute offset just past its first and its
 * last occurrence (-1: none yet). Nothing is allocated per body until a pattern occurs.
 */
export class PatternScan {
  /** Bytes fed so far. */
  pos = 0;
  private state = 0;
  private first: Float64Array | undefined;
  private last: Float64Array | undefined;
  /** Patterns that have occurred at least once. */
  found = 0;
  /**
   * With `record`: the occurrences kept (see {@link forget}), in the order they end: occurrence `i`
   * is pattern `recordedPatterns[i]` ending just before absolute offset `recordedEnds[i]`, for
   * `i < recordedCount` (the arrays are allocated at the first occurrence). Bounded by
   * {@link MAX_RECORDED}: past it, {@link recordLost} turns true for good and nothing more is kept
   * (the caller must then not rely on the record).
   */
  recordedEnds: Float64Array | undefined;
  recordedPatterns: Int32Array | undefined;
  recordedCount = 0;
  recordLost = false;

  constructor(private readonly mp: MultiPattern, private readonly recording = false) {}

  /** Offset just past the first occurrence of pattern `p`, -1 when it has not occurred. */
  firstEnd(p: number): number {
    return this.first === undefined ? -1 : this.first[p];
  }

  /** Offset just past the latest occurrence of pattern `p`, -1 when it has not occurred. */
  lastEnd(p: number): number {
    return this.last === undefined ? -1 : this.last[p];
  }

  /**
   * Feeds the next bytes of the body (a view is fine: nothing is kept).
   *
   * A chunk of some size is walked as two halves at once, in one loop: each step of the automaton
   * waits for the table load of the step before, so one walk leaves the processor idle most of the
   * time, and two independent walks interleaved take about the time of one. The second walk starts
   * from the root `maxLength` bytes before the middle, and from the middle on it is in the very state
   * a single walk would be in: an Aho-Corasick state stands for the longest suffix of the text read
   * that is a prefix of some pattern, at most `maxLength` characters, so it is the same whether the
   * text read began at the body's start or `maxLength` bytes back. Its occurrences before the middle
   * (the first walk's) are not reported, and the ones after are reported once the first half's are,
   * so {@link hit} sees every occurrence once, in the order they end, as with one walk.
   */
  write(chunk: Uint8Array): void {
    const { next, firstAccepting, maxLength } = this.mp;
    const len = chunk.length;
    const mid = len >>> 1;
    if (mid < 2 * maxLength + 16) {
      let s = this.state;
      for (let i = 0; i < len; i++) {
        s = next[(s << 8) | chunk[i]];
        if (s >= firstAccepting) this.hit(s, this.pos + i + 1);
      }
      this.state = s;
      this.pos += len;
      return;
    }
    let a = this.state;
    let b = 0;
    for (let j = mid - maxLength; j < mid; j++) b = next[(b << 8) | chunk[j]];
    const pos = this.pos;
    // The second half's occurrences (state, end), reported after the first half's.
    const later = this.later;
    let nLater = 0;
    for (let i = 0; i < mid; i++) {
      a = next[(a << 8) | chunk[i]];
      b = next[(b << 8) | chunk[mid + i]];
      if (a >= firstAccepting) this.hit(a, pos + i + 1);
      if (b >= firstAccepting) {
        later[nLater++] = b;
        later[nLater++] = pos + mid + i + 1;
      }
    }
    for (let i = 2 * mid; i < len; i++) {
      b = next[(b << 8) | chunk[i]];
      if (b >= firstAccepting) {
        later[nLater++] = b;
        later[nLater++] = pos + i + 1;
      }
    }
    for (let k = 0; k < nLater; k += 2) this.hit(later[k], later[k + 1]);
    later.length = 0;
    this.state = b;
    this.pos += len;
  }

  /** Scratch list of {@link write}. */
  private readonly later: number[] = [];

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
      if (this.recording) this.record(p, end);
    }
  }

  private record(p: number, end: number): void {
    if (this.recordLost) return;
    if (this.recordedEnds === undefined) {
      this.recordedEnds = new Float64Array(64);
      this.recordedPatterns = new Int32Array(64);
    }
    let ends = this.recordedEnds;
    if (this.recordedCount === ends.length) {
      if (ends.length >= MAX_RECORDED) {
        this.recordLost = true;
        this.recordedEnds = this.recordedPatterns = undefined;
        this.recordedCount = 0;
        return;
      }
      const n = 2 * ends.length;
      ends = new Float64Array(n);
      ends.set(this.recordedEnds!);
      const pats = new Int32Array(n);
      pats.set(this.recordedPatterns!);
      this.recordedEnds = ends;
      this.recordedPatterns = pats;
    }
    ends[this.recordedCount] = end;
    this.recordedPatterns![this.recordedCount++] = p;
  }

  /** Drops the recorded occurrences that end at or before absolute offset `end` (the caller is past them). */
  forget(end: number): void {
    const ends = this.recordedEnds;
    if (ends === undefined) return;
    let k = 0;
    while (k < this.recordedCount && ends[k] <= end) k++;
    if (k === 0) return;
    ends.copyWithin(0, k, this.recordedCount);
    this.recordedPatterns!.copyWithin(0, k, this.recordedCount);
    this.recordedCount -= k;
  }
}

/** Most occurrences a recording {@link PatternScan} keeps at once (3 MiB of record). */
export const MAX_RECORDED = 1 << 18;
