import { parseDigest, type Digest } from '../model';
import { checkInventory } from './codec';
import { checkEvaluation, checkHistoryLimit, decideWrite, withRevision } from './order';
import type { PutVerdictResult, StoredInventory, StoredVerdict, VerdictEvaluation, VerdictHistoryOptions, VerdictStore } from './port';

/**
 * A {@link VerdictStore} in process memory, for `trustctl scan` runs that keep nothing and for tests.
 * Same rules as the persistent stores (the shared contract tests run against all three). Values are
 * copied in and out, so callers cannot change what is stored.
 */
export class MemoryVerdictStore implements VerdictStore {
  private readonly current = new Map<string, StoredVerdict>();
  /** Oldest first. */
  private readonly revisions = new Map<string, StoredVerdict[]>();
  private readonly inventories = new Map<string, StoredInventory>();
  private readonly packages = new Map<string, Set<Digest>>();

  /** The current verdict of `digest`, or undefined. */
  async get(digest: Digest): Promise<StoredVerdict | undefined> {
    const v = this.current.get(parseDigest(digest));
    return v && structuredClone(v);
  }

  /** Stores `evaluation` unless the stored verdict is newer or the same evaluation. */
  async put(evaluation: VerdictEvaluation): Promise<PutVerdictResult> {
    const e = checkEvaluation(evaluation);
    const stored = this.current.get(e.digest);
    const decision = decideWrite(stored, e);
    if (decision === 'older' || decision === 'same') return { written: false, current: structuredClone(stored!) };
    const next = withRevision(e, (stored?.revision ?? 0) + 1);
    this.current.set(e.digest, next);
    this.revisions.set(e.digest, [...(this.revisions.get(e.digest) ?? []), next]);
    return { written: true, revision: next.revision, current: structuredClone(next) };
  }

  /** Written revisions of `digest`, newest first. */
  async history(digest: Digest, options: VerdictHistoryOptions = {}): Promise<readonly StoredVerdict[]> {
    const limit = checkHistoryLimit(options.limit);
    const all = [...(this.revisions.get(parseDigest(digest)) ?? [])].reverse();
    return structuredClone(limit === undefined ? all : all.slice(0, limit));
  }

  /** Stores (replaces) the inventory of `digest`. */
  async putInventory(digest: Digest, inventory: StoredInventory): Promise<void> {
    checkInventory(inventory);
    this.inventories.set(parseDigest(digest), structuredClone(inventory));
  }

  /** The stored inventory of `digest`, or undefined. */
  async getInventory(digest: Digest): Promise<StoredInventory | undefined> {
    const inv = this.inventories.get(parseDigest(digest));
    return inv && structuredClone(inv);
  }

  /** Adds `digest` under each package key. */
  async indexPackages(digest: Digest, packageKeys: readonly string[]): Promise<void> {
    const d = parseDigest(digest);
    for (const k of packageKeys) {
      let s = this.packages.get(k);
      if (!s) this.packages.set(k, (s = new Set()));
      s.add(d);
    }
  }

  /** Digests indexed under `packageKey`, sorted. */
  async digestsForPackage(packageKey: string): Promise<readonly Digest[]> {
    return [...(this.packages.get(packageKey) ?? [])].sort();
  }

  /** Digests with a verdict, sorted. */
  async listDigests(): Promise<readonly Digest[]> {
    return [...this.current.keys()].sort() as Digest[];
  }
}
