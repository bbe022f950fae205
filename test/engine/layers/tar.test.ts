import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LimitExceededError, TarFormatError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { type TarHeader, TarParser } from '../../../lib/engine/layers/tar';
import { readLayer } from '../../../lib/engine/layers/layer-reader';
import { resolveLimits } from '../../../lib/engine/limits';
import { MediaType } from '../../../lib/engine/model';
import { END_OF_ARCHIVE, buildTar, entryBytes, pad, paxHeader, rawHeader } from '../../../lib/local/builder/tar-writer';
import { base256, gnuLong, layerDigest, readTar, rechecksum } from './helpers';

/** Parses a whole buffer with the given chunk size and returns the headers (and captured bodies). */
function parse(buf: Buffer, chunk = 1 << 16, limits = DEFAULT_LIMITS, want = 0): { headers: TarHeader[]; bodies: Map<string, Buffer>; parser: TarParser } {
  const headers: TarHeader[] = [];
  const bodies = new Map<string, Buffer>();
  // Format tests: the runtime model (runtime-model.ts, tested below) is off here.
  const parser = new TarParser(limits, {
    onEntry: (h) => {
      headers.push(h);
      return want;
    },
    onBody: (h, b) => bodies.set(h.name, b),
  }, { runtime: false });
  for (let i = 0; i < buf.length; i += chunk) parser.write(buf.subarray(i, i + chunk));
  parser.end();
  return { headers, bodies, parser };
}

/** A pax global header (typeflag g). */
function globalPax(records: Record<string, string>): Buffer {
  const g = paxHeader(records);
  g[156] = 'g'.charCodeAt(0);
  rechecksum(g.subarray(0, 512));
  return g;
}

function expectTarError(fn: () => unknown, cls: typeof TarFormatError | typeof LimitExceededError = TarFormatError, limit?: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  if (limit) expect((err as LimitExceededError).limit).toBe(limit);
}

describe('tar parser against archives written by GNU tar', () => {
  let dir: string;
  const longDir = `d${'x'.repeat(120)}/${'y'.repeat(90)}`;
  const longFile = `${longDir}/${'f'.repeat(150)}.txt`;
  const longLink = `/${'t'.repeat(200)}`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-tar-'));
    const root = join(dir, 'root');
    mkdirSync(join(root, longDir), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
    writeFileSync(join(root, 'empty'), '');
    writeFileSync(join(root, longFile), 'long name body');
    writeFileSync(join(root, 'caf\u00e9-\u65e5\u672c'), 'unicode');
    symlinkSync('etc/os-release', join(root, 'short-link'));
    symlinkSync(longLink, join(root, 'long-link'));
    linkSync(join(root, 'etc', 'os-release'), join(root, 'hard'));
    // A sparse file: 1 GiB apparent size, 4 KiB of data at 512 MiB.
    const fd = openSync(join(root, 'sparse.img'), 'w');
    ftruncateSync(fd, 1 << 30);
    writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 512 * 1024 * 1024);
    closeSync(fd);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `tar -tv` listing: type char, size, name, link target. */
  function gnuListing(archive: string): { type: string; size: number; name: string; link?: string }[] {
    const out = execFileSync('tar', ['--numeric-owner', '--quoting-style=literal', '-tvf', archive], { encoding: 'utf8' });
    return out.trimEnd().split('\n').map((line) => {
      const m = /^(.)\S+ \S+ +(\d+) \S+ \S+ (.*)$/.exec(line);
      if (!m) throw new Error(`unparsed tar -tv line ${line}`);
      const [, type, size, rest] = m;
      const arrow = type === 'l' ? rest.indexOf(' -> ') : type === 'h' ? rest.indexOf(' link to ') : -1;
      const name = arrow < 0 ? rest : rest.slice(0, arrow);
      const link = arrow < 0 ? undefined : rest.slice(arrow + (type === 'l' ? 4 : 9));
      return { type, size: Number(size), name, ...(link === undefined ? {} : { link }) };
    });
  }

  const TYPE: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h' };

  it.each([
    ['GNU format (L/K long names, old GNU sparse S)', 'gnu'],
    ['POSIX pax format (pax path/linkpath, GNU.sparse 1.0)', 'pax'],
  ])('%s: our entry list equals tar -tvf', (_name, format) => {
    const archive = join(dir, `a-${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '--sparse', '-cf', archive, '-C', join(dir, 'root'), '.']);
    const { headers } = parse(execFileSync('cat', [archive]), 4096);
    const ours = headers.map((h) => ({
      type: TYPE[h.kind] ?? '?',
      size: h.kind === 'hardlink' ? 0 : h.realSize,
      name: h.name,
      ...(h.kind === 'symlink' || h.kind === 'hardlink' ? { link: h.linkname } : {}),
    }));
    expect(ours).toEqual(gnuListing(archive));
    expect(headers.some((h) => h.name.endsWith(longFile))).toBe(true);
    expect(headers.find((h) => h.name.endsWith('long-link'))?.linkname).toBe(longLink);
    // case 15: the sparse file's real size is metadata; only its data is in the archive.
    const sparse = headers.find((h) => h.name.endsWith('sparse.img')) as TarHeader;
    expect(sparse.sparse).toBe(true);
    expect(sparse.realSize).toBe(1 << 30);
    expect(sparse.size).toBeLessThan(1 << 20);
  });

  it.each([
    ['1-byte chunks', 1],
    ['7-byte chunks', 7],
    ['511-byte chunks', 511],
    ['513-byte chunks', 513],
    ['64 KiB chunks', 65536],
  ])('same entries and bodies whatever the chunking: %s', (_name, chunk) => {
    const archive = join(dir, 'chunks.tar');
    execFileSync('tar', ['--format=gnu', '-cf', archive, '-C', join(dir, 'root'), '--exclude=sparse.img', '.']);
    const buf = execFileSync('cat', [archive]);
    const ref = parse(buf, buf.length, DEFAULT_LIMITS, 1 << 20);
    const got = parse(buf, chunk, DEFAULT_LIMITS, 1 << 20);
    expect(got.headers).toEqual(ref.headers);
    expect([...got.bodies]).toEqual([...ref.bodies]);
    expect(got.bodies.get('./etc/os-release')?.toString()).toBe('ID=debian\nVERSION_ID="12"\n');
  });
});

describe('tar formats built by hand', () => {
  it('ustar prefix + name', () => {
    const h = rawHeader({ name: 'file.txt', typeflag: '0', size: 0, prefix: 'usr/share/doc/pkg' });
    expect(parse(Buffer.concat([h, END_OF_ARCHIVE])).headers[0].name).toBe('usr/share/doc/pkg/file.txt');
  });

  it('GNU L and K long names', () => {
    const name = `a/${'n'.repeat(300)}`;
    const link = `../${'l'.repeat(300)}`;
    const buf = Buffer.concat([gnuLong('L', name), gnuLong('K', link), rawHeader({ name: 'short', typeflag: '2', size: 0, linkname: 'short' }), END_OF_ARCHIVE]);
    const [h] = parse(buf).headers;
    expect(h.name).toBe(name);
    expect(h.linkname).toBe(link);
    expect(h.kind).toBe('symlink');
  });

  it('pax x records: path, linkpath, size, uid, other keys kept', () => {
    const body = Buffer.from('0123456789');
    const buf = Buffer.concat([
      paxHeader({ path: `p/${'q'.repeat(200)}`, size: '10', uid: '123456789', 'SCHILY.xattr.user.x': 'v' }),
      rawHeader({ name: 'short', typeflag: '0', size: 3 }), // header size is overridden by pax size
      body,
      pad(10),
      END_OF_ARCHIVE,
    ]);
    const { headers, bodies } = parse(buf, 100, DEFAULT_LIMITS, 100);
    expect(headers[0]).toMatchObject({ name: `p/${'q'.repeat(200)}`, size: 10, uid: 123456789, pax: { 'SCHILY.xattr.user.x': 'v' } });
    expect(bodies.get(headers[0].name)?.toString()).toBe('0123456789');
  });

  it('RELIABILITY.md 49: pax g records are never applied to a member (Go returns them as a header of their own)', () => {
    const buf = Buffer.concat([
      globalPax({ path: 'global', size: '1024' }),
      rawHeader({ name: 'one', typeflag: '0', size: 0 }),
      paxHeader({ path: '' }),
      rawHeader({ name: 'two', typeflag: '0', size: 0 }),
      END_OF_ARCHIVE,
    ]);
    expect(parse(buf).headers.map((h) => [h.name, h.size])).toEqual([
      ['one', 0],
      ['two', 0],
    ]);
  });

  it('RELIABILITY.md 50: a GNU long name wins over a pax path on the same member (Go applies L after mergePAX)', () => {
    const buf = Buffer.concat([paxHeader({ path: 'from-pax' }), gnuLong('L', 'from-gnu'), rawHeader({ name: 'ustar', typeflag: '0', size: 0 }), END_OF_ARCHIVE]);
    expect(parse(buf).headers.map((h) => h.name)).toEqual(['from-gnu']);
  });

  it('a second x header replaces the first one whole (Go: paxHdrs = parsePAX)', () => {
    const buf = Buffer.concat([paxHeader({ path: 'first', uid: '7' }), paxHeader({ gid: '9' }), rawHeader({ name: 'ustar', typeflag: '0', size: 0 }), END_OF_ARCHIVE]);
    expect(parse(buf).headers.map((h) => [h.name, h.uid, h.gid])).toEqual([['ustar', 0, 9]]);
  });

  it('old regular-file typeflag NUL with a trailing slash is a directory (Go archive/tar)', () => {
    const [h] = parse(Buffer.concat([rawHeader({ name: 'olddir/', typeflag: '\0', size: 0 }), END_OF_ARCHIVE])).headers;
    expect(h.kind).toBe('dir');
  });

  it('header-only types never carry a body, whatever their size field says (Go isHeaderOnlyType)', () => {
    // A directory declaring 512 bytes is followed directly by the next header: reading a body
    // there would hide "next" from us while containerd extracts it.
    const buf = Buffer.concat([rawHeader({ name: 'dir/', typeflag: '5', size: 512 }), rawHeader({ name: 'next', typeflag: '0', size: 0 }), END_OF_ARCHIVE]);
    const { headers } = parse(buf);
    expect(headers.map((h) => [h.name, h.size])).toEqual([
      ['dir/', 0],
      ['next', 0],
    ]);
  });

  it('GNU volume label V is a member of an unknown type (Go returns it; containerd refuses it)', () => {
    const buf = Buffer.concat([rawHeader({ name: 'label', typeflag: 'V', size: 0 }), rawHeader({ name: 'f', typeflag: '0', size: 0 }), END_OF_ARCHIVE]);
    expect(parse(buf).headers.map((h) => [h.name, h.kind])).toEqual([['label', 'other'], ['f', 'file']]);
  });

  it('positive base-256 size is read', () => {
    const h = rawHeader({ name: 'big', typeflag: '0', size: base256(0x80, [0x01, 0x00]) });
    const buf = Buffer.concat([h, Buffer.alloc(256, 1), pad(256), END_OF_ARCHIVE]);
    expect(parse(buf).headers[0].size).toBe(256);
  });

  it('accepts a checksum computed over signed bytes (old tars), as GNU tar does', () => {
    const h = rawHeader({ name: 'caf\u00e9', typeflag: '0', size: 0 });
    let signed = 0;
    h.fill(' ', 148, 156);
    for (let i = 0; i < 512; i++) signed += h[i] > 127 ? h[i] - 256 : h[i];
    h.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    expect(parse(Buffer.concat([h, END_OF_ARCHIVE])).headers[0].name).toBe('caf\u00e9');
  });

  it.each([
    ['two zero blocks', END_OF_ARCHIVE],
    ['EOF after a single zero block (GNU tar tolerates it)', Buffer.alloc(512)],
    ['EOF at a block boundary without end marker', Buffer.alloc(0)],
    ['record padding after the end marker', Buffer.alloc(10240 - 1024)],
  ])('end of archive: %s', (_name, tail) => {
    const buf = Buffer.concat([...entryBytes({ path: 'f', body: 'x' }), tail]);
    const { headers, parser } = parse(buf);
    expect(headers.map((h) => h.name)).toEqual(['f']);
    expect(parser.ended).toBe(true);
    expect(parser.trailingData).toBe(false);
  });

  it.each([
    ['inside the padding after the last body (Go takes EOF there as the end)', (f: Buffer) => f.subarray(0, 1000)],
    ['after a pax header that names nothing', () => paxHeader({ path: 'x' })],
    ['at an end marker after a pax header', () => Buffer.concat([paxHeader({ path: 'x' }), END_OF_ARCHIVE])],
  ])('RELIABILITY.md 54: the stream may end %s', (_name, make) => {
    const { parser } = parse(make(buildTar([{ path: 'f', body: 'hello world' }])));
    expect(parser.ended).toBe(true);
  });

  it('flags non-zero data after the end marker', () => {
    const { parser } = parse(Buffer.concat([buildTar([{ path: 'f', body: 'x' }]), Buffer.from('hidden')]));
    expect(parser.trailingData).toBe(true);
  });

  describe('case 14: malformed headers → TarFormatError, no hang', () => {
    const negative = rawHeader({ name: 'neg', typeflag: '0', size: base256(0xff, [0xff, 0xff, 0xfe]) });
    const overflow = rawHeader({ name: 'ovf', typeflag: '0', size: Buffer.from([0x80, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) });
    const badSum = rawHeader({ name: 'sum', typeflag: '0', size: 0, checksum: 1234 });
    const nonNumeric = rechecksum(rawHeader({ name: 'nan', typeflag: '0', size: 0 }));
    nonNumeric.write('12x45678901\0', 124, 'ascii');
    rechecksum(nonNumeric);
    const file = buildTar([{ path: 'f', body: 'hello world' }]);
    it.each([
      ['negative base-256 size', Buffer.concat([negative, END_OF_ARCHIVE])],
      ['base-256 size above 2^53', Buffer.concat([overflow, END_OF_ARCHIVE])],
      ['bad checksum', Buffer.concat([badSum, END_OF_ARCHIVE])],
      ['non-numeric size field', Buffer.concat([nonNumeric, END_OF_ARCHIVE])],
      ['truncated inside a header', file.subarray(0, 300)],
      ['truncated inside a body', file.subarray(0, 520)],
      ['a lone zero block followed by a member', Buffer.concat([Buffer.alloc(512), file])],
      ['malformed pax record', (() => {
        const rec = Buffer.from('99 path=x\n');
        return Buffer.concat([rawHeader({ name: 'p', typeflag: 'x', size: rec.length }), rec, pad(rec.length), file]);
      })()],
      ['pax size that is not a number', Buffer.concat([paxHeader({ size: '-5' }), file])],
    ])('%s', (_name, buf) => {
      expectTarError(() => parse(buf));
    });

    it('rejects them through readLayer too (gzip-compressed)', async () => {
      await expect(readTar(Buffer.concat([negative, END_OF_ARCHIVE]), { gzip: true })).rejects.toBeInstanceOf(TarFormatError);
      await expect(readTar(file.subarray(0, 520), { gzip: true })).rejects.toBeInstanceOf(TarFormatError);
    });
  });

  describe('case 13: header caps', () => {
    it.each([
      ['pax header larger than maxHeaderBytes (declared 2 GiB, never read)', Buffer.concat([rawHeader({ name: 'p', typeflag: 'x', size: 2 ** 31 }), Buffer.alloc(1024)]), 'maxHeaderBytes'],
      ['GNU long name larger than maxHeaderBytes', Buffer.concat([rawHeader({ name: '././@LongLink', typeflag: 'L', size: (1 << 20) + 1 })]), 'maxHeaderBytes'],
      ['pax path longer than maxPathBytes', Buffer.concat([paxHeader({ path: 'a/'.repeat(3000) }), rawHeader({ name: 'x', typeflag: '0', size: 0 }), END_OF_ARCHIVE]), 'maxPathBytes'],
      ['GNU long link longer than maxPathBytes', Buffer.concat([gnuLong('K', 'l'.repeat(5000)), rawHeader({ name: 'x', typeflag: '2', size: 0 }), END_OF_ARCHIVE]), 'maxPathBytes'],
    ])('%s → LimitExceededError', (_name, buf, limit) => {
      expectTarError(() => parse(buf), LimitExceededError, limit);
    });

    it('global pax headers count against maxHeaderBytes together', () => {
      const g = globalPax({ comment: 'x'.repeat(1000) });
      const limits = { ...DEFAULT_LIMITS, maxHeaderBytes: 4096 };
      expectTarError(() => parse(Buffer.concat([g, g, g, g, g, END_OF_ARCHIVE]), 1 << 16, limits), LimitExceededError, 'maxHeaderBytes');
    });

    it('a run of extended headers without a member is refused', () => {
      const p = paxHeader({ comment: 'x' });
      expectTarError(() => parse(Buffer.concat(Array.from({ length: 40 }, () => p))));
    });

    it('a million entries stop at maxEntries without reading the rest', async () => {
      const header = rawHeader({ name: 'f', typeflag: '0', size: 0 });
      let produced = 0;
      const total = 1_000_000;
      const source = new Readable({
        read() {
          // 128 headers per chunk, produced lazily: the whole archive would be 512 MB.
          if (produced >= total) {
            this.push(END_OF_ARCHIVE);
            this.push(null);
            return;
          }
          this.push(Buffer.concat(Array.from({ length: 128 }, () => header)));
          produced += 128;
        },
      });
      const err = await readLayer(source, { layerDigest: layerDigest(), mediaType: MediaType.OciLayer, limits: resolveLimits({ maxEntries: 10_000 }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LimitExceededError);
      expect((err as LimitExceededError).limit).toBe('maxEntries');
      expect(produced).toBeLessThan(50_000);
    });
  });

  describe('case 15 / RELIABILITY.md 51: old GNU sparse entries', () => {
    function sparseHeader(realSize: Buffer, stored: number, extended = false): Buffer {
      const h = rawHeader({ name: 'huge.img', typeflag: 'S', size: stored });
      h.write('ustar  \0', 257, 'latin1'); // GNU magic: no ustar prefix field
      h.write('00000000000\0', 386, 'ascii'); // first sparse entry: offset 0
      h.write(`${stored.toString(8).padStart(11, '0')}\0`, 398, 'ascii'); // numbytes
      if (extended) h[482] = 1;
      realSize.copy(h, 483);
      return rechecksum(h);
    }

    it('1 TB real size: holes beyond maxLayerBytes are a bomb, refused before any zero is produced', () => {
      const tb = base256(0x80, [0x01, 0, 0, 0, 0, 0]); // 2^40
      const tar = Buffer.concat([sparseHeader(tb, 512), Buffer.alloc(512, 0x41), ...entryBytes({ path: 'after', body: 'ok' }), END_OF_ARCHIVE]);
      let data = 0;
      const parser = new TarParser(DEFAULT_LIMITS, { onEntry: () => 0, onData: (_h, c) => (data += c.length) }, { runtime: false });
      expectTarError(() => {
        parser.write(tar);
        parser.end();
      }, LimitExceededError, 'maxLayerBytes');
      expect(data).toBe(512);
    });

    it('extension blocks before the data are read; the logical file is data then zeros', () => {
      const ext = Buffer.alloc(512); // isextended (504) = 0: last extension block
      const tar = Buffer.concat([sparseHeader(base256(0x80, [0x10, 0]), 512, true), ext, Buffer.alloc(512, 0x42), ...entryBytes({ path: 'after', body: 'ok' }), END_OF_ARCHIVE]);
      const { headers, bodies } = parse(tar, 100, DEFAULT_LIMITS, 1 << 20);
      expect(headers.map((h) => [h.name, h.realSize])).toEqual([
        ['huge.img', 4096],
        ['after', 2],
      ]);
      expect(bodies.get('huge.img')).toEqual(Buffer.concat([Buffer.alloc(512, 0x42), Buffer.alloc(4096 - 512)]));
    });

    it('a negative real size is a malformed header', () => {
      expectTarError(() => parse(Buffer.concat([sparseHeader(base256(0xff, [0xff]), 0), END_OF_ARCHIVE])));
    });
  });
});

describe('onData / onEnd: the logical content of every regular file (RELIABILITY.md 51)', () => {
  let dir: string;
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-tar-ondata-'));
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'plain'), 'plain body\n');
    writeFileSync(join(root, 'empty'), '');
    // 3 MiB apparent, data at 0, 1 MiB + 5 and the last byte: holes at the start, middle and end.
    const fd = openSync(join(root, 'sparse.img'), 'w');
    ftruncateSync(fd, 3 << 20);
    writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 0);
    writeSync(fd, Buffer.from('EICAR-ish marker'), 0, 16, (1 << 20) + 5);
    writeSync(fd, Buffer.from('Z'), 0, 1, (3 << 20) - 1);
    closeSync(fd);
    const fd2 = openSync(join(root, 'all-hole.img'), 'w');
    ftruncateSync(fd2, 200_000);
    closeSync(fd2);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['old GNU S', ['--format=gnu']],
    ['pax 0.0', ['--format=posix', '--sparse-version=0.0']],
    ['pax 0.1', ['--format=posix', '--sparse-version=0.1']],
    ['pax 1.0', ['--format=posix', '--sparse-version=1.0']],
  ])('%s written by GNU tar: onData adds up to the file, holes as zeros, onEnd once per file', (_name, args) => {
    const archive = join(dir, `s-${_name.replace(/\W/g, '')}.tar`);
    execFileSync('tar', [...args, '--sparse', '-cf', archive, '-C', join(dir, 'root'), '.']);
    const buf = execFileSync('cat', [archive]);
    for (const chunk of [1 << 16, 511, 4096]) {
      const data = new Map<string, Buffer[]>();
      const ends: string[] = [];
      const captured = new Map<string, Buffer>();
      const parser = new TarParser(DEFAULT_LIMITS, {
        onEntry: () => 1 << 30,
        onData: (h, c) => {
          expect(c.length).toBeLessThanOrEqual(1 << 16);
          const l = data.get(h.name) ?? [];
          l.push(Buffer.from(c));
          data.set(h.name, l);
        },
        onEnd: (h) => ends.push(h.name),
        onBody: (h, b) => captured.set(h.name, b),
      }, { runtime: false }); // old GNU S: containerd refuses it (tested below), Go reads it
      for (let i = 0; i < buf.length; i += chunk) parser.write(buf.subarray(i, i + chunk));
      parser.end();
      for (const f of ['plain', 'empty', 'sparse.img', 'all-hole.img']) {
        const want = readFileSync(join(dir, 'root', f));
        const got = Buffer.concat(data.get(`./${f}`) ?? []);
        expect([f, got.length, sha(got)]).toEqual([f, want.length, sha(want)]);
        expect([f, sha(captured.get(`./${f}`) ?? Buffer.alloc(0))]).toEqual([f, sha(want)]);
      }
      expect(ends.sort()).toEqual(['./all-hole.img', './empty', './plain', './sparse.img']);
    }
  });

  it('readLayer captures a sparse file as its logical content (no "not captured" unknown)', async () => {
    const archive = join(dir, 'pax10.tar');
    execFileSync('tar', ['--format=posix', '--sparse', '-cf', archive, '-C', join(dir, 'root'), 'sparse.img']);
    const r = await readTar(execFileSync('cat', [archive]), { wants: () => true });
    const e = r.entries.get('/sparse.img');
    expect(e).toMatchObject({ type: 'file', size: 3 << 20, sparse: true });
    expect(e?.truncated).toBeUndefined();
    expect(sha(e?.body ?? Buffer.alloc(0))).toBe(sha(readFileSync(join(dir, 'root', 'sparse.img'))));
    expect(r.unknowns).toEqual([]);
  });
});

describe('what containerd\'s applier refuses, we refuse (runtime-model.ts; RELIABILITY.md 54, 58)', () => {
  const f = (name: string, typeflag = '0', extra: Partial<Parameters<typeof rawHeader>[0]> = {}): Buffer => rawHeader({ name, typeflag, size: 0, ...extra });
  it.each([
    ['old GNU sparse S ("unhandled tar header type")', [f('s', 'S')]],
    ['contiguous file 7', [f('c', '7')]],
    ['GNU volume label V', [f('label', 'V')]],
    ['an unknown typeflag', [f('z', 'Z')]],
    ['whiteout of "."', [f('d/.wh..')]],
    ['whiteout of ".." at the top level', [f('.wh...')]],
    ['a member beneath a file of the same layer (ENOTDIR)', [f('a'), f('a/b')]],
    ['a member beneath a symlink to a file of the same layer', [f('t'), f('l', '2', { linkname: 't' }), f('l/x')]],
    ['a symlink with an empty target', [f('l', '2', { linkname: '' })]],
    ['a hardlink to a directory', [f('d', '5'), f('h', '1', { linkname: 'd' })]],
    ['a hardlink to itself', [f('a'), f('a', '1', { linkname: 'a' })]],
  ])('refused: %s', (_name, members) => {
    const parser = new TarParser(DEFAULT_LIMITS, { onEntry: () => 0 });
    expectTarError(() => {
      parser.write(Buffer.concat([...members, END_OF_ARCHIVE]));
      parser.end();
    });
  });

  it.each([
    ['an unknown typeflag on a name that resolves to the root (containerd skips it)', [f('a/..', 'Z')]],
    ['an unknown typeflag on a whiteout name', [f('d/.wh.x', 'Z')]],
    ['a member beneath a directory that replaced a file', [f('a'), f('a', '5'), f('a/b')]],
    ['a hardlink into a symlinked directory of the same layer', [f('d', '5'), f('d/t'), f('l', '2', { linkname: 'd' }), f('h', '1', { linkname: 'l/t' })]],
    ['a g header with a uid that is not a number (Go ignores mergePAX errors on g)', [globalPax({ uid: 'x' }), f('a')]],
  ])('accepted: %s', (_name, members) => {
    const parser = new TarParser(DEFAULT_LIMITS, { onEntry: () => 0 });
    parser.write(Buffer.concat([...members, END_OF_ARCHIVE]));
    parser.end();
    expect(parser.ended).toBe(true);
  });

  it('a sparse map the data does not fill is refused only when the runtime reads the body', () => {
    const sparse = (name: string): Buffer => Buffer.concat([
      paxHeader({ 'GNU.sparse.major': '0', 'GNU.sparse.minor': '1', 'GNU.sparse.size': '100', 'GNU.sparse.numblocks': '1', 'GNU.sparse.map': '0,10' }),
      rawHeader({ name, typeflag: '0', size: 20 }), Buffer.alloc(20, 0x41), pad(20),
    ]);
    const run = (name: string): void => {
      const parser = new TarParser(DEFAULT_LIMITS, { onEntry: () => 0 });
      parser.write(Buffer.concat([sparse(name), END_OF_ARCHIVE]));
      parser.end();
    };
    expectTarError(() => run('file')); // Go errUnrefData while containerd copies it
    expect(() => run('d/.wh.file')).not.toThrow(); // a whiteout: never read
  });

  it('the hardlink targets a layer expects from lower layers are listed for FileTree.squash', () => {
    const parser = new TarParser(DEFAULT_LIMITS, { onEntry: () => 0 });
    parser.write(Buffer.concat([f('a'), f('h1', '1', { linkname: 'a' }), f('h2', '1', { linkname: './lower/x' }), END_OF_ARCHIVE]));
    parser.end();
    expect(parser.lowerLinks).toEqual(['/lower/x']);
  });
});
