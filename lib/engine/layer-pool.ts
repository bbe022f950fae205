import { availableParallelism, totalmem } from 'node:os';
import type { Limits } from './limits';

/**
 * Layers read at once (issue 16 item 1). Inflate runs on libuv's thread pool, so two layers in flight
 * overlap one layer's inflate with the other's tar walk, digests and content checks on the main
 * thread; more than the cores buys nothing. Each layer in flight also holds memory of its own until it
 * is read, so the count is bounded by a memory budget too: see {@link layerConcurrency}.
 */

const MiB = 1024 * 1024;

/**
 * What one layer in flight may hold beyond what its result keeps (and the result is kept whether the
 * layers are read one after another or not): one body captured whole for a cataloger, up to
 * `maxCatalogFileBytes`; the zstd window, up to `maxZstdWindowBytes`; and stream buffers, inflate
 * state and the checks' sliding windows, a few MiB ({@link LAYER_OVERHEAD_BYTES}).
 */
export function layerInFlightBytes(limits: Pick<Limits, 'maxCatalogFileBytes' | 'maxZstdWindowBytes'>): number {
  return limits.maxCatalogFileBytes + limits.maxZstdWindowBytes + LAYER_OVERHEAD_BYTES;
}

/** Stream buffers (1 MiB reads, 128 KiB inflate chunks), zlib state, secrets windows: generous. */
export const LAYER_OVERHEAD_BYTES = 32 * MiB;

/**
 * The share of the process's memory that layers in flight may take: the rest is the squashed tree,
 * the inventories, the advisory cache and the heap's slack. With the default limits (256 MiB catalog
 * bodies, 128 MiB zstd window: 416 MiB a layer) a 2,048 MB Lambda reads 2 layers at once and a
 * 1,024 MB one reads 1.
 */
export const LAYER_MEMORY_SHARE = 0.5;

/** Where {@link layerConcurrency} sizes from. */
export interface ConcurrencyBasis {
  /** Layers worth running at once for the CPU: default `os.availableParallelism()`. */
  readonly cores?: number;
  /**
   * The memory the process may use, in bytes: the Lambda's configured memory in the pipeline; default
   * the cgroup limit when there is one (`process.constrainedMemory()`), else the machine's memory.
   */
  readonly memoryBytes?: number;
}

/**
 * How many layers one scan reads at once: the cores, but no more than {@link LAYER_MEMORY_SHARE} of
 * the memory divided by what a layer in flight may hold ({@link layerInFlightBytes}); at least 1.
 */
export function layerConcurrency(limits: Pick<Limits, 'maxCatalogFileBytes' | 'maxZstdWindowBytes'>, basis: ConcurrencyBasis = {}): number {
  const cores = basis.cores ?? availableParallelism();
  const memory = basis.memoryBytes ?? processMemoryBytes();
  const byMemory = Math.floor((memory * LAYER_MEMORY_SHARE) / layerInFlightBytes(limits));
  return Math.max(1, Math.min(Math.floor(cores), byMemory));
}

/**
 * The old-generation heap (MiB) each of `workers` layer worker threads may grow to: their share of
 * {@link LAYER_MEMORY_SHARE} of the process's memory, at least 512 MiB. A worker over it dies with
 * ERR_WORKER_OUT_OF_MEMORY, which fails the scan (no verdict) instead of taking the process down.
 * Captured bodies are Buffers, outside the heap: {@link layerConcurrency} bounds those.
 */
export function layerWorkerHeapMb(workers: number, basis: Pick<ConcurrencyBasis, 'memoryBytes'> = {}): number {
  const memory = basis.memoryBytes ?? processMemoryBytes();
  return Math.max(512, Math.floor((memory * LAYER_MEMORY_SHARE) / Math.max(1, workers) / MiB));
}

/** The cgroup's memory limit when it is smaller than the machine's memory, else the machine's. */
function processMemoryBytes(): number {
  const total = totalmem();
  // `constrainedMemory` is 0 or a huge number (2^64) when no limit applies.
  const limited = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return limited && limited > 0 && limited < total ? limited : total;
}

/**
 * Runs `run(i)` for i = 0…count-1, at most `concurrency` at once and in ascending order of start,
 * and hands each value to `take` strictly in index order — so whatever `take` does (cache writes,
 * progress events, building the result) happens exactly as in a loop of `await run(i); await take(i)`.
 *
 * Failure is that loop's too: the error thrown is the one of the lowest index that failed (in `run`
 * or in `take`), after every lower index was taken. When index j fails, nothing above j is started
 * any more, and the runs above j already going are aborted through their signal (a loop would never
 * have started them); every run started is settled before this returns or throws, so no read is left
 * running behind the caller.
 */
export async function mapInOrder<T>(
  count: number,
  concurrency: number,
  run: (i: number, signal: AbortSignal) => Promise<T>,
  take: (i: number, value: T) => Promise<void> | void,
): Promise<void> {
  type Outcome = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };
  // Anything but a count of 1 or more (0, NaN) is 1: never a pool that starts nothing and waits for ever.
  const limit = concurrency >= 1 ? Math.floor(concurrency) : 1;
  const controllers: AbortController[] = [];
  const outcomes: Promise<Outcome>[] = [];
  const launched: (() => void)[] = [];
  const launchedAt = Array.from({ length: count }, (_, i) => new Promise<void>((resolve) => (launched[i] = resolve)));
  let next = 0;
  let running = 0;
  // Indexes at or above `stop` are never started: a lower one failed.
  let stop = count;

  const halt = (failed: number): void => {
    stop = Math.min(stop, failed + 1);
    for (let k = failed + 1; k < controllers.length; k++) controllers[k].abort();
  };
  const pump = (): void => {
    while (running < limit && next < stop) {
      const i = next++;
      running++;
      const controller = new AbortController();
      controllers[i] = controller;
      outcomes[i] = (async (): Promise<Outcome> => {
        try {
          return { ok: true, value: await run(i, controller.signal) };
        } catch (error) {
          halt(i);
          return { ok: false, error };
        } finally {
          running--;
          // Started from a settled run's continuation: the next layer begins as soon as a slot is free.
          queueMicrotask(pump);
        }
      })();
      launched[i]();
    }
  };

  pump();
  try {
    for (let i = 0; i < count; i++) {
      await launchedAt[i];
      const outcome = await outcomes[i];
      if (!outcome.ok) throw outcome.error;
      try {
        await take(i, outcome.value);
      } catch (e) {
        halt(i);
        throw e;
      }
    }
  } finally {
    // Nothing above a failure may keep running behind the caller (aborted above); wait for them to end.
    stop = Math.min(stop, next);
    await Promise.all(outcomes.filter(Boolean));
  }
}
