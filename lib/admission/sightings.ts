/**
 * Admission sightings, written on the side (issue 15 item 4 "Nightly"): every digest admission finds a
 * verdict for is "in use", and the nightly run re-evaluates only digests in use. The write must never
 * slow or fail an admission answer, so {@link AdmissionSightings.seen} is synchronous and never
 * throws: the write goes out fire-and-forget, a bounded number at a time, and a failure is logged.
 *
 * Cost stays bounded by the digests in use, not by admission traffic: a digest is written at most
 * once per interval per process (an in-memory memo) and once per interval per table (the store's
 * conditional write, lib/aws/verdict-store.ts `recordSighting`).
 *
 * In a Lambda, a write still in flight when the answer is returned is frozen with the execution
 * environment and finishes on its next invocation (or is lost with it): a lost sighting costs at most
 * one missed re-evaluation, and the next lookup of the digest records it again.
 */
import type { Digest } from '../engine/model';
import { SIGHTING_INTERVAL_MS, type SightingWriter } from '../engine/verdicts/sightings';
import { TtlCache } from './cache';

/** Options of {@link AdmissionSightings}. */
export interface AdmissionSightingsOptions {
  /** Where sightings go (the verdict table). */
  readonly writer: SightingWriter;
  /** A digest is written at most once per this many ms. Default {@link SIGHTING_INTERVAL_MS} (a day). */
  readonly intervalMs?: number;
  /** Writes in flight at most; a sighting over it is dropped (the next lookup tries again). Default 8. */
  readonly maxInFlight?: number;
  /** Digests remembered as written; the oldest are forgotten first. Default 50 000. */
  readonly maxEntries?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** Where a failed write is reported. */
  readonly log?: (message: string) => void;
}

/** What {@link AdmissionSightings} did so far (logs and tests). */
export interface SightingStats {
  /** Writes that recorded a sighting. */
  written: number;
  /** Writes the store declined (seen within the interval by another process, or no verdict). */
  unchanged: number;
  /** Sightings not written: this process wrote the digest within the interval. */
  remembered: number;
  /** Sightings dropped: too many writes in flight. */
  dropped: number;
  /** Writes that failed (logged). */
  failed: number;
}

/** Records admission sightings fire-and-forget (see the module comment). */
export class AdmissionSightings {
  readonly stats: SightingStats = { written: 0, unchanged: 0, remembered: 0, dropped: 0, failed: 0 };

  private readonly memo: TtlCache<true>;
  private readonly pending = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private readonly intervalMs: number;

  constructor(private readonly opts: AdmissionSightingsOptions) {
    this.intervalMs = opts.intervalMs ?? SIGHTING_INTERVAL_MS;
    this.maxInFlight = opts.maxInFlight ?? 8;
    if (!(this.intervalMs > 0) || !(this.maxInFlight >= 1)) throw new RangeError('AdmissionSightings: intervalMs and maxInFlight must be positive');
    this.memo = new TtlCache<true>(this.intervalMs, opts.maxEntries ?? 50_000);
    this.now = opts.now ?? Date.now;
  }

  /** Admission looked `digest` up and found a verdict. Returns at once; never throws. */
  seen(digest: Digest): void {
    const now = this.now();
    if (this.memo.get(digest, now) !== undefined) {
      this.stats.remembered++;
      return;
    }
    if (this.pending.size >= this.maxInFlight) {
      this.stats.dropped++;
      return;
    }
    // Remembered before the write: concurrent lookups of one digest send one write.
    this.memo.set(digest, true, now);
    let write: Promise<void>;
    try {
      write = this.opts.writer.recordSighting(digest, new Date(now), this.intervalMs).then(
        (wrote) => { if (wrote) this.stats.written++; else this.stats.unchanged++; },
        (err: unknown) => this.failed(digest, err),
      );
    } catch (err) {
      this.failed(digest, err);
      return;
    }
    const tracked = write.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Resolves when every write in flight has settled (tests; a server shutting down). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private failed(digest: Digest, err: unknown): void {
    this.stats.failed++;
    // Forgotten, so that a later lookup tries again.
    this.memo.delete(digest);
    this.opts.log?.(`admission: sighting of ${digest} not recorded: ${err instanceof Error ? err.message : String(err)}`);
  }
}
