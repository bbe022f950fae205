import { unzipSync, type UnzipFileInfo } from 'fflate';
import type { UnknownClass } from '../../model';
import { isBoundError, PARSE_BOUNDS, parseBoundError } from '../bounds';
import { manifestValue, parseManifest } from './manifest';
import { parsePomProperties } from './pom-properties';

/**
 * Java archive walker: jar/war/ear files are ZIP files (JAR File Specification, "The JAR File";
 * PKWARE APPNOTE.TXT) read in memory with fflate. Only the entries needed are inflated —
 * `META-INF/maven/<g>/<a>/pom.properties`, `META-INF/MANIFEST.MF` and nested archives (Spring Boot
 * `BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, ear `lib/*.jar` or any other `*.jar|war|ear` entry) —
 * and zip bombs are refused before inflating by summing the central directory's declared sizes
 * (fflate inflates into a buffer of the declared size, so a lying header cannot grow past it).
 * Every bound (`PARSE_BOUNDS`: depth, inflated bytes, entries, compression ratio, text size) that
 * stops the walk is reported as a problem of class `cut-by-cap`: what was not opened could hold
 * packages.
 */

/** Limits for {@link walkJavaArchive}. */
export interface JavaArchiveLimits {
  /** Nesting depth: the outer archive is depth 0; nested archives deeper than this are not opened. */
  readonly maxDepth: number;
  /** Total declared uncompressed bytes that may be inflated for one outer archive, nested included. */
  readonly maxInflatedBytes: number;
  /** Central-directory entries read for one outer archive, nested included (default `PARSE_BOUNDS.maxArchiveEntries`). */
  readonly maxEntries?: number;
}

/** Defaults from {@link PARSE_BOUNDS}: depth 3, 256 MiB inflated, 1 M entries per outer archive. */
export const DEFAULT_JAVA_ARCHIVE_LIMITS: JavaArchiveLimits = {
  maxDepth: PARSE_BOUNDS.maxArchiveDepth,
  maxInflatedBytes: PARSE_BOUNDS.maxArchiveInflatedBytes,
  maxEntries: PARSE_BOUNDS.maxArchiveEntries,
};

/** Something in an archive that was not read: where (archive chain, outer first), why, and the unknown's class. */
export interface JavaArchiveProblem {
  readonly archive: readonly string[];
  readonly reason: string;
  readonly class: UnknownClass;
}

/**
 * A Java artifact found in an archive: Maven coordinates from `pom.properties`, or — for an archive
 * without one — a name and version from its manifest, whose Maven coordinates are unknown.
 */
export type JavaArtifact =
  | {
      readonly groupId: string;
      readonly artifactId: string;
      readonly version: string;
      /** Archive chain, outer first, e.g. `['/app/app.jar', 'BOOT-INF/lib/x.jar']`. */
      readonly archive: readonly string[];
      readonly source: 'pom.properties';
    }
  | {
      /** The archive's file name without its version suffix (else the manifest's title): not an artifactId. */
      readonly name: string;
      readonly version: string;
      readonly archive: readonly string[];
      readonly source: 'MANIFEST.MF';
    };

/** An archive that carried neither `pom.properties` nor a manifest version: nothing identifies it. */
export interface UnidentifiedArchive {
  readonly archive: readonly string[];
}

/** Result of walking one archive: artifacts and per-archive problems (never thrown). */
export interface JavaArchiveResult {
  readonly artifacts: JavaArtifact[];
  readonly problems: JavaArchiveProblem[];
  /** Archives (outer or nested) with no pom.properties and no version in their manifest. */
  readonly unidentified: UnidentifiedArchive[];
}

const POM_PROPS = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MANIFEST = 'META-INF/MANIFEST.MF';
const NESTED = /\.(jar|war|ear)$/i;

/**
 * Name and version from the manifest of an archive without pom.properties (issue 14 item 4). The
 * manifest does not hold Maven coordinates: `Implementation-Vendor-Id` is an organisation
 * (`org.apache`), `Implementation-Title` a display name (`Commons Collections`), neither a groupId
 * nor an artifactId — coordinates made from them (`org.apache:Commons-Collections`) name no Maven
 * artifact and would be matched against advisories as if they did. So only a name and version are
 * taken: version from `Implementation-Version` / `Bundle-Version`; name from the file name without
 * its version suffix (Syft's first choice, `commons-collections3-3.2.2.jar` → `commons-collections3`),
 * else `Implementation-Title` / `Bundle-SymbolicName`. No version → not identified.
 */
function fromManifest(text: string, fileName: string): { name: string; version: string } | undefined {
  const m = parseManifest(text);
  const version = manifestValue(m, 'Implementation-Version') ?? manifestValue(m, 'Bundle-Version');
  const base = fileName.replace(/^.*\//, '').replace(NESTED, '');
  const fromName = base.replace(/-\d[\w.+-]*$/, '');
  const bsn = manifestValue(m, 'Bundle-SymbolicName')?.split(';')[0]?.trim();
  const name = fromName || manifestValue(m, 'Implementation-Title')?.replace(/\s+/g, '-') || bsn;
  if (!version || !name) return undefined;
  return { name, version };
}

/** Entries smaller than this are not held to {@link PARSE_BOUNDS.maxCompressionRatio} (tiny entries compress oddly). */
const RATIO_FLOOR = 64 * 1024;

/** Walks a jar/war/ear (and its nested archives) for Maven artifacts. Never throws. */
export function walkJavaArchive(body: Uint8Array, path: string, limits: JavaArchiveLimits = DEFAULT_JAVA_ARCHIVE_LIMITS): JavaArchiveResult {
  const artifacts: JavaArtifact[] = [];
  const problems: JavaArchiveProblem[] = [];
  const unidentified: UnidentifiedArchive[] = [];
  const maxEntries = limits.maxEntries ?? PARSE_BOUNDS.maxArchiveEntries;
  let budget = limits.maxInflatedBytes;
  let entries = 0;
  const problem = (archive: readonly string[], reason: string, cls: UnknownClass): void => { problems.push({ archive, reason, class: cls }); };

  const visit = (data: Uint8Array, chain: readonly string[], depth: number): void => {
    const wanted: UnzipFileInfo[] = [];
    let files: Record<string, Uint8Array>;
    // The archive names a pom.properties (read or not): its identity is the problem's to tell, if any.
    let namesPom = false;
    try {
      // First pass: the filter sees the central directory; nothing is inflated.
      unzipSync(data, {
        filter: (f) => {
          if (++entries > maxEntries) throw parseBoundError('maxArchiveEntries', `archive holds more than ${maxEntries} entries, nested archives included`, maxEntries);
          const isNested = NESTED.test(f.name);
          if (POM_PROPS.test(f.name)) namesPom = true;
          if (!POM_PROPS.test(f.name) && f.name !== MANIFEST && !isNested) return false;
          if (isNested && depth >= limits.maxDepth) {
            problem(chain, `${f.name}: nested archive at depth ${depth + 1}, below the ${limits.maxDepth}-level nesting bound (PARSE_BOUNDS.maxArchiveDepth); not opened`, 'cut-by-cap');
            return false;
          }
          if (f.compression !== 0 && f.compression !== 8) {
            problem(chain, `${f.name}: compression method ${f.compression} is not supported (only stored and deflate); not read`, 'unsupported-entry');
            return false;
          }
          if (f.compression === 8 && f.originalSize > RATIO_FLOOR && f.originalSize > PARSE_BOUNDS.maxCompressionRatio * Math.max(f.size, 1)) {
            problem(chain, `${f.name}: declares ${f.originalSize} bytes from ${f.size} compressed, a ratio over ${PARSE_BOUNDS.maxCompressionRatio} (PARSE_BOUNDS.maxCompressionRatio, zip bomb guard); not inflated`, 'cut-by-cap');
            return false;
          }
          if (!isNested && f.originalSize > PARSE_BOUNDS.maxArchiveTextBytes) {
            problem(chain, `${f.name}: ${f.originalSize} bytes, over ${PARSE_BOUNDS.maxArchiveTextBytes} (PARSE_BOUNDS.maxArchiveTextBytes); not read`, 'cut-by-cap');
            return false;
          }
          wanted.push(f);
          return false;
        },
      });
      const declared = wanted.reduce((n, f) => n + f.originalSize, 0);
      if (declared > budget) {
        problem(chain, `archive entries declare ${declared} uncompressed bytes, over the ${limits.maxInflatedBytes}-byte inflate budget (PARSE_BOUNDS.maxArchiveInflatedBytes, zip bomb guard)`, 'cut-by-cap');
        return;
      }
      budget -= declared;
      const names = new Set(wanted.map((f) => f.name));
      files = unzipSync(data, { filter: (f) => names.has(f.name) && (f.compression === 0 || f.compression === 8) });
    } catch (e) {
      if (isBoundError(e)) problem(chain, e.message, 'cut-by-cap');
      else problem(chain, `unreadable zip archive: ${(e as Error).message}`, 'parse-error');
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
          problem(chain, `${name}: missing groupId, artifactId or version`, 'parse-error');
        }
      } catch (e) {
        problem(chain, `${name}: ${(e as Error).message}`, isBoundError(e) ? 'cut-by-cap' : 'parse-error');
      }
    }
    const mf = files[MANIFEST];
    if (!found) {
      try {
        const a = mf ? fromManifest(dec.decode(mf), chain[chain.length - 1]!) : undefined;
        if (a) artifacts.push({ ...a, archive: chain, source: 'MANIFEST.MF' });
        // A pom.properties that could not be read is a problem already; no second word on it.
        else if (!namesPom) unidentified.push({ archive: chain });
      } catch (e) {
        problem(chain, `${MANIFEST}: ${(e as Error).message}`, isBoundError(e) ? 'cut-by-cap' : 'parse-error');
      }
    }
    for (const name of Object.keys(files).filter((n) => NESTED.test(n)).sort()) {
      visit(files[name]!, [...chain, name], depth + 1);
    }
  };

  try {
    visit(body, [path], 0);
  } catch (e) {
    // A bug or a stack overflow in a nested walk: the archive was not fully read.
    problem([path], `archive walk failed: ${(e as Error).message}`, isBoundError(e) ? 'cut-by-cap' : 'parse-error');
  }
  return { artifacts, problems, unidentified };
}
