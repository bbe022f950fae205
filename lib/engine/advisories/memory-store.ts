import type { AdvisoryStore, FeedState } from '../ports';
import { normalizePackageName } from './names';
import type { OsvRecord } from './osv';

/**
 * An {@link AdvisoryStore} in process memory: for `trustctl scan --feed …` (exactly the given feeds,
 * for that scan only) and for tests. Same semantics as the persistent stores: newest `modified` wins,
 * a revision that drops a package leaves that package's lookup.
 */
export class MemoryAdvisoryStore implements AdvisoryStore {
  private readonly records = new Map<string, OsvRecord>();
  private readonly index = new Map<string, Set<string>>();
  private readonly feeds = new Map<string, FeedState>();

  private static keys(r: OsvRecord): Set<string> {
    return new Set(r.affected.map((a) => `${a.ecosystem}\0${normalizePackageName(a.ecosystem, a.name)}`));
  }

  async lookup(ecosystem: string, name: string): Promise<readonly OsvRecord[]> {
    const ids = this.index.get(`${ecosystem}\0${name}`);
    return ids ? [...ids].map((id) => this.records.get(id)!) : [];
  }

  async get(id: string): Promise<OsvRecord | undefined> {
    return this.records.get(id);
  }

  async upsert(records: readonly OsvRecord[]): Promise<readonly string[]> {
    const changed: string[] = [];
    for (const r of records) {
      const old = this.records.get(r.id);
      // RFC 3339 strings may differ in precision or offset: compare instants, not text.
      if (old && Date.parse(old.modified) >= Date.parse(r.modified)) continue;
      if (old) for (const k of MemoryAdvisoryStore.keys(old)) this.index.get(k)?.delete(r.id);
      this.records.set(r.id, r);
      for (const k of MemoryAdvisoryStore.keys(r)) {
        let s = this.index.get(k);
        if (!s) this.index.set(k, (s = new Set()));
        s.add(r.id);
      }
      changed.push(r.id);
    }
    return changed;
  }

  async getFeedState(source: string): Promise<FeedState | undefined> {
    return this.feeds.get(source);
  }

  async putFeedState(source: string, state: FeedState): Promise<void> {
    this.feeds.set(source, state);
  }

  async listFeeds(): Promise<readonly string[]> {
    return [...this.feeds.keys()];
  }

  async count(): Promise<number> {
    return this.records.size;
  }
}
