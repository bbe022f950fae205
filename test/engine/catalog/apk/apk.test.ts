import { PackageURL } from 'packageurl-js';
import type { Digest } from '../../../../lib/engine/model';
import { apkCataloger, parseApkInstalled } from '../../../../lib/engine/catalog/apk';
import { type Compared, type PeerPackage, expectPeerPackages, fixtures, loadFixture } from '../dpkg/corpus';

const LAYER = `sha256:${'0'.repeat(64)}` as Digest;

/** Fixture packages where we deliberately differ from the peer (none so far: every asserted package agrees). */
const DISAGREEMENTS: Record<string, Array<{ name: string; reason: string }>> = {};

/** Records the fixture holds on purpose that are not packages; the peer drops them silently, we report them. */
const EXPECTED_UNKNOWNS: Record<string, RegExp[]> = {
  'trivy-fanal-apk-installed': [/"invalidPackageWithoutAVersion" without V:/],
};

function fromPeer(p: PeerPackage): Compared {
  const version = p.version ?? '';
  // syft asserts the origin (srcName) but no source version; apk builds all subpackages of an aport at
  // the aport's pkgver-pkgrel, so the source version is the package version (trivy asserts exactly that).
  return { name: p.name, version, sourceName: p.srcName ?? p.name, sourceVersion: p.srcVersion ?? version };
}

describe('apk cataloger against the pkgdb corpus', () => {
  it.each(fixtures('apk'))('%s', (folder) => {
    const { expected, file } = loadFixture('apk', folder);
    expect(apkCataloger.wants(file.path)).toBe(true);
    const { packages, unknowns } = apkCataloger.catalog([file]);
    const wantUnknowns = EXPECTED_UNKNOWNS[folder] ?? [];
    expect(unknowns).toHaveLength(wantUnknowns.length);
    wantUnknowns.forEach((re, i) => expect(unknowns[i].reason).toMatch(re));
    expectPeerPackages(packages, expected, DISAGREEMENTS[folder] ?? [], fromPeer);
    for (const p of packages) {
      expect(p.ecosystem).toBe('Alpine');
      expect(PackageURL.fromString(p.purl)).toMatchObject({ type: 'apk', namespace: 'alpine', name: p.name, version: p.version });
      expect(p.locations).toEqual([{ layer: LAYER, path: '/lib/apk/db/installed' }]);
      expect(p.cataloger).toEqual({ name: 'apk-db', version: '1.1.0' });
    }
  });
});

describe('apk database parsing', () => {
  it('reads P/V/A/o and ignores file lists', () => {
    const text = 'C:Q1abc=\nP:musl-utils\nV:1.2.4-r2\nA:aarch64\no:musl\nF:usr/bin\nR:ldd\nZ:Q1x=\n\nP:busybox\nV:1.36.1-r15\n\n';
    expect(parseApkInstalled(text)).toEqual({
      entries: [
        { name: 'musl-utils', version: '1.2.4-r2', arch: 'aarch64', origin: 'musl' },
        { name: 'busybox', version: '1.36.1-r15', origin: 'busybox' },
      ],
      problems: [],
    });
    const { packages } = apkCataloger.catalog([{ path: '/lib/apk/db/installed', layer: LAYER, body: Buffer.from(text), truncated: false }]);
    expect(packages[0].purl).toBe('pkg:apk/alpine/musl-utils@1.2.4-r2?arch=aarch64');
    expect(packages[0]).toMatchObject({ sourceName: 'musl', sourceVersion: '1.2.4-r2' });
  });

  it('wants only the installed database', () => {
    expect(apkCataloger.wants('/lib/apk/db/installed')).toBe(true);
    expect(apkCataloger.wants('/lib/apk/db/lock')).toBe(false);
    expect(apkCataloger.wants('/etc/apk/world')).toBe(false);
  });

  it('turns garbage into unknowns, never throws', () => {
    for (const body of [Buffer.from([0xde, 0xad, 0xbe, 0xef]), Buffer.from('hello world\n\nV:1.0\n'), Buffer.from('P:only-name\n')]) {
      const r = apkCataloger.catalog([{ path: '/lib/apk/db/installed', layer: LAYER, body, truncated: false }]);
      expect(r.packages).toEqual([]);
      expect(r.unknowns.length).toBeGreaterThan(0);
      expect(r.unknowns[0]).toMatchObject({ layer: LAYER, path: '/lib/apk/db/installed' });
    }
  });
});
