import { FileTree, type TreeNode } from '../../../lib/engine/layers/file-tree';
import type { LayerResult } from '../../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { type TarEntry, buildTar } from '../../../lib/local/builder/tar-writer';
import { generateCase } from '../../helpers/tar-gen';
import { layerDigest, readTar } from './helpers';
import { FileTree as FileTreeV1 } from './reference/file-tree-v1';

/** Reads each entry list as one layer (index = position), capturing every body, and squashes them. */
async function squash(...layers: TarEntry[][]): Promise<{ tree: FileTree; results: LayerResult[] }> {
  const results: LayerResult[] = [];
  for (const [i, entries] of layers.entries()) results.push(await readTar(buildTar(entries), { index: i, wants: () => true }));
  return { tree: FileTree.squash(results, DEFAULT_LIMITS), results };
}

const text = (b: Buffer | undefined): string | undefined => b?.toString();

describe('FileTree: overlay basics', () => {
  it('upper layer wins per path; every node knows its layer; lower files stay', async () => {
    const { tree } = await squash(
      [
        { path: 'etc/os-release', body: 'ID=debian' },
        { path: 'etc/hostname', body: 'base' },
      ],
      [{ path: 'etc/hostname', body: 'app' }],
    );
    expect(text(tree.readFile('/etc/hostname'))).toBe('app');
    expect(tree.get('/etc/hostname')?.layer).toBe(layerDigest(1));
    expect(tree.get('/etc/os-release')?.layer).toBe(layerDigest(0));
    expect(tree.get('etc/os-release')?.layerIndex).toBe(0); // relative names accepted
    expect(tree.fileCount).toBe(2);
    expect(tree.get('/etc')).toMatchObject({ type: 'dir', implicit: true });
    expect(tree.removed).toEqual([expect.objectContaining({ path: '/etc/hostname', layer: layerDigest(0), reason: 'overwritten', removedBy: layerDigest(1) })]);
    expect(tree.layers).toEqual([layerDigest(0), layerDigest(1)]);
  });

  it('files(), list() and the iterator', async () => {
    const { tree } = await squash([{ path: 'a/x', body: '1' }, { path: 'a/y', body: '2' }, { path: 'a/sub/', type: 'dir' }, { path: 'b', type: 'symlink', linkname: 'a' }]);
    expect([...tree].map((n) => n.path).sort()).toEqual(['/a/x', '/a/y']);
    expect(tree.list('/a').map((n) => n.path).sort()).toEqual(['/a/sub', '/a/x', '/a/y']);
    expect(tree.list('/b').map((n) => n.path).sort()).toEqual(['/a/sub', '/a/x', '/a/y']); // through the link
    expect([...tree.entries()].map((n) => n.path)).toContain('/b');
  });

  it('case 2: a sibling sharing a prefix is not inside the directory', async () => {
    const { tree } = await squash([{ path: 'root/.ssh/id_rsa', body: 'k' }, { path: 'root-evil/x', body: 'e' }]);
    expect(tree.list('/root').map((n) => n.path)).toEqual(['/root/.ssh']);
    expect(tree.get('/root-evil/x')?.path).toBe('/root-evil/x');
  });

  it('case 8: colliding names never clobber each other', async () => {
    const { tree } = await squash([{ path: 'README', body: 'upper-case' }], [{ path: 'readme', body: 'lower-case' }, { path: 'caf\u00e9', body: 'nfc' }, { path: 'cafe\u0301', body: 'nfd' }]);
    expect(text(tree.readFile('/README'))).toBe('upper-case');
    expect(text(tree.readFile('/readme'))).toBe('lower-case');
    expect(text(tree.readFile('/caf\u00e9'))).toBe('nfc');
    expect(text(tree.readFile('/cafe\u0301'))).toBe('nfd');
    expect(tree.removed).toEqual([]);
  });
});

describe('FileTree: whiteouts (cases 9, 10)', () => {
  it('case 9: .wh.f deletes f and its subtree; markers are never files', async () => {
    const { tree } = await squash(
      [
        { path: 'opt/app/bin/run', body: 'r' },
        { path: 'opt/app/lib/x.so', body: 'x' },
        { path: 'etc/f', body: 'f' },
        { path: 'etc/g', body: 'g' },
      ],
      [{ path: 'opt/.wh.app', body: '' }, { path: 'etc/.wh.f', body: '' }],
    );
    expect(tree.get('/opt/app')).toBeUndefined();
    expect(tree.get('/opt/app/bin/run')).toBeUndefined();
    expect(tree.get('/etc/f')).toBeUndefined();
    expect(text(tree.readFile('/etc/g'))).toBe('g');
    expect(tree.get('/opt')?.type).toBe('dir');
    expect([...tree.entries()].some((n) => n.path.includes('.wh.'))).toBe(false);
    expect(tree.removed.map((r) => [r.path, r.reason]).sort()).toEqual([
      ['/etc/f', 'whiteout'],
      ['/opt/app/bin/run', 'whiteout'],
      ['/opt/app/lib/x.so', 'whiteout'],
    ]);
  });

  it.each<[string, TarEntry[]]>([
    ['opaque marker before the new children', [{ path: 'var/cache/.wh..wh..opq', body: '' }, { path: 'var/cache/new', body: 'n' }]],
    ['opaque marker after the new children (wherever it sits in the tar)', [{ path: 'var/cache/new', body: 'n' }, { path: 'var/cache/.wh..wh..opq', body: '' }]],
  ])('case 9: %s hides lower children only', async (_name, upper) => {
    const { tree } = await squash([{ path: 'var/cache/old1', body: 'o' }, { path: 'var/cache/sub/old2', body: 'o' }, { path: 'var/keep', body: 'k' }], upper);
    expect(tree.get('/var/cache/old1')).toBeUndefined();
    expect(tree.get('/var/cache/sub')).toBeUndefined();
    expect(text(tree.readFile('/var/cache/new'))).toBe('n');
    expect(text(tree.readFile('/var/keep'))).toBe('k');
    expect(tree.get('/var/cache')?.type).toBe('dir');
    expect(tree.removed.map((r) => [r.path, r.reason]).sort()).toEqual([
      ['/var/cache/old1', 'opaque'],
      ['/var/cache/sub/old2', 'opaque'],
    ]);
  });

  it('case 9: .wh..wh..opqX deletes nothing', async () => {
    const { tree, results } = await squash([{ path: 'd/keep', body: 'k' }], [{ path: 'd/.wh..wh..opqX', body: '' }]);
    expect(text(tree.readFile('/d/keep'))).toBe('k');
    expect(results[1].unknowns).toHaveLength(1);
    expect(tree.fileCount).toBe(1);
  });

  it('case 9: a whiteout does not hide a file of its own layer (layer.md)', async () => {
    const { tree } = await squash([{ path: 'x', body: 'lower' }], [{ path: '.wh.x', body: '' }, { path: 'x', body: 'same layer' }]);
    expect(text(tree.readFile('/x'))).toBe('same layer');
    expect(tree.removed.map((r) => [r.path, r.layer, r.reason])).toEqual([['/x', layerDigest(0), 'whiteout']]);
  });

  it('case 10: a secret added in layer 1 and deleted in layer 2 is still reported with its layer and body', async () => {
    const { tree } = await squash([{ path: 'app/.env', body: 'AWS_SECRET_ACCESS_KEY=abc' }], [{ path: 'app/.wh..env', body: '' }], [{ path: 'app/other', body: 'o' }]);
    expect(tree.get('/app/.env')).toBeUndefined();
    expect(tree.removed).toHaveLength(1);
    const [r] = tree.removed;
    expect(r).toMatchObject({ path: '/app/.env', layer: layerDigest(0), layerIndex: 0, reason: 'whiteout', removedBy: layerDigest(1) });
    expect(text(r.node.body)).toBe('AWS_SECRET_ACCESS_KEY=abc');
  });
});

describe('FileTree: directories replaced and symlinked parents (cases 3, 4, 11)', () => {
  it('case 11: a directory replaced by a symlink without a whiteout hides the lower subtree', async () => {
    const { tree } = await squash(
      [
        { path: 'usr/lib/python3/site.py', body: 'old' },
        { path: 'opt/py/site.py', body: 'new' },
      ],
      [{ path: 'usr/lib/python3', type: 'symlink', linkname: '/opt/py' }],
    );
    expect(tree.get('/usr/lib/python3')?.type).toBe('symlink');
    expect(tree.get('/usr/lib/python3/site.py')).toBeUndefined();
    expect(text(tree.readFile('/usr/lib/python3/site.py'))).toBe('new');
    expect(tree.removed.map((r) => [r.path, r.reason])).toEqual([['/usr/lib/python3/site.py', 'replaced']]);
    expect(tree.fileCount).toBe(1);
  });

  it('case 11: a directory replaced by a file hides the subtree; a file replaced by a directory is recorded', async () => {
    const { tree } = await squash([{ path: 'a/b/c', body: 'c' }, { path: 'f', body: 'was a file' }], [{ path: 'a', body: 'now a file' }, { path: 'f/inner', body: 'i' }]);
    expect(tree.get('/a')?.type).toBe('file');
    expect(tree.get('/a/b')).toBeUndefined();
    expect(tree.get('/f')?.type).toBe('dir');
    expect(text(tree.readFile('/f/inner'))).toBe('i');
    expect(tree.removed.map((r) => [r.path, r.reason]).sort()).toEqual([
      ['/a/b/c', 'replaced'],
      ['/f', 'replaced'],
    ]);
  });

  it('case 4: layer 1 x -> /root/.ssh, layer 2 writes x/authorized_keys: stored as named, resolved inside the image', async () => {
    const { tree } = await squash(
      [
        { path: 'root/.ssh/', type: 'dir' },
        { path: 'x', type: 'symlink', linkname: '/root/.ssh' },
      ],
      [{ path: 'x/authorized_keys', body: 'ssh-ed25519 AAAA attacker' }],
    );
    const n = tree.get('/x/authorized_keys');
    expect(n?.layer).toBe(layerDigest(1));
    expect(n?.effectivePath).toBe('/root/.ssh/authorized_keys');
    expect(tree.get('/x')?.type).toBe('symlink'); // the link is kept: links are metadata
    expect(text(tree.readFile('/root/.ssh/authorized_keys'))).toBe('ssh-ed25519 AAAA attacker');
    expect(text(tree.readFile('/x/authorized_keys'))).toBe('ssh-ed25519 AAAA attacker');
    expect([...tree].map((f) => f.path)).toEqual(['/x/authorized_keys']);
  });

  it('case 4: an upper write through a link shadows the lower file the container would see', async () => {
    const { tree } = await squash(
      [
        { path: 'root/.ssh/authorized_keys', body: 'benign' },
        { path: 'x', type: 'symlink', linkname: '../root/.ssh' },
      ],
      [{ path: 'x/authorized_keys', body: 'evil' }],
    );
    expect(text(tree.readFile('/root/.ssh/authorized_keys'))).toBe('evil');
    expect(text(tree.get('/root/.ssh/authorized_keys')?.body)).toBe('benign');
  });

  it('case 3: a -> ../.. then a/pwn in one layer resolves inside the image root', async () => {
    const { tree } = await squash([{ path: 'a', type: 'symlink', linkname: '../..' }, { path: 'a/pwn', body: 'p' }]);
    expect(tree.realPath('/a')).toBe('/');
    expect(tree.get('/a/pwn')?.effectivePath).toBe('/pwn');
    expect(text(tree.readFile('/pwn'))).toBe('p');
    expect(tree.resolve('/a')?.path).toBe('/');
  });

  it.each([
    ['absolute target re-rooted', '/etc/ssl', '/etc/ssl/cert.pem'],
    ['absolute target climbing above the root', '/../../../etc/ssl', '/etc/ssl/cert.pem'],
    ['relative target', '../etc/ssl', '/etc/ssl/cert.pem'],
    ['relative target climbing above the root', '../../../../etc/ssl', '/etc/ssl/cert.pem'],
  ])('resolve: %s', async (_name, target, expected) => {
    const { tree } = await squash([{ path: 'etc/ssl/cert.pem', body: 'PEM' }, { path: 'usr/certs', type: 'symlink', linkname: target }]);
    expect(tree.realPath('/usr/certs/cert.pem')).toBe(expected);
    expect(text(tree.readFile('/usr/certs/cert.pem'))).toBe('PEM');
  });

  it('resolve: a file used as a directory finds nothing', async () => {
    const { tree } = await squash([{ path: 'f', body: 'x' }, { path: 'l', type: 'symlink', linkname: 'f/g' }]);
    expect(tree.resolve('/f/g')).toBeUndefined();
    expect(tree.resolve('/l')).toBeUndefined();
  });
});

describe('FileTree: symlink cycles (case 7)', () => {
  it.each<[string, TarEntry[], string]>([
    ['two-link cycle', [{ path: 'a', type: 'symlink', linkname: 'b' }, { path: 'b', type: 'symlink', linkname: 'a' }], '/a'],
    ['self loop', [{ path: 'self', type: 'symlink', linkname: 'self' }], '/self'],
    ['dead link loop through a child', [{ path: 'x', type: 'symlink', linkname: 'x/y' }], '/x'],
    ['absolute cycle through a directory', [{ path: 'd/l', type: 'symlink', linkname: '/d/l/..' }], '/d/l'],
  ])('%s: resolve ends with undefined and an unknown; siblings still scanned', async (_name, links, path) => {
    const { tree } = await squash([...links, { path: 'sibling', body: 's' }]);
    expect(tree.resolve(path)).toBeUndefined();
    expect(tree.unknowns.some((u) => u.path === path && /symlink loop/.test(u.reason))).toBe(true);
    expect(text(tree.readFile('/sibling'))).toBe('s');
    expect(tree.fileCount).toBe(1);
  });

  it('a chain longer than maxSymlinkHops is cut', async () => {
    const chain: TarEntry[] = Array.from({ length: 50 }, (_, i) => ({ path: `l${i}`, type: 'symlink' as const, linkname: `l${i + 1}` }));
    const results = [await readTar(buildTar([...chain, { path: 'l50', body: 'end' }]))];
    expect(text(FileTree.squash(results, { maxSymlinkHops: 60 }).resolve('/l0')?.body)).toBeUndefined(); // nothing captured
    expect(FileTree.squash(results, { maxSymlinkHops: 60 }).resolve('/l0')?.path).toBe('/l50');
    const short = FileTree.squash(results, { maxSymlinkHops: 40 });
    expect(short.resolve('/l0')).toBeUndefined();
    expect(short.resolve('/l20')?.path).toBe('/l50');
    expect(short.unknowns.length).toBeGreaterThan(0);
  });
});

describe('FileTree: hardlinks (cases 5, 6)', () => {
  it('case 6: a hardlink to a lower layer file is resolved from that layer', async () => {
    const { tree } = await squash([{ path: 'usr/bin/python3.11', body: 'ELF python' }], [{ path: 'usr/bin/python3', type: 'hardlink', linkname: 'usr/bin/python3.11' }]);
    const n = tree.get('/usr/bin/python3');
    expect(n?.type).toBe('hardlink');
    expect(n?.target?.layer).toBe(layerDigest(0));
    expect(text(tree.readFile('/usr/bin/python3'))).toBe('ELF python');
    expect(n?.size).toBe(10);
    expect(tree.fileCount).toBe(2);
  });

  it('case 6: a hardlink whose target exists nowhere is an unknown, never an empty file', async () => {
    const { tree } = await squash([{ path: 'a', body: 'a' }], [{ path: 'h', type: 'hardlink', linkname: 'missing' }]);
    expect(tree.readFile('/h')).toBeUndefined();
    expect([...tree].map((f) => f.path)).toEqual(['/a']);
    // containerd fails the apply (link(2): ENOENT): the layer is one the runtime refuses.
    expect(tree.unknowns).toEqual([
      { layer: layerDigest(1), path: '/missing', reason: 'a hardlink names /missing, which no earlier member or lower layer holds as a file', class: 'runtime-refuses' },
      { layer: layerDigest(1), path: '/h', reason: 'hardlink target /missing is not a file in this or a lower layer' },
    ]);
  });

  it('case 5: a hardlink through a lower symlink chain is refused', async () => {
    const { tree } = await squash(
      [
        { path: 'etc/shadow', body: 'root:$6$hash' },
        { path: 'd', type: 'symlink', linkname: '/etc' },
        { path: 'e', type: 'symlink', linkname: 'd' },
      ],
      [{ path: 'h', type: 'hardlink', linkname: 'e/shadow' }],
    );
    expect(tree.readFile('/h')).toBeUndefined();
    expect(tree.unknowns.map((u) => u.path)).toEqual(['/h']);
  });

  it('a hardlink keeps the data it was made with when an upper layer deletes the target', async () => {
    const { tree } = await squash([{ path: 'a', body: 'data' }, { path: 'b', type: 'hardlink', linkname: 'a' }], [{ path: '.wh.a', body: '' }]);
    expect(text(tree.readFile('/b'))).toBe('data');
    expect(tree.removed.map((r) => r.path)).toEqual(['/a']);
  });
});

describe('FileTree equals containerd\'s applier within one layer (differential classes, RELIABILITY.md 53, 58)', () => {
  it('a member replacing a directory removes what the layer put beneath it (containerd RemoveAll)', async () => {
    const { tree } = await squash([{ path: 'a/b/c', body: 'x' }, { path: 'a/b', body: 'now a file' }]);
    expect(tree.get('/a/b')).toMatchObject({ type: 'file' });
    expect(tree.get('/a/b/c')).toBeUndefined();
  });

  it('a member replacing an implicit directory also removes its children', async () => {
    const { tree } = await squash([{ path: 'l/f', body: 'x' }, { path: 'l', type: 'symlink', linkname: 'd' }]);
    expect(tree.get('/l')).toMatchObject({ type: 'symlink' });
    expect(tree.get('/l/f')).toBeUndefined();
  });

  it('a hardlink shares one inode: the mode and owner set through the link are the target\'s too', async () => {
    const { tree } = await squash([
      { path: 'bin/tool', body: 'elf', mode: 0o755 },
      { path: 'bin/suid', type: 'hardlink', linkname: 'bin/tool', mode: 0o4755 },
    ]);
    expect((tree.get('/bin/tool')?.mode ?? 0) & 0o7777).toBe(0o4755);
    expect(text(tree.readFile('/bin/suid'))).toBe('elf');
  });

  it('a hardlink to a symlink is a second symlink (link(2) does not follow it)', async () => {
    const { tree } = await squash([{ path: 's', type: 'symlink', linkname: '/etc/passwd' }, { path: 'h', type: 'hardlink', linkname: 's' }]);
    expect(tree.get('/h')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
  });

  it('whiteouts and opaque markers create their parent directories (mkparent runs first)', async () => {
    const { tree } = await squash([{ path: 'x/y/.wh.gone', body: '' }, { path: 'o/.wh..wh..opq', body: '' }]);
    expect(tree.get('/x/y')).toMatchObject({ type: 'dir', implicit: true });
    expect(tree.get('/o')).toMatchObject({ type: 'dir', implicit: true });
  });

  it('an entry written through a symlink makes the directories the link leads to', async () => {
    const { tree } = await squash([{ path: 'l', type: 'symlink', linkname: 'real/dir' }, { path: 'l/f', body: 'x' }]);
    expect(tree.get('/real/dir')).toMatchObject({ type: 'dir', implicit: true });
    expect(tree.resolve('/real/dir/f')?.path).toBe('/l/f');
  });

  it('a hardlink through a LOWER symlink: the runtime links it (hardlinkRootPath), so it is no runtime refusal — case 5 still refuses it as unknown', async () => {
    const { tree, results } = await squash([{ path: 'etc/shadow', body: 'h' }, { path: 'e', type: 'symlink', linkname: '/etc' }], [{ path: 'h', type: 'hardlink', linkname: 'e/shadow' }]);
    expect(results[1].lowerLinks).toEqual(['/e/shadow']);
    expect(tree.unknowns.filter((u) => u.class === 'runtime-refuses')).toEqual([]);
    expect(tree.unknowns.map((u) => u.path)).toEqual(['/h']);
  });
});

describe('FileTree: slim nodes yield exactly what the object literals of the previous tree did', () => {
  const FIELDS = ['path', 'type', 'size', 'mode', 'uid', 'gid', 'mtime', 'linkname', 'typeflag', 'sparse', 'layer', 'layerIndex', 'implicit', 'truncated', 'effectivePath'] as const;
  const node = (n: TreeNode | undefined): unknown => n && [...FIELDS.map((f) => n[f]), n.body?.toString('base64'), n.target && [n.target.path, n.target.member]];
  const view = (t: FileTree | FileTreeV1): unknown => ({
    nodes: [...t.entries()].map(node),
    resolved: [...t.entries()].map((n) => [n.path, t.realPath(n.path), node(t.resolve(n.path))]),
    removed: t.removed.map((r) => [r.path, r.layer, r.layerIndex, r.reason, r.removedBy, node(r.node)]),
    unknowns: t.unknowns, fileCount: t.fileCount,
  });
  const compare = (layers: LayerResult[]): [unknown, unknown] => [view(FileTree.squash(layers, DEFAULT_LIMITS)), view(FileTreeV1.squash(layers, DEFAULT_LIMITS))];

  it.each<[string, TarEntry[][]]>([
    ['every entry type over a lower layer', [
      [{ path: 'd/f', body: 'lower' }, { path: 'd/s', type: 'symlink', linkname: 'f' }, { path: 'x', body: 'x' }],
      [{ path: 'd/f', body: 'upper' }, { path: 'd/h', type: 'hardlink', linkname: 'd/f' }, { path: 'dev/c', type: 'char' }, { path: 'dev/p', type: 'fifo' }, { path: 'hx', type: 'hardlink', linkname: 'x' }],
    ]],
    ['whiteouts, opaque dirs, a directory replaced by a file', [
      [{ path: 'a/1', body: '1' }, { path: 'b/2', body: '2' }, { path: 'c/3', body: '3' }],
      [{ path: 'a/.wh.1' }, { path: 'b/.wh..wh..opq' }, { path: 'b/new', body: 'n' }, { path: 'c', body: 'file now' }],
    ]],
    ['entries beneath a symlink (aliased where it leads), long names', [
      [{ path: 'real/', type: 'dir' }, { path: 'link', type: 'symlink', linkname: 'real' }],
      [{ path: 'link/inside', body: 'i', mode: 0o4755 }, { path: `${'n'.repeat(140)}/f`, body: 'long' }],
    ]],
  ])('%s', async (_name, layers) => {
    const results: LayerResult[] = [];
    for (const [i, entries] of layers.entries()) results.push(await readTar(buildTar(entries), { index: i, wants: (p) => !p.endsWith('x') }));
    const [ours, reference] = compare(results);
    expect(ours).toEqual(reference);
  });

  it('agrees on 150 random two-layer images (sparse, hardlinks, whiteouts, hostile spellings)', async () => {
    const diffs: string[] = [];
    for (let s = 1; s <= 150; s++) {
      const layers: LayerResult[] = [];
      for (const [i, seed] of [s, s + 1000].entries()) {
        try {
          layers.push(await readTar(generateCase(seed).tar, { index: i, wants: (p) => p.length % 2 === 0 }));
        } catch {
          // a refused layer: squash the others
        }
      }
      const [ours, reference] = compare(layers);
      if (JSON.stringify(ours) !== JSON.stringify(reference)) diffs.push(`seeds ${s}, ${s + 1000}`);
    }
    expect(diffs.slice(0, 3)).toEqual([]);
  });
});
