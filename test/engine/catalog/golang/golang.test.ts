import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILDINFO_MAGIC, buildInfoPackages, goBinaryCataloger, goModCataloger, goPurl, goVersionToSemver,
  parseGoMod, readGoBuildInfo, type GoModOptions,
} from '../../../../lib/engine/catalog/golang';
import type { Digest } from '../../../../lib/engine/model';
import { corpusPath } from '../../../helpers/corpus';

const LAYER = `sha256:${'a'.repeat(64)}` as Digest;
const GO_DIR = corpusPath('pkgdb', 'golang');

interface Expected {
  input: string;
  cases: { test: string; options: GoModOptions; packages: { name: string; version?: string }[] }[];
}

/** Fixture cases where we knowingly differ from the peer, with the reason. None so far. */
const DISAGREEMENTS: Record<string, string> = {};

const cases = readdirSync(GO_DIR).sort().flatMap((dir) => {
  const exp = JSON.parse(readFileSync(join(GO_DIR, dir, 'expected.json'), 'utf8')) as Expected;
  return exp.cases.map((c, i) => [`${dir}#${i} ${JSON.stringify(c.options)}`, dir, exp.input, c] as const);
});

describe('go.mod: corpus pkgdb/golang', () => {
  const key = (p: { name: string; version?: string }): string => `${p.name}@${p.version ?? ''}`;
  it.each(cases)('%s', (name, dir, input, c) => {
    const got = parseGoMod(readFileSync(join(GO_DIR, dir, input), 'utf8'), c.options).map(key).sort();
    const want = c.packages.map(key).sort();
    if (DISAGREEMENTS[name]) expect(got).not.toEqual(want);
    else expect(got).toEqual(want);
  });

  it('keeps relationships: root, direct, indirect', () => {
    const e = parseGoMod(readFileSync(join(GO_DIR, 'trivy-golang-mod-normal', 'go.mod'), 'utf8'));
    expect(e[0]).toEqual({ name: 'github.com/org/repo', relationship: 'root' });
    expect(e.find((x) => x.name === 'github.com/stretchr/testify')?.relationship).toBe('indirect');
  });

  it('cataloger reports versioned modules with purl and location, not the root', () => {
    const body = readFileSync(join(GO_DIR, 'trivy-golang-mod-replaced', 'go.mod'));
    const r = goModCataloger.catalog([{ path: '/src/go.mod', layer: LAYER, body, truncated: false }]);
    expect(r.unknowns).toEqual([]);
    expect(r.packages.map((p) => p.purl).sort()).toEqual([
      'pkg:golang/github.com/aquasecurity/go-dep-parser@v0.0.0-20220406074731-71021a481237',
      'pkg:golang/golang.org/x/xerrors@v0.0.0-20200804184101-5ec99f83aff1',
    ]);
    expect(r.packages.find((p) => p.name === 'golang.org/x/xerrors')).toMatchObject({ ecosystem: 'Go', locations: [{ layer: LAYER, path: '/src/go.mod' }], cataloger: { name: 'go-mod', version: '3' } });
    expect(goModCataloger.wants('/src/go.mod')).toBe(true);
    expect(goModCataloger.wants('/src/go.sum')).toBe(false);
    expect(goModCataloger.wants('/root/go/pkg/mod/golang.org/x/text@v0.14.0/go.mod')).toBe(false);
    expect(goModCataloger.wants('/src/vendor/golang.org/x/text/go.mod')).toBe(false);
  });

  it('handles exclude/retract blocks, quoted paths and parenthesised replace blocks', () => {
    const text = [
      'module "example.com/m"', 'go 1.21', 'require (', '\t"example.com/a" v1.0.0', '\texample.com/b v1.2.0 // indirect; via a', ')',
      'exclude (', '\texample.com/a v0.9.0', ')', 'retract [v0.1.0, v0.2.0]',
      'replace (', '\texample.com/b => example.com/c v1.3.0', ')',
    ].join('\n');
    expect(parseGoMod(text)).toEqual([
      { name: 'example.com/m', relationship: 'root' },
      { name: 'example.com/a', version: 'v1.0.0', relationship: 'direct' },
      { name: 'example.com/c', version: 'v1.3.0', relationship: 'indirect' },
    ]);
  });

  it('turns garbage into an unknown, never throws', () => {
    const r = goModCataloger.catalog([{ path: '/x/go.mod', layer: LAYER, body: Buffer.from('\x00\x01garbage ((('), truncated: false }]);
    expect(r.packages).toEqual([]);
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/x/go.mod', reason: expect.stringContaining('module'), class: 'parse-error', consumer: 'go-mod' }]);
  });
});

// --- synthetic binaries -------------------------------------------------------------------------

function uvarint(n: number): Buffer {
  const b: number[] = [];
  while (n >= 0x80) { b.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  b.push(n);
  return Buffer.from(b);
}

const SENTINEL = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const MODINFO = [
  'path\texample.com/cmd/app', 'mod\texample.com/app\t(devel)\t', 'dep\tgolang.org/x/text\tv0.14.0\th1:abc=',
  'dep\tgithub.com/old/mod\tv1.0.0\th1:x=', '=>\tgithub.com/new/mod\tv1.1.0\th1:y=',
  // A local replacement as `go version -m` really prints it (go1.19.8): the directory, version `(devel)`.
  'dep\tgithub.com/local/mod\tv1.0.0\t', '=>\t../local\t(devel)\t', 'build\t-compiler=gc', 'build\tGOOS=linux', '',
].join('\n');

/** Inline (Go ≥ 1.18) build info blob: header + varint strings. */
function inlineBlob(goVersion: string, mod: string, flags = 2): Buffer {
  const header = Buffer.alloc(32);
  BUILDINFO_MAGIC.copy(header);
  header[14] = 8;
  header[15] = flags;
  const modBuf = Buffer.concat([SENTINEL, Buffer.from(mod), SENTINEL]);
  return Buffer.concat([header, uvarint(goVersion.length), Buffer.from(goVersion), uvarint(modBuf.length), modBuf]);
}

/**
 * Minimal ELF (gABI): header, section data, section header table with a null section, the given
 * sections and `.shstrtab`. `addr` is the section's virtual address.
 */
function elf(opts: { is64: boolean; le: boolean }, sections: { name: string; data: Buffer; addr: number }[]): Buffer {
  const { is64, le } = opts;
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const names = Buffer.concat([Buffer.from('\0'), ...sections.map((s) => Buffer.from(`${s.name}\0`)), Buffer.from('.shstrtab\0')]);
  const all = [...sections, { name: '.shstrtab', data: names, addr: 0 }];
  const pad = (n: number): number => (n + 15) & ~15;
  let off = pad(ehsize);
  const placed = all.map((s) => { const o = off; off = pad(off + s.data.length); return { ...s, offset: o }; });
  const shoff = off;
  const buf = Buffer.alloc(shoff + shentsize * (all.length + 1));
  buf.write('\x7fELF', 0, 'latin1');
  buf[4] = is64 ? 2 : 1;
  buf[5] = le ? 1 : 2;
  buf[6] = 1;
  const w16 = (v: number, o: number): void => { if (le) buf.writeUInt16LE(v, o); else buf.writeUInt16BE(v, o); };
  const w32 = (v: number, o: number): void => { if (le) buf.writeUInt32LE(v, o); else buf.writeUInt32BE(v, o); };
  const w64 = (v: number, o: number): void => { if (le) buf.writeBigUInt64LE(BigInt(v), o); else buf.writeBigUInt64BE(BigInt(v), o); };
  if (is64) { w64(shoff, 0x28); w16(shentsize, 0x3a); w16(all.length + 1, 0x3c); w16(all.length, 0x3e); }
  else { w32(shoff, 0x20); w16(shentsize, 0x2e); w16(all.length + 1, 0x30); w16(all.length, 0x32); }
  let nameOff = 1;
  placed.forEach((s, i) => {
    s.data.copy(buf, s.offset);
    const o = shoff + (i + 1) * shentsize;
    w32(nameOff, o);
    nameOff += s.name.length + 1;
    w32(1, o + 4);
    if (is64) { w64(s.addr, o + 16); w64(s.offset, o + 24); w64(s.data.length, o + 32); }
    else { w32(s.addr, o + 12); w32(s.offset, o + 16); w32(s.data.length, o + 20); }
  });
  return buf;
}

describe('Go build info', () => {
  const expectedPkgs = [
    'example.com/app@(devel)', 'golang.org/x/text@v0.14.0', 'github.com/new/mod@v1.1.0', 'github.com/local/mod@(devel)', 'stdlib@v1.22.5',
  ];
  const loc = { layer: LAYER, path: '/usr/local/bin/app' };
  const id = { name: 'go-binary', version: '1' };

  it.each([
    ['ELF64 little-endian', { is64: true, le: true }],
    ['ELF64 big-endian', { is64: true, le: false }],
    ['ELF32 little-endian', { is64: false, le: true }],
    ['ELF32 big-endian', { is64: false, le: false }],
  ])('reads .go.buildinfo from %s', (_n, o) => {
    const bin = elf(o, [{ name: '.text', data: Buffer.alloc(40, 0x90), addr: 0x1000 }, { name: '.go.buildinfo', data: inlineBlob('go1.22.5', MODINFO), addr: 0x2000 }]);
    const r = readGoBuildInfo(bin);
    if (!r || 'error' in r) throw new Error(`no build info: ${JSON.stringify(r)}`);
    expect(r.info.path).toBe('example.com/cmd/app');
    expect(r.info.settings).toEqual([{ key: '-compiler', value: 'gc' }, { key: 'GOOS', value: 'linux' }]);
    expect(buildInfoPackages(r.info, loc, id).map((p) => `${p.name}@${p.version}`)).toEqual(expectedPkgs);
  });

  it('falls back to scanning for the 16-byte aligned magic without a section table', () => {
    const bin = Buffer.concat([Buffer.alloc(64, 1), inlineBlob('go1.21.0', MODINFO)]);
    const r = readGoBuildInfo(bin);
    expect(r && 'info' in r && r.info.goVersion).toBe('go1.21.0');
  });

  it('reads the pre-1.18 pointer format through section addresses', () => {
    // .data at 0x4000 holds: two string headers {ptr,len} then the two strings; .go.buildinfo points at them.
    const vers = Buffer.from('go1.16.15');
    const mod = Buffer.concat([SENTINEL, Buffer.from('path\tx.io/a\nmod\tx.io/a\tv1.2.3\t\ndep\tx.io/b\tv0.1.0\th1:z=\n'), SENTINEL]);
    const base = 0x4000;
    const data = Buffer.alloc(32 + vers.length + mod.length);
    data.writeBigUInt64LE(BigInt(base + 32), 0); data.writeBigUInt64LE(BigInt(vers.length), 8);
    data.writeBigUInt64LE(BigInt(base + 32 + vers.length), 16); data.writeBigUInt64LE(BigInt(mod.length), 24);
    vers.copy(data, 32); mod.copy(data, 32 + vers.length);
    const hdr = Buffer.alloc(32);
    BUILDINFO_MAGIC.copy(hdr); hdr[14] = 8; hdr[15] = 0;
    hdr.writeBigUInt64LE(BigInt(base), 16); hdr.writeBigUInt64LE(BigInt(base + 16), 24);
    const bin = elf({ is64: true, le: true }, [{ name: '.go.buildinfo', data: hdr, addr: 0x3000 }, { name: '.data', data, addr: base }]);
    const r = readGoBuildInfo(bin);
    if (!r || 'error' in r) throw new Error(`no build info: ${JSON.stringify(r)}`);
    expect(buildInfoPackages(r.info, loc, id).map((p) => `${p.name}@${p.version}`)).toEqual(['x.io/a@v1.2.3', 'x.io/b@v0.1.0', 'stdlib@v1.16.15']);
  });

  // govulncheck's GoTagToSemver (golang.org/x/vuln internal/semver/semver.go and its test: `go1.20-pre4`
  // → `v1.20.0-pre.4`); a toolchain that is not a release has no stdlib version.
  it.each([
    ['go1.19.8', 'v1.19.8'], ['go1.20', 'v1.20.0'], ['go1', 'v1.0.0'], ['go1.0', undefined],
    ['go1.21rc2', 'v1.21.0-rc.2'], ['go1.22rc1', 'v1.22.0-rc.1'], ['go1.21beta1', 'v1.21.0-beta.1'], ['go1.20-pre4', 'v1.20.0-pre.4'],
    ['go1.22.5 X:boringcrypto', 'v1.22.5'], ['devel +abc', undefined], ['devel go1.23-abc1234 Tue Jan 2 2024', undefined],
    ['go1.25-20250209-RC00', undefined], ['go1.21.0-bigcorp', undefined], ['1.21.0', undefined], ['', undefined],
  ])('stdlib version of %j', (v, want) => expect(goVersionToSemver(v)).toBe(want));

  it.each([
    { name: 'internal release candidate', v: 'go1.25-20250209-RC00' },
    { name: 'development toolchain', v: 'devel go1.23-abc1234' },
    { name: 'vendor build', v: 'go1.21.0-bigcorp' },
  ])('a non-release toolchain ($name) is a parse-error unknown, never the release', ({ v }) => {
    const bin = elf({ is64: true, le: true }, [{ name: '.go.buildinfo', data: inlineBlob(v, MODINFO), addr: 0x2000 }]);
    const r = goBinaryCataloger.catalog([{ path: '/usr/lib/x/app', layer: LAYER, body: bin, truncated: false }]);
    expect(r.packages.map((p) => p.name)).not.toContain('stdlib');
    expect(r.packages.map((p) => `${p.name}@${p.version}`)).toContain('golang.org/x/text@v0.14.0');
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/usr/lib/x/app', reason: expect.stringContaining(JSON.stringify(v)), class: 'parse-error', consumer: 'go-binary' }]);
  });

  it('purls follow purl-spec golang', () => {
    expect(goPurl('github.com/docker/distribution', 'v2.8.2+incompatible')).toBe('pkg:golang/github.com/docker/distribution@v2.8.2+incompatible');
    expect(goPurl('stdlib', 'v1.19.8')).toBe('pkg:golang/stdlib@v1.19.8');
  });

  it.each([
    ['garbage ELF (bad section table)', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(100, 0xff)]), 0],
    ['truncated header', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(9), BUILDINFO_MAGIC, Buffer.from([8, 2])]), 1],
    ['varint runs past the end', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(9), inlineBlob('go1.22.5', MODINFO).subarray(0, 40)]), 1],
    ['pointer format pointing nowhere', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(9), BUILDINFO_MAGIC, Buffer.from([8, 0]), Buffer.alloc(16, 0xee)]), 1],
    ['not an ELF at all', Buffer.from('#!/bin/sh\necho hi\n'), 0],
  ])('%s → no packages, no throw', (_n, body, nUnknowns) => {
    const r = goBinaryCataloger.catalog([{ path: '/usr/bin/x', layer: LAYER, body, truncated: false }]);
    expect(r.packages).toEqual([]);
    expect(r.unknowns).toHaveLength(nUnknowns);
  });

  it('a truncated binary still yields its build info, plus an unknown', () => {
    const body = Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(9), inlineBlob('go1.22.5', MODINFO)]);
    const r = goBinaryCataloger.catalog([{ path: '/usr/bin/x', layer: LAYER, body, truncated: true }]);
    expect(r.packages).toHaveLength(5);
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/usr/bin/x', reason: expect.stringContaining('truncated'), class: 'cut-by-cap', consumer: 'go-binary' }]);
    const none = goBinaryCataloger.catalog([{ path: '/usr/bin/y', layer: LAYER, body: Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), truncated: true }]);
    expect(none).toEqual({ packages: [], unknowns: [{ layer: LAYER, path: '/usr/bin/y', reason: expect.stringContaining('truncated'), class: 'cut-by-cap', consumer: 'go-binary' }] });
  });

  it('wants binaries in bin directories and app roots, not libraries or text', () => {
    expect(goBinaryCataloger.wants('/usr/bin/docker-registry')).toBe(true);
    expect(goBinaryCataloger.wants('/app/server')).toBe(true);
    expect(goBinaryCataloger.wants('/manager')).toBe(true);
    expect(goBinaryCataloger.wants('/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(false);
    expect(goBinaryCataloger.wants('/usr/share/doc/x/README')).toBe(false);
    expect(goBinaryCataloger.wants('/usr/bin/script.sh')).toBe(false);
  });
});

const REGISTRY = '/usr/bin/docker-registry';
describe('real Go binary: Debian docker-registry', () => {
  // Debian builds docker-registry in GOPATH mode (dh-golang): its build info has `path` and `build`
  // lines but no `mod`/`dep` lines (cross-checked with `strings | grep -E '^(path|mod|dep)\s'`), so
  // the only package is stdlib at the runtime version; the main package path is still recorded.
  it('finds the runtime Go version and the main package path', () => {
    const body = readFileSync(REGISTRY);
    const r = readGoBuildInfo(body);
    if (!r || 'error' in r) throw new Error(`no build info: ${JSON.stringify(r)}`);
    expect(r.info.goVersion).toMatch(/^go1\.\d+/);
    expect(r.info.path).toBe('github.com/docker/distribution/cmd/registry');
    const cat = goBinaryCataloger.catalog([{ path: REGISTRY, layer: LAYER, body, truncated: false }]);
    expect(cat.unknowns).toEqual([]);
    const std = cat.packages.find((p) => p.name === 'stdlib');
    expect(std?.version).toBe(goVersionToSemver(r.info.goVersion));
    expect(std?.purl).toMatch(/^pkg:golang\/stdlib@v1\.\d+\.\d+/);
    // If a rebuilt package ever carries module info, the main module and versioned deps must show up.
    if (r.info.main) {
      expect(r.info.main.path).toBe('github.com/docker/distribution');
      expect(r.info.deps.every((d) => d.version)).toBe(true);
    } else {
      expect(cat.packages).toHaveLength(1);
    }
  });
});
