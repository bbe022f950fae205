import type { PluginId } from '../../model';
import { checkTextSize } from '../bounds';
import { fileCataloger } from '../file-cataloger';
import { purl } from '../purl';
import type { Cataloger } from '../types';

/** One package as read from an npm-ecosystem lockfile or manifest, before it becomes a {@link Package}. */
export interface NpmEntry {
  /** Registry name, scoped names kept as `@scope/name`. */
  readonly name: string;
  readonly version: string;
  /** The lockfile marks the package as a development-only dependency (when the format records it). */
  readonly dev?: boolean;
}

/**
 * The purl of an npm package (purl-spec PURL-TYPES.rst "npm": the scope, `@` included, is the namespace,
 * so `@babel/core@7.0.0` becomes `pkg:npm/%40babel/core@7.0.0`).
 */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  return slash > 0 ? purl('npm', name.slice(0, slash), name.slice(slash + 1), version) : purl('npm', undefined, name, version);
}

/** Splits an npm descriptor `name@range` (name may be scoped: `@scope/name@range`) at the version `@`. */
export function splitAtVersion(descriptor: string): [name: string, rest: string] | undefined {
  const at = descriptor.indexOf('@', 1);
  if (at <= 0) return undefined;
  return [descriptor.slice(0, at), descriptor.slice(at + 1)];
}

/** Plain JSON object test (arrays and null excluded). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decodes a file body as UTF-8, dropping a byte-order mark; refuses a body over `PARSE_BOUNDS.maxTextBytes`. */
export function bodyText(body: Buffer, what = 'file'): string {
  checkTextSize(body.length, what);
  const s = body.toString('utf8');
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/**
 * Builds a {@link Cataloger} from a pure parse function (via {@link fileCataloger}): every wanted file is
 * parsed on its own, entries become {@link Package}s located at {layer, path}, exact duplicates
 * (name@version) within one file collapse to one, and any parse failure, hit parse bound or truncated
 * body becomes an {@link Unknown} (a cataloger never throws).
 */
export function makeNpmCataloger(id: PluginId, wants: (path: string) => boolean, parse: (text: string, path: string) => NpmEntry[]): Cataloger {
  return fileCataloger<NpmEntry>({
    name: id.name,
    version: id.version,
    wants,
    truncated: { policy: 'parse', reason: () => `${id.name}: file truncated at the read limit; parsed what was there` },
    parse: (f) => parse(bodyText(f.body, id.name), f.path),
    unreadableReason: (e) => `${id.name}: ${e instanceof Error ? e.message : String(e)}`,
    dedupeKey: (e) => `${e.name}@${e.version}`,
    toPackage: (e) => ({ ecosystem: 'npm', name: e.name, version: e.version, purl: npmPurl(e.name, e.version) }),
  });
}

/** Last path segment. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
