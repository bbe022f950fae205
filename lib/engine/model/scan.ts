import type { Digest } from './digest';
import type { OsInfo } from './os';
import type { Package, Unknown } from './package';

/** One feed as a scan report names it. */
export interface FeedInfo {
  readonly source: string;
  readonly syncedAt?: string;
  /** Newest `modified` of its records. */
  readonly modified?: string;
  readonly records?: number;
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
