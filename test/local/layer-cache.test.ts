import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CachedLayer } from '../../lib/engine/ports';
import { defaultCacheDir, FileLayerCache } from '../../lib/local/layer-cache';
import { LAYER_RECORD_VERSION } from '../../lib/engine/layers/layer-record';

const digest = `sha256:${'ab'.repeat(32)}`;
const key = `${digest}/${'cd'.repeat(16)}`;
const value = {
  record: { v: LAYER_RECORD_VERSION, digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', diffId: digest, compression: 'gzip', declaredCompression: 'gzip', compressedBytes: 1, uncompressedBytes: 2, entryCount: 1, whiteouts: [], opaqueDirs: [], unknowns: [], entries: { paths: ['/etc/os-release'], types: 'f', sizes: [3], modes: [420], uids: [0], gids: [0], mtimes: [0], linknames: [[], []], typeflags: [[], []], sparse: [], linkTargets: [[], []], bodies: [[0], ['SUQ9']], truncated: [] } },
  packages: [{ ecosystem: 'npm', name: 'a', version: '1.0.0', purl: 'pkg:npm/a@1.0.0', locations: [{ layer: digest, path: '/a/package.json' }], cataloger: { name: 'npm', version: '1' } }],
  unknowns: [],
  findings: [],
} as unknown as CachedLayer;

describe('FileLayerCache', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'trustctl-cache-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a layer result across instances (another run of trustctl)', async () => {
    await new FileLayerCache(dir).put(key, value);
    expect(await new FileLayerCache(dir).get(key)).toEqual(value);
    expect(await new FileLayerCache(dir).get(`${digest}/${'ef'.repeat(16)}`)).toBeUndefined();
  });

  it.each([
    ['garbage', Buffer.from('not gzip')],
    ['an empty file', Buffer.alloc(0)],
  ])('a damaged file (%s) is a miss, and the next put repairs it', async (_n, bytes) => {
    const cache = new FileLayerCache(dir);
    await cache.put(key, value);
    const [alg] = readdirSync(dir);
    const [sub] = readdirSync(join(dir, alg));
    const [file] = readdirSync(join(dir, alg, sub));
    writeFileSync(join(dir, alg, sub, file), bytes);
    expect(await cache.get(key)).toBeUndefined();
    await cache.put(key, value);
    expect(await cache.get(key)).toEqual(value);
  });

  it.each([['../../etc/passwd'], [`${digest}/../../x`], ['sha256:ABC/00'], ['']])('never turns key %j into a path', async (bad) => {
    const cache = new FileLayerCache(dir);
    await cache.put(bad, value);
    expect(await cache.get(bad)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['TRUSTCTL_CACHE_DIR wins', { TRUSTCTL_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' }, '/c'],
    ['then XDG_CACHE_HOME', { XDG_CACHE_HOME: '/x' }, '/x/trustctl'],
  ])('default directory: %s', (_n, env, want) => {
    expect(defaultCacheDir(env)).toBe(want);
  });
});
