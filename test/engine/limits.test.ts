import { DEFAULT_LIMITS, resolveLimits } from '../../lib/engine/limits';

describe('resolveLimits', () => {
  it('overrides one cap and keeps the others', () => {
    const l = resolveLimits({ maxEntries: 10 });
    expect(l.maxEntries).toBe(10);
    expect(l.maxLayers).toBe(DEFAULT_LIMITS.maxLayers);
  });
  it.each([
    ['unknown name', { maxNothing: 1 }],
    ['zero', { maxEntries: 0 }],
    ['fraction', { maxEntries: 1.5 }],
  ])('rejects %s', (_n, o) => {
    expect(() => resolveLimits(o)).toThrow(RangeError);
  });
});
