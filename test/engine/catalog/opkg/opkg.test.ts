import { PackageURL } from 'packageurl-js';
import type { Digest } from '../../../../lib/engine/model';
import { opkgCataloger, parseOpkgStatus } from '../../../../lib/engine/catalog/opkg';
import { type Compared, type PeerPackage, expectPeerPackages, fixtures, loadFixture } from '../dpkg/corpus';

const LAYER = `sha256:${'0'.repeat(64)}` as Digest;

/** Fixture packages where we deliberately differ from the peer (none: every asserted package agrees). */
const DISAGREEMENTS: Record<string, Array<{ name: string; reason: string }>> = {};

function fromPeer(p: PeerPackage): Compared {
  // syft leaves Source empty when the stanza has no Source: field; the source is then the package
  // itself at its own version (Debian Policy §5.6.1, which opkg's control format follows).
  const version = p.version ?? '';
  return { name: p.name, version, sourceName: p.srcName || p.name, sourceVersion: p.srcVersion || version };
}

describe('opkg cataloger against the pkgdb corpus', () => {
  it.each(fixtures('opkg'))('%s', (folder) => {
    const { expected, file } = loadFixture('opkg', folder);
    expect(opkgCataloger.wants(file.path)).toBe(true);
    const { packages, unknowns } = opkgCataloger.catalog([file]);
    expect(unknowns).toEqual([]);
    expectPeerPackages(packages, expected, DISAGREEMENTS[folder] ?? [], fromPeer);
    for (const p of packages) {
      expect(p.ecosystem).toBe('opkg');
      expect(PackageURL.fromString(p.purl)).toMatchObject({ type: 'opkg', name: p.name, version: p.version });
      expect(p.cataloger).toEqual({ name: 'opkg-db', version: '1.1.0' });
    }
  });
});

describe('opkg status parsing', () => {
  it('accepts "install user installed" and skips not-installed stanzas', () => {
    const text = 'Package: a\nVersion: 1-r0\nStatus: install user installed\n\nPackage: b\nVersion: 2\nStatus: deinstall ok not-installed\n\nPackage: c\nVersion: 3\n';
    expect(parseOpkgStatus(text).entries.map((e) => e.name)).toEqual(['a']);
  });

  it('wants the opkg status file locations', () => {
    expect(opkgCataloger.wants('/usr/lib/opkg/status')).toBe(true);
    expect(opkgCataloger.wants('/var/lib/opkg/status')).toBe(true);
    expect(opkgCataloger.wants('/var/lib/dpkg/status')).toBe(false);
  });

  it('turns garbage into unknowns, never throws', () => {
    const r = opkgCataloger.catalog([{ path: '/usr/lib/opkg/status', layer: LAYER, body: Buffer.from('\u0000garbage\nPackage: x\nStatus: install ok installed\n'), truncated: false }]);
    expect(r.packages).toEqual([]);
    expect(r.unknowns.length).toBeGreaterThan(0);
    expect(r.unknowns[0]).toMatchObject({ layer: LAYER, path: '/usr/lib/opkg/status' });
  });
});
