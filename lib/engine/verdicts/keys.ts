/**
 * Package keys of the package → digest index (VerdictStore.indexPackages / digestsForPackage). Both
 * sides derive them the same way: a scan from its packages ({@link inventoryPackageKeys}), a feed sync
 * from the records that changed ({@link advisoryPackageKeys}). A key names exactly what the matcher
 * looks up in the advisory store, so a changed record finds every digest it can affect.
 */
import type { OsvRecord } from '../advisories/osv';
import { normalizePackageName } from '../advisories/names';
import { lookupKeys } from '../match/matcher';
import type { Package } from '../model';

/**
 * The key of `(ecosystem, name)` with `name` already normalised for the ecosystem: a JSON array, so
 * that no ecosystem (`Maven:https://…`) or name (`@scope/n`, Go paths, `g:a`) can make it ambiguous.
 */
export function packageKey(ecosystem: string, name: string): string {
  return JSON.stringify([ecosystem, name]);
}

/**
 * The keys the matcher looks up for these packages (OS packages: distro release and source package;
 * others: ecosystem and name), normalised, deduplicated and sorted. Packages the matcher cannot look
 * up (OS packages of an unknown release) have none.
 */
export function inventoryPackageKeys(packages: readonly Package[]): string[] {
  const keys = new Set<string>();
  for (const p of packages) {
    const ks = lookupKeys(p);
    if (typeof ks === 'string') continue;
    for (const k of ks) keys.add(packageKey(k.ecosystem, normalizePackageName(k.ecosystem, k.name)));
  }
  return [...keys].sort();
}

/** The keys an advisory record affects: each `affected[]` entry's ecosystem and normalised name, deduplicated and sorted. */
export function advisoryPackageKeys(record: Pick<OsvRecord, 'affected'>): string[] {
  return [...new Set(record.affected.map((a) => packageKey(a.ecosystem, normalizePackageName(a.ecosystem, a.name))))].sort();
}
