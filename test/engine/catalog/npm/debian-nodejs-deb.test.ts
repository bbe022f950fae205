/**
 * Debian's Node.js modules (issue 14 item 4): `node-*` packages install modules at
 * `/usr/share/nodejs/<name>/` and `/usr/share/nodejs/@scope/<name>/`, and bundle others in nested
 * `node_modules` (npm's `/usr/share/nodejs/@npmcli/node_modules/...`). Real .debs from bookworm,
 * unpacked and scanned with the CLI's `dir:` path; the truth is each package's file list
 * (`dpkg-deb -c`) and the `name`/`version` the module's own manifest declares as Node reads it.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { scanDirectory } from '../../../../lib/local/dir-target';
import { wantsInstalledPackageJson } from '../../../../lib/engine/catalog/npm';
import { emptyAdvisories } from '../../../helpers/advisories';
import { debFileList, fetchDeb, unpackDeb } from '../../../helpers/deb-fixture';

jest.setTimeout(180_000);

const MODULE = /^\/usr\/share\/nodejs\/(?:@[^/]+\/)?[^/@]+\/package\.json$/;
const NESTED = /\/node_modules\/(?:@[^/]+\/)?[^/@.]+\/package\.json$/;

describe('wantsInstalledPackageJson: Debian module roots', () => {
  it.each([
    { name: 'module', path: '/usr/share/nodejs/lodash/package.json', want: true },
    { name: 'scoped module', path: '/usr/share/nodejs/@babel/core/package.json', want: true },
    { name: 'arch-dependent module', path: '/usr/lib/x86_64-linux-gnu/nodejs/bufferutil/package.json', want: true },
    { name: 'bundled in node_modules', path: '/usr/share/nodejs/@npmcli/node_modules/socks/package.json', want: true },
    { name: 'a file inside a module', path: '/usr/share/nodejs/lodash/fp/package.json', want: false },
    { name: 'a scope\'s node_modules itself', path: '/usr/share/nodejs/@npmcli/node_modules/package.json', want: false },
    { name: 'outside nodejs', path: '/usr/share/doc/lodash/package.json', want: false },
  ])('$name', ({ path, want }) => expect(wantsInstalledPackageJson(path)).toBe(want));
});

describe.each(['npm', 'node-babel7', 'node-lodash-packages'])('Debian %s: /usr/share/nodejs modules are npm packages', (pkg) => {
  const deb = fetchDeb(pkg);
  let root = '';
  beforeAll(() => { root = unpackDeb(deb); });
  afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it('every module manifest of the package is an npm package of the scan', async () => {
    const manifests = debFileList(deb).filter((p) => MODULE.test(p) || (p.startsWith('/usr/share/nodejs/') && NESTED.test(p)));
    const truth = new Set<string>();
    for (const p of manifests) {
      const j = JSON.parse(readFileSync(join(root, p), 'utf8')) as { name?: string; version?: string };
      if (j.name && j.version) truth.add(`${j.name}@${j.version} ${p}`);
    }
    expect(truth.size).toBeGreaterThan(0);
    const r = (await scanDirectory(root, { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() })).images[0]!;
    const got = new Set(r.packages.filter((p) => p.ecosystem === 'npm' && p.cataloger?.name === 'npm-installed')
      .flatMap((p) => p.locations.filter((l) => l.path.startsWith('/usr/share/nodejs/')).map((l) => `${p.name}@${p.version} ${l.path}`)));
    expect([...got].sort()).toEqual([...truth].sort());
    expect(r.unknowns.filter((u) => u.consumer === 'npm-installed')).toEqual([]);
  });
});
