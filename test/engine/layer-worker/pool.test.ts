import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LimitExceededError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { LayerWorkerPool, LayerWorkersUnavailable, layerWorkerScript, type LayerWorkerJob } from '../../../lib/engine/layer-worker/pool';
import { resolveImage } from '../../../lib/engine/registry/resolve';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { bundleTrustctl } from '../../../lib/local/builder/serve-image';
import { MemorySource } from '../../helpers/memory-source';

/**
 * The pool's own promises: a worker that cannot start means "read on the main thread" (nothing was
 * read yet); a worker that dies while reading is an error, never an answer; aborting drops the worker;
 * idle workers never keep a process alive.
 */
jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'trustctl-pool-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = (name: string, body: string): string => {
  const f = join(dir, name);
  writeFileSync(f, `const { parentPort } = require('node:worker_threads');\n${body}\n`);
  return f;
};

async function job(): Promise<LayerWorkerJob> {
  const image = buildImage({ layers: [{ entries: [{ path: 'etc/os-release', body: 'ID=debian\n' }] }] });
  const source = MemorySource.fromBuilt(image);
  const target = await resolveImage(source, { limits: DEFAULT_LIMITS });
  return { source, image: target.images[0], index: 0, limits: DEFAULT_LIMITS, spec: {} };
}

describe('LayerWorkerPool', () => {
  it.each<[string, () => string | undefined]>([
    ['no script at all', () => undefined],
    ['a script that does not exist', () => join(dir, 'missing.js')],
    ['a script that throws as it loads', () => script('throws.js', "throw new Error('broken bundle');")],
    ['a script that exits without serving', () => script('exits.js', 'process.exit(0);')],
    ['a script that says something else first', () => script('chatty.js', "parentPort.postMessage({ t: 'hello' });")],
  ])('%s: LayerWorkersUnavailable (the scan reads on the main thread), and the pool stays so', async (_name, file) => {
    const pool = new LayerWorkerPool(2, file);
    await expect(pool.read(await job(), new AbortController().signal)).rejects.toBeInstanceOf(LayerWorkersUnavailable);
    await expect(pool.read(await job(), new AbortController().signal)).rejects.toBeInstanceOf(LayerWorkersUnavailable);
    await pool.close();
  });

  it.each<[string, string, RegExp]>([
    ['exits in the middle of a layer', "parentPort.postMessage({ t: 'ready' }); parentPort.on('message', () => process.exit(3));", /exited \(code 3\)/],
    ['throws in the middle of a layer', "parentPort.postMessage({ t: 'ready' }); parentPort.on('message', () => { throw new Error('out of memory, say'); });", /layer worker failed.*out of memory, say/],
  ])('a worker that %s: an error that is not unscannable (the scan aborts, no verdict), never an answer', async (_name, body, message) => {
    const pool = new LayerWorkerPool(1, () => script(`dies-${message.source.length}.js`, body));
    const e = await pool.read(await job(), new AbortController().signal).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(LayerWorkersUnavailable);
    expect((e as Error).message).toMatch(message);
    expect(pool.answered).toBe(0);
    await pool.close();
  });

  it('a worker that dies while idle (a stray error after its answer) leaves the pool quietly; the next job gets a fresh one', async () => {
    const body = `parentPort.postMessage({ t: 'ready' });
      parentPort.on('message', (job) => {
        job.port.postMessage({ t: 'error', error: { name: 'LimitExceededError', message: 'too many entries (limit maxEntries=1)', props: { code: 'LIMIT_EXCEEDED', limit: 'maxEntries', max: 1 } } });
        setTimeout(() => { throw new Error('late'); }, 50);
      });`;
    const pool = new LayerWorkerPool(1, () => script('late.js', body));
    for (let round = 0; round < 2; round++) {
      const e = await pool.read(await job(), new AbortController().signal).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LimitExceededError);
      expect(e).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxEntries', max: 1 });
      await new Promise((r) => setTimeout(r, 300));
    }
    await pool.close();
  });

  it('an abort drops the worker that never answers, and the next job gets a fresh one', async () => {
    const hangs = script('hangs.js', "parentPort.postMessage({ t: 'ready' }); parentPort.on('message', () => undefined);");
    const pool = new LayerWorkerPool(1, () => hangs);
    const ac = new AbortController();
    const reading = pool.read(await job(), ac.signal);
    setTimeout(() => ac.abort(new Error('a lower layer failed')), 200);
    await expect(reading).rejects.toThrow('a lower layer failed');
    // The one slot is free again (the hung worker was terminated): a second job is started, and aborted too.
    const ac2 = new AbortController();
    const second = pool.read(await job(), ac2.signal);
    setTimeout(() => ac2.abort(new Error('again')), 200);
    await expect(second).rejects.toThrow('again');
    await pool.close();
  });

  it('a real worker reads the layer (the sources bundled once for this process)', async () => {
    const pool = new LayerWorkerPool(1, layerWorkerScript);
    const answer = await pool.read(await job(), new AbortController().signal);
    expect([...answer.value.result.entries.keys()]).toEqual(['/etc/os-release']);
    expect(answer.value.result.entries.get('/etc/os-release')!.body!.toString()).toBe('ID=debian\n');
    expect(Buffer.isBuffer(answer.value.result.entries.get('/etc/os-release')!.body)).toBe(true);
    expect(pool.answered).toBe(1);
    await pool.close();
  });

  it('the CLI bundle (as the image ships it) serves layer jobs when it is a worker\'s script, instead of running the CLI', async () => {
    const bundle = join(dir, 'trustctl.js');
    bundleTrustctl(join(__dirname, '..', '..', '..'), bundle, '0.0.0-test');
    const pool = new LayerWorkerPool(1, () => bundle);
    const answer = await pool.read(await job(), new AbortController().signal);
    expect(answer.value.result.entries.get('/etc/os-release')!.body!.toString()).toBe('ID=debian\n');
    expect(pool.answered).toBe(1);
    await pool.close();
  });

  it('idle workers do not keep a process alive: a scan on workers exits on its own', () => {
    const repo = join(__dirname, '..', '..', '..');
    const code = `
      const { scanImage } = require(${JSON.stringify(join(repo, 'lib/engine/scan-image'))});
      const { allChecks } = require(${JSON.stringify(join(repo, 'lib/engine/checks/checks'))});
      const { sharedLayerWorkerPool } = require(${JSON.stringify(join(repo, 'lib/engine/layer-worker/pool'))});
      const { DEFAULT_LIMITS } = require(${JSON.stringify(join(repo, 'lib/engine/limits'))});
      const { buildImage } = require(${JSON.stringify(join(repo, 'lib/local/builder/image-builder'))});
      const { MemorySource } = require(${JSON.stringify(join(repo, 'test/helpers/memory-source'))});
      const layer = (n) => ({ entries: [{ path: 'f' + n, body: 'x' }] });
      scanImage(MemorySource.fromBuilt(buildImage({ layers: [layer(1), layer(2), layer(3)] })), { limits: DEFAULT_LIMITS, checks: allChecks(), workers: { checks: {} }, layerConcurrency: 2 })
        .then((r) => console.log(JSON.stringify({ layers: r.images[0].layers.length, onWorkers: sharedLayerWorkerPool(1).answered })));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', timeout: 50_000, cwd: repo, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    // Killed by the timeout (a worker holding the process open) would be status null.
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ layers: 3, onWorkers: 3 });
  });
});
