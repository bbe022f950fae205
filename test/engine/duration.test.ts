import { formatDuration, InvalidDurationError, parseDuration } from '../../lib/engine/duration';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(['', '7', 'h', '1w', '-1h', '1h 30m', '5 m'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidDurationError);
  });
  it('formats back', () => {
    expect([formatDuration(604_800_000), formatDuration(5_400_000), formatDuration(0), formatDuration(1500)]).toEqual(['7d', '1h30m', '0s', '1s500ms']);
  });
});
