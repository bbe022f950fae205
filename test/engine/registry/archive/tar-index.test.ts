import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveFormatError, InvalidReferenceError, LimitExceededError, NotFoundError } from '../../../../lib/engine/errors';
import { DEFAULT_LIMITS, resolveLimits } from '../../../../lib/engine/limits';
import { TarStore, indexTar } from '../../../../lib/engine/registry/archive';
import { END_OF_ARCHIVE, buildTar, pad, rawHeader } from '../../../../lib/local/builder/tar-writer';
import { readAll, run, tempDir } from './helpers';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('trustctl-tarindex-');
});
afterEach(() => tmp.cleanup());

const LONG = `${'deep/'.repeat(30)}file-with-a-long-name.txt`; // 175 bytes: needs prefix, PAX or GNU 'L'

describe('indexTar over archives written by GNU tar', () => {
  const formats = ['gnu', 'oldgnu', 'pax', 'ustar'];
  it.each(formats)('--format=%s: every member found at the right offset, bodies served as byte ranges', async (format) => {
    const src = join(tmp.dir, 'src');
    mkdirSync(join(src, ...LONG.split('/').slice(0, -1)), { recursive: true });
    const bodies: Record<string, Buffer> = {
      'manifest.json': Buffer.from('[{"Config":"c.json"}]'),
      'big.bin': Buffer.alloc(70_000, 0xab),
      'empty': Buffer.alloc(0),
      [LONG]: Buffer.from('long name body'),
    };
    for (const [p, b] of Object.entries(bodies)) writeFileSync(join(src, p), b);
    symlinkSync('big.bin', join(src, 'link'));
    const file = join(tmp.dir, `${format}.tar`);
    run('tar', [`--format=${format}`, '-cf', file, '-C', src, '.']);
    const index = await indexTar(file, DEFAULT_LIMITS);
    const store = new TarStore(index, DEFAULT_LIMITS);
    for (const [p, b] of Object.entries(bodies)) {
      expect(index.members.get(p)).toMatchObject({ type: 'file', size: b.length });
      expect((await readAll(await store.open(p))).equals(b)).toBe(true);
    }
    expect(index.members.get('deep')).toMatchObject({ type: 'dir' });
    // `./link -> big.bin` is followed inside the archive.
    expect(index.members.get('link')).toMatchObject({ type: 'symlink', linkname: 'big.bin' });
    expect(await store.size('link')).toBe(70_000);
    expect((await store.head('big.bin', 4)).equals(Buffer.alloc(4, 0xab))).toBe(true);
  });
});

describe('indexTar refuses broken archives (RELIABILITY 14)', () => {
  const good = buildTar([{ path: 'manifest.json', body: 'x'.repeat(2000) }, { path: 'b', body: 'y' }]);
  const negative = Buffer.alloc(12);
  negative[0] = 0xff;
  const cases: { name: string; bytes: () => Buffer; err: unknown; msg: RegExp }[] = [
    { name: 'truncated inside a body', bytes: () => good.subarray(0, 1200), err: ArchiveFormatError, msg: /truncated tar.*declares 2000 bytes/ },
    { name: 'truncated inside a header', bytes: () => good.subarray(0, 512 + 2048 + 100), err: ArchiveFormatError, msg: /partial header/ },
    { name: 'no end-of-archive marker', bytes: () => good.subarray(0, good.length - 1024), err: ArchiveFormatError, msg: /no end-of-archive marker/ },
    { name: 'bad header checksum', bytes: () => Buffer.concat([rawHeader({ name: 'a', typeflag: '0', size: 0, checksum: 1 }), END_OF_ARCHIVE]), err: ArchiveFormatError, msg: /checksum/ },
    { name: 'negative base-256 size', bytes: () => Buffer.concat([rawHeader({ name: 'a', typeflag: '0', size: negative }), END_OF_ARCHIVE]), err: ArchiveFormatError, msg: /negative size/ },
    { name: 'non-octal size', bytes: () => Buffer.concat([rawHeader({ name: 'a', typeflag: '0', size: Buffer.from('12345678z\0\0\0') }), END_OF_ARCHIVE]), err: ArchiveFormatError, msg: /invalid size/ },
    {
      name: 'huge base-256 size past the end of the file',
      bytes: () => Buffer.concat([rawHeader({ name: 'a', typeflag: '0', size: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]) }), END_OF_ARCHIVE]),
      err: ArchiveFormatError,
      msg: /truncated tar/,
    },
    {
      name: 'malformed PAX record',
      bytes: () => {
        const body = Buffer.from('99 path=x\n');
        return Buffer.concat([rawHeader({ name: 'pax', typeflag: 'x', size: body.length }), body, pad(body.length), rawHeader({ name: 'a', typeflag: '0', size: 0 }), END_OF_ARCHIVE]);
      },
      err: ArchiveFormatError,
      msg: /malformed PAX/,
    },
    { name: 'empty file', bytes: () => Buffer.alloc(0), err: ArchiveFormatError, msg: /no end-of-archive marker/ },
  ];
  it.each(cases)('$name', async ({ bytes, err, msg }) => {
    const file = join(tmp.dir, 'bad.tar');
    writeFileSync(file, bytes());
    const p = indexTar(file, DEFAULT_LIMITS);
    await expect(p).rejects.toBeInstanceOf(err);
    await expect(p).rejects.toThrow(msg);
  });

  it('a real archive cut short by truncate(1)-style truncation', async () => {
    const file = join(tmp.dir, 'cut.tar');
    writeFileSync(file, good);
    truncateSync(file, 700);
    await expect(indexTar(file, DEFAULT_LIMITS)).rejects.toBeInstanceOf(ArchiveFormatError);
  });
});

describe('indexTar caps (RELIABILITY 13)', () => {
  const cases = [
    { name: 'maxEntries', limits: { maxEntries: 3 }, entries: 5, paxBytes: 0 },
    { name: 'maxHeaderBytes', limits: { maxHeaderBytes: 1000 }, entries: 1, paxBytes: 5000 },
    { name: 'maxPathBytes', limits: { maxPathBytes: 200 }, entries: 1, paxBytes: 300 },
  ];
  it.each(cases)('$name', async ({ name, limits, entries, paxBytes }) => {
    const file = join(tmp.dir, 'caps.tar');
    const list = Array.from({ length: entries }, (_, i) => ({ path: paxBytes ? 'p'.repeat(paxBytes) : `f${i}`, body: 'x' }));
    writeFileSync(file, buildTar(list));
    const p = indexTar(file, resolveLimits(limits));
    await expect(p).rejects.toBeInstanceOf(LimitExceededError);
    await expect(p).rejects.toMatchObject({ limit: name });
  });
});

describe('TarStore', () => {
  const archive = () =>
    buildTar([
      { path: './manifest.json', body: 'first' },
      { path: 'manifest.json', body: 'second' },
      { path: 'dir/', type: 'dir' },
      { path: 'dir/escape', type: 'symlink', linkname: '../../etc/passwd' },
      { path: 'dir/abs', type: 'symlink', linkname: '/etc/passwd' },
      { path: 'dir/loop', type: 'symlink', linkname: 'loop' },
      { path: 'hard', type: 'hardlink', linkname: 'manifest.json' },
      { path: '../outside', body: 'never indexed' },
      { path: '/abs', body: 'never indexed' },
    ]);
  let store: TarStore;
  beforeEach(async () => {
    const file = join(tmp.dir, 's.tar');
    writeFileSync(file, archive());
    store = new TarStore(await indexTar(file, DEFAULT_LIMITS), DEFAULT_LIMITS, 'test.tar');
  });

  it('a later member of the same name wins, as docker load / tar -x would see it', async () => {
    expect(String(await readAll(await store.open('manifest.json')))).toBe('second');
  });
  it('follows a hardlink to an earlier member', async () => {
    expect(String(await readAll(await store.open('hard')))).toBe('second');
  });
  const refused = [
    { name: 'symlink climbing out', path: 'dir/escape', err: ArchiveFormatError },
    { name: 'absolute symlink', path: 'dir/abs', err: ArchiveFormatError },
    { name: 'symlink loop', path: 'dir/loop', err: LimitExceededError },
    { name: 'a directory', path: 'dir', err: ArchiveFormatError },
    { name: 'lookup with ..', path: '../outside', err: InvalidReferenceError },
    { name: 'absolute lookup', path: '/abs', err: InvalidReferenceError },
  ];
  it.each(refused)('refuses $name', async ({ path, err }) => {
    await expect(store.open(path)).rejects.toBeInstanceOf(err);
  });
  it('a missing member is NotFoundError, and size() says undefined', async () => {
    await expect(store.open('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.size('nope')).toBeUndefined();
  });
  it('names that climb out are never indexed', async () => {
    const index = await indexTar(join(tmp.dir, 's.tar'), DEFAULT_LIMITS);
    expect([...index.members.keys()].sort()).toEqual(['dir', 'dir/abs', 'dir/escape', 'dir/loop', 'hard', 'manifest.json']);
    expect(readFileSync(join(tmp.dir, 's.tar')).includes('never indexed')).toBe(true);
  });
});
