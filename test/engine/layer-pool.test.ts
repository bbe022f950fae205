import { layerConcurrency, layerInFlightBytes, mapInOrder } from '../../lib/engine/layer-pool';
import { DEFAULT_LIMITS, resolveLimits } from '../../lib/engine/limits';

const MiB = 1024 * 1024;

/** A promise settled from outside: the test decides the order in which runs finish. */
function gate<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('layerConcurrency', () => {
  it.each([
    ['a 2,048 MB Lambda, 2 cores, default limits: 2 layers', 2, 2048 * MiB, {}, 2],
    ['a 1,024 MB Lambda, 2 cores, default limits: 1 layer', 2, 1024 * MiB, {}, 1],
    ['a 512 MB Lambda: never 0', 2, 512 * MiB, {}, 1],
    ['8 cores, 2,048 MB: memory bounds it', 8, 2048 * MiB, {}, 2],
    ['8 cores, 2,048 MB, 16 MiB catalog bodies and zstd window: cores bound it', 8, 2048 * MiB, { maxCatalogFileBytes: 16 * MiB, maxZstdWindowBytes: 16 * MiB }, 8],
    ['1 core, lots of memory: 1', 1, 64 * 1024 * MiB, {}, 1],
  ])('%s', (_name, cores, memoryBytes, limits, expected) => {
    expect(layerConcurrency(resolveLimits(limits), { cores, memoryBytes })).toBe(expected);
  });

  it('charges a layer its largest captured body and its zstd window', () => {
    expect(layerInFlightBytes(DEFAULT_LIMITS)).toBe(DEFAULT_LIMITS.maxCatalogFileBytes + DEFAULT_LIMITS.maxZstdWindowBytes + 32 * MiB);
  });

  it('defaults to the machine: at least 1', () => {
    expect(layerConcurrency(DEFAULT_LIMITS)).toBeGreaterThanOrEqual(1);
  });
});

describe('mapInOrder', () => {
  it.each([
    ['finish in reverse order', 4, 4, [3, 2, 1, 0]],
    ['finish in order', 4, 2, [0, 1, 2, 3]],
    ['one at a time', 3, 1, [0, 1, 2]],
    ['more slots than runs', 2, 8, [1, 0]],
    ['no slots asked for: one at a time', 2, 0, [0, 1]],
    ['NaN slots: one at a time', 2, NaN, [0, 1]],
  ])('takes every value in index order however runs finish: %s', async (_name, count, concurrency, finishOrder) => {
    const gates = Array.from({ length: count }, () => gate<string>());
    const started: number[] = [];
    const taken: string[] = [];
    let maxRunning = 0;
    let running = 0;
    const done = mapInOrder(count, concurrency, async (i) => {
      started.push(i);
      maxRunning = Math.max(maxRunning, ++running);
      try {
        return await gates[i].promise;
      } finally {
        running--;
      }
    }, (i, v) => void taken.push(`${i}:${v}`));
    for (const i of finishOrder) {
      // A run not started yet (no free slot) is finished once it starts.
      while (!started.includes(i)) await tick();
      gates[i].resolve(`v${i}`);
      await tick();
    }
    await done;
    expect(taken).toEqual(Array.from({ length: count }, (_, i) => `${i}:v${i}`));
    expect(started).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(maxRunning).toBeLessThanOrEqual(Math.max(1, concurrency || 1));
  });

  it.each([
    ['the lower failure wins even when the upper one fails first', [2, 1], 1, ['0']],
    ['a lone failure in the middle', [1], 1, ['0']],
    ['the first index fails', [0], 0, []],
  ])('fails as a loop would: %s', async (_name, failOrder, expected, takenBefore) => {
    const count = 4;
    const gates = Array.from({ length: count }, () => gate<number>());
    const signals: AbortSignal[] = [];
    const taken: string[] = [];
    const done = mapInOrder(count, 4, async (i, signal) => {
      signals[i] = signal;
      // An aborted run ends (as a destroyed blob stream does).
      signal.addEventListener('abort', () => gates[i].reject(new Error(`aborted ${i}`)));
      return gates[i].promise;
    }, (i) => void taken.push(String(i)));
    // Rejected before the assertion below is attached (when index 0 fails): not an unhandled rejection.
    done.catch(() => undefined);
    await tick();
    for (const i of failOrder) {
      gates[i].reject(new Error(`failed ${i}`));
      await tick();
    }
    // Runs below the failure still finish and are taken.
    for (let i = 0; i < expected; i++) gates[i].resolve(i);
    await expect(done).rejects.toThrow(`failed ${expected}`);
    expect(taken).toEqual(takenBefore);
    // Every run above the lowest failure was aborted; none below it.
    expect(signals.map((s) => s.aborted)).toEqual(signals.map((_, i) => i > expected));
  });

  it('starts nothing above a failure, and settles every run before it throws', async () => {
    const gates = Array.from({ length: 5 }, () => gate<number>());
    const started: number[] = [];
    const settled: number[] = [];
    const done = mapInOrder(5, 2, async (i) => {
      started.push(i);
      try {
        return await gates[i].promise;
      } finally {
        settled.push(i);
      }
    }, () => undefined);
    await tick();
    gates[0].reject(new Error('failed 0'));
    await tick();
    // Run 1 ignores its abort (a check finishing its work): the call waits for it.
    let finished = false;
    void done.catch(() => (finished = true));
    await tick();
    expect(finished).toBe(false);
    gates[1].resolve(1);
    await expect(done).rejects.toThrow('failed 0');
    expect(started).toEqual([0, 1]);
    expect(settled.sort()).toEqual([0, 1]);
  });

  it('a failing take stops the runs above it and is what is thrown', async () => {
    const signals: AbortSignal[] = [];
    const taken: number[] = [];
    const never = gate<number>();
    const done = mapInOrder(3, 3, async (i, signal) => {
      signals[i] = signal;
      if (i === 2) {
        signal.addEventListener('abort', () => never.reject(new Error('aborted')));
        return never.promise;
      }
      return i;
    }, (i) => {
      if (i === 1) throw new Error('cache write failed');
      taken.push(i);
    });
    await expect(done).rejects.toThrow('cache write failed');
    expect(taken).toEqual([0]);
    expect(signals.map((s) => s.aborted)).toEqual([false, false, true]);
  });

  it('does nothing for no runs', async () => {
    const take = jest.fn();
    await mapInOrder(0, 2, () => Promise.reject(new Error('not called')), take);
    expect(take).not.toHaveBeenCalled();
  });
});
