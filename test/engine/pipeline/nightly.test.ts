/**
 * The nightly flow (lib/engine/pipeline/nightly.ts; issue 15 item 4) as tables: which digests are live
 * (an admission sighting, a push or pull within the window, a recent evaluation only without a sighting
 * reader), which images without a verdict are swept for a scan (only those used within the window,
 * at most `maxSweepScans`, newest first, the rest left for the next runs), and where the messages go
 * (the rescan queue, scans first). The ports are the engine's in-memory verdict store, an in-memory
 * catalog and an array queue: the same flow runs on DynamoDB Local, fauxqs and a registry in
 * flows.test.ts and test/local/pipeline/nightly.test.ts.
 */
import type { Digest } from '../../../lib/engine/model';
import type { RescanMessage } from '../../../lib/engine/pipeline/messages';
import { DEFAULT_MAX_SWEEP_SCANS, nightly } from '../../../lib/engine/pipeline/nightly';
import type { CatalogImage, CatalogRepository, ImageCatalog, NightlyPorts, RescanQueue } from '../../../lib/engine/pipeline/ports';
import { MemoryVerdictStore } from '../../../lib/engine/verdicts/memory-store';
import type { SightingReader } from '../../../lib/engine/verdicts/sightings';

const NOW = new Date('2026-12-07T02:00:00Z');
const DAY = 86_400_000;
const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * DAY);
const dig = (n: number): Digest => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;
const REGISTRY = '123456789012.dkr.ecr.us-west-2.amazonaws.com';

class ArrayQueue implements RescanQueue {
  readonly sent: RescanMessage[] = [];
  readonly batches: number[] = [];
  async send(messages: readonly RescanMessage[]): Promise<void> {
    this.batches.push(messages.length);
    this.sent.push(...messages);
  }
}

/** One repository `team/app` holding `images`. */
function catalogOf(images: readonly CatalogImage[], repository = 'team/app'): ImageCatalog {
  return {
    async *repositories(): AsyncIterable<CatalogRepository> {
      yield { registry: REGISTRY, repository };
    },
    async *images(): AsyncIterable<CatalogImage> {
      yield* images;
    },
  };
}

/** Sightings as a map; records the `since` it was asked for. */
class Sightings implements SightingReader {
  asked?: Date;
  constructor(private readonly seen: ReadonlyMap<Digest, Date>) {}
  async seenSince(since: Date): Promise<ReadonlyMap<Digest, Date>> {
    this.asked = since;
    return new Map([...this.seen].filter(([, t]) => t >= since));
  }
}

async function storeWith(verdicts: readonly { digest: Digest; ref: string; evaluatedDaysAgo: number }[]): Promise<MemoryVerdictStore> {
  const store = new MemoryVerdictStore();
  for (const v of verdicts) {
    await store.put({
      digest: v.digest, ref: v.ref, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
      policyHash: 'h', feedRevision: '2026-01-01T00:00:00Z', plugins: [], evaluatedAt: daysAgo(v.evaluatedDaysAgo).toISOString(),
    });
  }
  return store;
}

const run = (ports: Omit<NightlyPorts, 'now' | 'liveWindowDays'> & { liveWindowDays?: number }) => nightly({ liveWindowDays: 30, now: () => NOW, ...ports });

describe('the live window: which digests with a verdict are re-evaluated', () => {
  const inRepo = `${REGISTRY}/team/app:1`;
  const elsewhere = 'ghcr.io/acme/app:1';
  // [name, the registry's image (undefined: not listed), the verdict's ref, evaluated days ago, sighted days ago (undefined: never; null: no sighting reader), window, expected]
  it.each([
    ['sighted at admission yesterday, pushed 3 years ago, never pulled', { pushedAt: daysAgo(1100) }, inRepo, 1, 1, 30, 'admission'],
    ['sighted 29 days ago, window 30', { pushedAt: daysAgo(1100) }, inRepo, 1, 29, 30, 'admission'],
    ['sighted 31 days ago, window 30', { pushedAt: daysAgo(1100) }, inRepo, 1, 31, 30, 'not live'],
    ['sighted 10 days ago, window 7 (configurable)', { pushedAt: daysAgo(1100) }, inRepo, 1, 10, 7, 'not live'],
    ['pushed 2 days ago, never sighted', { pushedAt: daysAgo(2) }, inRepo, 1, undefined, 30, 'registry'],
    ['pushed 400 days ago, pulled yesterday', { pushedAt: daysAgo(400), lastPulledAt: daysAgo(1) }, inRepo, 1, undefined, 30, 'registry'],
    ['pushed 400 days ago, pulled 40 days ago, evaluated yesterday', { pushedAt: daysAgo(400), lastPulledAt: daysAgo(40) }, inRepo, 1, undefined, 30, 'not live'],
    ['listed without any time (a registry that tells none), evaluated yesterday', {}, inRepo, 1, undefined, 30, 'not live'],
    ['deleted from a swept repository, evaluated yesterday', undefined, inRepo, 1, undefined, 30, 'not live'],
    ['deleted from a swept repository but still sighted (a node runs it from its cache)', undefined, inRepo, 1, 3, 30, 'admission'],
    ['another registry, evaluated yesterday, never sighted: a re-evaluation is no evidence of use', undefined, elsewhere, 1, undefined, 30, 'not live'],
    ['another registry, sighted last week', undefined, elsewhere, 1, 7, 30, 'admission'],
    ['another registry, evaluated yesterday, no sighting reader: the evaluation is all there is', undefined, elsewhere, 1, null, 30, 'evaluated'],
    ['another registry, evaluated 40 days ago, no sighting reader', undefined, elsewhere, 40, null, 30, 'not live'],
  ] as const)('%s → %s', async (_name, image, ref, evaluatedDaysAgo, sightedDaysAgo, window, expected) => {
    const d = dig(1);
    const store = await storeWith([{ digest: d, ref, evaluatedDaysAgo }]);
    const queue = new ArrayQueue();
    const sightings = sightedDaysAgo === null ? undefined : new Sightings(new Map(sightedDaysAgo === undefined ? [] : [[d, daysAgo(sightedDaysAgo)]]));
    const report = await run({
      store, queue, liveWindowDays: window, catalog: catalogOf(image ? [{ digest: d, tags: ['1'], ...image }] : []), ...(sightings ? { sightings } : {}),
    });
    const live = { admission: 0, registry: 0, evaluated: 0 };
    if (expected !== 'not live') live[expected] = 1;
    expect(report).toMatchObject({ verdicts: 1, reevaluate: expected === 'not live' ? 0 : 1, notLive: expected === 'not live' ? 1 : 0, live });
    expect(queue.sent).toEqual(expected === 'not live' ? [] : [{ kind: 'reevaluate', digest: d, at: NOW.toISOString(), reason: 'nightly' }]);
    if (sightings) expect(sightings.asked).toEqual(daysAgo(window));
  });

  it('a sighting counts once even when the registry also lists a recent push; the report says why each digest is live', async () => {
    const ref = `${REGISTRY}/team/app:1`;
    const store = await storeWith([1, 2, 3, 4].map((n) => ({ digest: dig(n), ref, evaluatedDaysAgo: 1 })));
    const queue = new ArrayQueue();
    const report = await run({
      store, queue,
      catalog: catalogOf([{ digest: dig(1), tags: [], pushedAt: daysAgo(1) }, { digest: dig(2), tags: [], pushedAt: daysAgo(1) }, { digest: dig(3), tags: [], pushedAt: daysAgo(99) }, { digest: dig(4), tags: [], pushedAt: daysAgo(99) }]),
      sightings: new Sightings(new Map([[dig(1), daysAgo(1)], [dig(3), daysAgo(2)]])),
    });
    expect(report).toMatchObject({ verdicts: 4, reevaluate: 3, notLive: 1, live: { admission: 2, registry: 1, evaluated: 0 } });
    expect(queue.sent.map((m) => m.digest)).toEqual([dig(1), dig(2), dig(3)]);
  });

  it('sightings that cannot be read fail the run (the schedule retries it): silently re-evaluating nothing would let verdicts go stale', async () => {
    const store = await storeWith([{ digest: dig(1), ref: 'ghcr.io/acme/app:1', evaluatedDaysAgo: 1 }]);
    const queue = new ArrayQueue();
    const broken: SightingReader = { seenSince: async () => { throw new Error('ProvisionedThroughputExceededException'); } };
    await expect(run({ store, queue, sightings: broken })).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(queue.sent).toEqual([]);
  });
});

describe('the sweep: images without a verdict, bounded', () => {
  it('the default cap is 500', () => expect(DEFAULT_MAX_SWEEP_SCANS).toBe(500));

  // [name, images as [n, pushed days ago (undefined: no time), pulled days ago], cap, scanned in order, deferred, skipped]
  it.each([
    ['pushed 3 years ago and never pulled: not scanned, counted', [[1, 1100, undefined]], 500, [], 0, 1],
    ['pushed 3 years ago, pulled last week: in use, scanned', [[1, 1100, 7]], 500, [1], 0, 0],
    ['pushed within the window: scanned', [[1, 29, undefined]], 500, [1], 0, 0],
    ['newest first, at most the cap, the rest deferred', [[1, 20, undefined], [2, 1, undefined], [3, 10, undefined], [4, 5, undefined]], 2, [2, 4], 2, 0],
    ['a recent pull counts as recent activity', [[1, 20, undefined], [2, 300, 1], [3, 10, undefined]], 2, [2, 3], 1, 0],
    ['images without any time come after the dated ones, by digest', [[3, undefined, undefined], [2, undefined, undefined], [1, 3, undefined]], 2, [1, 2], 1, 0],
    ['equal times: by digest', [[3, 4, undefined], [1, 4, undefined], [2, 4, undefined]], 3, [1, 2, 3], 0, 0],
    ['a cap of 0 sweeps nothing and defers everything in the window', [[1, 1, undefined], [2, 900, undefined]], 0, [], 1, 1],
    ['the first run on an old registry: 1000 old images skipped, 3 recent scanned', [...Array.from({ length: 1000 }, (_, i) => [100 + i, 400 + i, undefined] as const), [1, 1, undefined], [2, 2, undefined], [3, 3, undefined]], 500, [1, 2, 3], 0, 1000],
  ] as const)('%s', async (_name, images, cap, scanned, deferred, skipped) => {
    const store = new MemoryVerdictStore();
    const queue = new ArrayQueue();
    const catalog = catalogOf(images.map(([n, pushed, pulled]) => ({
      digest: dig(n), tags: [], ...(pushed !== undefined ? { pushedAt: daysAgo(pushed) } : {}), ...(pulled !== undefined ? { lastPulledAt: daysAgo(pulled) } : {}),
    })));
    const report = await run({ store, queue, catalog, maxSweepScans: cap, sightings: new Sightings(new Map()) });
    expect(report).toMatchObject({ scan: scanned.length, scanDeferred: deferred, scanSkippedNotLive: skipped, maxSweepScans: cap });
    expect(queue.sent).toEqual(scanned.map((n) => ({ kind: 'scan', registry: REGISTRY, repository: 'team/app', digest: dig(n), at: NOW.toISOString(), reason: 'sweep' })));
  });

  it('the cap is no loss: each run enqueues the next batch, since the earlier ones have verdicts by then', async () => {
    const store = new MemoryVerdictStore();
    const images = [1, 2, 3, 4, 5].map((n) => ({ digest: dig(n), tags: [], pushedAt: daysAgo(n) }));
    const batches: Digest[][] = [];
    for (let night = 0; night < 4; night++) {
      const queue = new ArrayQueue();
      const report = await run({ store, queue, catalog: catalogOf(images), maxSweepScans: 2, sightings: new Sightings(new Map()) });
      const scans = queue.sent.filter((m) => m.kind === 'scan').map((m) => m.digest);
      batches.push(scans);
      expect(report.scanDeferred).toBe(Math.max(0, 5 - 2 * (night + 1)));
      // What the scan-worker does with the messages: a verdict per digest.
      for (const d of scans) await store.put({ digest: d, ref: `${REGISTRY}/team/app@${d}`, status: 'trusted', reasons: [], counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, policyHash: 'h', feedRevision: '2026-01-01T00:00:00Z', plugins: [], evaluatedAt: NOW.toISOString() });
    }
    expect(batches).toEqual([[dig(1), dig(2)], [dig(3), dig(4)], [dig(5)], []]);
  });

  it('scans and re-evaluations go to the one queue it is given (the rescan queue), scans first, in one send', async () => {
    const ref = `${REGISTRY}/team/app:1`;
    const store = await storeWith([{ digest: dig(9), ref, evaluatedDaysAgo: 1 }]);
    const queue = new ArrayQueue();
    await run({ store, queue, catalog: catalogOf([{ digest: dig(9), tags: [], pushedAt: daysAgo(1) }, { digest: dig(1), tags: [], pushedAt: daysAgo(1) }]), sightings: new Sightings(new Map()) });
    expect(queue.sent.map((m) => [m.kind, m.digest])).toEqual([['scan', dig(1)], ['reevaluate', dig(9)]]);
    expect(queue.batches).toEqual([2]);
  });

  it('a capped sweep is reported in a warning that says how many images wait', async () => {
    const warnings: [string, unknown][] = [];
    const logger = { info: () => undefined, warn: (m: string, f?: unknown) => { warnings.push([m, f]); }, error: () => undefined };
    await run({ store: new MemoryVerdictStore(), queue: new ArrayQueue(), catalog: catalogOf([1, 2, 3].map((n) => ({ digest: dig(n), tags: [], pushedAt: daysAgo(1) }))), maxSweepScans: 1, logger });
    expect(warnings).toEqual([['sweep capped: images without a verdict left for the next runs', { scan: 1, scanDeferred: 2, maxSweepScans: 1 }]]);
  });

  it.each([
    ['a negative cap', { maxSweepScans: -1 }, /maxSweepScans/],
    ['a fractional cap', { maxSweepScans: 1.5 }, /maxSweepScans/],
    ['a zero window', { liveWindowDays: 0 }, /liveWindowDays/],
  ] as const)('refuses %s', async (_name, bad, message) => {
    await expect(run({ store: new MemoryVerdictStore(), queue: new ArrayQueue(), ...bad })).rejects.toThrow(message);
  });
});
