import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { type Digest, sha256Digest } from '../../../../lib/engine/model';
import type { ImageSource } from '../../../../lib/engine/registry/source';

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'trustctl-archive-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a stream in full. */
export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * Decompresses a layer independently of our own code: gzip with zlib, zstd with the `zstd -d` CLI,
 * detected by magic bytes (not by the media type under test).
 */
export function decompress(blob: Buffer): Buffer {
  if (blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
  if (blob.length >= 4 && blob.readUInt32LE(0) === 0xfd2fb528) {
    const r = spawnSync('zstd', ['-d', '-c', '-q'], { input: blob, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`zstd -d failed: ${r.stderr.toString()}`);
    return r.stdout;
  }
  return blob;
}

/** The diff_id of a layer blob: sha256 of its decompressed bytes. */
export function diffIdOf(blob: Buffer): Digest {
  return sha256Digest(decompress(blob));
}

/** Runs a command, failing the test with its stderr when it fails. */
export function run(cmd: string, args: string[], opts: { input?: Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { input: opts.input, env: { ...process.env, ...opts.env }, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout.toString('utf8');
}

/** Closes a source when it has a close method. */
export async function closeSource(s: ImageSource): Promise<void> {
  await s.close?.();
}
