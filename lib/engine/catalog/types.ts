import type { Digest, Package, PluginId, Unknown } from '../model';

/** A file a cataloger asked for, with its body as captured from the layer stream. */
export interface CatalogFile {
  /** Canonical absolute path in the image, e.g. `/var/lib/dpkg/status`. */
  readonly path: string;
  readonly layer: Digest;
  readonly body: Buffer;
  /** The body was cut at `maxCatalogFileBytes` (the reader also records a `cut-by-cap` unknown): parse what is there, record an unknown. */
  readonly truncated: boolean;
}

/** What a cataloger found in the files it was given. */
export interface CatalogResult {
  readonly packages: Package[];
  readonly unknowns: Unknown[];
}

/**
 * A package cataloger plug-in (in the style of Syft's catalogers and Trivy's analyzers): it names the
 * paths it wants — only those bodies are read from the layer stream — and turns those files into
 * packages. Bad input becomes an {@link Unknown} with layer and path; a cataloger never throws.
 */
export interface Cataloger extends PluginId {
  /** True for paths whose bodies this cataloger needs (called for every file entry: keep it cheap). */
  wants(path: string): boolean;
  /**
   * True for a body this cataloger takes whatever its path (binaries found by content, see
   * catalog/binary-extractor.ts): called for bodies kept for any reason; look at the first bytes only.
   */
  wantsBody?(body: Buffer): boolean;
  /** Packages from the wanted files. Files arrive grouped per layer, in path order. */
  catalog(files: readonly CatalogFile[]): CatalogResult;
}
