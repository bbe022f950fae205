import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthError } from '../../lib/engine/errors';
import type { CredentialProvider } from '../../lib/engine/registry/source';
import {
  ChainCredentialProvider,
  DockerConfigCredentialProvider,
  EnvCredentialProvider,
  defaultCredentialProvider,
  normalizeRegistryKey,
} from '../../lib/local/credentials';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trustctl-creds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(config: unknown, sub = 'docker'): string {
  mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, sub, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return join(dir, sub);
}

describe('normalizeRegistryKey', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['Registry.Example.com', 'registry.example.com'],
  ])('%s → %s', (key, want) => expect(normalizeRegistryKey(key)).toBe(want));
});

describe('DockerConfigCredentialProvider', () => {
  const config = {
    auths: {
      '127.0.0.1:5000': { auth: b64('bob:pa:ss') },
      'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
      'https://ghcr.io': { identitytoken: 'refresh-token-1' },
      'legacy.example.com': { username: 'u', password: 'p' },
      'broken.example.com': { auth: b64('no-colon') },
    },
  };
  it.each([
    { name: 'host:port entry; the password keeps its colons', registry: '127.0.0.1:5000', want: { kind: 'basic', username: 'bob', password: 'pa:ss' } },
    { name: 'Docker Hub under its v1 index URL', registry: 'docker.io', want: { kind: 'basic', username: 'hubuser', password: 'hubpass' } },
    { name: 'entry keyed by URL with scheme', registry: 'ghcr.io', want: { kind: 'token', token: 'refresh-token-1' } },
    { name: 'username/password fields', registry: 'legacy.example.com', want: { kind: 'basic', username: 'u', password: 'p' } },
    { name: 'unknown registry', registry: 'quay.io', want: undefined },
  ])('$name', async ({ registry, want }) => {
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: writeConfig(config) } });
    expect(await provider.getCredentials(registry)).toEqual(want);
  });

  it('falls back to ~/.docker/config.json', async () => {
    writeConfig(config, 'home/.docker');
    const provider = new DockerConfigCredentialProvider({ env: { HOME: join(dir, 'home') } });
    expect(provider.configPath).toBe(join(dir, 'home', '.docker', 'config.json'));
    expect(await provider.getCredentials('127.0.0.1:5000')).toMatchObject({ username: 'bob' });
  });

  it('a missing config means anonymous', async () => {
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: join(dir, 'nope') } });
    expect(await provider.getCredentials('127.0.0.1:5000')).toBeUndefined();
  });

  it('a malformed auth field is an AuthError', async () => {
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: writeConfig(config) } });
    await expect(provider.getCredentials('broken.example.com')).rejects.toThrow(AuthError);
  });

  it('invalid JSON is an AuthError that does not quote the file', async () => {
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: writeConfig('{"auths": {"x": {"auth": "c2VjcmV0OnNlY3JldA=="}') } });
    const err = await provider.getCredentials('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(String((err as Error).message)).not.toContain('c2VjcmV0');
    expect((err as Error).cause).toBeUndefined();
  });

  it('runs credential helpers (credHelpers, then credsStore) with the server on stdin', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // A docker-credential-helpers protocol helper: `get` reads the server URL from stdin.
    const helper = (name: string, body: string): void => {
      writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\n${body}\n`);
      chmodSync(join(bin, `docker-credential-${name}`), 0o755);
    };
    helper('fake', 'if [ "$server" = "helped.example.com" ]; then echo \'{"ServerURL":"helped.example.com","Username":"helper-user","Secret":"helper-secret"}\'; else echo "credentials not found in native keychain"; exit 1; fi');
    helper('store', 'if [ "$server" = "https://index.docker.io/v1/" ]; then echo \'{"Username":"<token>","Secret":"hub-identity-token"}\'; else echo "credentials not found in native keychain"; exit 1; fi');
    const cfg = writeConfig({ credHelpers: { 'helped.example.com': 'fake' }, credsStore: 'store', auths: { 'other.example.com': { auth: b64('o:p') } } });
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: cfg, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` } });
    expect(await provider.getCredentials('helped.example.com')).toEqual({ kind: 'basic', username: 'helper-user', password: 'helper-secret' });
    expect(await provider.getCredentials('docker.io')).toEqual({ kind: 'token', token: 'hub-identity-token' });
    // The store has nothing for it: the auths entry answers.
    expect(await provider.getCredentials('other.example.com')).toEqual({ kind: 'basic', username: 'o', password: 'p' });
  });

  it('a helper that is not installed is an AuthError naming it', async () => {
    const cfg = writeConfig({ credHelpers: { 'x.example.com': 'does-not-exist-anywhere' } });
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: cfg, PATH: join(dir, 'empty') } });
    await expect(provider.getCredentials('x.example.com')).rejects.toThrow(/docker-credential-does-not-exist-anywhere/);
  });

  it('a helper name that is not a plain name is refused', async () => {
    const cfg = writeConfig({ credHelpers: { 'x.example.com': '../../bin/sh' } });
    const provider = new DockerConfigCredentialProvider({ env: { DOCKER_CONFIG: cfg } });
    await expect(provider.getCredentials('x.example.com')).rejects.toThrow(AuthError);
  });
});

describe('EnvCredentialProvider', () => {
  const env = { TRUSTCTL_REGISTRY_USER: 'ci', TRUSTCTL_REGISTRY_PASSWORD: 'ci-pass' };
  it.each([
    { name: 'user and password, any host', env, registry: 'registry.example.com', want: { kind: 'basic', username: 'ci', password: 'ci-pass' } },
    { name: 'restricted to listed hosts: listed', env: { ...env, TRUSTCTL_REGISTRY_HOST: 'a.example.com, 127.0.0.1:5000' }, registry: '127.0.0.1:5000', want: { kind: 'basic', username: 'ci', password: 'ci-pass' } },
    { name: 'restricted to listed hosts: other host gets nothing', env: { ...env, TRUSTCTL_REGISTRY_HOST: 'a.example.com' }, registry: 'docker.io', want: undefined },
    { name: 'no password', env: { TRUSTCTL_REGISTRY_USER: 'ci' }, registry: 'x', want: undefined },
    { name: 'nothing set', env: {}, registry: 'x', want: undefined },
  ])('$name', async ({ env: e, registry, want }) => expect(await new EnvCredentialProvider(e).getCredentials(registry)).toEqual(want));
});

describe('ChainCredentialProvider', () => {
  const fixed = (name: string, hosts: string[]): CredentialProvider & { asked: string[] } => {
    const asked: string[] = [];
    return { asked, getCredentials: async (r) => (asked.push(r), hosts.includes(r) ? { kind: 'basic', username: name, password: 'p' } : undefined) };
  };
  it('the first provider with credentials wins; later ones are not asked', async () => {
    const a = fixed('a', ['one']);
    const b = fixed('b', ['one', 'two']);
    const chain = new ChainCredentialProvider([a, b]);
    expect(await chain.getCredentials('one')).toMatchObject({ username: 'a' });
    expect(b.asked).toEqual([]);
    expect(await chain.getCredentials('two')).toMatchObject({ username: 'b' });
    expect(await chain.getCredentials('three')).toBeUndefined();
  });

  it('defaultCredentialProvider: environment before the Docker config', async () => {
    const cfg = writeConfig({ auths: { '127.0.0.1:5000': { auth: b64('bob:pw') } } });
    expect(await defaultCredentialProvider({ DOCKER_CONFIG: cfg }).getCredentials('127.0.0.1:5000')).toMatchObject({ username: 'bob' });
    expect(await defaultCredentialProvider({ DOCKER_CONFIG: cfg, TRUSTCTL_REGISTRY_USER: 'ci', TRUSTCTL_REGISTRY_PASSWORD: 'x' }).getCredentials('127.0.0.1:5000')).toMatchObject({ username: 'ci' });
  });
});
