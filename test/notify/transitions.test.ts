import { sha256Digest } from '../../lib/engine/model';
import type { PolicyException } from '../../lib/engine/policy/schema';
import type { StoredVerdict } from '../../lib/engine/verdicts/port';
import { NotificationInputError } from '../../lib/notify/errors';
import { exceptionRecordsOf, expiringExceptions, staleFeeds, verdictTransition, type ExceptionRecord } from '../../lib/notify/transitions';

const D = sha256Digest('transitions');
const OTHER = sha256Digest('another image');
const INDEX = sha256Digest('the index');

/** A stored verdict of `D`; `n` orders evaluations (evaluatedAt minute n) and is the revision. */
function verdict(status: StoredVerdict['status'], n: number, extra: Partial<StoredVerdict> = {}): StoredVerdict {
  return {
    digest: D,
    ref: 'registry.example.com/team/app:1.0',
    status,
    reasons: status === 'quarantined' ? [{ rule: 'vulnerabilities', message: 'CVE-2024-1 in pkg:npm/x@1.0.0 (high, fixed in 1.0.1)', findings: ['CVE-2024-1'] }] : [],
    counts: { critical: 0, high: status === 'quarantined' ? 1 : 0, medium: 0, low: 0, unknown: 0 },
    policyHash: 'sha256:' + 'ab'.repeat(32),
    feedRevision: '2026-01-01T00:00:00Z',
    plugins: ['dpkg@1'],
    evaluatedAt: `2026-01-01T10:${String(n).padStart(2, '0')}:00Z`,
    revision: n,
    ...extra,
  };
}

describe('verdictTransition', () => {
  it.each<[string, StoredVerdict | undefined, StoredVerdict, string | undefined]>([
    ['first verdict quarantined → new-quarantine', undefined, verdict('quarantined', 1), 'new-quarantine'],
    ['first verdict trusted is not news', undefined, verdict('trusted', 1), undefined],
    ['trusted → quarantined → new-quarantine', verdict('trusted', 1), verdict('quarantined', 2), 'new-quarantine'],
    ['quarantined → trusted → back-to-trusted', verdict('quarantined', 1), verdict('trusted', 2), 'back-to-trusted'],
    ['quarantined → quarantined (re-evaluated) is not news', verdict('quarantined', 1), verdict('quarantined', 2), undefined],
    ['trusted → trusted is not news', verdict('trusted', 1), verdict('trusted', 2), undefined],
    ['the same evaluation delivered again is not news', verdict('trusted', 1), verdict('trusted', 1), undefined],
    ['an older evaluation arriving late is not news', verdict('trusted', 3), verdict('quarantined', 2), undefined],
    ['a newer feed revision wins over a later evaluatedAt', verdict('quarantined', 5), verdict('trusted', 1, { feedRevision: '2026-01-02T00:00:00Z' }), 'back-to-trusted'],
  ])('%s', (_name, previous, next, kind) => {
    expect(verdictTransition(previous, next)?.kind).toBe(kind);
  });

  it('carries the digest, both verdicts and a key naming the digest and the kind', () => {
    const prev = verdict('trusted', 1);
    const next = verdict('quarantined', 2);
    const n = verdictTransition(prev, next)!;
    expect(n).toMatchObject({ kind: 'new-quarantine', digest: D, previous: prev, verdict: next });
    expect(n.dedupeKey).toContain(D);
    expect(n.dedupeKey.startsWith('new-quarantine:')).toBe(true);
  });

  it('the same quarantine seen twice (at-least-once) has one key', () => {
    const a = verdictTransition(verdict('trusted', 1), verdict('quarantined', 2))!;
    const b = verdictTransition(verdict('trusted', 1), verdict('quarantined', 2))!;
    expect(a.dedupeKey).toBe(b.dedupeKey);
  });

  it('the same evaluation written with another UTC offset has the same key', () => {
    const a = verdictTransition(undefined, verdict('quarantined', 1, { evaluatedAt: '2026-01-01T12:00:00+02:00' }))!;
    const b = verdictTransition(undefined, verdict('quarantined', 1, { evaluatedAt: '2026-01-01T10:00:00Z' }))!;
    expect(a.dedupeKey).toBe(b.dedupeKey);
  });

  it('a re-quarantine after back-to-trusted is news again, with a new key', () => {
    const first = verdictTransition(verdict('trusted', 1), verdict('quarantined', 2))!;
    expect(verdictTransition(verdict('quarantined', 2), verdict('trusted', 3))!.kind).toBe('back-to-trusted');
    const again = verdictTransition(verdict('trusted', 3), verdict('quarantined', 4))!;
    expect(again.kind).toBe('new-quarantine');
    expect(again.dedupeKey).not.toBe(first.dedupeKey);
  });

  it('refuses verdicts of two different digests', () => {
    expect(() => verdictTransition(verdict('trusted', 1, { digest: OTHER }), verdict('quarantined', 2))).toThrow(NotificationInputError);
  });
});

describe('expiringExceptions', () => {
  const NOW = Date.parse('2026-03-01T00:00:00Z');
  const ex = (id: string, expires: string, scope: ExceptionRecord['scope'], owner = 'team-a'): ExceptionRecord => ({ id, owner, reason: 'waiting for upstream', expires, scope });
  const image = { digest: D, ref: 'registry.example.com/team/app:1.0', indexDigest: INDEX };

  it.each<[string, ExceptionRecord, boolean]>([
    ['digest scope, expires in 3 days', ex('e1', '2026-03-04', { digest: D }), true],
    ['digest scope, expires in exactly 7 days', ex('e2', '2026-03-08T00:00:00Z', { digest: D }), true],
    ['digest scope, expires in 8 days', ex('e3', '2026-03-09', { digest: D }), false],
    ['digest scope, already expired', ex('e4', '2026-02-28', { digest: D }), false],
    ['digest scope, expiring right now (already ended)', ex('e5', '2026-03-01', { digest: D }), false],
    ['another digest', ex('e6', '2026-03-04', { digest: OTHER }), false],
    ['the index the manifest belongs to', ex('e7', '2026-03-04', { digest: INDEX }), true],
    ['repository scope matching the ref', ex('e8', '2026-03-04', { repository: 'registry.example.com/team/*' }), true],
    ['repository scope not matching', ex('e9', '2026-03-04', { repository: 'registry.example.com/other/*' }), false],
    ['every image', ex('e10', '2026-03-04', { all: true }), true],
    ['a date-time with offset', ex('e11', '2026-03-02T09:00:00+02:00', { all: true }), true],
    ['an unreadable expiry is skipped', ex('e12', 'soon', { all: true }), false],
  ])('%s', (_name, e, expected) => {
    expect(expiringExceptions(image, [e], { now: NOW }).map((n) => n.exception.id)).toEqual(expected ? [e.id] : []);
  });

  it('a repository-scoped exception does not apply to an image without a reference', () => {
    expect(expiringExceptions({ digest: D }, [ex('r', '2026-03-04', { repository: 'registry.example.com/team/*' })], { now: NOW })).toEqual([]);
  });

  it('keys on exception id + expiry, counts days left (rounded up), sorts soonest first', () => {
    const got = expiringExceptions(image, [ex('late', '2026-03-06', { all: true }), ex('soon', '2026-03-01T06:00:00Z', { digest: D })], { now: NOW });
    expect(got.map((n) => [n.exception.id, n.daysLeft, n.dedupeKey, n.expiresAt])).toEqual([
      ['soon', 1, 'exception-expiring:soon:2026-03-01T06:00:00.000Z', '2026-03-01T06:00:00.000Z'],
      ['late', 5, 'exception-expiring:late:2026-03-06T00:00:00.000Z', '2026-03-06T00:00:00.000Z'],
    ]);
    expect(got[0]).toMatchObject({ kind: 'exception-expiring', digest: D, ref: image.ref });
  });

  it('one exception covering two digests has one key (one message, not one per image)', () => {
    const e = ex('shared', '2026-03-04', { all: true });
    const a = expiringExceptions({ digest: D }, [e], { now: NOW })[0];
    const b = expiringExceptions({ digest: OTHER }, [e], { now: NOW })[0];
    expect(a.dedupeKey).toBe(b.dedupeKey);
  });

  it('an extended exception (new expiry) is news again', () => {
    const a = expiringExceptions(image, [ex('x', '2026-03-04', { all: true })], { now: NOW })[0];
    const b = expiringExceptions(image, [ex('x', '2026-03-06', { all: true })], { now: NOW })[0];
    expect(a.dedupeKey).not.toBe(b.dedupeKey);
  });

  it('honours a custom window', () => {
    expect(expiringExceptions(image, [ex('x', '2026-03-04', { all: true })], { now: NOW, withinDays: 2 })).toEqual([]);
  });
});

describe('exceptionRecordsOf', () => {
  const base: PolicyException = { scope: { digest: D }, finding: 'CVE-2024-1', owner: 'team-a', reason: 'no fix upstream', expires: '2026-03-04' };

  it('derives a stable id from the content, not from where it was written', () => {
    const [a] = exceptionRecordsOf([{ ...base, source: 'a.yaml', line: 3 }]);
    const [b] = exceptionRecordsOf([{ ...base, source: 'b.yaml', line: 40 }]);
    expect(a.id).toMatch(/^exc-[0-9a-f]{12}$/);
    expect(a.id).toBe(b.id);
    expect(a).not.toHaveProperty('source');
    expect(a).toMatchObject({ scope: { digest: D }, finding: 'CVE-2024-1', owner: 'team-a', reason: 'no fix upstream', expires: '2026-03-04' });
  });

  it('a changed exception gets another id', () => {
    const [a, b] = exceptionRecordsOf([base, { ...base, reason: 'another reason' }]);
    expect(a.id).not.toBe(b.id);
  });
});

describe('staleFeeds', () => {
  const NOW = Date.parse('2026-03-10T00:00:00Z');
  it.each<[string, string | undefined, number | undefined, boolean, number | undefined]>([
    ['synced an hour ago', '2026-03-09T23:00:00Z', undefined, false, undefined],
    ['synced exactly 48 hours ago (the limit) is not stale yet', '2026-03-08T00:00:00Z', undefined, false, undefined],
    ['synced 49 hours ago', '2026-03-07T23:00:00Z', undefined, true, 49],
    ['synced 5 hours ago, policy allows 4', '2026-03-09T19:00:00Z', 4, true, 5],
    ['offset timestamps are instants', '2026-03-08T01:00:00+02:00', undefined, true, 49],
    ['never synced', undefined, undefined, true, undefined],
    ['an unreadable sync time is stale', 'yesterday', undefined, true, undefined],
  ])('%s', (_name, syncedAt, maxStaleHours, stale, ageHours) => {
    const got = staleFeeds([{ feed: 'osv:npm', ...(syncedAt !== undefined ? { syncedAt } : {}) }], { now: NOW, ...(maxStaleHours !== undefined ? { maxStaleHours } : {}) });
    expect(got.length).toBe(stale ? 1 : 0);
    if (stale) {
      expect(got[0]).toMatchObject({ kind: 'feed-stale', feed: 'osv:npm', dedupeKey: `feed-stale:osv:npm:${syncedAt ?? 'never'}`, maxStaleHours: maxStaleHours ?? 48 });
      expect(got[0].ageHours).toBe(ageHours);
    }
  });

  it('keys on feed + syncedAt: the same stale sync once, a later stale sync again', () => {
    const a = staleFeeds([{ feed: 'f', syncedAt: '2026-03-01T00:00:00Z' }], { now: NOW })[0];
    const b = staleFeeds([{ feed: 'f', syncedAt: '2026-03-01T00:00:00Z' }], { now: NOW + 3600_000 })[0];
    const c = staleFeeds([{ feed: 'f', syncedAt: '2026-03-02T00:00:00Z' }], { now: NOW })[0];
    expect(a.dedupeKey).toBe(b.dedupeKey);
    expect(c.dedupeKey).not.toBe(a.dedupeKey);
  });

  it('keeps input order and only the stale ones', () => {
    const got = staleFeeds(
      [
        { feed: 'b', syncedAt: '2026-03-01T00:00:00Z' },
        { feed: 'fresh', syncedAt: '2026-03-09T00:00:00Z' },
        { feed: 'a' },
      ],
      { now: NOW },
    );
    expect(got.map((n) => n.feed)).toEqual(['b', 'a']);
  });
});
