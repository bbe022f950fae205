/**
 * One measurement in a fresh process (so that peak RSS belongs to it alone). Prints one JSON line:
 * { ms, cpuMs, maxRssMiB, entries?, bytes? } — cpuMs is the process's user + system CPU time over the
 * same span, every thread (zlib's threadpool included): unlike ms, it hardly moves with the load of the machine.
 *   worker.ts gunzip <file.gz>        Node's zlib gunzip alone, output discarded (the physical limit)
 *   worker.ts unzstd <file.zst>       the zstd decoder we use (zlib's where present, else fzstd) alone
 *   worker.ts reader <file> <mediaType>  our layer reader capturing what every cataloger in CATALOGERS wants
 *   worker.ts reader-e113f7e <file> <mediaType>  the same with the reader as of commit e113f7e (the verbatim
 *                                        reference copy in test/engine/layers/reference, same tar parser and
 *                                        decoder): tells a change of the reader from load on the machine
 *   worker.ts scan <file> <mediaType>    what a cache miss costs in `trustctl scan`: the reader, every cataloger,
 *                                        and the layer record gzipped as the file cache writes it
 *   worker.ts checks <file> <mediaType>  the same plus every check of checks.ts (malware with the built-in
 *                                        signatures, secrets) streaming every body as it passes
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { gzipSync } from 'node:zlib';
import { CATALOGERS } from '../../lib/engine/catalog/catalogers';
import { catalogLayer } from '../../lib/engine/catalog/inventory';
import { osWants } from '../../lib/engine/catalog/os';
import { toLayerRecord } from '../../lib/engine/layers/layer-record';
import { captureRules, openFileChecks } from '../../lib/engine/scan-image';
import { allChecks } from '../../lib/engine/checks/checks';
import { readLayer } from '../../lib/engine/layers/layer-reader';
import { readLayer as readLayerE113f7e } from '../../test/engine/layers/reference/layer-reader-v1';
import { createDecompressor } from '../../lib/engine/layers/decompress';
import { DEFAULT_LIMITS, resolveLimits } from '../../lib/engine/limits';
import type { Digest } from '../../lib/engine/model';

/** The union of what every registered cataloger asks for: the real workload, not a hand-made list. */
const wantsOfAllCatalogers = (path: string): boolean => CATALOGERS.some((c) => c.wants(path));

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

async function main(): Promise<void> {
  const [mode, file, mediaType] = process.argv.slice(2);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out: Record<string, number> = {};
  if (mode === 'gunzip') {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createGunzip({ chunkSize: 128 * 1024 }), sink());
  } else if (mode === 'unzstd') {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createDecompressor('zstd', DEFAULT_LIMITS), sink());
  } else if (mode === 'scan' || mode === 'checks') {
    const limits = resolveLimits({ maxLayerBytes: 64 * 1024 ** 3, maxEntries: 10_000_000 });
    const checks = mode === 'checks' ? allChecks() : [];
    const layerDigest = `sha256:${'0'.repeat(64)}` as Digest;
    const runs = openFileChecks(layerDigest, checks);
    const r = await readLayer(createReadStream(file, { highWaterMark: 1 << 20 }), {
      layerDigest,
      mediaType,
      limits,
      ...captureRules(CATALOGERS, checks),
      consumers: runs.consumers,
    });
    const inv = catalogLayer(r);
    const checked = await runs.finish();
    out.examinedBytes = r.coverage?.bytesExaminedInFull ?? 0;
    out.findings = checked.findings.length;
    out.checkUnknowns = checked.unknowns.length;
    out.captured = r.capturedBytes;
    const record = gzipSync(JSON.stringify({ record: toLayerRecord(r, osWants), packages: inv.packages, unknowns: inv.unknowns }), { level: 1 });
    out.entries = r.entryCount;
    out.packages = inv.packages.length;
    out.recordBytes = record.length;
  } else if (mode === 'reader' || mode === 'reader-e113f7e') {
    const limits = resolveLimits({ maxLayerBytes: 64 * 1024 ** 3, maxEntries: 10_000_000 });
    const read = mode === 'reader' ? readLayer : readLayerE113f7e;
    const r = await read(createReadStream(file, { highWaterMark: 1 << 20 }), {
      layerDigest: `sha256:${'0'.repeat(64)}` as Digest,
      mediaType,
      limits,
      wants: wantsOfAllCatalogers,
    });
    out.entries = r.entryCount;
    out.bytes = r.uncompressedBytes;
    out.captured = r.capturedBytes;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024, ...out }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
