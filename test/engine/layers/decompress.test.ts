import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { CompressionError, LimitExceededError, SizeMismatchError, UnsupportedMediaTypeError } from '../../../lib/engine/errors';
import {
  ZstdFrameGuard,
  createDecompressor,
  decodeLayer,
  declaredCompression,
  detectCompression,
  parseZstdFrameHeader,
} from '../../../lib/engine/layers/decompress';
import { readLayer } from '../../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS, resolveLimits } from '../../../lib/engine/limits';
import { MediaType, sha256Digest } from '../../../lib/engine/model';
import { VerifyingStream } from '../../../lib/engine/registry/verify';
import { buildTar, rawHeader } from '../../../lib/local/builder/tar-writer';
import { layerDigest, streamOf, zstdCli } from './helpers';

const MiB = 1024 * 1024;
const TAR = buildTar([
  { path: 'etc/os-release', body: 'ID=alpine\n' },
  { path: 'bin/sh', body: Buffer.alloc(100_000, 7) },
]);

async function decodeAll(buf: Buffer, mediaType: string, limits = DEFAULT_LIMITS, chunk?: number): Promise<{ out: Buffer; compression: string; declared: string }> {
  const parts: Buffer[] = [];
  const r = await decodeLayer(streamOf(buf, chunk), { mediaType, limits }, (c) => parts.push(Buffer.from(c)));
  return { out: Buffer.concat(parts), compression: r.compression, declared: r.declaredCompression };
}

/** A single-segment zstd frame header declaring `contentSize` (8-byte Frame_Content_Size). */
function singleSegmentHeader(contentSize: bigint): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32LE(0xfd2fb528, 0);
  b[4] = 0xe0; // FCS_Field_Size=3 (8 bytes), Single_Segment=1
  b.writeBigUInt64LE(contentSize, 5);
  return b;
}

describe('detectCompression / declaredCompression', () => {
  it.each([
    ['gzip magic', Buffer.from([0x1f, 0x8b, 8, 0]), 'gzip'],
    ['zstd magic', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd'],
    ['zstd skippable frame magic', Buffer.from([0x5e, 0x2a, 0x4d, 0x18]), 'zstd'],
    ['tar header', rawHeader({ name: 'x', typeflag: '0', size: 0 }), 'none'],
    ['too short to tell', Buffer.from([0x1f]), 'none'],
  ])('%s', (_name, head, expected) => {
    expect(detectCompression(head)).toBe(expected);
  });

  it.each([
    ['bzip2', Buffer.from('BZh91AY')],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ])('refuses %s, which no layer media type allows', (_name, head) => {
    expect(() => detectCompression(head)).toThrow(CompressionError);
  });

  it.each([
    [MediaType.OciLayerGzip, 'gzip'],
    [MediaType.DockerLayerGzip, 'gzip'],
    [MediaType.OciLayerZstd, 'zstd'],
    [MediaType.OciLayer, 'none'],
  ])('%s declares %s', (mt, expected) => {
    expect(declaredCompression(mt)).toBe(expected);
  });
});

describe('case 17: decoded by media type plus magic bytes', () => {
  it.each([
    ['gzip declared, gzip content', MediaType.OciLayerGzip, () => gzipSync(TAR), 'gzip'],
    ['zstd declared, zstd content (zstd CLI)', MediaType.OciLayerZstd, () => zstdCli(TAR), 'zstd'],
    ['uncompressed declared, plain tar', MediaType.OciLayer, () => TAR, 'none'],
    ['mislabelled: gzip declared, plain tar', MediaType.DockerLayerGzip, () => TAR, 'none'],
    ['mislabelled: gzip declared, zstd content', MediaType.OciLayerGzip, () => zstdCli(TAR), 'zstd'],
    ['mislabelled: uncompressed declared, gzip content', MediaType.OciLayer, () => gzipSync(TAR), 'gzip'],
    ['mislabelled: zstd declared, plain tar', MediaType.OciLayerZstd, () => TAR, 'none'],
  ])('%s', async (_name, mediaType, make, found) => {
    const r = await readLayer(streamOf(make(), 1000), { layerDigest: layerDigest(), mediaType, limits: DEFAULT_LIMITS, wants: () => true });
    expect(r.compression).toBe(found);
    expect(r.declaredCompression).toBe(declaredCompression(mediaType));
    expect(r.diffId).toBe(sha256Digest(TAR));
    expect(r.entries.get('/etc/os-release')?.body?.toString()).toBe('ID=alpine\n');
  });

  it('unknown media type → UnsupportedMediaTypeError before anything is read', async () => {
    let pulled = false;
    const src = new Readable({
      read() {
        pulled = true;
        this.push(null);
      },
    });
    await expect(readLayer(src, { layerDigest: layerDigest(), mediaType: 'application/vnd.example.layer.v1.tar+lz4', limits: DEFAULT_LIMITS })).rejects.toBeInstanceOf(
      UnsupportedMediaTypeError,
    );
    expect(pulled).toBe(false);
  });

  it.each([
    ['corrupt gzip', MediaType.OciLayerGzip, () => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(200, 0xff)])],
    ['truncated gzip', MediaType.OciLayerGzip, () => gzipSync(TAR).subarray(0, gzipSync(TAR).length - 12)],
    ['corrupt zstd', MediaType.OciLayerZstd, () => Buffer.concat([zstdCli(TAR).subarray(0, 20), Buffer.alloc(200, 0xff)])],
    ['truncated zstd', MediaType.OciLayerZstd, () => zstdCli(TAR).subarray(0, zstdCli(TAR).length - 12)],
  ])('%s → CompressionError', async (_name, mediaType, make) => {
    await expect(decodeAll(make(), mediaType)).rejects.toBeInstanceOf(CompressionError);
  });

  it('a source error (digest mismatch from VerifyingStream) rejects the read', async () => {
    const gz = gzipSync(TAR);
    const v = new VerifyingStream({ digest: sha256Digest(gz), size: gz.length + 1 });
    streamOf(gz).pipe(v);
    await expect(readLayer(v, { layerDigest: layerDigest(), mediaType: MediaType.OciLayerGzip, limits: DEFAULT_LIMITS })).rejects.toBeInstanceOf(SizeMismatchError);
  });

  it('decodes a multi-frame zstd stream and a multi-member gzip stream', async () => {
    const z = Buffer.concat([zstdCli(TAR.subarray(0, 5000)), zstdCli(TAR.subarray(5000))]);
    expect((await decodeAll(z, MediaType.OciLayerZstd, DEFAULT_LIMITS, 333)).out.equals(TAR)).toBe(true);
    const g = Buffer.concat([gzipSync(TAR.subarray(0, 5000)), gzipSync(TAR.subarray(5000))]);
    expect((await decodeAll(g, MediaType.OciLayerGzip)).out.equals(TAR)).toBe(true);
  });
});

describe('case 12: zstd window cap', () => {
  it.each([
    ['zstd --long=31 frame (2 GiB window, CLI)', () => zstdCli(Buffer.alloc(100_000, 1), ['--long=31']), 2 ** 31],
    ['hand-made single-segment frame declaring 1 TB content', () => Buffer.concat([singleSegmentHeader(2n ** 40n), Buffer.alloc(64)]), 2 ** 40],
  ])('%s → LimitExceededError(maxZstdWindowBytes) before decoding', async (_name, make, window) => {
    const frame = make();
    expect(parseZstdFrameHeader(frame)).toMatchObject({ kind: 'frame', windowSize: window });
    const before = process.memoryUsage().rss;
    const err = await decodeAll(frame, MediaType.OciLayerZstd, DEFAULT_LIMITS, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('maxZstdWindowBytes');
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * MiB);
  });

  it('checks the window of every frame, not only the first', async () => {
    const big = zstdCli(Buffer.alloc(100_000, 2), ['--long=31']);
    const err = await decodeAll(Buffer.concat([zstdCli(TAR), big]), MediaType.OciLayerZstd).catch((e: unknown) => e);
    expect((err as LimitExceededError).limit).toBe('maxZstdWindowBytes');
  });

  it('accepts a window up to the limit', async () => {
    const z = zstdCli(TAR, ['--long=27']);
    expect((await decodeAll(z, MediaType.OciLayerZstd, resolveLimits({ maxZstdWindowBytes: 2 ** 27 }))).out.equals(TAR)).toBe(true);
  });

  it.each([
    ['whole', 1 << 20],
    ['1-byte pieces', 1],
    ['5-byte pieces', 5],
  ])('ZstdFrameGuard follows framing fed in %s', (_name, piece) => {
    const z = Buffer.concat([zstdCli(TAR), Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]), zstdCli(TAR.subarray(0, 1000))]);
    const g = new ZstdFrameGuard(DEFAULT_LIMITS.maxZstdWindowBytes);
    for (let i = 0; i < z.length; i += piece) g.feed(z.subarray(i, i + piece));
    expect(() => g.end()).not.toThrow();
    expect(g.frames).toBe(3);
    const cut = new ZstdFrameGuard(DEFAULT_LIMITS.maxZstdWindowBytes);
    cut.feed(z.subarray(0, z.length - 3));
    expect(() => cut.end()).toThrow(CompressionError);
  });
});

describe('case 12: gzip bomb', () => {
  it('~1 GB of zeros behind gzip stops at a 64 MiB cap, reading a fraction of it, memory bounded', async () => {
    const total = 1024 * MiB;
    const zeros = Buffer.alloc(MiB);
    let generated = 0;
    const gen = new Readable({
      read() {
        if (generated >= total) {
          this.push(null);
          return;
        }
        generated += zeros.length;
        this.push(zeros);
      },
    });
    // A tar header declaring one huge file, then the zeros: the parser is inside a body when the cap hits.
    const header = rawHeader({ name: 'bomb', typeflag: '0', size: total });
    const gz = createGzip({ level: 1 });
    gz.write(header);
    gen.pipe(gz);
    const rssBefore = process.memoryUsage().rss;
    let compressedRead = 0;
    gz.on('data', (c: Buffer) => (compressedRead += c.length));
    const limits = resolveLimits({ maxLayerBytes: 64 * MiB });
    const err = await readLayer(gz, { layerDigest: layerDigest(), mediaType: MediaType.OciLayerGzip, limits, wants: () => true }).catch((e: unknown) => e);
    gen.destroy();
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('maxLayerBytes');
    expect(generated).toBeLessThan(total / 4);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * MiB);
    // Figures for the report (RELIABILITY.md "time and bytes read when a bomb is stopped").
    console.log(`gzip bomb: stopped after ${(generated / MiB).toFixed(0)} MiB generated, ${(compressedRead / 1024).toFixed(0)} KiB compressed read; cap 64 MiB`);
  });

  it('zstd bomb (highly compressible frame) stops at the cap', async () => {
    const body = Buffer.alloc(32 * MiB);
    const z = zstdCli(body);
    expect(z.length).toBeLessThan(MiB);
    const err = await decodeAll(z, MediaType.OciLayerZstd, resolveLimits({ maxLayerBytes: 4 * MiB })).catch((e: unknown) => e);
    expect((err as LimitExceededError).limit).toBe('maxLayerBytes');
  });

  it('an uncompressed layer over the cap stops too', async () => {
    const err = await decodeAll(Buffer.alloc(3 * MiB), MediaType.OciLayer, resolveLimits({ maxLayerBytes: MiB })).catch((e: unknown) => e);
    expect((err as LimitExceededError).limit).toBe('maxLayerBytes');
  });
});

describe('createDecompressor (stream form)', () => {
  async function through(buf: Buffer, c: 'gzip' | 'zstd' | 'none', limits = DEFAULT_LIMITS): Promise<Buffer> {
    const parts: Buffer[] = [];
    await pipeline(
      streamOf(buf, 4096),
      createDecompressor(c, limits),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          parts.push(chunk);
          cb();
        },
      }),
    );
    return Buffer.concat(parts);
  }

  it.each([
    ['gzip', 'gzip' as const, () => gzipSync(TAR)],
    ['zstd', 'zstd' as const, () => zstdCli(TAR)],
    ['none', 'none' as const, () => TAR],
  ])('%s round-trips', async (_name, c, make) => {
    expect((await through(make(), c)).equals(TAR)).toBe(true);
  });

  it.each([
    ['gzip', 'gzip' as const, () => gzipSync(Buffer.alloc(8 * MiB))],
    ['zstd', 'zstd' as const, () => zstdCli(Buffer.alloc(8 * MiB))],
  ])('%s output is capped', async (_name, c, make) => {
    const err = await through(make(), c, resolveLimits({ maxLayerBytes: MiB })).catch((e: unknown) => e);
    expect((err as LimitExceededError).limit).toBe('maxLayerBytes');
  });

  it('zstd window cap applies', async () => {
    const err = await through(zstdCli(Buffer.alloc(1000), ['--long=31']), 'zstd').catch((e: unknown) => e);
    expect((err as LimitExceededError).limit).toBe('maxZstdWindowBytes');
  });
});
