import { parseJsonBounded } from '../bounds';
import { type NpmEntry, baseName, isRecord, makeNpmCataloger, splitAtVersion } from './common';
import type { Cataloger } from '../types';
import { projectLockfile } from '../installed-package-files';

/**
 * Parses an npm `package-lock.json` (or `npm-shrinkwrap.json`) — https://docs.npmjs.com/cli/configuring-npm/package-lock-json.
 *
 * - lockfileVersion 2 and 3: the `packages` map keyed by install path (`node_modules/a`,
 *   `node_modules/a/node_modules/b`, `workspace/dir/node_modules/c`). The root `""` and workspace
 *   folders (keys without `node_modules/`) are the project's own code and are not packages by
 *   themselves; a `link: true` entry under `node_modules/` is resolved to the folder its `resolved`
 *   names and reported with that folder's version (a broken link — target missing — is skipped).
 * - lockfileVersion 1 (and v2 files read without `packages`): the nested `dependencies` tree; npm
 *   aliases resolve to the real name, non-registry sources (file:, git, URLs) are dropped.
 *
 * Dev dependencies are included and flagged (`dev: true`): they are installed unless `--omit=dev`.
 * Entries without a version (e.g. a linked workspace without `version`) are not packages we can
 * identify and are dropped. Throws on input that is not a lockfile object, and a `LimitExceededError`
 * past `PARSE_BOUNDS` (depth, size).
 */
export function parsePackageLock(text: string): NpmEntry[] {
  const doc = parseJsonBounded(text, 'package-lock');
  if (!isRecord(doc)) throw new Error('package-lock: top level is not a JSON object');
  const out: NpmEntry[] = [];
  if (isRecord(doc.packages)) {
    const pkgs = doc.packages;
    for (const [key, raw] of Object.entries(pkgs)) {
      if (!isRecord(raw)) continue;
      const nm = key.lastIndexOf('node_modules/');
      if (nm < 0) continue; // "" root or a workspace folder: reached through its node_modules link
      const pathName = key.slice(nm + 'node_modules/'.length);
      let entry = raw;
      if (raw.link === true) {
        const target = typeof raw.resolved === 'string' ? pkgs[raw.resolved] : undefined;
        if (!isRecord(target) || raw.resolved === '') continue; // broken link
        entry = target;
      }
      const name = typeof raw.name === 'string' && raw.name ? raw.name : pathName;
      const version = typeof entry.version === 'string' ? entry.version : '';
      if (!name || !version) continue;
      out.push({ name, version, dev: raw.dev === true || undefined });
    }
    return out;
  }
  if (doc.dependencies === undefined) {
    if (typeof doc.lockfileVersion !== 'number') throw new Error('package-lock: neither "packages" nor "dependencies" nor "lockfileVersion"');
    return out;
  }
  const walk = (deps: unknown): void => {
    if (!isRecord(deps)) return;
    for (const [name, raw] of Object.entries(deps)) {
      if (!isRecord(raw)) continue;
      const spec = typeof raw.version === 'string' ? raw.version : '';
      const id = v1Identity(name, spec);
      if (id) out.push({ ...id, dev: raw.dev === true || undefined });
      walk(raw.dependencies);
    }
  };
  walk(doc.dependencies);
  return out;
}

/**
 * In v1, `version` holds what was installed: a registry version, an npm alias `npm:real@1.0.0`
 * (installs `real`), or a non-registry source (`file:../x`, `git+https://…#sha`, `github:o/r#sha`,
 * `https://…/x.tgz`), which is not a registry package and is dropped
 * (https://docs.npmjs.com/cli/configuring-npm/package-lock-json#dependencies).
 */
function v1Identity(name: string, spec: string): { name: string; version: string } | undefined {
  if (!spec) return undefined;
  if (spec.startsWith('npm:')) {
    const parts = splitAtVersion(spec.slice(4));
    return parts && parts[1] ? { name: parts[0], version: parts[1] } : undefined;
  }
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(spec) ? undefined : { name, version: spec };
}

/**
 * Canonical in-image paths of npm lockfiles: `package-lock.json` and `npm-shrinkwrap.json`. npm's hidden
 * `node_modules/.package-lock.json` is deliberately not read: it mirrors the installed tree, which the
 * installed-package cataloger already reports from each package's own package.json.
 */
export function wantsPackageLock(path: string): boolean {
  const b = baseName(path);
  return b === 'package-lock.json' || b === 'npm-shrinkwrap.json';
}

/** Cataloger for npm package-lock.json v1/v2/v3 (not those inside an installed package: installed-package-files.ts). */
export const npmLockfileCataloger: Cataloger = makeNpmCataloger(
  { name: 'npm-lockfile', version: '1.2.0' }, projectLockfile(wantsPackageLock), (text) => parsePackageLock(text));
