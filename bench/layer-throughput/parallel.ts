/**
 * Layers in parallel (issue 16 item 1). One command: `npx tsx bench/layer-throughput/parallel.ts`
 * (and the same under the Lambda's Node: `<node24> node_modules/.bin/tsx bench/layer-throughput/parallel.ts`).
 *
 * Builds a 3-layer OCI layout from the layer-throughput layers (the ~92 MiB gzip layer of real files
 * from /usr, its zstd twin, and the same tar gzipped at level 1: three digests, ~0.8 GB unpacked) and
 * times, each in a fresh process, interleaved over BENCH_ROUNDS rounds (median):
 *   (s) `scanImage` with every check on, nothing cut, no cache, layers read one after another;
 *   (p) the same with `layerConcurrency` = the default for this machine (cores and memory);
 *   (b) Node's bare decompression of the three layers one after another (the issue's yardstick).
 * Prints (s)/(p), the speed-up, and (b)/(p), against the issue's target of 1.0, plus peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { allChecks } from '../../lib/engine/checks/checks';
import { layerConcurrency } from '../../lib/engine/layer-pool';
import { createDecompressor } from '../../lib/engine/layers/decompress';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { MediaType } from '../../lib/engine/model';
import { scanImage } from '../../lib/engine/scan-image';
import { openTarget } from '../../lib/cli/targets';
import { BENCH_DIR, ensureRealLayer } from './layers';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TSX = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
const LAYOUT = join(BENCH_DIR, 'parallel-3-layers');

const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

/** The OCI layout: blobs hard-linked from the layer-throughput layers (nothing copied). */
async function ensureLayout(): Promise<{ layers: { file: string; mediaType: string }[] }> {
  const { gz, zst, tar } = await ensureRealLayer();
  const gz1 = join(BENCH_DIR, 'real-level1.tar.gz');
  if (!existsSync(gz1)) {
    const r = spawnSync('sh', ['-c', `gzip -1 -c '${tar}' > '${gz1}.part'`]);
    if (r.status !== 0) throw new Error(`gzip failed: ${r.stderr}`);
    renameSync(`${gz1}.part`, gz1);
  }
  const layers = [
    { file: gz, mediaType: MediaType.OciLayerGzip },
    { file: zst, mediaType: MediaType.OciLayerZstd },
    { file: gz1, mediaType: MediaType.OciLayerGzip },
  ];
  if (existsSync(join(LAYOUT, 'index.json'))) return { layers };
  const blobs = join(LAYOUT, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Buffer): { digest: string; size: number } => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const diffId = `sha256:${sha256File(tar)}`;
  const descs = layers.map(({ file, mediaType }) => {
    const hex = sha256File(file);
    if (!existsSync(join(blobs, hex))) linkSync(file, join(blobs, hex));
    return { mediaType, digest: `sha256:${hex}`, size: statSync(file).size };
  });
  const config = put(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(() => diffId) }, history: layers.map(() => ({ created_by: 'bench' })),
  })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: descs,
  })));
  writeFileSync(join(LAYOUT, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(LAYOUT, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
  }));
  return { layers };
}

interface Sample {
  ms: number;
  maxRssMiB: number;
  packages?: number;
  findings?: number;
  examined?: number;
}

/** One measurement in this process: `child scan <n>` or `child decompress`. */
async function child(mode: string, arg: string | undefined): Promise<void> {
  const { layers } = await ensureLayout();
  const t0 = process.hrtime.bigint();
  const out: Record<string, number> = {};
  if (mode === 'scan') {
    const source = await openTarget(`oci:${LAYOUT}`, { limits: DEFAULT_LIMITS });
    const r = await scanImage(source, { limits: DEFAULT_LIMITS, checks: allChecks(), layerConcurrency: Number(arg) });
    await source.close?.();
    const img = r.images[0];
    out.packages = img.packages.length;
    out.findings = img.findings.length;
    out.examined = img.layers.reduce((n, l) => n + (l.coverage?.bytesExaminedInFull ?? 0), 0);
    if (img.findings.some((f) => f.type === 'unscannable' && f.id !== 'NO_VULNERABILITY_DATA')) throw new Error(`scan cut: ${JSON.stringify(img.findings)}`);
  } else {
    for (const { file, mediaType } of layers) {
      await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createDecompressor(mediaType === MediaType.OciLayerZstd ? 'zstd' : 'gzip', DEFAULT_LIMITS), new Writable({ write: (_c, _e, cb) => cb() }));
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, ...out }) + '\n');
}

function spawn(...args: string[]): Sample {
  const r = spawnSync(process.execPath, [TSX, __filename, 'child', ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Sample;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const { layers } = await ensureLayout();
  const n = layerConcurrency(DEFAULT_LIMITS);
  console.log(`layers in parallel: node ${process.version} (children: ${spawnSync(process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim()}), ${availableParallelism()} cores, ${ROUNDS} rounds, median; ${layers.length} layers (${layers.map((l) => `${(statSync(l.file).size / 1048576).toFixed(0)} MiB`).join(', ')}); parallel = ${n} at once`);
  const runs: Record<string, () => Sample> = {
    'scan, 1 at a time (s)': () => spawn('scan', '1'),
    [`scan, ${n} at a time (p)`]: () => spawn('scan', String(n)),
    'bare decompress (b)': () => spawn('decompress'),
  };
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let i = 0; i < ROUNDS; i++) for (const [k, run] of Object.entries(runs)) samples[k].push(run());
  const med: Record<string, Sample> = {};
  for (const [k, s] of Object.entries(samples)) {
    med[k] = { ...s[0], ms: median(s.map((x) => x.ms)), maxRssMiB: Math.max(...s.map((x) => x.maxRssMiB)) };
    const x = med[k];
    console.log(`  ${k.padEnd(24)} ${x.ms.toFixed(0).padStart(6)} ms   peak RSS ${x.maxRssMiB.toFixed(0)} MiB${x.packages !== undefined ? `   ${x.packages} packages, ${x.findings} findings, ${((x.examined ?? 0) / 1048576).toFixed(0)} MiB examined in full` : ''}   [${s.map((y) => y.ms.toFixed(0)).join(', ')}]`);
  }
  const [s, p, b] = Object.values(med);
  if (s.examined !== p.examined || s.packages !== p.packages || s.findings !== p.findings) throw new Error('the parallel scan examined or found something else than the sequential one');
  console.log(`  (s)/(p) = ${(s.ms / p.ms).toFixed(2)}   speed-up of reading layers in parallel`);
  console.log(`  (b)/(s) = ${(b.ms / s.ms).toFixed(2)}   (b)/(p) = ${(b.ms / p.ms).toFixed(2)}   issue 16 target: >= 1.0 (scan no slower than sequential bare decompression)`);
}

if (process.argv[2] === 'child') {
  child(process.argv[3], process.argv[4]).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
