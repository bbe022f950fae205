import { parseJsonBounded } from '../bounds';

/** One package from a composer.lock. */
export interface ComposerPackage {
  /** `vendor/project`, as Packagist names it. */
  readonly name: string;
  /** The locked version exactly as written (may carry a `v` prefix, e.g. `v1.27.0`). */
  readonly version: string;
  /** From `packages-dev` (require-dev) rather than `packages`. */
  readonly dev: boolean;
}

/**
 * Parses a composer.lock (JSON written by Composer's `Locker`; getcomposer.org/doc/01-basic-usage.md
 * "composer.lock"): the `packages` array (require) and `packages-dev` (require-dev), each entry with
 * `name` and `version`. Entries without both are skipped.
 * @throws Error when the text is not JSON or not a composer.lock object.
 */
export function parseComposerLock(text: string): ComposerPackage[] {
  const doc = parseJsonBounded(text, 'composer.lock');
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('composer.lock is not a JSON object');
  const d = doc as { packages?: unknown; 'packages-dev'?: unknown };
  if (d.packages === undefined && d['packages-dev'] === undefined) throw new Error('composer.lock has neither `packages` nor `packages-dev`');
  const out: ComposerPackage[] = [];
  for (const [key, dev] of [['packages', false], ['packages-dev', true]] as const) {
    const list = d[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new Error(`composer.lock: \`${key}\` is not an array`);
    for (const p of list as unknown[]) {
      const t = p as { name?: unknown; version?: unknown } | null;
      if (t && typeof t.name === 'string' && typeof t.version === 'string' && t.name && t.version) out.push({ name: t.name, version: t.version, dev });
    }
  }
  return out;
}

/**
 * Parses Composer's installed-package record `vendor/composer/installed.json` (written by
 * Composer's `InstalledFilesystemRepository`): Composer 2 writes `{"packages": [...], "dev": bool,
 * "dev-package-names": [...]}`, Composer 1 a bare array of packages. Unlike composer.lock this is
 * what is on disk; packages named in `dev-package-names` are marked `dev`.
 * @throws Error when the text is not JSON or neither shape.
 */
export function parseComposerInstalled(text: string): ComposerPackage[] {
  const doc = parseJsonBounded(text, 'installed.json');
  let list: unknown;
  let devNames = new Set<string>();
  if (Array.isArray(doc)) list = doc;
  else if (doc !== null && typeof doc === 'object') {
    const d = doc as { packages?: unknown; 'dev-package-names'?: unknown };
    list = d.packages;
    if (Array.isArray(d['dev-package-names'])) devNames = new Set(d['dev-package-names'].filter((n): n is string => typeof n === 'string'));
  }
  if (!Array.isArray(list)) throw new Error('installed.json has no package list');
  const out: ComposerPackage[] = [];
  for (const p of list as unknown[]) {
    const t = p as { name?: unknown; version?: unknown } | null;
    if (t && typeof t.name === 'string' && typeof t.version === 'string' && t.name && t.version) out.push({ name: t.name, version: t.version, dev: devNames.has(t.name) });
  }
  return out;
}
