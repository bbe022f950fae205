import { randomUUID } from 'node:crypto';
import type { Finding, Package } from '../../engine/model';
import type { ImageScan, ScanResult } from '../../engine/scan-image';

/** Options of {@link toCycloneDx}. */
export interface CycloneDxOptions {
  /** trustctl's version, recorded as the tool that made the BOM (`metadata.tools.components`). */
  readonly toolVersion: string;
  /** `metadata.timestamp` (default: now). */
  readonly now?: Date;
  /** `urn:uuid:<RFC 4122 UUID>` (default: a random one). */
  readonly serialNumber?: string;
}

/** The detected distribution of an image. */
export type SbomOs = NonNullable<ImageScan['os']>;

/** One package once, with every platform it was found on (the images of an index share most packages). */
export interface SbomPackage {
  readonly pkg: Package;
  /** Platforms in the order of `ScanResult.images`, each once. */
  readonly platforms: readonly string[];
}

/** One detected operating system once, with every platform it was detected on. */
export interface SbomOperatingSystem {
  readonly os: SbomOs;
  readonly platforms: readonly string[];
}

/**
 * The packages of every platform image, each once, in first-seen order. Two packages are the same
 * when both their purl and their locations (layer digest and path, in order) are: a package found at
 * two paths stays two entries, and a package every platform shares (same layer, same file) becomes one.
 */
export function sbomPackages(r: ScanResult): SbomPackage[] {
  const byKey = new Map<string, { pkg: Package; platforms: string[] }>();
  for (const img of r.images) {
    for (const p of img.packages) {
      const key = JSON.stringify([p.purl, p.locations.map((l) => [l.layer, l.path])]);
      const seen = byKey.get(key);
      if (!seen) byKey.set(key, { pkg: p, platforms: [img.platform] });
      else if (!seen.platforms.includes(img.platform)) seen.platforms.push(img.platform);
    }
  }
  return [...byKey.values()];
}

/** The detected operating systems, one per distinct `id` + `versionId`, in first-seen order. */
export function sbomOperatingSystems(r: ScanResult): SbomOperatingSystem[] {
  const byKey = new Map<string, { os: SbomOs; platforms: string[] }>();
  for (const img of r.images) {
    if (!img.os) continue;
    const key = JSON.stringify([img.os.id, img.os.versionId]);
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { os: img.os, platforms: [img.platform] });
    else if (!seen.platforms.includes(img.platform)) seen.platforms.push(img.platform);
  }
  return [...byKey.values()];
}

/**
 * Hands out identifiers that are unique within one document: the base itself when it is free,
 * else the base with the first free `<sep><n>` suffix (n = 1, 2, …).
 */
export function uniqueIds(sep: string, taken: Iterable<string> = []): (base: string) => string {
  const used = new Set(taken);
  return (base) => {
    let id = base;
    for (let i = 1; used.has(id); i++) id = `${base}${sep}${i}`;
    used.add(id);
    return id;
  };
}

/** A CycloneDX property (https://cyclonedx.org/docs/1.5/json/#components_items_properties). */
interface Property {
  readonly name: string;
  readonly value: string;
}

/** The serial number pattern of the CycloneDX 1.5 JSON schema (RFC 4122 URN). */
const SERIAL_NUMBER = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** CycloneDX hash algorithm names of the digest algorithms an image digest may use. */
const HASH_ALG: Record<string, string> = { sha256: 'SHA-256', sha512: 'SHA-512' };

/**
 * Properties of one package, in the `trustctl:` namespace (custom names are allowed next to the
 * CycloneDX property taxonomy, https://github.com/CycloneDX/cyclonedx-property-taxonomy; a name
 * may repeat, as `trustctl:platform` does).
 */
function packageProperties(s: SbomPackage, multiPlatform: boolean): Property[] {
  const p = s.pkg;
  const props: Property[] = [];
  p.locations.forEach((l, i) => {
    props.push({ name: `trustctl:location:${i}:layer`, value: l.layer });
    props.push({ name: `trustctl:location:${i}:path`, value: l.path });
  });
  props.push({ name: 'trustctl:cataloger', value: `${p.cataloger.name}@${p.cataloger.version}` });
  props.push({ name: 'trustctl:ecosystem', value: p.ecosystem });
  if (p.sourceName !== undefined) props.push({ name: 'trustctl:sourceName', value: p.sourceName });
  if (p.sourceVersion !== undefined) props.push({ name: 'trustctl:sourceVersion', value: p.sourceVersion });
  if (p.arch !== undefined) props.push({ name: 'trustctl:arch', value: p.arch });
  if (p.distro !== undefined) props.push({ name: 'trustctl:distro', value: p.distro });
  // A language package an OS package installed (catalog/owners.ts): that OS package's purl and name.
  if (p.ownedBy !== undefined) props.push({ name: 'trustctl:ownedBy', value: p.ownedBy.purl }, { name: 'trustctl:ownedByName', value: p.ownedBy.name });
  if (multiPlatform) for (const pl of s.platforms) props.push({ name: 'trustctl:platform', value: pl });
  return props;
}

/**
 * The scan result as a CycloneDX 1.5 JSON BOM (https://cyclonedx.org/docs/1.5/json/).
 *
 * - `metadata.component` is the image: type `container`, name = the reference scanned, version = the
 *   digest it resolved to (an index digest for a multi-platform image), with that digest as its hash.
 * - `metadata.tools.components` names trustctl and its version (the 1.5 form of `tools`).
 * - Each detected distribution is a component of type `operating-system`; each package is a
 *   `library` with its purl. Packages found identically on several platforms appear once (see
 *   {@link sbomPackages}).
 * - `bom-ref`s are unique: a package's is its purl, with `#<n>` appended when that purl was taken
 *   already (the same package at two paths).
 * - Where a package was found (`trustctl:location:<i>:layer|path`), which cataloger found it, its
 *   source package, architecture and distribution release, and — for a multi-platform image — the
 *   platforms it was found on go in `trustctl:` properties.
 * - `dependencies` holds one entry: the image depends on every component. Nothing is said about the
 *   packages' own dependencies, which the spec reads as "unknown" (not "none").
 *
 * Pure apart from the defaults: the serial number is random and the timestamp is the current time
 * unless `opts` gives them.
 *
 * @throws RangeError when `opts.serialNumber` is not a `urn:uuid:` URN as the schema requires.
 */
export function toCycloneDx(result: ScanResult, opts: CycloneDxOptions): Record<string, unknown> {
  const serialNumber = opts.serialNumber ?? `urn:uuid:${randomUUID()}`;
  if (!SERIAL_NUMBER.test(serialNumber)) throw new RangeError(`CycloneDX serialNumber must be urn:uuid:<lower-case UUID>, got ${JSON.stringify(serialNumber)}`);
  const multi = result.images.length > 1;
  const ref = uniqueIds('#');
  const imageRef = ref(`image:${result.digest}`);
  const [alg, hex] = result.digest.split(':');

  // https://cyclonedx.org/docs/1.5/json/#metadata_component
  const image = {
    'bom-ref': imageRef,
    type: 'container',
    name: result.ref,
    version: result.digest,
    ...(HASH_ALG[alg] && hex ? { hashes: [{ alg: HASH_ALG[alg], content: hex }] } : {}),
    properties: [
      { name: 'trustctl:mediaType', value: result.mediaType },
      ...result.images.map((i) => ({ name: 'trustctl:platform', value: i.platform })),
    ],
  };

  // https://cyclonedx.org/docs/1.5/json/#components_items_type: "operating-system"
  const osComponents = sbomOperatingSystems(result).map(({ os, platforms }) => ({
    'bom-ref': ref(`os:${os.id}@${os.versionId}`),
    type: 'operating-system',
    name: os.id,
    ...(os.versionId ? { version: os.versionId } : {}),
    ...(os.prettyName ? { description: os.prettyName } : {}),
    properties: [
      { name: 'trustctl:os:source', value: os.source },
      ...(multi ? platforms.map((pl) => ({ name: 'trustctl:platform', value: pl })) : []),
    ],
  }));

  // https://cyclonedx.org/docs/1.5/json/#components
  const packageComponents = sbomPackages(result).map((s) => ({
    'bom-ref': ref(s.pkg.purl),
    type: 'library',
    name: s.pkg.name,
    version: s.pkg.version,
    purl: s.pkg.purl,
    properties: packageProperties(s, multi),
  }));

  const components = [...osComponents, ...packageComponents];
  const vulnerabilities = cyclonedxFindings(result, imageRef, new Map(packageComponents.map((c) => [c.purl, c['bom-ref']])));
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber,
    version: 1,
    metadata: {
      timestamp: (opts.now ?? new Date()).toISOString(),
      tools: { components: [{ type: 'application', name: 'trustctl', version: opts.toolVersion }] },
      component: image,
    },
    components,
    // https://cyclonedx.org/docs/1.5/json/#dependencies
    dependencies: [{ ref: imageRef, dependsOn: components.map((c) => c['bom-ref']) }],
    ...(vulnerabilities.length > 0 ? { vulnerabilities } : {}),
  };
}

/** CycloneDX severities (https://cyclonedx.org/docs/1.5/json/#vulnerabilities_items_ratings_items_severity). */
const CDX_SEVERITY: Record<Finding['severity'], string> = { critical: 'critical', high: 'high', medium: 'medium', low: 'low', unknown: 'unknown' };

/**
 * Every finding as a CycloneDX `vulnerabilities[]` entry (https://cyclonedx.org/docs/1.5/json/#vulnerabilities):
 * vulnerabilities affect their package's component; malware, secrets, misconfigurations and base-image
 * findings — which CycloneDX has no other place for — affect the image, with their type, path and
 * layer as `trustctl:` properties. Unscannable findings are not vulnerabilities and are left out.
 */
function cyclonedxFindings(result: ScanResult, imageRef: string, byPurl: Map<string, string>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (const img of result.images) {
    for (const f of img.findings) {
      if (f.type === 'unscannable') continue;
      const key = `${f.type}\0${f.id}\0${f.package ?? ''}\0${f.path ?? ''}\0${f.layer ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const score = (f as Finding & { score?: number }).score;
      const fixed = f.fixedIn;
      out.push({
        id: f.id,
        ...(f.type === 'vulnerability' ? { source: { name: 'OSV', url: `https://osv.dev/vulnerability/${encodeURIComponent(f.id)}` } } : { source: { name: 'trustctl' } }),
        ...(f.aliases.length ? { references: f.aliases.map((a) => ({ id: a, source: { name: 'OSV', url: `https://osv.dev/vulnerability/${encodeURIComponent(a)}` } })) } : {}),
        ratings: [{ severity: CDX_SEVERITY[f.severity], ...(score !== undefined ? { score } : {}) }],
        description: f.message,
        ...(fixed ? { recommendation: `upgrade to ${fixed}` } : {}),
        affects: [{ ref: (f.package && byPurl.get(f.package)) ?? imageRef }],
        properties: [
          { name: 'trustctl:type', value: f.type },
          ...(f.path ? [{ name: 'trustctl:path', value: f.path }] : []),
          ...(f.layer ? [{ name: 'trustctl:layer', value: f.layer }] : []),
        ],
      });
    }
  }
  return out;
}
