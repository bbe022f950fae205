/**
 * Feed sync and matching benchmark (issue "Vulnerability matching", item 6). One command:
 * `npm run bench:feeds`.
 *
 * Feed sync: every export in ../shared/feeds/osv into a fresh embedded store, against the floor of
 * the same run — inflating and JSON-parsing every record of the same zips and doing nothing with
 * them (what any reader must pay). Then the same sync again (exports unchanged: skipped) and a forced
 * re-read (nothing changes). Matching: every package of a realistic inventory — this machine's dpkg
 * database as Debian 12 packages plus the npm, PyPI and Go packages of the corpus lock files — against
 * the full store, in packages per second, against the floor of the bare store lookups it needs and
 * against the plain (uncompiled) range evaluation of the same run (issue 16 item 4).
 * `--match-only` with TRUSTCTL_BENCH_FEEDS_STORE=<dir>: the matching part alone, against a store kept there.
 * Ratios, not absolute times, are the result: the machines are shared and noisy.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOsvZip, openFeed } from '../../lib/engine/advisories/feed';
import { normalizePackageName } from '../../lib/engine/advisories/names';
import { lookupKeys, matchPackages } from '../../lib/engine/match/matcher';
import type { Digest, Package } from '../../lib/engine/model';
import { syncFeeds } from '../../lib/engine/sync-feeds';
import { SCHEMES } from '../../lib/engine/versions/schemes';
import { parseDpkgStatus } from '../../lib/engine/catalog/dpkg';
import { EmbeddedAdvisoryStore } from '../../lib/local/advisory-store';

const FEEDS = join(__dirname, '..', '..', '..', 'shared', 'feeds', 'osv');
const LAYER = `sha256:${'0'.repeat(64)}` as Digest;
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** This machine's installed dpkg packages as a Debian 12 image would report them, plus real language packages. */
function inventory(): Package[] {
  const { entries } = parseDpkgStatus(readFileSync('/var/lib/dpkg/status', 'utf8'));
  const at = (path: string) => [{ layer: LAYER, path }];
  const deb: Package[] = entries.map((e) => ({
    ecosystem: 'Debian', name: e.name, version: e.version, purl: `pkg:deb/debian/${e.name}@${e.version}`, sourceName: e.sourceName, sourceVersion: e.sourceVersion,
    distro: 'Debian:12', locations: at('/var/lib/dpkg/status'), cataloger: { name: 'dpkg-db', version: '1' },
  }));
  const lang: Package[] = [
    ['npm', 'lodash', '4.17.11'], ['npm', 'jquery', '3.4.1'], ['npm', 'minimist', '1.2.0'], ['npm', 'ansi-regex', '3.0.0'],
    ['PyPI', 'django', '3.2.0'], ['PyPI', 'requests', '2.19.0'], ['PyPI', 'urllib3', '1.24.1'], ['PyPI', 'jinja2', '2.10'],
    ['Go', 'stdlib', 'v1.19.8'], ['Go', 'golang.org/x/net', 'v0.7.0'], ['Go', 'google.golang.org/grpc', 'v1.50.0'],
    ['crates.io', 'tokio', '1.18.0'], ['RubyGems', 'rack', '2.0.0'],
  ].map(([ecosystem, name, version]) => ({ ecosystem: ecosystem as Package['ecosystem'], name, version, purl: `pkg:generic/${name}@${version}`, locations: at('/app/lock'), cataloger: { name: 'bench', version: '1' } }));
  return [...deb, ...lang];
}

/**
 * Matching: per round, in this order, the bare store lookups (floor), the plain evaluation (ranges.ts,
 * nothing compiled: the matcher before issue 16 item 4) and the matcher as it runs (compiled ranges,
 * process-wide cache); medians of the rounds, ratios against the floor and the plain evaluation of the
 * same run. The two evaluations' outputs are compared every round: a difference fails the benchmark.
 */
async function benchMatching(storeDir: string, records: number | undefined): Promise<void> {
  const t1 = process.hrtime.bigint();
  const reader = await EmbeddedAdvisoryStore.open(storeDir, { readOnly: true });
  const openMs = ms(t1);
  const pkgs = inventory();
  // Floor: the bare lookups the matcher needs (one per distinct key), no version logic.
  const keys = new Set<string>();
  for (const p of pkgs) {
    const k = lookupKeys(p);
    if (typeof k !== 'string') for (const x of k) keys.add(`${x.ecosystem}\0${normalizePackageName(x.ecosystem, x.name)}`);
  }
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
  const lookups: number[] = [];
  const plain: number[] = [];
  const matches: number[] = [];
  let findings = 0;
  for (let i = 0; i < ROUNDS; i++) {
    let t = process.hrtime.bigint();
    for (const k of keys) {
      const [e, n] = k.split('\0');
      await reader.lookup(e, n);
    }
    lookups.push(ms(t));
    t = process.hrtime.bigint();
    const ref = await matchPackages(pkgs, reader, SCHEMES, { ranges: 'reference' });
    plain.push(ms(t));
    t = process.hrtime.bigint();
    const got = await matchPackages(pkgs, reader, SCHEMES);
    matches.push(ms(t));
    if (JSON.stringify(got) !== JSON.stringify(ref)) throw new Error(`round ${i}: compiled matching differs from the plain evaluation`);
    findings = got.findings.length;
  }
  await reader.close();
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rate = (t: number) => (pkgs.length / (t / 1000)).toFixed(0);
  console.log(`\nmatching: ${pkgs.length} packages (${keys.size} distinct lookups) against ${records ?? 'the'} records; store opened in ${openMs.toFixed(0)} ms; ${ROUNDS} rounds, medians; node ${process.version}`);
  console.log(`  store lookups only (floor)   ${med(lookups).toFixed(0).padStart(6)} ms   ${rate(med(lookups))} packages/s`);
  console.log(`  match, plain evaluation      ${med(plain).toFixed(0).padStart(6)} ms   ${rate(med(plain))} packages/s, ratio to floor ${(med(plain) / med(lookups)).toFixed(2)}`);
  console.log(`  match, compiled ranges       ${med(matches).toFixed(0).padStart(6)} ms   ${rate(med(matches))} packages/s, ratio to floor ${(med(matches) / med(lookups)).toFixed(2)}, ${(med(plain) / med(matches)).toFixed(2)}x the plain evaluation, ${findings} findings (identical every round)`);
  console.log(`  first round (cold caches): lookups ${lookups[0].toFixed(0)} ms, plain ${plain[0].toFixed(0)} ms, compiled ${matches[0].toFixed(0)} ms`);
}

async function main(): Promise<void> {
  // `--match-only`: matching against a store kept in $TRUSTCTL_BENCH_FEEDS_STORE (synced there first when
  // needed; unchanged exports are skipped), without the sync figures.
  const keep = process.env.TRUSTCTL_BENCH_FEEDS_STORE;
  if (process.argv.includes('--match-only')) {
    if (!keep) throw new Error('--match-only needs TRUSTCTL_BENCH_FEEDS_STORE (a directory for the synced store)');
    const store = await EmbeddedAdvisoryStore.open(keep);
    await syncFeeds(await openFeed(FEEDS), store);
    await store.close();
    await benchMatching(keep, undefined);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-bench-feeds-'));
  try {
    const sources = await openFeed(FEEDS);
    // Floor: inflate + parse + validate every record of the same exports, keep nothing.
    let t0 = process.hrtime.bigint();
    let records = 0;
    for (const s of sources) for await (const _r of readOsvZip(createReadStream(s.location))) records++;
    const floor = ms(t0);

    const store = await EmbeddedAdvisoryStore.open(join(dir, 'store'));
    t0 = process.hrtime.bigint();
    await syncFeeds(sources, store);
    await store.flush();
    const full = ms(t0);
    t0 = process.hrtime.bigint();
    await syncFeeds(sources, store);
    const unchanged = ms(t0);
    t0 = process.hrtime.bigint();
    const forced = await syncFeeds(sources, store, { force: true });
    await store.flush();
    const reread = ms(t0);
    await store.close();
    console.log(`feeds: ${sources.length} exports, ${records} records; node ${process.version}`);
    console.log(`  read+parse only (floor)  ${floor.toFixed(0).padStart(6)} ms`);
    console.log(`  full sync into store     ${full.toFixed(0).padStart(6)} ms   ratio to floor ${(full / floor).toFixed(2)}`);
    console.log(`  sync, exports unchanged  ${unchanged.toFixed(0).padStart(6)} ms`);
    console.log(`  forced re-read           ${reread.toFixed(0).padStart(6)} ms   (${forced.reduce((n, r) => n + r.changed.length, 0)} changed)`);

    await benchMatching(join(dir, 'store'), records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
