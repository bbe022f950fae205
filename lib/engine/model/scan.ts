import type { Digest } from './digest';
import type { OsInfo } from './os';
import type { Package, Unknown } from './package';

/**
 * One feed as a scan report and a stored verdict name it: which source, which revision of it the store
 * holds completely, and whether its latest sync finished (issue 13, "Feeds that know what they don't
 * know"). Coverage (match/coverage.ts) counts a source only for the `ecosystems` of a complete read.
 */
export interface FeedInfo {
  readonly source: string;
  /** When the last complete read finished (or was last confirmed unchanged); absent when it never completed. */
  readonly syncedAt?: string;
  /** Newest `modified` of its records. */
  readonly modified?: string;
  /** Records taken in the last complete read. */
  readonly records?: number;
  /**
   * The latest sync's status (ports.ts `FeedStatus`); absent when the source was never synced or was
   * synced by a version that did not record it — then it covers nothing.
   */
  readonly status?: 'complete' | 'in-progress' | 'failed';
  /** The revision of the export (ETag, Last-Modified, size+mtime) last read completely. */
  readonly revision?: string;
  /**
   * OSV ecosystems (`PyPI`, `npm`, `Debian:12`, `Alpine:v3.19`) present in the records of the source's
   * complete reads, sorted; absent when it never completed a read (it then covers nothing).
   */
  readonly ecosystems?: readonly string[];
  /** The revision an in-progress or failed sync was reading. */
  readonly pending?: string;
  /** Why the latest sync failed. */
  readonly error?: string;
}

/** How one layer was handled. */
export interface LayerScan {
  readonly digest: Digest;
  /** True when the layer's result came from the cache and its blob was not downloaded. */
  readonly cached: boolean;
  /** Packages this layer's own files declare (before the overlay). */
  readonly packages: number;
}

/** The inventory of a file tree: what a container started from it would have installed. */
export interface Inventory {
  readonly os?: OsInfo;
  readonly packages: readonly Package[];
  /** What could not be examined (layer entries, catalogers, checks, matching), with its class and place. */
  readonly unknowns: readonly Unknown[];
}
