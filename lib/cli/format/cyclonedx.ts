import { randomUUID } from 'node:crypto';
import type { Package } from '../../engine/model';
import type { ImageScan, ScanResult } from '../../engine/scan-image';

/** Options of {@link toCycloneDx}. */
export interface SbomOptions {
  /** trustctl's version, recorded as the tool that made the document. */
  readonly toolVersion: string;
  /** Creation time (default: now). */
  readonly now?: Date;
  /** `urn:uuid:…` serial number (CycloneDX) or document namespace (SPDX); default: a random one. */
  readonly id?: string;
}

/** One package once, with every platform it was found on (several images of an index share most packages). */
export interface SbomPackage {
  readonly pkg: Package;
  readonly platforms: readonly string[];
}

/** The packages of every platform image, deduplicated by purl and locations, in first-seen order. */
export function sbomPackages(r: ScanResult): SbomPackage[] {
  const byKey = new Map<string, { pkg: Package; platforms: string[] }>();
  for (const img of r.images) {
    for (const p of img.packages) {
      const key = `${p.purl}\0${p.locations.map((l) => `${l.layer}:${l.path}`).join(',')}`;
      const seen = byKey.get(key);
      if (seen) seen.platforms.push(img.platform);
      else byKey.set(key, { pkg: p, platforms: [img.platform] });
    }
  }
  return [...byKey.values()];
}

/** The detected operating systems, one per distinct release. */
export function sbomOperatingSystems(r: ScanResult): NonNullable<ImageScan['os']>[] {
  const out = new Map<string, NonNullable<ImageScan['os']>>();
  for (const img of r.images) if (img.os) out.set(`${img.os.id}@${img.os.versionId}`, img.os);
  return [...out.values()];
}

/** Properties in the `trustctl:` namespace (CycloneDX property taxonomy: namespaced names). */
function properties(s: SbomPackage, multiPlatform: boolean): { name: string; value: string }[] {
  const p = s.pkg;
  const props: { name: string; value: string }[] = [];
  p.locations.forEach((l, i) => {
    props.push({ name: `trustctl:location:${i}:layer`, value: l.layer });
    props.push({ name: `trustctl:location:${i}:path`, value: l.path });
  });
  props.push({ name: 'trustctl:cataloger', value: `${p.cataloger.name}@${p.cataloger.version}` });
  props.push({ name: 'trustctl:ecosystem', value: p.ecosystem });
  if (p.sourceName !== undefined) props.push({ name: 'trustctl:sourceName', value: p.sourceName });
  if (p.sourceVersion !== undefined) props.push({ name: 'trustctl:sourceVersion', value: p.sourceVersion });
  if (p.distro !== undefined) props.push({ name: 'trustctl:distro', value: p.distro });
  if (multiPlatform) for (const pl of s.platforms) props.push({ name: 'trustctl:platform', value: pl });
  return props;
}

/**
 * The inventory as a CycloneDX 1.5 JSON BOM (https://cyclonedx.org/docs/1.5/json/): the image is
 * `metadata.component` (type `container`), each detected OS an `operating-system` component, each
 * package a `library` with its purl; where it was found, which cataloger found it and its source
 * package go in `trustctl:` properties. `dependencies` says the image contains every component.
 */
export function toCycloneDx(r: ScanResult, opts: SbomOptions): Record<string, unknown> {
  const multi = r.images.length > 1;
  const imageRef = `image:${r.digest}`;
  const used = new Set<string>([imageRef]);
  const ref = (base: string): string => {
    let k = base;
    for (let i = 1; used.has(k); i++) k = `${base}#${i}`;
    used.add(k);
    return k;
  };
  const osComponents = sbomOperatingSystems(r).map((os) => ({
    'bom-ref': ref(`os:${os.id}@${os.versionId}`),
    type: 'operating-system',
    name: os.id,
    version: os.versionId,
    ...(os.prettyName ? { description: os.prettyName } : {}),
  }));
  const components = sbomPackages(r).map((s) => ({
    'bom-ref': ref(s.pkg.purl),
    type: 'library',
    name: s.pkg.name,
    version: s.pkg.version,
    purl: s.pkg.purl,
    properties: properties(s, multi),
  }));
  const all = [...osComponents, ...components];
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: opts.id ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: (opts.now ?? new Date()).toISOString(),
      tools: { components: [{ type: 'application', name: 'trustctl', version: opts.toolVersion }] },
      component: {
        'bom-ref': imageRef,
        type: 'container',
        name: r.ref,
        version: r.digest,
        ...(multi ? {} : { properties: [{ name: 'trustctl:platform', value: r.images[0]?.platform ?? 'unknown' }] }),
      },
    },
    components: all,
    dependencies: [{ ref: imageRef, dependsOn: all.map((c) => c['bom-ref']) }, ...all.map((c) => ({ ref: c['bom-ref'] }))],
  };
}
