/**
 * Retries of a failed work-queue message (issue 15 item 5, RELIABILITY.md 18 and 60), as pure
 * arithmetic the scan-worker applies: a message that failed comes back after a delay growing with its
 * receive count — 30 s, 60 s, 120 s … capped — set with SQS `ChangeMessageVisibility`, instead of the
 * queue's whole visibility timeout (6× the function timeout: 30 minutes, longer than `verify --wait 10m`).
 * And a scan that keeps running out of time is not retried for ever: on its last attempt the deadline
 * gives an `unscannable` verdict (lib/engine/pipeline/scan.ts), so admission denies with a reason and
 * the nightly sweep, which enqueues only digests without a verdict, leaves it alone.
 */

/** How failed messages are retried, and when a scan that keeps timing out is given up. */
export interface RetryPolicy {
  /** Delay before the first retry, seconds; each further retry doubles it. */
  readonly baseDelaySeconds: number;
  /** Longest delay, seconds (SQS allows at most 12 hours). */
  readonly maxDelaySeconds: number;
  /**
   * The receive on which a scan that hits its deadline is given up and recorded as unscannable. Keep
   * it below the queue's maxReceiveCount: the receives after it are spares for a worker killed
   * before it could record (RELIABILITY.md 27), and only then does the message reach the DLQ.
   */
  readonly maxScanAttempts: number;
  /**
   * Alternatively, give up once this long has passed since the message was first received (ms):
   * whichever comes first. Absent: the attempts alone decide.
   */
  readonly maxScanTimeMs?: number;
}

/** Receives of a work-queue message before its DLQ: the queues' maxReceiveCount (lib/infra/trust-pipeline.ts, the local runner). */
export const QUEUE_MAX_RECEIVE_COUNT = 5;

/**
 * The defaults: 30 s doubling to at most 15 minutes (half the queue's 30-minute visibility timeout),
 * and a scan given up on its 4th deadline — one receive short of the DLQ.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseDelaySeconds: 30,
  maxDelaySeconds: 15 * 60,
  maxScanAttempts: QUEUE_MAX_RECEIVE_COUNT - 1,
});

/** The largest visibility timeout SQS accepts, seconds (ChangeMessageVisibility: 0 to 43,200). */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** One delivery of a message, as the SQS record says (`attributes`). */
export interface Delivery {
  /** `ApproximateReceiveCount`: 1 on the first delivery. */
  readonly receiveCount: number;
  /** `ApproximateFirstReceiveTimestamp`, ms since the epoch, when known. */
  readonly firstReceivedAt?: number;
}

/**
 * The delivery an SQS record describes (`ApproximateReceiveCount`, `ApproximateFirstReceiveTimestamp`,
 * strings in the record). A count that is missing or not a positive integer reads as 1 — the first
 * delivery: the shortest delay, and never a give-up decided on a value we could not read.
 */
export function deliveryOf(attributes: { readonly ApproximateReceiveCount?: string; readonly ApproximateFirstReceiveTimestamp?: string } | undefined): Delivery {
  const count = Number(attributes?.ApproximateReceiveCount);
  const first = Number(attributes?.ApproximateFirstReceiveTimestamp);
  return {
    receiveCount: Number.isInteger(count) && count >= 1 ? count : 1,
    ...(attributes?.ApproximateFirstReceiveTimestamp && Number.isFinite(first) && first > 0 ? { firstReceivedAt: first } : {}),
  };
}

/**
 * Seconds until a message that failed on its `receiveCount`-th delivery is received again:
 * `baseDelaySeconds × 2^(receiveCount − 1)`, at most `maxDelaySeconds` (or the base, if larger) and SQS's 12 hours, a whole
 * number ≥ 0. A receive count below 1 (unreadable) counts as the first.
 */
export function retryDelaySeconds(receiveCount: number, policy: Pick<RetryPolicy, 'baseDelaySeconds' | 'maxDelaySeconds'> = DEFAULT_RETRY_POLICY): number {
  const n = Number.isFinite(receiveCount) ? Math.max(1, Math.floor(receiveCount)) : 1;
  const base = Math.max(0, policy.baseDelaySeconds);
  // A cap below the base (a base configured alone, above the default cap) would shorten every delay: the base wins.
  const cap = Math.min(Math.max(base, policy.maxDelaySeconds), SQS_MAX_VISIBILITY_SECONDS);
  // 2^(n−1) overflows to Infinity for absurd counts; the cap still applies.
  return Math.round(Math.min(cap, base * 2 ** (n - 1)));
}

/**
 * Why this delivery is a scan's last chance — the reason a deadline on it is recorded as an
 * unscannable verdict — or undefined while retries remain: the receive count has reached
 * `maxScanAttempts`, or `maxScanTimeMs` has passed since the first receive.
 */
export function lastScanAttempt(delivery: Delivery | undefined, policy: RetryPolicy = DEFAULT_RETRY_POLICY, nowMs: number): string | undefined {
  if (!delivery) return undefined; // not a queue delivery (the CLI, a direct call): nobody retries, nobody gives up
  if (delivery.receiveCount >= policy.maxScanAttempts) return `attempt ${delivery.receiveCount} of ${policy.maxScanAttempts}`;
  if (policy.maxScanTimeMs !== undefined && delivery.firstReceivedAt !== undefined && nowMs - delivery.firstReceivedAt >= policy.maxScanTimeMs) {
    return `${Math.round((nowMs - delivery.firstReceivedAt) / 1000)} s since the first attempt (at most ${Math.round(policy.maxScanTimeMs / 1000)} s)`;
  }
  return undefined;
}

/**
 * True when a record's scan starts with at least half the scan deadline its invocation started with.
 * Records of a batch are handled one after another: one behind a slow scan starts with little or no
 * time, and a deadline it then hits says nothing about its own image — so only a scan that had its
 * fair share may be given up as unscannable; the others are just retried.
 */
export function hadFairShare(invocationDeadlineMs: number, recordDeadlineMs: number): boolean {
  return recordDeadlineMs > 0 && recordDeadlineMs >= invocationDeadlineMs / 2;
}
