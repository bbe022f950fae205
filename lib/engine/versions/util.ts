/**
 * Compares two runs of decimal digits by value, with no size limit (leading zeros ignored): -1, 0 or 1.
 * Version schemes whose tools compare arbitrarily long numbers exactly (rpm, dpkg, Maven, RubyGems, Go)
 * use it instead of `Number`, which loses precision past 2^53.
 */
export function compareDigits(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length - 1 && a[i] === '0') i++;
  while (j < b.length - 1 && b[j] === '0') j++;
  const la = a.length - i;
  const lb = b.length - j;
  if (la !== lb) return la < lb ? -1 : 1;
  const x = a.slice(i);
  const y = b.slice(j);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** -1, 0 or 1: the sign of `n`. */
export const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
