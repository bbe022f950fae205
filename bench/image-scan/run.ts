/**
 * Whole-image bench (issue 16, item 6). One command: `npm run bench:image`.
 *
 * Builds (once, cached: ./image.ts) a realistic three-layer image from this machine's real files — OS,
 * Python/Node/Java application, big binaries; ~1.3 GB of file bodies by default — as an OCI layout with
 * a gzip and a zstd flavour, then, in one run, each measurement in a fresh child process under
 * `/usr/bin/time -v` (wall time and peak RSS), interleaved rounds, median:
 *   (a) `trustctl scan --no-cache` of the image with every check on (malware with the built-in
 *       signatures, secrets, misconfiguration; every cataloger) and nothing cut (every limit raised
 *       above what the image holds), matched against the OSV exports of ../shared/feeds; the scan's
 *       coverage must show every regular-file byte examined, else the bench fails;
 *   (b) Node's bare decoder over the same layers one after another (./decode.ts);
 *   (c) `tar -tzf` (`tar --zstd -tf`) of each layer one after another;
 * and prints (a)/(b) — the issue's "≤ 1.0× sequential gunzip" is (a)/(b) ≤ 1 — and (c)/(a), and what
 * (a)'s peak RSS is made of (V8 heap, ArrayBuffers, other native memory: ./mem-probe.cjs). Then the
 * single-layer walk figures of bench/layer-throughput (layer walk vs bare gunzip and vs `tar -tzf`), run
 * on the same Node.
 *
 * Options (or env):
 *   --node <20|24|path>  (BENCH_NODE)   the Node of the measured child processes: `24` is the Lambdas'
 *                                       (lib/local/builder/lambda-node.ts, fetched from the npm registry
 *                                       when missing); default the Node running this script
 *   --mb <n>             (BENCH_IMAGE_MB) MiB of file bodies in the image (default 1240 = 1.3 GB, the issue's
 *                                       reference image; e.g. 100 for a quick run)
 *   --rounds <n>         (BENCH_ROUNDS)  rounds per measurement (default 3)
 *   --feeds <list|none>  OSV ecosystems of ../shared/feeds/osv to match against (default Debian,PyPI,npm,Go)
 *   --no-zstd, --no-layer                skip the zstd flavour / the single-layer figures
 *   --workers                            also measure (a) with `--workers` (layers on worker threads:
 *                                       lib/engine/layer-worker), row (a+w), same coverage check
 *   --node-options <flags>               NODE_OPTIONS for the scans (a) and (a+w); default
 *                                       `--max-semi-space-size=16`, what the Lambdas and the image set
 *   --tsx                                run trustctl and the decoder through tsx instead of esbuild bundles
 *                                       (by default both are bundled once per run, as the image and the
 *                                       Lambdas ship the CLI, so no child pays for transpiling TypeScript)
 *   --json <file>                        also write every figure as JSON
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';
import { lambdaNode, withNodeFirstOnPath } from '../../lib/local/builder/lambda-node';
import { bundleTrustctl } from '../../lib/local/builder/serve-image';
import { benchImageCache, ensureBenchImage, imageRecipe, layerFiles, totalSize, type BenchImage } from './image';

const REPO = join(__dirname, '..', '..');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const { values: args } = parseArgs({
  options: {
    node: { type: 'string' },
    mb: { type: 'string' },
    rounds: { type: 'string' },
    feeds: { type: 'string' },
    'no-zstd': { type: 'boolean' },
    'no-layer': { type: 'boolean' },
    workers: { type: 'boolean' },
    'node-options': { type: 'string' },
    tsx: { type: 'boolean' },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds ?? process.env.BENCH_ROUNDS ?? 3);
const IMAGE_MB = Number(args.mb ?? process.env.BENCH_IMAGE_MB ?? 1240);
const FEEDS = (args.feeds ?? 'Debian,PyPI,npm,Go').split(',').filter((f) => f !== '' && f !== 'none');

/**
 * Limits raised so that no cap or budget skips work on this image (lib/engine/limits.ts): a cataloger
 * may capture any file whole, any layer and the whole image fit, any number of entries. A scan that
 * still leaves a byte unexamined fails the bench (see {@link checkCoverage}).
 */
const NOTHING_CUT: Record<string, number> = {
  // Above every file of the image (its largest is ~680 MB): a cataloger may capture any file whole. Not
  // higher: layerConcurrency (lib/engine/layer-pool.ts) budgets memory per layer in flight by this cap,
  // so 8 GiB would read one layer at a time on a 24 GB machine. checkCoverage proves nothing was cut.
  maxCatalogFileBytes: 1 * GiB,
  maxLayerBytes: 64 * GiB,
  maxImageBytes: 256 * GiB,
  maxBlobBytes: 64 * GiB,
  maxEntries: 10_000_000,
};

/** What ./mem-probe.cjs writes (MiB). */
interface MemProbe {
  atPeak: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; t: number };
  spacesAtExit: Record<string, number>;
  maxRssMiB: number;
}

/** One child process: wall time, peak RSS (GNU time), and its stdout. */
interface Run {
  ms: number;
  rssMiB: number;
  stdout: string;
}

/** Runs `cmd args` under `/usr/bin/time -v`; throws on a non-zero exit unless `okCodes` has it. */
function timed(cmd: string, argv: readonly string[], env: NodeJS.ProcessEnv, okCodes: readonly number[] = [0]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', cmd, ...argv], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const stderr = Buffer.concat(err).toString('utf8');
      const code = Number(/Exit status: (\d+)/.exec(stderr)?.[1] ?? -1);
      if (!okCodes.includes(code)) {
        reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}\n${stderr.slice(-3000)}`));
        return;
      }
      resolve({ ms, rssMiB: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1024, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** The Node of the measured children. */
async function measuredNode(): Promise<{ binary: string; version: string }> {
  const spec = args.node ?? process.env.BENCH_NODE;
  if (spec === '24') {
    const n = await lambdaNode();
    return { binary: n.binary, version: `v${n.version}` };
  }
  // A bare major other than 24 means the Node running this script, and only if it is that major.
  if (spec !== undefined && /^\d+$/.test(spec) && spec !== process.versions.node.split('.')[0]) {
    throw new Error(`--node ${spec}: this script runs on Node ${process.version}; give 24 (the Lambdas' Node) or the path of a node binary`);
  }
  const binary = spec === undefined || /^\d+$/.test(spec) ? process.execPath : spec;
  const v = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) throw new Error(`${binary} --version failed: ${v.stderr || v.error?.message}`);
  return { binary, version: v.stdout.trim() };
}

/** The advisory store the scans match against: the OSV exports named, synced once (cached by their names, sizes and mtimes). */
async function advisoryStore(cache: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (FEEDS.length === 0) return undefined;
  const osv = join(REPO, '..', 'shared', 'feeds', 'osv');
  const zips = FEEDS.map((f) => join(osv, f, 'all.zip'));
  const key = createHash('sha256').update(JSON.stringify(zips.map((z) => [z, statSync(z).size, statSync(z).mtimeMs]))).digest('hex').slice(0, 16);
  const dir = join(cache, `advisories-${key}`);
  if (existsSync(dir)) return dir;
  process.stderr.write(`syncing ${FEEDS.join(', ')} from ${osv} into ${dir}…\n`);
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'bin', 'trustctl.ts'), 'feeds', 'sync', ...zips.flatMap((z) => ['--feed', dirname(z)]), '--data-dir', tmp], {
    cwd: REPO, env, stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`feeds sync failed (exit ${r.status})`);
  renameSync(tmp, dir);
  return dir;
}

/** What the scan's JSON report says about completeness. */
interface ScanFacts {
  verdict: string;
  packages: number;
  findings: number;
  regularFiles: number;
  regularFileBytes: number;
  filesExaminedInFull: number;
  bytesExaminedInFull: number;
  unknownsByClass: Record<string, number>;
  /** Bytes of bodies the catalogers captured whole (coverage.consumers.catalogers). */
  catalogerBytes?: number;
}

function scanFacts(stdout: string): ScanFacts {
  const r = JSON.parse(stdout) as {
    verdict: { status: string };
    packages: unknown[];
    findings: unknown[];
    coverage?: {
      regularFiles: number; regularFileBytes: number; filesExaminedInFull: number; bytesExaminedInFull: number; unknowns: Record<string, number>;
      consumers?: Record<string, { bytes: number }>;
    };
  };
  if (!r.coverage) throw new Error('the scan report has no coverage');
  const c = r.coverage;
  return {
    verdict: r.verdict.status, packages: r.packages.length, findings: r.findings.length,
    regularFiles: c.regularFiles, regularFileBytes: c.regularFileBytes, filesExaminedInFull: c.filesExaminedInFull, bytesExaminedInFull: c.bytesExaminedInFull,
    unknownsByClass: Object.fromEntries(Object.entries(c.unknowns).filter(([, n]) => n > 0)),
    catalogerBytes: c.consumers?.catalogers?.bytes,
  };
}

/** Fails unless every regular-file byte went through the content checks and nothing was cut by a cap. */
function checkCoverage(f: ScanFacts, image: BenchImage): void {
  const want = image.layers.reduce((n, l) => n + l.regularFileBytes, 0);
  const problems: string[] = [];
  if (f.bytesExaminedInFull !== f.regularFileBytes || f.filesExaminedInFull !== f.regularFiles) {
    problems.push(`examined ${f.filesExaminedInFull} files / ${f.bytesExaminedInFull} bytes of ${f.regularFiles} / ${f.regularFileBytes}`);
  }
  if (f.regularFileBytes !== want) problems.push(`the scan saw ${f.regularFileBytes} regular-file bytes, the image holds ${want}`);
  if (f.unknownsByClass['cut-by-cap']) problems.push(`${f.unknownsByClass['cut-by-cap']} unknowns cut by a cap`);
  if (problems.length > 0) throw new Error(`the scan examined less than the whole image: ${problems.join('; ')}`);
}

interface Row {
  label: string;
  ms: number;
  rssMiB: number;
  runs: number[];
}

async function measure(title: string, runs: Record<string, () => Promise<Run>>, onFirst: Record<string, (r: Run) => void> = {}): Promise<Record<string, Row>> {
  const samples: Record<string, Run[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const [k, run] of Object.entries(runs)) {
      const r = await run();
      process.stderr.write(`  [round ${i + 1}/${ROUNDS}] ${k}: ${sec(r.ms)}\n`);
      if (i === 0) onFirst[k]?.(r);
      samples[k].push(r);
    }
  }
  const rows: Record<string, Row> = {};
  process.stdout.write(`\n${title}\n`);
  for (const [k, s] of Object.entries(samples)) {
    rows[k] = { label: k, ms: median(s.map((x) => x.ms)), rssMiB: Math.max(...s.map((x) => x.rssMiB)), runs: s.map((x) => Math.round(x.ms)) };
    process.stdout.write(`  ${k.padEnd(34)} ${sec(rows[k].ms).padStart(9)}   peak RSS ${rows[k].rssMiB.toFixed(0).padStart(5)} MiB   (rounds: ${rows[k].runs.map((m) => sec(m)).join(', ')})\n`);
  }
  return rows;
}

async function main(): Promise<void> {
  const node = await measuredNode();
  const cache = benchImageCache();
  const debianRoot = spawnSync('bash', [join(REPO, 'scripts', 'debian-root.sh'), '--path'], { encoding: 'utf8' }).stdout.trim();
  const haveDebianRoot = debianRoot !== '' && existsSync(join(debianRoot, 'usr'));
  const recipe = imageRecipe({ totalBytes: IMAGE_MB * MiB, checkout: REPO, ...(haveDebianRoot ? { debianRoot } : {}) });
  const image = await ensureBenchImage(recipe, cache, (s) => process.stderr.write(s));
  const env = withNodeFirstOnPath(dirname(node.binary), { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const adv = await advisoryStore(cache, { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const gz = layerFiles(image, 'gzip');
  const zst = layerFiles(image, 'zstd');
  process.stdout.write(`image-scan: ${ROUNDS} rounds, median; measured on node ${node.version} (${node.binary}); ${new Date().toISOString().slice(0, 10)}\n`);
  process.stdout.write(`image ${image.dir} (${image.buildSeconds ? `built in ${image.buildSeconds.toFixed(0)} s` : 'from the cache'}):\n`);
  for (const l of image.layers) {
    process.stdout.write(`  ${l.createdBy}\n    ${l.regularFiles} files, ${(l.regularFileBytes / MiB).toFixed(0)} MiB of bodies, ${(l.tarBytes / MiB).toFixed(0)} MiB tar, ${(l.gzip.size / MiB).toFixed(0)} MiB gzip, ${(l.zstd.size / MiB).toFixed(0)} MiB zstd\n`);
  }
  const files = image.layers.reduce((n, l) => n + l.regularFiles, 0);
  const tarMiB = image.layers.reduce((n, l) => n + l.tarBytes, 0) / MiB;
  process.stdout.write(`  total: ${image.layers.length} layers, ${files} files, ${tarMiB.toFixed(0)} MiB unpacked, ${(totalSize(gz) / MiB).toFixed(0)} MiB gzip, ${(totalSize(zst) / MiB).toFixed(0)} MiB zstd\n`);

  const bundles = mkdtempSync(join(tmpdir(), 'trustctl-bench-image-'));
  try {
    await measureAll(node, image, env, adv, cache, bundles);
  } finally {
    rmSync(bundles, { recursive: true, force: true });
  }
}

/** The programs the children run: esbuild bundles of bin/trustctl.ts and ./decode.ts (or, with --tsx, the sources through tsx). */
function programs(bundles: string): { trustctl: string[]; decode: string[] } {
  if (args.tsx) return { trustctl: ['--import', 'tsx', join(REPO, 'bin', 'trustctl.ts')], decode: ['--import', 'tsx', join(__dirname, 'decode.ts')] };
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const trustctl = join(bundles, 'trustctl.js');
  bundleTrustctl(REPO, trustctl, version);
  const decode = join(bundles, 'decode.js');
  buildSync({ entryPoints: [join(__dirname, 'decode.ts')], outfile: decode, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
  return { trustctl: [trustctl], decode: [decode] };
}

async function measureAll(node: { binary: string; version: string }, image: BenchImage, env: NodeJS.ProcessEnv, adv: string | undefined, cache: string, bundles: string): Promise<void> {
  const gz = layerFiles(image, 'gzip');
  const zst = layerFiles(image, 'zstd');
  const prog = programs(bundles);
  const trustctl = [node.binary, ...prog.trustctl];
  // The scan runs with the Node flags the image and the Lambdas set (LAMBDA_NODE_OPTIONS in lib/infra, the
  // serve image's Env) unless told otherwise (`--node-options ''`: V8's defaults).
  const nodeOptions = args['node-options'] ?? '--max-semi-space-size=16';
  const scanEnv = nodeOptions ? { ...env, NODE_OPTIONS: nodeOptions } : env;
  process.stdout.write(`scans run with NODE_OPTIONS=${JSON.stringify(nodeOptions)}\n`);
  const scanArgs = (target: string): string[] => [
    ...trustctl.slice(1), 'scan', target, '--format', 'json', '--no-cache', '--no-record', '--no-progress', '--timeout', '2h',
    ...(adv ? ['--data-dir', adv] : ['--data-dir', join(cache, 'no-advisories')]),
    ...Object.entries(NOTHING_CUT).flatMap(([k, v]) => ['--limit', `${k}=${v}`]),
  ];
  process.stdout.write(`(a) = ${node.binary} ${scanArgs(image.targets.gzip).join(' ')}\n    (exit 0 or 1: a quarantine verdict is a result, not a failure)\n`);
  const startup = await measure('CLI start-up alone (trustctl --version, included in every (a))', { 'trustctl --version': () => timed(node.binary, [...trustctl.slice(1), '--version'], env) });

  const results: Record<string, unknown> = { node: node.version, date: new Date().toISOString(), image: { dir: image.dir, layers: image.layers }, startup };
  const flavours: { name: 'gzip' | 'zstd'; files: string[]; target: string; decode: string; tar: string }[] = [
    { name: 'gzip', files: gz, target: image.targets.gzip, decode: 'gunzip', tar: 'tar -tzf' },
    ...(args['no-zstd'] ? [] : [{ name: 'zstd' as const, files: zst, target: image.targets.zstd, decode: 'unzstd', tar: 'tar --zstd -tf' }]),
  ];
  for (const f of flavours) {
    let facts: ScanFacts | undefined;
    let decoder = '';
    const memory: MemProbe[] = [];
    const rows = await measure(`${f.name} layers (${(totalSize(f.files) / MiB).toFixed(0)} MiB)`, {
      '(a) trustctl scan, all checks': async () => {
        // With the memory probe: what the peak RSS is made of (./mem-probe.cjs).
        const probe = join(tmpdir(), `trustctl-mem-probe-${process.pid}.json`);
        const r = await timed(node.binary, ['--require', join(__dirname, 'mem-probe.cjs'), ...scanArgs(f.target)], { ...scanEnv, TRUSTCTL_MEM_PROBE: probe }, [0, 1]);
        memory.push(JSON.parse(readFileSync(probe, 'utf8')) as MemProbe);
        rmSync(probe, { force: true });
        return r;
      },
      ...(args.workers ? { '(a+w) trustctl scan --workers': () => timed(node.binary, [...scanArgs(f.target), '--workers'], scanEnv, [0, 1]) } : {}),
      [`(b) bare ${f.decode}, sequential`]: () => timed(node.binary, [...prog.decode, f.decode, ...f.files], env),
      [`(c) ${f.tar}, sequential`]: () => timed('bash', ['-c', `for f; do ${f.tar} "$f" >/dev/null || exit 1; done`, '_', ...f.files], env),
    }, {
      '(a) trustctl scan, all checks': (r) => {
        facts = scanFacts(r.stdout);
        checkCoverage(facts, image);
      },
      '(a+w) trustctl scan --workers': (r) => {
        const w = scanFacts(r.stdout);
        checkCoverage(w, image);
        // The same scan on worker threads: the same answer (test/engine/scan-image-workers proves it on small images).
        if (facts && (w.packages !== facts.packages || w.findings !== facts.findings || w.verdict !== facts.verdict)) throw new Error(`--workers gave ${w.packages} packages, ${w.findings} findings, ${w.verdict}; the main thread ${facts.packages}, ${facts.findings}, ${facts.verdict}`);
      },
      [`(b) bare ${f.decode}, sequential`]: (r) => {
        decoder = (JSON.parse(r.stdout.trim()) as { decoder: string }).decoder;
      },
    });
    const a = rows['(a) trustctl scan, all checks'];
    const aw = rows['(a+w) trustctl scan --workers'] as Row | undefined;
    const [b, c] = Object.entries(rows).filter(([k]) => !k.startsWith('(a')).map(([, v]) => v);
    process.stdout.write(`  decoder (b): ${decoder}\n`);
    process.stdout.write(`  scan: verdict ${facts!.verdict}, ${facts!.packages} packages, ${facts!.findings} findings; coverage: ${facts!.filesExaminedInFull}/${facts!.regularFiles} files, ` +
      `${(facts!.bytesExaminedInFull / MiB).toFixed(0)}/${(facts!.regularFileBytes / MiB).toFixed(0)} MiB examined in full; unknowns ${JSON.stringify(facts!.unknownsByClass)}\n`);
    process.stdout.write(`  (a)/(b) = ${(a.ms / b.ms).toFixed(2)}   target <= 1.0 (scan no slower than a sequential bare ${f.decode})\n`);
    process.stdout.write(`  (c)/(a) = ${(c.ms / a.ms).toFixed(2)}   (tar's time over the scan's)\n`);
    process.stdout.write(`  (a) without start-up = ${sec(a.ms - startup['trustctl --version'].ms)}: (a)/(b) = ${((a.ms - startup['trustctl --version'].ms) / b.ms).toFixed(2)}\n`);
    if (aw) process.stdout.write(`  (a+w)/(b) = ${(aw.ms / b.ms).toFixed(2)}   (a+w)/(a) = ${(aw.ms / a.ms).toFixed(2)}   peak RSS (a+w) = ${aw.rssMiB.toFixed(0)} MiB\n`);
    process.stdout.write(`  peak RSS (a) = ${a.rssMiB.toFixed(0)} MiB   target <= 512\n`);
    // The round with the highest peak: what its RSS was made of at the sampled peak.
    const m = memory.reduce((x, y) => (y.atPeak.rss > x.atPeak.rss ? y : x));
    const p = m.atPeak;
    process.stdout.write(`  at the sampled peak (${p.rss} MiB, ${p.t} s in): V8 heap ${p.heapTotal} MiB (${p.heapUsed} used; young generation ${m.spacesAtExit.new_space ?? '?'} MiB at exit), ` +
      `ArrayBuffers ${p.arrayBuffers} MiB (captured bodies: catalogers ${((facts!.catalogerBytes ?? 0) / MiB).toFixed(0)} MiB; zlib chunks), other native ${p.rss - p.heapTotal - p.arrayBuffers} MiB\n`);
    results[f.name] = { rows, facts, decoder, memory, aOverB: a.ms / b.ms, cOverA: c.ms / a.ms, ...(aw ? { awOverB: aw.ms / b.ms, awOverA: aw.ms / a.ms } : {}) };
  }

  if (!args['no-layer']) {
    // The single-layer walk (Done-when: layer walk >= 0.9x bare gunzip, >= 2x tar -tzf): bench/layer-throughput
    // on the same Node — it spawns its workers with the Node that runs it.
    process.stdout.write(`\nsingle layer: bench/layer-throughput on node ${node.version} (BENCH_SKIP_BIG=1, ${ROUNDS} rounds)\n`);
    const r = spawnSync(node.binary, ['--import', 'tsx', join(REPO, 'bench', 'layer-throughput', 'run.ts')], {
      cwd: REPO, env: { ...env, BENCH_SKIP_BIG: '1', BENCH_ROUNDS: String(ROUNDS) }, stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`bench/layer-throughput failed (exit ${r.status})`);
  }
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  }
  // Old partial builds of a crashed run are not reused; say where they are rather than guess they are dead.
  const stale = readdirSync(cache).filter((n) => n.includes('.partial-'));
  if (stale.length > 0) process.stderr.write(`note: partial builds left in ${cache}: ${stale.join(', ')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:image failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
