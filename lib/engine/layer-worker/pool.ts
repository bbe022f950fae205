import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type { Limits } from '../limits';
import type { ResolvedImage } from '../registry/resolve';
import type { ImageSource } from '../registry/source';
import { serveLayerJobs, type FromWorker, type LayerJob, type ToWorker } from './serve';
import { reviveFresh, toWire, fromWire, type FreshLayer, type LayerWorkerSpec } from './wire';

/**
 * Layer workers (issue 16 items 1–2): each layer of a scan is read on a worker thread — tar walk,
 * digests, the streaming malware and secrets checks, catalogers — so layers read at once use as
 * many cores. The main thread keeps what must stay with the caller: it opens the blob (the source
 * verifies digest and size) and forwards its compressed bytes with backpressure, and it takes the
 * worker's answer only when the blob ended without error; a blob error is thrown as that very error.
 *
 * The worker runs the code this module is part of: the bundle it was built into (the CLI's, a
 * Lambda's) or the compiled module, re-entered in the worker — the hook at the end of this file
 * serves jobs there. From TypeScript sources (jest, tsx) it is bundled once per process with esbuild.
 * When no worker can start, layers are read on the main thread: the same results.
 */

/** The mark a layer worker's `workerData` carries. */
const MARK = 'trustctlLayerWorker';

/** True in a layer worker thread: an entry point (bin/trustctl.ts) must then not run its own main. */
export function isLayerWorkerThread(): boolean {
  return !isMainThread && (workerData as Record<string, unknown> | undefined)?.[MARK] === true;
}

/** Chunks sent and not yet acknowledged per blob stream: enough to keep the worker fed, no more. */
const WINDOW = 8;

/** Thrown (never outside this module's caller) when no worker could start: read the layer on the main thread. */
export class LayerWorkersUnavailable extends Error {}

/** One job: the blob source (already guarded by the scan's signal) and what the worker needs. */
export interface LayerWorkerJob {
  readonly source: ImageSource;
  readonly image: ResolvedImage;
  readonly index: number;
  readonly limits: Limits;
  readonly spec: LayerWorkerSpec;
}

/** A worker's answer and its checks' fingerprint (./wire.ts layerReadFingerprint). */
export interface LayerWorkerAnswer {
  readonly fingerprint: string;
  readonly value: FreshLayer;
}

/**
 * A few worker threads reused across layers and scans. Idle workers are unref'd (a CLI exits, jest
 * does not wait for them); a worker that crashed, ran out of memory or was aborted is dropped and a
 * new one started for the next job.
 */
export class LayerWorkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker | Error) => void)[] = [];
  private live = 0;
  private readonly gone = new WeakSet<Worker>();
  private broken?: Error;
  /** Layers answered by a worker so far (tests: that a scan did use the workers). */
  answered = 0;

  constructor(
    /** Workers at most ({@link grow} raises it). */
    public size: number,
    private readonly script: () => string | undefined,
    private readonly resourceLimits?: { readonly maxOldGenerationSizeMb: number },
  ) {}

  /** Reads one layer on a worker. Rejects with {@link LayerWorkersUnavailable} when none can start (nothing was read then). */
  async read(job: LayerWorkerJob, signal: AbortSignal): Promise<LayerWorkerAnswer> {
    signal.throwIfAborted();
    const worker = await this.take();
    let healthy = false;
    try {
      const answer = await runOn(worker, job, signal);
      healthy = true;
      this.answered++;
      return answer;
    } finally {
      this.give(worker, healthy);
    }
  }

  /** Allows up to `size` workers (never fewer than before). */
  grow(size: number): void {
    this.size = Math.max(this.size, size);
  }

  /** Ends every worker; the pool starts new ones if used again. */
  async close(): Promise<void> {
    await Promise.all([...this.idle].map((w) => this.forget(w)));
  }

  /** Takes a worker out of the pool for good (once, however many times it is told: error, exit, a failed job). */
  private forget(w: Worker): Promise<unknown> {
    if (this.gone.has(w)) return Promise.resolve();
    this.gone.add(w);
    this.live--;
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    return w.terminate();
  }

  private async take(): Promise<Worker> {
    if (this.broken) throw this.broken;
    const w = this.idle.pop();
    if (w) return w;
    if (this.live < this.size) {
      this.live++;
      try {
        return await this.start();
      } catch (e) {
        this.live--;
        this.broken = e instanceof LayerWorkersUnavailable ? e : new LayerWorkersUnavailable(`layer workers cannot start: ${(e as Error).message}`);
        for (const wait of this.waiting.splice(0)) wait(this.broken);
        throw this.broken;
      }
    }
    const got = await new Promise<Worker | Error>((resolve) => this.waiting.push(resolve));
    if (got instanceof Error) throw got;
    return got;
  }

  private give(w: Worker, healthy: boolean): void {
    if (!healthy || this.gone.has(w)) {
      void this.forget(w);
      // Someone waits for a worker: start a fresh one for them.
      const wait = this.waiting.shift();
      if (wait) {
        this.live++;
        this.start().then(wait, (e: unknown) => {
          this.live--;
          wait(e as Error);
        });
      }
      return;
    }
    w.unref();
    const wait = this.waiting.shift();
    if (wait) wait(w);
    else this.idle.push(w);
  }

  /** A new worker, once it said it is ready (a script that does not serve jobs never is: unavailable). */
  private start(): Promise<Worker> {
    const script = this.script();
    if (!script) return Promise.reject(new LayerWorkersUnavailable('no layer worker script'));
    return new Promise<Worker>((resolve, reject) => {
      let w: Worker;
      try {
        w = new Worker(script, { workerData: { [MARK]: true }, ...(this.resourceLimits ? { resourceLimits: this.resourceLimits } : {}), stdout: false, stderr: false });
      } catch (e) {
        reject(new LayerWorkersUnavailable(`layer worker ${script}: ${(e as Error).message}`));
        return;
      }
      const fail = (why: string): void => {
        w.removeAllListeners();
        void w.terminate();
        reject(new LayerWorkersUnavailable(`layer worker ${script} did not start: ${why}`));
      };
      w.once('message', (m: { t?: string }) => {
        if (m?.t !== 'ready') return fail(`unexpected first message ${JSON.stringify(m)}`);
        w.removeAllListeners();
        // An idle worker that dies (a stray error after its last job) leaves the pool; never an unhandled 'error' here.
        w.on('error', () => void this.forget(w));
        w.on('exit', () => void this.forget(w));
        w.unref();
        resolve(w);
      });
      w.once('error', (e) => fail(e.message));
      w.once('exit', (code) => fail(`exit ${code}`));
    });
  }
}

/**
 * One layer on one worker. The blob is opened here for each pass the worker asks for (the first, and
 * the hardlink targets' second) and streamed in copies (never a view of the source's buffers, which
 * a transfer would take away from it). Settles once the worker answered, failed or died, or the
 * signal fired (the worker is then dropped: it may be in the middle of anything).
 */
function runOn(worker: Worker, job: LayerWorkerJob, signal: AbortSignal): Promise<LayerWorkerAnswer> {
  const desc = job.image.manifest.layers[job.index];
  const { port1: port, port2 } = new MessageChannel();
  const streams = new Map<number, Readable>();
  // The first error of a blob stream: the job's outcome whatever the worker says (RELIABILITY.md 18–19).
  let sourceError: { readonly error: unknown } | undefined;
  const forwarded: unknown[] = [];
  const post = (m: ToWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  const forward = (pass: number, e: unknown): void => {
    if (sourceError) return;
    sourceError = { error: e };
    forwarded.push(e);
    post({ t: 'fail', pass, error: toWire(e, forwarded.length - 1) });
  };

  const open = async (pass: number): Promise<void> => {
    let s: Readable;
    try {
      s = await job.source.openBlob(desc);
    } catch (e) {
      forward(pass, e);
      return;
    }
    streams.set(pass, s);
    post({ t: 'opened', pass });
    let inFlight = 0;
    s.on('data', (chunk: Buffer) => {
      const copy = new Uint8Array(chunk);
      post({ t: 'chunk', pass, data: copy }, [copy.buffer]);
      if (++inFlight >= WINDOW) s.pause();
    });
    let ended = false;
    s.once('end', () => {
      ended = true;
      post({ t: 'end', pass });
    });
    s.on('error', (e) => forward(pass, e));
    // Closed without its end or an error (destroyed by someone else): the worker must not wait for more.
    s.once('close', () => {
      if (!ended && !closedByWorker.has(pass)) forward(pass, new Error(`blob ${desc.digest} closed before its end`));
    });
    acks.set(pass, (n) => {
      inFlight -= n;
      if (inFlight < WINDOW && !s.destroyed) s.resume();
    });
  };
  const acks = new Map<number, (n: number) => void>();
  const closedByWorker = new Set<number>();

  return new Promise<LayerWorkerAnswer>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      worker.off('error', onError);
      worker.off('exit', onExit);
      port.close();
      for (const s of streams.values()) s.destroy();
      f();
    };
    const onAbort = (): void => settle(() => {
      void worker.terminate();
      reject(signal.reason);
    });
    const onError = (e: Error): void => settle(() => reject(new Error(`layer worker failed reading layer ${job.index} (${desc.digest}): ${e.message}`, { cause: e })));
    const onExit = (code: number): void => settle(() => reject(new Error(`layer worker exited (code ${code}) while reading layer ${job.index} (${desc.digest})`)));
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('error', onError);
    worker.on('exit', onExit);
    port.on('message', (m: FromWorker) => {
      switch (m.t) {
        case 'open':
          // Opened from a microtask, as on the main thread's own path: the continuation that attaches
          // the stream's listeners then runs before the stream's first tick (a blob that fails at
          // once would otherwise emit its error to nobody).
          void Promise.resolve(m.pass).then(open);
          break;
        case 'ack':
          acks.get(m.pass)?.(m.n);
          break;
        case 'close':
          closedByWorker.add(m.pass);
          streams.get(m.pass)?.destroy();
          break;
        case 'done':
          settle(() => (sourceError ? reject(sourceError.error) : resolve({ fingerprint: m.fingerprint, value: reviveFresh(m.value) })));
          break;
        case 'error':
          settle(() => reject(m.error.forwarded !== undefined ? forwarded[m.error.forwarded] : sourceError ? sourceError.error : fromWire(m.error)));
          break;
      }
    });
    worker.ref();
    const msg: LayerJob = { t: 'job', port: port2, image: job.image, index: job.index, limits: job.limits, spec: job.spec, specKey: JSON.stringify(job.spec) };
    worker.postMessage(msg, [port2]);
  });
}

/**
 * The file a worker runs: this very module's file when it is JavaScript (a bundle or the compiled
 * module), else — running from TypeScript sources — an esbuild bundle of it, built once per process.
 * `undefined` when neither can be had.
 */
export function layerWorkerScript(): string | undefined {
  if (!__filename.endsWith('.ts')) return __filename;
  if (bundled !== undefined) return bundled || undefined;
  try {
    // Not `import`: a bundle of this module must not take esbuild (a native tool) in with it.
    const esbuild = createRequire(__filename)('esbuild') as typeof import('esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'trustctl-layer-worker-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'layer-worker.js');
    esbuild.buildSync({ entryPoints: [__filename], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: `node${process.versions.node.split('.')[0]}`, logLevel: 'silent' });
    bundled = out;
  } catch {
    bundled = '';
  }
  return bundled || undefined;
}
let bundled: string | undefined;

let shared: LayerWorkerPool | undefined;

/**
 * The process's pool, grown to `size` workers if smaller; `resourceLimits` of the first call hold.
 * Reused across scans: a worker's start (loading the bundle) is paid once.
 */
export function sharedLayerWorkerPool(size: number, resourceLimits?: { readonly maxOldGenerationSizeMb: number }): LayerWorkerPool {
  shared ??= new LayerWorkerPool(size, layerWorkerScript, resourceLimits);
  shared.grow(size);
  return shared;
}

/** Ends the shared pool's workers (tests; a long-lived process that is done scanning). */
export async function closeLayerWorkers(): Promise<void> {
  const p = shared;
  shared = undefined;
  await p?.close();
}

// In a layer worker: serve jobs (the module was loaded as the worker's script, or inside a bundle that is).
if (isLayerWorkerThread() && parentPort) serveLayerJobs(parentPort as MessagePort);
