import type { Package, PluginId, Unknown, UnknownClass } from '../model';
import { isBoundError } from './bounds';
import type { CatalogFile, CatalogResult, Cataloger } from './types';

/** A package as a cataloger's format maps it; {@link fileCataloger} adds `locations` and `cataloger`. */
export type PackageFields = Omit<Package, 'locations' | 'cataloger'>;

/** A record a parse could not use, with the class its unknown gets (a bare string is a `parse-error`). */
export interface ParseProblem {
  readonly reason: string;
  readonly class: UnknownClass;
}

/** A parse that keeps going past bad records: the items it could use and a note for each record it could not. */
export interface ParsedFile<T> {
  readonly items: readonly T[];
  /**
   * One per unusable record/line; each becomes an {@link Unknown} (see {@link FileCatalogerSpec.problemReason}),
   * of class `parse-error` unless the problem names another.
   */
  readonly problems: readonly (string | ParseProblem)[];
}

/**
 * The class of the unknown for an error a parser threw: `cut-by-cap` when a bound of
 * {@link PARSE_BOUNDS} (or any other cap, a `LimitExceededError`) was hit, else `parse-error` — a
 * stack overflow, a `SyntaxError`, a format error: the file could not be read, and could hide packages.
 */
export function classOfParseFailure(e: unknown): UnknownClass {
  return isBoundError(e) ? 'cut-by-cap' : 'parse-error';
}

/**
 * What to do with a body cut at the read limit:
 * - `skip`: record an unknown and do not parse (formats such as JSON that cannot be parsed in part);
 * - `parse`: record an unknown, then parse what was read (line formats lose only their tail);
 * - `parse-then-note`: parse what was read and record the unknown only if the parse did not throw
 *   (after a throw the file's only unknown is the parse failure).
 */
export type TruncationPolicy = 'skip' | 'parse' | 'parse-then-note';

/** What {@link fileCataloger} needs to know about one file format. */
export interface FileCatalogerSpec<T> {
  readonly name: string;
  readonly version: string;
  readonly wants: (path: string) => boolean;
  /** Ignore files `wants` rejects when they are handed to `catalog` anyway (default: parse every file given). */
  readonly onlyWanted?: boolean;
  /** Truncated bodies: the policy and the unknown's reason. Absent: a truncated body is parsed like any other, with no unknown. */
  readonly truncated?: { readonly policy: TruncationPolicy; readonly reason: (file: CatalogFile) => string };
  /** Parses one file; may throw on bad input (the throw becomes an unknown with {@link unreadableReason}). */
  readonly parse: (file: CatalogFile) => readonly T[] | ParsedFile<T>;
  /** The reason recorded for a file whose parse (or mapping) threw; `error` is what was thrown. */
  readonly unreadableReason: (error: unknown, file: CatalogFile) => string;
  /** The reason recorded for each of a {@link ParsedFile}'s problems (default: the problem text itself). */
  readonly problemReason?: (problem: string, file: CatalogFile) => string;
  /** One parsed item as a package, or `undefined` to leave it out. */
  readonly toPackage: (item: T, file: CatalogFile) => PackageFields | undefined;
  /** Items with the same key within one file are reported once (the first wins); default: no dedup. */
  readonly dedupeKey?: (item: T) => string;
}

function isParsedFile<T>(r: readonly T[] | ParsedFile<T>): r is ParsedFile<T> {
  return !Array.isArray(r);
}

/**
 * The one per-file loop of package catalogers (Syft's catalogers, Trivy's analyzers): each wanted file
 * is parsed on its own, its items become packages located at {layer, path} and attributed to this
 * plug-in, and a file that is truncated, has bad records, or cannot be parsed at all becomes an
 * {@link Unknown} with its place, its class (`cut-by-cap` for a cut body or a hit parse bound,
 * `parse-error` otherwise) and this plug-in as consumer — never an exception that would abort the scan.
 *
 * Per file, unknowns come in this order: truncation (policies `skip`/`parse`), parse failure, or
 * truncation (policy `parse-then-note`) followed by the parse's problems. Packages keep the parser's order.
 * Mapping runs inside the same guard as parsing: packages mapped before a throw are kept.
 */
export function fileCataloger<T>(spec: FileCatalogerSpec<T>): Cataloger {
  const plugin: PluginId = { name: spec.name, version: spec.version };
  return {
    ...plugin,
    wants: spec.wants,
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      for (const f of files) {
        if (spec.onlyWanted && !spec.wants(f.path)) continue;
        const unknown = (reason: string, cls: UnknownClass): void => {
          unknowns.push({ layer: f.layer, path: f.path, reason, class: cls, consumer: spec.name });
        };
        const policy = f.truncated ? spec.truncated?.policy : undefined;
        if (policy === 'skip' || policy === 'parse') {
          unknown(spec.truncated!.reason(f), 'cut-by-cap');
          if (policy === 'skip') continue;
        }
        try {
          const parsed = spec.parse(f);
          const { items, problems } = isParsedFile(parsed) ? parsed : { items: parsed, problems: [] };
          if (policy === 'parse-then-note') unknown(spec.truncated!.reason(f), 'cut-by-cap');
          for (const p of problems) {
            const { reason, class: cls } = typeof p === 'string' ? { reason: p, class: 'parse-error' as const } : p;
            unknown(spec.problemReason ? spec.problemReason(reason, f) : reason, cls);
          }
          const seen = spec.dedupeKey ? new Set<string>() : undefined;
          for (const item of items) {
            if (seen) {
              const key = spec.dedupeKey!(item);
              if (seen.has(key)) continue;
              seen.add(key);
            }
            const pkg = spec.toPackage(item, f);
            if (pkg) packages.push({ ...pkg, locations: [{ layer: f.layer, path: f.path }], cataloger: plugin });
          }
        } catch (e) {
          unknown(spec.unreadableReason(e, f), classOfParseFailure(e));
        }
      }
      return { packages, unknowns };
    },
  };
}
