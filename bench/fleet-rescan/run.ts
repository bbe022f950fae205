/**
 * Fleet re-evaluation benchmark (issue "The serverless pipeline", item 6; DESIGN.md performance
 * budget "feed update → affected digests re-judged from stored inventories, cost proportional to
 * affected digests"). One command: `npm run bench:fleet` (options: `--digests N`, `--changed F`,
 * `--seed S`).
 *
 * A simulated fleet of 100,000 image digests, each a random subset of real package sets — this
 * machine's dpkg database as Debian 12 packages (the required ones in every Debian-based
 * image, the others by popularity), and real npm and PyPI names and versions (this checkout's
 * node_modules, ../shared/corpus/pkgdb) — with stored inventories, verdicts and the package → digest
 * index in a MemoryVerdictStore. A feed change then touches 1% of the distinct packages (new OSV
 * records, high severity, a fix published). Measured in the same run, with the same code
 * (lib/engine/reevaluate.ts `reevaluateDigest`):
 *   targeted — upsert, changed records → package keys → digestsForPackage → re-judge those digests;
 *   everything — re-judge every digest (what a pipeline without the index would have to do).
 * Printed: digests re-judged and time for each, the ratio, the cost per digest, and how many verdict
 * changes the targeted pass missed (must be 0). Ratios, not absolute times, are the result.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryAdvisoryStore } from '../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../lib/engine/advisories/osv';
import { parseDpkgStatus } from '../../lib/engine/catalog/dpkg';
import { parseDigest, sha256Digest, type Digest, type Package } from '../../lib/engine/model';
import { DEFAULT_POLICY } from '../../lib/engine/policy/default-policy';
import { policyHash } from '../../lib/engine/policy/schema';
import { pluginsOf } from '../../lib/engine/record-scan';
import { MatchCache, reevaluateDigest, type ReevaluateOptions } from '../../lib/engine/reevaluate';
import { advisoryPackageKeys, inventoryPackageKeys } from '../../lib/engine/verdicts/keys';
import { checkInventory } from '../../lib/engine/verdicts/codec';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import type { StoredInventory } from '../../lib/engine/verdicts/port';
import { SCHEMES } from '../../lib/engine/versions/schemes';
import { mulberry32 } from '../../test/helpers/prng';

const ROOT = join(__dirname, '..', '..');
const PKGDB = join(ROOT, '..', 'shared', 'corpus', 'pkgdb');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const DIGESTS = Math.floor(arg('digests', 100_000));
const CHANGED = arg('changed', 0.01);
const SEED = Math.floor(arg('seed', 42));
const COPY = process.argv.includes('--copy');

// Seeded, so every run builds the same fleet.
const rand = mulberry32(SEED);
const between = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const LAYER = `sha256:${'0'.repeat(64)}` as Digest;

/** A pool of packages with Zipf-like popularity (rank r has weight 1/(r+1)), sampled without replacement. */
class Pool {
  private readonly cumulative: number[] = [];
  constructor(readonly packages: readonly Package[]) {
    // A random popularity order: which packages are common is not what the source lists first.
    const order = packages.map((_, i) => i).sort(() => rand() - 0.5);
    const weights = new Array<number>(packages.length);
    order.forEach((idx, rank) => (weights[idx] = 1 / (rank + 1)));
    let sum = 0;
    for (const w of weights) this.cumulative.push((sum += w));
  }

  sample(k: number): Package[] {
    const total = this.cumulative[this.cumulative.length - 1];
    const picked = new Set<number>();
    const want = Math.min(k, this.packages.length);
    for (let guard = 0; picked.size < want && guard < want * 50; guard++) {
      const x = rand() * total;
      let lo = 0;
      let hi = this.cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.cumulative[mid] < x) lo = mid + 1;
        else hi = mid;
      }
      picked.add(lo);
    }
    return [...picked].map((i) => this.packages[i]);
  }
}

/** This machine's dpkg database as Debian 12 packages; `base` = Priority required (in every Debian-based image, as in debian:12-slim). */
function debianPackages(): { base: Package[]; others: Package[] } {
  const text = readFileSync('/var/lib/dpkg/status', 'utf8');
  const important = new Set<string>();
  for (const stanza of text.split(/\n\n+/)) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1];
    if (name && /^Priority: required$/m.test(stanza)) important.add(name);
  }
  const all: Package[] = parseDpkgStatus(text).entries.map((e) => ({
    ecosystem: 'Debian', name: e.name, version: e.version, purl: `pkg:deb/debian/${e.name}@${e.version}?distro=debian-12`,
    sourceName: e.sourceName, sourceVersion: e.sourceVersion, distro: 'Debian:12',
    locations: [{ layer: LAYER, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1' },
  }));
  return { base: all.filter((p) => important.has(p.name)), others: all.filter((p) => !important.has(p.name)) };
}

/** Real npm packages: this checkout's node_modules, plus the pkgdb corpus's npm lockfile packages. */
function npmPackages(): Package[] {
  const seen = new Map<string, Package>();
  const add = (name: string, version: string, path: string): void => {
    if (!seen.has(`${name}@${version}`)) seen.set(`${name}@${version}`, { ecosystem: 'npm', name, version, purl: `pkg:npm/${name.replace('@', '%40')}@${version}`, locations: [{ layer: LAYER, path }], cataloger: { name: 'npm', version: '1' } });
  };
  const nm = join(ROOT, 'node_modules');
  const dirs = readdirSync(nm).flatMap((d) => (d.startsWith('@') ? readdirSync(join(nm, d)).map((s) => `${d}/${s}`) : [d]));
  for (const d of dirs) {
    const f = join(nm, d, 'package.json');
    if (!existsSync(f)) continue;
    try {
      const pj = JSON.parse(readFileSync(f, 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof pj.name === 'string' && typeof pj.version === 'string') add(pj.name, pj.version, `/app/node_modules/${d}/package.json`);
    } catch {
      // a package.json that is not JSON is not a package
    }
  }
  for (const p of corpusPackages('npm')) add(p.name, p.version, '/app/package-lock.json');
  return [...seen.values()];
}

/** PyPI packages of the pkgdb corpus (names as the lock files spell them). */
function pypiPackages(): Package[] {
  return corpusPackages('pypi').map((p) => ({ ecosystem: 'PyPI', name: p.name, version: p.version, purl: `pkg:pypi/${p.name.toLowerCase()}@${p.version}`, locations: [{ layer: LAYER, path: '/app/requirements.txt' }], cataloger: { name: 'pypi', version: '1' } }));
}

function corpusPackages(ecosystem: string): { name: string; version: string }[] {
  const out = new Map<string, { name: string; version: string }>();
  const dir = join(PKGDB, ecosystem);
  for (const fixture of existsSync(dir) ? readdirSync(dir) : []) {
    const f = join(dir, fixture, 'expected.json');
    if (!existsSync(f)) continue;
    const doc = JSON.parse(readFileSync(f, 'utf8')) as { cases?: { packages?: { name?: unknown; version?: unknown }[] }[] };
    for (const c of doc.cases ?? []) for (const p of c.packages ?? []) {
      if (typeof p.name === 'string' && typeof p.version === 'string' && p.version !== '') out.set(`${p.name}@${p.version}`, { name: p.name, version: p.version });
    }
  }
  return [...out.values()];
}

/**
 * The bench's verdict store: MemoryVerdictStore (verdicts, history, package index — the code under
 * test) with inventories kept by reference instead of copied in and out. An inventory belongs to a
 * content-addressed digest and never changes, and the simulated fleet shares one Package object per
 * pool package; copying 100,000 inventories (≈ 50 KB each) would measure structuredClone and need
 * several GB, not re-evaluation. `--copy` runs the plain MemoryVerdictStore (for smaller fleets).
 */
class FleetVerdictStore extends MemoryVerdictStore {
  private readonly byRef = new Map<string, StoredInventory>();

  override async putInventory(digest: Digest, inventory: StoredInventory): Promise<void> {
    checkInventory(inventory);
    this.byRef.set(parseDigest(digest), Object.freeze(inventory));
  }

  override async getInventory(digest: Digest): Promise<StoredInventory | undefined> {
    return this.byRef.get(parseDigest(digest));
  }
}

/** An OSV record (high, CVSS 7.5, fixed in a later version) affecting the package behind `key`. */
function recordFor(key: string, example: Package, i: number): OsvRecord {
  const [ecosystem, name] = JSON.parse(key) as [string, string];
  const range = ecosystem.startsWith('Debian')
    ? { type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: `${example.sourceVersion ?? example.version}+deb12u99` }] }
    : ecosystem === 'npm'
      ? { type: 'SEMVER' as const, events: [{ introduced: '0' }, { fixed: '999999.0.0' }] }
      : { type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: '999999' }] };
  return {
    id: `BENCH-2026-${String(i).padStart(5, '0')}`, modified: '2026-11-28T00:00:00Z', published: '2026-11-01T00:00:00Z',
    aliases: [], related: [], upstream: [], summary: `simulated advisory for ${name}`,
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
    affected: [{ ecosystem, name, ranges: [range], versions: [], severity: [] }],
    references: [],
  };
}

async function main(): Promise<void> {
  const t0 = process.hrtime.bigint();
  const deb = debianPackages();
  const debPool = new Pool(deb.others);
  const npmPool = new Pool(npmPackages());
  const pypiPool = new Pool(pypiPackages());

  const store = COPY ? new MemoryVerdictStore() : new FleetVerdictStore();
  const advisories = new MemoryAdvisoryStore();
  const plugins = pluginsOf();
  const hash = policyHash(DEFAULT_POLICY);
  const exampleOf = new Map<string, Package>();
  const keysOf = new Map<Package, string[]>();
  const keysFor = (p: Package): string[] => {
    let k = keysOf.get(p);
    if (!k) {
      keysOf.set(p, (k = inventoryPackageKeys([p])));
      for (const key of k) if (!exampleOf.has(key)) exampleOf.set(key, p);
    }
    return k;
  };
  let packagesTotal = 0;
  for (let i = 0; i < DIGESTS; i++) {
    // 80% Debian-based (base + extras by popularity), 20% distroless; 70% with npm, 20% with PyPI.
    const packages: Package[] = [];
    if (rand() < 0.8) packages.push(...deb.base, ...debPool.sample(between(5, 40)));
    const app = rand();
    if (app < 0.7) packages.push(...npmPool.sample(between(5, 60)));
    else if (app < 0.9) packages.push(...pypiPool.sample(between(3, 25)));
    const digest = sha256Digest(`fleet-image-${SEED}-${i}`);
    const keySet = new Set<string>();
    for (const p of packages) for (const k of keysFor(p)) keySet.add(k);
    const keys = [...keySet];
    packagesTotal += packages.length;
    await store.putInventory(digest, { packages, unknowns: [], findings: [], layers: [] });
    await store.indexPackages(digest, keys);
    await store.put({
      digest, ref: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/fleet/app-${i % 500}@${digest}`, status: 'trusted', reasons: [],
      counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, policyHash: hash, feedRevision: '2026-11-27T00:00:00Z', plugins, evaluatedAt: '2026-11-27T01:00:00Z',
    });
  }
  const buildMs = ms(t0);
  const distinct = [...exampleOf.keys()].sort();

  // The feed change: 1% of the distinct package keys, drawn uniformly, get a new advisory.
  const shuffled = distinct.map((k) => ({ k, r: rand() })).sort((a, b) => a.r - b.r).map((x) => x.k);
  const changedKeys = shuffled.slice(0, Math.max(1, Math.round(CHANGED * distinct.length)));
  const records = changedKeys.map((k, i) => recordFor(k, exampleOf.get(k)!, i));
  const feeds = [{ source: 'osv:bench', syncedAt: '2026-11-28T00:00:00Z', modified: '2026-11-28T00:00:00Z', records: records.length }];
  // One match cache per pass (a batch judges many digests against one state of the advisories).
  const opts = (at: string, matchCache: MatchCache): ReevaluateOptions => ({ advisories: { store: advisories, schemes: SCHEMES, feeds }, plugins, policy: DEFAULT_POLICY, evaluatedAt: at, now: () => new Date(at), matchCache });

  // Targeted: what feed-sync and the rescan worker do.
  const t1 = process.hrtime.bigint();
  const changedIds = new Set(await advisories.upsert(records));
  const keys = new Set(records.filter((r) => changedIds.has(r.id)).flatMap((r) => advisoryPackageKeys(r)));
  const targeted = new Set<Digest>();
  for (const k of keys) for (const d of await store.digestsForPackage(k)) targeted.add(d);
  let turned = 0;
  const targetedCache = new MatchCache();
  for (const d of targeted) {
    const out = await reevaluateDigest(store, d, opts('2026-11-28T00:10:00Z', targetedCache));
    if (out.status === 'recorded' && out.recorded.changed) turned++;
  }
  const targetedMs = ms(t1);

  // Everything: every digest with a verdict, judged again from its inventory.
  const t2 = process.hrtime.bigint();
  const all = await store.listDigests();
  let missed = 0;
  const fullCache = new MatchCache();
  for (const d of all) {
    const out = await reevaluateDigest(store, d, opts('2026-11-28T00:20:00Z', fullCache));
    if (out.status === 'recorded' && out.recorded.changed && !targeted.has(d)) missed++;
  }
  const fullMs = ms(t2);

  const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(2)}%`;
  const rows: [string, string][] = [
    ['fleet', `${DIGESTS.toLocaleString('en')} digests, ${packagesTotal.toLocaleString('en')} packages (avg ${(packagesTotal / DIGESTS).toFixed(0)}), ${distinct.length.toLocaleString('en')} distinct package keys; built in ${(buildMs / 1000).toFixed(1)} s`],
    ['feed change', `${records.length} records touching ${keys.size} package keys (${pct(keys.size, distinct.length)} of the distinct ones)`],
    ['targeted', `${targeted.size.toLocaleString('en')} digests re-judged in ${targetedMs.toFixed(0)} ms (${((1000 * targetedMs) / Math.max(1, targeted.size)).toFixed(1)} µs/digest); ${turned.toLocaleString('en')} verdicts changed`],
    ['everything', `${all.length.toLocaleString('en')} digests re-judged in ${fullMs.toFixed(0)} ms (${((1000 * fullMs) / all.length).toFixed(1)} µs/digest)`],
    ['match cache', `packages matched once per pass: ${targetedCache.misses.toLocaleString('en')} of ${(targetedCache.hits + targetedCache.misses).toLocaleString('en')} (targeted), ${fullCache.misses.toLocaleString('en')} of ${(fullCache.hits + fullCache.misses).toLocaleString('en')} (everything)`],
    ['ratio', `targeted/everything: digests ${pct(targeted.size, all.length)}, time ${pct(targetedMs, fullMs)} (${(fullMs / Math.max(targetedMs, 1e-3)).toFixed(1)}× faster)`],
    ['missed', `${missed} verdict changes outside the targeted set (must be 0)`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(12)} ${v}`);
  if (missed > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
