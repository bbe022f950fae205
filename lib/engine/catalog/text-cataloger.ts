import type { Package } from '../model';
import type { Cataloger } from './types';
import { checkTextSize } from './bounds';
import { fileCataloger } from './file-cataloger';

/** What {@link textCataloger} needs to know about one file format. */
export interface TextCatalogerSpec<T> {
  readonly name: string;
  readonly version: string;
  /** The format's name in unknown reasons, e.g. `composer.lock`. */
  readonly what: string;
  readonly wants: (path: string) => boolean;
  /**
   * Parses the file's text (a leading UTF-8 BOM already removed; at most `PARSE_BOUNDS.maxTextBytes`);
   * may throw on bad input, and throws a `LimitExceededError` when a parse bound is hit.
   */
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
 * A {@link fileCataloger} for a UTF-8 text format: the body is decoded (BOM dropped) and parsed, and
 * unknown reasons read `<what> truncated at the read limit; parsed as far as read|not parsed` and
 * `<what>: <error message>`.
 */
export function textCataloger<T>(spec: TextCatalogerSpec<T>): Cataloger {
  const note = spec.truncated === 'parse' ? 'parsed as far as read' : 'not parsed';
  return fileCataloger<T>({
    name: spec.name,
    version: spec.version,
    wants: spec.wants,
    truncated: { policy: spec.truncated, reason: () => `${spec.what} truncated at the read limit; ${note}` },
    parse: (f) => {
      checkTextSize(f.body.length, spec.what);
      return spec.parse(f.body.toString('utf8').replace(/^\uFEFF/, ''));
    },
    unreadableReason: (e) => `${spec.what}: ${(e as Error).message}`,
    toPackage: (item) => spec.toPackage(item),
  });
}
