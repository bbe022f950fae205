import { readFileSync } from 'node:fs';
import { PackageURL } from 'packageurl-js';
import type { Digest } from '../../../../lib/engine/model';
import { createDpkgCataloger, dpkgCataloger, dpkgWants, parseDpkgStatus, parseSourceField, parseStanzas } from '../../../../lib/engine/catalog/dpkg';
import { type Compared, type PeerPackage, debVersion, expectPeerPackages, fixtures, loadFixture } from './corpus';

const LAYER = `sha256:${'0'.repeat(64)}` as Digest;

/**
 * Fixture packages where we deliberately differ from the peer. The test asserts exactly this
 * difference: the package is absent from our result and reported as an unknown instead.
 */
const DISAGREEMENTS: Record<string, Array<{ name: string; reason: string }>> = {
  'syft-debian-multiple': [{
    name: 'no-version',
    reason: 'The stanza has only "Package: no-version" — no Version, no Status. syft emits a package with an empty '
      + 'version; a package without a version cannot be matched against advisories and is not a valid dpkg '
      + 'status entry (Version is mandatory, Debian Policy §5.3), so we record it as an unknown, not a package.',
  }],
};

/**
 * Stanzas the fixtures hold on purpose that are not packages: the peer drops them silently, we report
 * them as unknowns (every other fixture must produce none).
 */
const EXPECTED_UNKNOWNS: Record<string, RegExp[]> = {
  'syft-debian-multiple': [/line 1: stanza without Package/, /"no-version" without Version/],
};

/** The peer's assertion in our representation. */
function fromPeer(peer: string, p: PeerPackage): Compared {
  if (peer === 'aquasecurity/trivy') {
    // trivy splits epoch/version/release (and the same for the source): reassemble deb-version(7) strings.
    return {
      name: p.name,
      version: debVersion(p.epoch, p.version ?? '', p.release),
      sourceName: p.srcName ?? p.name,
      sourceVersion: debVersion(p.srcEpoch, p.srcVersion ?? '', p.srcRelease),
    };
  }
  // syft leaves Source empty when the stanza has no Source: field and leaves sourceVersion empty when
  // Source: carries no "(version)"; Debian Policy §5.6.1 says the source is then the binary's name
  // and version respectively, which is what we report.
  const version = p.version ?? '';
  return { name: p.name, version, sourceName: p.srcName || p.name, sourceVersion: p.srcVersion || version };
}

describe('dpkg cataloger against the pkgdb corpus', () => {
  it.each(fixtures('dpkg'))('%s', (folder) => {
    const { expected, file } = loadFixture('dpkg', folder);
    expect(dpkgWants(file.path)).toBe(true);
    const { packages, unknowns } = dpkgCataloger.catalog([file]);
    const disagreements = DISAGREEMENTS[folder] ?? [];
    expectPeerPackages(packages, expected, disagreements, (p) => fromPeer(expected.peer, p));
    for (const d of disagreements) {
      expect(packages.some((p) => p.name === d.name)).toBe(false);
      expect(unknowns.some((u) => u.reason.includes(d.name))).toBe(true);
    }
    const wantUnknowns = EXPECTED_UNKNOWNS[folder] ?? [];
    expect(unknowns.map((u) => u.reason)).toHaveLength(wantUnknowns.length);
    wantUnknowns.forEach((re, i) => expect(unknowns[i].reason).toMatch(re));
    for (const p of packages) {
      expect(p.ecosystem).toBe('Debian');
      expect(PackageURL.fromString(p.purl)).toMatchObject({ type: 'deb', namespace: 'debian', name: p.name, version: p.version });
      expect(p.locations).toEqual([{ layer: LAYER, path: file.path }]);
      expect(p.cataloger).toEqual({ name: 'dpkg-db', version: '1.1.0' });
    }
  });
});

describe('dpkg stanza parsing', () => {
  it('reads Source with and without a version, continuation lines and Status', () => {
    const text = [
      'Package: libc6', 'Status: install ok installed', 'Architecture: amd64', 'Source: glibc (2.36-9)', 'Version: 2.36-9+deb12u4',
      'Description: GNU C Library', ' Contains the standard libraries.', ' .', ' More.',
      '',
      'Package: bash', 'Status: install ok installed', 'Version: 5.2.15-2+b2', 'Source: bash',
      '',
      'Package: gone', 'Status: deinstall ok config-files', 'Version: 1.0',
      '',
      'Package: held', 'Status: hold ok installed', 'Version: 2.0',
      '',
      'Package: half', 'Status: install ok half-installed', 'Version: 3.0',
      '',
      'Package: selected-for-removal', 'Status: deinstall ok installed', 'Version: 4.0',
      '',
    ].join('\n');
    const { stanzas } = parseStanzas(text);
    expect(stanzas[0].fields.get('description')).toBe('GNU C Library\nContains the standard libraries.\n.\nMore.');
    expect(parseDpkgStatus(text).entries).toEqual([
      { name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64', sourceName: 'glibc', sourceVersion: '2.36-9' },
      { name: 'bash', version: '5.2.15-2+b2', sourceName: 'bash', sourceVersion: '5.2.15-2+b2' },
      { name: 'held', version: '2.0', sourceName: 'held', sourceVersion: '2.0' },
      // selected for removal but not yet removed: the files are still on disk
      { name: 'selected-for-removal', version: '4.0', sourceName: 'selected-for-removal', sourceVersion: '4.0' },
    ]);
    expect(parseSourceField('gcc-5 (5.1.1-12ubuntu1)')).toEqual({ name: 'gcc-5', version: '5.1.1-12ubuntu1' });
  });

  it('builds Ubuntu packages when told the distro', () => {
    const body = Buffer.from('Package: apt\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.4.11\n');
    const { packages } = createDpkgCataloger('ubuntu').catalog([{ path: '/var/lib/dpkg/status', layer: LAYER, body, truncated: false }]);
    expect(packages).toHaveLength(1);
    expect(packages[0].ecosystem).toBe('Ubuntu');
    expect(packages[0].purl).toBe('pkg:deb/ubuntu/apt@2.4.11?arch=amd64');
  });

  it('wants status and status.d files, not md5sums or info files', () => {
    expect(dpkgWants('/var/lib/dpkg/status')).toBe(true);
    expect(dpkgWants('/var/lib/dpkg/status.d/base')).toBe(true);
    expect(dpkgWants('/var/lib/dpkg/status.d/base.md5sums')).toBe(false);
    expect(dpkgWants('/var/lib/dpkg/status-old')).toBe(false);
    expect(dpkgWants('/var/lib/dpkg/info/tar.md5sums')).toBe(false);
    expect(dpkgWants('var/lib/dpkg/status')).toBe(false);
  });

  it('turns garbage into unknowns, never throws', () => {
    const bodies = [Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a, 0x20, 0x20]), Buffer.from('this is not\na control file\n\n: nope\n'), Buffer.from('Package: x\nStatus: install ok installed\n')];
    for (const body of bodies) {
      const r = dpkgCataloger.catalog([{ path: '/var/lib/dpkg/status', layer: LAYER, body, truncated: false }]);
      expect(r.packages).toEqual([]);
      expect(r.unknowns.length).toBeGreaterThan(0);
      expect(r.unknowns[0]).toMatchObject({ layer: LAYER, path: '/var/lib/dpkg/status' });
    }
    const cut = dpkgCataloger.catalog([{ path: '/var/lib/dpkg/status', layer: LAYER, body: Buffer.from('Package: a\nStatus: install ok installed\nVersion: 1\n'), truncated: true }]);
    expect(cut.packages).toHaveLength(1);
    expect(cut.unknowns[0].reason).toMatch(/truncated/);
  });
});

const REAL = '/var/lib/dpkg/status';
describe('this machine\'s dpkg database', () => {
  it('has one package per "install ok installed" stanza', () => {
    const text = readFileSync(REAL, 'utf8');
    // Independent count: a plain line scan for the Status line of installed packages. Held packages
    // ("hold ok installed") and the like are installed too, so any "<want> <flag> installed" counts.
    const installed = text.split('\n').filter((l) => /^Status: \S+ \S+ installed\s*$/.test(l)).length;
    const { packages, unknowns } = dpkgCataloger.catalog([{ path: REAL, layer: LAYER, body: Buffer.from(text), truncated: false }]);
    expect(installed).toBeGreaterThan(0);
    expect(packages).toHaveLength(installed);
    expect(unknowns).toEqual([]);
    expect(new Set(packages.map((p) => `${p.name}:${p.arch}`)).size).toBe(installed);
  });
});
