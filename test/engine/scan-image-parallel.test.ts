import { DigestMismatchError } from '../../lib/engine/errors';
import { DEFAULT_LIMITS, resolveLimits, type Limits } from '../../lib/engine/limits';
import type { Digest } from '../../lib/engine/model';
import { scanImage, type ScanProgress, type ScanResult } from '../../lib/engine/scan-image';
import { allChecks } from '../../lib/engine/checks/checks';
import { EICAR_STRING } from '../../lib/engine/checks/malware/signatures';
import { buildImage, type BuiltImage, type LayerSpec } from '../../lib/local/builder/image-builder';
import type { TarEntry } from '../../lib/local/builder/tar-writer';
import { MemorySource } from '../helpers/memory-source';
import { cachePuts, LoggingCache, WatchedSource } from '../helpers/watched-scan';
import { emptyAdvisories } from '../helpers/advisories';
import { mulberry32 } from '../helpers/prng';

/**
 * Issue 16 item 1, differential: layers read several at a time (`layerConcurrency`) give exactly what
 * reading them one after another gives — the report, every cache write and every progress event in
 * the same order — and fail the same way, with no read left running behind a failure.
 */
const advisories = emptyAdvisories();
const NOW = new Date('2026-12-07T00:00:00Z');
const stanza = (name: string, version: string): string => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;
const pkgJson = (name: string, version: string): string => JSON.stringify({ name, version });

/** Random-looking bodies (so that gzip cannot make them vanish) of a few hundred KiB: a layer that takes time to read. */
function filler(seed: number, files: number, bytes: number): TarEntry[] {
  const next = mulberry32(seed);
  return Array.from({ length: files }, (_, i) => ({ path: `usr/lib/filler${seed}/f${i}.bin`, body: Buffer.from(Array.from({ length: bytes }, () => (next() * 256) & 0xff)) }));
}

const LAYERS: readonly LayerSpec[] = [
  { entries: [
    { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' },
    { path: 'var/lib/dpkg/status', body: stanza('bash', '5.2.15-2+b2') + stanza('libssl3', '3.0.11-1~deb12u2') },
    { path: 'app/node_modules/left-pad/package.json', body: pkgJson('left-pad', '1.3.0') },
    ...filler(1, 40, 16 * 1024),
  ] },
  { compression: 'zstd', entries: [
    { path: 'app/node_modules/.wh.left-pad' },
    { path: 'app/node_modules/lodash/package.json', body: pkgJson('lodash', '4.17.20') },
    { path: 'tmp/eicar.com', body: EICAR_STRING },
    { path: 'app/.env', body: `GITHUB_TOKEN=${'gh' + 'p_'}${'FAKE0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, 36)}\n` },
  ] },
  { entries: [
    // The status file behind a same-layer hardlink: the layer's second pass (readLayerForScan).
    { path: 'x', body: stanza('zlib1g', '1:1.2.13.dfsg-1') },
    { path: 'var/lib/dpkg/status.d/zlib1g', type: 'hardlink', linkname: 'x' },
    { path: 'app/go.mod', body: 'module example.com/app\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n' },
    ...filler(3, 8, 8 * 1024),
  ] },
  { entries: [{ path: 'tmp/.wh.eicar.com' }, { path: 'app/README', body: 'small top layer: it finishes first' }] },
];

interface Run {
  readonly result?: ScanResult;
  readonly error?: unknown;
  readonly progress: readonly ScanProgress[];
  readonly puts: readonly string[];
  readonly source: WatchedSource;
}

async function scan(image: BuiltImage, concurrency: number, opts: { limits?: Limits; cache?: LoggingCache; hanging?: ReadonlySet<Digest> } = {}): Promise<Run> {
  const cache = opts.cache ?? new LoggingCache();
  const before = cachePuts(cache).length;
  const source = new WatchedSource(MemorySource.fromBuilt(image), opts.hanging);
  const progress: ScanProgress[] = [];
  const common = { limits: opts.limits ?? DEFAULT_LIMITS, advisories, checks: allChecks(), cache, now: () => NOW, onProgress: (p: ScanProgress) => progress.push(p), layerConcurrency: concurrency };
  try {
    const result = await scanImage(source, common);
    return { result, progress, puts: cachePuts(cache).slice(before), source };
  } catch (error) {
    return { error, progress, puts: cachePuts(cache).slice(before), source };
  }
}

const digests = (image: BuiltImage): Digest[] => image.images[0].layers.map((l) => l.descriptor.digest);

describe('scanImage with layers read in parallel: the same as one after another', () => {
  const image = buildImage({ layers: LAYERS });

  it.each([2, 3, 4, 16])('every check on, %i layers at once: same report, cache writes and progress events', async (n) => {
    const one = await scan(image, 1);
    const many = await scan(image, n);
    expect(one.error).toBeUndefined();
    // The image is worth comparing: packages from several layers, a secret, and a whited-out EICAR that the layer cache keeps.
    const img = one.result!.images[0];
    expect(img.packages.map((p) => p.name).sort()).toEqual(['bash', 'github.com/google/uuid', 'libssl3', 'lodash', 'zlib1g']);
    expect(img.findings.map((f) => f.type)).toEqual(expect.arrayContaining(['malware', 'secret']));
    expect(one.progress.map((p) => p.layersDone)).toEqual([1, 2, 3, 4]);
    expect(many.result).toEqual(one.result);
    expect(JSON.stringify(many.result)).toBe(JSON.stringify(one.result));
    expect(many.progress).toEqual(one.progress);
    expect(many.puts).toEqual(one.puts);
    expect(many.puts).toHaveLength(4);
    // Bounded: one blob at a time in sequence, never more than asked for in parallel.
    expect(one.source.maxOpen).toBe(1);
    expect(many.source.maxOpen).toBeLessThanOrEqual(n);
  });

  it('a warm cache: every layer from it, the same as in sequence', async () => {
    const [one, many] = [new LoggingCache(), new LoggingCache()];
    await scan(image, 1, { cache: one });
    await scan(image, 3, { cache: many });
    const warmOne = await scan(image, 1, { cache: one });
    const warmMany = await scan(image, 3, { cache: many });
    expect(warmMany.source.layersOpened).toEqual([]);
    expect(warmMany.progress.map((p) => p.cached)).toEqual([true, true, true, true]);
    expect(warmMany.progress).toEqual(warmOne.progress);
    expect(JSON.stringify(warmMany.result)).toBe(JSON.stringify(warmOne.result));
  });

  it('a layer repeated in one image is read once and taken from the cache the second time, as in sequence', async () => {
    const repeated = buildImage({ layers: [LAYERS[0], LAYERS[3], LAYERS[0]] });
    const one = await scan(repeated, 1);
    const many = await scan(repeated, 3);
    expect(one.progress.map((p) => p.cached)).toEqual([false, false, true]);
    expect(many.progress).toEqual(one.progress);
    expect(many.puts).toEqual(one.puts);
    expect(many.result).toEqual(one.result);
  });
});

describe('scanImage with layers read in parallel: failures', () => {
  const many = (n: number, size = 5): LayerSpec => ({ entries: Array.from({ length: n }, (_, i) => ({ path: `f${i}`, body: 'x'.repeat(size) })) });
  const big = { entries: filler(7, 60, 32 * 1024) };

  it.each<[string, BuiltImage, Limits]>([
    // Layer 1 is slow and over the cap; layer 3 is quick and over the cap too: layer 1's error is the report's.
    ['two layers over a cap: the lower one is named', buildImage({ layers: [many(3), { entries: [...big.entries, ...many(30).entries!] }, many(3), many(40)] }), resolveLimits({ maxEntries: 25 })],
    // Layer 1 hits a cap; layer 2's config lies about its diff_id, which alone would abort the scan: a sequential scan never got there.
    ['a cap below a lying diff_id: quarantined, not aborted', buildImage({ layers: [many(3), { entries: [...big.entries, ...many(30).entries!] }, many(4)], corrupt: { diffIds: [2] } }), resolveLimits({ maxEntries: 25 })],
    // The other way round: the lying diff_id is lower, so the scan aborts, whatever is found above it.
    ['a lying diff_id below a cap: aborted', buildImage({ layers: [many(3), { entries: big.entries }, many(40)], corrupt: { diffIds: [1] } }), resolveLimits({ maxEntries: 90 })],
    ['a corrupt blob in the middle', buildImage({ layers: [big, many(3), big, many(2)], corrupt: { layerBytes: [1] } }), DEFAULT_LIMITS],
    ['a mislabelled layer at the top', buildImage({ layers: [big, many(3), { ...many(2), mediaType: 'application/x-unknown' }] }), DEFAULT_LIMITS],
  ])('%s: the same outcome and cache writes as in sequence, no stream left open', async (_name, image, limits) => {
    const one = await scan(image, 1, { limits });
    for (const n of [2, 4]) {
      const par = await scan(image, n, { limits });
      expect(par.error).toEqual(one.error);
      if (one.error) expect(par.error).toBeInstanceOf((one.error as Error).constructor);
      expect(JSON.stringify(par.result)).toBe(JSON.stringify(one.result));
      expect(par.progress).toEqual(one.progress);
      expect(par.puts).toEqual(one.puts);
      expect(par.source.streams.every((s) => s.destroyed)).toBe(true);
    }
    // The table is worth running: every case fails (quarantine or abort), and the sequential scan cached the layers below.
    expect(one.error !== undefined || one.result!.verdict.status === 'quarantined').toBe(true);
  });

  it('an upper layer that never ends is aborted when a lower one fails (the scan does not hang)', async () => {
    const image = buildImage({ layers: [many(3), many(40), many(2)] });
    const limits = resolveLimits({ maxEntries: 25 });
    const hanging = new Set([digests(image)[2]]);
    const one = await scan(image, 1, { limits, hanging });
    const par = await scan(image, 3, { limits, hanging });
    expect(one.result!.images[0].findings).toEqual([expect.objectContaining({ type: 'unscannable', id: 'LIMIT_EXCEEDED' })]);
    expect(par.result).toEqual(one.result);
    // The sequential scan never opened the hanging blob; the parallel one did, and closed it.
    expect(one.source.layersOpened).toEqual(digests(image).slice(0, 2));
    expect(par.source.layersOpened).toEqual(expect.arrayContaining(digests(image)));
    expect(par.source.streams.every((s) => s.destroyed)).toBe(true);
  });

  it('a lying diff_id aborts the scan with DigestMismatchError at any concurrency (RELIABILITY.md 19)', async () => {
    const image = buildImage({ layers: [many(3), many(2)], corrupt: { diffIds: [0] } });
    for (const n of [1, 2]) expect((await scan(image, n)).error).toBeInstanceOf(DigestMismatchError);
  });
});
