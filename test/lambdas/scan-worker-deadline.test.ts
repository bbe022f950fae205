import { DEADLINE_SAFETY_MARGIN_MS } from '../../lib/engine/registry/deadline';
import { scanDeadlineMs } from '../../lambdas/scan-worker/handler';

/** The scan worker's deadline: the invocation's remaining time less the safety margin (RELIABILITY.md 60). */
describe('scan-worker scanDeadlineMs', () => {
  it.each([
    { name: '15 minutes left', remaining: 15 * 60_000, expected: 15 * 60_000 - DEADLINE_SAFETY_MARGIN_MS },
    { name: 'exactly the margin left', remaining: DEADLINE_SAFETY_MARGIN_MS, expected: 0 },
    { name: 'less than the margin left: no time to scan', remaining: 1000, expected: 0 },
    { name: 'no context (local run): a Lambda’s longest run', remaining: undefined, expected: 15 * 60_000 - DEADLINE_SAFETY_MARGIN_MS },
  ])('$name → $expected ms', ({ remaining, expected }) => {
    const context = remaining === undefined ? undefined : { getRemainingTimeInMillis: () => remaining };
    expect(scanDeadlineMs(context)).toBe(expected);
  });
});
