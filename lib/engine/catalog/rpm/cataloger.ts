import type { Package, Unknown, UnknownClass } from '../../model';
import { classOfParseFailure } from '../file-cataloger';
import { purl } from '../purl';
import type { Cataloger, CatalogFile, CatalogResult } from '../types';
import { isBdbHash, readBdbBlobs } from './bdb';
import type { BlobsResult } from './blobs';
import { fail } from './errors';
import { parseRpmHeader, splitSourceRpm, type RpmHeader } from './header';
import { parseRpmManifest } from './manifest';
import { isNdb, readNdbBlobs } from './ndb';
import { isSqlite, readSqliteBlobs } from './sqlite';

const DB_DIRS = ['/var/lib/rpm/', '/usr/lib/sysimage/rpm/', '/usr/share/rpm/'];
const DB_FILES = new Set(['Packages', 'Packages.db', 'rpmdb.sqlite']);
const MANIFEST_PATH = '/var/lib/rpmmanifest/container-manifest-2';

export const RPM_CATALOGER_NAME = 'rpm-db';
export const RPM_CATALOGER_VERSION = '2';

/** Reads the header blobs of any rpmdb backend, chosen by the file's magic (not its name). */
export function readRpmDbBlobs(body: Buffer): BlobsResult {
  if (isSqlite(body)) return readSqliteBlobs(body);
  if (isNdb(body)) return readNdbBlobs(body);
  if (isBdbHash(body)) return readBdbBlobs(body);
  return fail('not an rpm database (no SQLite, NDB or Berkeley DB hash magic)');
}

/** `[epoch:]version-release`, as the OSV/RPM ecosystems compare (epoch 0 is the same as none). */
export function rpmVersion(h: Pick<RpmHeader, 'epoch' | 'version' | 'release'>): string {
  const vr = h.release ? `${h.version}-${h.release}` : h.version;
  return h.epoch ? `${h.epoch}:${vr}` : vr;
}

export interface RpmCatalogerOptions {
  /** purl namespace (the distro id, e.g. `fedora`, `opensuse`); omitted when unknown. */
  readonly namespace?: string;
}

function toPackage(h: RpmHeader, file: CatalogFile, opts: RpmCatalogerOptions): Package {
  const src = splitSourceRpm(h.sourceRpm);
  const vr = h.release ? `${h.version}-${h.release}` : h.version;
  return {
    ecosystem: 'RPM',
    name: h.name,
    version: rpmVersion(h),
    purl: purl('rpm', opts.namespace, h.name, vr, {
      arch: h.arch,
      epoch: h.epoch ? String(h.epoch) : undefined,
      upstream: h.sourceRpm && h.sourceRpm !== '(none)' ? h.sourceRpm : undefined,
    }),
    ...(src ? { sourceName: src.name, sourceVersion: rpmVersion({ epoch: h.epoch, version: src.version, release: src.release }) } : {}),
    ...(h.arch ? { arch: h.arch } : {}),
    locations: [{ layer: file.layer, path: file.path }],
    cataloger: { name: RPM_CATALOGER_NAME, version: RPM_CATALOGER_VERSION },
  };
}

/** Parses one rpmdb file (or the CBL-Mariner container manifest): packages plus unknowns for whatever could not be read. Never throws. */
export function catalogRpmDb(file: CatalogFile, opts: RpmCatalogerOptions = {}): CatalogResult & { headers: RpmHeader[] } {
  const packages: Package[] = [];
  const headers: RpmHeader[] = [];
  const unknowns: Unknown[] = [];
  const unknown = (reason: string, cls: UnknownClass = 'parse-error'): void => {
    unknowns.push({ layer: file.layer, path: file.path, reason, class: cls, consumer: RPM_CATALOGER_NAME });
  };
  if (file.truncated) unknown('rpm database truncated at the read limit; packages past the cut are missing', 'cut-by-cap');
  const keep = (h: RpmHeader): void => {
    // gpg-pubkey "packages" are imported signing keys, not software (skipped by go-rpmdb users, syft, trivy).
    if (h.name === 'gpg-pubkey') return;
    headers.push(h);
    packages.push(toPackage(h, file, opts));
  };
  if (file.path === MANIFEST_PATH) {
    let m: ReturnType<typeof parseRpmManifest>;
    try {
      m = parseRpmManifest(file.body.toString('utf8'));
    } catch (e) {
      unknown(`rpm manifest unreadable: ${(e as Error).message}`, classOfParseFailure(e));
      return { packages, unknowns, headers };
    }
    for (const err of m.errors) unknown(`rpm manifest: ${err}`);
    m.headers.forEach(keep);
    return { packages, unknowns, headers };
  }
  let res: BlobsResult;
  try {
    res = readRpmDbBlobs(file.body);
  } catch (e) {
    unknown(`rpm database unreadable: ${(e as Error).message}`, classOfParseFailure(e));
    return { packages, unknowns, headers };
  }
  for (const err of res.errors) unknown(`rpm database: ${err}`);
  for (const [i, blob] of res.blobs.entries()) {
    let h: RpmHeader;
    try {
      h = parseRpmHeader(blob);
    } catch (e) {
      unknown(`rpm header #${i}: ${(e as Error).message}`, classOfParseFailure(e));
      continue;
    }
    keep(h);
  }
  return { packages, unknowns, headers };
}

export function isRpmDbPath(path: string): boolean {
  if (path === MANIFEST_PATH) return true;
  const slash = path.lastIndexOf('/');
  return DB_FILES.has(path.slice(slash + 1)) && DB_DIRS.includes(path.slice(0, slash + 1));
}

/**
 * Cataloger plug-in for rpm databases (BerkeleyDB `Packages`, NDB `Packages.db`, SQLite `rpmdb.sqlite`
 * under /var/lib/rpm, /usr/lib/sysimage/rpm or /usr/share/rpm) and the CBL-Mariner distroless
 * manifest `/var/lib/rpmmanifest/container-manifest-2`.
 */
export function createRpmCataloger(opts: RpmCatalogerOptions = {}): Cataloger {
  return {
    name: RPM_CATALOGER_NAME,
    version: RPM_CATALOGER_VERSION,
    wants: isRpmDbPath,
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      for (const f of files) {
        if (!isRpmDbPath(f.path)) continue;
        const r = catalogRpmDb(f, opts);
        for (const p of r.packages) packages.push(p);
        for (const u of r.unknowns) unknowns.push(u);
      }
      return { packages, unknowns };
    },
  };
}

export const rpmCataloger: Cataloger = createRpmCataloger();
