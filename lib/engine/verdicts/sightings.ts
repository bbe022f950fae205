/**
 * Admission sightings (issue 15 item 4 "Nightly"): when admission last looked a digest up. The
 * nightly run re-evaluates only digests in use, and a lookup by admission is the best evidence of use
 * there is — better than a push or a pull, which the registry only records for its own images.
 *
 * Two ports, so that a read-only caller (an in-cluster `trustctl serve --verdict-table` whose role may
 * only read) records nothing and needs no write permission: admission takes an optional
 * {@link SightingWriter}, nightly an optional {@link SightingReader}. lib/aws/verdict-store.ts
 * implements both on the verdict table.
 */
import type { Digest } from '../model';

/** How often one digest's sighting is written at most: once a day keeps the cost bounded by the digests in use, not by admission traffic. */
export const SIGHTING_INTERVAL_MS = 86_400_000;

/** Records that admission looked a digest up. */
export interface SightingWriter {
  /**
   * Records that admission saw `digest` at `at`, unless a sighting newer than `at` − `intervalMs` is
   * already recorded, or the digest has no verdict (a sighting of nothing is not kept). True when it
   * wrote. Throws when the store fails; callers never let that reach an admission answer.
   */
  recordSighting(digest: Digest, at: Date, intervalMs?: number): Promise<boolean>;
}

/** Reads the sightings back (the nightly run). */
export interface SightingReader {
  /** Every digest with a verdict seen at admission at or after `since`, with its last sighting. */
  seenSince(since: Date): Promise<ReadonlyMap<Digest, Date>>;
}
