/**
 * lib/engine/reevaluate.ts and the pure rules of the flows, over the in-memory stores: a digest is
 * re-judged from its stored inventory (never its layers), an index from its platforms; the
 * "already answered" rule; nightly's liveness (with array-backed queue and catalog ports).
 */
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { allChecks } from '../../../lib/engine/checks/checks';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import type { Digest } from '../../../lib/engine/model';
import { alreadyAnswered } from '../../../lib/engine/pipeline/common';
import type { RescanMessage } from '../../../lib/engine/pipeline/messages';
import { nightly } from '../../../lib/engine/pipeline/nightly';
import type { CatalogImage, CatalogRepository, ImageCatalog, RescanQueue } from '../../../lib/engine/pipeline/ports';
import { DEFAULT_POLICY } from '../../../lib/engine/policy/default-policy';
import { policyHash } from '../../../lib/engine/policy/schema';
import { pluginsOf } from '../../../lib/engine/record-scan';
import { indexPlatformsOf, recordScanWithIndex, reevaluateDigest, sameScanPlugins, type ReevaluateOptions } from '../../../lib/engine/reevaluate';
import { scanImage, type AdvisorySource } from '../../../lib/engine/scan-image';
import type { StoredVerdict } from '../../../lib/engine/verdicts/port';
import { MemoryVerdictStore } from '../../../lib/engine/verdicts/memory-store';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { buildImage, buildIndex, type BuiltImage } from '../../../lib/local/builder/image-builder';
import { MemorySource } from '../../helpers/memory-source';
import { corpusRecord } from '../../helpers/osv';
import { crateImage } from './helpers/fixtures';

const checks = allChecks();
const plugins = pluginsOf({ checks });
const FEEDS = [{ source: 'osv:crates.io', syncedAt: '2026-11-20T00:00:00Z', records: 1, status: 'complete' as const, revision: 'r1', ecosystems: ['crates.io'] }];
const KEY = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACBVy2vB0dQ2xL5qXk3rA1mZ7tq9kDzrJQnAm9VhGZp8SgAAAJgR5Jt9EeSb', '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');

const regex = crateImage([['regex', '1.5.4']], 'amd64', 'unit');
const serde = crateImage([['serde', '1.0.197']], 'arm64', 'unit');
const index = buildIndex([regex, serde]);
const withKey = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'home/app/.ssh/id_ed25519', body: KEY }] }] });
const d = (i: BuiltImage): Digest => i.root.digest;

/** A fresh store holding the scans of `imgs` made against an empty advisory store, and that store. */
async function scanned(...imgs: BuiltImage[]): Promise<{ store: MemoryVerdictStore; advisories: MemoryAdvisoryStore; opts: (at: string) => ReevaluateOptions }> {
  const store = new MemoryVerdictStore();
  const advisories = new MemoryAdvisoryStore();
  const source: AdvisorySource = { store: advisories, schemes: SCHEMES, feeds: FEEDS };
  for (const img of imgs) {
    const result = await scanImage(MemorySource.fromBuilt(img), { limits: DEFAULT_LIMITS, checks, advisories: source });
    await recordScanWithIndex(store, result, { plugins, evaluatedAt: '2026-11-20T01:00:00Z' });
  }
  const opts = (at: string): ReevaluateOptions => ({ advisories: { ...source, feeds: [{ ...FEEDS[0], syncedAt: at }] }, plugins, evaluatedAt: at, now: () => new Date(at) });
  return { store, advisories, opts };
}

describe('reevaluateDigest', () => {
  it('a new advisory quarantines a platform image, judged from its stored packages', async () => {
    const { store, advisories, opts } = await scanned(regex);
    await advisories.upsert([corpusRecord('crates.io/RUSTSEC-2022-0013.json')]);
    const out = await reevaluateDigest(store, d(regex), opts('2026-11-21T00:00:00Z'));
    expect(out.status).toBe('recorded');
    if (out.status !== 'recorded') return;
    expect(out.recorded).toMatchObject({ written: true, changed: true, previousStatus: 'trusted', current: { status: 'quarantined', revision: 2, feedRevision: '2026-11-21T00:00:00Z' } });
    expect(out.recorded.current.reasons[0]).toMatchObject({ rule: 'vulnerabilities', findings: ['CVE-2022-24713'] });
  });

  it('findings that do not come from advisories are kept: a leaked key still quarantines', async () => {
    const { store, opts } = await scanned(withKey);
    expect((await store.get(d(withKey)))?.status).toBe('quarantined');
    const out = await reevaluateDigest(store, d(withKey), opts('2026-11-21T00:00:00Z'));
    expect(out.status === 'recorded' && out.recorded.current).toMatchObject({ status: 'quarantined', revision: 2 });
    expect(out.status === 'recorded' && out.recorded.current.reasons.map((r) => r.rule)).toContain('secrets');
  });

  it('an index is re-judged from its platforms; only the aggregate is recorded', async () => {
    const { store, advisories, opts } = await scanned(index);
    expect(indexPlatformsOf(await store.getInventory(d(index)))?.map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    await advisories.upsert([corpusRecord('crates.io/RUSTSEC-2022-0013.json')]);
    const out = await reevaluateDigest(store, d(index), opts('2026-11-21T00:00:00Z'));
    expect(out).toMatchObject({ status: 'recorded', platforms: 2, recorded: { digest: d(index), current: { status: 'quarantined', revision: 2 } } });
    expect(out.status === 'recorded' && out.recorded.current.reasons[0].message).toMatch(/^linux\/amd64: /);
    // The platforms keep their own verdicts until their own messages re-judge them.
    expect(await store.get(d(regex))).toMatchObject({ status: 'trusted', revision: 1 });
  });

  it('an index whose platform has no inventory (it was unscannable) stays quarantined', async () => {
    const { store, opts } = await scanned(index);
    const inv = (await store.getInventory(d(index)))!;
    const ghost = `sha256:${'9'.repeat(64)}` as Digest;
    await store.putInventory(d(index), { ...inv, index: { version: 1, platforms: [...indexPlatformsOf(inv)!, { digest: ghost, platform: 'linux/s390x' }] } } as never);
    const out = await reevaluateDigest(store, d(index), opts('2026-11-21T00:00:00Z'));
    expect(out.status === 'recorded' && out.recorded.current).toMatchObject({ status: 'quarantined' });
    expect(out.status === 'recorded' && out.recorded.current.reasons.map((r) => r.message).join()).toMatch(/linux\/s390x: NO_STORED_INVENTORY/);
  });

  it.each([
    ['no inventory and no verdict', async (store: MemoryVerdictStore) => ({ digest: `sha256:${'1'.repeat(64)}` as Digest, store }), 'no-inventory'],
    ['a verdict made by other catalogers: the image must be scanned again', async (store: MemoryVerdictStore) => {
      const v = (await store.get(d(regex)))!;
      await store.put({ ...v, plugins: ['cargo@0.0.1', 'osv-matcher@1.0.0'], evaluatedAt: '2026-11-20T02:00:00Z' });
      return { digest: d(regex), store };
    }, 'stale-inventory'],
  ] as const)('%s', async (_n, setup, status) => {
    const { store, opts } = await scanned(regex);
    const { digest } = await setup(store);
    expect((await reevaluateDigest(store, digest, opts('2026-11-21T00:00:00Z'))).status).toBe(status);
  });

  it('the same evaluation delivered again is not written twice', async () => {
    const { store, opts } = await scanned(regex);
    const first = await reevaluateDigest(store, d(regex), opts('2026-11-21T00:00:00Z'));
    const again = await reevaluateDigest(store, d(regex), opts('2026-11-21T00:00:00Z'));
    expect([first, again].map((o) => o.status === 'recorded' && o.recorded.written)).toEqual([true, false]);
    expect(await store.history(d(regex))).toHaveLength(2);
  });
});

describe('sameScanPlugins / alreadyAnswered', () => {
  it.each([
    ['the matcher alone differs', ['cargo@1', 'osv-matcher@1.0.0'], ['cargo@1', 'osv-matcher@2.0.0'], true],
    ['a cataloger version differs', ['cargo@1', 'osv-matcher@1.0.0'], ['cargo@2', 'osv-matcher@1.0.0'], false],
    ['order and duplicates do not matter', ['b@1', 'a@1', 'a@1'], ['a@1', 'b@1'], true],
  ])('%s', (_n, a, b, same) => expect(sameScanPlugins(a, b)).toBe(same));

  const current: StoredVerdict = {
    digest: `sha256:${'a'.repeat(64)}` as Digest, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
    policyHash: policyHash(DEFAULT_POLICY), feedRevision: '2026-11-20T00:00:00Z', plugins, evaluatedAt: '2026-11-20T01:00:00Z', revision: 3,
  };
  const basis = { policyHash: policyHash(DEFAULT_POLICY), plugins };
  it.each([
    ['no verdict', undefined, basis, false],
    ['same feed revision (as an instant)', current, { ...basis, feedRevision: '2026-11-20T01:00:00+01:00' }, true],
    ['a newer feed revision', current, { ...basis, feedRevision: '2026-11-21T00:00:00Z' }, false],
    ['evaluated after the request', current, { ...basis, requestedAt: '2026-11-20T00:30:00Z' }, true],
    ['evaluated before the request', current, { ...basis, requestedAt: '2026-11-20T02:00:00Z' }, false],
    ['another policy', current, { ...basis, policyHash: 'sha256:other', feedRevision: current.feedRevision }, false],
    ['other catalogers', current, { ...basis, plugins: ['cargo@9'], feedRevision: current.feedRevision }, false],
  ] as const)('%s', (_n, v, b, answered) => expect(alreadyAnswered(v, b) !== undefined).toBe(answered));
});

describe('nightly liveness', () => {
  class ArrayQueue implements RescanQueue {
    readonly sent: RescanMessage[] = [];
    async send(messages: readonly RescanMessage[]): Promise<void> {
      this.sent.push(...messages);
    }
  }
  const NOW = new Date('2026-11-28T02:00:00Z');
  const DAY = 86_400_000;
  const dig = (c: string) => `sha256:${c.repeat(64)}` as Digest;
  const catalog = (images: CatalogImage[], failing = false): ImageCatalog => ({
    async *repositories(): AsyncIterable<CatalogRepository> {
      yield { registry: 'r.example', repository: 'app' };
    },
    async *images(): AsyncIterable<CatalogImage> {
      if (failing) throw new Error('AccessDenied');
      yield* images;
    },
  });
  const put = (store: MemoryVerdictStore, digest: Digest, ref: string, evaluatedAt: string) => store.put({
    digest, ref, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, policyHash: 'h', feedRevision: '2026-01-01T00:00:00Z', plugins: [], evaluatedAt,
  });

  it.each([
    ['pushed within the window', { digest: dig('1'), tags: [], pushedAt: new Date(NOW.getTime() - 2 * DAY) }, 'r.example/app@x', 'reevaluate'],
    ['pulled within the window, pushed long ago', { digest: dig('1'), tags: [], pushedAt: new Date(NOW.getTime() - 400 * DAY), lastPulledAt: new Date(NOW.getTime() - DAY) }, 'r.example/app@x', 'reevaluate'],
    ['neither pushed nor pulled within the window', { digest: dig('1'), tags: [], pushedAt: new Date(NOW.getTime() - 400 * DAY) }, 'r.example/app@x', 'none'],
    ['deleted from a swept repository', undefined, 'r.example/app:1', 'none'],
    ['in another registry, evaluated recently', undefined, 'ghcr.io/acme/app:1', 'reevaluate'],
  ] as const)('%s', async (_n, image, ref, expected) => {
    const store = new MemoryVerdictStore();
    await put(store, dig('1'), ref, new Date(NOW.getTime() - DAY).toISOString());
    const queue = new ArrayQueue();
    await nightly({ store, queue, catalog: catalog(image ? [image] : []), liveWindowDays: 30, now: () => NOW });
    expect(queue.sent.map((m) => m.kind)).toEqual(expected === 'none' ? [] : [expected]);
  });

  it('repositories that cannot be listed at all: re-evaluations still go out, the report says the sweep failed', async () => {
    const store = new MemoryVerdictStore();
    await put(store, dig('1'), 'r.example/app:1', new Date(NOW.getTime() - DAY).toISOString());
    const queue = new ArrayQueue();
    const broken: ImageCatalog = {
      async *repositories(): AsyncIterable<CatalogRepository> {
        throw new Error('UnrecognizedClientException');
      },
      async *images(): AsyncIterable<CatalogImage> {},
    };
    const report = await nightly({ store, queue, catalog: broken, liveWindowDays: 30, now: () => NOW });
    expect(report.swept).toEqual({ repositories: 0, images: 0, failedRepositories: 0, listingFailed: true });
    expect(queue.sent.map((m) => m.kind)).toEqual(['reevaluate']);
  });

  it('a repository that cannot be listed proves nothing: its digests fall back to their verdicts; scans go to the rescan queue too', async () => {
    const store = new MemoryVerdictStore();
    await put(store, dig('1'), 'r.example/app:1', new Date(NOW.getTime() - DAY).toISOString());
    const queue = new ArrayQueue();
    const report = await nightly({ store, queue, catalog: catalog([], true), liveWindowDays: 30, now: () => NOW });
    expect(report.swept.failedRepositories).toBe(1);
    expect(queue.sent).toEqual([{ kind: 'reevaluate', digest: dig('1'), at: NOW.toISOString(), reason: 'nightly' }]);

    const next = new ArrayQueue();
    const withNew = await nightly({ store, queue: next, catalog: catalog([{ digest: dig('2'), tags: ['v2'], pushedAt: NOW }]), liveWindowDays: 30, now: () => NOW });
    expect(withNew.scan).toBe(1);
    expect(next.sent[0]).toEqual({ kind: 'scan', registry: 'r.example', repository: 'app', digest: dig('2'), at: NOW.toISOString(), reason: 'sweep' });
  });

});
