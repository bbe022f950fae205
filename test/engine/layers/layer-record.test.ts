import { Readable } from 'node:stream';
import { FileTree } from '../../../lib/engine/layers/file-tree';
import { fromLayerRecord, toLayerRecord } from '../../../lib/engine/layers/layer-record';
import { readLayer, type LayerResult } from '../../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { MediaType, sha256Digest } from '../../../lib/engine/model';
import { buildTar, type TarEntry } from '../../../lib/local/builder/tar-writer';
import { generateCase } from '../../helpers/tar-gen';
import { fromLayerRecord as fromV2, toLayerRecord as toV2 } from './reference/layer-record-v2';

async function layer(entries: TarEntry[], wants: (p: string) => boolean): Promise<LayerResult> {
  const tar = buildTar(entries);
  return readLayer(Readable.from([tar]), { layerDigest: sha256Digest(tar), mediaType: MediaType.OciLayer, limits: DEFAULT_LIMITS, wants });
}

/** What the overlay sees of a tree: every node's path, type, layer, link and body. */
const view = (t: FileTree) => [...t.entries()].map((n) => [n.path, n.type, n.layer, n.linkname ?? '', n.target?.path ?? '', n.body?.toString('utf8') ?? '']);

describe('layer records (the layer cache’s form of a layer)', () => {
  const lower: TarEntry[] = [
    { path: 'etc/os-release', body: 'ID=alpine\nVERSION_ID=3.19.1\n' },
    { path: 'bin/busybox', body: 'ELF…', mode: 0o755 },
    { path: 'bin/sh', type: 'hardlink', linkname: 'bin/busybox' },
    { path: 'usr/lib/os-release', type: 'symlink', linkname: '../../etc/os-release' },
    { path: 'lib/apk/db/installed', body: 'P:musl\nV:1.2.4-r2\n\n' },
    { path: 'opt/old/a.txt', body: 'a' },
  ];
  const upper: TarEntry[] = [{ path: 'opt/old/.wh..wh..opq' }, { path: 'opt/.wh.gone' }, { path: 'opt/old/b.txt', body: 'b' }];
  const keep = (p: string) => p.endsWith('os-release');

  it('rebuilds a tree equal to the one read from the blobs, through JSON', async () => {
    const wants = (p: string) => keep(p) || p === '/lib/apk/db/installed';
    const read = [await layer(lower, wants), await layer(upper, wants)];
    const cached = read.map((l) => fromLayerRecord(JSON.parse(JSON.stringify(toLayerRecord(l, keep)))));
    const a = FileTree.squash(read, DEFAULT_LIMITS);
    const b = FileTree.squash(cached, DEFAULT_LIMITS);
    // Bodies other than the kept ones are dropped by design; everything else is the same.
    const strip = (rows: string[][]) => rows.map((r) => (r[0] === '/lib/apk/db/installed' ? r.slice(0, 5) : r));
    expect(strip(view(b))).toEqual(strip(view(a)));
    expect(b.readFile('/usr/lib/os-release')?.toString()).toContain('alpine');
    expect(b.get('/bin/sh')?.target?.path).toBe('/bin/busybox');
    expect(b.get('/lib/apk/db/installed')?.body).toBeUndefined();
    expect(cached[1].opaqueDirs).toEqual(['/opt/old']);
    expect(cached[1].whiteouts).toEqual(['/opt/gone']);
    expect(cached.map((c) => [c.diffId, c.entryCount, c.uncompressedBytes])).toEqual(read.map((c) => [c.diffId, c.entryCount, c.uncompressedBytes]));
  });

  it('keeps a truncated body marked as truncated', async () => {
    const limits = { ...DEFAULT_LIMITS, maxCatalogFileBytes: 4 };
    const tar = buildTar([{ path: 'etc/os-release', body: 'ID=debian\n' }]);
    const l = await readLayer(Readable.from([tar]), { layerDigest: sha256Digest(tar), mediaType: MediaType.OciLayer, limits, wants: keep });
    const r = fromLayerRecord(toLayerRecord(l, keep));
    expect(r.entries.get('/etc/os-release')).toMatchObject({ truncated: true });
    expect(r.entries.get('/etc/os-release')?.body?.toString()).toBe('ID=d');
  });
});

describe('layer records in columns (version 3) rebuild exactly what one tuple per entry (version 2) did', () => {
  const FIELDS = ['path', 'layer', 'type', 'size', 'mode', 'uid', 'gid', 'mtime', 'linkname', 'typeflag', 'sparse', 'truncated', 'wanted'] as const;
  const view = (r: LayerResult): unknown => ({
    entries: [...r.entries].map(([k, e]) => [k, ...FIELDS.map((f) => e[f]), e.body?.toString('base64'), e.linkTarget?.path]),
    rest: { ...r, entries: undefined },
  });
  const keep = (p: string): boolean => p.length % 3 !== 0;
  const both = (l: LayerResult): [unknown, unknown] => [
    view(fromLayerRecord(JSON.parse(JSON.stringify(toLayerRecord(l, keep))))),
    view(fromV2(JSON.parse(JSON.stringify(toV2(l, keep))))),
  ];

  it.each<[string, TarEntry[]]>([
    ['every entry type', [{ path: 'd/', type: 'dir' }, { path: 'd/f', body: 'file' }, { path: 'd/s', type: 'symlink', linkname: '../x' }, { path: 'd/h', type: 'hardlink', linkname: 'd/f' }, { path: 'dev/c', type: 'char' }, { path: 'dev/p', type: 'fifo' }]],
    ['hardlinks to an earlier member and to a lower layer', [{ path: 'a', body: 'AAAA' }, { path: 'b', type: 'hardlink', linkname: 'a' }, { path: 'c', type: 'hardlink', linkname: 'lower/x' }]],
    ['whiteouts, opaque dirs and replaced paths', [{ path: 'w/.wh.gone' }, { path: 'w/.wh..wh..opq' }, { path: 'f', body: 'one' }, { path: 'f', body: 'two' }, { path: 'd/x', body: 'x' }, { path: 'd', body: 'file' }]],
    ['long names, a body cut at the cap', [{ path: `${'n'.repeat(150)}/ab`, body: 'p'.repeat(100) }]],
  ])('%s', async (_name, tar) => {
    const l = await readLayer(Readable.from([buildTar(tar)]), { layerDigest: sha256Digest(buildTar(tar)), mediaType: MediaType.OciLayer, limits: { ...DEFAULT_LIMITS, maxCatalogFileBytes: 50 }, wants: () => true });
    const [v3, v2] = both(l);
    expect(v3).toEqual(v2);
  });

  it('agrees on 300 random archives (sparse, pax, long names, hostile spellings)', async () => {
    const diffs: number[] = [];
    for (let s = 1; s <= 300; s++) {
      let l: LayerResult;
      try {
        l = await readLayer(Readable.from([generateCase(s).tar]), { layerDigest: sha256Digest(Buffer.from([s])), mediaType: MediaType.OciLayer, limits: { ...DEFAULT_LIMITS, maxCatalogFileBytes: 300 }, wants: (p) => p.length % 2 === 0 });
      } catch {
        continue;
      }
      const [v3, v2] = both(l);
      if (JSON.stringify(v3) !== JSON.stringify(v2)) diffs.push(s);
    }
    expect(diffs.slice(0, 5)).toEqual([]);
  });
});
