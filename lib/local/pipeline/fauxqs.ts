/**
 * fauxqs 1.9 (an in-memory SQS-protocol server; 2.x needs Node 22) as a child process on 127.0.0.1,
 * for the local pipeline and the tests: the real `@aws-sdk/client-sqs` talks to it as to SQS,
 * redrive policies and visibility timeouts included.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TrustError } from '../../engine/errors';

/** fauxqs could not be started. */
export class FauxqsStartError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FAUXQS_START', message, options);
  }
}

/** A running fauxqs. */
export interface FauxqsServer {
  /** `http://127.0.0.1:<port>`: the SQS client's endpoint. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts fauxqs on a free loopback port and resolves once it listens. */
export function startFauxqs(opts: { timeoutMs?: number } = {}): Promise<FauxqsServer> {
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [join(__dirname, 'fauxqs-main.mjs')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FAUXQS_PORT: '0' } });
  } catch (e) {
    return Promise.reject(new FauxqsStartError('cannot spawn fauxqs', { cause: e }));
  }
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new FauxqsStartError(`fauxqs did not start within ${opts.timeoutMs ?? 15_000} ms: ${out.slice(-500)}`));
    }, opts.timeoutMs ?? 15_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /fauxqs listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      resolve({
        endpoint: m[1],
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new FauxqsStartError(`fauxqs exited (${code}) before listening: ${out.slice(-500)} — is the devDependency installed (npm ci)?`));
    });
  });
}
