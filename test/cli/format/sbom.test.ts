import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { toCycloneDx } from '../../../lib/cli/format/cyclonedx';
import { toSpdx } from '../../../lib/cli/format/spdx';
import type { Digest, Package } from '../../../lib/engine/model';
import type { ImageScan, ScanResult } from '../../../lib/engine/scan-image';

const L1 = `sha256:${'1'.repeat(64)}` as Digest;
const L2 = `sha256:${'2'.repeat(64)}` as Digest;
const pkg = (over: Partial<Package> & Pick<Package, 'ecosystem' | 'name' | 'version' | 'purl'>): Package => ({
  locations: [{ layer: L1, path: '/var/lib/dpkg/status' }], cataloger: { name: 'dpkg-db', version: '1.0.0' }, ...over,
});
const packages: Package[] = [
  pkg({ ecosystem: 'Debian', name: 'libssl3', version: '3.0.11-1~deb12u2', purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', sourceName: 'openssl', sourceVersion: '3.0.11-1~deb12u2', distro: 'Debian:12', arch: 'amd64' }),
  pkg({ ecosystem: 'npm', name: '@babel/traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/traverse@7.23.0', locations: [{ layer: L2, path: '/app/package-lock.json' }], cataloger: { name: 'npm-lock', version: '1.0.0' } }),
  // The same purl at two places: two components, distinct refs.
  pkg({ ecosystem: 'npm', name: 'ms', version: '2.1.3', purl: 'pkg:npm/ms@2.1.3', locations: [{ layer: L2, path: '/app/node_modules/ms/package.json' }] }),
  pkg({ ecosystem: 'npm', name: 'ms', version: '2.1.3', purl: 'pkg:npm/ms@2.1.3', locations: [{ layer: L2, path: '/app/node_modules/debug/node_modules/ms/package.json' }] }),
  pkg({ ecosystem: 'Go', name: 'github.com/google/uuid', version: 'v1.6.0', purl: 'pkg:golang/github.com/google/uuid@v1.6.0', locations: [{ layer: L2, path: '/usr/bin/app' }] }),
];
const image = (platform: string, pkgs: Package[]): ImageScan => ({
  platform, manifestDigest: L1, configDigest: L2, os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', source: '/etc/os-release' },
  packages: pkgs, unknowns: [], layers: [], findings: [], verdict: { status: 'trusted', reasons: [] },
});
const result = (images: ImageScan[]): ScanResult => ({
  ref: 'registry.example/team/app:1.0', digest: `sha256:${'a'.repeat(64)}` as Digest, mediaType: 'application/vnd.oci.image.index.v1+json',
  isIndex: images.length > 1, images, verdict: { status: 'trusted', reasons: [] },
});
const cases: [string, ScanResult][] = [
  ['one platform', result([image('linux/amd64', packages)])],
  ['two platforms sharing most packages', result([image('linux/amd64', packages), image('linux/arm64', packages.slice(0, 3))])],
  ['no packages', result([image('linux/amd64', [])])],
];
const opts = { toolVersion: '0.1.0', now: new Date('2026-11-29T00:00:00.123Z') };

/** The official CycloneDX 1.5 schema, as @cyclonedx/cyclonedx-library ships it (with the schemas it references). */
function cyclonedxValidator() {
  const dir = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
  const load = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // IRIs (RFC 3987) are a superset of URIs that ajv-formats does not ship; any string passes, as in CycloneDX's own validator.
  ajv.addFormat('iri-reference', true);
  ajv.addFormat('idn-email', true);
  // The library's copies refer to each other by their file names; register them under those.
  for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
    const { $id: _id, ...schema } = load(f);
    ajv.addSchema(schema, `http://cyclonedx.org/schema/${f}`);
  }
  return ajv.compile(load('bom-1.5.SNAPSHOT.schema.json'));
}

describe('CycloneDX 1.5 export', () => {
  const validate = cyclonedxValidator();
  it.each(cases)('%s: valid against the official schema', (_n, r) => {
    const bom = toCycloneDx(r, opts);
    expect(validate(bom) ? [] : validate.errors).toEqual([]);
  });

  it('the validator is real: a component of an unknown type is rejected', () => {
    const bom = toCycloneDx(cases[0][1], opts) as { components: { type: string }[] };
    bom.components[0].type = 'gadget';
    expect(validate(bom)).toBe(false);
  });

  it('lists every package once per place, with unique refs, purls and locations kept', () => {
    const bom = toCycloneDx(cases[1][1], opts) as { components: { 'bom-ref': string; type: string; purl?: string; properties?: { name: string; value: string }[] }[]; dependencies: { ref: string; dependsOn?: string[] }[]; metadata: { component: { 'bom-ref': string; type: string } } };
    const libs = bom.components.filter((c) => c.type === 'library');
    expect(libs.map((c) => c.purl)).toEqual(packages.map((p) => p.purl));
    const refs = bom.components.map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(refs.length);
    expect(bom.components.filter((c) => c.type === 'operating-system')).toHaveLength(1);
    expect(bom.metadata.component.type).toBe('container');
    expect(bom.dependencies[0]).toEqual({ ref: bom.metadata.component['bom-ref'], dependsOn: refs });
    const props = Object.fromEntries(libs[0].properties!.map((p) => [p.name, p.value]));
    expect(props).toMatchObject({ 'trustctl:location:0:path': '/var/lib/dpkg/status', 'trustctl:sourceName': 'openssl', 'trustctl:distro': 'Debian:12' });
    // Found on both platforms vs only on amd64.
    expect(libs[0].properties!.filter((p) => p.name === 'trustctl:platform').map((p) => p.value)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(libs[4].properties!.filter((p) => p.name === 'trustctl:platform').map((p) => p.value)).toEqual(['linux/amd64']);
  });
});

/**
 * SPDX 2.3: the spec's JSON schema is not published on the npm registry (the only network here), so
 * the document is checked against the spec's own rules field by field (SPDX 2.3 §6 document creation,
 * §7 package information, §11 relationships).
 */
describe('SPDX 2.3 export', () => {
  type Doc = {
    spdxVersion: string; dataLicense: string; SPDXID: string; name: string; documentNamespace: string;
    creationInfo: { created: string; creators: string[] };
    packages: { SPDXID: string; name: string; versionInfo?: string; downloadLocation: string; filesAnalyzed: boolean; primaryPackagePurpose?: string; externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[] }[];
    relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  };
  it.each(cases)('%s: required fields, identifiers and relationships per the spec', (_n, r) => {
    const doc = toSpdx(r, opts) as Doc;
    expect(doc).toMatchObject({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT' });
    expect(doc.name.length).toBeGreaterThan(0);
    expect(new URL(doc.documentNamespace).protocol).toBe('https:');
    expect(doc.documentNamespace).not.toContain('#');
    expect(doc.creationInfo.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(doc.creationInfo.creators).toEqual(['Tool: trustctl-0.1.0']);
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of doc.packages) {
      expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
      expect(p.downloadLocation).toBe('NOASSERTION');
      expect(typeof p.filesAnalyzed).toBe('boolean');
    }
    const image = doc.packages.find((p) => p.primaryPackagePurpose === 'CONTAINER')!;
    expect(doc.relationships).toContainEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID });
    const contained = doc.relationships.filter((x) => x.relationshipType === 'CONTAINS').map((x) => x.relatedSpdxElement);
    expect(contained.sort()).toEqual(ids.filter((i) => i !== image.SPDXID).sort());
    const purls = doc.packages.flatMap((p) => p.externalRefs ?? []).map((e) => e.referenceLocator);
    expect(purls).toEqual(r.images.length ? [...new Set(r.images.flatMap((i) => i.packages).map((p) => `${p.purl}@${p.locations[0].path}`))].map((k) => k.slice(0, k.lastIndexOf('@/'))) : []);
  });
});
