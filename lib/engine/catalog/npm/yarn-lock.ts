import { parseYamlBounded } from '../bounded-yaml';
import { boundedLines } from '../bounds';
import { type NpmEntry, baseName, isRecord, makeNpmCataloger, splitAtVersion } from './common';
import type { Cataloger } from '../types';
import { projectLockfile } from '../installed-package-files';

/**
 * Resolves one yarn descriptor (`name@range`, `name@npm:range`, `alias@npm:real@range`) to the
 * registry name, or undefined when it points outside the npm registry (`file:`, `link:`, `portal:`,
 * `workspace:`, `patch:`, `git…:`, `github:`, unknown protocols): those are local or VCS sources, not
 * registry packages (yarn docs, https://yarnpkg.com/protocols).
 */
function registryName(descriptor: string): string | undefined {
  const parts = splitAtVersion(descriptor);
  if (!parts) return undefined;
  const [name, range] = parts;
  const proto = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(range);
  if (!proto) return name;
  if (proto[1] !== 'npm') return undefined;
  const target = range.slice(4);
  // npm alias: `alias@npm:real@^1.0.0` installs `real`.
  const aliased = target.startsWith('@') || /^[^@]+@/.test(target) ? splitAtVersion(target) : undefined;
  return aliased ? aliased[0] : name;
}

/** Splits a lockfile entry key `"a@^1, a@^1.2"` into its descriptors, unquoted. */
function descriptors(key: string): string[] {
  return key.split(',').map((d) => d.trim().replace(/^"(.*)"$/, '$1')).filter(Boolean);
}

/**
 * Parses a classic yarn v1 `yarn.lock` (https://classic.yarnpkg.com/lang/en/docs/yarn-lock/): a
 * custom indentation format whose top-level keys are descriptor lists and whose `version "x"` line
 * (keys may be quoted: `"version" "x"`) is the installed version.
 */
export function parseYarnV1(text: string): NpmEntry[] {
  const out: NpmEntry[] = [];
  let current: string | undefined;
  for (const [line, lineNo] of boundedLines(text, 'yarn.lock v1')) {
    if (line === '' || line.startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      if (!line.endsWith(':')) throw new Error(`yarn.lock v1: line ${lineNo}: expected an entry key ending in ":"`);
      const first = descriptors(line.slice(0, -1))[0];
      if (first === undefined || !splitAtVersion(first)) throw new Error(`yarn.lock v1: line ${lineNo}: entry key is not a name@range descriptor`);
      current = registryName(first);
      continue;
    }
    const m = /^ {2}"?version"?:?\s+"?([^"\s]+)"?\s*$/.exec(line);
    if (m && current) {
      out.push({ name: current, version: m[1] });
      current = undefined;
    }
  }
  return out;
}

/**
 * Parses a yarn berry (v2+) `yarn.lock`, which is YAML (https://yarnpkg.com/configuration/yarnrc
 * "lockfile"; entries carry `version` and `resolution: "name@protocol:ref"`). Only `npm:` resolutions
 * are registry packages; `workspace:`, `patch:`, `file:`, `link:`, `portal:` and VCS ones are skipped.
 */
export function parseYarnBerry(text: string): NpmEntry[] {
  const doc = parseYamlBounded(text, 'yarn.lock (berry)', 'single');
  if (!isRecord(doc)) throw new Error('yarn.lock (berry): top level is not a mapping');
  const out: NpmEntry[] = [];
  for (const [key, raw] of Object.entries(doc)) {
    if (key === '__metadata' || !isRecord(raw)) continue;
    const resolution = typeof raw.resolution === 'string' ? raw.resolution : descriptors(key)[0];
    const name = resolution === undefined ? undefined : registryName(resolution);
    const version = raw.version === undefined || raw.version === null ? '' : String(raw.version);
    if (name && version) out.push({ name, version });
  }
  return out;
}

/** Parses either yarn.lock flavour: berry files are recognised by their `__metadata` entry. */
export function parseYarnLock(text: string): NpmEntry[] {
  return /^__metadata:/m.test(text) ? parseYarnBerry(text) : parseYarnV1(text);
}

/** True for `yarn.lock` files. */
export function wantsYarnLock(path: string): boolean {
  return baseName(path) === 'yarn.lock';
}

/** Cataloger for yarn.lock (classic v1 and berry), not those inside an installed package (installed-package-files.ts). */
export const yarnLockCataloger: Cataloger = makeNpmCataloger(
  { name: 'yarn-lockfile', version: '1.2.0' }, projectLockfile(wantsYarnLock), (text) => parseYarnLock(text));
