/**
 * Builds the benchmark's layers from real files on this machine (deterministic: sorted walk, fixed
 * mtimes), cached under the OS temp dir so repeated runs measure, not build.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync, createWriteStream, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, renameSync, statSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { END_OF_ARCHIVE, entryBytes, type TarEntry } from '../../lib/local/builder/tar-writer';

export const BENCH_DIR = join(tmpdir(), 'trustctl-bench');

/** Real files (and the dirs and symlinks around them) from these roots, in sorted order. */
function* walk(root: string): Generator<{ host: string; st: Stats }> {
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const host = join(root, n);
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      continue;
    }
    yield { host, st };
    if (st.isDirectory()) yield* walk(host);
  }
}

function* realEntries(roots: readonly string[], maxEntries: number, maxBytes: number, maxFile: number): Generator<TarEntry> {
  let n = 0;
  let bytes = 0;
  for (const root of roots) {
    for (const { host, st } of walk(root)) {
      if (n >= maxEntries || bytes >= maxBytes) return;
      const path = host.slice(1);
      if (st.isDirectory()) yield { path: `${path}/`, type: 'dir', mode: st.mode & 0o7777, mtime: 1_700_000_000 };
      else if (st.isSymbolicLink()) yield { path, type: 'symlink', linkname: readlinkSync(host), mtime: 1_700_000_000 };
      else if (st.isFile() && st.size <= maxFile) {
        let body: Buffer;
        try {
          body = readFileSync(host);
        } catch {
          continue;
        }
        bytes += body.length;
        yield { path, body, mode: st.mode & 0o7777, mtime: 1_700_000_000 };
      } else continue;
      n++;
    }
  }
}

function tarStream(entries: Iterable<TarEntry>): Readable {
  return Readable.from(
    (function* () {
      for (const e of entries) yield* entryBytes(e);
      yield END_OF_ARCHIVE;
    })(),
  );
}

/** The ~100 MB gzip layer of ~40k real entries (and its uncompressed and zstd twins). */
export async function ensureRealLayer(): Promise<{ gz: string; zst: string; tar: string }> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const tar = join(BENCH_DIR, 'real.tar');
  const gz = join(BENCH_DIR, 'real.tar.gz');
  const zst = join(BENCH_DIR, 'real.tar.zst');
  if (!existsSync(tar)) {
    await pipeline(tarStream(realEntries(['/usr/share', '/usr/include', '/usr/lib'], 40_000, 240 * 1024 * 1024, 256 * 1024)), createWriteStream(`${tar}.part`));
    renameSync(`${tar}.part`, tar);
  }
  if (!existsSync(gz)) {
    await pipeline(Readable.from(readChunks(tar)), createGzip({ level: 6 }), createWriteStream(`${gz}.part`));
    renameSync(`${gz}.part`, gz);
  }
  if (!existsSync(zst)) {
    const r = spawnSync('zstd', ['-q', '-3', '-T0', '-f', '-o', zst, tar]);
    if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  }
  return { gz, zst, tar };
}

function* readChunks(file: string): Generator<Buffer> {
  // Re-read in 1 MiB slices so the builder itself stays flat in memory.
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield Buffer.from(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A ~2 GB gzip layer for the memory-flatness figure: the real layer's entries repeated under new
 * names, compressed at level 1 (building it is not what we measure).
 */
export async function ensureBigLayer(targetBytes = 2 * 1024 * 1024 * 1024): Promise<string> {
  const { tar } = await ensureRealLayer();
  const gz = join(BENCH_DIR, `big-${targetBytes}.tar.gz`);
  if (existsSync(gz)) return gz;
  const base = statSync(tar).size;
  const copies = Math.ceil(targetBytes / base);
  const out = new PassThrough();
  const done = pipeline(out, createGzip({ level: 1 }), createWriteStream(`${gz}.part`));
  const entries = [...realEntries(['/usr/share', '/usr/include', '/usr/lib'], 40_000, 240 * 1024 * 1024, 256 * 1024)];
  for (let c = 0; c < copies; c++) {
    for (const e of entries) {
      for (const b of entryBytes({ ...e, path: `copy${c}/${e.path}` })) {
        if (!out.write(b)) await new Promise((r) => out.once('drain', r));
      }
    }
  }
  out.end(END_OF_ARCHIVE);
  await done;
  renameSync(`${gz}.part`, gz);
  return gz;
}
