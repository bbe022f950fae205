/**
 * The local stand-ins `trustctl pipeline` starts when it is not given endpoints: DynamoDB Local
 * (./dynamodb-local.ts), fauxqs (./fauxqs.ts) and, for the demo, Debian's `docker-registry` standing in
 * for ECR — every one on 127.0.0.1, every one stopped with the pipeline.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustError } from '../../engine/errors';
import { freePort, spawnGroup } from '../process-group';

/** A local server could not be started. */
export class LocalServerError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCAL_SERVER', message, options);
  }
}

/** A running docker-registry: `host` is `127.0.0.1:<port>`. */
export interface LocalRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

/** Starts `docker-registry` (apt package docker-registry) with anonymous access and storage in a temporary folder. */
export async function startLocalRegistry(opts: { timeoutMs?: number } = {}): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-pipeline-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  const config = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: host, secret: randomBytes(16).toString('hex') },
  };
  writeFileSync(join(dir, 'config.yml'), JSON.stringify(config));
  const proc = spawnGroup('docker-registry', ['serve', join(dir, 'config.yml')], { cwd: dir, cleanup: dir });
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    if (proc.exited()) throw new LocalServerError(`docker-registry exited: ${proc.output().slice(-500)} (install it: apt-get install docker-registry)`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      if (res.status === 200) return { host, stop: proc.stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new LocalServerError(`docker-registry did not answer on ${host}: ${proc.output().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
