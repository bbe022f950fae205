import { PassThrough } from 'node:stream';
import { scanProgressBar } from '../../lib/cli/progress';
import type { Digest } from '../../lib/engine/model';

const event = (platform: string, done: number, total: number) => ({
  platform, layersDone: done, layersTotal: total, bytesDone: done * 1024, bytesTotal: total * 1024, layer: `sha256:${'a'.repeat(64)}` as Digest, cached: done === 1,
});

describe('scan progress bar', () => {
  it('draws on a terminal: per platform, layers and bytes', () => {
    const out = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; cursorTo?: unknown; clearLine?: unknown };
    out.isTTY = true;
    out.columns = 120;
    out.cursorTo = (_x: number, _y?: number, cb?: () => void) => { cb?.(); return true; };
    out.clearLine = (_d: number, cb?: () => void) => { cb?.(); return true; };
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const bar = scanProgressBar(out);
    bar.onProgress!(event('linux/amd64', 1, 2));
    bar.onProgress!(event('linux/amd64', 2, 2));
    bar.onProgress!(event('linux/arm64', 1, 3));
    bar.stop();
    expect(text).toMatch(/scanning linux\/amd64 \[[^\]]*\] 1\/2 layers \| 1\.0 KiB \/ 2\.0 KiB \| cached/);
    expect(text).toMatch(/scanning linux\/arm64 \[[^\]]*\] 1\/3 layers/);
  });

  it.each([
    ['a pipe (CI logs)', false, true],
    ['--no-progress on a terminal', true, false],
  ])('draws nothing on %s', (_n, tty, enabled) => {
    const out = new PassThrough() as PassThrough & { isTTY?: boolean };
    out.isTTY = tty;
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const bar = scanProgressBar(out, enabled);
    expect(bar.onProgress).toBeUndefined();
    bar.stop();
    expect(text).toBe('');
  });
});
