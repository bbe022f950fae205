import type { Cataloger } from '../types';
import { fileCataloger, type PackageFields } from '../file-cataloger';
import { purl } from '../purl';
import { parseCargoLock, type Crate } from './cargo-lock';
import { findElfSection, parseAuditableDepV0, type AuditableCrate } from './auditable';

export { parseCargoLock, type Crate } from './cargo-lock';
export { findElfSection, parseAuditableDepV0, type AuditableCrate } from './auditable';

const VERSION = '1.0.0';

function toPackage(c: Crate): PackageFields {
  return { ecosystem: 'crates.io', name: c.name, version: c.version, purl: purl('cargo', undefined, c.name, c.version) };
}

/** Crates from `Cargo.lock` files (every `[[package]]`, workspace members included). */
export const cargoLockCataloger: Cataloger = fileCataloger<Crate>({
  name: 'cargo-lock',
  version: VERSION,
  wants: (path: string) => path.endsWith('/Cargo.lock'),
  truncated: { policy: 'skip', reason: () => 'Cargo.lock truncated at the read limit; not parsed' },
  parse: (f) => parseCargoLock(f.body.toString('utf8')),
  unreadableReason: (e) => `Cargo.lock: ${(e as Error).message}`,
  toPackage,
});

/**
 * Crates embedded by cargo-auditable in the `.dep-v0` ELF section of Rust binaries. It asks for
 * files directly inside a `bin`/`sbin` directory (the path is all `wants` sees); files that are not
 * ELF or carry no `.dep-v0` section are silently not Rust-auditable binaries. Build-time crates
 * (`kind: "build"`) are not reported: they ran in build scripts and are not linked into the binary.
 * A truncated body whose section table lies beyond the read limit cannot be checked and is skipped.
 */
export const cargoAuditableCataloger: Cataloger = fileCataloger<AuditableCrate>({
  name: 'cargo-auditable',
  version: VERSION,
  wants: (path: string) => /\/s?bin\/[^/]+$/.test(path),
  parse: (f) => {
    const section = findElfSection(f.body, '.dep-v0');
    return section ? parseAuditableDepV0(section) : [];
  },
  unreadableReason: (e) => (e as Error).message,
  toPackage: (c) => (c.kind === 'runtime' ? toPackage(c) : undefined),
});
