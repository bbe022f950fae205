/** Ways to feed one body to a streaming consumer in pieces (differential tests of the streaming checks). */

/** `body` cut at the given offsets (sorted; repeats give empty pieces). */
export function cutAt(body: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (const c of [...cuts, body.length]) {
    out.push(body.subarray(off, c));
    off = c;
  }
  return out;
}

/** `body` one byte at a time. */
export const bytewise = (body: Buffer): Buffer[] => Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));

/** Up to 11 random cut points in `[0, len]`, sorted (some pieces tiny or empty). */
export const randomCuts = (r: () => number, len: number): number[] =>
  Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * (len + 1))).sort((a, b) => a - b);
