import { mulberry32 } from './prng';

/**
 * A seeded generator of adversarial tar layers for the differential harness
 * (test/engine/layers/differential.test.ts, bench/differential/run.ts; RELIABILITY.md 58).
 *
 * Each case is built from a small pool of colliding names so that members meet each other:
 * odd spellings (`..`, `//`, `./`, trailing slashes, the ustar prefix field, GNU `L`/`K` and pax
 * `path`/`linkpath`, both at once), links (symbolic and hard, to missing, earlier, later, directory
 * and chained targets), pax local and global headers (path, linkpath, size, uid/gid/mtime, junk
 * keys, empty values), sparse files in every GNU form (old `S` with extension blocks, pax 0.0, 0.1,
 * 1.0 — valid and broken maps), duplicates, whiteouts and opaque markers, devices and FIFOs,
 * unknown typeflags, base-256 numbers, then sometimes a mutation of the valid archive: truncation at
 * a random offset, trailing data, a lone zero block, byte flips (with or without a fixed checksum),
 * block swaps and duplications.
 */

/** One generated case. */
export interface TarCase {
  readonly seed: number;
  /** What was done, for a failing case's message. */
  readonly recipe: string[];
  readonly tar: Buffer;
}

const BLOCK = 512;

type Magic = 'ustar' | 'gnu' | 'v7';

interface Hdr {
  name: string | Buffer;
  typeflag: string;
  size?: number;
  /** A 12-byte raw size field (base-256), overriding `size` in the header. */
  rawSize?: Buffer;
  mode?: number;
  uid?: number;
  rawUid?: Buffer;
  gid?: number;
  mtime?: number;
  linkname?: string;
  magic?: Magic;
  prefix?: string;
  devmajor?: number;
  devminor?: number;
  patch?: (b: Buffer) => void;
}

function octal(b: Buffer, at: number, len: number, v: number): void {
  b.write(`${v.toString(8).padStart(len - 1, '0')}\0`, at, len, 'latin1');
}

/** A header block with a valid checksum. */
export function hdrBlock(h: Hdr): Buffer {
  const b = Buffer.alloc(BLOCK);
  const name = typeof h.name === 'string' ? Buffer.from(h.name, 'utf8') : h.name;
  name.copy(b, 0, 0, Math.min(100, name.length));
  octal(b, 100, 8, h.mode ?? 0o644);
  if (h.rawUid) h.rawUid.copy(b, 108);
  else octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  if (h.rawSize) h.rawSize.copy(b, 124);
  else octal(b, 124, 12, h.size ?? 0);
  octal(b, 136, 12, h.mtime ?? 1_700_000_000);
  b.write(h.typeflag, 156, 1, 'latin1');
  if (h.linkname) Buffer.from(h.linkname, 'utf8').copy(b, 157, 0, 100);
  const magic = h.magic ?? 'ustar';
  if (magic === 'ustar') b.write('ustar\u000000', 257, 8, 'latin1');
  else if (magic === 'gnu') b.write('ustar  \0', 257, 8, 'latin1');
  if (magic !== 'v7') {
    octal(b, 329, 8, h.devmajor ?? 0);
    octal(b, 337, 8, h.devminor ?? 0);
  }
  if (h.prefix) Buffer.from(h.prefix, 'utf8').copy(b, 345, 0, 155);
  h.patch?.(b);
  return checksum(b);
}

/** Recomputes a header block's checksum in place. */
export function checksum(b: Buffer, at = 0): Buffer {
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[at + i];
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 8, 'latin1');
  return b;
}

function padded(body: Buffer): Buffer {
  const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
  return pad ? Buffer.concat([body, Buffer.alloc(pad)]) : body;
}

/** pax records, `"%d %s=%s\n"`. */
export function paxBody(records: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of records) {
    const kv = Buffer.from(` ${k}=${v}\n`, 'utf8');
    let n = kv.length + 1;
    while (String(n).length + kv.length !== n) n = String(n).length + kv.length;
    parts.push(Buffer.from(String(n), 'latin1'), kv);
  }
  return Buffer.concat(parts);
}

function ext(typeflag: string, body: Buffer, name = '././@LongLink'): Buffer {
  return Buffer.concat([hdrBlock({ name, typeflag, size: body.length, magic: typeflag === 'L' || typeflag === 'K' ? 'gnu' : 'ustar' }), padded(body)]);
}

/** A 12-byte base-256 field. */
function base256(v: number): Buffer {
  const b = Buffer.alloc(12);
  let x = v;
  for (let i = 11; i >= 1; i--) {
    b[i] = x % 256;
    x = Math.floor(x / 256);
  }
  b[0] = 0x80;
  return b;
}

/**
 * Generates case number `seed`. `strict` cases stay clear of the classes where our tree is known
 * to differ from containerd's while still showing the scanner every byte (see
 * test/engine/layers/differential.test.ts): no member is written beneath or over a path that
 * has children, no symlink is a parent, and files and hardlinks share one owner and mode (chmod
 * through a hardlink changes its target's inode).
 */
export function generateCase(seed: number, strict = false): TarCase {
  const rnd = mulberry32(seed * 2654435761 + 1);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number): boolean => rnd() < p;
  const recipe: string[] = [];
  const parts: Buffer[] = [];

  const LONG = `long-${'n'.repeat(110)}`;
  const base = ['a', 'a/b', 'a/b/c', 'd', 'd/e', 'l', 'l/f', 'f', 'x/y', 'etc/passwd', 'usr/bin/sh', LONG, `d/${LONG}/g`];
  const spell = (n: string): string => {
    switch (int(12)) {
      case 0:
        return `./${n}`;
      case 1:
        return `/${n}`;
      case 2:
        return `../${n}`;
      case 3:
        return n.replace('/', '//');
      case 4:
        return `${n}/`;
      case 5:
        return `a/../${n}`;
      case 6:
        return pick(['.', '..', '/', '', './', 'a/..']);
      default:
        return n;
    }
  };
  const body = (): Buffer => {
    const n = pick([0, 1, 5, 100, 511, 512, 513, 1500]);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = chance(0.3) ? 0 : 0x20 + int(90);
    return b;
  };

  /** Emits a member with the name carried as `how` says. */
  const member = (name: string, h: Omit<Hdr, 'name'>, data: Buffer | undefined, pax: [string, string][] = []): void => {
    const how = Buffer.byteLength(name) > 100 ? pick(['L', 'pax', 'prefix', 'both', 'cut']) : pick(['plain', 'plain', 'plain', 'L', 'pax', 'both', 'prefix']);
    let field = name;
    let prefix: string | undefined;
    const records = [...pax];
    const magic: Magic = h.magic ?? (how === 'L' || how === 'both' ? pick<Magic>(['gnu', 'ustar']) : pick<Magic>(['ustar', 'ustar', 'gnu', 'v7']));
    if (how === 'L' || how === 'both') {
      parts.push(ext('L', Buffer.from(`${name}\0`, 'utf8')));
      field = how === 'both' ? 'decoy-ustar' : name.slice(0, 100);
    }
    if (how === 'pax' || how === 'both') {
      records.unshift(['path', how === 'both' ? `decoy-pax-${int(3)}` : name]);
      if (how === 'pax') field = name.slice(0, 100);
    }
    if (how === 'prefix') {
      const cut = name.lastIndexOf('/', 154);
      if (cut > 0 && name.length - cut - 1 <= 100) {
        prefix = name.slice(0, cut);
        field = name.slice(cut + 1);
      }
    }
    if (h.linkname !== undefined && Buffer.byteLength(h.linkname) > 100) {
      if (chance(0.5)) parts.push(ext('K', Buffer.from(h.linkname, 'utf8')));
      else records.push(['linkpath', h.linkname]);
    }
    if (records.length > 0) parts.push(ext('x', paxBody(records), 'PaxHeaders/x'));
    recipe.push(`${h.typeflag === '\0' ? 'NUL' : h.typeflag}:${name}${h.linkname !== undefined ? `->${h.linkname}` : ''} via ${how}/${magic}${records.length ? ` pax=${JSON.stringify(records)}` : ''}`);
    parts.push(hdrBlock({ ...h, name: field, prefix: magic === 'ustar' ? prefix : undefined, magic }));
    if (data) parts.push(padded(data));
  };

  const owner = (): Pick<Hdr, 'mode' | 'uid' | 'gid'> => strict ? { mode: 0o644, uid: 0, gid: 0 } : ({
    mode: pick([0o644, 0o755, 0o4755, 0o2755, 0o1777, 0o600, 0o777]),
    uid: pick([0, 0, 1000, 65534]),
    gid: pick([0, 0, 1000, 65534]),
  });

  const sparse = (name: string): void => {
    // Logical file of `real` bytes with data regions from a random map.
    const real = pick([0, 700, 4096, 10_000]);
    const map: [number, number][] = [];
    let at = 0;
    while (at < real && map.length < 30 && chance(0.8)) {
      const off = at + int(Math.max(1, (real - at) / 2));
      const len = Math.min(real - off, int(700));
      map.push([off, len]);
      at = off + len;
    }
    if (chance(0.1) && map.length > 1) map.reverse(); // out of order: Go refuses
    if (chance(0.05)) map.push([real, 5]); // beyond the file: Go refuses
    const dataLen = map.reduce((s, [, l]) => s + l, 0) + (chance(0.07) ? pick([-1, 1, 512]) : 0);
    const data = Buffer.alloc(Math.max(0, dataLen));
    for (let i = 0; i < data.length; i++) data[i] = 0x41 + (i % 26);
    const kind = pick(['S', '0.0', '0.1', '1.0']);
    recipe.push(`sparse ${kind} ${name} real=${real} map=${JSON.stringify(map)} data=${data.length}`);
    if (kind === 'S') {
      const patch = (b: Buffer): void => {
        for (let i = 0; i < Math.min(4, map.length); i++) {
          octal(b, 386 + 24 * i, 12, map[i][0]);
          octal(b, 398 + 24 * i, 12, map[i][1]);
        }
        if (map.length > 4) b[482] = 1;
        octal(b, 483, 12, real);
      };
      parts.push(hdrBlock({ name, typeflag: 'S', size: data.length, magic: 'gnu', ...owner(), patch }));
      for (let i = 4; i < map.length; i += 21) {
        const e = Buffer.alloc(BLOCK);
        for (let j = 0; j < 21 && i + j < map.length; j++) {
          octal(e, 24 * j, 12, map[i + j][0]);
          octal(e, 24 * j + 12, 12, map[i + j][1]);
        }
        if (i + 21 < map.length) e[504] = 1;
        parts.push(e);
      }
      parts.push(padded(data));
      return;
    }
    const records: [string, string][] = [];
    let payload = data;
    if (kind === '0.0') {
      records.push(['GNU.sparse.size', String(real)], ['GNU.sparse.numblocks', String(map.length)]);
      for (const [o, l] of map) records.push(['GNU.sparse.offset', String(o)], ['GNU.sparse.numbytes', String(l)]);
    } else if (kind === '0.1') {
      records.push(['GNU.sparse.size', String(real)], ['GNU.sparse.numblocks', String(map.length)], ['GNU.sparse.map', map.flat().join(',')]);
    } else {
      records.push(['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', String(real)]);
      const text = `${map.length}\n${map.map(([o, l]) => `${o}\n${l}\n`).join('')}`;
      payload = Buffer.concat([padded(Buffer.from(text, 'latin1')), data]);
    }
    if (chance(0.5)) records.push(['GNU.sparse.name', name]);
    parts.push(ext('x', paxBody(records), 'PaxHeaders/s'));
    parts.push(hdrBlock({ name: chance(0.5) ? 'GNUSparseFile.0/decoy' : name, typeflag: pick(['0', '0', '0', '5', '2']), size: payload.length, ...owner() }));
    parts.push(padded(payload));
  };

  const members = 1 + int(10);
  const written: string[] = [];
  const LEAVES = ['f', 'x/y', 'etc/passwd', 'usr/bin/sh', 'd/e', LONG, 'a/b/c'];
  const DIRS = ['a', 'a/b', 'd', 'x', 'usr/bin', 'etc'];
  const names = (): string => spell(pick(strict ? LEAVES : base));
  for (let m = 0; m < members; m++) {
    const what = int(100);
    const name = names();
    if (what < 30) {
      const data = body();
      const big = chance(0.05);
      written.push(name);
      member(name, { typeflag: pick(['0', '0', '0', '\0']), size: data.length, rawSize: big ? base256(data.length) : undefined, ...owner() }, data, chance(0.1) && !strict ? [['uid', String(int(5000))]] : []);
    } else if (what < 42) {
      member(strict ? spell(pick(DIRS)) : name, { typeflag: '5', ...owner(), size: chance(0.05) ? 512 : 0 }, undefined);
    } else if (what < 52) {
      const target = pick([...base, '/etc/passwd', '../../etc/passwd', '', '.', 'a/b', '/nonexistent/x', LONG]);
      member(strict ? spell('l') : name, { typeflag: '2', linkname: target, ...owner() }, undefined);
    } else if (what < 62) {
      const target = spell(strict && written.length > 0 ? pick(written) : pick(strict ? LEAVES : base));
      member(name, { typeflag: '1', linkname: target, ...owner() }, undefined);
    } else if (what < 67) {
      member(strict ? spell('dev/n') : name, { typeflag: pick(['3', '4', '6']), devmajor: int(10), devminor: int(10), ...owner() }, undefined);
    } else if (what < 73) {
      const dir = pick(strict ? ['', 'a/', 'd/', 'a/b/'] : ['', 'a/', 'd/', 'a/b/', 'l/']);
      const wh = chance(0.3) ? '.wh..wh..opq' : `.wh.${pick(strict ? ['b', 'c', 'e', 'f', '.', '..', 'l'] : ['b', 'c', 'e', 'f', '.', '..', 'l', '.wh.x'])}`;
      member(`${dir}${wh}`, { typeflag: pick(['0', '0', '5', '2']), size: 0 }, Buffer.alloc(0));
    } else if (what < 78 && (!strict || chance(0.3))) {
      const t = pick(['7', 'D', 'V', 'Z', 'M', 'N', 'S']);
      const data = chance(0.5) ? body() : Buffer.alloc(0);
      member(name, { typeflag: t, size: data.length }, data);
    } else if (what < 86) {
      sparse(pick(strict ? LEAVES : base));
    } else if (what < 92) {
      const recs: [string, string][] = [];
      if (chance(0.5)) recs.push(['path', names()]);
      if (chance(0.3)) recs.push(['size', String(pick([0, 10, 1024]))]);
      if (chance(0.3)) recs.push(['uid', pick(['7', 'x', '-1', '+8'])]);
      if (chance(0.3)) recs.push(['comment', 'hello']);
      recipe.push(`g ${JSON.stringify(recs)}`);
      parts.push(Buffer.concat([hdrBlock({ name: pick(['pax_global_header', 'a', 'f']), typeflag: 'g', size: paxBody(recs).length }), padded(paxBody(recs))]));
    } else {
      // A pax header with odd records before a plain file.
      const data = body();
      const recs: [string, string][] = pick([
        [['size', String(data.length)]],
        [['size', String(data.length + 512)]],
        [['path', '']],
        [['mtime', pick(['1.5', 'x', '-3', '1e3'])]],
        [['uid', pick(['12', '', '0x1', '99999999999'])]],
        [['x-junk', 'v']],
      ]);
      member(name, { typeflag: '0', size: data.length, ...owner() }, data, recs);
    }
  }

  let tar = Buffer.concat(parts);
  const end = int(20);
  if (end === 0) recipe.push('no end marker');
  else if (end === 1) tar = Buffer.concat([tar, Buffer.alloc(BLOCK)]);
  else tar = Buffer.concat([tar, Buffer.alloc(2 * BLOCK)]);
  if (end === 1) recipe.push('one zero block');
  if (chance(0.1)) {
    const junk = chance(0.5) ? Buffer.from('trailing garbage after the end') : hdrBlock({ name: 'hidden', typeflag: '0', size: 0 });
    tar = Buffer.concat([tar, junk]);
    recipe.push('trailing data');
  }

  // Mutations of the (mostly) valid archive.
  if (chance(strict ? 0.15 : 0.35) && tar.length > 0) {
    const kind = int(6);
    const blocks = Math.floor(tar.length / BLOCK);
    if (kind === 0) {
      const at = int(tar.length);
      tar = tar.subarray(0, at);
      recipe.push(`truncated at ${at}`);
    } else if (kind === 1 || kind === 2) {
      const n = 1 + int(4);
      tar = Buffer.from(tar);
      for (let i = 0; i < n; i++) {
        const at = int(tar.length);
        tar[at] = int(256);
        recipe.push(`byte ${at} := ${tar[at]}`);
        if (kind === 2 && at % BLOCK !== 148 && at - (at % BLOCK) + BLOCK <= tar.length) checksum(tar, at - (at % BLOCK));
      }
    } else if (kind === 3 && blocks > 1) {
      const i = int(blocks);
      const j = int(blocks);
      const bi = Buffer.from(tar.subarray(i * BLOCK, (i + 1) * BLOCK));
      tar = Buffer.from(tar);
      tar.copy(tar, i * BLOCK, j * BLOCK, (j + 1) * BLOCK);
      bi.copy(tar, j * BLOCK);
      recipe.push(`swap blocks ${i} ${j}`);
    } else if (kind === 4 && blocks > 0) {
      const i = int(blocks);
      tar = Buffer.concat([tar.subarray(0, i * BLOCK), tar.subarray(i * BLOCK, (i + 1) * BLOCK), tar.subarray(i * BLOCK)]);
      recipe.push(`duplicate block ${i}`);
    } else if (blocks > 0) {
      const i = int(blocks);
      tar = Buffer.concat([tar.subarray(0, i * BLOCK), Buffer.alloc(BLOCK), tar.subarray(i * BLOCK)]);
      recipe.push(`zero block inserted at ${i}`);
    }
  }
  return { seed, recipe, tar };
}
