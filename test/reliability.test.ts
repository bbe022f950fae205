import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './helpers/corpus';

/**
 * Keeps the promise of ../shared/RELIABILITY.md honest: every case this checkout claims (all of them,
 * 1–61) is named by at least one test — as `case N` in a test name or as
 * `RELIABILITY.md N[, M…]` in a describe — so a case cannot silently lose its test.
 */
const CLAIMED = Array.from({ length: 61 }, (_, i) => i + 1);

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? testFiles(p) : p.endsWith('.test.ts') && !p.endsWith('reliability.test.ts') ? [p] : [];
  });
}

function namedCases(source: string): Set<number> {
  const found = new Set<number>();
  const add = (list: string) => {
    for (const part of list.split(/[,\s]+/)) {
      const range = /^(\d+)[–-](\d+)$/.exec(part);
      if (range) for (let n = Number(range[1]); n <= Number(range[2]); n++) found.add(n);
      else if (/^\d+$/.test(part)) found.add(Number(part));
    }
  };
  for (const m of source.matchAll(/RELIABILITY\.md,? (?:cases? )?([\d ,–-]+)/g)) add(m[1]);
  for (const m of source.matchAll(/\bcases? ([\d ,/–-]+)/gi)) add(m[1].replace(/\//g, ','));
  return found;
}

describe('RELIABILITY.md coverage', () => {
  const covered = new Set<number>();
  for (const f of testFiles(__dirname)) for (const n of namedCases(readFileSync(f, 'utf8'))) covered.add(n);

  it('the catalogue exists and lists the claimed cases', () => {
    const catalogue = readFileSync(join(SHARED, 'RELIABILITY.md'), 'utf8');
    for (const n of CLAIMED) expect(catalogue).toMatch(new RegExp(`^${n}\\. `, 'm'));
  });

  it.each(CLAIMED)('case %d has a test', (n) => {
    expect(covered.has(n)).toBe(true);
  });
});
