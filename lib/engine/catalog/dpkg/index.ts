import { fileCataloger } from '../file-cataloger';
import { purl } from '../purl';
import type { Cataloger } from '../types';
import { isInstalledStatus, parseStanzas } from './control';

export { isInstalledStatus, parseStanzas } from './control';
export type { Stanza, StanzaParseResult } from './control';

/** One installed binary package from a dpkg database stanza. */
export interface DpkgEntry {
  readonly name: string;
  /** Full Debian version `[epoch:]upstream[-revision]` (deb-version(7)), unsplit. */
  readonly version: string;
  readonly arch?: string;
  /** `Source:` name, or the binary name when the field is absent (Debian Policy §5.6.1). */
  readonly sourceName: string;
  /** `Source: name (version)` version, or the binary version when none is given (Policy §5.6.1). */
  readonly sourceVersion: string;
}

/** What {@link parseDpkgStatus} found: installed packages and the stanzas/lines it could not use. */
export interface DpkgParseResult {
  readonly entries: DpkgEntry[];
  readonly problems: string[];
}

/** Options of {@link parseDpkgStatus}. */
export interface DpkgParseOptions {
  /**
   * A stanza without `Status:` counts as installed. True for distroless `status.d/*` files, which
   * carry only the control fields of packages that are installed; false for `/var/lib/dpkg/status`,
   * where dpkg always writes Status (a stanza without it is not an installed package).
   */
  readonly missingStatusIsInstalled?: boolean;
}

/** `Source: glibc (2.36-9)` → name + version; `Source: glibc` → name only (Debian Policy §5.6.1). */
export function parseSourceField(value: string): { name: string; version?: string } {
  const m = /^(\S+)(?:\s+\(([^)]*)\))?\s*$/.exec(value.trim());
  if (!m) return { name: value.trim() };
  const version = m[2]?.trim();
  return version ? { name: m[1], version } : { name: m[1] };
}

/**
 * Parses a dpkg status database (`/var/lib/dpkg/status` or one `status.d/*` file): one entry per
 * stanza whose Status is installed. Stanzas without Package or Version are reported as problems.
 */
export function parseDpkgStatus(text: string, options: DpkgParseOptions = {}): DpkgParseResult {
  const { stanzas, problems } = parseStanzas(text, 'dpkg database');
  const entries: DpkgEntry[] = [];
  for (const s of stanzas) {
    const status = s.fields.get('status');
    const installed = status === undefined ? options.missingStatusIsInstalled === true : isInstalledStatus(status);
    if (!installed) continue;
    const name = s.fields.get('package');
    const version = s.fields.get('version');
    if (!name || !version) {
      problems.push(`line ${s.line}: stanza ${name ? `"${name}" ` : ''}without ${name ? 'Version' : 'Package'}`);
      continue;
    }
    const src = s.fields.get('source');
    const parsed = src ? parseSourceField(src) : undefined;
    const arch = s.fields.get('architecture');
    entries.push({
      name, version,
      ...(arch ? { arch } : {}),
      sourceName: parsed?.name ?? name,
      sourceVersion: parsed?.version ?? version,
    });
  }
  return { entries, problems };
}

/** Distros whose dpkg packages this cataloger labels (OSV ecosystem + purl namespace). */
export type DpkgDistro = 'debian' | 'ubuntu';

const STATUS = '/var/lib/dpkg/status';
const STATUS_D = /^\/var\/lib\/dpkg\/status\.d\/[^/]+$/;

/** True for the dpkg database files: `status` and distroless `status.d/*` (not `*.md5sums`). */
export function dpkgWants(path: string): boolean {
  return path === STATUS || (STATUS_D.test(path) && !path.endsWith('.md5sums'));
}

/**
 * A dpkg cataloger for one distro (default Debian): ecosystem `Debian`/`Ubuntu`, purl
 * `pkg:deb/<distro>/<name>@<version>?arch=<arch>` (purl-spec PURL-TYPES "deb").
 */
export function createDpkgCataloger(distro: DpkgDistro = 'debian'): Cataloger {
  const ecosystem = distro === 'ubuntu' ? 'Ubuntu' : 'Debian';
  return fileCataloger<DpkgEntry>({
    name: 'dpkg-db',
    version: '1.1.0',
    wants: dpkgWants,
    onlyWanted: true,
    truncated: { policy: 'parse-then-note', reason: () => 'dpkg database truncated at the read limit: packages after the cut are missing' },
    parse: (f) => {
      const { entries, problems } = parseDpkgStatus(f.body.toString('utf8'), { missingStatusIsInstalled: f.path !== STATUS });
      return { items: entries, problems };
    },
    unreadableReason: (e) => `dpkg database unreadable: ${(e as Error).message}`,
    problemReason: (p) => `dpkg database: ${p}`,
    toPackage: (e) => ({
      ecosystem, name: e.name, version: e.version,
      purl: purl('deb', distro, e.name, e.version, { arch: e.arch }),
      sourceName: e.sourceName, sourceVersion: e.sourceVersion,
      ...(e.arch ? { arch: e.arch } : {}),
    }),
  });
}

/** The default dpkg cataloger (Debian). */
export const dpkgCataloger: Cataloger = createDpkgCataloger('debian');
