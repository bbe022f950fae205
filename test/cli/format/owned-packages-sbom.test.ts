/**
 * A language package an OS package installed (Package.ownedBy, catalog/owners.ts) keeps its place in
 * the SBOMs with the relation: SPDX 2.3 `<OS package> CONTAINS <language package>`
 * (https://spdx.github.io/spdx-spec/v2.3/relationships-between-SPDX-elements/), CycloneDX 1.5
 * `trustctl:ownedBy` / `trustctl:ownedByName` properties on the component.
 */
import { toCycloneDx } from '../../../lib/cli/format/cyclonedx';
import { toSpdx } from '../../../lib/cli/format/spdx';
import type { ScanResult } from '../../../lib/engine/scan-image';
import { BASE_AMD64, deb, layer, pypi } from './fixtures';

const flaskDeb = deb('python3-flask', '2.2.2-3', 'all', BASE_AMD64, ['flask', '2.2.2-3']);
const flask = { ...pypi('Flask', '2.2.2'), ownedBy: { purl: flaskDeb.purl, name: 'python3-flask' } };
const requests = pypi('requests', '2.31.0');
const digest = layer('image manifest');
const result: ScanResult = {
  ref: 'registry.example/app:1', digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', isIndex: false,
  verdict: { status: 'trusted', reasons: [] },
  images: [{
    platform: 'linux/amd64', manifestDigest: digest, configDigest: digest, layers: [],
    packages: [flaskDeb, flask, requests], unknowns: [], findings: [], verdict: { status: 'trusted', reasons: [] },
  }],
};

type SpdxDoc = { packages: { SPDXID: string; name: string }[]; relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] };
type Bom = { components: { name: string; properties?: { name: string; value: string }[] }[] };

describe('SBOMs carry which OS package installed a language package', () => {
  test('SPDX: the OS package CONTAINS its language package; an unowned one has no such relationship', () => {
    const doc = toSpdx(result, { toolVersion: 'test', now: new Date(0), namespace: 'https://example.com/spdx/x' }) as unknown as SpdxDoc;
    const id = (name: string) => doc.packages.find((p) => p.name === name)!.SPDXID;
    const contains = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS' && r.spdxElementId !== doc.packages[0].SPDXID);
    expect(contains).toEqual([{ spdxElementId: id('python3-flask'), relationshipType: 'CONTAINS', relatedSpdxElement: id('Flask') }]);
    // Still in the image, as every package.
    expect(doc.relationships).toContainEqual({ spdxElementId: doc.packages[0].SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: id('Flask') });
  });

  test('CycloneDX: ownedBy properties on the owned component only', () => {
    const bom = toCycloneDx(result, { toolVersion: 'test', now: new Date(0), serialNumber: 'urn:uuid:00000000-0000-4000-8000-000000000000' }) as unknown as Bom;
    const props = (name: string) => (bom.components.find((c) => c.name === name)!.properties ?? []).filter((p) => p.name.startsWith('trustctl:ownedBy'));
    expect(props('Flask')).toEqual([{ name: 'trustctl:ownedBy', value: flaskDeb.purl }, { name: 'trustctl:ownedByName', value: 'python3-flask' }]);
    expect(props('requests')).toEqual([]);
    expect(props('python3-flask')).toEqual([]);
  });
});
