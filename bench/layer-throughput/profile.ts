/**
 * Where the layer walk's main-thread time goes. One command:
 *   `<node> node_modules/.bin/tsx bench/layer-throughput/profile.ts [reader|checks] [gzip|zstd] [out.cpuprofile]`
 * Reads the bench layer (./layers.ts) once as worker.ts does, with V8's sampling profiler on around
 * the walk only (start-up and module loading excluded), writes the .cpuprofile (open it in Chrome
 * DevTools) and prints self time by category — zlib callbacks and streams, sha256 of the diff_id,
 * the tar parser, the runtime model, the reader, the catalogers' `wants` predicates, the checks, GC —
 * and `(idle)`: time this thread waited, for inflate on the threadpool or for a core.
 */
import { writeFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg } from 'node:os';
import { CATALOGERS } from '../../lib/engine/catalog/catalogers';
import { allChecks } from '../../lib/engine/checks/checks';
import { readLayer } from '../../lib/engine/layers/layer-reader';
import { resolveLimits } from '../../lib/engine/limits';
import { type Digest, MediaType } from '../../lib/engine/model';
import { captureRules, openFileChecks } from '../../lib/engine/scan-image';
import { ensureRealLayer } from './layers';

/** The parts of a V8 .cpuprofile this reads. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
/** A V8 .cpuprofile (Profiler.stop). */
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First matching rule names the category of a frame (by function name and script). */
const CATEGORIES: [string, (fn: string, url: string) => boolean][] = [
  ['idle (waiting for inflate or a core)', (fn) => fn === '(idle)'],
  ['garbage collector', (fn) => fn === '(garbage collector)'],
  ['sha256 (diff_id)', (fn, url) => fn === 'update' && (url === '' || url.includes('crypto'))],
  // Node 20 shows Profiler.stop as a native `dispatch` under inspector's post.
  ['profiler itself (stopping it)', (fn, url) => url.includes('inspector') || (url === '' && fn === 'dispatch')],
  // Native zlib write and fs read queue work on the threadpool; their self time grows when waking a
  // threadpool thread hands it this thread's core (a context switch under load).
  ['zlib callbacks, output buffers, threadpool hand-offs (native write, read)', (fn, url) => url.includes('zlib') || (url === '' && (fn === 'write' || fn === 'read')) || fn === 'createUnsafeBuffer' || (url.includes('buffer') && fn.startsWith('alloc'))],
  ['streams, events, ticks', (_f, url) => /internal\/(streams|process|async_hooks|fs)|node:events|events/.test(url)],
  ['tar parser (tar.ts, tar-header.ts)', (_f, url) => /layers\/tar(-header)?\.ts/.test(url)],
  ['runtime model (runtime-model.ts)', (_f, url) => url.includes('layers/runtime-model.ts')],
  ['paths (paths.ts)', (_f, url) => url.includes('layers/paths.ts')],
  ['layer reader (layer-reader.ts, decompress.ts)', (_f, url) => /layers\/(layer-reader|decompress)\.ts/.test(url)],
  ['catalogers\' wants predicates', (fn, url) => url.includes('engine/catalog/') || url.includes('layer-throughput') || fn.startsWith('RegExp:')],
  ['content checks', (_f, url) => url.includes('engine/checks/') || url.includes('scan-image')],
];

/** Self time (ms) of a profile's samples by {@link CATEGORIES}, largest first; `other` for the rest. */
export function summarise(p: Profile): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const total = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const { functionName: fn, url } = byId.get(p.samples[i])!.callFrame;
    const cat = CATEGORIES.find(([, m]) => m(fn, url))?.[0] ?? 'other';
    total.set(cat, (total.get(cat) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return [...total].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const [mode = 'reader', compression = 'gzip', out = `walk-${process.version}.cpuprofile`] = process.argv.slice(2);
  const { gz, zst } = await ensureRealLayer();
  const file = compression === 'zstd' ? zst : gz;
  const mediaType = compression === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerGzip;
  const limits = resolveLimits({ maxLayerBytes: 64 * 1024 ** 3, maxEntries: 10_000_000 });
  const layerDigest = `sha256:${'0'.repeat(64)}` as Digest;
  const checks = mode === 'checks' ? allChecks() : [];
  const runs = openFileChecks(layerDigest, checks);

  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object): Promise<T> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await readLayer(createReadStream(file, { highWaterMark: 1 << 20 }), {
    layerDigest, mediaType, limits,
    ...(mode === 'checks' ? { ...captureRules(CATALOGERS, checks), consumers: runs.consumers } : { wants: (p: string) => CATALOGERS.some((c) => c.wants(p)) }),
  });
  await runs.finish();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const { profile } = await post<{ profile: Profile }>('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  console.log(`${mode} walk of the ${compression} bench layer on node ${process.version}: ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU (all threads); load average ${loadavg()[0].toFixed(1)}; profile ${out}`);
  console.log('main-thread self time by category:');
  const rows = summarise(profile);
  const sum = rows.reduce((n, [, v]) => n + v, 0);
  for (const [k, v] of rows) console.log(`  ${v.toFixed(0).padStart(6)} ms ${((100 * v) / sum).toFixed(1).padStart(5)}%  ${k}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
