/**
 * The verdict store port (DESIGN.md "The data's way", step 5 "Record"; RELIABILITY.md 27, 29, 30):
 * the one place the pipeline, `trustctl verify` and the admission webhook read a verdict from, by
 * digest. lib/local/verdict-store implements it for the laptop, lib/aws/verdict-store.ts on DynamoDB,
 * ./memory-store.ts in process memory. It will be re-exported from ../ports.ts.
 */
import type { Digest, Finding, Severity, VerdictStatus } from '../model';
import type { Inventory, LayerScan } from '../model';

/** One rule that decided a verdict, with the ids of the findings that made it fire. */
export interface StoredVerdictReason {
  readonly rule: string;
  readonly message: string;
  /** Finding ids (`CVE-…`, `GHSA-…`, rule ids); empty for rules about the image as a whole. */
  readonly findings: readonly string[];
}

/** Findings per severity (see {@link countBySeverity} in ./order.ts); every severity is present, 0 when none. */
export type SeverityCounts = Readonly<Record<Severity, number>>;

/**
 * One evaluation of one digest as the store keeps it. Evaluations are ordered by
 * `(feedRevision, evaluatedAt)`, both compared as instants (./order.ts {@link compareEvaluations}).
 */
export interface StoredVerdict {
  /** The manifest digest (one platform) or the index digest (the aggregate over its platforms). */
  readonly digest: Digest;
  /** The reference the image was known by when evaluated (`registry/repo:tag`), for humans only: enforcement reads by digest. */
  readonly ref?: string;
  readonly status: VerdictStatus;
  readonly reasons: readonly StoredVerdictReason[];
  readonly counts: SeverityCounts;
  /** Hash of the policy file the evaluation applied. */
  readonly policyHash: string;
  /**
   * What the advisories were as of the evaluation: an RFC 3339 timestamp (the newest feed `syncedAt`
   * or newest record `modified`), compared as an instant — `2026-01-02T00:00:00+02:00` equals
   * `2026-01-01T22:00:00Z`. An evaluation that used no feed passes `1970-01-01T00:00:00Z`.
   */
  readonly feedRevision: string;
  /**
   * The advisory sources the evaluation was judged against, each with the revision of its last complete
   * read and its sync status (issue 13: a verdict says what it knew). Absent in verdicts stored before.
   */
  readonly feeds?: readonly { readonly source: string; readonly revision?: string; readonly status?: string }[];
  /** Every plug-in that took part, as `name@version` (catalogers, checks, matcher). */
  readonly plugins: readonly string[];
  /** When the evaluation finished (RFC 3339); orders evaluations of the same feed revision. */
  readonly evaluatedAt: string;
  /** Assigned by the store: 1 for the first verdict of a digest, previous + 1 for every later one. */
  readonly revision: number;
}

/** What an evaluation hands to {@link VerdictStore.put}: everything but the revision. */
export type VerdictEvaluation = Omit<StoredVerdict, 'revision'>;

/** What started an evaluation, for {@link VerdictStore.put}. */
export interface PutVerdictOptions {
  /** The rescan message's `reason` (`nightly`, `feed-change`, …); absent for a push scan. Only `nightly` may change how long history is kept. */
  readonly trigger?: string;
}

/** The answer of {@link VerdictStore.put}. */
export interface PutVerdictResult {
  /** True when this call stored the evaluation (and appended it to the history). */
  readonly written: boolean;
  /** The revision this call stored; absent when nothing was written. */
  readonly revision?: number;
  /**
   * The digest's verdict after the call: the evaluation just written, or the stored one that
   * refused it (newer, or the same evaluation already stored by an earlier call or a retry).
   */
  readonly current: StoredVerdict;
}

/** Options of {@link VerdictStore.history}. */
export interface VerdictHistoryOptions {
  /** At most this many entries, the newest ones (a positive integer). Default: all. */
  readonly limit?: number;
}

/**
 * What a scan found in one manifest, kept so that re-evaluation (a feed change, the nightly run)
 * never downloads a layer again (DESIGN.md step 7 "Re-verify"). The packages are the bulk: a store
 * keeps it compressed and may split it (DynamoDB's 400 KB item limit).
 */
export interface StoredInventory extends Inventory {
  /**
   * The findings that do not depend on advisories (malware, secrets, misconfiguration, base image,
   * unscannable), so that re-evaluating from the inventory alone yields the same verdict.
   */
  readonly findings?: readonly Finding[];
  /** The layers of the manifest, as the scan saw them. */
  readonly layers?: readonly LayerScan[];
}

/**
 * Verdicts by digest, their history, stored inventories and the package → digest index.
 *
 * The write rule (RELIABILITY.md 29–30): an evaluation older than the stored one — by `feedRevision`
 * first, then `evaluatedAt` ({@link isNewer} in ./order.ts) — never overwrites it, whatever order
 * concurrent writers finish in; one with the same `(feedRevision, evaluatedAt)` as the stored one is
 * the same evaluation delivered again (at-least-once) and is not written again; a newer one is stored
 * with revision = previous + 1 and appended to the history. No update is ever lost: every written
 * revision is in the history, and revisions are 1, 2, 3… without gaps.
 *
 * Every method validates its digest (`sha256:`/`sha512:` hex) and throws InvalidReferenceError
 * otherwise; a store that cannot answer throws — it never answers "no verdict" for a failure.
 */
export interface VerdictStore {
  /** The current verdict of `digest`, or undefined if it was never evaluated. */
  get(digest: Digest): Promise<StoredVerdict | undefined>;
  /**
   * Stores `evaluation` unless the stored verdict is newer or the same evaluation (see above).
   * `options.trigger` says what started it; a store may keep a nightly re-evaluation's history for a
   * limited time (lib/aws/verdict-store.ts: TTL), never the current verdict.
   */
  put(evaluation: VerdictEvaluation, options?: PutVerdictOptions): Promise<PutVerdictResult>;
  /** Every written revision of `digest`, newest first (empty when never evaluated). */
  history(digest: Digest, options?: VerdictHistoryOptions): Promise<readonly StoredVerdict[]>;
  /** Stores (replaces) the inventory of a manifest digest. */
  putInventory(digest: Digest, inventory: StoredInventory): Promise<void>;
  /** The stored inventory of `digest`, or undefined. */
  getInventory(digest: Digest): Promise<StoredInventory | undefined>;
  /**
   * Indexes `digest` under each package key (./keys.ts {@link packageKey}, {@link inventoryPackageKeys}).
   * Additive and idempotent: keys indexed before stay (a digest's content never changes; a key that a
   * later cataloger no longer reports costs a spurious re-evaluation, never a missed one).
   */
  indexPackages(digest: Digest, packageKeys: readonly string[]): Promise<void>;
  /** Digests indexed under one package key, sorted (feed-sync's targeted re-evaluation). */
  digestsForPackage(packageKey: string): Promise<readonly Digest[]>;
  /** Every digest with a stored verdict, sorted (the nightly re-evaluation). */
  listDigests(): Promise<readonly Digest[]>;
}
