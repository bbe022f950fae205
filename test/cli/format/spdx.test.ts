import { spdxIdString, toSpdx } from '../../../lib/cli/format/spdx';
import { PackageURL } from 'packageurl-js';
import { purl } from '../../../lib/engine/catalog/purl';
import { sha256Digest, type Digest, type Package } from '../../../lib/engine/model';
import { ALPINE, APK, BASE_AMD64, BASE_ARM64, BIN_AMD64, BIN_ARM64, deb, go, npm, pypi } from './fixtures';
import type { ImageScan, ScanResult } from '../../../lib/engine/scan-image';
import { validateSpdx23 } from '../../helpers/sbom-schemas';

// ---------------------------------------------------------------------------------------------
// A realistic scan: a two-platform Debian 12 index whose platforms have their own base and binary
// layers but share one arch-independent application layer; package names that are no valid SPDX
// idstring (scopes, `_`, `~`, `+`, `:`, non-ASCII, over-long); a single-platform Alpine image and an
// image that could not be scanned.
// ---------------------------------------------------------------------------------------------

const LONG = 'a-module-name-that-is-far-longer-than-any-spdx-identifier-this-exporter-would-write';
const base = (arch: string, at: Digest): Package[] => [
  deb('libssl3', '3.0.11-1~deb12u2', arch, at, ['openssl', '3.0.11-1~deb12u2']),
  deb('passwd', '1:4.13+dfsg1-1+b1', arch, at, ['shadow', '1:4.13+dfsg1-1']),
];
/** In the shared layer: the same on both platforms, so each must appear once. */
const app: Package[] = [
  npm('@babel/traverse', '7.23.0', '/app/node_modules/@babel/traverse/package.json'),
  // The same purl at two paths: two packages, two SPDX identifiers.
  npm('ms', '2.1.3', '/app/node_modules/ms/package.json'),
  npm('ms', '2.1.3', '/app/node_modules/debug/node_modules/ms/package.json'),
  // Names that become the same idstring once `_` is replaced, or once cut to length.
  pypi('typing_extensions', '4.9.0'),
  pypi('typing-extensions', '4.9.0'),
  npm(`${LONG}-one`, '1.0.0', `/app/node_modules/${LONG}-one/package.json`),
  npm(`${LONG}-two`, '1.0.0', `/app/node_modules/${LONG}-two/package.json`),
  npm('café-utils', '0.1.0', '/app/node_modules/café-utils/package.json'),
];
/** In per-platform binary layers: the same purl on both platforms, found in different layers. */
const bin = (at: Digest): Package[] => [go('github.com/google/uuid', 'v1.6.0', at)];

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
    image('linux/amd64', DEBIAN_12, [...base('amd64', BASE_AMD64), ...app, ...bin(BIN_AMD64)]),
    image('linux/arm64/v8', DEBIAN_12, [...base('arm64', BASE_ARM64), ...app, ...bin(BIN_ARM64)]),
  ],
};
const alpine: ScanResult = {
  ref: 'docker.io/library/alpine:3.19', digest: sha256Digest('manifest alpine'),
  mediaType: 'application/vnd.oci.image.manifest.v1+json', isIndex: false, verdict: trusted,
  images: [image('linux/amd64', { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19', source: '/etc/os-release' }, [{
    ecosystem: 'Alpine', name: 'musl', version: '1.2.4-r2', arch: 'x86_64', distro: 'Alpine:v3.19', sourceName: 'musl', sourceVersion: '1.2.4-r2',
    purl: purl('apk', 'alpine', 'musl', '1.2.4-r2', { arch: 'x86_64', distro: '3.19.1' }),
    locations: [{ layer: ALPINE, path: '/lib/apk/db/installed' }], cataloger: APK,
  }], 'alpine')],
};
const unscannable: ScanResult = {
  ref: 'registry.example.com/team/huge:latest', digest: sha256Digest('manifest huge'),
  mediaType: 'application/vnd.oci.image.manifest.v1+json', isIndex: false, verdict: { status: 'quarantined', reasons: [{ rule: 'unscannable', message: 'maxImageBytes' }] },
  images: [image('linux/amd64', undefined, [], 'huge')],
};

interface Case {
  readonly name: string;
  readonly result: ScanResult;
  /** Distinct (purl, locations) pairs: the packages the document must list once each. */
  readonly packages: number;
  readonly os: readonly string[];
}
const cases: readonly Case[] = [
  // 2 deb × 2 platforms (the arch qualifier differs) + 8 shared app packages + 1 go × 2 platforms (different layers).
  { name: 'two-platform Debian index', result: multiPlatform, packages: 4 + 8 + 2, os: ['debian@12'] },
  { name: 'single-platform Alpine image', result: alpine, packages: 1, os: ['alpine@3.19.1'] },
  { name: 'unscannable image (no packages, no OS)', result: unscannable, packages: 0, os: [] },
];
const opts = { toolVersion: '0.1.0', now: new Date('2026-11-29T10:11:12.345Z') };

interface SpdxPackage {
  SPDXID: string; name: string; versionInfo?: string; downloadLocation: string; filesAnalyzed: boolean;
  licenseConcluded: string; licenseDeclared: string; copyrightText: string; primaryPackagePurpose?: string;
  description?: string; sourceInfo?: string; comment?: string; checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}
interface Relationship { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }
interface Doc {
  spdxVersion: string; dataLicense: string; SPDXID: string; name: string; documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: Relationship[];
}
const docOf = (r: ScanResult, o: Parameters<typeof toSpdx>[1] = opts) => toSpdx(r, o) as unknown as Doc;
const purlOf = (p: SpdxPackage) => p.externalRefs?.find((e) => e.referenceType === 'purl')?.referenceLocator;

describe('toSpdx', () => {
  describe.each(cases)('$name', ({ result, packages, os }) => {
    const doc = docOf(result);
    const image = doc.packages[0];
    const libs = doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY');

    it('is valid against the official SPDX 2.3 JSON schema and the 2.3 text', () => {
      expect(validateSpdx23(doc)).toEqual([]);
    });

    it('has the document creation information', () => {
      expect(doc).toMatchObject({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: result.ref });
      expect(doc.creationInfo).toEqual({ created: '2026-11-29T10:11:12Z', creators: ['Tool: trustctl-0.1.0'] });
      const ns = new URL(doc.documentNamespace);
      expect([ns.protocol, ns.hash]).toEqual(['https:', '']);
    });

    it('describes the image as a CONTAINER package, first', () => {
      expect(image).toMatchObject({
        name: result.ref, versionInfo: result.digest, primaryPackagePurpose: 'CONTAINER', downloadLocation: 'NOASSERTION', filesAnalyzed: false,
        checksums: [{ algorithm: 'SHA256', checksumValue: result.digest.slice('sha256:'.length) }],
      });
      expect(doc.packages.filter((p) => p.primaryPackagePurpose === 'CONTAINER')).toHaveLength(1);
    });

    it('lists every package exactly once, purl preserved, nothing asserted it does not know', () => {
      const expected = new Map<string, Package>();
      for (const img of result.images) for (const p of img.packages) expected.set(`${p.purl} ${p.locations.map((l) => `${l.layer}${l.path}`).join()}`, p);
      expect(libs).toHaveLength(packages);
      expect(expected.size).toBe(packages);
      // Each input package is the one SPDX package with its purl whose sourceInfo names its location.
      for (const p of expected.values()) {
        const found = libs.filter((s) => purlOf(s) === p.purl && p.locations.every((l) => s.sourceInfo?.includes(`${l.path} (layer ${l.layer})`)));
        expect(found.map((s) => [s.name, s.versionInfo])).toEqual([[p.name, p.version]]);
      }
      for (const s of libs) {
        expect(s).toMatchObject({ downloadLocation: 'NOASSERTION', filesAnalyzed: false, licenseConcluded: 'NOASSERTION', licenseDeclared: 'NOASSERTION', copyrightText: 'NOASSERTION' });
        expect(s.externalRefs).toEqual([{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: expect.any(String) }]);
        expect(() => PackageURL.fromString(purlOf(s)!)).not.toThrow();
      }
    });

    it('has one OPERATING_SYSTEM package per detected distribution', () => {
      expect(doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM').map((p) => `${p.name}@${p.versionInfo}`)).toEqual(os);
      expect(doc.packages).toHaveLength(1 + os.length + packages);
    });

    it('gives every element a unique, well-formed SPDX identifier', () => {
      const ids = [doc.SPDXID, ...doc.packages.map((p) => p.SPDXID)];
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    });

    it('relates DOCUMENT DESCRIBES image and image CONTAINS every other package, and nothing else', () => {
      const ids = new Set([doc.SPDXID, ...doc.packages.map((p) => p.SPDXID)]);
      for (const r of doc.relationships) expect([ids.has(r.spdxElementId), ids.has(r.relatedSpdxElement)]).toEqual([true, true]);
      expect(doc.relationships.filter((r) => r.relationshipType === 'DESCRIBES')).toEqual([{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID }]);
      const contains = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS');
      expect(contains.every((r) => r.spdxElementId === image.SPDXID)).toBe(true);
      expect(contains.map((r) => r.relatedSpdxElement)).toEqual(doc.packages.slice(1).map((p) => p.SPDXID));
      expect(doc.relationships).toHaveLength(1 + contains.length);
    });
  });

  describe('two-platform index', () => {
    const doc = docOf(multiPlatform);
    const byPurl = (p: string) => doc.packages.filter((s) => purlOf(s) === p);

    it.each([
      ['a scoped npm name', '@babel/traverse', ['SPDXRef-Package-npm-babel-traverse-7.23.0']],
      ['an epoch and "+" in the version', 'passwd', ['SPDXRef-Package-Debian-passwd-1-4.13-dfsg1-1-b1', 'SPDXRef-Package-Debian-passwd-1-4.13-dfsg1-1-b1-1']],
      ['the same purl at two paths', 'ms', ['SPDXRef-Package-npm-ms-2.1.3', 'SPDXRef-Package-npm-ms-2.1.3-1']],
      ['names equal once "_" is replaced', 'typing', ['SPDXRef-Package-PyPI-typing-extensions-4.9.0', 'SPDXRef-Package-PyPI-typing-extensions-4.9.0-1']],
      ['names equal once cut to length', LONG, [`SPDXRef-${spdxIdString(`Package-npm-${LONG}-one-1.0.0`)}`, `SPDXRef-${spdxIdString(`Package-npm-${LONG}-one-1.0.0`)}-1`]],
      ['a non-ASCII name', 'café', ['SPDXRef-Package-npm-caf-utils-0.1.0']],
    ])('makes a valid, unique SPDXID of %s', (_n, name, ids) => {
      expect(doc.packages.filter((p) => p.name.startsWith(name)).map((p) => p.SPDXID)).toEqual(ids);
    });

    it.each([
      ['a package of the shared layer', app[0].purl, ' on linux/amd64, linux/arm64/v8'],
      ['a package of the amd64 base layer', base('amd64', BASE_AMD64)[0].purl, ' on linux/amd64'],
      ['a package of the arm64 base layer', base('arm64', BASE_ARM64)[0].purl, ' on linux/arm64/v8'],
    ])('names the platforms of %s in sourceInfo', (_n, p, platforms) => {
      expect(byPurl(p).map((s) => s.sourceInfo!.endsWith(platforms))).toEqual([true]);
    });

    it('keeps purls with qualifiers, epochs and scopes verbatim', () => {
      expect(doc.packages.flatMap((p) => purlOf(p) ?? [])).toEqual(expect.arrayContaining([
        'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12',
        'pkg:deb/debian/passwd@1:4.13+dfsg1-1+b1?arch=arm64&distro=debian-12',
        'pkg:npm/%40babel/traverse@7.23.0',
      ]));
    });

    it('says where and by what a package was found, and its source package', () => {
      const [libssl] = byPurl(base('amd64', BASE_AMD64)[0].purl);
      expect(libssl).toMatchObject({
        name: 'libssl3', versionInfo: '3.0.11-1~deb12u2',
        sourceInfo: `found by dpkg-status@1.0.0 at /var/lib/dpkg/status (layer ${BASE_AMD64}) on linux/amd64`,
        comment: 'source package openssl 3.0.11-1~deb12u2; arch amd64; distro Debian:12',
      });
    });

    it('lists the OS once, with its pretty name', () => {
      expect(doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING_SYSTEM')).toEqual([expect.objectContaining({
        SPDXID: 'SPDXRef-OperatingSystem-debian-12', name: 'debian', versionInfo: '12', description: 'Debian GNU/Linux 12 (bookworm)',
        sourceInfo: 'detected from /etc/os-release on linux/amd64, linux/arm64/v8',
      })]);
    });
  });

  it('names no platform in the sourceInfo of a single-platform image', () => {
    expect(docOf(alpine).packages[2].sourceInfo).toBe(`found by apk-installed@1.0.0 at /lib/apk/db/installed (layer ${ALPINE})`);
  });

  describe('findings', () => {
    it('become REVIEW annotations of the image package, one per finding, secrets never in them', () => {
      const r: ScanResult = {
        ...alpine,
        images: [{
          ...alpine.images[0],
          findings: [
            { type: 'vulnerability', id: 'CVE-2025-26519', aliases: [], severity: 'high', package: alpine.images[0].packages[0].purl, fixedIn: '1.2.4-r3', message: 'musl is affected' },
            { type: 'secret', id: 'github-token', aliases: [], severity: 'high', path: 'config:Env[1]', message: 'GitHub token ghp_****(40)' },
          ],
        }],
      };
      const doc = toSpdx(r, opts) as { packages: { primaryPackagePurpose?: string; annotations?: { annotationType: string; annotator: string; annotationDate: string; comment: string }[] }[] };
      const image = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER')!;
      expect(image.annotations?.map((a) => a.comment)).toEqual([
        `vulnerability CVE-2025-26519 (high) at ${alpine.images[0].packages[0].purl}, fixed in 1.2.4-r3: musl is affected`,
        'secret github-token (high) at config:Env[1]: GitHub token ghp_****(40)',
      ]);
      for (const a of image.annotations!) {
        expect(a).toMatchObject({ annotationType: 'REVIEW', annotator: 'Tool: trustctl-0.1.0' });
        expect(a.annotationDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      }
      expect(doc.packages.filter((p) => p.annotations)).toHaveLength(1);
    });
  });

  describe('namespace and purity', () => {
    it('keeps a given namespace', () => {
      expect(docOf(alpine, { ...opts, namespace: 'https://example.com/sbom/alpine-1' }).documentNamespace).toBe('https://example.com/sbom/alpine-1');
    });

    it('makes a new namespace for every document', () => {
      expect(docOf(alpine).documentNamespace).not.toBe(docOf(alpine).documentNamespace);
    });

    it.each([['relative', 'sbom/alpine'], ['with a fragment', 'https://example.com/sbom#alpine'], ['empty', '']])('rejects a namespace that is %s', (_n, namespace) => {
      expect(() => toSpdx(alpine, { ...opts, namespace })).toThrow(RangeError);
    });

    it('is deterministic given namespace and time, and leaves its input alone', () => {
      const before = structuredClone(multiPlatform);
      const o = { ...opts, namespace: 'https://example.com/sbom/app-1' };
      expect(toSpdx(multiPlatform, o)).toEqual(toSpdx(multiPlatform, o));
      expect(multiPlatform).toEqual(before);
    });
  });

  // The check above is only worth something if it rejects what the schema and the spec forbid: each
  // spoilt document must fail for the rule named, not for some other reason.
  describe('the SPDX 2.3 validation is real', () => {
    it.each<[string, (d: Doc) => void, RegExp]>([
      // The spelling this exporter wrote before issue 14: clause 7.24's text, not the 2.3 schema's enum.
      ['the primary package purpose OPERATING-SYSTEM', (d) => { d.packages[1].primaryPackagePurpose = 'OPERATING-SYSTEM'; }, /^schema: \/packages\/1\/primaryPackagePurpose must be equal to one of the allowed values .*"OPERATING_SYSTEM".*\(got "OPERATING-SYSTEM"\)$/],
      ['the reference category PACKAGE_MANAGER', (d) => { d.packages[2].externalRefs![0].referenceCategory = 'PACKAGE_MANAGER'; }, /^schema: \/packages\/2\/externalRefs\/0\/referenceCategory must be equal to one of the allowed values/],
      ['an unknown relationship type', (d) => { d.relationships[1].relationshipType = 'HAS'; }, /^schema: \/relationships\/1\/relationshipType must be equal to one of the allowed values/],
      ['an unknown checksum algorithm', (d) => { d.packages[0].checksums![0].algorithm = 'SHA-256'; }, /^schema: \/packages\/0\/checksums\/0\/algorithm must be equal to one of the allowed values/],
      ['a package without downloadLocation', (d) => { delete (d.packages[1] as Partial<SpdxPackage>).downloadLocation; }, /^schema: \/packages\/1 must have required property 'downloadLocation'/],
      ['a misspelt package field', (d) => { (d.packages[1] as unknown as Record<string, unknown>).versioninfo = '1'; }, /^schema: \/packages\/1 must NOT have additional properties \{"additionalProperty":"versioninfo"\}/],
      ['a non-boolean filesAnalyzed', (d) => { (d.packages[1] as unknown as Record<string, unknown>).filesAnalyzed = 'false'; }, /^schema: \/packages\/1\/filesAnalyzed must be boolean/],
      ['an SPDXID with "_"', (d) => { d.packages[1].SPDXID = 'SPDXRef-typing_extensions'; }, /^spec §7\.2: packages\[1\]\.SPDXID must be SPDXRef-/],
      ['two packages with one SPDXID', (d) => { d.packages[2].SPDXID = d.packages[1].SPDXID; }, /^spec §3\.2: packages\[2\]\.SPDXID .* is not unique/],
      ['a relationship to an element that is not there', (d) => { d.relationships[1].relatedSpdxElement = 'SPDXRef-Nowhere'; }, /^spec §11\.1: relationships\[1\]\.relatedSpdxElement "SPDXRef-Nowhere" is no element/],
      ['no DESCRIBES relationship', (d) => { d.relationships = d.relationships.filter((r) => r.relationshipType !== 'DESCRIBES'); }, /^spec §11\.1: the document DESCRIBES no element$/],
      ['a creation time with milliseconds', (d) => { d.creationInfo.created = '2026-11-29T10:11:12.345Z'; }, /^spec §6\.9: creationInfo\.created/],
      ['a namespace with a fragment', (d) => { d.documentNamespace = 'https://example.com/sbom#1'; }, /^spec §6\.5: documentNamespace/],
      ['a creator without a type', (d) => { d.creationInfo.creators = ['trustctl-0.1.0']; }, /^spec §6\.8: creationInfo\.creators\[0\]/],
      ['a checksum in upper case', (d) => { d.packages[0].checksums![0].checksumValue = d.packages[0].checksums![0].checksumValue.toUpperCase(); }, /^spec §7\.10: packages\[0\]\.checksums\[0\] must be 64 lower-case hex digits/],
      ['a purl locator with a space', (d) => { d.packages[2].externalRefs![0].referenceLocator = 'pkg:npm/a b@1'; }, /^spec §7\.21: packages\[2\]\.externalRefs\[0\]\.referenceLocator must be a string without spaces/],
      ['a purl locator that is no purl', (d) => { d.packages[2].externalRefs![0].referenceLocator = 'npm/ms@2.1.3'; }, /^spec Annex F: packages\[2\]\.externalRefs\[0\]\.referenceLocator is no valid purl/],
      ['analysed files without a verification code', (d) => { d.packages[1].filesAnalyzed = true; }, /^spec §7\.9: packages\[1\] analysed files/],
      ['another spdxVersion', (d) => { d.spdxVersion = 'SPDX-2.2'; }, /^spec §6\.1: spdxVersion must be "SPDX-2\.3"/],
    ])('rejects %s', (_n, spoil, rule) => {
      const doc = docOf(multiPlatform);
      expect(validateSpdx23(doc)).toEqual([]);
      spoil(doc);
      expect(validateSpdx23(doc)).toEqual(expect.arrayContaining([expect.stringMatching(rule)]));
    });
  });
});
