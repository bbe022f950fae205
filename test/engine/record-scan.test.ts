import { allChecks } from '../../lib/engine/checks/checks';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import type { Digest } from '../../lib/engine/model';
import { feedRevisionOf, NO_FEED_REVISION, pluginsOf, recordScan, verdictEvaluations } from '../../lib/engine/record-scan';
import { MATCHER } from '../../lib/engine/match/matcher';
import { scanImage } from '../../lib/engine/scan-image';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import { buildImage, buildIndex } from '../../lib/local/builder/image-builder';
import { emptyAdvisories } from '../helpers/advisories';
import { MemorySource } from '../helpers/memory-source';
import { packageKey } from '../../lib/engine/verdicts/keys';

const KEY = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBVy2vB0dQ2xL5qXk3rA1mZ7tq9kDzrJQnAm9VhGZp8SgAAAJgR5Jt9EeSb', '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
const LOCK = 'version = 3\n\n[[package]]\nname = "serde"\nversion = "1.0.197"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n';
const checks = allChecks({});
const advisories = { ...emptyAdvisories(), feeds: [{ ...emptyAdvisories().feeds[0], source: 'crates.io', syncedAt: '2026-11-20T10:00:00Z', modified: '2026-11-19T00:00:00Z' }] };
const amd = buildImage({ platform: { os: 'linux', architecture: 'amd64' }, config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: LOCK }] }] });
const arm = buildImage({ platform: { os: 'linux', architecture: 'arm64' }, config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: LOCK }, { path: 'id_rsa', body: KEY }] }] });
const index = buildIndex([amd, arm]);
const scan = (image = index, platform?: { os: string; architecture: string }) => scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories, checks, ...(platform ? { platform } : {}) });

describe('feedRevisionOf', () => {
  it.each([
    ['no feeds', undefined, NO_FEED_REVISION],
    ['empty', [], NO_FEED_REVISION],
    ['the newest of syncedAt and modified over all feeds', [{ source: 'a', syncedAt: '2026-01-01T00:00:00Z' }, { source: 'b', modified: '2026-02-01T00:00:00+01:00' }], '2026-02-01T00:00:00+01:00'],
    ['compared as instants, not strings', [{ source: 'a', syncedAt: '2026-02-01T00:30:00+02:00' }, { source: 'b', syncedAt: '2026-01-31T23:00:00Z' }], '2026-01-31T23:00:00Z'],
    ['an unreadable timestamp is ignored', [{ source: 'a', syncedAt: 'last tuesday' }, { source: 'b', modified: '2026-01-01T00:00:00Z' }], '2026-01-01T00:00:00Z'],
  ])('%s', (_n, feeds, expected) => expect(feedRevisionOf(feeds)).toBe(expected));
});

describe('verdictEvaluations / recordScan (DESIGN.md step 5 "Record")', () => {
  it('an index: one evaluation per platform, then the aggregate (union counts) under the index digest', async () => {
    const r = await scan();
    const evals = verdictEvaluations(r, { plugins: pluginsOf({ checks }), evaluatedAt: '2026-11-28T00:00:00Z' });
    expect(evals.map((e) => [e.digest, e.status])).toEqual([[amd.root.digest, 'trusted'], [arm.root.digest, 'quarantined'], [index.root.digest, 'quarantined']]);
    expect(evals.every((e) => e.feedRevision === '2026-11-20T10:00:00Z' && e.ref === r.ref && /^sha256:/.test(e.policyHash))).toBe(true);
    expect(evals[2].reasons[0]).toMatchObject({ rule: 'secrets', message: expect.stringMatching(/^linux\/arm64: /) });
    // The misconfiguration both platforms share counts once in the aggregate.
    const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    expect(sum(evals[2].counts)).toBe(sum(evals[1].counts));
    expect(evals[0].plugins).toEqual(expect.arrayContaining([`osv-matcher@${MATCHER.version}`]));
    expect([...evals[0].plugins].sort()).toEqual(evals[0].plugins);
  });

  it('every evaluation names the advisory sources it was judged against, with revision and status (issue 13)', async () => {
    const r = await scan();
    const evals = verdictEvaluations(r, { plugins: [], evaluatedAt: '2026-11-28T00:00:00Z' });
    expect(evals.length).toBeGreaterThan(1);
    for (const e of evals) expect(e.feeds).toEqual([{ source: 'crates.io', revision: 'r1', status: 'complete' }]);
  });

  it('--platform on an index: the partial aggregate is never recorded under the index digest (RELIABILITY.md 42)', async () => {
    const r = await scan(index, { os: 'linux', architecture: 'amd64' });
    expect(r.partial).toBe(true);
    expect(verdictEvaluations(r, { plugins: [] }).map((e) => e.digest)).toEqual([amd.root.digest]);
  });

  it('records inventories without advisory matches, indexes packages, and reports transitions from the history', async () => {
    const store = new MemoryVerdictStore();
    const first = await recordScan(store, await scan(), { plugins: [], evaluatedAt: '2026-11-28T00:00:00Z' });
    expect(first.map((x) => [x.written, x.changed, x.previousStatus])).toEqual([[true, true, undefined], [true, true, undefined], [true, true, undefined]]);
    const inv = await store.getInventory(arm.root.digest as Digest);
    expect(inv?.findings?.map((f) => f.type)).toContain('secret');
    expect(inv?.findings?.some((f) => f.id === 'NO_VULNERABILITY_DATA' || f.type === 'vulnerability')).toBe(false);
    expect(await store.digestsForPackage(packageKey('crates.io', 'serde'))).toEqual([amd.root.digest, arm.root.digest].sort());
    // Same evaluation again (at-least-once delivery): nothing written, nothing changed.
    const again = await recordScan(store, await scan(), { plugins: [], evaluatedAt: '2026-11-28T00:00:00Z' });
    expect(again.every((x) => !x.written && !x.changed)).toBe(true);
    // A later evaluation with the same outcome: written, not a transition.
    const later = await recordScan(store, await scan(), { plugins: [], evaluatedAt: '2026-11-29T00:00:00Z' });
    expect(later.map((x) => [x.written, x.changed, x.previousStatus, x.current.revision])).toEqual([[true, false, 'trusted', 2], [true, false, 'quarantined', 2], [true, false, 'quarantined', 2]]);
    // An older evaluation finishing late never overwrites (RELIABILITY.md 29).
    const stale = await recordScan(store, await scan(), { plugins: [], evaluatedAt: '2026-11-27T00:00:00Z' });
    expect(stale.every((x) => !x.written && x.current.evaluatedAt === '2026-11-29T00:00:00Z')).toBe(true);
  });
});
