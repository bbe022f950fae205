import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuthError } from '../engine/errors';
import type { CredentialProvider, Credentials } from '../engine/registry/source';

/**
 * Credential providers for a developer machine or a CI job: the Docker CLI's config file (and its
 * credential helpers), the environment, and a chain of both. None of them logs or puts a secret in an
 * error message (DESIGN.md "No secret in logs").
 */

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The key a registry is known by in Docker's config: host[:port] without scheme or path, with Docker
 * Hub's many names (`https://index.docker.io/v1/`, `registry-1.docker.io`, `docker.io`) folded into one.
 */
export function normalizeRegistryKey(key: string): string {
  let k = key.trim().toLowerCase();
  k = k.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  k = k.split('/')[0];
  if (k === 'index.docker.io' || k === 'registry-1.docker.io' || k === 'registry.hub.docker.com') return 'docker.io';
  return k;
}

/**
 * `TRUSTCTL_REGISTRY_USER` / `TRUSTCTL_REGISTRY_PASSWORD` as Basic credentials. With
 * `TRUSTCTL_REGISTRY_HOST` (comma-separated hosts) they go only to those registries; without it, to
 * any registry asked for — set it when scanning public images, or the password travels there too.
 */
export class EnvCredentialProvider implements CredentialProvider {
  constructor(private readonly env: Env = process.env) {}

  async getCredentials(registry: string): Promise<Credentials | undefined> {
    const username = this.env.TRUSTCTL_REGISTRY_USER;
    const password = this.env.TRUSTCTL_REGISTRY_PASSWORD;
    if (!username || password === undefined) return undefined;
    const hosts = this.env.TRUSTCTL_REGISTRY_HOST;
    if (hosts && !hosts.split(',').map(normalizeRegistryKey).includes(normalizeRegistryKey(registry))) return undefined;
    return { kind: 'basic', username, password };
  }
}

/** One `auths` entry of Docker's config.json. */
interface DockerAuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

interface DockerConfig {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Options of {@link DockerConfigCredentialProvider}. */
export interface DockerConfigOptions {
  /** The config file; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  readonly configPath?: string;
  /** Environment for `DOCKER_CONFIG`, `HOME` and the helpers' `PATH`. Default `process.env`. */
  readonly env?: Env;
  /** Milliseconds a credential helper may take. Default 10 000. */
  readonly helperTimeoutMs?: number;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Credentials from the Docker CLI's config file, as `docker login` writes it (docker/cli
 * cli/config/configfile): `credHelpers[host]`, then `credsStore`, then `auths[host]` with `auth`
 * (base64 `user:password`) or `identitytoken` (an OAuth2 refresh token). Helpers are run as
 * `docker-credential-<name> get` with the server on stdin (docker/docker-credential-helpers protocol).
 */
export class DockerConfigCredentialProvider implements CredentialProvider {
  private config?: Promise<DockerConfig | undefined>;
  private readonly env: Env;

  constructor(private readonly opts: DockerConfigOptions = {}) {
    this.env = opts.env ?? process.env;
  }

  /** Path of the config file read. */
  get configPath(): string {
    if (this.opts.configPath) return this.opts.configPath;
    const dir = this.env.DOCKER_CONFIG || join(this.env.HOME || homedir(), '.docker');
    return join(dir, 'config.json');
  }

  private load(): Promise<DockerConfig | undefined> {
    this.config ??= (async () => {
      let text: string;
      try {
        text = await readFile(this.configPath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new AuthError(`cannot read Docker config ${this.configPath}`, { cause: err });
      }
      try {
        const doc = JSON.parse(text) as unknown;
        return typeof doc === 'object' && doc !== null ? (doc as DockerConfig) : undefined;
      } catch {
        // No cause: a JSON parse error quotes the file, which holds secrets.
        throw new AuthError(`Docker config ${this.configPath} is not valid JSON`);
      }
    })();
    return this.config;
  }

  async getCredentials(registry: string): Promise<Credentials | undefined> {
    const cfg = await this.load();
    if (!cfg) return undefined;
    const want = normalizeRegistryKey(registry);
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => normalizeRegistryKey(k) === want)?.[1] ?? cfg.credsStore;
    if (helper) {
      const fromHelper = await this.runHelper(helper, registry);
      if (fromHelper) return fromHelper;
    }
    const entry = Object.entries(cfg.auths ?? {}).find(([k]) => normalizeRegistryKey(k) === want)?.[1];
    if (!entry || typeof entry !== 'object') return undefined;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken) return { kind: 'token', token: entry.identitytoken };
    if (typeof entry.auth === 'string' && entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new AuthError(`Docker config entry for ${want} has a malformed auth field`);
      return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') return { kind: 'basic', username: entry.username, password: entry.password };
    return undefined;
  }

  private runHelper(name: string, registry: string): Promise<Credentials | undefined> {
    if (!HELPER_NAME.test(name)) return Promise.reject(new AuthError(`invalid credential helper name ${JSON.stringify(name.slice(0, 80))}`));
    // Docker Hub's helper entries are keyed by the v1 index URL (docker/cli registry.IndexServer).
    const server = normalizeRegistryKey(registry) === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
    return new Promise((resolve, reject) => {
      const child = execFile(
        `docker-credential-${name}`,
        ['get'],
        { env: { ...this.env } as NodeJS.ProcessEnv, timeout: this.opts.helperTimeoutMs ?? 10_000, maxBuffer: 1024 * 1024 },
        (err, stdout) => {
          if (err) {
            // "credentials not found" is a normal answer (exit 1); anything else is only reported by name.
            if (/not found/i.test(String(stdout))) return resolve(undefined);
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new AuthError(`credential helper docker-credential-${name} is not installed`));
            return resolve(undefined);
          }
          try {
            const doc = JSON.parse(String(stdout)) as { Username?: unknown; Secret?: unknown };
            if (typeof doc.Secret !== 'string' || !doc.Secret) return resolve(undefined);
            // docker/cli: a helper answering Username "<token>" holds an identity token.
            if (doc.Username === '<token>') return resolve({ kind: 'token', token: doc.Secret });
            if (typeof doc.Username !== 'string') return resolve(undefined);
            resolve({ kind: 'basic', username: doc.Username, password: doc.Secret });
          } catch {
            reject(new AuthError(`credential helper docker-credential-${name} answered something that is not JSON`));
          }
        },
      );
      child.stdin?.end(server);
    });
  }
}

/** Asks each provider in turn; the first that has credentials for the registry wins. */
export class ChainCredentialProvider implements CredentialProvider {
  constructor(private readonly providers: readonly CredentialProvider[]) {}

  async getCredentials(registry: string): Promise<Credentials | undefined> {
    for (const p of this.providers) {
      const c = await p.getCredentials(registry);
      if (c) return c;
    }
    return undefined;
  }
}

/** The CLI's default: the environment first (CI), then the Docker config (a developer's `docker login`). */
export function defaultCredentialProvider(env: Env = process.env): CredentialProvider {
  return new ChainCredentialProvider([new EnvCredentialProvider(env), new DockerConfigCredentialProvider({ env })]);
}
