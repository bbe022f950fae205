import { readFileSync } from 'node:fs';
import { InvalidVersionError, type VersionScheme } from '../../../lib/engine/versions/scheme';
import { corpusPath } from '../../helpers/corpus';

/** One comparison vector of ../shared/corpus/version-compare: `compare(a, b)` has the sign of `cmp`. */
export interface Vector {
  readonly a: string;
  readonly b: string;
  readonly cmp: number;
}

/** Parsed JSON of a file under ../shared/corpus/version-compare. */
export function readCorpus<T>(folder: string, file: string): T {
  return JSON.parse(readFileSync(corpusPath('version-compare', folder, file), 'utf8')) as T;
}

/**
 * Allow-list entries: vectors we knowingly answer differently from the file, each group with the one
 * reason that covers every listed item. `versions` are versions the file orders but we refuse as
 * invalid (the test checks the scheme does throw {@link InvalidVersionError} for each); `pairs` are
 * comparisons of valid versions where we give another answer (the test checks we still answer).
 */
export interface Allowed {
  readonly reason: string;
  readonly versions?: readonly string[];
  readonly pairs?: readonly (readonly [a: string, b: string])[];
}

/** What running a vector file found. */
export interface VectorReport {
  readonly total: number;
  readonly agreed: number;
  /** Vectors that disagree and are not allow-listed, readable. */
  readonly disagreements: readonly string[];
  /** Allow-list items no vector used: a stale allow-list hides nothing and must shrink. */
  readonly unusedAllowances: readonly string[];
}

const sgn = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const show = (v: string): string => JSON.stringify(v);
const fmt = (r: number | Error): string => (r instanceof Error ? `${r.name}: ${r.message}` : String(r));

/**
 * Runs every vector through `compare` in both directions (`compare(b, a)` must be the opposite
 * sign). A vector that disagrees is accepted only when the allow-list names it: one of its versions is
 * listed as refused (and `compare` throws InvalidVersionError for it), or its pair is listed.
 */
export function runVectors(vectors: readonly Vector[], compare: (a: string, b: string) => number, allowed: readonly Allowed[] = []): VectorReport {
  const refused = new Map<string, string>();
  const pairs = new Map<string, string>();
  for (const g of allowed) {
    for (const v of g.versions ?? []) refused.set(v, g.reason);
    for (const [a, b] of g.pairs ?? []) pairs.set(`${a}\u0000${b}`, g.reason);
  }
  const used = new Set<string>();
  const disagreements: string[] = [];
  let agreed = 0;
  for (const v of vectors) {
    const want = sgn(v.cmp);
    let got: number | Error;
    let back: number | Error;
    try {
      got = sgn(compare(v.a, v.b));
    } catch (e) {
      got = e as Error;
    }
    try {
      back = sgn(compare(v.b, v.a));
    } catch (e) {
      back = e as Error;
    }
    if (got === want && back === -want) {
      agreed++;
      continue;
    }
    const label = `${show(v.a)} vs ${show(v.b)}: want ${want}, got ${fmt(got)} (reversed: ${fmt(back)})`;
    const threw = got instanceof InvalidVersionError && back instanceof InvalidVersionError;
    const refusedHere = [v.a, v.b].filter((x) => refused.has(x));
    if (threw && refusedHere.length > 0) {
      refusedHere.forEach((x) => used.add(`version ${show(x)}`));
      continue;
    }
    const key = [`${v.a}\u0000${v.b}`, `${v.b}\u0000${v.a}`].find((k) => pairs.has(k));
    if (key !== undefined && typeof got === 'number' && typeof back === 'number' && back === -got) {
      used.add(`pair ${key.split('\u0000').map(show).join(' vs ')}`);
      continue;
    }
    disagreements.push(label);
  }
  const all = [...refused.keys()].map((x) => `version ${show(x)}`).concat([...pairs.keys()].map((k) => `pair ${k.split('\u0000').map(show).join(' vs ')}`));
  return { total: vectors.length, agreed, disagreements, unusedAllowances: all.filter((x) => !used.has(x)) };
}

/** Jest assertion text: every disagreement on its own line (empty when all agree). */
export function describeReport(file: string, r: VectorReport): string {
  return r.disagreements.length === 0 ? '' : `${file}: ${r.disagreements.length} of ${r.total} vectors disagree:\n${r.disagreements.join('\n')}`;
}

/**
 * Asserts that every version of the allow-list groups is refused by the scheme: not valid, and
 * compare() throws InvalidVersionError naming it.
 */
export function refusedByScheme(scheme: VersionScheme, allowed: readonly Allowed[]): string[] {
  const wrong: string[] = [];
  for (const v of allowed.flatMap((g) => g.versions ?? [])) {
    if (scheme.isValid(v)) wrong.push(`${show(v)} is valid`);
    try {
      scheme.compare(v, v);
      wrong.push(`${show(v)}: compare did not throw`);
    } catch (e) {
      if (!(e instanceof InvalidVersionError) || e.input !== v) wrong.push(`${show(v)}: threw ${String(e)}`);
    }
  }
  return wrong;
}

/** `[sign of compare(a, b), sign of compare(b, a)]`, zeros normalised: for `toEqual([want, -want])` checks. */
export function bothWays(compare: (a: string, b: string) => number, a: string, b: string): [number, number] {
  return [sgn(compare(a, b)) || 0, sgn(compare(b, a)) || 0];
}

/** `[want, -want]` with zeros normalised, the expectation for {@link bothWays}. */
export const expected = (want: number): [number, number] => [sgn(want) || 0, sgn(-want) || 0];
