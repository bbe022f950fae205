import type { FileTree } from '../layers/file-tree';
import type { LayerResult } from '../layers/layer-reader';
import { UNKNOWN_CLASSES, type Digest, type Package, type Unknown } from '../model';
import { CATALOGERS } from './catalogers';
import type { CatalogFile, Cataloger } from './types';

/**
 * The packages one layer's own files declare, computed from that layer alone — so it can be cached
 * by layer digest plus {@link catalogerFingerprint} and reused by every image that shares the layer
 * (DESIGN.md "The data's way", step 2).
 */
export interface LayerInventory {
  readonly layer: Digest;
  readonly packages: readonly Package[];
  readonly unknowns: readonly Unknown[];
}

/** The predicate to hand `readLayer`: true for any path some cataloger wants. */
export function catalogWants(catalogers: readonly Cataloger[] = CATALOGERS): (path: string) => boolean {
  return (path) => catalogers.some((c) => c.wants(path));
}

/**
 * One cataloger over its files, never throwing: a cataloger must not throw (see {@link Cataloger}), but
 * if one does — a bug, a stack overflow, an out-of-range allocation — its files become unknowns of
 * class `parse-error` (they could hold packages we did not report) and the other catalogers still
 * run. Every unknown it returns carries a class (one it did not set is `parse-error`: fail closed)
 * and a consumer (the cataloger, when it named none).
 */
export function runCataloger(c: Cataloger, files: readonly CatalogFile[]): { packages: Package[]; unknowns: Unknown[] } {
  let packages: Package[];
  let unknowns: readonly Unknown[];
  try {
    const r = c.catalog(files);
    packages = r.packages;
    unknowns = r.unknowns;
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return {
      packages: [],
      unknowns: files.map((f) => ({ layer: f.layer, path: f.path, reason: `cataloger ${c.name} failed: ${why}`, class: 'parse-error', consumer: c.name })),
    };
  }
  return {
    packages,
    unknowns: unknowns.map((u) => {
      const known = u.class !== undefined && (UNKNOWN_CLASSES as readonly string[]).includes(u.class);
      return known && u.consumer !== undefined ? u : { ...u, class: known ? u.class : 'parse-error', consumer: u.consumer ?? c.name };
    }),
  };
}

/** Runs each cataloger over the bodies it wanted from one layer (files in path order). */
export function catalogLayer(layer: LayerResult, catalogers: readonly Cataloger[] = CATALOGERS): LayerInventory {
  const files: CatalogFile[] = [];
  for (const e of layer.entries.values()) {
    if (e.body) files.push({ path: e.path, layer: e.layer, body: e.body, truncated: e.truncated === true });
  }
  return catalogFiles(layer.digest, files, catalogers);
}

/**
 * Runs each cataloger (through {@link runCataloger}: never throws) over the files of one layer it
 * wants, in path order — {@link catalogLayer} once the bodies are out of the layer stream.
 */
export function catalogFiles(layer: Digest, layerFiles: readonly CatalogFile[], catalogers: readonly Cataloger[] = CATALOGERS): LayerInventory {
  const files = [...layerFiles].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const packages: Package[] = [];
  const unknowns: Unknown[] = [];
  for (const c of catalogers) {
    const mine = files.filter((f) => c.wants(f.path) || (c.wantsBody?.(f.body) ?? false));
    if (mine.length === 0) continue;
    const r = runCataloger(c, mine);
    // One at a time: spreading a few hundred thousand arguments overflows the stack.
    for (const p of r.packages) packages.push(p);
    for (const u of r.unknowns) unknowns.push(u);
  }
  return { layer, packages, unknowns };
}

/**
 * The image inventory as the overlay of its layers' inventories: a package found in a layer stays
 * only while the file it came from is still the one a container sees — an upper layer that rewrites
 * the database, a whiteout or an opaque directory removes it (OCI image-spec layer.md, "Whiteouts").
 */
export function overlayInventories(inventories: readonly LayerInventory[], tree: FileTree): Package[] {
  const out: Package[] = [];
  for (const inv of inventories) {
    for (const p of inv.packages) {
      const visible = p.locations.filter((l) => tree.get(l.path)?.layer === l.layer);
      if (visible.length > 0) out.push(visible.length === p.locations.length ? p : { ...p, locations: visible });
    }
  }
  return out;
}
