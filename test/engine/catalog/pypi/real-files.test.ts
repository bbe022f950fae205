import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizePythonName, pypiMetadataCataloger } from '../../../../lib/engine/catalog/pypi';
import type { Digest } from '../../../../lib/engine/model';

/**
 * This machine's Debian-packaged Python distributions (real wheel and setuptools installs).
 * `.ci/run` installs python3-six so the folder exists on a fresh machine too.
 */
const SITE = '/usr/lib/python3/dist-packages';
const LAYER = `sha256:${'0'.repeat(64)}` as Digest;

describe(`real files: ${SITE}`, () => {
  if (!existsSync(SITE)) throw new Error(`${SITE} is missing: install Debian's python3-six (.ci/run does)`);
  const entries = readdirSync(SITE).filter((e) => /\.(dist|egg)-info$/.test(e));
  const files = entries.map((e) => {
    const p = join(SITE, e);
    const path = statSync(p).isDirectory() ? join(p, e.endsWith('.dist-info') ? 'METADATA' : 'PKG-INFO') : p;
    return { path, layer: LAYER, body: readFileSync(path), truncated: false };
  });

  it('every metadata file is wanted and yields one package, no unknowns', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(pypiMetadataCataloger.wants(f.path)).toBe(true);
    const r = pypiMetadataCataloger.catalog(files);
    expect(r.unknowns).toEqual([]);
    expect(r.packages.length).toBe(files.length);
  });

  it('name and version agree with the directory name `<name>-<version>[-pyX.Y].(dist|egg)-info`', () => {
    const r = pypiMetadataCataloger.catalog(files);
    let checked = 0;
    r.packages.forEach((p, i) => {
      const m = /^(.+?)-([^-]+?)(?:-py\d[^-]*)?\.(?:dist|egg)-info$/.exec(entries[i]!);
      if (!m) return; // `name.egg-info` without a version (setuptools develop installs): nothing to compare
      checked++;
      expect({ name: p.name, version: p.version }).toEqual({ name: normalizePythonName(m[1]!), version: m[2]! });
    });
    expect(checked).toBeGreaterThan(0);
  });
});
