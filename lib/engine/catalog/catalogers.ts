import { apkCataloger } from './apk';
import { cargoAuditableCataloger, cargoLockCataloger } from './cargo';
import { composerInstalledCataloger, composerLockCataloger } from './composer';
import { dotnetDepsCataloger, nugetLockCataloger } from './dotnet';
import { dpkgCataloger } from './dpkg';
import { gemfileLockCataloger, gemspecCataloger } from './gem';
import { goBinaryCataloger, goModCataloger } from './golang';
import { gradleLockfileCataloger, javaArchiveCataloger } from './maven';
import { npmCatalogers } from './npm';
import { opkgCataloger } from './opkg';
import { pypiLockCataloger, pypiMetadataCataloger } from './pypi';
import { rpmCataloger } from './rpm';
import type { Cataloger } from './types';

/**
 * Every package cataloger, in one explicit list (as Syft's and Grype's plug-in families are): adding a
 * cataloger means adding it here, and each one's name and version become part of the layer-cache key
 * (DESIGN.md "Rules of the house"), so fixing a parser re-scans what it touched.
 */
export const CATALOGERS: readonly Cataloger[] = [
  dpkgCataloger,
  apkCataloger,
  rpmCataloger,
  opkgCataloger,
  ...npmCatalogers,
  pypiMetadataCataloger,
  pypiLockCataloger,
  goBinaryCataloger,
  goModCataloger,
  javaArchiveCataloger,
  gradleLockfileCataloger,
  gemspecCataloger,
  gemfileLockCataloger,
  cargoLockCataloger,
  cargoAuditableCataloger,
  dotnetDepsCataloger,
  nugetLockCataloger,
  composerLockCataloger,
  composerInstalledCataloger,
];

/** `name@version` of every cataloger, sorted: the catalogers' part of the layer-cache key. */
export function catalogerFingerprint(catalogers: readonly Cataloger[] = CATALOGERS): string {
  return catalogers.map((c) => `${c.name}@${c.version}`).sort().join(',');
}
