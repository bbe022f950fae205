import type { Package, Unknown } from '../model';
import type { CatalogFile, CatalogResult, Cataloger } from './types';

/** What {@link textCataloger} needs to know about one file format. */
export interface TextCatalogerSpec<T> {
  readonly name: string;
  readonly version: string;
  /** The format's name in unknown reasons, e.g. `composer.lock`. */
  readonly what: string;
  readonly wants: (path: string) => boolean;
  /** Parses the file's text (a leading UTF-8 BOM already removed); may throw on bad input. */
  readonly parse: (text: string) => readonly T[];
  /** One parsed item as a package (locations and cataloger are filled in here). */
  readonly toPackage: (item: T) => Omit<Package, 'locations' | 'cataloger'>;
  /**
   * A body cut at the read limit: `parse` what was read (line formats lose only their tail) or
   * `skip` it (JSON cannot be parsed in part). Either way an unknown records the cut.
   */
  readonly truncated: 'parse' | 'skip';
}

/**
 * The one per-file loop of text-format catalogers: each wanted file is parsed on its own, its items
 * become packages located at {layer, path}, and a file that cannot be parsed becomes an unknown with
 * its place — never an exception that would abort the scan (Syft's unknowns).
 */
export function textCataloger<T>(spec: TextCatalogerSpec<T>): Cataloger {
  const plugin = { name: spec.name, version: spec.version };
  return {
    ...plugin,
    wants: spec.wants,
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      for (const f of files) {
        if (f.truncated) {
          const note = spec.truncated === 'parse' ? 'parsed as far as read' : 'not parsed';
          unknowns.push({ layer: f.layer, path: f.path, reason: `${spec.what} truncated at the read limit; ${note}` });
          if (spec.truncated === 'skip') continue;
        }
        try {
          for (const item of spec.parse(f.body.toString('utf8').replace(/^\uFEFF/, ''))) {
            packages.push({ ...spec.toPackage(item), locations: [{ layer: f.layer, path: f.path }], cataloger: plugin });
          }
        } catch (e) {
          unknowns.push({ layer: f.layer, path: f.path, reason: `${spec.what}: ${(e as Error).message}` });
        }
      }
      return { packages, unknowns };
    },
  };
}
