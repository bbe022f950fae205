import { PassThrough } from 'node:stream';
import { main } from '../../lib/cli/main';

/** Runs the CLI in-process, as `trustctl <args>`, capturing its output and exit code. */
export async function trustctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(['node', 'trustctl', ...args], { stdout, stderr });
  return { code, out, err };
}
