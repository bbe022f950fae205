/**
 * Heap held per entry after a layer is read (not a benchmark: a probe for the memory figure).
 * `tsx --expose-gc bench/layer-throughput/heap-probe.ts <file> <mediaType>` prints
 * { entries, heapUsedMiB, bytesPerEntry, maxRssMiB }.
 */
import { createReadStream } from 'node:fs';
import { CATALOGERS } from '../../lib/engine/catalog/catalogers';
import { readLayer } from '../../lib/engine/layers/layer-reader';
import { resolveLimits } from '../../lib/engine/limits';
import type { Digest } from '../../lib/engine/model';

const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const [file, mediaType] = process.argv.slice(2);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const r = await readLayer(createReadStream(file, { highWaterMark: 1 << 20 }), {
    layerDigest: `sha256:${'0'.repeat(64)}` as Digest,
    mediaType,
    limits: resolveLimits({ maxLayerBytes: 64 * 1024 ** 3, maxEntries: 10_000_000 }),
    wants: (p) => CATALOGERS.some((c) => c.wants(p)),
  });
  gc?.();
  const held = process.memoryUsage().heapUsed - before;
  const n = r.entries.size;
  process.stdout.write(JSON.stringify({
    entries: n, capturedMiB: r.capturedBytes / 1048576, heapUsedMiB: held / 1048576,
    bytesPerEntryExclBodies: (held - r.capturedBytes) / n, maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n');
}
void main();
