import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest, Package } from '../../../../lib/engine/model';
import type { CatalogFile } from '../../../../lib/engine/catalog/types';
import { corpusPath } from '../../../helpers/corpus';

/** A package as a peer scanner asserts it (expected.json `cases[].packages[]`, the fields we compare). */
export interface PeerPackage {
  name: string;
  version?: string | null;
  epoch?: number;
  release?: string;
  srcName?: string | null;
  srcVersion?: string | null;
  srcEpoch?: number;
  srcRelease?: string;
  arch?: string | null;
}

/** expected.json of one pkgdb fixture folder (see ../shared/corpus/pkgdb/README.md). */
export interface Expected {
  peer: string;
  input: string;
  cases: Array<{ test: string; packages: PeerPackage[] }>;
}

/** Fixture folder names under pkgdb/<ecosystem>. */
export function fixtures(ecosystem: string): string[] {
  return readdirSync(corpusPath('pkgdb', ecosystem), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/** The fixture's expected.json and its input file as a CatalogFile at its in-image path. */
export function loadFixture(ecosystem: string, folder: string): { expected: Expected; file: CatalogFile } {
  const dir = corpusPath('pkgdb', ecosystem, folder);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const file: CatalogFile = {
    path: `/${expected.input}`,
    layer: `sha256:${'0'.repeat(64)}` as Digest,
    body: readFileSync(join(dir, expected.input)),
    truncated: false,
  };
  return { expected, file };
}

/** The fields compared with the corpus. */
export interface Compared { name: string; version: string; sourceName?: string; sourceVersion?: string }

/** Sorted by name then version (trivy sorts its result before comparing, so peer order is not meaningful). */
export function sorted(list: Compared[]): Compared[] {
  return [...list].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/**
 * Asserts that the cataloger's `packages` are exactly the peer's in every case of the fixture — less
 * the packages where we deliberately differ (`disagreements`), the peer's fields read by `fromPeer` —
 * and carry the peer's architecture where it gives one.
 */
export function expectPeerPackages(
  packages: readonly Package[],
  expected: Expected,
  disagreements: ReadonlyArray<{ name: string }>,
  fromPeer: (p: PeerPackage) => Compared,
): void {
  const got = sorted(packages.map((p) => ({ name: p.name, version: p.version, sourceName: p.sourceName, sourceVersion: p.sourceVersion })));
  for (const c of expected.cases) {
    expect(got).toEqual(sorted(c.packages.filter((p) => !disagreements.some((d) => d.name === p.name)).map(fromPeer)));
    for (const p of c.packages) if (p.arch) expect(packages.find((q) => q.name === p.name)?.arch).toBe(p.arch);
  }
}

/**
 * trivy splits a Debian version `[epoch:]upstream[-revision]` (deb-version(7)) into
 * epoch / version / release; reassemble the string dpkg wrote.
 */
export function debVersion(epoch: number | undefined, version: string, release: string | undefined): string {
  return `${epoch ? `${epoch}:` : ''}${version}${release ? `-${release}` : ''}`;
}
