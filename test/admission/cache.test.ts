/** TtlCache: time to live on an injected clock, size cap, 0 = off. */
import { TtlCache } from '../../lib/admission/cache';

describe('TtlCache', () => {
  it('serves an entry until ttl has passed', () => {
    const c = new TtlCache<string>(100);
    c.set('a', 'A', 1000);
    expect([c.get('a', 1000), c.get('a', 1099), c.get('a', 1100)]).toEqual(['A', 'A', undefined]);
    expect(c.size).toBe(0);
  });

  it('setting again restarts the entry', () => {
    const c = new TtlCache<number>(100);
    c.set('a', 1, 0);
    c.set('a', 2, 90);
    expect(c.get('a', 150)).toBe(2);
  });

  it('a full cache drops expired entries first, then the oldest', () => {
    const c = new TtlCache<number>(100, 3);
    c.set('a', 1, 0);
    c.set('b', 2, 50);
    c.set('c', 3, 60);
    c.set('d', 4, 120); // a expired: dropped
    expect([c.get('a', 120), c.get('b', 120), c.get('c', 120), c.get('d', 120)]).toEqual([undefined, 2, 3, 4]);
    c.set('e', 5, 125); // all live: the oldest (b) goes
    expect([c.get('b', 125), c.get('c', 125), c.get('d', 125), c.get('e', 125)]).toEqual([undefined, 3, 4, 5]);
    expect(c.size).toBe(3);
  });

  it('ttl 0 caches nothing; clear empties', () => {
    const off = new TtlCache<number>(0);
    off.set('a', 1, 0);
    expect(off.get('a', 0)).toBeUndefined();
    const c = new TtlCache<number>(10);
    c.set('a', 1, 0);
    c.clear();
    expect(c.get('a', 0)).toBeUndefined();
  });

  it.each([
    { name: 'a shorter TTL', ttl: 20, expectAt: [[119, 'A'], [120, undefined]] },
    { name: 'a longer TTL is capped by the cache\'s', ttl: 1000, expectAt: [[199, 'A'], [200, undefined]] },
    { name: 'TTL 0 stores nothing', ttl: 0, expectAt: [[100, undefined]] },
  ] as const)('an entry set with its own TTL: $name', ({ ttl, expectAt }) => {
    const c = new TtlCache<string>(100);
    c.set('a', 'A', 100, ttl);
    for (const [at, want] of expectAt) expect([at, c.get('a', at)]).toEqual([at, want]);
  });

  it('null is a value (a cached "no verdict")', () => {
    const c = new TtlCache<null>(10);
    c.set('a', null, 0);
    expect(c.get('a', 5)).toBeNull();
  });
});
