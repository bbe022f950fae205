import type { Digest } from '../../../../lib/engine/model';
import type { CatalogFile, Cataloger } from '../../../../lib/engine/catalog/types';
import {
  npmCatalogers, npmInstalledCataloger, npmLockfileCataloger, npmPurl, parsePackageLock, parsePnpmLock, parseYarnLock,
  pnpmLockCataloger, yarnLockCataloger,
} from '../../../../lib/engine/catalog/npm';

const LAYER = `sha256:${'a'.repeat(64)}` as Digest;
const file = (path: string, body: string, truncated = false): CatalogFile => ({ path, layer: LAYER, body: Buffer.from(body), truncated });

describe('wants()', () => {
  const table: [Cataloger, string, boolean][] = [
    [npmLockfileCataloger, '/app/package-lock.json', true],
    [npmLockfileCataloger, '/app/npm-shrinkwrap.json', true],
    [npmLockfileCataloger, '/app/node_modules/.package-lock.json', false],
    [npmLockfileCataloger, '/app/package.json', false],
    [yarnLockCataloger, '/srv/yarn.lock', true],
    [yarnLockCataloger, '/srv/yarn.lock.bak', false],
    [pnpmLockCataloger, '/srv/pnpm-lock.yaml', true],
    [pnpmLockCataloger, '/srv/pnpm-lock.yml', false],
    [npmInstalledCataloger, '/app/node_modules/express/package.json', true],
    [npmInstalledCataloger, '/app/node_modules/@babel/core/package.json', true],
    [npmInstalledCataloger, '/app/node_modules/a/node_modules/b/package.json', true],
    [npmInstalledCataloger, '/app/node_modules/.pnpm/b@1.0.0/node_modules/b/package.json', true],
    [npmInstalledCataloger, '/usr/lib/node_modules/npm/package.json', true],
    [npmInstalledCataloger, '/app/package.json', false],
    [npmInstalledCataloger, '/app/node_modules/express/lib/package.json', false],
    [npmInstalledCataloger, '/app/node_modules/@babel/package.json', false],
    [npmInstalledCataloger, '/app/node_modules/.bin/package.json', false],
  ];
  it.each(table.map(([c, path, want]) => [c.name, path, want, c] as const))('%s wants %s → %s', (_name, path, want, c) => {
    expect(c.wants(path)).toBe(want);
  });
});

describe('catalog()', () => {
  it('builds npm packages with scoped purls, locations and the cataloger id', () => {
    const lock = JSON.stringify({ lockfileVersion: 3, packages: {
      '': { name: 'app', version: '1.0.0' },
      'node_modules/@babel/core': { version: '7.24.0' },
      'node_modules/left-pad': { version: '1.3.0', dev: true },
    } });
    const { packages, unknowns } = npmLockfileCataloger.catalog([file('/app/package-lock.json', lock)]);
    expect(unknowns).toEqual([]);
    expect(packages).toEqual([
      { ecosystem: 'npm', name: '@babel/core', version: '7.24.0', purl: 'pkg:npm/%40babel/core@7.24.0',
        locations: [{ layer: LAYER, path: '/app/package-lock.json' }], cataloger: { name: 'npm-lockfile', version: '1.2.0' } },
      { ecosystem: 'npm', name: 'left-pad', version: '1.3.0', purl: 'pkg:npm/left-pad@1.3.0',
        locations: [{ layer: LAYER, path: '/app/package-lock.json' }], cataloger: { name: 'npm-lockfile', version: '1.2.0' } },
    ]);
  });

  it('collapses duplicate name@version within one file', () => {
    const lock = JSON.stringify({ lockfileVersion: 2, packages: {
      'node_modules/ms': { version: '2.0.0' }, 'node_modules/a/node_modules/ms': { version: '2.0.0' },
    } });
    expect(npmLockfileCataloger.catalog([file('/p/package-lock.json', lock)]).packages).toHaveLength(1);
  });

  it('reads installed package.json files', () => {
    const { packages } = npmInstalledCataloger.catalog([
      file('/app/node_modules/@types/node/package.json', '{"name":"@types/node","version":"20.1.0"}'),
    ]);
    expect(packages.map((p) => p.purl)).toEqual(['pkg:npm/%40types/node@20.1.0']);
  });

  it('npmPurl encodes the scope as namespace', () => {
    expect(npmPurl('@scope/x', '1.0.0')).toBe('pkg:npm/%40scope/x@1.0.0');
    expect(npmPurl('x', '1.0.0-rc.1')).toBe('pkg:npm/x@1.0.0-rc.1');
  });
});

describe('bad input becomes an unknown, never a throw', () => {
  const garbage = ['', 'not json at all {', '\u0000\u0001\u0002', '[1,2,3]', '{"packages": 5}', ':\n  - [unbalanced'];
  it.each(npmCatalogers.flatMap((c) => garbage.map((g) => [c.name, g] as const)))('%s ← %j', (name, body) => {
    const c = npmCatalogers.find((x) => x.name === name)!;
    const path = { 'npm-lockfile': '/a/package-lock.json', 'yarn-lockfile': '/a/yarn.lock', 'pnpm-lockfile': '/a/pnpm-lock.yaml', 'npm-installed': '/a/node_modules/x/package.json' }[name]!;
    let r: ReturnType<typeof c.catalog> | undefined;
    expect(() => { r = c.catalog([file(path, body)]); }).not.toThrow();
    expect(r!.packages).toEqual([]);
    // Every garbage input is reported, except a yarn v1 file with no entries at all (an empty lockfile is valid).
    if (!(name === 'yarn-lockfile' && body === '')) {
      expect(r!.unknowns).toEqual([expect.objectContaining({ layer: LAYER, path, reason: expect.stringContaining(name) })]);
    }
  });

  it('installed package.json without a version is an unknown', () => {
    const r = npmInstalledCataloger.catalog([file('/a/node_modules/x/package.json', '{"name":"x"}')]);
    expect(r.packages).toEqual([]);
    expect(r.unknowns).toHaveLength(1);
  });

  it('a truncated body is parsed as far as possible and recorded', () => {
    const r = yarnLockCataloger.catalog([file('/a/yarn.lock', 'ms@^2.0.0:\n  version "2.0.0"\n\nfoo@^1:\n  ver', true)]);
    expect(r.packages.map((p) => `${p.name}@${p.version}`)).toEqual(['ms@2.0.0']);
    expect(r.unknowns).toEqual([expect.objectContaining({ reason: expect.stringContaining('truncated') })]);
  });
});

describe('format details', () => {
  it('package-lock v1: nested dependencies, dev flag, aliases; file:/git/URL sources dropped', () => {
    const text = JSON.stringify({ lockfileVersion: 1, dependencies: {
      a: { version: '1.0.0', dependencies: { b: { version: '2.0.0', dev: true } } },
      local: { version: 'file:../local' },
      gitdep: { version: 'git+https://github.com/o/r.git#0123456789abcdef' },
      'cjs-alias': { version: 'npm:@scope/real@3.1.0' },
    } });
    expect(parsePackageLock(text)).toEqual([
      { name: 'a', version: '1.0.0' }, { name: 'b', version: '2.0.0', dev: true }, { name: '@scope/real', version: '3.1.0' },
    ]);
  });

  it('package-lock v3: npm alias keeps the registry name from "name"', () => {
    const text = JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/string-width-cjs': { name: 'string-width', version: '4.2.3' } } });
    expect(parsePackageLock(text)).toEqual([{ name: 'string-width', version: '4.2.3' }]);
  });

  it('yarn v1: npm alias, multi-descriptor keys and skipped protocols', () => {
    const text = [
      '# yarn lockfile v1', '',
      '"@scope/a@^1.0.0", "@scope/a@^1.1.0":', '  version "1.2.0"', '',
      'alias@npm:real@^2:', '  version "2.0.1"', '',
      'mine@file:./mine:', '  version "0.0.1"', '',
      'gh@github:o/r:', '  version "3.0.0"', '',
    ].join('\n');
    expect(parseYarnLock(text)).toEqual([{ name: '@scope/a', version: '1.2.0' }, { name: 'real', version: '2.0.1' }]);
  });

  it('yarn berry: npm resolutions only; workspace and patch entries skipped', () => {
    const text = [
      '__metadata:', '  version: 8', '',
      '"app@workspace:.":', '  version: 0.0.0-use.local', '  resolution: "app@workspace:."', '',
      '"resolve@npm:^1.22.0":', '  version: 1.22.8', '  resolution: "resolve@npm:1.22.8"', '',
      '"resolve@patch:resolve@npm%3A^1.22.0#~builtin<compat/resolve>":', '  version: 1.22.8',
      '  resolution: "resolve@patch:resolve@npm%3A1.22.8#~builtin<compat/resolve>::version=1.22.8&hash=c3c19d"', '',
      '"@scope/b@npm:2":', '  version: 2.1.0', '  resolution: "@scope/b@npm:2.1.0"', '',
    ].join('\n');
    expect(parseYarnLock(text)).toEqual([{ name: 'resolve', version: '1.22.8' }, { name: '@scope/b', version: '2.1.0' }]);
  });

  it('pnpm v5: scoped keys and peer suffixes', () => {
    const text = [
      'lockfileVersion: 5.4', 'packages:',
      '  /@babel/core/7.24.0:', '    dev: true',
      '  /react-dom/18.2.0_react@18.2.0:', '    dev: false',
    ].join('\n');
    expect(parsePnpmLock(text)).toEqual([{ name: '@babel/core', version: '7.24.0', dev: true }, { name: 'react-dom', version: '18.2.0' }]);
  });

  it('pnpm v6 and v9: peer suffixes in parentheses', () => {
    expect(parsePnpmLock("lockfileVersion: '6.0'\npackages:\n  /@x/y@1.0.0(react@18.2.0):\n    dev: false\n"))
      .toEqual([{ name: '@x/y', version: '1.0.0' }]);
    expect(parsePnpmLock("lockfileVersion: '9.0'\npackages:\n  '@x/y@1.0.0':\n    resolution: {integrity: sha512-x}\nsnapshots:\n  '@x/y@1.0.0(react@18.2.0)': {}\n"))
      .toEqual([{ name: '@x/y', version: '1.0.0' }]);
  });

  it('pnpm: a lockfile without packages is empty, not an error', () => {
    expect(parsePnpmLock("lockfileVersion: '9.0'\nimporters:\n  .: {}\n")).toEqual([]);
  });
});
