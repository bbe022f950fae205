import { toCycloneDx } from '../../../lib/cli/format/cyclonedx';
import { PackageURL } from 'packageurl-js';
import { purl } from '../../../lib/engine/catalog/purl';
import { sha256Digest, type Digest, type Package } from '../../../lib/engine/model';
import { ALPINE, APK, APP, BASE_AMD64, BASE_ARM64, BIN_AMD64, BIN_ARM64, PYPI, deb, go, npm } from './fixtures';
import type { ImageScan, ScanResult } from '../../../lib/engine/scan-image';
import { validateCycloneDx15 } from '../../helpers/sbom-schemas';

// ---------------------------------------------------------------------------------------------
// A realistic scan: a two-platform Debian 12 index whose platforms have their own base and binary
// layers but share one arch-independent application layer, a single-platform Alpine image, a
// rolling-release directory and an image that could not be scanned.
// ---------------------------------------------------------------------------------------------

const debianAmd64: Package[] = [
  deb('libssl3', '3.0.11-1~deb12u2', 'amd64', BASE_AMD64, ['openssl', '3.0.11-1~deb12u2']),
  deb('passwd', '1:4.13+dfsg1-1+b1', 'amd64', BASE_AMD64, ['shadow', '1:4.13+dfsg1-1']),
  deb('tzdata', '2024a-0+deb12u1', 'all', BASE_AMD64),
];
const debianArm64: Package[] = [
  deb('libssl3', '3.0.11-1~deb12u2', 'arm64', BASE_ARM64, ['openssl', '3.0.11-1~deb12u2']),
  deb('passwd', '1:4.13+dfsg1-1+b1', 'arm64', BASE_ARM64, ['shadow', '1:4.13+dfsg1-1']),
  deb('tzdata', '2024a-0+deb12u1', 'all', BASE_ARM64),
];
/** In the shared layer: the same on both platforms, so each must appear once. */
const appPackages: Package[] = [
  npm('@babel/traverse', '7.23.0', '/app/node_modules/@babel/traverse/package.json'),
  // The same purl at two paths: two components with distinct bom-refs.
  npm('ms', '2.1.3', '/app/node_modules/ms/package.json'),
  npm('ms', '2.1.3', '/app/node_modules/debug/node_modules/ms/package.json'),
  {
    ecosystem: 'PyPI', name: 'typing_extensions', version: '4.9.0', purl: purl('pypi', undefined, 'typing-extensions', '4.9.0'),
    locations: [{ layer: APP, path: '/usr/lib/python3/dist-packages/typing_extensions-4.9.0.dist-info/METADATA' }], cataloger: PYPI,
  },
];
/** In per-platform binary layers: the same purl on both platforms, but found in different layers. */
const goPackages = (at: Digest): Package[] => [
  go('github.com/google/uuid', 'v1.6.0', at),
  go('google.golang.org/genproto', 'v0.0.0-20240123012728-ef4313101c80', at, 'googleapis/api'),
];

const trusted = { status: 'trusted', reasons: [] } as const;
const DEBIAN_12 = { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)', source: '/etc/os-release' };

const image = (platform: string, os: ImageScan['os'], packages: Package[], seed = platform): ImageScan => ({
  platform, manifestDigest: sha256Digest(`manifest ${seed}`), configDigest: sha256Digest(`config ${seed}`),
  ...(os ? { os } : {}), packages, unknowns: [], layers: [], findings: [], verdict: trusted,
});

const multiPlatform: ScanResult = {
  ref: 'registry.example.com/team/app:1.4.2', digest: sha256Digest('index app:1.4.2'),
  mediaType: 'application/vnd.oci.image.index.v1+json', isIndex: true, verdict: trusted,
  images: [
    image('linux/amd64', DEBIAN_12, [...debianAmd64, ...appPackages, ...goPackages(BIN_AMD64)]),
    image('linux/arm64/v8', DEBIAN_12, [...debianArm64, ...appPackages, ...goPackages(BIN_ARM64)]),
  ],
};
const alpine: ScanResult = {
  ref: 'docker.io/library/alpine:3.19', digest: sha256Digest('manifest alpine'),
  mediaType: 'application/vnd.oci.image.manifest.v1+json', isIndex: false, verdict: trusted,
  images: [image('linux/amd64', { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19', source: '/etc/os-release' }, [
    {
      ecosystem: 'Alpine', name: 'musl', version: '1.2.4-r2', arch: 'x86_64', distro: 'Alpine:v3.19', sourceName: 'musl', sourceVersion: '1.2.4-r2',
      purl: purl('apk', 'alpine', 'musl', '1.2.4-r2', { arch: 'x86_64', distro: '3.19.1' }),
      locations: [{ layer: ALPINE, path: '/lib/apk/db/installed' }], cataloger: APK,
    },
    {
      ecosystem: 'Alpine', name: 'busybox', version: '1.36.1-r15', arch: 'x86_64', distro: 'Alpine:v3.19',
      purl: purl('apk', 'alpine', 'busybox', '1.36.1-r15', { arch: 'x86_64', distro: '3.19.1' }),
      locations: [{ layer: ALPINE, path: '/lib/apk/db/installed' }], cataloger: APK,
    },
  ], 'alpine')],
};
const rollingDir: ScanResult = {
  ref: 'dir:/srv/rootfs', digest: sha256Digest('dir layer'), mediaType: 'application/vnd.oci.image.layer.v1.tar', isIndex: false, verdict: trusted,
  // An os-release without VERSION_ID (a rolling release): the OS component has no version.
  images: [image('unknown', { id: 'arch', versionId: '', prettyName: 'Arch Linux', source: '/etc/os-release' }, [npm('left-pad', '1.3.0', '/srv/app/node_modules/left-pad/package.json')], 'dir')],
};
const unscannable: ScanResult = {
  ref: 'registry.example.com/team/huge:latest', digest: sha256Digest('manifest huge'),
  mediaType: 'application/vnd.oci.image.manifest.v1+json', isIndex: false, verdict: { status: 'quarantined', reasons: [{ rule: 'unscannable', message: 'maxImageBytes' }] },
  images: [{ ...image('linux/amd64', undefined, [], 'huge'), verdict: { status: 'quarantined', reasons: [] } }],
};

interface Case {
  readonly name: string;
  readonly result: ScanResult;
  /** Distinct (purl, locations) pairs the BOM must list once each. */
  readonly libraries: number;
  /** `name@version` of the operating-system components. */
  readonly os: readonly string[];
}
const cases: readonly Case[] = [
  // 3 deb × 2 platforms (different purls: arch qualifier) + 4 shared app packages + 2 go × 2 platforms (different layers).
  { name: 'two-platform Debian index', result: multiPlatform, libraries: 6 + 4 + 4, os: ['debian@12'] },
  { name: 'single-platform Alpine image', result: alpine, libraries: 2, os: ['alpine@3.19.1'] },
  { name: 'rolling-release directory', result: rollingDir, libraries: 1, os: ['arch@'] },
  { name: 'unscannable image (no packages, no OS)', result: unscannable, libraries: 0, os: [] },
];

const opts = { toolVersion: '0.1.0', now: new Date('2026-11-29T10:11:12.345Z') };

interface Property { name: string; value: string }
interface Component { 'bom-ref': string; type: string; name: string; version?: string; purl?: string; description?: string; properties?: Property[] }
interface Bom {
  $schema: string; bomFormat: string; specVersion: string; serialNumber: string; version: number;
  metadata: { timestamp: string; tools: { components: Component[] }; component: Component & { hashes?: { alg: string; content: string }[] } };
  components: Component[];
  dependencies: { ref: string; dependsOn?: string[] }[];
}
const bomOf = (r: ScanResult, o: Parameters<typeof toCycloneDx>[1] = opts) => toCycloneDx(r, o) as unknown as Bom;
const props = (c: Component, name: string) => (c.properties ?? []).filter((p) => p.name === name).map((p) => p.value);
/** The locations a component's `trustctl:location:<i>:layer|path` properties carry, in index order. */
function locationsOf(c: Component): { layer: string; path: string }[] {
  const out: { layer: string; path: string }[] = [];
  for (const { name, value } of c.properties ?? []) {
    const m = /^trustctl:location:(\d+):(layer|path)$/.exec(name);
    if (m) out[Number(m[1])] = { ...out[Number(m[1])], [m[2]]: value } as { layer: string; path: string };
  }
  return out;
}
const identity = (purl: string, locations: readonly { layer: string; path: string }[]) => JSON.stringify([purl, locations.map((l) => [l.layer, l.path])]);

describe('toCycloneDx', () => {
  describe('findings', () => {
    const musl = alpine.images[0].packages[0];
    const withFindings: ScanResult = {
      ...alpine,
      images: [{
        ...alpine.images[0],
        findings: [
          { type: 'vulnerability', id: 'CVE-2025-26519', aliases: ['ALPINE-CVE-2025-26519'], severity: 'high', package: musl.purl, fixedIn: '1.2.4_git20230717-r5', layer: ALPINE, path: '/lib/apk/db/installed', message: 'musl is affected', score: 8.1 } as ScanResult['images'][number]['findings'][number],
          { type: 'malware', id: 'EICAR-Test-File', aliases: [], severity: 'critical', layer: ALPINE, path: '/tmp/e.com', message: 'EICAR-Test-File found' },
          { type: 'misconfig', id: 'TC-MC-001', aliases: [], severity: 'high', path: 'config:User', message: 'runs as root' },
          { type: 'unscannable', id: 'NO_VULNERABILITY_DATA', aliases: [], severity: 'unknown', message: 'none' },
        ],
      }],
    };
    const bom = toCycloneDx(withFindings, opts) as unknown as Bom & { vulnerabilities: { id: string; affects: { ref: string }[]; ratings: { severity: string; score?: number }[]; properties: Property[] }[] };

    it('are valid against the schema, vulnerabilities affecting their package, other findings the image', async () => {
      expect(await validateCycloneDx15(bom)).toEqual([]);
      const refOf = (purl: string) => bom.components.find((c) => c.purl === purl)!['bom-ref'];
      expect(bom.vulnerabilities.map((v) => [v.id, v.affects[0].ref, v.ratings[0].severity])).toEqual([
        ['CVE-2025-26519', refOf(musl.purl), 'high'],
        ['EICAR-Test-File', bom.metadata.component['bom-ref'], 'critical'],
        ['TC-MC-001', bom.metadata.component['bom-ref'], 'high'],
      ]);
      expect(bom.vulnerabilities[1].properties).toEqual(expect.arrayContaining([{ name: 'trustctl:type', value: 'malware' }, { name: 'trustctl:path', value: '/tmp/e.com' }]));
    });
  });

  describe.each(cases)('$name', ({ result, libraries, os }) => {
    const bom = bomOf(result);
    const libs = bom.components.filter((c) => c.type === 'library');

    it('is valid against the official CycloneDX 1.5 JSON schema (CycloneDX\'s own validator)', async () => {
      expect(await validateCycloneDx15(bom)).toEqual([]);
    });

    it('has the BOM header, the tool and the image as metadata.component', () => {
      expect(bom).toMatchObject({ $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json', bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });
      expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(bom.metadata.timestamp).toBe('2026-11-29T10:11:12.345Z');
      expect(bom.metadata.tools.components).toEqual([{ type: 'application', name: 'trustctl', version: '0.1.0' }]);
      expect(bom.metadata.component).toMatchObject({ type: 'container', name: result.ref, version: result.digest });
      expect(bom.metadata.component.hashes).toEqual([{ alg: 'SHA-256', content: result.digest.slice('sha256:'.length) }]);
      expect(props(bom.metadata.component, 'trustctl:platform')).toEqual(result.images.map((i) => i.platform));
    });

    it('lists every package exactly once, with its purl, name and version as scanned', () => {
      expect(libs).toHaveLength(libraries);
      const expected = new Map<string, Package>();
      for (const img of result.images) for (const p of img.packages) expected.set(identity(p.purl, p.locations), p);
      expect(expected.size).toBe(libraries);
      const seen = libs.map((c) => identity(c.purl!, locationsOf(c)));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.sort()).toEqual([...expected.keys()].sort());
      for (const c of libs) {
        const p = expected.get(identity(c.purl!, locationsOf(c)))!;
        expect({ name: c.name, version: c.version, purl: c.purl }).toEqual({ name: p.name, version: p.version, purl: p.purl });
      }
    });

    it('has one operating-system component per detected distribution', () => {
      expect(bom.components.filter((c) => c.type === 'operating-system').map((c) => `${c.name}@${c.version ?? ''}`)).toEqual(os);
      expect(bom.components.every((c) => c.type === 'library' || c.type === 'operating-system')).toBe(true);
    });

    it('gives every component a unique bom-ref, and the image depends on all of them', () => {
      const refs = [bom.metadata.component['bom-ref'], ...bom.components.map((c) => c['bom-ref'])];
      expect(new Set(refs).size).toBe(refs.length);
      expect(bom.dependencies).toEqual([{ ref: bom.metadata.component['bom-ref'], dependsOn: bom.components.map((c) => c['bom-ref']) }]);
    });
  });

  describe('two-platform index', () => {
    const bom = bomOf(multiPlatform);
    const lib = (purl: string, path?: string) => bom.components.filter((c) => c.purl === purl && (!path || locationsOf(c)[0].path === path));

    it.each([
      ['a package of the shared layer', appPackages[0].purl, ['linux/amd64', 'linux/arm64/v8']],
      ['a package of the amd64 base layer', debianAmd64[0].purl, ['linux/amd64']],
      ['a package of the arm64 base layer', debianArm64[0].purl, ['linux/arm64/v8']],
    ])('records the platforms of %s', (_n, purl, platforms) => {
      expect(lib(purl).map((c) => props(c, 'trustctl:platform'))).toEqual([platforms]);
    });

    it('keeps purls with qualifiers, epochs, scopes and subpaths verbatim and parseable', () => {
      const purls = bom.components.flatMap((c) => (c.purl ? [c.purl] : []));
      expect(purls).toEqual(expect.arrayContaining([
        'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12',
        'pkg:deb/debian/passwd@1:4.13+dfsg1-1+b1?arch=arm64&distro=debian-12',
        'pkg:npm/%40babel/traverse@7.23.0',
        'pkg:golang/google.golang.org/genproto@v0.0.0-20240123012728-ef4313101c80#googleapis/api',
      ]));
      for (const p of purls) expect(() => PackageURL.fromString(p)).not.toThrow();
    });

    it.each([
      ['the same purl at two paths', 'pkg:npm/ms@2.1.3', ['pkg:npm/ms@2.1.3', 'pkg:npm/ms@2.1.3#1']],
      ['the same purl in two platform layers', goPackages(BIN_AMD64)[0].purl, ['pkg:golang/github.com/google/uuid@v1.6.0', 'pkg:golang/github.com/google/uuid@v1.6.0#1']],
      ['a purl with a subpath', goPackages(BIN_AMD64)[1].purl, [goPackages(BIN_AMD64)[1].purl, `${goPackages(BIN_AMD64)[1].purl}#1`]],
    ])('disambiguates the bom-refs of %s', (_n, purl, refs) => {
      expect(lib(purl).map((c) => c['bom-ref'])).toEqual(refs);
    });

    it('carries locations, cataloger, source package, arch and distro as trustctl: properties', () => {
      const [libssl] = lib(debianAmd64[0].purl);
      expect(libssl.properties).toEqual([
        { name: 'trustctl:location:0:layer', value: BASE_AMD64 },
        { name: 'trustctl:location:0:path', value: '/var/lib/dpkg/status' },
        { name: 'trustctl:cataloger', value: 'dpkg-status@1.0.0' },
        { name: 'trustctl:ecosystem', value: 'Debian' },
        { name: 'trustctl:sourceName', value: 'openssl' },
        { name: 'trustctl:sourceVersion', value: '3.0.11-1~deb12u2' },
        { name: 'trustctl:arch', value: 'amd64' },
        { name: 'trustctl:distro', value: 'Debian:12' },
        { name: 'trustctl:platform', value: 'linux/amd64' },
      ]);
      const [nested] = lib('pkg:npm/ms@2.1.3', '/app/node_modules/debug/node_modules/ms/package.json');
      expect(locationsOf(nested)).toEqual([{ layer: APP, path: '/app/node_modules/debug/node_modules/ms/package.json' }]);
    });

    it('lists the OS once, with both platforms, its pretty name and the file it came from', () => {
      expect(bom.components.filter((c) => c.type === 'operating-system')).toEqual([{
        'bom-ref': 'os:debian@12', type: 'operating-system', name: 'debian', version: '12', description: 'Debian GNU/Linux 12 (bookworm)',
        properties: [{ name: 'trustctl:os:source', value: '/etc/os-release' }, { name: 'trustctl:platform', value: 'linux/amd64' }, { name: 'trustctl:platform', value: 'linux/arm64/v8' }],
      }]);
    });
  });

  it('records no platform on the components of a single-platform image', () => {
    expect(bomOf(alpine).components.flatMap((c) => props(c, 'trustctl:platform'))).toEqual([]);
  });

  it('merges one package listed twice by the same platform into one component', () => {
    const twice: ScanResult = { ...alpine, images: [{ ...alpine.images[0], packages: [...alpine.images[0].packages, alpine.images[0].packages[0]] }] };
    expect(bomOf(twice).components.filter((c) => c.type === 'library')).toHaveLength(2);
  });

  describe('serial number and purity', () => {
    it('keeps a given serial number', () => {
      const serialNumber = 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79';
      expect(bomOf(alpine, { ...opts, serialNumber }).serialNumber).toBe(serialNumber);
    });

    it('draws a new random serial number for every BOM', () => {
      expect(bomOf(alpine).serialNumber).not.toBe(bomOf(alpine).serialNumber);
    });

    it.each([['not a URN', 'abc'], ['upper-case hex', 'urn:uuid:3E671687-395B-41F5-A30F-A58921A69B79'], ['no urn:uuid: prefix', '3e671687-395b-41f5-a30f-a58921a69b79']])(
      'rejects a serial number that is %s', (_n, serialNumber) => {
        expect(() => toCycloneDx(alpine, { ...opts, serialNumber })).toThrow(RangeError);
      });

    it('is deterministic given serial number and time, and leaves its input alone', () => {
      const before = structuredClone(multiPlatform);
      const o = { ...opts, serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79' };
      expect(toCycloneDx(multiPlatform, o)).toEqual(toCycloneDx(multiPlatform, o));
      expect(multiPlatform).toEqual(before);
    });
  });

  // The check above is only worth something if it rejects what the schema and the spec forbid: each
  // spoilt BOM must fail for the rule named, not for some other reason.
  describe('the CycloneDX 1.5 validation is real', () => {
    it.each<[string, (b: Bom) => void, RegExp]>([
      ['an unknown component type', (b) => { b.components[0].type = 'gadget'; }, /^schema: \/components\/0\/type must be equal to one of the allowed values/],
      ['the component type "os"', (b) => { b.components[0].type = 'os'; }, /^schema: \/components\/0\/type must be equal to one of the allowed values/],
      ['a component without a name', (b) => { delete (b.components[0] as Partial<Component>).name; }, /^schema: \/components\/0 must have required property 'name'/],
      ['a serial number that is no urn:uuid', (b) => { b.serialNumber = 'serial-1'; }, /^schema: \/serialNumber must match pattern/],
      ['the same ref twice in dependsOn', (b) => { b.dependencies[0].dependsOn!.push(b.dependencies[0].dependsOn![0]); }, /^schema: \/dependencies\/0\/dependsOn must NOT have duplicate items/],
      ['a timestamp that is no date-time', (b) => { b.metadata.timestamp = 'yesterday'; }, /^schema: \/metadata\/timestamp must match format "date-time"/],
      ['an unknown top-level field', (b) => { (b as unknown as Record<string, unknown>).packages = []; }, /^schema: \/ must NOT have additional properties \{"additionalProperty":"packages"\}/],
      ['a property value that is no string', (b) => { (b.components[0].properties![0] as unknown as { value: number }).value = 42; }, /^schema: \/components\/0\/properties\/0\/value must be string/],
      ['an unknown hash algorithm', (b) => { b.metadata.component.hashes![0].alg = 'SHA256'; }, /^schema: \/metadata\/component\/hashes\/0\/alg must be equal to one of the allowed values/],
      ['a hash that is no hex digest', (b) => { b.metadata.component.hashes![0].content = 'sha256:abc'; }, /^schema: \/metadata\/component\/hashes\/0\/content must match pattern/],
      ['two components with one bom-ref', (b) => { b.components[2]['bom-ref'] = b.components[1]['bom-ref']; }, /^spec: bom-ref .* of components\[2\] is not unique \(also components\[1\]\)/],
      ['a dependency on a bom-ref that is not there', (b) => { b.dependencies[0].dependsOn![0] = 'pkg:npm/nowhere@1'; }, /^spec: dependencies\[0\]\.dependsOn\[0\] "pkg:npm\/nowhere@1" is no bom-ref of the BOM/],
      ['no version', (b) => { delete (b as Partial<Bom>).version; }, /^schema \(official, not in the library's copy\): version is required/],
      ['the $schema of another version', (b) => { b.$schema = 'http://cyclonedx.org/schema/bom-1.6.schema.json'; }, /^schema \(official, not in the library's copy\): \$schema must be/],
      ['a purl that does not parse', (b) => { b.components[1].purl = 'npm/ms@2.1.3'; }, /^spec: components\[1\]\.purl is no valid purl/],
    ])('rejects %s', async (_n, spoil, rule) => {
      const bom = bomOf(multiPlatform);
      expect(await validateCycloneDx15(bom)).toEqual([]);
      spoil(bom);
      expect(await validateCycloneDx15(bom)).toEqual(expect.arrayContaining([expect.stringMatching(rule)]));
    });
  });
});
