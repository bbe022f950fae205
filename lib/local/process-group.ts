import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';

/**
 * Local servers as child processes (DynamoDB Local, docker-registry, clamd): each leads its own
 * process group so that stopping it — or this process dying — takes everything it started along.
 */

/** A server process we started, in its own process group. */
export interface GroupProcess {
  readonly child: ChildProcess;
  /** What it printed so far (first 64 KiB of stdout and stderr). */
  output(): string;
  /** True once it has exited. */
  exited(): boolean;
  /** SIGTERM to the whole group, SIGKILL after 5 s, then removes `cleanup` (idempotent). */
  stop(): Promise<void>;
}

/**
 * Spawns a server detached, so it leads its own process group: `stop()` signals it and anything
 * it started at once, and if the test process exits without `afterAll` (a crash) the group is killed
 * rather than left listening. `cleanup` is a temporary folder removed after the stop.
 */
export function spawnGroup(command: string, args: readonly string[], opts: { cwd: string; cleanup?: string }): GroupProcess {
  const child = spawn(command, [...args], { cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const append = (b: Buffer): void => {
    if (out.length < 64 * 1024) out += b.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const onExit = (): void => killGroup('SIGKILL');
  process.once('exit', onExit);
  let stopped = false;
  return {
    child,
    output: () => out,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Children that outlived the leader (none are expected) go with the group.
      killGroup('SIGKILL');
      process.removeListener('exit', onExit);
      if (opts.cleanup) rmSync(opts.cleanup, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
