import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS, resolveLimits, type Limits } from '../../lib/engine/limits';
import type { Descriptor, Digest } from '../../lib/engine/model';
import { scanImage, type ScanOptions, type ScanProgress, type ScanResult } from '../../lib/engine/scan-image';
import { checksFromSpec, type LayerWorkerSpec } from '../../lib/engine/layer-worker/wire';
import { closeLayerWorkers, sharedLayerWorkerPool } from '../../lib/engine/layer-worker/pool';
import { EICAR_STRING } from '../../lib/engine/checks/malware/signatures';
import { buildImage, type BuiltImage, type LayerSpec } from '../../lib/local/builder/image-builder';
import type { TarEntry } from '../../lib/local/builder/tar-writer';
import { MemorySource } from '../helpers/memory-source';
import { cachePuts, LoggingCache, WatchedSource } from '../helpers/watched-scan';
import { emptyAdvisories } from '../helpers/advisories';
import { mulberry32 } from '../helpers/prng';

/**
 * Issue 16 items 1–2, differential: layers read on worker threads (`ScanOptions.workers`) give exactly
 * what reading them on the main thread gives — the report, every cache write and every progress event
 * — and fail the same way: unscannable layers quarantine, integrity errors abort with their own class.
 */
jest.setTimeout(60_000);
afterAll(() => closeLayerWorkers());

const advisories = emptyAdvisories();
const NOW = new Date('2026-12-07T00:00:00Z');
const stanza = (name: string, version: string): string => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;
const pkgJson = (name: string, version: string): string => JSON.stringify({ name, version });

/** Random-looking bodies (gzip cannot make them vanish): a layer that takes a while to read. */
function filler(seed: number, files: number, bytes: number): TarEntry[] {
  const next = mulberry32(seed);
  return Array.from({ length: files }, (_, i) => ({ path: `usr/lib/filler${seed}/f${i}.bin`, body: Buffer.from(Array.from({ length: bytes }, () => (next() * 256) & 0xff)) }));
}

/** A body only the pattern rule of {@link SPEC_FILES} and the blocklist catch. */
const MINER = 'pool: stratum+tcp://mine.example:3333\n';
const BLOCKED = 'a file whose sha256 is on the blocklist\n';

const LAYERS: readonly LayerSpec[] = [
  { entries: [
    { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' },
    { path: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/bash\n' },
    { path: 'var/lib/dpkg/status', body: stanza('bash', '5.2.15-2+b2') + stanza('libssl3', '3.0.11-1~deb12u2') },
    { path: 'app/node_modules/left-pad/package.json', body: pkgJson('left-pad', '1.3.0') },
    { path: 'usr/bin/su', body: 'setuid', mode: 0o4755 },
    ...filler(1, 40, 16 * 1024),
  ] },
  { compression: 'zstd', entries: [
    { path: 'app/node_modules/.wh.left-pad' },
    { path: 'app/node_modules/lodash/package.json', body: pkgJson('lodash', '4.17.20') },
    { path: 'tmp/eicar.com', body: EICAR_STRING },
    { path: 'app/.env', body: `GITHUB_TOKEN=${'gh' + 'p_'}${'FAKE0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, 36)}\n` },
    { path: 'opt/miner.conf', body: MINER },
    { path: 'opt/blocked.bin', body: BLOCKED },
  ] },
  { entries: [
    // The status file behind a same-layer hardlink: the layer's second pass over the blob.
    { path: 'x', body: stanza('zlib1g', '1:1.2.13.dfsg-1') },
    { path: 'var/lib/dpkg/status.d/zlib1g', type: 'hardlink', linkname: 'x' },
    { path: 'app/go.mod', body: 'module example.com/app\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n' },
    { path: 'app/requirements.txt', body: 'requests==2.31.0\n' },
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
  /** Layers a worker answered. */
  readonly onWorkers: number;
}

const dir = mkdtempSync(join(tmpdir(), 'trustctl-workers-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rules = join(dir, 'miner.rules');
const blocklist = join(dir, 'blocklist.txt');
writeFileSync(rules, 'Test.Miner-Pool: "stratum+tcp://"\n');
writeFileSync(blocklist, `${createHash('sha256').update(BLOCKED).digest('hex')}  blocked.bin\n`);
/** Every check on, with signature files (their fingerprint is part of the checks' version). */
const SPEC: LayerWorkerSpec = { checks: { signatures: { blocklists: [blocklist], patterns: [rules] } } };

async function scan(image: BuiltImage, workers: LayerWorkerSpec | undefined, opts: { concurrency?: number; limits?: Limits; hanging?: ReadonlySet<Digest>; checksSpec?: LayerWorkerSpec } = {}): Promise<Run> {
  const cache = new LoggingCache();
  const source = new WatchedSource(MemorySource.fromBuilt(image), opts.hanging);
  const progress: ScanProgress[] = [];
  const before = sharedLayerWorkerPool(1).answered;
  const scanOpts: ScanOptions = {
    limits: opts.limits ?? DEFAULT_LIMITS, advisories, checks: await checksFromSpec(opts.checksSpec ?? SPEC), cache, now: () => NOW,
    onProgress: (p) => progress.push(p), layerConcurrency: opts.concurrency ?? 2, ...(workers ? { workers } : {}),
  };
  const done = (r: { result?: ScanResult; error?: unknown }): Run => ({ ...r, progress, puts: cachePuts(cache), source, onWorkers: sharedLayerWorkerPool(1).answered - before });
  try {
    return done({ result: await scanImage(source, scanOpts) });
  } catch (error) {
    return done({ error });
  }
}

describe('scanImage on layer workers: the same as on the main thread', () => {
  const image = buildImage({ layers: LAYERS });

  it.each([2, 4])('every check on, %i layers at once: same report, cache writes and progress events', async (n) => {
    const here = await scan(image, undefined, { concurrency: n });
    const there = await scan(image, SPEC, { concurrency: n });
    expect(here.error).toBeUndefined();
    expect(there.error).toBeUndefined();
    // Worth comparing: packages from several catalogers and layers (one behind a hardlink's second pass),
    // malware by built-in, pattern and blocklist signatures, a secret, a setuid binary.
    const img = here.result!.images[0];
    expect(img.packages.map((p) => p.name).sort()).toEqual(['bash', 'github.com/google/uuid', 'libssl3', 'lodash', 'requests', 'zlib1g']);
    expect(img.findings.filter((f) => f.type === 'malware').map((f) => f.id).sort()).toEqual(['EICAR-Test-File', 'Test.Miner-Pool', 'blocked.bin']);
    expect(img.findings.map((f) => f.type)).toEqual(expect.arrayContaining(['secret', 'misconfig']));
    expect(here.onWorkers).toBe(0);
    expect(there.onWorkers).toBe(4);
    expect(JSON.stringify(there.result)).toBe(JSON.stringify(here.result));
    expect(there.result).toEqual(here.result);
    expect(there.progress).toEqual(here.progress);
    expect(there.puts).toEqual(here.puts);
    expect(there.puts).toHaveLength(4);
    expect(there.source.streams.every((s) => s.destroyed)).toBe(true);
  });

  it.each<[string, LayerWorkerSpec | undefined, Partial<Parameters<typeof scan>[2]>]>([
    // The scan's checks are not what the spec stands for (no signature files): never a worker's answer.
    ['a spec whose checks differ from the scan\'s', { checks: {} }, {}],
    ['no checks in the spec, checks in the scan', {}, {}],
    ['one layer at a time: nothing to run side by side', SPEC, { concurrency: 1 }],
  ])('%s: read on the main thread, the same result', async (_name, workers, opts) => {
    const here = await scan(image, undefined, opts);
    const there = await scan(image, workers, opts);
    expect(there.onWorkers).toBe(0);
    expect(JSON.stringify(there.result)).toBe(JSON.stringify(here.result));
    expect(there.puts).toEqual(here.puts);
  });
});

describe('scanImage on layer workers: failures', () => {
  const many = (n: number, size = 5): LayerSpec => ({ entries: Array.from({ length: n }, (_, i) => ({ path: `f${i}`, body: 'x'.repeat(size) })) });
  const big = { entries: filler(7, 60, 32 * 1024) };

  it.each<[string, BuiltImage, Limits, string]>([
    ['a layer over a cap: quarantined as unscannable', buildImage({ layers: [many(3), { entries: [...big.entries, ...many(30).entries!] }, many(3), many(40)] }), resolveLimits({ maxEntries: 25 }), 'LIMIT_EXCEEDED'],
    ['a cap below a lying diff_id: quarantined, not aborted', buildImage({ layers: [many(3), { entries: [...big.entries, ...many(30).entries!] }, many(4)], corrupt: { diffIds: [2] } }), resolveLimits({ maxEntries: 25 }), 'LIMIT_EXCEEDED'],
    ['a lying diff_id below a cap: aborted with DigestMismatchError', buildImage({ layers: [many(3), { entries: big.entries }, many(40)], corrupt: { diffIds: [1] } }), resolveLimits({ maxEntries: 90 }), 'DIGEST_MISMATCH'],
    ['a corrupt blob (digest mismatch) in the middle', buildImage({ layers: [big, many(3), big, many(2)], corrupt: { layerBytes: [1] } }), DEFAULT_LIMITS, 'DIGEST_MISMATCH'],
    ['a mislabelled layer at the top: unscannable', buildImage({ layers: [big, many(3), { ...many(2), mediaType: 'application/x-unknown' }] }), DEFAULT_LIMITS, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a corrupt gzip stream under a true digest: unscannable', corruptGzipImage(), DEFAULT_LIMITS, 'BAD_COMPRESSION'],
  ])('%s: the same outcome, error class and cache writes as on the main thread', async (_name, image, limits, code) => {
    const here = await scan(image, undefined, { limits, concurrency: 3 });
    const there = await scan(image, SPEC, { limits, concurrency: 3 });
    expect(there.onWorkers).toBeGreaterThan(0);
    const outcome = (r: Run): string => (r.error ? (r.error as { code: string }).code : r.result!.images[0].findings.find((f) => f.type === 'unscannable')!.id);
    expect(outcome(here)).toBe(code);
    expect(outcome(there)).toBe(code);
    if (here.error) {
      expect(there.error).toBeInstanceOf((here.error as Error).constructor);
      expect(there.error).toEqual(here.error);
    }
    expect(JSON.stringify(there.result)).toBe(JSON.stringify(here.result));
    expect(there.progress).toEqual(here.progress);
    expect(there.puts).toEqual(here.puts);
    expect(there.source.streams.every((s) => s.destroyed)).toBe(true);
  });

  it('an upper layer that never ends is aborted when a lower one fails: its worker is dropped, the scan does not hang', async () => {
    const image = buildImage({ layers: [many(3), many(40), many(2)] });
    const limits = resolveLimits({ maxEntries: 25 });
    const hanging = new Set([image.images[0].layers[2].descriptor.digest]);
    const here = await scan(image, undefined, { limits, hanging, concurrency: 3 });
    const there = await scan(image, SPEC, { limits, hanging, concurrency: 3 });
    expect(here.result!.images[0].findings).toEqual([expect.objectContaining({ type: 'unscannable', id: 'LIMIT_EXCEEDED' })]);
    expect(there.result).toEqual(here.result);
    expect(there.source.streams.every((s) => s.destroyed)).toBe(true);
    // And the pool still serves the next scan.
    const again = await scan(buildImage({ layers: LAYERS }), SPEC);
    expect(again.onWorkers).toBe(4);
  });
});

/** One gzip layer with its deflate data broken, stored under the broken blob's own (true) digest. */
function corruptGzipImage(): BuiltImage {
  const image = buildImage({ layers: [{ entries: filler(9, 4, 4096) }, { entries: filler(10, 20, 16 * 1024) }] });
  // Rebuild the second layer's blob with a flipped byte and a descriptor that tells its true digest:
  // the source verifies it, so only the decompressor can object.
  return rewriteLayer(image, 1, (blob) => {
    const b = Buffer.from(blob);
    b[b.length >> 1] ^= 0xff;
    return b;
  });
}

/** `image` with layer `i`'s blob replaced by `f(blob)` under its true digest and size (manifest rewritten). */
function rewriteLayer(image: BuiltImage, i: number, f: (blob: Buffer) => Buffer): BuiltImage {
  const old = image.images[0].layers[i].descriptor;
  const blob = f(image.blobs.get(old.digest)!);
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}` as Digest;
  const manifest = JSON.parse(image.manifests[0]?.bytes.toString('utf8') ?? image.root.bytes.toString('utf8')) as { layers: Descriptor[] };
  manifest.layers[i] = { ...manifest.layers[i], digest, size: blob.length };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map(image.blobs);
  blobs.set(digest, blob);
  const root = { ...image.root, bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest };
  return { ...image, root, manifests: [], blobs, images: image.images.map((im) => ({ ...im, layers: im.layers.map((l, k) => (k === i ? { ...l, descriptor: { ...l.descriptor, digest, size: blob.length } } : l)) })) };
}
