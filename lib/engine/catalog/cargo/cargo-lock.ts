import { parseTomlBounded } from '../bounds';

/** One crate from a Cargo.lock or a cargo-auditable manifest. */
export interface Crate {
  readonly name: string;
  readonly version: string;
  /** `registry+https://…`, `git+https://…`, absent for path/workspace crates. */
  readonly source?: string;
}

/**
 * Parses a Cargo.lock (TOML; the Cargo Book "Cargo.lock" / cargo's `EncodableResolve`): every
 * `[[package]]` table with its `name`, `version` and optional `source`. Lockfile versions 1–4 share
 * this table (v1 additionally has a `[metadata]` checksum table, which is ignored). Workspace
 * members (no `source`) are included: they are what was built.
 * @throws Error on invalid TOML or a `[[package]]` without a string name/version.
 */
export function parseCargoLock(text: string): Crate[] {
  const doc = parseTomlBounded(text, 'Cargo.lock') as { package?: unknown };
  if (doc.package === undefined) return [];
  if (!Array.isArray(doc.package)) throw new Error('Cargo.lock: `package` is not an array of tables');
  return doc.package.map((p: unknown, i: number) => {
    const t = p as { name?: unknown; version?: unknown; source?: unknown };
    if (typeof t.name !== 'string' || typeof t.version !== 'string' || !t.name || !t.version) {
      throw new Error(`Cargo.lock: [[package]] #${i + 1} has no name/version`);
    }
    return typeof t.source === 'string' ? { name: t.name, version: t.version, source: t.source } : { name: t.name, version: t.version };
  });
}
