/**
 * Admission sightings (lib/admission/sightings.ts, issue 15 item 4): the admission decision tells
 * `AdmissionSightings` of every digest it found a verdict for; the write goes to the verdict table
 * (DynamoDB Local, lib/aws/verdict-store.ts `recordSighting`) at most once a day per digest, and a
 * store that hangs or fails never slows or changes an admission answer.
 */
import { AdmissionController } from '../../lib/admission/decide';
import { AdmissionSightings } from '../../lib/admission/sightings';
import { DynamoVerdictStore, tableDefinition } from '../../lib/aws/verdict-store';
import type { Digest } from '../../lib/engine/model';
import type { SightingWriter } from '../../lib/engine/verdicts/sightings';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';
import { FRESH, NOW, TRUSTED, digestOf, pinned, podReview as corpusPodReview, verdict } from './fixtures';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const HOUR = 3_600_000;
/** A Pod review whose three containers (init, main, ephemeral) run `main` unless given others. */
const podReview = (images: { containers: string; initContainers?: string }) =>
  corpusPodReview({ initContainers: images.initContainers ?? images.containers, containers: images.containers, ephemeralContainers: images.containers });

const db = useDynamoDbLocal();

async function freshStore(): Promise<DynamoVerdictStore> {
  const table = await db.freshTable('sightings', tableDefinition);
  return new DynamoVerdictStore({ client: db.client, tableName: table, retry: { baseDelayMs: 1 } });
}

/** A writer that never answers (a DynamoDB endpoint that hangs). */
class HangingWriter implements SightingWriter {
  readonly calls: Digest[] = [];
  recordSighting(digest: Digest): Promise<boolean> {
    this.calls.push(digest);
    return new Promise(() => undefined);
  }
}

describe('admission decisions record sightings on the verdict table (DynamoDB Local)', () => {
  it('a Pod admitted 50 times in an hour by two webhook replicas: one write; a day later, one more', async () => {
    const store = await freshStore();
    const d = digestOf('app');
    await store.put(verdict(d, 'trusted', FRESH));
    let now = NOW;
    const replicas = [0, 1].map(() => {
      const sightings = new AdmissionSightings({ writer: store, now: () => now });
      return { sightings, ctl: new AdmissionController({ trustedRegistries: [`${TRUSTED}/team/*`] }, { store, now: () => now, sightings }) };
    });
    for (let i = 0; i < 50; i++) {
      const r = replicas[i % 2];
      const res = await r.ctl.review(podReview({ containers: pinned('app') }), 'validate');
      expect(res.response.allowed).toBe(true);
      now += 60_000;
    }
    await Promise.all(replicas.map((r) => r.sightings.settled()));
    // Each replica tried once (its memo holds the rest); the table's condition let exactly one write through.
    expect(replicas.map((r) => r.sightings.stats.written + r.sightings.stats.unchanged)).toEqual([1, 1]);
    expect(replicas[0].sightings.stats.written + replicas[1].sightings.stats.written).toBe(1);
    const first = (await store.seenSince(new Date(NOW - HOUR))).get(d);
    expect(first?.getTime()).toBeGreaterThanOrEqual(NOW);

    now = NOW + 25 * HOUR;
    await replicas[0].ctl.review(podReview({ containers: pinned('app') }), 'validate');
    await replicas[0].sightings.settled();
    expect(replicas[0].sightings.stats.written).toBeGreaterThanOrEqual(1);
    expect((await store.seenSince(new Date(NOW + 24 * HOUR))).get(d)?.getTime()).toBe(NOW + 25 * HOUR);
  });

  it('a denied image without a verdict records nothing; a quarantined one is in use all the same', async () => {
    const store = await freshStore();
    await store.put(verdict(digestOf('bad'), 'quarantined', FRESH));
    const sightings = new AdmissionSightings({ writer: store, now: () => NOW });
    const ctl = new AdmissionController({ trustedRegistries: [`${TRUSTED}/team/*`] }, { store, now: () => NOW, sightings });
    const res = await ctl.review(podReview({ containers: pinned('unknown'), initContainers: pinned('bad') }), 'validate');
    expect(res.response.allowed).toBe(false);
    await sightings.settled();
    expect([...(await store.seenSince(new Date(0))).keys()]).toEqual([digestOf('bad')]);
  });
});

describe('a sighting never slows or fails an admission answer', () => {
  const store = new MemoryVerdictStore();
  beforeAll(async () => {
    for (const n of ['a', 'b', 'c']) await store.put(verdict(digestOf(n), 'trusted', FRESH));
  });

  it.each([
    // Three Pods (a, b, c), each naming its image in three containers. Hanging: a and b in flight, the
    // three sightings of c dropped (tried again later). Rejecting: one write per Pod (the memo holds it
    // while in flight), each failure logged. Throwing at once: every sighting tried and logged.
    ['the writer hangs', () => new HangingWriter(), { dropped: 3, failed: 0 }],
    ['the writer rejects', () => ({ recordSighting: async () => { throw new Error('AccessDeniedException: not authorized to perform dynamodb:UpdateItem'); } }), { dropped: 0, failed: 3 }],
    ['the writer throws synchronously', () => ({ recordSighting: () => { throw new Error('boom'); } }), { dropped: 0, failed: 9 }],
  ] as const)('%s: every Pod is still answered, as without sightings', async (_name, make, want) => {
    const logged: string[] = [];
    const sightings = new AdmissionSightings({ writer: make(), now: () => NOW, maxInFlight: 2, log: (l) => logged.push(l) });
    const ctl = new AdmissionController({ trustedRegistries: [`${TRUSTED}/team/*`] }, { store, now: () => NOW, sightings });
    for (const n of ['a', 'b', 'c']) {
      const res = await ctl.review(podReview({ containers: pinned(n) }), 'validate');
      expect(res.response.allowed).toBe(true);
    }
    const s = sightings.stats;
    expect(s.written).toBe(0);
    expect({ dropped: s.dropped, failed: s.failed }).toEqual(want);
    expect(logged.length).toBe(s.failed);
  });

  it('a failed write is forgotten, so the next lookup tries again; a written one is remembered for the interval', async () => {
    let fail = true;
    const calls: number[] = [];
    let now = NOW;
    const sightings = new AdmissionSightings({
      writer: { recordSighting: async (_d, at) => { calls.push(at.getTime()); if (fail) throw new Error('ProvisionedThroughputExceededException'); return true; } },
      now: () => now, intervalMs: HOUR,
    });
    sightings.seen(digestOf('a'));
    await sightings.settled();
    fail = false;
    now += 1000;
    sightings.seen(digestOf('a'));
    now += 1000;
    sightings.seen(digestOf('a'));
    await sightings.settled();
    now += HOUR;
    sightings.seen(digestOf('a'));
    await sightings.settled();
    expect(calls).toEqual([NOW, NOW + 1000, NOW + 2000 + HOUR]);
    expect(sightings.stats).toEqual({ written: 2, unchanged: 0, remembered: 1, dropped: 0, failed: 1 });
  });
});
