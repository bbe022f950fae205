/**
 * Scale check of the embedded advisory store: 200,000 records cloned from the real corpus (new ids,
 * new package names), fed as an async stream like the feed reader's. Prints figures; asserts only
 * correctness, never timings (CI machines vary too much for that).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { normalizePackageName } from '../../../lib/engine/advisories/names';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { ADVISORY_INDEX_FILE, EmbeddedAdvisoryStore } from '../../../lib/local/advisory-store';
import { loadCorpus, newestById } from './corpus';

const N = 200_000;
const pool = [...newestById(loadCorpus()).values()];

/** Clone `i`: pool record i mod |pool| with every package renamed into "generation" ⌊i / |pool|⌋, so each synthetic package has as many advisories as its real model. */
function synthetic(i: number): OsvRecord {
  const base = pool[i % pool.length];
  const gen = Math.floor(i / pool.length);
  return { ...base, id: `${base.id}-S${i}`, affected: base.affected.map((a) => ({ ...a, name: `${a.name}-syn${gen}` })) };
}

async function* feed(n: number): AsyncGenerator<OsvRecord> {
  for (let i = 0; i < n; i++) yield synthetic(i);
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function ms(t0: number): number {
  return performance.now() - t0;
}

it(`bulk upsert, open and lookups at ${N.toLocaleString('en')} records`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-advisory-scale-'));
  dirs.push(dir);
  const figures: Record<string, string> = {};

  const writer = await EmbeddedAdvisoryStore.open(dir);
  let t0 = performance.now();
  const changed = await writer.upsertMany(feed(N));
  const upsertMs = ms(t0);
  t0 = performance.now();
  await writer.flush();
  const flushMs = ms(t0);
  const stats = writer.stats();
  t0 = performance.now();
  await writer.close();
  figures['bulk upsert (async stream)'] = `${(upsertMs / 1000).toFixed(2)} s (${Math.round(N / (upsertMs / 1000)).toLocaleString('en')} records/s)`;
  figures['first commit (fsync data + write index)'] = `${flushMs.toFixed(0)} ms`;
  figures['close (nothing to commit)'] = `${ms(t0).toFixed(1)} ms`;
  figures['data file / index file'] = `${(stats.dataBytes / 1e6).toFixed(0)} MB / ${(statSync(join(dir, ADVISORY_INDEX_FILE)).size / 1e6).toFixed(1)} MB`;
  figures['distinct (ecosystem, package) keys'] = stats.packages.toLocaleString('en');
  expect(changed).toHaveLength(N);
  expect(stats.records).toBe(N);

  // Open: what every `trustctl scan` pays. Heap measured around a read-only open, for the index's footprint.
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  t0 = performance.now();
  const reader = await EmbeddedAdvisoryStore.open(dir, { readOnly: true });
  figures['open read-only'] = `${ms(t0).toFixed(0)} ms`;
  figures['heap held by the open index (approx.)'] = `${((process.memoryUsage().heapUsed - heap0) / 1e6).toFixed(0)} MB`;
  try {
    expect(await reader.count()).toBe(N);

    // Point lookups of packages spread over the whole store: mostly cold (the record cache holds 4096–8192).
    const keys: [string, string][] = [];
    for (let i = 0; i < 20_000; i++) {
      const r = synthetic((i * 7919) % N);
      const a = r.affected[i % Math.max(1, r.affected.length)];
      if (a) keys.push([a.ecosystem, normalizePackageName(a.ecosystem, a.name)]);
    }
    let returned = 0;
    t0 = performance.now();
    for (const [eco, name] of keys) returned += (await reader.lookup(eco, name)).length;
    let t = ms(t0);
    figures['lookups, spread over the store'] = `${Math.round(keys.length / (t / 1000)).toLocaleString('en')} lookups/s (${(returned / keys.length).toFixed(1)} records each, ${Math.round(returned / (t / 1000)).toLocaleString('en')} records/s)`;

    // A scan's pattern: the same few hundred packages again and again (image after image), served from the cache.
    const hot = keys.slice(0, 300);
    t0 = performance.now();
    for (let round = 0; round < 20; round++) for (const [eco, name] of hot) await reader.lookup(eco, name);
    t = ms(t0);
    figures['lookups, 300 hot packages'] = `${Math.round((hot.length * 20) / (t / 1000)).toLocaleString('en')} lookups/s`;

    // Correctness at scale: the clones of one real record are found under their own package names only.
    const probe = synthetic(N - 1);
    const a = probe.affected[0];
    const got = await reader.lookup(a.ecosystem, normalizePackageName(a.ecosystem, a.name));
    expect(got.map((r) => r.id)).toContain(probe.id);
    expect(got.every((r) => r.affected.some((x) => x.name === a.name))).toBe(true);
  } finally {
    await reader.close();
  }

  t0 = performance.now();
  const reopened = await EmbeddedAdvisoryStore.open(dir);
  figures['open as writer (lock + index)'] = `${ms(t0).toFixed(0)} ms`;
  t0 = performance.now();
  // A re-read of the same feed: every record is equal, nothing changes, nothing is appended.
  const again = await reopened.upsertMany(feed(N));
  figures['re-upsert of the same 200k (no changes)'] = `${(ms(t0) / 1000).toFixed(2)} s`;
  await reopened.close();
  expect(again).toEqual([]);

  console.log(`advisory store at ${N.toLocaleString('en')} records\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
}, 60_000);
