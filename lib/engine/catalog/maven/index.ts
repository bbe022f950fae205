import type { Package, PluginId, Unknown, UnknownClass } from '../../model';
import { checkTextSize } from '../bounds';
import { classOfParseFailure } from '../file-cataloger';
import { purl } from '../purl';
import type { CatalogFile, CatalogResult, Cataloger } from '../types';
import { DEFAULT_JAVA_ARCHIVE_LIMITS, walkJavaArchive, type JavaArchiveLimits } from './archive';
import { parseGradleLockfile } from './gradle-lockfile';

export * from './archive';
export * from './gradle-lockfile';
export * from './manifest';
export * from './pom-properties';

/** purl for a Maven artifact (purl-spec PURL-TYPES `maven`: namespace = groupId, name = artifactId). */
export function mavenPurl(groupId: string, artifactId: string, version: string): string {
  return purl('maven', groupId, artifactId, version);
}

function mavenPackage(groupId: string, artifactId: string, version: string, layer: CatalogFile['layer'], path: string, cataloger: PluginId): Package {
  return { ecosystem: 'Maven', name: `${groupId}:${artifactId}`, version, purl: mavenPurl(groupId, artifactId, version), locations: [{ layer, path }], cataloger };
}

/**
 * purl of a Java archive whose Maven coordinates are unknown (no pom.properties): purl-spec's
 * `generic` type, since a `maven` purl needs the groupId as its namespace and a guessed one would
 * name an artifact that is not this one.
 */
export function unknownCoordinatesPurl(name: string, version: string): string {
  return purl('generic', undefined, name, version);
}

/** The `note` an archive without pom.properties gets: what it is reported as, and that it is not matched. */
export const UNKNOWN_COORDINATES = 'Maven coordinates unknown (no pom.properties; MANIFEST.MF names no groupId/artifactId)';

/**
 * jar/war/ear archives (see {@link walkJavaArchive}). One Maven package per `pom.properties` (shaded
 * artifacts and nested archives included: an embedded pom.properties resolves the coordinates); an
 * archive without one is a package under its manifest name and version with a `generic` purl and an
 * unknown of class `note` saying its coordinates are unknown — it is in the SBOM, and kept out of
 * Maven matching (its name has no `groupId:` so no Maven advisory can name it) rather than matched
 * under made-up coordinates (`org.apache:Commons-Collections`, issue 14 item 4). A `note`, not a
 * quarantining class: such jars are common (Debian's libcommons-collections3-java, the JDK's
 * jrt-fs.jar) and a made-up match hid as much as it found; the note keeps them visible. An archive
 * with neither pom.properties nor a manifest version is a `note` too. Nested archives are walked to
 * depth 3. The location is the outer archive's path in the image (the file that exists in the layer).
 */
export function createJavaArchiveCataloger(limits: JavaArchiveLimits = DEFAULT_JAVA_ARCHIVE_LIMITS): Cataloger {
  const id: PluginId = { name: 'java-archive', version: '3' };
  return {
    ...id,
    wants: (path: string): boolean => /\.(jar|war|ear)$/i.test(path),
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      for (const f of files) {
        const unknown = (reason: string, cls: UnknownClass): void => { unknowns.push({ layer: f.layer, path: f.path, reason, class: cls, consumer: id.name }); };
        if (f.truncated) { unknown('archive truncated at the read limit: zip central directory unavailable', 'cut-by-cap'); continue; }
        const r = walkJavaArchive(f.body, f.path, limits);
        const seen = new Set<string>();
        const inside = (chain: readonly string[]): string => chain.slice(1).map((c) => `${c}: `).join('');
        for (const a of r.artifacts) {
          const key = a.source === 'pom.properties' ? `${a.groupId}:${a.artifactId}@${a.version}` : `${a.name}@${a.version} (MANIFEST.MF)`;
          if (seen.has(key)) continue;
          seen.add(key);
          try {
            if (a.source === 'pom.properties') packages.push(mavenPackage(a.groupId, a.artifactId, a.version, f.layer, f.path, id));
            else {
              packages.push({ ecosystem: 'Maven', name: a.name, version: a.version, purl: unknownCoordinatesPurl(a.name, a.version), locations: [{ layer: f.layer, path: f.path }], cataloger: id });
              unknown(`${inside(a.archive)}${UNKNOWN_COORDINATES}: reported as ${a.name} ${a.version}, not matched against Maven advisories`, 'note');
            }
          } catch (e) {
            unknown(`${key}: ${(e as Error).message}`, 'parse-error');
          }
        }
        for (const u of r.unidentified) unknown(`${inside(u.archive)}no pom.properties and no version in MANIFEST.MF: the archive is not identified and not matched`, 'note');
        for (const p of r.problems) unknown(`${p.archive.slice(1).concat('').join(': ')}${p.reason}`, p.class);
      }
      return { packages, unknowns };
    },
  };
}

/** The default jar/war/ear cataloger. */
export const javaArchiveCataloger: Cataloger = createJavaArchiveCataloger();

/** `gradle.lockfile` (see {@link parseGradleLockfile}); dev (test-only) modules are included. */
export const gradleLockfileCataloger: Cataloger = {
  name: 'gradle-lockfile',
  version: '2',
  wants: (path: string): boolean => /(^|\/)([^/]*\.)?gradle\.lockfile$/.test(path),
  catalog(files: readonly CatalogFile[]): CatalogResult {
    const packages: Package[] = [];
    const unknowns: Unknown[] = [];
    const id: PluginId = { name: 'gradle-lockfile', version: '2' };
    for (const f of files) {
      const unknown = (reason: string, cls: UnknownClass): void => { unknowns.push({ layer: f.layer, path: f.path, reason, class: cls, consumer: id.name }); };
      let entries: ReturnType<typeof parseGradleLockfile>;
      try {
        checkTextSize(f.body.length, 'gradle.lockfile');
        entries = parseGradleLockfile(f.body.toString('utf8'));
      } catch (err) {
        unknown(`gradle.lockfile: ${(err as Error).message}`, classOfParseFailure(err));
        continue;
      }
      for (const e of entries) {
        const [g, a] = e.name.split(':') as [string, string];
        try {
          packages.push(mavenPackage(g, a, e.version, f.layer, f.path, id));
        } catch (err) {
          unknown(`line ${e.line}: ${(err as Error).message}`, 'parse-error');
        }
      }
      if (f.truncated) unknown('gradle.lockfile truncated at the read limit', 'cut-by-cap');
    }
    return { packages, unknowns };
  },
};
