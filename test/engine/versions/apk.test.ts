import { apkScheme, apkValid, apkVersionCompare, apkVersionMatch } from '../../../lib/engine/versions/apk';
import { InvalidVersionError } from '../../../lib/engine/versions/scheme';
import { bothWays, describeReport, expected, readCorpus, refusedByScheme, runVectors, type Allowed, type Vector } from './vectors';

/*
 * We follow apk-tools 2.14 (what Alpine 3.x images run). The apk-tools file is apk-tools 3 master's
 * test/unit/version.data; its first 733 lines are also in apk-tools 2.14.9's test/version.data.
 */

/** apk-tools-version.data-compare.json, run through apk_version_compare exactly as `apk version -t` does. */
const APK_TOOLS_ALLOWED: readonly Allowed[] = [
  {
    reason:
      'apk-tools 3 only (version.data lines 737-739, not in 2.14.9): the `~<hex>` commit-hash token; apk-tools 2.14 src/version.c has no such token and rejects `~`, so `apk version -t` in Alpine 3.x answers "="',
    pairs: [
      ['1.0~1234', '1.0~2345'],
      ['1.0~1234-r1', '1.0~2345-r0'],
      ['1.0~1234-r1', '1.0~1234-r0'],
    ],
  },
];

/** Versions osv-scalibr's Alpine files order that apk-tools 2.14's apk_version_validate() rejects. */
const DIGIT_AFTER_LETTER =
  'a digit right after a letter: apk-tools 2.12+ token_next() (Alpine 3.13+, and apk-tools 3) makes it invalid and `apk version --check` rejects it; the fixture was ordered with alpine:3.10 (apk-tools 2.10), whose tokenizer accepted it';
const SCALIBR_ALLOWED: readonly Allowed[] = [
  {
    reason: DIGIT_AFTER_LETTER,
    versions: [
      '5.1p1-r0', '1.7.4p6-r1', '1.8.1p1-r1', '1.8.28p1-r1', '1.8.31p1-r1', '1.9.4p2-r1', '1.9.5p1-r1', '1.9.5p2-r1',
      '5.7.1p1-r0', '5.7.1p1-r1', '5.7.1p1-r2', '5.7.2p1-r0', '5.7.3p1-r0', '5.7.3p1-r1', '5.7.3p2-r0', '5.7.3p2-r1',
      '5.9.2p1-r0', '5.9.2p1-r1', '5.9.2p1-r2', '5.9.2p1-r3', '6.0.2p1-r0', '6.0.2p1-r1', '6.0.2p1-r2', '6.0.2p1-r3',
      '6.0.2p1-r4', '6.0.2p1-r5', '6.0.2p1-r6', '6.0.2p1-r7', '6.0.2p1-r8', '6.0.3p1-r0', '6.0.3p1-r1', '6.0.3p1-r2',
      '6.0.3p1-r3', '6.0.3p1-r4', '6.4.2p1-r0', '6.4.2p1-r1', '6.4.2p1-r2', '6.6.1p1-r0', '6.6.1p1-r1', '6.6.1p1-r2',
      '6.6.1p1-r3', '6.6.2p1-r0', '6.6.2p1-r2', '6.6.3p1-r0', '6.6.3p1-r1', '6.6.4p1-r0', '6.6.4p1-r1', '3.3.3p1-r0',
      '3.3.3p1-r1', '3.3.3p1-r2', '3.3.3p1-r4',
      '6.6.2p1', '6.6.2p2', '0r2', '0.8.21r2', '0...1...0r1', '0...1...0r2', '0.r1', '0...1...0.r1', '0...1...0.r2',
      '0.8.21.r2', '0.8.21.r1', '10.2.24.r0', '10.2.22.r0',
    ],
  },
  {
    reason: 'invalid in every apk-tools (the file itself says "invalid" / "technically invalid"): an upper-case letter, a second letter, an unknown `_suffix`, `-` not followed by `r<digits>`, or no leading digit; `apk version --check` rejects them, so no Alpine package carries them',
    versions: [
      '1.2.0A', '1.2.0D', '1.0bc', '1.2_blah', '1.2_csv2', '23_foo', '1-r-0', '1-r-1', '1-r-2', '1-r0-1', '1-r0-2', '1-ruff',
      '1-ruff1', '1-ruff2', '1--ruff1', '1-r0-ruff1', '1-r0-ruff2', '.1', '.2', 'a', 'b', 'c',
    ],
  },
];

describe('apk scheme: corpus comparison vectors', () => {
  it('alpine/apk-tools-version.data-compare.json: apk_version_compare agrees with apk-tools on every line but the apk-tools-3-only ones', () => {
    const vectors = readCorpus<(Vector & { in_v2_14_9: boolean })[]>('alpine', 'apk-tools-version.data-compare.json');
    const r = runVectors(vectors, apkVersionCompare, APK_TOOLS_ALLOWED);
    expect(describeReport('apk-tools-version.data-compare.json', r)).toBe('');
    expect(r.unusedAllowances).toEqual([]);
    // Every line apk-tools 2.14.9 itself tests agrees, with no allowance at all.
    const v2 = runVectors(vectors.filter((v) => v.in_v2_14_9), apkVersionCompare);
    expect(v2.total).toBe(733);
    expect(v2.agreed).toBe(v2.total);
    // The scheme (which refuses invalid versions) agrees wherever both versions are valid.
    const valid = vectors.filter((v) => apkValid(v.a) && apkValid(v.b));
    expect(runVectors(valid, apkScheme.compare, APK_TOOLS_ALLOWED).disagreements).toEqual([]);
  });

  it.each(['osv-scalibr-alpine-versions.json', 'osv-scalibr-alpine-versions-generated.json'])('alpine/%s', (file) => {
    const r = runVectors(readCorpus<Vector[]>('alpine', file), apkScheme.compare, SCALIBR_ALLOWED);
    expect(describeReport(file, r)).toBe('');
  });

  it('the osv-scalibr allow-list is used and every listed version is refused', () => {
    const files = ['osv-scalibr-alpine-versions.json', 'osv-scalibr-alpine-versions-generated.json'];
    const unusedIn = files.map((f) => new Set(runVectors(readCorpus<Vector[]>('alpine', f), apkScheme.compare, SCALIBR_ALLOWED).unusedAllowances));
    expect([...unusedIn[0]].filter((x) => unusedIn[1].has(x))).toEqual([]);
    expect(refusedByScheme(apkScheme, SCALIBR_ALLOWED)).toEqual([]);
  });
});

interface MatchAndValidity {
  fuzzy_match: { a: string; op: string; b: string; expected: boolean }[];
  validity: { version: string; valid: boolean }[];
}

/** apk-tools 3 validity lines where apk-tools 2.14's apk_version_validate() answers otherwise. */
const VALIDITY_DIFFERS: Readonly<Record<string, string>> = {
  '0.1_pre2~1234abcd': 'apk-tools 3 `~<hex>` commit-hash token; 2.14 rejects `~`',
  '0.1-r': 'apk-tools 2.14 reads an empty `-r` number as 0 (token_next spans zero digits); 3 requires digits',
  '0.1_': 'apk-tools 2.14 suffix_value() returns SUFFIX_NONE for an empty suffix; 3 returns SUFFIX_INVALID',
  '0.1_-r0': 'apk-tools 2.14 suffix_value() returns SUFFIX_NONE for an empty suffix; 3 returns SUFFIX_INVALID',
  '0.1__alpha': 'apk-tools 2.14 suffix_value() returns SUFFIX_NONE for an empty suffix; 3 returns SUFFIX_INVALID',
  '0.1_1_alpha': 'apk-tools 2.14 suffix_value() returns SUFFIX_NONE for an empty suffix (then `1` is its number); 3 returns SUFFIX_INVALID',
};

describe('apk scheme: validity and fuzzy matching (alpine/apk-tools-version.data-match-and-validity.json)', () => {
  const data = readCorpus<MatchAndValidity>('alpine', 'apk-tools-version.data-match-and-validity.json');

  it('apk_version_validate agrees on every line but the listed apk-tools 3 changes', () => {
    const wrong = data.validity.filter((c) => apkValid(c.version) !== c.valid && !(c.version in VALIDITY_DIFFERS));
    expect(wrong).toEqual([]);
    for (const v of Object.keys(VALIDITY_DIFFERS)) expect(apkValid(v)).toBe(!data.validity.find((c) => c.version === v)?.valid);
  });

  it('apk_version_match agrees on every fuzzy (`~`) line', () => {
    const wrong = data.fuzzy_match.filter((c) => apkVersionMatch(c.a, c.op, c.b) !== c.expected);
    expect(data.fuzzy_match.length).toBe(16);
    expect(wrong).toEqual([]);
  });
});

describe('apk scheme: rules', () => {
  it.each([
    ['pre-release suffixes sort below the release', '1.2_rc1', '1.2', -1],
    ['post-release suffixes sort above it', '1.2_p1', '1.2', 1],
    ['suffix order alpha < beta < pre < rc', '1.0_beta2', '1.0_pre1', -1],
    ['a letter sorts above the bare number', '1.2a', '1.2', 1],
    ['revision last', '1.2-r10', '1.2-r9', 1],
    ['a part with a leading zero compares as a string', '1.01', '1.1', -1],
    ['numbers past 2^53 compare exactly', '1.90071992547409910', '1.90071992547409911', -1],
  ])('%s: %s vs %s', (_name, a, b, want) => {
    expect(bothWays(apkScheme.compare, a, b)).toEqual(expected(want));
  });

  it.each(['', 'abc', '1.0 ', '1.0-foo', '1.0_bogus', 'v1.0', '1.0~abc'])('throws InvalidVersionError for garbage %j', (v) => {
    expect(apkScheme.isValid(v)).toBe(false);
    expect(() => apkScheme.compare('1.0', v)).toThrow(InvalidVersionError);
  });
});
