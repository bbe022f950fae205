/**
 * A feed-sync world for the continuation tests (lib/engine/pipeline/feed-sync-continuation.ts): an
 * advisory store that counts every write and can die like a killed process (every call after the
 * moment of death fails, so nothing the dying run would still do persists), a package → digest index
 * with one digest per synthetic package, an in-memory feed-sync queue and rescan queue, claims with a
 * clock the test moves, and a time budget counted in records written (no wall clock: no timing in tests).
 */
import { MemoryAdvisoryStore } from '../../../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../../../lib/engine/advisories/osv';
import { parseOsvZipCursor } from '../../../../lib/engine/advisories/enrichment-feed';
import type { Digest } from '../../../../lib/engine/model';
import type { FeedContinuationPorts, FeedSyncMessage } from '../../../../lib/engine/pipeline/feed-sync-continuation';
import type { RescanMessage } from '../../../../lib/engine/pipeline/messages';
import type { ScanClaims } from '../../../../lib/engine/pipeline/ports';
import { DEFAULT_POLICY } from '../../../../lib/engine/policy/default-policy';
import type { AdvisoryStore, FeedState } from '../../../../lib/engine/ports';
import type { FeedSourceLike } from '../../../../lib/engine/sync-feeds';
import { packageKey } from '../../../../lib/engine/verdicts/keys';
import { SCHEMES } from '../../../../lib/engine/versions/schemes';

/** What a killed process's store throws once it is dead. */
export class Killed extends Error {}

/** An advisory store over a memory store that counts writes, keeps every state written, and can die. */
export class RecordingStore implements AdvisoryStore {
  /** Times each id was passed to upsert (applied or not). */
  readonly writes = new Map<string, number>();
  /** Every state put, in order. */
  readonly states: FeedState[] = [];
  written = 0;
  upserts = 0;
  stateWrites = 0;
  dead = false;
  /** Dies right after the upsert with this (1-based) number was applied. */
  dieAfterUpsert?: number;
  /** Dies instead of applying the state write with this (1-based) number. */
  dieAtStateWrite?: number;

  constructor(readonly inner: AdvisoryStore = new MemoryAdvisoryStore()) {}

  private alive(): void {
    if (this.dead) throw new Killed('the process is dead');
  }

  async upsert(records: readonly OsvRecord[]): Promise<readonly string[]> {
    this.alive();
    const ids = await this.inner.upsert(records);
    for (const r of records) this.writes.set(r.id, (this.writes.get(r.id) ?? 0) + 1);
    this.written += records.length;
    if (++this.upserts === this.dieAfterUpsert) this.dead = true;
    this.alive();
    return ids;
  }

  async putFeedState(source: string, state: FeedState): Promise<void> {
    this.alive();
    if (++this.stateWrites === this.dieAtStateWrite) this.dead = true;
    this.alive();
    this.states.push(state);
    await this.inner.putFeedState(source, state);
  }

  async getFeedState(source: string) { this.alive(); return this.inner.getFeedState(source); }
  async lookup(ecosystem: string, name: string) { this.alive(); return this.inner.lookup(ecosystem, name); }
  async get(id: string) { this.alive(); return this.inner.get(id); }
  async listFeeds() { return (await this.inner.listFeeds?.()) ?? []; }
  async count() { return this.inner.count(); }

  /** The entry indexes the OSV zip cursors of the states name, in order (revision `revision`). */
  cursorPositions(revision: string): number[] {
    return this.states.map((s) => parseOsvZipCursor(s.cursor, revision)).filter((p): p is number => p !== undefined);
  }
}

/** Claims in memory with a clock the test sets (a killed holder's lease lapses when the clock passes it). */
export class ClockedClaims {
  now = 0;
  private readonly leases = new Map<string, { owner: number; until: number }>();
  private next = 0;
  /** A handle for one invocation (its own owner token). */
  holder(): ScanClaims {
    const owner = ++this.next;
    return {
      claim: async (key, leaseMs) => {
        const l = this.leases.get(key);
        if (l && l.until >= this.now && l.owner !== owner) return false;
        this.leases.set(key, { owner, until: this.now + leaseMs });
        return true;
      },
      release: async (key) => {
        if (this.leases.get(key)?.owner === owner) this.leases.delete(key);
      },
    };
  }
}

/** The digest indexed under synthetic package `pkg-<p>` of `ecosystem`. */
export const digestOf = (ecosystem: string, p: number): Digest => `sha256:${(ecosystem === 'PyPI' ? 'a' : 'b')}${p.toString(16).padStart(63, '0')}` as Digest;

/** One feed-sync world over a source. */
export function feedWorld(source: FeedSourceLike, opts: { packages: number; store?: RecordingStore }) {
  const store = opts.store ?? new RecordingStore();
  const index = new Map<string, Digest[]>();
  for (const eco of ['PyPI', 'npm']) for (let p = 0; p < opts.packages; p++) index.set(packageKey(eco, `pkg-${p}`), [digestOf(eco, p)]);
  const rescans: RescanMessage[] = [];
  const feedMessages: FeedSyncMessage[] = [];
  const claims = new ClockedClaims();
  /** Ports of one invocation (its own claim holder); `afterSend` runs after each rescan batch was accepted. */
  const ports = (afterSend?: () => void): FeedContinuationPorts => ({
    store: {
      digestsForPackage: async (k) => index.get(k) ?? [],
      listDigests: async () => [...index.values()].flat(),
    },
    advisories: { store, schemes: SCHEMES, sources: [source.source] },
    feeds: [source],
    queue: { send: async (m) => { rescans.push(...m); afterSend?.(); } },
    feedQueue: { send: async (m) => void feedMessages.push(...m) },
    claims: claims.holder(),
    policy: DEFAULT_POLICY,
    now: () => new Date('2026-12-07T12:00:00Z'),
  });
  /** A time budget for one invocation: out of time once `records` were written in it. */
  const budget = (records: number) => {
    const start = store.written;
    return () => records - (store.written - start);
  };
  const enqueued = (): Set<Digest> => new Set(rescans.map((m) => (m.kind === 'reevaluate' ? m.digest : ('' as Digest))));
  return { store, index, rescans, feedMessages, claims, ports, budget, enqueued };
}
