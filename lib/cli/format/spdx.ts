import { createHash, randomUUID } from 'node:crypto';
import type { ScanResult } from '../../engine/scan-image';
import { sbomOperatingSystems, sbomPackages, type SbomOptions } from './cyclonedx';

/** SPDX identifiers allow letters, digits, `.` and `-` only (SPDX 2.3 §7.2: `SPDXRef-[idstring]`). */
function spdxId(base: string, used: Set<string>): string {
  const clean = base.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'Package';
  let id = `SPDXRef-${clean}`;
  for (let i = 1; used.has(id); i++) id = `SPDXRef-${clean}-${i}`;
  used.add(id);
  return id;
}

/**
 * The inventory as an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/): the image is a
 * package with `primaryPackagePurpose: CONTAINER` that the document DESCRIBES and that CONTAINS every
 * package; each package carries its purl as a PACKAGE-MANAGER external reference and its locations in
 * `sourceInfo`. Licences are not inventoried yet: NOASSERTION, as the spec asks when nothing was concluded.
 */
export function toSpdx(r: ScanResult, opts: SbomOptions): Record<string, unknown> {
  const used = new Set<string>(['SPDXRef-DOCUMENT']);
  const imageId = spdxId(`Image-${r.digest.replace(':', '-')}`, used);
  const noAssertion = { downloadLocation: 'NOASSERTION', filesAnalyzed: false, licenseConcluded: 'NOASSERTION', licenseDeclared: 'NOASSERTION', copyrightText: 'NOASSERTION' };
  const [algorithm, hex] = r.digest.split(':');
  const image = {
    SPDXID: imageId,
    name: r.ref,
    versionInfo: r.digest,
    primaryPackagePurpose: 'CONTAINER',
    ...noAssertion,
    ...(algorithm === 'sha256' && hex ? { checksums: [{ algorithm: 'SHA256', checksumValue: hex }] } : {}),
  };
  const osPackages = sbomOperatingSystems(r).map((os) => ({
    SPDXID: spdxId(`OperatingSystem-${os.id}-${os.versionId}`, used),
    name: os.id,
    versionInfo: os.versionId,
    primaryPackagePurpose: 'OPERATING-SYSTEM',
    ...(os.prettyName ? { description: os.prettyName } : {}),
    ...noAssertion,
  }));
  const packages = sbomPackages(r).map((s) => ({
    SPDXID: spdxId(`Package-${s.pkg.ecosystem}-${s.pkg.name}-${s.pkg.version}`, used),
    name: s.pkg.name,
    versionInfo: s.pkg.version,
    primaryPackagePurpose: 'LIBRARY',
    ...noAssertion,
    ...(s.pkg.sourceName !== undefined ? { comment: `source package ${s.pkg.sourceName} ${s.pkg.sourceVersion ?? ''}`.trim() } : {}),
    sourceInfo: `found by ${s.pkg.cataloger.name}@${s.pkg.cataloger.version} at ${s.pkg.locations.map((l) => `${l.path} (layer ${l.layer})`).join(', ')}` +
      (r.images.length > 1 ? ` on ${s.platforms.join(', ')}` : ''),
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: s.pkg.purl }],
  }));
  const contained = [...osPackages, ...packages];
  const name = `trustctl-${r.ref}`;
  const created = (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: opts.id ?? `https://trustctl.dev/spdx/${createHash('sha256').update(r.digest).digest('hex').slice(0, 16)}-${randomUUID()}`,
    creationInfo: { created, creators: [`Tool: trustctl-${opts.toolVersion}`] },
    packages: [image, ...contained],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...contained.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}
