import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../../../lib/engine/model';
import { catalogRpmDb, rpmCataloger, splitSourceRpm, type RpmHeader } from '../../../../lib/engine/catalog/rpm';
import { corpusPath } from '../../../helpers/corpus';

/** The peers' expectations for every rpm fixture of the corpus (shared/corpus/pkgdb/README.md). */
interface ExpectedPkg {
  name: string; version: string; release: string; epoch?: number | null; arch?: string;
  sourceRpm?: string; srcName?: string; srcVersion?: string; srcRelease?: string;
  size?: number; license?: string; licenses?: string[]; vendor?: string; summary?: string; modularitylabel?: string; purl?: string;
}
interface Expected { input: string; cases: { test: string; options?: { lookupPackageName?: string }; packages: ExpectedPkg[] }[] }

const ROOT = corpusPath('pkgdb', 'rpm');
const FIXTURES = readdirSync(ROOT).filter((d) => !d.startsWith('.')).sort();
const LAYER = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' as Digest;

/**
 * Where we knowingly differ from the peer (fixture → field → reason). Empty: every asserted field agrees.
 * Not a disagreement but a representation choice: our Package.version is `[epoch:]version-release`
 * (OSV RPM), so the peer's separate version/release/epoch are compared against the parsed header.
 */
const DISAGREEMENTS: Record<string, string> = {};

/** Packages found per fixture (peers asserting one package by name look it up in a larger db). */
const FOUND_TOTAL: Record<string, number> = {
  'go-rpmdb-cbl-mariner-2.0-sqlite': 129,
  'go-rpmdb-libuuid-bdb': 1,
  'go-rpmdb-sle15-bci-ndb': 35,
  'osv-scalibr-Packages_epoch-bdb': 1,
  'syft-redhat-Packages-bdb': 1,
  'syft-redhat-container-manifest-2': 5,
};

function load(fixture: string): { expected: Expected; headers: RpmHeader[]; result: ReturnType<typeof catalogRpmDb> } {
  const expected = JSON.parse(readFileSync(join(ROOT, fixture, 'expected.json'), 'utf8')) as Expected;
  const file = { path: `/${expected.input}`, layer: LAYER, body: readFileSync(join(ROOT, fixture, expected.input)), truncated: false };
  const result = catalogRpmDb(file);
  return { expected, headers: result.headers, result };
}

function rpmVer(epoch: number | null | undefined, v: string, r: string): string {
  return `${epoch ? `${epoch}:` : ''}${v}${r ? `-${r}` : ''}`;
}

describe('rpm cataloger against the peers\' fixtures', () => {
  it('covers every rpm fixture folder of the corpus', () => {
    expect(FIXTURES.sort()).toEqual(Object.keys(FOUND_TOTAL).sort());
  });

  it.each(FIXTURES)('%s: asserted packages agree', (fixture) => {
    expect(DISAGREEMENTS[fixture]).toBeUndefined();
    const { expected, headers, result } = load(fixture);
    expect(result.unknowns).toEqual([]);
    expect(headers).toHaveLength(FOUND_TOTAL[fixture]!);
    expect(result.packages).toHaveLength(headers.length);
    for (const c of expected.cases) {
      const lookup = c.options?.lookupPackageName;
      if (!lookup) {
        // Whole-database assertion: same packages in the same (database) order.
        expect(headers.map((h) => h.name)).toEqual(c.packages.map((p) => p.name));
      }
      for (const want of c.packages) {
        const idx = headers.findIndex((h) => h.name === want.name && h.version === want.version && h.release === want.release);
        expect({ fixture, name: want.name, found: idx >= 0 }).toEqual({ fixture, name: want.name, found: true });
        const h = headers[idx]!;
        const pkg = result.packages[idx]!;
        expect(h.epoch ?? null).toBe(want.epoch ?? null);
        expect(pkg.name).toBe(want.name);
        expect(pkg.version).toBe(rpmVer(want.epoch, want.version, want.release));
        expect(pkg.ecosystem).toBe('RPM');
        if (want.arch !== undefined) { expect(h.arch).toBe(want.arch); expect(pkg.arch).toBe(want.arch); }
        if (want.sourceRpm !== undefined) {
          expect(h.sourceRpm).toBe(want.sourceRpm);
          const src = splitSourceRpm(want.sourceRpm)!;
          expect(pkg.sourceName).toBe(want.srcName ?? src.name);
          expect(pkg.sourceVersion).toBe(rpmVer(want.epoch, want.srcVersion ?? src.version, want.srcRelease ?? src.release));
        }
        if (want.size !== undefined) expect(h.size).toBe(want.size);
        if (want.license !== undefined) expect(h.license).toBe(want.license);
        if (want.licenses !== undefined) expect([h.license]).toEqual(want.licenses);
        if (want.vendor !== undefined) expect(h.vendor ?? '').toBe(want.vendor);
        if (want.summary !== undefined) expect(h.summary).toBe(want.summary);
        // rpm -qa prints an absent MODULARITYLABEL as "" in the peer's table.
        if (want.modularitylabel !== undefined) expect(h.modularityLabel ?? '').toBe(want.modularitylabel);
        if (want.purl !== undefined) expect(pkg.purl).toBe(want.purl);
        expect(pkg.locations).toEqual([{ layer: LAYER, path: `/${expected.input}` }]);
      }
    }
  });

  it.each(FIXTURES)('%s: the plug-in wants the file and yields the same packages', (fixture) => {
    const { expected, result } = load(fixture);
    const path = `/${expected.input}`;
    expect(rpmCataloger.wants(path)).toBe(true);
    const out = rpmCataloger.catalog([{ path, layer: LAYER, body: readFileSync(join(ROOT, fixture, expected.input)), truncated: false }]);
    expect(out).toEqual({ packages: result.packages, unknowns: [] });
  });

  it('reads the same database under /usr/lib/sysimage/rpm', () => {
    const body = readFileSync(join(ROOT, 'go-rpmdb-sle15-bci-ndb', 'var/lib/rpm/Packages.db'));
    expect(rpmCataloger.wants('/usr/lib/sysimage/rpm/Packages.db')).toBe(true);
    expect(rpmCataloger.catalog([{ path: '/usr/lib/sysimage/rpm/Packages.db', layer: LAYER, body, truncated: false }]).packages).toHaveLength(35);
  });

  it('builds rpm purls with arch, epoch and upstream qualifiers, and an optional distro namespace', () => {
    const { result } = load('osv-scalibr-Packages_epoch-bdb');
    expect(result.packages[0]!.purl).toBe('pkg:rpm/hello@0.0.1-rls?arch=x86_64&epoch=1&upstream=hello-0.0.1-rls.src.rpm');
    expect(result.packages[0]!.version).toBe('1:0.0.1-rls');
    const file = { path: '/var/lib/rpm/Packages', layer: LAYER, body: readFileSync(join(ROOT, 'osv-scalibr-Packages_epoch-bdb', 'var/lib/rpm/Packages')), truncated: false };
    expect(catalogRpmDb(file, { namespace: 'fedora' }).packages[0]!.purl).toBe('pkg:rpm/fedora/hello@0.0.1-rls?arch=x86_64&epoch=1&upstream=hello-0.0.1-rls.src.rpm');
  });
});
