import { unzipSync, type UnzipFileInfo } from 'fflate';
import { manifestValue, parseManifest } from './manifest';
import { parsePomProperties } from './pom-properties';

/**
 * Java archive walker: jar/war/ear files are ZIP files (JAR File Specification, "The JAR File";
 * PKWARE APPNOTE.TXT) read in memory with fflate. Only the entries needed are inflated —
 * `META-INF/maven/<g>/<a>/pom.properties`, `META-INF/MANIFEST.MF` and nested archives (Spring Boot
 * `BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, ear `lib/*.jar` or any other `*.jar|war|ear` entry) —
 * and zip bombs are refused before inflating by summing the central directory's declared sizes
 * (fflate inflates into a buffer of the declared size, so a lying header cannot grow past it).
 */

/** Limits for {@link walkJavaArchive}. */
export interface JavaArchiveLimits {
  /** Nesting depth: the outer archive is depth 0; nested archives deeper than this are not opened. */
  readonly maxDepth: number;
  /** Total declared uncompressed bytes that may be inflated for one outer archive, nested included. */
  readonly maxInflatedBytes: number;
}

/** Defaults: depth 3, 256 MiB inflated per outer archive. */
export const DEFAULT_JAVA_ARCHIVE_LIMITS: JavaArchiveLimits = { maxDepth: 3, maxInflatedBytes: 256 * 1024 * 1024 };

/** A Maven artifact found in an archive. */
export interface JavaArtifact {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
  /** Archive chain, outer first, e.g. `['/app/app.jar', 'BOOT-INF/lib/x.jar']`. */
  readonly archive: readonly string[];
  /** Where the coordinates came from. */
  readonly source: 'pom.properties' | 'MANIFEST.MF';
}

/** Result of walking one archive: artifacts and per-archive problems (never thrown). */
export interface JavaArchiveResult {
  readonly artifacts: JavaArtifact[];
  readonly problems: { archive: readonly string[]; reason: string }[];
}

const POM_PROPS = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MANIFEST = 'META-INF/MANIFEST.MF';
const NESTED = /\.(jar|war|ear)$/i;

/**
 * Fallback coordinates from the manifest when an archive has no pom.properties: version from
 * `Implementation-Version` / `Bundle-Version`, artifactId from `Implementation-Title` or the file
 * name (version suffix removed), groupId from `Implementation-Vendor-Id`, else the
 * `Bundle-SymbolicName` without its last element. No groupId → no artifact (a Maven purl needs one).
 */
function fromManifest(text: string, fileName: string): { groupId: string; artifactId: string; version: string } | undefined {
  const m = parseManifest(text);
  const version = manifestValue(m, 'Implementation-Version') ?? manifestValue(m, 'Bundle-Version');
  const base = fileName.replace(/^.*\//, '').replace(NESTED, '');
  const fromName = base.replace(/-\d[\w.+-]*$/, '');
  const artifactId = manifestValue(m, 'Implementation-Title')?.replace(/\s+/g, '-') ?? (fromName || undefined);
  const bsn = manifestValue(m, 'Bundle-SymbolicName')?.split(';')[0]?.trim();
  const groupId = manifestValue(m, 'Implementation-Vendor-Id') ?? (bsn && bsn.includes('.') ? bsn.slice(0, bsn.lastIndexOf('.')) : undefined);
  if (!version || !artifactId || !groupId) return undefined;
  return { groupId, artifactId, version };
}

/** Walks a jar/war/ear (and its nested archives) for Maven artifacts. Never throws. */
export function walkJavaArchive(body: Uint8Array, path: string, limits: JavaArchiveLimits = DEFAULT_JAVA_ARCHIVE_LIMITS): JavaArchiveResult {
  const artifacts: JavaArtifact[] = [];
  const problems: { archive: readonly string[]; reason: string }[] = [];
  let budget = limits.maxInflatedBytes;

  const visit = (data: Uint8Array, chain: readonly string[], depth: number): void => {
    const wanted: UnzipFileInfo[] = [];
    let files: Record<string, Uint8Array>;
    try {
      // First pass: the filter sees the central directory; nothing is inflated.
      unzipSync(data, {
        filter: (f) => {
          if (f.compression !== 0 && f.compression !== 8) return false;
          if (POM_PROPS.test(f.name) || f.name === MANIFEST || (NESTED.test(f.name) && depth < limits.maxDepth)) wanted.push(f);
          return false;
        },
      });
      const declared = wanted.reduce((n, f) => n + f.originalSize, 0);
      if (declared > budget) {
        problems.push({ archive: chain, reason: `archive entries declare ${declared} uncompressed bytes, over the ${limits.maxInflatedBytes}-byte inflate budget (zip bomb guard)` });
        return;
      }
      budget -= declared;
      const names = new Set(wanted.map((f) => f.name));
      files = unzipSync(data, { filter: (f) => names.has(f.name) && (f.compression === 0 || f.compression === 8) });
    } catch (e) {
      problems.push({ archive: chain, reason: `unreadable zip archive: ${(e as Error).message}` });
      return;
    }
    const dec = new TextDecoder('utf-8');
    let found = 0;
    for (const name of Object.keys(files).filter((n) => POM_PROPS.test(n)).sort()) {
      try {
        const p = parsePomProperties(dec.decode(files[name]));
        if (p.groupId && p.artifactId && p.version) {
          artifacts.push({ groupId: p.groupId, artifactId: p.artifactId, version: p.version, archive: chain, source: 'pom.properties' });
          found++;
        } else {
          problems.push({ archive: chain, reason: `${name}: missing groupId, artifactId or version` });
        }
      } catch (e) {
        problems.push({ archive: chain, reason: `${name}: ${(e as Error).message}` });
      }
    }
    const mf = files[MANIFEST];
    if (!found && mf) {
      const a = fromManifest(dec.decode(mf), chain[chain.length - 1]!);
      if (a) artifacts.push({ ...a, archive: chain, source: 'MANIFEST.MF' });
    }
    for (const name of Object.keys(files).filter((n) => NESTED.test(n)).sort()) {
      visit(files[name]!, [...chain, name], depth + 1);
    }
  };

  visit(body, [path], 0);
  return { artifacts, problems };
}
