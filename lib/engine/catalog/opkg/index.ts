import { parseDpkgStatus, type DpkgEntry } from '../dpkg';
import { fileCataloger } from '../file-cataloger';
import { purl } from '../purl';
import type { Cataloger } from '../types';

/**
 * Parses an opkg status database. opkg (OpenWrt, Yocto/OpenEmbedded) keeps dpkg's control-stanza
 * format (deb-control(5)) with `Status: install user installed` / `install ok installed`; a stanza
 * without Status is not installed (opkg always writes it).
 */
export function parseOpkgStatus(text: string): { entries: DpkgEntry[]; problems: string[] } {
  return parseDpkgStatus(text, { missingStatusIsInstalled: false });
}

/** opkg keeps its status file at `/usr/lib/opkg/status` (OpenWrt, Yocto) or `/var/lib/opkg/status`. */
const PATHS = new Set(['/usr/lib/opkg/status', '/var/lib/opkg/status']);

/**
 * The opkg cataloger: ecosystem `opkg`, purl `pkg:opkg/<name>@<version>?arch=<arch>` (no purl type is
 * registered for opkg in purl-spec PURL-TYPES; `opkg` is the type the ecosystem name suggests).
 */
export const opkgCataloger: Cataloger = fileCataloger<DpkgEntry>({
  name: 'opkg-db',
  version: '1.1.0',
  wants: (path: string): boolean => PATHS.has(path),
  onlyWanted: true,
  truncated: { policy: 'parse-then-note', reason: () => 'opkg database truncated at the read limit: packages after the cut are missing' },
  parse: (f) => {
    const { entries, problems } = parseOpkgStatus(f.body.toString('utf8'));
    return { items: entries, problems };
  },
  unreadableReason: (e) => `opkg database unreadable: ${(e as Error).message}`,
  problemReason: (p) => `opkg database: ${p}`,
  toPackage: (e) => ({
    ecosystem: 'opkg', name: e.name, version: e.version,
    purl: purl('opkg', undefined, e.name, e.version, { arch: e.arch }),
    sourceName: e.sourceName, sourceVersion: e.sourceVersion,
    ...(e.arch ? { arch: e.arch } : {}),
  }),
});
