import type { Cataloger } from '../types';
import { fileCataloger, type PackageFields } from '../file-cataloger';
import { purl } from '../purl';
import { projectLockfile } from '../installed-package-files';
import { parseCargoLock, type Crate } from './cargo-lock';
import { findElfSection, parseAuditableDepV0, type AuditableCrate } from './auditable';

export { parseCargoLock, type Crate } from './cargo-lock';
export { findElfSection, parseAuditableDepV0, type AuditableCrate } from './auditable';

function toPackage(c: Crate): PackageFields {
  return { ecosystem: 'crates.io', name: c.name, version: c.version, purl: purl('cargo', undefined, c.name, c.version) };
}

/** Crates from `Cargo.lock` files (every `[[package]]`, workspace members included). */
export const cargoLockCataloger: Cataloger = fileCataloger<Crate>({
  name: 'cargo-lock',
  version: '1.2.0',
  // A crate's own Cargo.lock in Cargo's registry or git sources, or under vendor/, is not the image's (installed-package-files.ts).
  wants: projectLockfile((path: string) => path.endsWith('/Cargo.lock')),
  truncated: { policy: 'skip', reason: () => 'Cargo.lock truncated at the read limit; not parsed' },
  parse: (f) => parseCargoLock(f.body.toString('utf8')),
  unreadableReason: (e) => `Cargo.lock: ${(e as Error).message}`,
  toPackage,
});

/**
 * Crates embedded by cargo-auditable in the `.dep-v0` ELF section of Rust binaries. It asks for
 * files directly inside a `bin`/`sbin` directory (the path is all `wants` sees) and takes any ELF
 * body kept elsewhere ({@link Cataloger.wantsBody}: catalog/binary-extractor.ts keeps an executable
 * found anywhere when it carries `.dep-v0`); files that are not ELF or carry no `.dep-v0` section are
 * silently not Rust-auditable binaries. Build-time crates
 * (`kind: "build"`) are not reported: they ran in build scripts and are not linked into the binary.
 * A truncated ELF body in which no `.dep-v0` was found could not be checked: an unknown of class
 * `cut-by-cap` (it could be a Rust binary whose crates we did not see).
 */
export const cargoAuditableCataloger: Cataloger = {
  ...fileCataloger<AuditableCrate>({
    name: 'cargo-auditable',
    version: '1.2.0',
    wants: (path: string) => /\/s?bin\/[^/]+$/.test(path),
    parse: (f) => {
      const section = findElfSection(f.body, '.dep-v0');
      if (section) return parseAuditableDepV0(section);
      const elf = f.body.length >= 4 && f.body.readUInt32BE(0) === 0x7f454c46;
      return { items: [], problems: f.truncated && elf ? [{ reason: 'ELF binary truncated at the read limit: its .dep-v0 section could not be looked for', class: 'cut-by-cap' as const }] : [] };
    },
    unreadableReason: (e) => (e as Error).message,
    toPackage: (c) => (c.kind === 'runtime' ? toPackage(c) : undefined),
  }),
  wantsBody: (body: Buffer) => body.length >= 4 && body.readUInt32BE(0) === 0x7f454c46,
};
