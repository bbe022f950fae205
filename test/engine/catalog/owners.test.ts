/**
 * Language packages an OS package installed are attributed to it (issue 14 "Only what is installed is
 * inventory"), from the real file lists of the cached Debian ground-truth root (read only) and the real
 * catalogers over its real files; the negative cases change one thing each: the list, the package
 * database, the directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGERS } from '../../../lib/engine/catalog/catalogers';
import { catalogFiles } from '../../../lib/engine/catalog/inventory';
import { attributeOwnedPackages, ownerDbWants } from '../../../lib/engine/catalog/owners';
import type { Digest, Package } from '../../../lib/engine/model';
import { debianRootPath } from '../../helpers/ground-truth';

const ROOT = debianRootPath();
const LAYER = `sha256:${'a'.repeat(64)}` as Digest;

const PIP_METADATA = '/usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA';
const SIX_PKG_INFO = '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO';
const FS_MINIPASS = '/usr/share/nodejs/cacache/node_modules/fs-minipass/package.json';
const LANG3_JAR = '/usr/share/java/commons-lang3-3.12.0.jar';

/** A real file of the Debian root. */
const real = (path: string): Buffer => readFileSync(join(ROOT, path));

/** An image: path → body. The catalogers see every file; the attribution reads the same tree. */
type Files = Record<string, Buffer | string>;

function inventory(files: Files): Package[] {
  const list = Object.entries(files).map(([path, b]) => ({ path, layer: LAYER, body: Buffer.isBuffer(b) ? b : Buffer.from(b), truncated: false }));
  const inv = catalogFiles(LAYER, list, CATALOGERS);
  return attributeOwnedPackages(inv.packages, (p) => {
    const b = files[p];
    return b === undefined ? undefined : Buffer.isBuffer(b) ? b : Buffer.from(b);
  });
}

/** The dpkg status of the root reduced to the named packages' stanzas (real stanzas). */
function statusOf(...names: string[]): string {
  const stanzas = real('/var/lib/dpkg/status').toString('utf8').split(/\n\n+/);
  return stanzas.filter((s) => names.includes(/^Package: (.+)$/m.exec(s)?.[1] ?? '')).join('\n\n') + '\n';
}

const owner = (pkgs: Package[], path: string): string | undefined => pkgs.find((p) => p.locations.some((l) => l.path === path) && p.ecosystem !== 'Debian')?.ownedBy?.name;
const found = (pkgs: Package[], path: string): boolean => pkgs.some((p) => p.locations.some((l) => l.path === path) && p.ecosystem !== 'Debian');

beforeAll(() => {
  if (!existsSync(join(ROOT, PIP_METADATA))) throw new Error(`the Debian ground-truth root is not built at ${ROOT}: run scripts/debian-root.sh as root`);
});

describe('attributeOwnedPackages: dpkg-installed language packages belong to their OS package', () => {
  const cases: readonly { name: string; files: () => Files; path: string; owner: string | undefined }[] = [
    {
      name: 'pip dist-info listed by python3-pip.list → python3-pip',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-pip'), '/var/lib/dpkg/info/python3-pip.list': real('/var/lib/dpkg/info/python3-pip.list'), [PIP_METADATA]: real(PIP_METADATA) }),
      path: PIP_METADATA, owner: 'python3-pip',
    },
    {
      name: 'six egg-info listed by python3-six.list → python3-six',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-six'), '/var/lib/dpkg/info/python3-six.list': real('/var/lib/dpkg/info/python3-six.list'), [SIX_PKG_INFO]: real(SIX_PKG_INFO) }),
      path: SIX_PKG_INFO, owner: 'python3-six',
    },
    {
      name: 'a node module under /usr/share/nodejs listed by node-cacache.list → node-cacache',
      files: () => ({ '/var/lib/dpkg/status': statusOf('node-cacache'), '/var/lib/dpkg/info/node-cacache.list': real('/var/lib/dpkg/info/node-cacache.list'), [FS_MINIPASS]: real(FS_MINIPASS) }),
      path: FS_MINIPASS, owner: 'node-cacache',
    },
    {
      name: 'a jar in /usr/share/java listed by libcommons-lang3-java.list → libcommons-lang3-java',
      files: () => ({ '/var/lib/dpkg/status': statusOf('libcommons-lang3-java'), '/var/lib/dpkg/info/libcommons-lang3-java.list': real('/var/lib/dpkg/info/libcommons-lang3-java.list'), [LANG3_JAR]: real(LANG3_JAR) }),
      path: LANG3_JAR, owner: 'libcommons-lang3-java',
    },
    {
      name: 'a multi-arch list name (<name>:<arch>.list) counts',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-pip').replace('Architecture: all', 'Architecture: amd64'), '/var/lib/dpkg/info/python3-pip:amd64.list': real('/var/lib/dpkg/info/python3-pip.list'), [PIP_METADATA]: real(PIP_METADATA) }),
      path: PIP_METADATA, owner: 'python3-pip',
    },
    {
      name: 'NOT owned: the list is there but the package is not installed (no status stanza)',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-six'), '/var/lib/dpkg/info/python3-pip.list': real('/var/lib/dpkg/info/python3-pip.list'), [PIP_METADATA]: real(PIP_METADATA) }),
      path: PIP_METADATA, owner: undefined,
    },
    {
      name: 'NOT owned: installed per status, but its .list is not in the image',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-pip'), [PIP_METADATA]: real(PIP_METADATA) }),
      path: PIP_METADATA, owner: undefined,
    },
    {
      name: 'NOT owned: a dist-info in dist-packages that no list names',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-pip'), '/var/lib/dpkg/info/python3-pip.list': real('/var/lib/dpkg/info/python3-pip.list'), '/usr/lib/python3/dist-packages/flask-2.2.2.dist-info/METADATA': 'Metadata-Version: 2.1\nName: Flask\nVersion: 2.2.2\n' }),
      path: '/usr/lib/python3/dist-packages/flask-2.2.2.dist-info/METADATA', owner: undefined,
    },
    {
      name: "NOT owned: another package's list does not own pip",
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-pip', 'python3-six'), '/var/lib/dpkg/info/python3-six.list': real('/var/lib/dpkg/info/python3-six.list'), [PIP_METADATA]: real(PIP_METADATA) }),
      path: PIP_METADATA, owner: undefined,
    },
    {
      name: 'NOT owned: a list naming a node_modules under /opt (a third-party .deb bundling its modules)',
      files: () => ({ '/var/lib/dpkg/status': statusOf('node-cacache'), '/var/lib/dpkg/info/node-cacache.list': '/opt/app/node_modules/fs-minipass/package.json\n', '/opt/app/node_modules/fs-minipass/package.json': real(FS_MINIPASS) }),
      path: '/opt/app/node_modules/fs-minipass/package.json', owner: undefined,
    },
    {
      name: 'NOT owned: a list naming /usr/lib/node_modules (NodeSource-style npm, not Debian policy)',
      files: () => ({ '/var/lib/dpkg/status': statusOf('node-cacache'), '/var/lib/dpkg/info/node-cacache.list': '/usr/lib/node_modules/fs-minipass/package.json\n', '/usr/lib/node_modules/fs-minipass/package.json': real(FS_MINIPASS) }),
      path: '/usr/lib/node_modules/fs-minipass/package.json', owner: undefined,
    },
    {
      name: 'NOT owned: a list naming /usr/local (packages never install there, Debian Policy 9.1.2)',
      files: () => ({ '/var/lib/dpkg/status': statusOf('python3-pip'), '/var/lib/dpkg/info/python3-pip.list': '/usr/local/lib/python3.11/dist-packages/pip-23.0.1.dist-info/METADATA\n', '/usr/local/lib/python3.11/dist-packages/pip-23.0.1.dist-info/METADATA': real(PIP_METADATA) }),
      path: '/usr/local/lib/python3.11/dist-packages/pip-23.0.1.dist-info/METADATA', owner: undefined,
    },
    {
      name: 'distroless: status.d/<pkg> + status.d/<pkg>.md5sums',
      files: () => ({ '/var/lib/dpkg/status.d/python3-pip': statusOf('python3-pip'), '/var/lib/dpkg/status.d/python3-pip.md5sums': `${'0'.repeat(32)}  ${PIP_METADATA.slice(1)}\n`, [PIP_METADATA]: real(PIP_METADATA) }),
      path: PIP_METADATA, owner: 'python3-pip',
    },
    {
      name: 'apk: F:/R: lines of an installed record → that apk package',
      files: () => ({
        '/lib/apk/db/installed': 'P:py3-pip\nV:23.1.2-r0\nA:x86_64\nF:usr/lib/python3.11/site-packages/pip-23.0.1.dist-info\nR:METADATA\nR:RECORD\n\nP:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n',
        '/usr/lib/python3.11/site-packages/pip-23.0.1.dist-info/METADATA': real(PIP_METADATA),
      }),
      path: '/usr/lib/python3.11/site-packages/pip-23.0.1.dist-info/METADATA', owner: 'py3-pip',
    },
    {
      name: "NOT owned: apk R: lines under another record's P:",
      files: () => ({
        '/lib/apk/db/installed': 'P:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n\nF:usr/lib/python3.11/site-packages/pip-23.0.1.dist-info\nR:METADATA\n',
        '/usr/lib/python3.11/site-packages/pip-23.0.1.dist-info/METADATA': real(PIP_METADATA),
      }),
      path: '/usr/lib/python3.11/site-packages/pip-23.0.1.dist-info/METADATA', owner: undefined,
    },
  ];
  test.each(cases)('$name', ({ files, path, owner: want }) => {
    const pkgs = inventory(files());
    expect(found(pkgs, path)).toBe(true);
    expect(owner(pkgs, path)).toBe(want);
  });

  test('the owner is named by its purl too, and OS packages are left as they were', () => {
    const pkgs = inventory({ '/var/lib/dpkg/status': statusOf('python3-pip'), '/var/lib/dpkg/info/python3-pip.list': real('/var/lib/dpkg/info/python3-pip.list'), [PIP_METADATA]: real(PIP_METADATA) });
    const pip = pkgs.find((p) => p.ecosystem === 'PyPI')!;
    const deb = pkgs.find((p) => p.ecosystem === 'Debian')!;
    expect(pip.ownedBy).toEqual({ purl: deb.purl, name: 'python3-pip' });
    expect(deb.ownedBy).toBeUndefined();
  });

  test('a Go binary a dpkg package lists (age) is never attributed: Debian does not judge the modules it links', () => {
    const pkgs = attributeOwnedPackages([
      { ecosystem: 'Debian', name: 'age', version: '1.1.1-1+b5', purl: 'pkg:deb/debian/age@1.1.1-1%2Bb5?arch=amd64', arch: 'amd64', locations: [{ layer: LAYER, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1.1.0' } },
      { ecosystem: 'Go', name: 'stdlib', version: 'v1.19.8', purl: 'pkg:golang/stdlib@v1.19.8', locations: [{ layer: LAYER, path: '/usr/bin/age' }], cataloger: { name: 'go-binary', version: '1' } },
    ], (p) => (p === '/var/lib/dpkg/info/age.list' ? real(p) : undefined));
    expect(real('/var/lib/dpkg/info/age.list').toString()).toContain('/usr/bin/age\n');
    expect(pkgs[1].ownedBy).toBeUndefined();
  });

  test.each([
    ['/var/lib/dpkg/info/python3-pip.list', true],
    ['/var/lib/dpkg/info/gcc-12-base:amd64.list', true],
    ['/var/lib/dpkg/status.d/base-files.md5sums', true],
    ['/lib/apk/db/installed', true],
    ['/var/lib/dpkg/info/python3-pip.md5sums', false],
    ['/var/lib/dpkg/info/sub/x.list', false],
    ['/opt/var/lib/dpkg/info/x.list', false],
  ])('the layer record keeps %s: %s', (path, want) => {
    expect(ownerDbWants(path)).toBe(want);
  });
});
