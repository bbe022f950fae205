import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { corpusPath } from '../../../helpers/corpus';
import { cargoAuditableCataloger, cargoLockCataloger, findElfSection, parseAuditableDepV0, parseCargoLock } from '../../../../lib/engine/catalog/cargo';
import type { Digest } from '../../../../lib/engine/model';
import { elfWith } from '../elf';

interface Expected { input: string; cases: { packages: { name: string; version: string }[] }[] }

const ROOT = corpusPath('pkgdb', 'cargo');
const FIXTURES = readdirSync(ROOT);
const LAYER = `sha256:${'b'.repeat(64)}` as Digest;
const byKey = (a: { name: string; version: string }, b: { name: string; version: string }) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`);

describe('Cargo.lock — corpus', () => {
  it('finds the cargo fixtures', () => expect(FIXTURES.length).toBe(3));

  it.each(FIXTURES)('%s', (folder) => {
    const exp = JSON.parse(readFileSync(join(ROOT, folder, 'expected.json'), 'utf8')) as Expected;
    const got = parseCargoLock(readFileSync(join(ROOT, folder, exp.input), 'utf8')).map((c) => ({ name: c.name, version: c.version }));
    for (const c of exp.cases) {
      // Order: trivy sorts by its package ID; we keep file order, so both sides are sorted.
      expect([...got].sort(byKey)).toEqual(c.packages.map((p) => ({ name: p.name, version: p.version })).sort(byKey));
    }
  });
});

describe('cargoLockCataloger', () => {
  it('wants Cargo.lock only', () => {
    expect(cargoLockCataloger.wants('/src/app/Cargo.lock')).toBe(true);
    expect(cargoLockCataloger.wants('/src/app/Cargo.toml')).toBe(false);
  });
  it('produces crates.io packages and records invalid TOML as an unknown', () => {
    const r = cargoLockCataloger.catalog([
      { path: '/app/Cargo.lock', layer: LAYER, body: Buffer.from('version = 3\n[[package]]\nname = "libc"\nversion = "0.2.140"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n'), truncated: false },
      { path: '/bad/Cargo.lock', layer: LAYER, body: Buffer.from('[[package]\nname = '), truncated: false },
      { path: '/bad2/Cargo.lock', layer: LAYER, body: Buffer.from('[[package]]\nname = "x"\n'), truncated: false },
    ]);
    expect(r.packages).toEqual([{ ecosystem: 'crates.io', name: 'libc', version: '0.2.140', purl: 'pkg:cargo/libc@0.2.140', locations: [{ layer: LAYER, path: '/app/Cargo.lock' }], cataloger: { name: 'cargo-lock', version: '1.2.0' } }]);
    expect(r.unknowns.map((u) => u.path)).toEqual(['/bad/Cargo.lock', '/bad2/Cargo.lock']);
  });
});

describe('cargo-auditable .dep-v0 (no corpus fixture: built from the format description)', () => {
  const manifest = {
    packages: [
      { name: 'app', version: '0.1.0', source: 'local', dependencies: [1, 2], root: true },
      { name: 'serde', version: '1.0.200', source: 'crates.io' },
      { name: 'cc', version: '1.0.90', source: 'crates.io', kind: 'build' },
    ],
  };
  const section = deflateSync(Buffer.from(JSON.stringify(manifest)));

  it('decodes the zlib-compressed JSON', () => {
    expect(parseAuditableDepV0(section)).toEqual([
      { name: 'app', version: '0.1.0', source: 'local', kind: 'runtime', root: true },
      { name: 'serde', version: '1.0.200', source: 'crates.io', kind: 'runtime', root: false },
      { name: 'cc', version: '1.0.90', source: 'crates.io', kind: 'build', root: false },
    ]);
  });
  it('finds the section in an ELF file', () => {
    expect(findElfSection(elfWith(section), '.dep-v0')).toEqual(section);
    expect(findElfSection(elfWith(section, '.other'), '.dep-v0')).toBeUndefined();
    expect(findElfSection(Buffer.from('#!/bin/sh\necho hi\n'), '.dep-v0')).toBeUndefined();
    expect(findElfSection(elfWith(section).subarray(0, 100), '.dep-v0')).toBeUndefined();
  });
  it.each([['not zlib', Buffer.from('garbage')], ['zlib but not JSON', deflateSync(Buffer.from('{nope'))], ['no packages', deflateSync(Buffer.from('{"x":1}'))]])('rejects %s', (_n, b) => {
    expect(() => parseAuditableDepV0(b)).toThrow('.dep-v0');
  });
  it('catalogs runtime crates of a binary; garbage section → unknown; non-ELF → nothing', () => {
    expect(cargoAuditableCataloger.wants('/usr/local/bin/rg')).toBe(true);
    expect(cargoAuditableCataloger.wants('/usr/share/doc/rg')).toBe(false);
    const r = cargoAuditableCataloger.catalog([
      { path: '/usr/local/bin/app', layer: LAYER, body: elfWith(section), truncated: false },
      { path: '/usr/local/bin/broken', layer: LAYER, body: elfWith(Buffer.from('xx')), truncated: false },
      { path: '/usr/bin/script', layer: LAYER, body: Buffer.from('#!/bin/sh\n'), truncated: false },
    ]);
    expect(r.packages.map((p) => p.purl)).toEqual(['pkg:cargo/app@0.1.0', 'pkg:cargo/serde@1.0.200']);
    expect(r.packages[0]?.cataloger).toEqual({ name: 'cargo-auditable', version: '1.2.0' });
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/usr/local/bin/broken', reason: expect.stringContaining('.dep-v0'), class: 'parse-error', consumer: 'cargo-auditable' }]);
  });
});
