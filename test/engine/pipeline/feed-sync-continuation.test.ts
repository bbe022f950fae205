/**
 * feed-sync across invocations (lib/engine/pipeline/feed-sync-continuation.ts; issue 15 item 8): a feed
 * far larger than one invocation's budget completes over several, each continuing at the last
 * checkpoint; an invocation killed between checkpoints loses nothing (its message is redelivered, the
 * write-ahead ids are re-targeted); a new export mid-way restarts the feed from its beginning.
 *
 * Sources are real zips (test/helpers/synthetic-feed.ts: stored entries, ZIP64 end records) read by the
 * real reader, into the memory advisory store. An invocation's time is counted in records written
 * (helpers/feed-continuation.ts `budget`): deterministic, no wall clock. The 500,000-record figure is
 * measured by `npm run bench:feeds-continuation` (bench/feeds/continuation.ts); the suite uses 70,000
 * records (over 65,535 entries: the ZIP64 path) to stay fast on a loaded machine.
 */
import { FEED_IN_FLIGHT_MS, feedClaimKey, parseFeedSyncMessage, startFeedSync, syncFeedMessage, type FeedMessageOutcome, type FeedSyncMessage } from '../../../lib/engine/pipeline/feed-sync-continuation';
import { FeedContinuationError, InvalidPipelineMessageError } from '../../../lib/engine/pipeline/errors';
import type { Digest } from '../../../lib/engine/model';
import { memoryFeedSource, syntheticId, syntheticOsvZip } from '../../helpers/synthetic-feed';
import { RecordingStore, digestOf, feedWorld } from './helpers/feed-continuation';

const LEASE_MS = 60_000;

/** Every digest the index holds for the packages records 0..n-1 name (`pkg-<i % packages>`, PyPI for the first half). */
function expectedDigests(n: number, packages: number): Set<Digest> {
  const out = new Set<Digest>();
  for (let i = 0; i < n; i++) out.add(digestOf(i < n / 2 ? 'PyPI' : 'npm', i % packages));
  return out;
}

/** Runs messages off the world's feed queue until none is left; returns every outcome. */
async function drain(w: ReturnType<typeof feedWorld>, perInvocation: number, batchSize: number): Promise<FeedMessageOutcome[]> {
  const outcomes: FeedMessageOutcome[] = [];
  for (let message = w.feedMessages.shift(); message; message = w.feedMessages.shift()) {
    outcomes.push(await syncFeedMessage(w.ports(), message, { timeLeftMs: w.budget(perInvocation), leaseMs: () => LEASE_MS, batchSize }));
    if (outcomes.length > 100) throw new Error('no end in sight');
  }
  return outcomes;
}

describe('a feed larger than one invocation completes over several', () => {
  const N = 70_000;
  const PACKAGES = 1000;
  const zip = syntheticOsvZip({ records: N, packages: PACKAGES });
  const source = memoryFeedSource('osv:Synthetic', () => zip, () => 'etag:"r1"');
  let w: ReturnType<typeof feedWorld>;
  let outcomes: FeedMessageOutcome[];
  let continuations: (number | undefined)[];

  beforeAll(async () => {
    w = feedWorld(source, { packages: PACKAGES });
    const tick = await startFeedSync(w.ports());
    expect(tick.enqueued).toEqual(['osv:Synthetic']);
    continuations = [];
    const seen = w.feedMessages;
    const origShift = seen.shift.bind(seen);
    seen.shift = () => {
      const m = origShift();
      if (m) continuations.push(m.continuation);
      return m;
    };
    outcomes = await drain(w, 20_000, 500);
  }, 300_000);

  it('takes several invocations, each but the last continued by a message of its own', () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    expect(outcomes.map((o) => o.status)).toEqual([...Array(outcomes.length - 1).fill('continued'), 'complete']);
    expect(continuations).toEqual([undefined, ...Array.from({ length: outcomes.length - 1 }, (_, i) => i + 1)]);
  });

  it('the store holds every record, each written exactly once (a clean stop re-reads nothing)', async () => {
    expect(await w.store.count()).toBe(N);
    for (let i = 0; i < N; i += 997) expect(await w.store.get(syntheticId(i))).toBeDefined();
    expect(w.store.writes.size).toBe(N);
    expect(Math.max(...w.store.writes.values())).toBe(1);
  });

  it('the checkpoint advanced monotonically through the export, and the state is complete with the whole read\'s totals', async () => {
    const positions = w.store.cursorPositions('etag:"r1"');
    expect(positions.length).toBeGreaterThanOrEqual(N / 500);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThanOrEqual(positions[i - 1]);
    expect(positions[positions.length - 1]).toBeGreaterThan(N - 1000);
    const st = await w.store.getFeedState('osv:Synthetic');
    // Both ecosystems, though the last invocation read npm records only: the earlier ones' progress was carried.
    expect(st).toMatchObject({ status: 'complete', fingerprint: 'etag:"r1"', records: N, ecosystems: ['PyPI', 'npm'], modified: '2026-01-01T19:26:39Z' });
    expect(st?.cursor).toBeUndefined();
    expect(st?.pendingIds).toBeUndefined();
  });

  it('every affected digest was enqueued for re-evaluation, at most once per invocation', () => {
    expect(w.enqueued()).toEqual(expectedDigests(N, PACKAGES));
    const times = new Map<string, number>();
    for (const m of w.rescans) if (m.kind === 'reevaluate') times.set(m.digest, (times.get(m.digest) ?? 0) + 1);
    expect(Math.max(...times.values())).toBeLessThanOrEqual(outcomes.length);
  });
});

describe('an invocation killed between checkpoints: the redelivered message resumes without loss', () => {
  const N = 5_000;
  const BATCH = 100;
  // One package per record, one digest per package: a record whose change is not targeted leaves its digest missing.
  const zip = syntheticOsvZip({ records: N, packages: N });
  const source = memoryFeedSource('osv:Kill', () => zip, () => 'size=1;mtime=a');

  it.each([
    ['after a batch was written, before its changes were targeted', { dieAfterUpsert: 7 }],
    ['while the write-ahead checkpoint of a batch was being written', { dieAtStateWrite: 9 }],
    ['after a batch was targeted, before the next checkpoint', { dieAfterSend: 12 }],
    ['on the very first batch', { dieAfterUpsert: 1 }],
  ] as const)('killed %s', async (_name, kill) => {
    const w = feedWorld(source, { packages: N, store: new RecordingStore() });
    if ('dieAfterUpsert' in kill) w.store.dieAfterUpsert = kill.dieAfterUpsert;
    if ('dieAtStateWrite' in kill) w.store.dieAtStateWrite = kill.dieAtStateWrite;
    let sends = 0;
    const afterSend = () => {
      if ('dieAfterSend' in kill && ++sends === kill.dieAfterSend) w.store.dead = true;
    };
    const message: FeedSyncMessage = { kind: 'feed-sync', source: 'osv:Kill', at: '2026-12-07T12:00:00Z' };
    await expect(syncFeedMessage(w.ports(afterSend), message, { timeLeftMs: w.budget(2_000), leaseMs: () => LEASE_MS, batchSize: BATCH })).rejects.toThrow(/the process is dead/);
    const before = w.enqueued();
    const writtenBefore = w.store.written;
    expect(writtenBefore).toBeLessThan(N);

    // The process is gone; its claim lapses; SQS delivers the same message again.
    w.store.dead = false;
    w.store.dieAfterUpsert = undefined;
    w.store.dieAtStateWrite = undefined;
    w.claims.now += LEASE_MS + 1;
    w.feedMessages.push(message);
    const outcomes = await drain(w, 2_000, BATCH);
    expect(outcomes[outcomes.length - 1].status).toBe('complete');

    expect(await w.store.count()).toBe(N);
    const st = await w.store.getFeedState('osv:Kill');
    expect(st).toMatchObject({ status: 'complete', records: N, ecosystems: ['PyPI', 'npm'] });
    // Every record's change was targeted — those the killed run wrote but never targeted included.
    expect(w.enqueued()).toEqual(expectedDigests(N, N));
    expect(before.size).toBeLessThan(N);
    // At least once, within one batch: only the batch in flight when the process died was written twice.
    const twice = [...w.store.writes.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(BATCH);
    expect(Math.max(...w.store.writes.values())).toBeLessThanOrEqual(2);
  });
});

describe('a new export while a feed is part-way', () => {
  it('restarts the feed from its beginning: the old cursor and progress are dropped, every record of the new export is read', async () => {
    let revision = 'etag:"one"';
    let zip = syntheticOsvZip({ records: 3_000, packages: 3_000 });
    const source = memoryFeedSource('osv:Moving', () => zip, () => revision);
    const w = feedWorld(source, { packages: 4_000 });
    w.feedMessages.push({ kind: 'feed-sync', source: 'osv:Moving', at: '2026-12-07T12:00:00Z' });
    const first = await syncFeedMessage(w.ports(), w.feedMessages.shift()!, { timeLeftMs: w.budget(1_000), leaseMs: () => LEASE_MS, batchSize: 100 });
    expect(first.status).toBe('continued');
    const reached = Math.max(...w.store.cursorPositions('etag:"one"'));
    expect(reached).toBeGreaterThanOrEqual(999);

    // A new revision: 500 more records, every record one day newer, in a new order (reversed).
    revision = 'etag:"two"';
    zip = syntheticOsvZip({ records: 3_500, packages: 4_000, id: (i) => syntheticId(3_499 - i), modified: () => '2026-02-01T00:00:00Z', ecosystem: () => 'npm' });
    const rest = await drain(w, 100_000, 100);
    expect(rest.map((o) => o.status)).toEqual(['complete']);
    const positions = w.store.cursorPositions('etag:"two"');
    expect(positions[0]).toBeLessThan(reached);
    const st = await w.store.getFeedState('osv:Moving');
    // Totals of the new export alone (3,500 read, not 1,000 + 3,500); the ecosystems of the last complete read: none before, npm now.
    expect(st).toMatchObject({ status: 'complete', fingerprint: 'etag:"two"', records: 3_500, modified: '2026-02-01T00:00:00Z', ecosystems: ['npm'] });
    expect(await w.store.count()).toBe(3_500);
    for (const id of [syntheticId(0), syntheticId(2_999), syntheticId(3_499)]) expect((await w.store.get(id))?.modified).toBe('2026-02-01T00:00:00Z');
  });
});

describe('the schedule\'s tick and the message handling around the sync', () => {
  const zip = syntheticOsvZip({ records: 50, packages: 5 });
  const source = memoryFeedSource('osv:Small', () => zip, () => 'etag:"s"');

  it.each([
    ['never synced', undefined, true],
    ['complete', { status: 'complete', startedAt: '2026-12-07T11:59:00Z' }, true],
    ['in progress, its latest invocation started a minute ago (in flight)', { status: 'in-progress', startedAt: '2026-12-07T11:59:00Z' }, false],
    ['in progress, its latest invocation started longer ago than the in-flight window (its chain died)', { status: 'in-progress', startedAt: new Date(Date.parse('2026-12-07T12:00:00Z') - FEED_IN_FLIGHT_MS - 1).toISOString() }, true],
    ['failed a minute ago', { status: 'failed', startedAt: '2026-12-07T11:59:00Z' }, true],
  ] as const)('a feed %s is enqueued: %s', async (_name, state, enqueued) => {
    const w = feedWorld(source, { packages: 5 });
    if (state) await w.store.putFeedState('osv:Small', { syncedAt: '', records: 0, ...state });
    const tick = await startFeedSync(w.ports());
    expect({ enqueued: tick.enqueued, inFlight: tick.inFlight }).toEqual(enqueued ? { enqueued: ['osv:Small'], inFlight: [] } : { enqueued: [], inFlight: ['osv:Small'] });
    expect(w.feedMessages.map((m) => m.source)).toEqual(enqueued ? ['osv:Small'] : []);
  });

  it('a message for a feed another invocation holds is dropped untouched; one for an unconfigured feed too', async () => {
    const w = feedWorld(source, { packages: 5 });
    const holder = w.claims.holder();
    expect(await holder.claim(feedClaimKey('osv:Small'), LEASE_MS)).toBe(true);
    const opts = { timeLeftMs: () => 1_000, leaseMs: () => LEASE_MS };
    expect((await syncFeedMessage(w.ports(), { kind: 'feed-sync', source: 'osv:Small', at: '2026-12-07T12:00:00Z' }, opts)).status).toBe('busy');
    expect((await syncFeedMessage(w.ports(), { kind: 'feed-sync', source: 'osv:Gone', at: '2026-12-07T12:00:00Z' }, opts)).status).toBe('unknown-source');
    expect(w.store.written).toBe(0);
    expect(w.feedMessages).toEqual([]);
    // Once the holder gives the feed up, the next delivery syncs it.
    await holder.release(feedClaimKey('osv:Small'));
    expect((await syncFeedMessage(w.ports(), { kind: 'feed-sync', source: 'osv:Small', at: '2026-12-07T12:00:00Z' }, opts)).status).toBe('complete');
    expect(await w.store.count()).toBe(50);
  });

  it('a feed continued too often fails its message (then the DLQ) instead of continuing forever', async () => {
    const w = feedWorld(source, { packages: 5 });
    const message: FeedSyncMessage = { kind: 'feed-sync', source: 'osv:Small', at: '2026-12-07T12:00:00Z', continuation: 3 };
    await expect(syncFeedMessage(w.ports(), message, { timeLeftMs: w.budget(10), leaseMs: () => LEASE_MS, batchSize: 10, maxContinuations: 3 })).rejects.toBeInstanceOf(FeedContinuationError);
    // Its progress is kept: a redrive from the DLQ continues at the checkpoint.
    expect((await w.store.getFeedState('osv:Small'))?.cursor).toBeDefined();
    // The claim was given up.
    expect(await w.claims.holder().claim(feedClaimKey('osv:Small'), LEASE_MS)).toBe(true);
  });

  it.each([
    ['a scheduled start', '{"kind":"feed-sync","source":"osv:Debian","at":"2026-12-07T12:00:00Z"}', { kind: 'feed-sync', source: 'osv:Debian', at: '2026-12-07T12:00:00Z' }],
    ['a continuation', '{"kind":"feed-sync","source":"https://x/all.zip","at":"2026-12-07T12:00:00Z","continuation":4}', { kind: 'feed-sync', source: 'https://x/all.zip', at: '2026-12-07T12:00:00Z', continuation: 4 }],
  ])('parses %s', (_n, body, parsed) => {
    expect(parseFeedSyncMessage(body)).toEqual(parsed);
  });

  it.each([
    ['not JSON', 'test'],
    ['a rescan message', '{"kind":"reevaluate","digest":"sha256:00","at":"2026-12-07T12:00:00Z"}'],
    ['no source', '{"kind":"feed-sync","at":"2026-12-07T12:00:00Z"}'],
    ['an empty source', '{"kind":"feed-sync","source":"","at":"2026-12-07T12:00:00Z"}'],
    ['no time', '{"kind":"feed-sync","source":"osv:Debian"}'],
    ['a negative continuation', '{"kind":"feed-sync","source":"osv:Debian","at":"2026-12-07T12:00:00Z","continuation":-1}'],
    ['a fractional continuation', '{"kind":"feed-sync","source":"osv:Debian","at":"2026-12-07T12:00:00Z","continuation":1.5}'],
  ])('refuses %s', (_n, body) => {
    expect(() => parseFeedSyncMessage(body)).toThrow(InvalidPipelineMessageError);
  });
});
