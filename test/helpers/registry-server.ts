import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { freePort } from '../../lib/local/process-group';
import { type TokenServer, startTokenServer } from './token-server';

/**
 * Starts Debian's `docker-registry` (the CNCF distribution registry 2.8) on 127.0.0.1 with filesystem
 * storage in a temporary directory — a real registry for the client's tests (DESIGN.md "Real parts").
 *
 * - `auth: 'none'`: anonymous push and pull.
 * - `auth: 'htpasswd'`: HTTP Basic against a bcrypt htpasswd file (cost 5, for speed).
 * - `auth: 'token'`: Bearer tokens from an in-process token server; the signing key and a self-signed
 *   certificate are made with `openssl req -x509`, the certificate is the registry's rootcertbundle.
 */

/** Options of {@link startRegistry}. */
export interface RegistryServerOptions {
  readonly auth?: 'none' | 'htpasswd' | 'token';
  /** Users for htpasswd and token modes. Default `{ alice: 'wonderland-secret' }`. */
  readonly users?: Readonly<Record<string, string>>;
  /** Token mode: anonymous requests get pull access. */
  readonly anonymousPull?: boolean;
  /** Milliseconds to wait for the registry to answer `/v2/`. Default 15 000. */
  readonly startTimeoutMs?: number;
}

/** A running registry. */
export interface RegistryServer {
  /** `127.0.0.1:<port>`, what an image reference names. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly dir: string;
  readonly users: Readonly<Record<string, string>>;
  /** The token server in token mode. */
  readonly tokenServer?: TokenServer;
  /** What the registry printed (for failures). */
  output(): string;
  stop(): Promise<void>;
}

const TOKEN_SERVICE = 'trustctl-test-registry';
const TOKEN_ISSUER = 'trustctl-test-issuer';

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      // 200 (no auth) or 401 (auth configured): the API is serving.
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer ${url}/v2/ within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a registry; always `stop()` it (afterAll). */
export async function startRegistry(opts: RegistryServerOptions = {}): Promise<RegistryServer> {
  const mode = opts.auth ?? 'none';
  const users = opts.users ?? { alice: 'wonderland-secret' };
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let tokenServer: TokenServer | undefined;
  let auth: Record<string, unknown> | undefined;
  if (mode === 'htpasswd') {
    const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
    writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    auth = { htpasswd: { realm: 'trustctl-test', path: join(dir, 'htpasswd') } };
  } else if (mode === 'token') {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'token.key'), '-out', join(dir, 'token.crt'), '-days', '2', '-subj', '/CN=trustctl-test-token-issuer'], { stdio: 'pipe' });
    tokenServer = await startTokenServer({
      service: TOKEN_SERVICE,
      issuer: TOKEN_ISSUER,
      keyPem: readFileSync(join(dir, 'token.key'), 'utf8'),
      certPem: readFileSync(join(dir, 'token.crt'), 'utf8'),
      users,
      anonymousPull: opts.anonymousPull,
    });
    auth = { token: { realm: tokenServer.realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: join(dir, 'token.crt') } };
  }
  // JSON is YAML: the registry's configuration parser reads it as is.
  const config = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: host, secret: randomBytes(16).toString('hex') },
    ...(auth ? { auth } : {}),
  };
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  // The registry reads REGISTRY_* variables as config overrides: start it without any from our environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const child = spawn('docker-registry', ['serve', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const append = (b: Buffer): void => {
    if (out.length < 64 * 1024) out += b.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(`http://${host}`, child, opts.startTimeoutMs ?? 15_000, () => out);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, url: `http://${host}`, dir, users, tokenServer, output: () => out, stop };
}

export { freePort };
