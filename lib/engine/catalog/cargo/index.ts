import type { CatalogFile, CatalogResult, Cataloger } from '../types';
import type { Package, Unknown } from '../../model';
import { purl } from '../purl';
import { parseCargoLock, type Crate } from './cargo-lock';
import { findElfSection, parseAuditableDepV0 } from './auditable';

export { parseCargoLock, type Crate } from './cargo-lock';
export { findElfSection, parseAuditableDepV0, type AuditableCrate } from './auditable';

const VERSION = '1.0.0';

function toPackage(c: Crate, f: CatalogFile, cataloger: string): Package {
  return {
    ecosystem: 'crates.io',
    name: c.name,
    version: c.version,
    purl: purl('cargo', undefined, c.name, c.version),
    locations: [{ layer: f.layer, path: f.path }],
    cataloger: { name: cataloger, version: VERSION },
  };
}

const LOCK_NAME = 'cargo-lock';

/** Crates from `Cargo.lock` files (every `[[package]]`, workspace members included). */
export const cargoLockCataloger: Cataloger = {
  name: LOCK_NAME,
  version: VERSION,
  wants: (path: string) => path.endsWith('/Cargo.lock'),
  catalog(files: readonly CatalogFile[]): CatalogResult {
    const packages: Package[] = [];
    const unknowns: Unknown[] = [];
    for (const f of files) {
      if (f.truncated) { unknowns.push({ layer: f.layer, path: f.path, reason: 'Cargo.lock truncated at the read limit; not parsed' }); continue; }
      try {
        for (const c of parseCargoLock(f.body.toString('utf8'))) packages.push(toPackage(c, f, LOCK_NAME));
      } catch (e) {
        unknowns.push({ layer: f.layer, path: f.path, reason: `Cargo.lock: ${(e as Error).message}` });
      }
    }
    return { packages, unknowns };
  },
};

const AUDITABLE_NAME = 'cargo-auditable';

/**
 * Crates embedded by cargo-auditable in the `.dep-v0` ELF section of Rust binaries. It asks for
 * files directly inside a `bin`/`sbin` directory (the path is all `wants` sees); files that are not
 * ELF or carry no `.dep-v0` section are silently not Rust-auditable binaries. Build-time crates
 * (`kind: "build"`) are not reported: they ran in build scripts and are not linked into the binary.
 * A truncated body whose section table lies beyond the read limit cannot be checked and is skipped.
 */
export const cargoAuditableCataloger: Cataloger = {
  name: AUDITABLE_NAME,
  version: VERSION,
  wants: (path: string) => /\/s?bin\/[^/]+$/.test(path),
  catalog(files: readonly CatalogFile[]): CatalogResult {
    const packages: Package[] = [];
    const unknowns: Unknown[] = [];
    for (const f of files) {
      const section = findElfSection(f.body, '.dep-v0');
      if (!section) continue;
      try {
        for (const c of parseAuditableDepV0(section)) if (c.kind === 'runtime') packages.push(toPackage(c, f, AUDITABLE_NAME));
      } catch (e) {
        unknowns.push({ layer: f.layer, path: f.path, reason: (e as Error).message });
      }
    }
    return { packages, unknowns };
  },
};
