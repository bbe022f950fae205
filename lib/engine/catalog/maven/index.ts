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
 * jar/war/ear archives (see {@link walkJavaArchive}). One package per `pom.properties` (shaded
 * artifacts included), else one from MANIFEST.MF; nested archives are walked to depth 3. The
 * location is the outer archive's path in the image (the file that exists in the layer).
 */
export function createJavaArchiveCataloger(limits: JavaArchiveLimits = DEFAULT_JAVA_ARCHIVE_LIMITS): Cataloger {
  const id: PluginId = { name: 'java-archive', version: '2' };
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
        for (const a of r.artifacts) {
          const key = `${a.groupId}:${a.artifactId}@${a.version}`;
          if (seen.has(key)) continue;
          seen.add(key);
          try {
            packages.push(mavenPackage(a.groupId, a.artifactId, a.version, f.layer, f.path, id));
          } catch (e) {
            unknown(`${key}: ${(e as Error).message}`, 'parse-error');
          }
        }
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
