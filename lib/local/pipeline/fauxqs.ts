/**
 * fauxqs 1.9 (an in-memory SQS-protocol server; 2.x needs Node 22) as a child process on 127.0.0.1,
 * for the local pipeline and the tests: the real `@aws-sdk/client-sqs` talks to it as to SQS,
 * redrive policies and visibility timeouts included. fauxqs is ESM-only, so a CommonJS process cannot
 * load it: the child imports it. Its bin always listens on 0.0.0.0; the child uses the package's own
 * `buildApp` and listens on loopback only, so nothing outside this machine reaches the queues.
 */
import { resolve } from 'node:path';
import { TrustError } from '../../engine/errors';
import { type GroupProcess, spawnGroup } from '../process-group';

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

/** The repository root: where `node_modules/fauxqs` resolves from. */
const ROOT = resolve(__dirname, '..', '..', '..');

const SCRIPT = `
import { buildApp } from 'fauxqs';
const app = buildApp({ logger: false });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write('FAUXQS_LISTENING ' + address + '\\n');
const stop = () => app.close().then(() => process.exit(0), () => process.exit(1));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/** Starts fauxqs on a free loopback port and resolves once it listens; always `stop()` it. */
export async function startFauxqs(opts: { timeoutMs?: number } = {}): Promise<FauxqsServer> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const proc: GroupProcess = spawnGroup(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /FAUXQS_LISTENING (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output());
    if (m) return { endpoint: m[1], stop: proc.stop };
    if (proc.exited()) throw new FauxqsStartError(`fauxqs exited before listening — is the devDependency installed (npm ci)?\n${proc.output().slice(-500)}`);
    if (Date.now() > deadline) {
      await proc.stop();
      throw new FauxqsStartError(`fauxqs did not start within ${timeoutMs} ms:\n${proc.output().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
