import { apkScheme } from './apk';
import { dpkgScheme } from './dpkg';
import { goScheme } from './go';
import { mavenScheme } from './maven';
import { nugetScheme } from './nuget';
import { packagistScheme } from './packagist';
import { pep440Scheme } from './pep440';
import { rpmScheme } from './rpm';
import { rubygemsScheme } from './rubygems';
import type { VersionScheme } from './scheme';
import { osvSemverScheme, semverScheme } from './semver';

/**
 * Every ecosystem version scheme, in one explicit list (DESIGN.md "versions/"): each with a name and a
 * version, each owning the OSV ecosystems it orders. No ecosystem is owned twice. The SemVer of OSV
 * `SEMVER` ranges ({@link osvSemverScheme}) owns no ecosystem and is reached through {@link SCHEMES}.
 */
export const VERSION_SCHEMES: readonly VersionScheme[] = [
  dpkgScheme,
  apkScheme,
  rpmScheme,
  semverScheme,
  goScheme,
  pep440Scheme,
  mavenScheme,
  rubygemsScheme,
  nugetScheme,
  packagistScheme,
];

const BY_ECOSYSTEM: ReadonlyMap<string, VersionScheme> = new Map(VERSION_SCHEMES.flatMap((s) => s.ecosystems.map((e) => [e, s] as const)));

/**
 * The scheme that orders an OSV ecosystem's versions, or undefined for an ecosystem we cannot order.
 * A release suffix (https://ossf.github.io/osv-schema/#affectedpackage-field) is ignored: `Debian:12`
 * → Debian, `Alpine:v3.19` → Alpine, `Ubuntu:22.04:LTS` → Ubuntu, `Rocky Linux:9` → Rocky Linux.
 * Names match exactly (OSV ecosystem names are case-sensitive: `PyPI`, `crates.io`).
 */
export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const colon = ecosystem.indexOf(':');
  return BY_ECOSYSTEM.get(colon >= 0 ? ecosystem.slice(0, colon) : ecosystem);
}

/** The registry the matcher takes: {@link schemeFor} plus the SemVer of OSV `SEMVER` ranges. */
export const SCHEMES = { schemeFor, semver: osvSemverScheme } as const;

/** `name@version` of every scheme (and of the OSV SemVer), sorted: part of the key of a stored evaluation. */
export function schemeFingerprint(): string {
  return [...VERSION_SCHEMES, osvSemverScheme].map((s) => `${s.name}@${s.version}`).sort().join(',');
}
