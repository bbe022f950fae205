import { LATIN1_LOWER, MAX_RECORDED, MultiPattern } from '../../../lib/engine/checks/multi-pattern';
import { cutAt } from '../../helpers/chunks';
import { mulberry32 as rng } from '../../helpers/prng';


/** Brute force: end of the first and the last occurrence of each pattern in `fold(text)`. */
function naive(patterns: readonly Buffer[], text: Buffer, fold?: Uint8Array): { first: number[]; last: number[] } {
  const t = fold ? Buffer.from(text.map((b) => fold[b])) : text;
  const first: number[] = [];
  const last: number[] = [];
  for (const p of patterns) {
    let f = -1;
    let l = -1;
    if (p.length > 0) {
      for (let i = t.indexOf(p); i >= 0; i = t.indexOf(p, i + 1)) {
        if (f < 0) f = i + p.length;
        l = i + p.length;
      }
    }
    first.push(f);
    last.push(l);
  }
  return { first, last };
}

function scanIn(mp: MultiPattern, text: Buffer, cuts: readonly number[]): { first: number[]; last: number[] } {
  const s = mp.scan();
  for (const piece of cutAt(text, cuts)) s.write(piece);
  return { first: Array.from({ length: mp.count }, (_, p) => s.firstEnd(p)), last: Array.from({ length: mp.count }, (_, p) => s.lastEnd(p)) };
}

describe('MultiPattern (Aho-Corasick over chunks)', () => {
  it.each([
    ['overlapping patterns, one a suffix of another', ['he', 'she', 'his', 'hers'], 'ushers and his hershe'],
    ['a pattern inside another', ['abcd', 'bc', 'c'], 'xxabcdxxbcx'],
    ['repeated pattern, overlapping occurrences', ['aa'], 'aaaaa'],
    ['the same pattern twice keeps both indices', ['tok', 'tok'], 'a tok b'],
    ['no occurrence', ['zzz'], 'abc'],
  ])('%s: first and last ends as a brute-force search, at every single split', (_name, pats, text) => {
    const patterns = pats.map((p) => Buffer.from(p, 'latin1'));
    const mp = MultiPattern.compile(patterns)!;
    const body = Buffer.from(text, 'latin1');
    const expected = naive(patterns, body);
    for (let k = 0; k <= body.length; k++) expect(scanIn(mp, body, [k])).toEqual(expected);
    expect(scanIn(mp, body, Array.from({ length: body.length }, (_, i) => i))).toEqual(expected);
  });

  it('case folding (latin1 toLowerCase) applies to the text only, as lower-casing the text and calling includes', () => {
    const patterns = ['secret', 'Secret', 'àb', 'xÀ'].map((p) => Buffer.from(p, 'latin1'));
    const mp = MultiPattern.compile(patterns, LATIN1_LOWER)!;
    const body = Buffer.from('my SeCrEt ÀB xÀ', 'latin1');
    const s = mp.scan();
    s.write(body);
    const lower = body.toString('latin1').toLowerCase();
    // 'Secret' and 'xÀ' hold a character lower-casing never produces: never found, as includes would say.
    const found = patterns.map((_, p) => s.firstEnd(p) >= 0);
    expect(found).toEqual(patterns.map((p) => lower.includes(p.toString('latin1'))));
    expect(found).toEqual([true, false, true, false]);
  });

  it('LATIN1_LOWER is String.prototype.toLowerCase on every latin1 character', () => {
    for (let b = 0; b < 256; b++) expect(String.fromCharCode(LATIN1_LOWER[b])).toBe(String.fromCharCode(b).toLowerCase());
  });

  it('randomised: 200 pattern sets over random texts and random chunkings agree with brute force (with and without folding)', () => {
    const r = rng(16);
    for (let round = 0; round < 200; round++) {
      const alphabet = round % 2 === 0 ? 'abAB' : 'abcdefgh\x00\xff';
      const pick = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''), 'latin1');
      const patterns = Array.from({ length: 1 + Math.floor(r() * 12) }, () => pick(1 + Math.floor(r() * 6)));
      const text = pick(Math.floor(r() * 400));
      const fold = round % 3 === 0 ? LATIN1_LOWER : undefined;
      const mp = MultiPattern.compile(patterns, fold)!;
      const cuts = Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * (text.length + 1))).sort((a, b) => a - b);
      expect(scanIn(mp, text, cuts)).toEqual(naive(patterns, text, fold));
    }
  });

  it('more than 256 states: the 16-bit table gives the same answers', () => {
    const r = rng(7);
    const patterns = Array.from({ length: 60 }, (_, i) => Buffer.from(`pattern-${i}-${Math.floor(r() * 1e6)}`, 'latin1'));
    const mp = MultiPattern.compile(patterns)!;
    expect(mp.next).toBeInstanceOf(Uint16Array);
    const text = Buffer.from(patterns.filter((_, i) => i % 3 === 0).map((p) => `..${p.toString('latin1')}..`).join('pattern-'), 'latin1');
    expect(scanIn(mp, text, [5, 100, 101, 700])).toEqual(naive(patterns, text));
  });

  it('refuses a set too large for its table instead of growing without bound', () => {
    // 17 × 4096 bytes without a shared prefix: a trie of 69,633 states (over 2^16).
    expect(MultiPattern.compile(Array.from({ length: 17 }, (_, i) => Buffer.alloc(4096, i + 1)))).toBeUndefined();
    // Far more pattern bytes than that: refused before building the trie.
    expect(MultiPattern.compile(Array.from({ length: 80 }, (_, i) => Buffer.alloc(4096, i + 1)))).toBeUndefined();
    expect(MultiPattern.compile(Array.from({ length: 15 }, (_, i) => Buffer.alloc(4096, i + 1)))).toBeDefined();
  });

  describe('the occurrence record (scan(true))', () => {
    /** Every occurrence as [end, pattern], ordered by end then pattern: brute force over the folded text. */
    const every = (patterns: readonly Buffer[], text: Buffer, fold?: Uint8Array): [number, number][] => {
      const t = fold ? Buffer.from(text.map((b) => fold[b])) : text;
      const out: [number, number][] = [];
      patterns.forEach((p, idx) => {
        for (let i = t.indexOf(p); i >= 0 && p.length > 0; i = t.indexOf(p, i + 1)) out.push([i + p.length, idx]);
      });
      return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    };
    const recorded = (s: ReturnType<MultiPattern['scan']>): [number, number][] =>
      Array.from({ length: s.recordedCount }, (_, i): [number, number] => [s.recordedEnds![i], s.recordedPatterns![i]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);

    it('holds every occurrence, overlapping ones included, in end order, at every split and with folding', () => {
      const r = rng(31);
      for (let round = 0; round < 100; round++) {
        const alphabet = 'abAB-';
        const pick = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''), 'latin1');
        const patterns = Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(1 + Math.floor(r() * 4)).map((b) => LATIN1_LOWER[b]));
        const text = pick(Math.floor(r() * 60));
        const mp = MultiPattern.compile(patterns.map((p) => Buffer.from(p)), LATIN1_LOWER)!;
        const expected = every(patterns.map((p) => Buffer.from(p)), text, LATIN1_LOWER);
        for (let k = 0; k <= text.length; k++) {
          const s = mp.scan(true);
          s.write(text.subarray(0, k));
          s.write(text.subarray(k));
          expect([round, k, recorded(s)]).toEqual([round, k, expected]);
          // In the order they end (what the secrets scanner relies on to sort only when needed).
          for (let i = 1; i < s.recordedCount; i++) expect(s.recordedEnds![i]).toBeGreaterThanOrEqual(s.recordedEnds![i - 1]);
        }
      }
    });

    it('long chunks (walked as two halves at once): every occurrence, in end order, at chunk sizes around the two-walk threshold', () => {
      const r = rng(57);
      for (let round = 0; round < 30; round++) {
        const alphabet = round % 2 === 0 ? 'abAB' : 'abcdefghij';
        const pick = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''), 'latin1');
        const patterns = Array.from({ length: 1 + Math.floor(r() * 8) }, () => pick(1 + Math.floor(r() * 24)).map((b) => LATIN1_LOWER[b]));
        const text = pick(500 + Math.floor(r() * 4000));
        const mp = MultiPattern.compile(patterns.map((p) => Buffer.from(p)), LATIN1_LOWER)!;
        const expected = every(patterns.map((p) => Buffer.from(p)), text, LATIN1_LOWER);
        for (const size of [1, 2 * mp.maxLength + 15, 4 * mp.maxLength + 32, 4 * mp.maxLength + 33, 97, 1000, text.length]) {
          const s = mp.scan(true);
          for (let o = 0; o < text.length; o += size) s.write(text.subarray(o, o + size));
          expect([round, size, recorded(s)]).toEqual([round, size, expected]);
          for (let i = 1; i < s.recordedCount; i++) expect(s.recordedEnds![i]).toBeGreaterThanOrEqual(s.recordedEnds![i - 1]);
          const firsts = patterns.map((_, p) => expected.find((e) => e[1] === p)?.[0] ?? -1);
          const lasts = patterns.map((_, p) => [...expected].reverse().find((e) => e[1] === p)?.[0] ?? -1);
          expect([round, size, patterns.map((_, p) => s.firstEnd(p)), patterns.map((_, p) => s.lastEnd(p))]).toEqual([round, size, firsts, lasts]);
        }
      }
    });

    it('forget(end) drops exactly the occurrences ending at or before end', () => {
      const mp = MultiPattern.compile([Buffer.from('ab'), Buffer.from('b')])!;
      const s = mp.scan(true);
      s.write(Buffer.from('abxabxab', 'latin1'));
      expect(recorded(s)).toEqual([[2, 0], [2, 1], [5, 0], [5, 1], [8, 0], [8, 1]]);
      s.forget(4);
      expect(recorded(s)).toEqual([[5, 0], [5, 1], [8, 0], [8, 1]]);
      s.forget(5);
      expect(recorded(s)).toEqual([[8, 0], [8, 1]]);
      s.write(Buffer.from('b', 'latin1'));
      expect(recorded(s)).toEqual([[8, 0], [8, 1], [9, 1]]);
    });

    it('past MAX_RECORDED occurrences it says the record is lost and keeps nothing more; first and last ends go on', () => {
      const mp = MultiPattern.compile([Buffer.from('a')])!;
      const s = mp.scan(true);
      s.write(Buffer.alloc(MAX_RECORDED, 'a'));
      expect([s.recordLost, s.recordedCount]).toEqual([false, MAX_RECORDED]);
      s.write(Buffer.from('xa', 'latin1'));
      expect(s.recordLost).toBe(true);
      expect(s.recordedEnds).toBeUndefined();
      expect([s.firstEnd(0), s.lastEnd(0)]).toEqual([1, MAX_RECORDED + 2]);
      // Without record: nothing kept at all.
      const plain = mp.scan();
      plain.write(Buffer.from('aaa', 'latin1'));
      expect([plain.recordedEnds, plain.recordedCount, plain.lastEnd(0)]).toEqual([undefined, 0, 3]);
    });
  });
});
