import { DEFAULT_RETRY_POLICY, deliveryOf, hadFairShare, lastScanAttempt, retryDelaySeconds, SQS_MAX_VISIBILITY_SECONDS, type RetryPolicy } from '../../../lib/engine/pipeline/retries';

/**
 * The retry arithmetic of the scan-worker (issue 15 item 5): the delay before a failed message comes
 * back grows with its receive count, is capped, and never exceeds what SQS accepts; a scan that hits
 * its deadline is given up on the last attempt or after the maximum time since its first receive.
 */
describe('retryDelaySeconds', () => {
  it.each([
    { name: 'first receive: the base', receiveCount: 1, expected: 30 },
    { name: 'second receive: doubled', receiveCount: 2, expected: 60 },
    { name: 'third receive', receiveCount: 3, expected: 120 },
    { name: 'fourth receive', receiveCount: 4, expected: 240 },
    { name: 'sixth receive: 960 s capped at 15 minutes', receiveCount: 6, expected: 900 },
    { name: 'an absurd count (2^999 overflows): still the cap', receiveCount: 1000, expected: 900 },
    { name: 'count 0 (unreadable): the first receive', receiveCount: 0, expected: 30 },
    { name: 'NaN (unreadable): the first receive', receiveCount: Number.NaN, expected: 30 },
  ])('default policy, $name → $expected s', ({ receiveCount, expected }) => {
    expect(retryDelaySeconds(receiveCount)).toBe(expected);
  });

  it.each([
    { name: 'base 1 s, cap 8 s: 1, 2, 4, 8, 8', policy: { baseDelaySeconds: 1, maxDelaySeconds: 8 }, counts: [1, 2, 3, 4, 5], expected: [1, 2, 4, 8, 8] },
    { name: 'base 0 s: retried at once, every time', policy: { baseDelaySeconds: 0, maxDelaySeconds: 900 }, counts: [1, 3], expected: [0, 0] },
    { name: 'a cap below the base: the base wins', policy: { baseDelaySeconds: 1200, maxDelaySeconds: 900 }, counts: [1, 2], expected: [1200, 1200] },
    { name: 'a cap above SQS’s 12 hours: 12 hours', policy: { baseDelaySeconds: 3600, maxDelaySeconds: 100_000 }, counts: [1, 5], expected: [3600, SQS_MAX_VISIBILITY_SECONDS] },
    { name: 'fractional base: whole seconds', policy: { baseDelaySeconds: 1.4, maxDelaySeconds: 900 }, counts: [1, 2], expected: [1, 3] },
  ])('$name', ({ policy, counts, expected }) => {
    expect(counts.map((n) => retryDelaySeconds(n, policy))).toEqual(expected);
  });
});

describe('deliveryOf (an SQS record’s attributes)', () => {
  it.each([
    { name: 'first delivery', attributes: { ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '1700000000000' }, expected: { receiveCount: 1, firstReceivedAt: 1_700_000_000_000 } },
    { name: 'fourth delivery', attributes: { ApproximateReceiveCount: '4', ApproximateFirstReceiveTimestamp: '1700000000000' }, expected: { receiveCount: 4, firstReceivedAt: 1_700_000_000_000 } },
    { name: 'no attributes: the first delivery, no first receive', attributes: undefined, expected: { receiveCount: 1 } },
    { name: 'a count that is not a number', attributes: { ApproximateReceiveCount: 'many' }, expected: { receiveCount: 1 } },
    { name: 'a fractional count', attributes: { ApproximateReceiveCount: '2.5' }, expected: { receiveCount: 1 } },
    { name: 'an empty timestamp', attributes: { ApproximateReceiveCount: '2', ApproximateFirstReceiveTimestamp: '' }, expected: { receiveCount: 2 } },
  ])('$name', ({ attributes, expected }) => {
    expect(deliveryOf(attributes)).toEqual(expected);
  });
});

describe('lastScanAttempt', () => {
  const now = 1_700_000_000_000;
  const timed: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxScanTimeMs: 3_600_000 };
  it.each([
    { name: 'no delivery (the CLI): never given up', policy: DEFAULT_RETRY_POLICY, delivery: undefined, last: false },
    { name: 'receive 1 of 4', policy: DEFAULT_RETRY_POLICY, delivery: { receiveCount: 1, firstReceivedAt: now }, last: false },
    { name: 'receive 3 of 4', policy: DEFAULT_RETRY_POLICY, delivery: { receiveCount: 3, firstReceivedAt: now - 86_400_000 }, last: false },
    { name: 'receive 4 of 4: the last', policy: DEFAULT_RETRY_POLICY, delivery: { receiveCount: 4 }, last: true },
    { name: 'receive 5 (a spare after a killed worker): still the last', policy: DEFAULT_RETRY_POLICY, delivery: { receiveCount: 5 }, last: true },
    { name: 'max time: 59 minutes since the first receive', policy: timed, delivery: { receiveCount: 2, firstReceivedAt: now - 3_540_000 }, last: false },
    { name: 'max time: exactly one hour since the first receive', policy: timed, delivery: { receiveCount: 2, firstReceivedAt: now - 3_600_000 }, last: true },
    { name: 'max time, but the first receive unknown: the attempts decide', policy: timed, delivery: { receiveCount: 2 }, last: false },
    { name: 'one attempt allowed: the first is the last', policy: { ...DEFAULT_RETRY_POLICY, maxScanAttempts: 1 }, delivery: { receiveCount: 1 }, last: true },
  ])('$name', ({ policy, delivery, last }) => {
    const why = lastScanAttempt(delivery, policy, now);
    if (last) expect(why).toMatch(/attempt \d+ of \d+|since the first attempt/);
    else expect(why).toBeUndefined();
  });
});

describe('hadFairShare (records of one batch, one after another)', () => {
  it.each([
    { name: 'the first record: the whole deadline', invocation: 270_000, record: 270_000, fair: true },
    { name: 'after quick re-evaluations: most of it', invocation: 270_000, record: 260_000, fair: true },
    { name: 'exactly half', invocation: 270_000, record: 135_000, fair: true },
    { name: 'behind a slow scan: a third left', invocation: 270_000, record: 90_000, fair: false },
    { name: 'nothing left', invocation: 270_000, record: 0, fair: false },
    { name: 'an invocation that started with no time: nobody is given up', invocation: 0, record: 0, fair: false },
  ])('$name → $fair', ({ invocation, record, fair }) => {
    expect(hadFairShare(invocation, record)).toBe(fair);
  });
});
