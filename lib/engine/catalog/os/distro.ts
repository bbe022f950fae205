import { PackageURL } from 'packageurl-js';
import type { Ecosystem, Package } from '../../model';
import { distroRelease, type OsInfo } from './index';

/** Package managers whose packages belong to the image's distribution (their purls name it). */
const OS_ECOSYSTEMS: ReadonlySet<Ecosystem> = new Set(['Debian', 'Ubuntu', 'Alpine', 'RPM', 'opkg']);

/**
 * Completes OS packages once the whole image is known. A layer's inventory is computed from that layer
 * alone (so it can be cached and shared), but which distribution a dpkg or rpm database belongs to is
 * told by release files that may sit in another layer. So, after the overlay:
 * - dpkg packages of an Ubuntu image move to the `Ubuntu` ecosystem (OSV keeps Ubuntu advisories apart);
 * - purls get the distro id as namespace and a `distro=<id>-<version>` qualifier, as Syft and Trivy
 *   write them (purl-spec PURL-TYPES "deb", "rpm", "apk": namespace is the vendor, `distro` qualifier);
 * - each gets `distro`, the OSV ecosystem of its release (DESIGN.md "Match": OS packages match on
 *   source package and distro release).
 * Language packages are returned unchanged.
 */
export function applyDistro(packages: readonly Package[], os: OsInfo | undefined): Package[] {
  if (!os) return [...packages];
  const release = distroRelease(os);
  const qualifier = os.versionId ? `${os.id}-${os.versionId}` : undefined;
  return packages.map((p) => {
    if (!OS_ECOSYSTEMS.has(p.ecosystem)) return p;
    const ecosystem: Ecosystem = p.ecosystem === 'Debian' && os.id === 'ubuntu' ? 'Ubuntu' : p.ecosystem;
    let purl = p.purl;
    try {
      const u = PackageURL.fromString(p.purl);
      const namespace = u.type === 'opkg' ? u.namespace : os.id;
      const qualifiers = { ...(u.qualifiers ?? {}), ...(qualifier ? { distro: qualifier } : {}) };
      purl = new PackageURL(u.type, namespace ?? undefined, u.name, u.version ?? undefined, qualifiers, u.subpath ?? undefined).toString();
    } catch {
      // A purl we built ourselves always parses; if one ever does not, the package keeps its purl.
    }
    return { ...p, ecosystem, purl, ...(release ? { distro: release } : {}) };
  });
}
