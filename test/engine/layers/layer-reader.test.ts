import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { LimitExceededError, TarFormatError } from '../../../lib/engine/errors';
import { type BodyConsumer, type EntryInfo, type LayerResult, readLayer } from '../../../lib/engine/layers/layer-reader';
import { resolveLimits } from '../../../lib/engine/limits';
import { MediaType, sha256Digest } from '../../../lib/engine/model';
import { END_OF_ARCHIVE, type TarEntry, buildTar, entryBytes, pad, paxHeader, rawHeader } from '../../../lib/local/builder/tar-writer';
import { generateCase } from '../../helpers/tar-gen';
import { layerDigest, readTar, streamOf } from './helpers';
import { readLayer as readLayerV1 } from './reference/layer-reader-v1';

const MiB = 1024 * 1024;

describe('readLayer: entries and metadata', () => {
  it('reports diff_id, sizes, entry count, and per-path metadata', async () => {
    const tar = buildTar([
      { path: 'etc/', type: 'dir', mode: 0o755 },
      { path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 },
      { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { path: 'dev/null', type: 'char' },
      { path: 'usr/bin/app', body: 'x', uid: 1000, gid: 1001, mode: 0o4755 },
    ]);
    const r = await readTar(tar, { gzip: true });
    expect(r.diffId).toBe(sha256Digest(tar));
    expect(r.uncompressedBytes).toBe(tar.length);
    expect(r.entryCount).toBe(5);
    expect(r.compression).toBe('gzip');
    expect([...r.entries.keys()].sort()).toEqual(['/bin/sh', '/dev/null', '/etc', '/etc/passwd', '/usr/bin/app']);
    expect(r.entries.get('/etc/passwd')).toMatchObject({ type: 'file', size: 26, mode: 0o644, mtime: 1_700_000_000, layer: layerDigest() });
    expect(r.entries.get('/etc/passwd')?.body).toBeUndefined(); // nobody asked
    expect(r.entries.get('/bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(r.entries.get('/dev/null')).toMatchObject({ type: 'other', typeflag: '3' });
    expect(r.entries.get('/usr/bin/app')).toMatchObject({ uid: 1000, gid: 1001, mode: 0o4755 });
    expect(r.unknowns).toEqual([]);
  });

  it('duplicate paths in one layer: the later member wins, as extraction does', async () => {
    const r = await readTar(buildTar([{ path: 'f', body: 'first' }, { path: './f', body: 'second' }]), { wants: () => true });
    expect(r.entries.size).toBe(1);
    expect(r.entries.get('/f')?.body?.toString()).toBe('second');
    expect(r.entryCount).toBe(2);
  });

  it('an entry type containerd does not handle, or a pax path with NUL, refuses the layer (RELIABILITY.md 58)', async () => {
    await expect(readTar(Buffer.concat([rawHeader({ name: 'weird', typeflag: 'Z', size: 0 }), END_OF_ARCHIVE]))).rejects.toThrow(/unhandled tar header type/);
    await expect(readTar(Buffer.concat([paxHeader({ path: 'a\0b' }), rawHeader({ name: 'x', typeflag: '0', size: 0 }), END_OF_ARCHIVE]))).rejects.toThrow(TarFormatError);
  });

  it('records non-zero data hidden after the end-of-archive marker', async () => {
    const r = await readTar(Buffer.concat([buildTar([{ path: 'f', body: 'x' }]), Buffer.from('hidden payload')]));
    expect(r.unknowns.map((u) => u.reason)).toEqual(['non-zero data after the end-of-archive marker']);
    expect(r.diffId).toBe(sha256Digest(Buffer.concat([buildTar([{ path: 'f', body: 'x' }]), Buffer.from('hidden payload')])));
  });
});

describe('readLayer: hostile names (cases 1, 3, 8)', () => {
  it('case 1: ../../x, /abs, C:../x and backslashes stay inside the virtual tree', async () => {
    const r = await readTar(
      buildTar([
        { path: '../../x', body: '1' },
        { path: '/abs', body: '2' },
        { path: 'C:../x', body: '3' },
        { path: '..\\..\\win', body: '4' },
        { path: 'a/../../../../etc/cron.d/evil', body: '5' },
      ]),
    );
    expect([...r.entries.keys()].sort()).toEqual(['/..\\..\\win', '/C:../x', '/abs', '/etc/cron.d/evil', '/x']);
  });

  it('case 3: a -> ../.. then a/pwn in one layer: both are metadata, nothing resolves outside', async () => {
    const r = await readTar(buildTar([{ path: 'a', type: 'symlink', linkname: '../..' }, { path: 'a/pwn', body: 'owned' }]), { wants: () => true });
    expect(r.entries.get('/a')).toMatchObject({ type: 'symlink', linkname: '../..' });
    expect(r.entries.get('/a/pwn')?.body?.toString()).toBe('owned');
    expect([...r.entries.keys()].every((p) => p.startsWith('/'))).toBe(true);
  });

  it('case 8: case- and Unicode-colliding names and non-UTF-8 bytes are distinct entries', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const latin1 = Buffer.concat([rawHeader({ name: 'x', typeflag: '0', size: 1 }), Buffer.from('L'), pad(1)]);
    Buffer.from([0x63, 0x61, 0x66, 0xe9, 0]).copy(latin1, 0); // "caf\xe9": not UTF-8
    latin1.fill(' ', 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += latin1[i];
    latin1.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    const tar = Buffer.concat([...entryBytes({ path: 'README', body: 'A' }), ...entryBytes({ path: 'readme', body: 'B' }), ...entryBytes({ path: nfc, body: 'C' }), ...entryBytes({ path: nfd, body: 'D' }), latin1, END_OF_ARCHIVE]);
    const r = await readTar(tar, { wants: () => true });
    expect(r.entries.size).toBe(5);
    const bodies = [...r.entries.values()].map((e) => e.body?.toString()).sort();
    expect(bodies).toEqual(['A', 'B', 'C', 'D', 'L']);
    expect(r.entries.get(`/${nfc}`)?.body?.toString()).toBe('C');
    expect(r.entries.get(`/${nfd}`)?.body?.toString()).toBe('D');
  });

  it('case 13: a 10,000-deep path → LimitExceededError(maxPathDepth)', async () => {
    const deep = Array.from({ length: 10_000 }, () => 'd').join('/');
    const err = await readTar(buildTar([{ path: deep, body: 'x' }]), { limits: { maxPathBytes: 64 * 1024 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('maxPathDepth');
  });

  it('case 13: the same path is refused by maxPathBytes with default limits', async () => {
    const deep = Array.from({ length: 10_000 }, () => 'd').join('/');
    const err = await readTar(buildTar([{ path: deep, body: 'x' }])).catch((e: unknown) => e);
    expect((err as LimitExceededError).limit).toBe('maxPathBytes');
  });
});

describe('readLayer: whiteouts (case 9)', () => {
  it.each<[string, TarEntry[], string[], string[], string[], number]>([
    ['.wh.f deletes f', [{ path: 'etc/.wh.f', body: '' }], ['/etc/f'], [], [], 0],
    ['.wh..wh..opq makes its directory opaque', [{ path: 'var/cache/.wh..wh..opq', body: '' }], [], ['/var/cache'], [], 0],
    ['opaque marker after its siblings still applies', [{ path: 'd/', type: 'dir' }, { path: 'd/new', body: 'n' }, { path: 'd/.wh..wh..opq', body: '' }], [], ['/d'], ['/d', '/d/new'], 0],
    // containerd removes `d/.wh.<rest>` for any other `.wh..wh.` name: a whiteout of that name.
    ['.wh..wh..opqX whites out d/.wh..opqX and is an unknown', [{ path: 'd/.wh..wh..opqX', body: '' }], ['/d/.wh..opqX'], [], [], 1],
    ['.wh..wh.other whites out d/.wh.plnk and is an unknown', [{ path: 'd/.wh..wh.plnk', body: '' }], ['/d/.wh.plnk'], [], [], 1],
    ['a whiteout marker at the top level', [{ path: '.wh.opt', body: '' }], ['/opt'], [], [], 0],
    ['a whiteout named by a directory entry is still a marker', [{ path: 'x/.wh.y/', type: 'dir' }], ['/x/y'], [], [], 0],
  ])('%s', async (_name, entries, whiteouts, opaque, kept, unknowns) => {
    const r = await readTar(buildTar(entries));
    expect(r.whiteouts).toEqual(whiteouts);
    expect(r.opaqueDirs).toEqual(opaque);
    expect([...r.entries.keys()]).toEqual(kept);
    expect(r.unknowns).toHaveLength(unknowns);
    expect([...r.entries.keys()].some((p) => p.includes('.wh.'))).toBe(false);
  });
});

describe('readLayer: hardlinks (case 5)', () => {
  it.each<[string, TarEntry[], string, string | undefined, string | undefined]>([
    ['to an earlier member: shares its body', [{ path: 'bin/a', body: 'AAAA' }, { path: 'bin/b', type: 'hardlink', linkname: 'bin/a' }], '/bin/b', '/bin/a', 'AAAA'],
    ['to ./-prefixed name of an earlier member', [{ path: 'a', body: 'AAAA' }, { path: 'b', type: 'hardlink', linkname: './a' }], '/b', '/a', 'AAAA'],
    ['to a later member: not resolved in this layer', [{ path: 'b', type: 'hardlink', linkname: 'a' }, { path: 'a', body: 'AAAA' }], '/b', undefined, undefined],
    ['through a symlinked directory: never followed', [{ path: 'real/f', body: 'F' }, { path: 'lnk', type: 'symlink', linkname: 'real' }, { path: 'h', type: 'hardlink', linkname: 'lnk/f' }], '/h', undefined, undefined],
    ['outside the root: clamped to an image path, which does not exist', [{ path: 'h', type: 'hardlink', linkname: '../../../etc/passwd' }], '/h', undefined, undefined],
    ['chain of hardlinks resolves to the file', [{ path: 'a', body: 'A' }, { path: 'b', type: 'hardlink', linkname: 'a' }, { path: 'c', type: 'hardlink', linkname: 'b' }], '/c', '/a', 'A'],
  ])('%s', async (_name, entries, path, target, body) => {
    const r = await readTar(buildTar(entries), { wants: () => true });
    const e = r.entries.get(path);
    expect(e?.type).toBe('hardlink');
    expect(e?.linkTarget?.path).toBe(target);
    expect(e?.body?.toString()).toBe(body);
  });

  it('a hardlink to a directory: the runtime refuses the layer, so do we (RELIABILITY.md 58)', async () => {
    await expect(readTar(buildTar([{ path: 'd/', type: 'dir' }, { path: 'h', type: 'hardlink', linkname: 'd' }]))).rejects.toThrow(TarFormatError);
  });

  it('.wh.. (whiteout of ..): containerd refuses the layer ("invalid whiteout name"), so do we', async () => {
    await expect(readTar(buildTar([{ path: 'd/.wh..', body: '' }]))).rejects.toThrow(/invalid whiteout name/);
  });

  it('a later member with the target name does not change the link', async () => {
    const r = await readTar(buildTar([{ path: 'a', body: 'old' }, { path: 'b', type: 'hardlink', linkname: 'a' }, { path: 'a', body: 'new' }]), { wants: () => true });
    expect(r.entries.get('/b')?.body?.toString()).toBe('old');
    expect(r.entries.get('/a')?.body?.toString()).toBe('new');
  });
});

describe('readLayer: capturing wanted bodies', () => {
  it('asks only for files and hardlinks, with canonical paths and metadata', async () => {
    const seen: [string, EntryInfo['type'], number][] = [];
    await readTar(
      buildTar([
        { path: 'var/lib/dpkg/', type: 'dir' },
        { path: './var/lib/dpkg/status', body: 'Package: x\n' },
        { path: 'l', type: 'symlink', linkname: 'var' },
        { path: 'h', type: 'hardlink', linkname: 'var/lib/dpkg/status' },
      ]),
      {
        wants: (p, info) => {
          seen.push([p, info.type, info.size]);
          return false;
        },
      },
    );
    expect(seen).toEqual([
      ['/var/lib/dpkg/status', 'file', 11],
      ['/h', 'hardlink', 11],
    ]);
  });

  it('bodies over maxCatalogFileBytes are cut, flagged truncated, and recorded as cut-by-cap with the consumer', async () => {
    const r = await readLayer(streamOf(buildTar([{ path: 'big', body: Buffer.alloc(5000, 1) }, { path: 'small', body: 'ok' }])), {
      layerDigest: layerDigest(), mediaType: MediaType.OciLayer, limits: resolveLimits({ maxCatalogFileBytes: 1000 }), wants: () => true, wantedBy: () => 'dpkg',
    });
    expect(r.entries.get('/big')?.body?.length).toBe(1000);
    expect(r.entries.get('/big')?.truncated).toBe(true);
    expect(r.entries.get('/small')?.truncated).toBeUndefined();
    expect(r.entries.get('/small')?.body?.toString()).toBe('ok');
    expect(r.unknowns).toEqual([{ layer: layerDigest(), path: '/big', reason: expect.stringContaining('maxCatalogFileBytes=1000'), class: 'cut-by-cap', consumer: 'dpkg' }]);
  });

  it('no budget is shared across a layer: every wanted body is captured whole however many there are (issue 13 item 2)', async () => {
    const r = await readTar(buildTar([{ path: 'a', body: Buffer.alloc(600, 1) }, { path: 'b', body: Buffer.alloc(600, 2) }, { path: 'c', body: 'c' }]), {
      wants: () => true,
      limits: { maxCatalogFileBytes: 1000 },
    });
    expect(['/a', '/b', '/c'].map((p) => [r.entries.get(p)?.body?.length, r.entries.get(p)?.truncated])).toEqual([[600, undefined], [600, undefined], [1, undefined]]);
    expect(r.capturedBytes).toBe(1201);
    expect(r.unknowns).toEqual([]);
  });
});

describe('case 16: a multi-GB file streams through with flat memory', () => {
  it('3 GiB body: completes, later entries still read, memory bounded', async () => {
    const size = 3 * 1024 * MiB;
    const block = Buffer.alloc(4 * MiB, 0x5a);
    const tail = buildTar([{ path: 'after', body: 'still here' }]);
    let phase = 0;
    let sent = 0;
    const hash = createHash('sha256');
    const src = new Readable({
      read() {
        let out: Buffer;
        if (phase === 0) {
          out = rawHeader({ name: 'huge.bin', typeflag: '0', size });
          phase = 1;
        } else if (phase === 1) {
          out = block.subarray(0, Math.min(block.length, size - sent));
          sent += out.length;
          if (sent === size) phase = 2;
        } else if (phase === 2) {
          out = tail;
          phase = 3;
        } else {
          this.push(null);
          return;
        }
        hash.update(out);
        this.push(out);
      },
    });
    let streamed = 0;
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const r = await readLayer(src, {
      layerDigest: layerDigest(),
      mediaType: MediaType.OciLayer,
      limits: resolveLimits({ maxCatalogFileBytes: MiB }),
      wants: () => true,
      consumers: [{ name: 'counter', file: () => ({ write: (c: Buffer) => void (streamed += c.length), end: () => undefined }) }],
    }).finally(() => clearInterval(timer));
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(r.entries.get('/huge.bin')).toMatchObject({ size, truncated: true });
    expect(r.entries.get('/huge.bin')?.body?.length).toBe(MiB);
    // A streaming consumer saw every byte of it, in flat memory.
    expect(streamed).toBe(size + 'still here'.length);
    expect(r.coverage).toMatchObject({ regularFiles: 2, regularFileBytes: size + 10, filesExaminedInFull: 2, consumers: { counter: { files: 2, bytes: size + 10 } } });
    expect(r.entries.get('/after')?.body?.toString()).toBe('still here');
    expect(r.uncompressedBytes).toBe(size + 512 + tail.length);
    expect(r.diffId).toBe(`sha256:${hash.digest('hex')}`);
    expect(peak - before).toBeLessThan(128 * MiB);
    console.log(`case 16: 3 GiB body streamed, RSS grew ${((peak - before) / MiB).toFixed(0)} MiB`);
  }, 30_000);
});

describe('readLayer: whiteout-named directories', () => {
  it('a marker inside a whiteout-named directory is still a marker; the odd directory is recorded', async () => {
    const r = await readTar(buildTar([{ path: 'a/.wh.x/.wh.y', body: '' }, { path: 'a/.wh.x/f', body: 'f' }]));
    expect(r.whiteouts).toEqual(['/a/.wh.x/y']);
    expect([...r.entries.keys()]).toEqual(['/a/.wh.x/f']);
    expect(r.unknowns.map((u) => [u.path, u.reason])).toEqual([['/a/.wh.x/f', 'path has a whiteout-named directory component']]);
  });
});

describe('readLayer: slim entries yield exactly what the object literals of the previous reader did', () => {
  /** Every field a LayerEntry may carry, read whether it is an own property or absent. */
  const FIELDS = ['path', 'layer', 'type', 'size', 'mode', 'uid', 'gid', 'mtime', 'linkname', 'typeflag', 'sparse', 'truncated', 'wanted', 'member'] as const;
  const view = (r: LayerResult | undefined): unknown => r && ({
    entries: [...r.entries].map(([k, e]) => [k, ...FIELDS.map((f) => e[f]), e.body?.toString('base64'), e.linkTarget && [e.linkTarget.path, e.linkTarget.member]]),
    whiteouts: r.whiteouts, opaqueDirs: r.opaqueDirs, unknowns: r.unknowns, coverage: r.coverage, entryCount: r.entryCount,
    capturedBytes: r.capturedBytes, lowerLinks: r.lowerLinks, diffId: r.diffId,
  });
  /** A consumer that takes every body, so coverage is compared too. */
  const counting: BodyConsumer = { name: 'count', file: () => ({ write: () => undefined, end: () => undefined }) };
  const read = async (read: typeof readLayer, tar: Buffer): Promise<unknown> => {
    const opts = {
      layerDigest: layerDigest(), mediaType: MediaType.OciLayer, consumers: [counting],
      limits: resolveLimits({ maxCatalogFileBytes: 300 }),
      // Some bodies wanted (some cut at the cap), some hardlinks wanted.
      wants: (p: string) => /[aeg]$|passwd/.test(p),
    };
    try {
      return view(await read(streamOf(tar, 1000), opts));
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
  };

  it.each<[string, TarEntry[]]>([
    ['every entry type', [
      { path: 'd/', type: 'dir' }, { path: 'd/f', body: 'file' }, { path: 'd/s', type: 'symlink', linkname: '../x' },
      { path: 'd/h', type: 'hardlink', linkname: 'd/f' }, { path: 'dev/c', type: 'char' }, { path: 'dev/b', type: 'block' }, { path: 'dev/p', type: 'fifo' },
    ]],
    ['hardlinks: to an earlier file, a symlink, a lower layer', [
      { path: 'a', body: 'AAAA' }, { path: 'passwd', type: 'hardlink', linkname: 'a' }, { path: 's', type: 'symlink', linkname: 'a' },
      { path: 'hs', type: 'hardlink', linkname: 's' }, { path: 'lower', type: 'hardlink', linkname: 'not/here' },
    ]],
    ['hardlink to a directory: the layer is refused', [{ path: 'dir/', type: 'dir' }, { path: 'hd', type: 'hardlink', linkname: 'dir' }]],
    ['whiteouts and opaque dirs', [{ path: 'w/.wh.gone' }, { path: 'w/.wh..wh..opq' }, { path: 'w/kept', body: 'k' }, { path: '.wh..wh.odd' }]],
    ['replaced paths: a file twice, a directory by a file', [{ path: 'f', body: 'one' }, { path: 'f', body: 'two' }, { path: 'd/', type: 'dir' }, { path: 'd/x', body: 'x' }, { path: 'd', body: 'now a file' }]],
    ['long names and a body past the capture cap', [{ path: `${'n'.repeat(150)}/passwd`, body: 'p'.repeat(1000) }, { path: `l/${'m'.repeat(120)}`, type: 'symlink', linkname: 't'.repeat(130) }]],
  ])('%s', async (_name, tar) => {
    const t = buildTar(tar);
    const reference = await read(readLayerV1, t);
    expect(typeof reference === 'string').toBe(_name.includes('refused'));
    expect(await read(readLayer, t)).toEqual(reference);
  });

  it('agrees on 400 random archives (sparse in every GNU form, pax, long names, hostile spellings)', async () => {
    const diffs: string[] = [];
    let sparse = 0;
    for (let s = 1; s <= 400; s++) {
      const c = generateCase(s);
      if (c.recipe.some((l) => l.startsWith('sparse'))) sparse++;
      const [ours, reference] = [await read(readLayer, c.tar), await read(readLayerV1, c.tar)];
      if (JSON.stringify(ours) !== JSON.stringify(reference)) diffs.push(`seed ${s}\n${c.recipe.join('\n')}`);
    }
    expect(diffs.slice(0, 3)).toEqual([]);
    expect(sparse).toBeGreaterThan(20);
  });
});
