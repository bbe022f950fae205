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

/**
 * What a scan accounted for (issue 13, "Completeness as a first-class result"): tar members, the
 * regular-file bytes present, and the bytes each consumer examined — the content checks by name and
 * `catalogers` for the bodies captured whole. Every member is either examined in full by the content
 * checks or an unknown with a class.
 */
export interface Coverage {
  /** Tar members (as `entryCount`). */
  readonly members: number;
  /** Regular-file members, every one of them: earlier members of a path that repeats included. */
  readonly regularFiles: number;
  /** Logical bytes of those bodies (a sparse file's materialised size). */
  readonly regularFileBytes: number;
  /** Hardlink members: their bytes are their target's, examined as the target (same layer) or in a lower layer. */
  readonly hardlinks: number;
  /** Regular-file members whose every byte went to at least one content check (0 when none ran). */
  readonly filesExaminedInFull: number;
  /** Bytes of those members. */
  readonly bytesExaminedInFull: number;
  /** Per consumer: each content check by name, and `catalogers` for the bodies captured whole (files handed in full, bytes handed). */
  readonly consumers: Readonly<Record<string, { readonly files: number; readonly bytes: number }>>;
}

/** How one layer was handled. */
export interface LayerScan {
  readonly digest: Digest;
  /** True when the layer's result came from the cache and its blob was not downloaded. */
  readonly cached: boolean;
  /** Packages this layer's own files declare (before the overlay). */
  readonly packages: number;
  /** What reading the layer accounted for (absent for a layer record written before coverage existed). */
  readonly coverage?: Coverage;
}

/** The coverage of several layers added up; `undefined` when none of them has one. */
export function sumCoverage(layers: readonly { readonly coverage?: Coverage }[]): Coverage | undefined {
  const parts = layers.map((l) => l.coverage).filter((c): c is Coverage => c !== undefined);
  if (parts.length === 0) return undefined;
  const consumers: Record<string, { files: number; bytes: number }> = {};
  for (const c of parts) {
    for (const [k, v] of Object.entries(c.consumers)) {
      const t = (consumers[k] ??= { files: 0, bytes: 0 });
      t.files += v.files;
      t.bytes += v.bytes;
    }
  }
  const sum = (k: 'members' | 'regularFiles' | 'regularFileBytes' | 'hardlinks' | 'filesExaminedInFull' | 'bytesExaminedInFull'): number => parts.reduce((n, c) => n + c[k], 0);
  return {
    members: sum('members'), regularFiles: sum('regularFiles'), regularFileBytes: sum('regularFileBytes'), hardlinks: sum('hardlinks'),
    filesExaminedInFull: sum('filesExaminedInFull'), bytesExaminedInFull: sum('bytesExaminedInFull'), consumers,
  };
}

/** The inventory of a file tree: what a container started from it would have installed. */
export interface Inventory {
  readonly os?: OsInfo;
  readonly packages: readonly Package[];
  /** What could not be examined (layer entries, catalogers, checks, matching), with its class and place. */
  readonly unknowns: readonly Unknown[];
}
