/** The pure rules of the verdict store: instants, evaluation order, write decisions, validation. */
import { sha256Digest } from '../../../lib/engine/model';
import { InvalidVerdictError, VerdictStoreCorruptError } from '../../../lib/engine/verdicts/errors';
import {
  checkEvaluation,
  compareEvaluations,
  countBySeverity,
  decideWrite,
  instantNanos,
  isNewer,
  parseStoredVerdict,
  withRevision,
} from '../../../lib/engine/verdicts/order';
import { EVALUATIONS, evaluation, named, type EvalName } from './contract';

const d = sha256Digest('order');

describe('instantNanos', () => {
  it.each([
    { name: 'epoch', ts: '1970-01-01T00:00:00Z', ns: 0n },
    { name: 'fraction to nanoseconds', ts: '1970-01-01T00:00:01.000000001Z', ns: 1_000_000_001n },
    { name: 'positive offset', ts: '1970-01-01T02:00:00+02:00', ns: 0n },
    { name: 'negative offset', ts: '1969-12-31T23:30:00-00:30', ns: 0n },
    { name: 'lower-case t and z', ts: '1970-01-01t00:00:00.5z', ns: 500_000_000n },
    { name: 'before the epoch', ts: '1969-12-31T23:59:59Z', ns: -1_000_000_000n },
    { name: 'year 1 (Go vulndb)', ts: '0001-01-01T00:00:00Z', ns: -62135596800n * 1_000_000_000n },
    { name: 'leap second counts as the next second', ts: '2016-12-31T23:59:60Z', ns: instantNanos('2017-01-01T00:00:00Z') },
  ])('$name: $ts', ({ ts, ns }) => {
    expect(instantNanos(ts)).toBe(ns);
  });

  it.each(['', '42', '2026-03-01', '2026-03-01T10:00:00', '2026-02-30T00:00:00Z', '2026-03-01T24:00:00Z', '2026-03-01T10:00:00+24:00', '2026-03-01T10:00:00.1234567890Z', ' 2026-03-01T10:00:00Z'])(
    'refuses %p',
    (ts) => {
      expect(() => instantNanos(ts)).toThrow(RangeError);
    },
  );
});

describe('compareEvaluations / isNewer', () => {
  // EVALUATIONS is documented as ordered; check every pair against that order.
  const rank: Record<EvalName, number> = {
    olderFeedLater: 0,
    earlierSameFeed: 1,
    base: 2,
    baseOtherOffsets: 2,
    baseOneNanoLater: 3,
    laterSameFeed: 4,
    newerFeedEarlier: 5,
  };
  const names = Object.keys(EVALUATIONS) as EvalName[];
  const pairs = names.flatMap((a) => names.map((b) => ({ a, b, want: Math.sign(rank[a] - rank[b]) })));
  it.each(pairs)('$a vs $b → $want', ({ a, b, want }) => {
    expect(compareEvaluations(named(d, a), named(d, b))).toBe(want);
    expect(isNewer(named(d, a), named(d, b))).toBe(want > 0);
  });

  it('feed revision decides before evaluatedAt (RELIABILITY.md 29: feed 41 finishing after 42 loses)', () => {
    const rev42 = evaluation(d, '2026-01-01T00:00:42Z', '2026-01-02T10:00:00Z');
    const rev41FinishingLater = evaluation(d, '2026-01-01T00:00:41Z', '2026-01-02T10:05:00Z');
    expect(isNewer(rev42, rev41FinishingLater)).toBe(true);
    expect(isNewer(rev41FinishingLater, rev42)).toBe(false);
  });

  it('a timestamp that is not RFC 3339 is an InvalidVerdictError', () => {
    expect(() => isNewer(evaluation(d, 'yesterday', '2026-01-01T00:00:00Z'), named(d, 'base'))).toThrow(InvalidVerdictError);
  });
});

describe('decideWrite', () => {
  it.each([
    { name: 'nothing stored', stored: undefined, incoming: 'base', want: 'insert' },
    { name: 'newer', stored: 'base', incoming: 'laterSameFeed', want: 'replace' },
    { name: 'older', stored: 'base', incoming: 'olderFeedLater', want: 'older' },
    { name: 'same', stored: 'base', incoming: 'base', want: 'same' },
    { name: 'same instants, other spelling', stored: 'base', incoming: 'baseOtherOffsets', want: 'same' },
  ] as const)('$name → $want', ({ stored, incoming, want }) => {
    expect(decideWrite(stored && withRevision(named(d, stored), 3), named(d, incoming))).toBe(want);
  });
});

describe('countBySeverity', () => {
  it('counts every severity, zero when absent', () => {
    expect(countBySeverity([{ severity: 'high' }, { severity: 'high' }, { severity: 'unknown' }])).toEqual({ critical: 0, high: 2, medium: 0, low: 0, unknown: 1 });
    expect(countBySeverity([])).toEqual({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });
  });
});

describe('checkEvaluation', () => {
  it('keeps exactly the port fields, copied', () => {
    const v = { ...named(d, 'base'), revision: 7, extra: 'x' };
    const c = checkEvaluation(v);
    expect(c).toEqual(named(d, 'base'));
    expect(c).not.toHaveProperty('revision');
    expect(c.plugins).not.toBe(v.plugins);
  });

  it('keeps an absent ref absent', () => {
    const { ref: _ref, ...noRef } = named(d, 'base');
    expect(checkEvaluation(noRef)).not.toHaveProperty('ref');
  });
});

describe('parseStoredVerdict', () => {
  const good = withRevision(named(d, 'base'), 2);
  it.each([
    { name: 'not an object', value: 'x' },
    { name: 'another digest', value: { ...good, digest: sha256Digest('other') } },
    { name: 'revision 0', value: { ...good, revision: 0 } },
    { name: 'bad timestamp', value: { ...good, evaluatedAt: 'now' } },
    { name: 'missing counts', value: { ...good, counts: undefined } },
  ])('$name → VerdictStoreCorruptError', ({ value }) => {
    expect(() => parseStoredVerdict(value, d)).toThrow(VerdictStoreCorruptError);
  });

  it('a good one, at the revision asked for', () => {
    expect(parseStoredVerdict(JSON.parse(JSON.stringify(good)), d, 2)).toEqual(good);
    expect(() => parseStoredVerdict(good, d, 3)).toThrow(VerdictStoreCorruptError);
  });
});
