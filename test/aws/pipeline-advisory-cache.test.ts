/**
 * The container's shared advisory cache as the pipeline wires it (lib/aws/pipeline-ports.ts), on
 * DynamoDB Local with the real crates.io OSV export (../shared/feeds/osv/crates.io/all.zip) synced into
 * the advisory table: re-evaluations with a warm cache read far less from DynamoDB than cold ones —
 * counted in read units and calls by the consumed-capacity meter, never timed — give the same verdicts,
 * and a new feed revision makes them read again.
 */
import { join } from 'node:path';
import { tableDefinition as advisoryTable } from '../../lib/aws/advisory-store';
import { CapacityMeter, type CapacityTotals } from '../../lib/aws/consumed-capacity';
import { AwsPipeline, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { tableDefinition as verdictTable } from '../../lib/aws/verdict-store';
import { SharedAdvisoryCache } from '../../lib/engine/advisories/shared-cache';
import type { OsvRecord } from '../../lib/engine/advisories/osv';
import type { Digest, Package } from '../../lib/engine/model';
import { reevaluate } from '../../lib/engine/pipeline/rescan';
import { syncFeeds } from '../../lib/engine/sync-feeds';
import { SHARED } from '../helpers/corpus';
import { useDynamoDbLocal } from '../helpers/dynamodb-local';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const FEED = join(SHARED, 'feeds', 'osv', 'crates.io', 'all.zip');
const LAYER = `sha256:${'1'.repeat(64)}` as Digest;
const digest = (i: number): Digest => `sha256:${i.toString(16).padStart(64, 'a')}` as Digest;

const db = useDynamoDbLocal({ tables: [advisoryTable('advisories'), verdictTable('verdicts')] });
let meter: CapacityMeter;
let crates: string[];

const pipeline = (advisoryCache: SharedAdvisoryCache | false): AwsPipeline => new AwsPipeline(
  readPipelineConfig({ VERDICT_TABLE: 'verdicts', ADVISORY_TABLE: 'advisories', FEEDS: FEED }),
  { dynamodb: db.client },
  undefined,
  { advisoryCache },
);

/** A crate as the cargo cataloger reports it; 0.0.1 lies in most RUSTSEC ranges (introduced 0). */
const crate = (name: string): Package => ({
  ecosystem: 'crates.io', name, version: '0.0.1', purl: `pkg:cargo/${name}@0.0.1`,
  locations: [{ layer: LAYER, path: '/app/Cargo.lock' }], cataloger: { name: 'cargo-lock', version: '1.0.0' },
});

/** Re-evaluates `d` through `p`'s scan ports; what DynamoDB consumed, and the verdict recorded. */
async function measure(p: AwsPipeline, d: Digest): Promise<{ used: CapacityTotals; verdict: unknown }> {
  const ports = await p.scanPorts();
  meter.reset();
  const out = await reevaluate({ kind: 'reevaluate', digest: d, reason: 'nightly' }, ports);
  const used = meter.totals();
  if (out.status !== 'reevaluated') throw new Error(`not re-evaluated: ${out.status}`);
  const v = out.recorded.current;
  return { used, verdict: { status: v.status, counts: v.counts, reasons: v.reasons.map((r) => r.rule).sort() } };
}

beforeAll(async () => {
  const p = pipeline(false);
  const seen = new Set<string>();
  // Sync the real export, and keep the first 40 crate names it names.
  const [r] = await syncFeeds(await p.feedSources(), {
    lookup: (e, n) => p.advisoryStore.lookup(e, n),
    get: (id) => p.advisoryStore.get(id),
    getFeedState: (s) => p.advisoryStore.getFeedState(s),
    putFeedState: (s, st) => p.advisoryStore.putFeedState(s, st),
    listFeeds: () => p.advisoryStore.listFeeds(),
    count: () => p.advisoryStore.count(),
    upsert: (rs: readonly OsvRecord[]) => {
      for (const rec of rs) for (const a of rec.affected) if (a.ecosystem === 'crates.io' && seen.size < 40) seen.add(a.name);
      return p.advisoryStore.upsert(rs);
    },
  });
  expect(r.changed.length).toBeGreaterThan(1000);
  crates = [...seen].sort();
  // Six images sharing most of their crates, as a fleet's images share base layers.
  for (let i = 0; i < 6; i++) {
    await p.verdictStore.putInventory(digest(i), { packages: crates.filter((_, j) => j % 6 !== i).map(crate), unknowns: [], findings: [], layers: [] });
  }
  meter = new CapacityMeter();
  meter.attach(db.client);
}, 300_000);

describe('re-evaluations through the shared advisory cache (DynamoDB Local, real crates.io export)', () => {
  it('warm re-evaluations read far fewer units and make far fewer calls than cold ones, with the same verdicts', async () => {
    const cold = pipeline(false);
    const coldRuns = [];
    for (const i of [0, 2, 3]) coldRuns.push(await measure(cold, digest(i)));

    const cache = new SharedAdvisoryCache();
    const warm = pipeline(cache);
    // Digests 0 and 1 fill the cache: together they hold every crate of the fleet.
    const first = await measure(warm, digest(0));
    await measure(warm, digest(1));
    const warmRuns = [];
    for (const i of [2, 3]) warmRuns.push(await measure(warm, digest(i)));

    // Findings were made (the crates are vulnerable at 0.0.1), so the comparison is not of empty work.
    expect(coldRuns.some((r) => (r.verdict as { status: string }).status === 'quarantined')).toBe(true);
    expect(warmRuns.map((r) => r.verdict)).toEqual(coldRuns.slice(1).map((r) => r.verdict));
    expect(first.verdict).toEqual(coldRuns[0].verdict);
    for (const [i, w] of warmRuns.entries()) {
      const c = coldRuns[i + 1].used;
      // Left for a warm run: the verdict table (inventory, verdict, history, write) and the feed state.
      expect(w.used.rru).toBeLessThan(c.rru / 4);
      expect(w.used.calls).toBeLessThan(c.calls / 10);
      expect(w.used.byOperation.Query?.calls ?? 0).toBeLessThan(c.byOperation.Query!.calls / 10);
    }
    expect(cache.stats.hits).toBeGreaterThan(cache.stats.misses);
  }, 120_000);

  it('a new feed revision (feed-sync wrote a feed state) makes the next re-evaluation read the advisories again', async () => {
    const cache = new SharedAdvisoryCache();
    const warm = pipeline(cache);
    await measure(warm, digest(3));
    const hot = await measure(warm, digest(4));
    const source = (await warm.feedSources())[0].source;
    const st = (await warm.advisoryStore.getFeedState(source))!;
    await warm.advisoryStore.putFeedState(source, { ...st, syncedAt: new Date().toISOString() });
    const after = await measure(warm, digest(4));
    expect(after.used.rru).toBeGreaterThan(hot.used.rru * 4);
    expect(after.used.byOperation.Query!.calls).toBeGreaterThan(crates.length / 2);
  }, 120_000);
});
