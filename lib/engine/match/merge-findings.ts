/**
 * One finding per vulnerability of one package version (issue 14, "One finding per (vulnerability,
 * package, version), carrying every location"). The matcher judges each catalogued package on its
 * own, so an image holding three copies of `lodash@4.17.4` in three `node_modules` folders, or
 * `cryptography` seen through both its dist-info and an egg-info, gets the same vulnerability once
 * per copy; a reader counts one problem, fixes it once, and the policy judges it once.
 */
import type { Finding } from '../model';

/** One place a finding's package was found. */
export interface FindingLocation {
  readonly layer: string;
  readonly path: string;
}

/**
 * The identity of a package finding: advisory id, package purl, installed version. Vulnerabilities and
 * the malware findings of OpenSSF `MAL-` records (which name a package) merge alike; malware found in a
 * file's bytes has no package and stays one finding per file.
 */
function keyOf(f: Finding): string | undefined {
  if ((f.type !== 'vulnerability' && f.type !== 'malware') || f.package === undefined) return undefined;
  const version = (f as Finding & { installedVersion?: string }).installedVersion ?? '';
  return `${f.id}\0${f.package}\0${version}`;
}

function locationsOf(f: Finding): FindingLocation[] {
  if (f.locations && f.locations.length > 0) return f.locations.map((l) => ({ layer: l.layer, path: l.path }));
  return f.layer !== undefined || f.path !== undefined ? [{ layer: f.layer ?? '', path: f.path ?? '' }] : [];
}

const byPathThenLayer = (a: FindingLocation, b: FindingLocation): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : a.layer < b.layer ? -1 : a.layer > b.layer ? 1 : 0;

/**
 * Merges package findings (vulnerabilities, `MAL-` malware) with the same (id, package purl, installed version) into one, in the
 * order of their first occurrence: the first one's fields are kept, `locations` lists every location
 * of the group (deduplicated, sorted by path then layer), and `layer`/`path` are the first of them.
 * Every other finding (malware found in a file, secrets, misconfigurations, unscannable, a vulnerability without a
 * package) is passed through unchanged, in place. Pure: the inputs are not modified.
 */
export function mergeFindings<T extends Finding>(findings: readonly T[]): T[] {
  const out: (T | undefined)[] = [];
  const groups = new Map<string, { index: number; first: T; locations: Map<string, FindingLocation> }>();
  for (const f of findings) {
    const key = keyOf(f);
    if (key === undefined) {
      out.push(f);
      continue;
    }
    let g = groups.get(key);
    if (!g) {
      g = { index: out.length, first: f, locations: new Map() };
      groups.set(key, g);
      out.push(undefined);
    }
    for (const l of locationsOf(f)) g.locations.set(`${l.layer}\0${l.path}`, l);
  }
  for (const g of groups.values()) {
    const locations = [...g.locations.values()].sort(byPathThenLayer);
    out[g.index] = locations.length === 0 ? g.first : { ...g.first, layer: locations[0].layer, path: locations[0].path, locations };
  }
  return out as T[];
}
