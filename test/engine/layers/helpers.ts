import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readLayer, type LayerResult, type ReadLayerOptions } from '../../../lib/engine/layers/layer-reader';
import { type Limits, resolveLimits } from '../../../lib/engine/limits';
import { MediaType, type Digest } from '../../../lib/engine/model';
import { pad, rawHeader } from '../../../lib/local/builder/tar-writer';

/** A fake layer digest, different per index. */
export function layerDigest(i = 0): Digest {
  return `sha256:${i.toString(16).padStart(64, '0')}` as Digest;
}

/** A buffer as a stream of chunks of `chunk` bytes (small chunks exercise boundaries). */
export function streamOf(buf: Buffer, chunk = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

/** zstd-compresses with the machine's zstd CLI (extra args e.g. `--long=31`), input on stdin. */
export function zstdCli(buf: Buffer, args: string[] = []): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', ...args], { input: buf, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Reads an uncompressed tar buffer as a layer. */
export function readTar(
  tar: Buffer,
  opts: { limits?: Partial<Limits>; wants?: ReadLayerOptions['wants']; index?: number; gzip?: boolean; chunk?: number } = {},
): Promise<LayerResult> {
  const body = opts.gzip ? gzipSync(tar) : tar;
  return readLayer(streamOf(body, opts.chunk), {
    layerDigest: layerDigest(opts.index ?? 0),
    mediaType: opts.gzip ? MediaType.OciLayerGzip : MediaType.OciLayer,
    limits: resolveLimits(opts.limits ?? {}),
    wants: opts.wants,
  });
}

/** A GNU long-name (`L`) or long-link (`K`) extended header carrying `value`. */
export function gnuLong(typeflag: 'L' | 'K', value: string): Buffer {
  const body = Buffer.from(`${value}\0`, 'utf8');
  return Buffer.concat([rawHeader({ name: '././@LongLink', typeflag, size: body.length }), body, pad(body.length)]);
}

/** A 12-byte GNU base-256 numeric field holding `hex` right-aligned after the marker byte. */
export function base256(marker: number, bytes: number[]): Buffer {
  const b = Buffer.alloc(12, marker === 0xff ? 0xff : 0);
  b[0] = marker;
  Buffer.from(bytes).copy(b, 12 - bytes.length);
  return b;
}

/** Fixes up a header's checksum after bytes were patched. */
export function rechecksum(h: Buffer): Buffer {
  h.fill(' ', 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}
