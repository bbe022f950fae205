import { PassThrough } from 'node:stream';
import { main, type CliIO } from '../../lib/cli/main';

/** Output sinks for the CLI in-process, and what was written to each so far. */
export function captureIO(): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { io: { stdout, stderr }, out: () => out, err: () => err };
}

/** Runs the CLI in-process, as `trustctl <args>`, capturing its output and exit code. */
export async function trustctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIO();
  const code = await main(['node', 'trustctl', ...args], c.io);
  return { code, out: c.out(), err: c.err() };
}
