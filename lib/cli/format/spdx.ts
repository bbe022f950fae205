import { randomUUID } from 'node:crypto';
import type { ScanResult } from '../../engine/scan-image';
import { sbomOperatingSystems, sbomPackages, uniqueIds, type SbomPackage } from './cyclonedx';

/** Options of {@link toSpdx}. */
export interface SpdxOptions {
  /** trustctl's version, recorded as the creator `Tool: trustctl-<version>`. */
  readonly toolVersion: string;
  /** `creationInfo.created` (default: now). */
  readonly now?: Date;
  /** `documentNamespace`: an absolute URI without `#` (default: a unique one under https://spdx.org/spdxdocs/). */
  readonly namespace?: string;
}

/**
 * The idstring of `SPDXRef-<idstring>`, which may hold letters, digits, `.` and `-` only
 * (https://spdx.github.io/spdx-spec/v2.3/package-information/#72-package-spdx-identifier-field):
 * other characters become `-`, runs of `-` one, and it is cut to 80 characters. Different inputs may
 * give the same idstring; uniqueness is the caller's ({@link uniqueIds}).
 */
export function spdxIdString(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '').slice(0, 80).replace(/-+$/, '') || 'Package';
}

/** The fields SPDX 2.3 asks for when nothing is known: no download location, no licences, no copyright. */
const NO_ASSERTION = {
  downloadLocation: 'NOASSERTION',
  filesAnalyzed: false,
  licenseConcluded: 'NOASSERTION',
  licenseDeclared: 'NOASSERTION',
  copyrightText: 'NOASSERTION',
} as const;

/** SPDX checksum algorithm names of the digest algorithms an image digest may use. */
const CHECKSUM_ALG: Record<string, string> = { sha256: 'SHA256', sha512: 'SHA512' };

/** "found by dpkg-db@1.0.0 at /var/lib/dpkg/status (layer sha256:…)[ on linux/amd64, linux/arm64]". */
function sourceInfo(s: SbomPackage, multiPlatform: boolean): string {
  const p = s.pkg;
  const at = p.locations.map((l) => `${l.path} (layer ${l.layer})`).join(', ');
  return `found by ${p.cataloger.name}@${p.cataloger.version}${at ? ` at ${at}` : ''}${multiPlatform ? ` on ${s.platforms.join(', ')}` : ''}`;
}

/** "source package openssl 3.0.11-1~deb12u2; arch amd64; distro Debian:12", or nothing. */
function packageComment(s: SbomPackage): string | undefined {
  const p = s.pkg;
  const parts: string[] = [];
  if (p.sourceName !== undefined) parts.push(`source package ${p.sourceName}${p.sourceVersion !== undefined ? ` ${p.sourceVersion}` : ''}`);
  else if (p.sourceVersion !== undefined) parts.push(`source version ${p.sourceVersion}`);
  if (p.arch !== undefined) parts.push(`arch ${p.arch}`);
  if (p.distro !== undefined) parts.push(`distro ${p.distro}`);
  return parts.length ? parts.join('; ') : undefined;
}

/**
 * The scan result as an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/).
 *
 * - Document creation information (§6): `SPDX-2.3`, data licence `CC0-1.0`, `SPDXRef-DOCUMENT`, the
 *   scanned reference as name, a unique namespace, creation time to the second and the creator
 *   `Tool: trustctl-<version>`.
 * - Packages (§7): the image first — name = reference, version = digest (also its checksum),
 *   `primaryPackagePurpose: CONTAINER` — then each detected distribution (`OPERATING_SYSTEM`, the 2.3 JSON schema's spelling) and each
 *   package (`LIBRARY`) once (see {@link sbomPackages}), with its purl as a `PACKAGE-MANAGER`
 *   external reference, where it was found in `sourceInfo` and its source package, architecture and
 *   distribution release in `comment`. Nothing was downloaded, no file analysed and no licence
 *   concluded: NOASSERTION and `filesAnalyzed: false`, as §7.7–7.17 ask when nothing is known.
 * - SPDX identifiers use only letters, digits, `.` and `-` and are unique within the document.
 * - Relationships (§11): the document DESCRIBES the image; the image CONTAINS every other package.
 *
 * Pure apart from the defaults: the namespace holds a random UUID and the creation time is the
 * current time unless `opts` gives them.
 *
 * @throws RangeError when `opts.namespace` is not an absolute URI or holds a `#` (§6.5).
 */
export function toSpdx(result: ScanResult, opts: SpdxOptions): Record<string, unknown> {
  const namespace = opts.namespace ?? `https://spdx.org/spdxdocs/trustctl-${spdxIdString(result.ref)}-${randomUUID()}`;
  if (!URL.canParse(namespace) || namespace.includes('#')) throw new RangeError(`SPDX documentNamespace must be an absolute URI without '#', got ${JSON.stringify(namespace)}`);
  const multi = result.images.length > 1;
  const id = uniqueIds('-', ['SPDXRef-DOCUMENT']);
  const spdxId = (base: string) => id(`SPDXRef-${spdxIdString(base)}`);
  const [alg, hex] = result.digest.split(':');

  // https://spdx.github.io/spdx-spec/v2.3/package-information/#724-primary-package-purpose-field
  const image = {
    SPDXID: spdxId(`Image-${result.digest}`),
    name: result.ref,
    versionInfo: result.digest,
    primaryPackagePurpose: 'CONTAINER',
    ...NO_ASSERTION,
    ...(CHECKSUM_ALG[alg] && hex ? { checksums: [{ algorithm: CHECKSUM_ALG[alg], checksumValue: hex }] } : {}),
    comment: `media type ${result.mediaType}; platforms ${result.images.map((i) => i.platform).join(', ') || 'none'}`,
  };

  // OPERATING_SYSTEM, as the SPDX 2.3 JSON schema's enum spells it (spdx/spdx-spec schemas/spdx-schema-2-3.json;
  // a JSON document must pass it), although clause 7.24's text writes OPERATING-SYSTEM — the spelling the
  // unreleased 2.3.1 schema adopts. Our output says SPDX-2.3, so the 2.3 schema decides (issue 14).
  const osPackages = sbomOperatingSystems(result).map(({ os, platforms }) => ({
    SPDXID: spdxId(`OperatingSystem-${os.id}-${os.versionId}`),
    name: os.id,
    ...(os.versionId ? { versionInfo: os.versionId } : {}),
    primaryPackagePurpose: 'OPERATING_SYSTEM',
    ...(os.prettyName ? { description: os.prettyName } : {}),
    ...NO_ASSERTION,
    sourceInfo: `detected from ${os.source}${multi ? ` on ${platforms.join(', ')}` : ''}`,
  }));

  const entries = sbomPackages(result);
  const packages = entries.map((s) => {
    const comment = packageComment(s);
    return {
      SPDXID: spdxId(`Package-${s.pkg.ecosystem}-${s.pkg.name}-${s.pkg.version}`),
      name: s.pkg.name,
      versionInfo: s.pkg.version,
      primaryPackagePurpose: 'LIBRARY',
      ...NO_ASSERTION,
      sourceInfo: sourceInfo(s, multi),
      ...(comment ? { comment } : {}),
      // https://spdx.github.io/spdx-spec/v2.3/external-repository-identifiers/ (PACKAGE-MANAGER, purl)
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: s.pkg.purl }],
    };
  });

  const contained = [...osPackages, ...packages];
  const annotations = spdxAnnotations(result, opts);
  if (annotations.length > 0) (image as Record<string, unknown>).annotations = annotations;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: result.ref,
    documentNamespace: namespace,
    // https://spdx.github.io/spdx-spec/v2.3/document-creation-information/#69-created-field: YYYY-MM-DDThh:mm:ssZ
    creationInfo: {
      created: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: trustctl-${opts.toolVersion}`],
    },
    packages: [image, ...contained],
    // https://spdx.github.io/spdx-spec/v2.3/relationships-between-SPDX-elements/
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID },
      ...contained.map((p) => ({ spdxElementId: image.SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
      ...ownerRelationships(entries, packages.map((p) => p.SPDXID)),
    ],
  };
}

/**
 * A language package an OS package installed (`Package.ownedBy`, catalog/owners.ts): the OS package
 * CONTAINS it (https://spdx.github.io/spdx-spec/v2.3/relationships-between-SPDX-elements/, "Is to be used
 * when SPDXRef-A contains SPDXRef-B"), from every entry of the owner's purl. `ids[i]` is `entries[i]`'s SPDXID.
 */
function ownerRelationships(entries: readonly SbomPackage[], ids: readonly string[]): Record<string, string>[] {
  const byPurl = new Map<string, string[]>();
  entries.forEach((s, i) => byPurl.set(s.pkg.purl, [...(byPurl.get(s.pkg.purl) ?? []), ids[i]]));
  return entries.flatMap((s, i) => (s.pkg.ownedBy ? byPurl.get(s.pkg.ownedBy.purl) ?? [] : [])
    .map((owner) => ({ spdxElementId: owner, relationshipType: 'CONTAINS', relatedSpdxElement: ids[i] })));
}

/**
 * Findings as SPDX 2.3 annotations of the image package (https://spdx.github.io/spdx-spec/v2.3/annotations/):
 * SPDX has no vulnerability model in 2.3, so each finding is a `REVIEW` annotation by the tool whose
 * comment carries its type, id, severity, package or path, and message. Unscannable findings included:
 * a reader of the SBOM must see that it is incomplete.
 */
function spdxAnnotations(result: ScanResult, opts: { toolVersion: string; now?: Date }): Record<string, string>[] {
  const date = (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const seen = new Set<string>();
  const out: Record<string, string>[] = [];
  for (const img of result.images) {
    for (const f of img.findings) {
      const where = f.package ?? f.path ?? '';
      const comment = `${f.type} ${f.id} (${f.severity})${where ? ` at ${where}` : ''}${f.fixedIn ? `, fixed in ${f.fixedIn}` : ''}: ${f.message}`;
      if (seen.has(comment)) continue;
      seen.add(comment);
      out.push({ annotationDate: date, annotationType: 'REVIEW', annotator: `Tool: trustctl-${opts.toolVersion}`, comment });
    }
  }
  return out;
}
