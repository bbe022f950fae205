/**
 * One decode measurement of bench/image-scan in its own process (run under `/usr/bin/time -v` by
 * run.ts, so the peak RSS is its own): the layers given, one after another, through Node's bare
 * decoder, output discarded — the physical limit of a sequential read. Prints one JSON line:
 * { ms, bytesOut, decoder }.
 *   decode.ts gunzip <layer.gz>…   zlib's createGunzip (as bench/layer-throughput's (b))
 *   decode.ts unzstd <layer.zst>…  the zstd decoder the layer reader uses: zlib's native one where
 *                                  present (Node >= 22.15), else fzstd (lib/engine/layers/decompress.ts)
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { createDecompressor } from '../../lib/engine/layers/decompress';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';

async function main(): Promise<void> {
  const [mode, ...files] = process.argv.slice(2);
  if ((mode !== 'gunzip' && mode !== 'unzstd') || files.length === 0) throw new Error('usage: decode.ts gunzip|unzstd <file>…');
  let bytesOut = 0;
  const sink = (): Writable => new Writable({ write: (c: Buffer, _e, cb) => ((bytesOut += c.length), cb()) });
  const t0 = process.hrtime.bigint();
  for (const f of files) {
    const decoder = mode === 'gunzip' ? zlib.createGunzip({ chunkSize: 128 * 1024 }) : createDecompressor('zstd', DEFAULT_LIMITS);
    await pipeline(createReadStream(f, { highWaterMark: 1 << 20 }), decoder, sink());
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const native = typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
  const decoder = mode === 'gunzip' ? 'zlib gunzip' : native ? 'zlib zstd (native)' : 'fzstd';
  process.stdout.write(`${JSON.stringify({ ms, bytesOut, decoder })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
