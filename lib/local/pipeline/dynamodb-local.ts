import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { freePort, spawnGroup } from '../process-group';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Starts DynamoDB Local — AWS's own DynamoDB emulator, the jar that ships inside the npm package
 * `amplify-dynamodb-simulator` (devDependency) — on the machine's `java`, in memory, for the tests of
 * lib/aws and for `trustctl pipeline` (DESIGN.md "Real parts": DynamoDB Local on 127.0.0.1 with the real `@aws-sdk/client-dynamodb`).
 * Documentation: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocal.UsageNotes.html
 *
 * Binding: DynamoDB Local has no host/bind option (`-help` of 1.25.1 lists only `-port`, `-inMemory`,
 * `-dbPath`, `-sharedDb`, `-cors`, `-delayTransientStatuses`, `-disableTelemetry`,
 * `-optimizeDbBeforeStartup`, `-version`): its Jetty listens on all interfaces (`*:<port>`). Tests
 * connect to 127.0.0.1 only; the port is a random free one and the server holds only throwaway
 * in-memory tables for the lifetime of one test file (or one `trustctl pipeline` run).
 *
 * It takes a few seconds to start (JVM + Jetty + SQLite): start it once per test file, in `beforeAll`.
 */

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`: the `endpoint` of a `DynamoDBClient`. */
  readonly endpoint: string;
  /** Milliseconds from spawning `java` until the server answered. */
  readonly startupMs: number;
  /** A new SDK client for it (us-east-1, DynamoDB Local's dummy credentials); the caller destroys it. */
  client(): DynamoDBClient;
  /** What the server printed (for failures). */
  output(): string;
  /** Kills the server's process group and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /** Milliseconds to wait for the server to answer. Default 60 000 (a loaded CI machine is slow to start a JVM). */
  readonly startTimeoutMs?: number;
  /** The Java launcher. Default `java` from PATH. */
  readonly java?: string;
}

/** The jar and its native-library folder inside the installed `amplify-dynamodb-simulator`. */
export function dynamoDbLocalJar(): { jar: string; libDir: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('amplify-dynamodb-simulator/package.json'));
  } catch (err) {
    throw new Error('npm package amplify-dynamodb-simulator is not installed (it is a devDependency: run `npm ci`)', { cause: err });
  }
  const jar = join(pkgDir, 'emulator', 'DynamoDBLocal.jar');
  const libDir = join(pkgDir, 'emulator', 'DynamoDBLocal_lib');
  if (!existsSync(jar) || !existsSync(libDir)) throw new Error(`DynamoDB Local jar not found in ${pkgDir}/emulator (expected DynamoDBLocal.jar and DynamoDBLocal_lib/)`);
  return { jar, libDir };
}

/** Fails with the package to install when there is no working `java`: the tests never skip. */
function requireJava(java: string): void {
  const r = spawnSync(java, ['-version'], { stdio: 'pipe' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `DynamoDB Local needs a Java runtime (11 or newer) and \`${java}\` was not found or does not run; ` +
        'install it with `apt-get install default-jre-headless`' + (r.error ? ` (${r.error.message})` : ''),
    );
  }
}

/** Polls until DynamoDB Local answers HTTP on `endpoint` (any DynamoDB response, even an auth error, means it is serving). */
async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    try {
      const res = await fetch(`${endpoint}/`, { method: 'POST' });
      await res.body?.cancel();
      // An unsigned request gets a DynamoDB error with a request id: the API handler is up, not just Jetty.
      if (res.headers.has('x-amzn-requestid')) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer ${endpoint} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts DynamoDB Local in memory on a free port; always `stop()` it (afterAll). */
export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const java = opts.java ?? 'java';
  requireJava(java);
  const { jar, libDir } = dynamoDbLocalJar();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // -inMemory writes no database file, but run in a scratch directory so nothing can land in the checkout.
  const cwd = mkdtempSync(join(tmpdir(), 'trustctl-dynamodb-local-'));
  const args = [
    // Start-up, not throughput, dominates a test file: C1 only and the serial collector start the JVM
    // about 40% faster on a 2-CPU machine.
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Djava.library.path=${libDir}`,
    '-jar', jar,
    '-inMemory',
    '-port', String(port),
    // Since 1.24.0 DynamoDB Local sends usage telemetry unless told not to; tests talk to nobody.
    '-disableTelemetry',
  ];
  const t0 = Date.now();
  const proc = spawnGroup(java, args, { cwd, cleanup: cwd });
  const child = proc.child;
  const stop = proc.stop;
  try {
    await waitUntilUp(endpoint, child, opts.startTimeoutMs ?? 60_000, proc.output);
  } catch (err) {
    await stop();
    throw err;
  }
  const client = (): DynamoDBClient => new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { endpoint, startupMs: Date.now() - t0, client, output: proc.output, stop };
}
