import { parseJsonBounded } from '../bounds';
import { type NpmEntry, isRecord, makeNpmCataloger } from './common';
import type { Cataloger } from '../types';

/**
 * Reads the `name` and `version` of one `package.json` (https://docs.npmjs.com/cli/configuring-npm/package-json#name).
 * Returns no entry for a manifest without both (npm requires both of a published package); throws on
 * input that is not a JSON object, or whose name/version are present but not strings.
 */
export function parsePackageJson(text: string): NpmEntry[] {
  const doc = parseJsonBounded(text, 'package.json');
  if (!isRecord(doc)) throw new Error('package.json: top level is not a JSON object');
  const { name, version } = doc;
  if (name !== undefined && typeof name !== 'string') throw new Error('package.json: "name" is not a string');
  if (version !== undefined && typeof version !== 'string') throw new Error('package.json: "version" is not a string');
  if (!name || !version) return [];
  return [{ name, version }];
}

/**
 * Package roots under a `node_modules` folder: `…/node_modules/<name>/package.json` or
 * `…/node_modules/@scope/<name>/package.json` (pnpm's `node_modules/.pnpm/<id>/node_modules/<name>` included).
 * Other package.json files (the application's own, or ones nested inside a package such as
 * `dist/package.json`) are not installed packages; hidden entries (`.bin`, `.cache`) are not packages.
 */
const INSTALLED = /\/node_modules\/(?:@[^/.][^/]*\/)?[^/.@][^/]*\/package\.json$/;

/**
 * Debian's Node.js modules (Debian JavaScript Policy, https://wiki.debian.org/Javascript/Policy):
 * `node-*` packages install each module at `/usr/share/nodejs/<name>/` (`@scope/<name>` for scoped
 * ones), arch-dependent ones at `/usr/lib/<multiarch>/nodejs/<name>/` (older packages: `/usr/lib/nodejs/`),
 * with the module's own `package.json`: installed npm packages as much as `node_modules/<name>` is
 * (issue 14 item 4; 1,526 of them in a Debian root with npm). Their bundled modules in a nested
 * `node_modules` match {@link INSTALLED}.
 */
const DEBIAN_NODEJS = /^\/usr\/(?:share|lib(?:\/[^/]+)?)\/nodejs\/(?:@[^/.][^/]*\/)?(?!node_modules\/)[^/.@][^/]*\/package\.json$/;

/** True for the manifest of an installed package (see {@link INSTALLED} and {@link DEBIAN_NODEJS}). */
export function wantsInstalledPackageJson(path: string): boolean {
  return INSTALLED.test(path) || DEBIAN_NODEJS.test(path);
}

/**
 * Cataloger for installed `node_modules/**\/package.json` and Debian's `/usr/share/nodejs/*\/package.json`. A package root without name or version is
 * recorded as an unknown, since it occupies a package slot we cannot identify.
 */
export const npmInstalledCataloger: Cataloger = makeNpmCataloger(
  { name: 'npm-installed', version: '1.2.0' }, wantsInstalledPackageJson, (text) => {
    const entries = parsePackageJson(text);
    if (entries.length === 0) throw new Error('package.json of an installed package has no name or no version');
    return entries;
  });
