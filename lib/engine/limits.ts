/**
 * Caps on everything read from an image (../shared/DESIGN.md "Verify everything… and cap everything";
 * RELIABILITY.md cases 12–16, 20–21). Hitting one raises {@link LimitExceededError}, which becomes an
 * "unscannable" verdict with the limit's name — never a crash and never a partial "trusted".
 *
 * Defaults are sized for real images (the largest public images are a few GB with < 200k files) while
 * keeping one scan inside a 512 MB Lambda. Every value is configurable (`--limit name=value` in the CLI).
 */
export interface Limits {
  /** Bytes of one manifest, index or image config document (the distribution spec's 4 MiB). */
  readonly maxManifestBytes: number;
  /** Manifests listed in one index; entries beyond are not fetched (attestation floods, case 21). */
  readonly maxIndexManifests: number;
  /** Layers in one image manifest (Docker itself stops at 127; we allow more, not unbounded). */
  readonly maxLayers: number;
  /** Compressed bytes of one blob as declared by its descriptor. */
  readonly maxBlobBytes: number;
  /** Decompressed bytes of one layer (stops gzip and zstd bombs, case 12). */
  readonly maxLayerBytes: number;
  /** Decompressed bytes of all layers of one image together. */
  readonly maxImageBytes: number;
  /** Tar entries in one layer (case 13). */
  readonly maxEntries: number;
  /** Components of one path (case 13). */
  readonly maxPathDepth: number;
  /** Bytes of one path or link name. */
  readonly maxPathBytes: number;
  /** Bytes of one PAX or GNU long-name extended header (case 13). */
  readonly maxHeaderBytes: number;
  /**
   * Bytes of one file a cataloger needs whole (a package database, a manifest, a lockfile, a small
   * binary): a hostile-size cap, not a budget. A longer file is read up to it and recorded as an
   * `Unknown` of class `cut-by-cap` with the cataloger as its consumer — which quarantines. Content
   * checks (malware, secrets) never hold bodies: they see every byte as it streams by, whatever the
   * size (issue 13, "No shared budget between catalogers and checks").
   */
  readonly maxCatalogFileBytes: number;
  /** zstd window size we agree to allocate (zstd's own default cap is 128 MiB, `--long=27`). */
  readonly maxZstdWindowBytes: number;
  /** Symlink hops when resolving a path in the virtual tree (cycles, case 7). */
  readonly maxSymlinkHops: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The documented defaults (README, "Limits"). */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxManifestBytes: 4 * MiB,
  maxIndexManifests: 64,
  maxLayers: 256,
  maxBlobBytes: 8 * GiB,
  maxLayerBytes: 8 * GiB,
  maxImageBytes: 32 * GiB,
  maxEntries: 500_000,
  maxPathDepth: 256,
  maxPathBytes: 4 * KiB,
  maxHeaderBytes: 1 * MiB,
  maxCatalogFileBytes: 256 * MiB,
  maxZstdWindowBytes: 128 * MiB,
  maxSymlinkHops: 40,
});

/** Defaults overridden by the given values; unknown keys or non-positive values are rejected. */
export function resolveLimits(overrides: Partial<Record<string, number>> = {}): Limits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in DEFAULT_LIMITS)) throw new RangeError(`unknown limit ${JSON.stringify(k)}; known: ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`limit ${k} must be a positive integer, got ${v}`);
    out[k] = v;
  }
  return Object.freeze(out) as unknown as Limits;
}
