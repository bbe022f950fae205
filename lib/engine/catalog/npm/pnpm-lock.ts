import { parseYamlBounded } from '../bounded-yaml';
import { type NpmEntry, baseName, isRecord, makeNpmCataloger, splitAtVersion } from './common';
import type { Cataloger } from '../types';
import { projectLockfile } from '../installed-package-files';

/** A registry version as pnpm writes it in keys: semver, optionally followed by a peer suffix. */
const SEMVER = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/;

/**
 * Name and version from a `packages` key, per lockfile generation
 * (https://github.com/pnpm/spec/tree/master/lockfile):
 * v5 `/name/1.0.0` or `/@scope/name/1.0.0_peer@1`, v6 `/name@1.0.0(peer@1)`, v9 `name@1.0.0(peer@1)`.
 * Returns undefined for keys that are not registry ids (tarball URLs, `file:` folders): those entries
 * carry `name`/`version` fields instead.
 */
function fromKey(key: string, v5: boolean): { name: string; version: string } | undefined {
  let k = key.replace(/\(.*$/, ''); // v6+/v9 peer suffix
  if (v5) {
    if (!k.startsWith('/')) return undefined;
    k = k.slice(1);
    const slash = k.lastIndexOf('/');
    if (slash <= 0) return undefined;
    const name = k.slice(0, slash);
    const version = k.slice(slash + 1).replace(/_.*$/, ''); // v5 peer suffix
    return SEMVER.test(version) ? { name, version } : undefined;
  }
  if (k.startsWith('/')) k = k.slice(1);
  const parts = splitAtVersion(k);
  if (!parts || !SEMVER.test(parts[1])) return undefined;
  return { name: parts[0], version: parts[1] };
}

/**
 * Parses `pnpm-lock.yaml` (lockfile v5.x, v6.x and v9.x). Every entry of `packages` is a package;
 * its name and version come from the entry's `name`/`version` fields when present (tarball and
 * folder dependencies), else from the key. Dev flags are kept where v5/v6 record them (`dev: true`);
 * v9 no longer records them. In a multi-document file (pnpm 11 writes its own `packageManagerDependencies`
 * document first) only the last document — the project's lockfile — is read.
 * Entries without a derivable version (e.g. a v9 `file:` folder with no `version`) are dropped.
 * The YAML is read within `PARSE_BOUNDS` (documents, tokens, nesting, aliases: {@link parseYamlBounded}).
 */
export function parsePnpmLock(text: string): NpmEntry[] {
  const doc = parseYamlBounded(text, 'pnpm-lock', 'last');
  if (!isRecord(doc)) throw new Error('pnpm-lock: top level is not a mapping');
  const lv = parseFloat(String(doc.lockfileVersion ?? ''));
  if (!Number.isFinite(lv)) throw new Error('pnpm-lock: no lockfileVersion');
  const v5 = lv < 6;
  const out: NpmEntry[] = [];
  if (doc.packages === undefined || doc.packages === null) return out;
  if (!isRecord(doc.packages)) throw new Error('pnpm-lock: "packages" is not a mapping');
  for (const [key, raw] of Object.entries(doc.packages)) {
    const info = isRecord(raw) ? raw : {};
    const parsed = fromKey(key, v5);
    const name = typeof info.name === 'string' ? info.name : parsed?.name ?? splitAtVersion(key.replace(/^\//, ''))?.[0];
    const version = typeof info.version === 'string' ? info.version : parsed?.version;
    if (!name || !version) continue;
    out.push({ name, version, dev: info.dev === true || undefined });
  }
  return out;
}

/** True for `pnpm-lock.yaml` files. */
export function wantsPnpmLock(path: string): boolean {
  return baseName(path) === 'pnpm-lock.yaml';
}

/** Cataloger for pnpm-lock.yaml, not those inside an installed package (installed-package-files.ts). */
export const pnpmLockCataloger: Cataloger = makeNpmCataloger(
  { name: 'pnpm-lockfile', version: '1.2.0' }, projectLockfile(wantsPnpmLock), (text) => parsePnpmLock(text));
