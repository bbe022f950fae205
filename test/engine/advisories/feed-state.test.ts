/**
 * advisories/feed-state.ts: a stored FeedState as scans and verdicts name it (FeedInfo). States are
 * read from files and tables other processes wrote: anything malformed makes the source cover less,
 * never more.
 */
import { feedInfoOf, storedFeeds } from '../../../lib/engine/advisories/feed-state';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { coveringEcosystems } from '../../../lib/engine/match/coverage';
import type { FeedInfo } from '../../../lib/engine/model';
import { feedInfoOf as pipelineFeedInfo } from '../../../lib/engine/pipeline/common';
import type { FeedState } from '../../../lib/engine/ports';

const COMPLETE: FeedState = { fingerprint: 'etag:"1"', modified: '2026-11-01T00:00:00Z', syncedAt: '2026-12-01T00:00:00Z', records: 5, status: 'complete', ecosystems: ['npm'] };

describe('feedInfoOf', () => {
  it.each<{ name: string; state: unknown; info: FeedInfo }>([
    { name: 'never synced', state: undefined, info: { source: 's' } },
    {
      name: 'complete: revision is the fingerprint',
      state: COMPLETE,
      info: { source: 's', syncedAt: '2026-12-01T00:00:00Z', modified: '2026-11-01T00:00:00Z', records: 5, status: 'complete', revision: 'etag:"1"', ecosystems: ['npm'] },
    },
    { name: 'registered, never reached: no syncedAt', state: { syncedAt: '', records: 0, status: 'in-progress' }, info: { source: 's', records: 0, status: 'in-progress' } },
    {
      name: 'failed with the error and the revision it was reading',
      state: { syncedAt: '', records: 0, status: 'failed', pending: 'etag:"2"', error: 'HTTP 503' },
      info: { source: 's', records: 0, status: 'failed', pending: 'etag:"2"', error: 'HTTP 503' },
    },
    { name: 'an unknown status is dropped, and with it the ecosystems', state: { ...COMPLETE, status: 'done' }, info: { source: 's', syncedAt: '2026-12-01T00:00:00Z', modified: '2026-11-01T00:00:00Z', records: 5, revision: 'etag:"1"' } },
    { name: 'ecosystems that are not all strings are dropped', state: { ...COMPLETE, ecosystems: ['npm', 7] }, info: { source: 's', syncedAt: '2026-12-01T00:00:00Z', modified: '2026-11-01T00:00:00Z', records: 5, status: 'complete', revision: 'etag:"1"' } },
    { name: 'a negative record count is dropped', state: { ...COMPLETE, records: -1 }, info: { source: 's', syncedAt: '2026-12-01T00:00:00Z', modified: '2026-11-01T00:00:00Z', status: 'complete', revision: 'etag:"1"', ecosystems: ['npm'] } },
  ])('$name', ({ state, info }) => {
    expect(feedInfoOf('s', state as FeedState | undefined)).toEqual(info);
  });

  it('malformed states never cover an ecosystem', () => {
    for (const bad of [{ ...COMPLETE, status: undefined }, { ...COMPLETE, status: 'done' }, { ...COMPLETE, ecosystems: 'npm' }, { ...COMPLETE, ecosystems: [null] }]) {
      expect(coveringEcosystems(feedInfoOf('s', bad as unknown as FeedState))).toEqual([]);
    }
  });
});

describe('the feeds a scan and a verdict name', () => {
  it('storedFeeds (CLI) and the pipeline builder carry status, revision and ecosystems', async () => {
    const store = new MemoryAdvisoryStore();
    await store.putFeedState('osv:npm', COMPLETE);
    await store.putFeedState('osv:PyPI', { syncedAt: '', records: 0, status: 'in-progress', startedAt: '2026-12-01T00:00:00Z', pending: 'etag:"9"' });
    const expected = [
      { source: 'osv:npm', syncedAt: '2026-12-01T00:00:00Z', modified: '2026-11-01T00:00:00Z', records: 5, status: 'complete', revision: 'etag:"1"', ecosystems: ['npm'] },
      { source: 'osv:PyPI', records: 0, status: 'in-progress', pending: 'etag:"9"' },
    ];
    expect(await storedFeeds(store)).toEqual(expected);
    // The pipeline names the configured sources, synced or not.
    expect(await pipelineFeedInfo({ store, sources: ['osv:npm', 'osv:PyPI', 'osv:Go'] })).toEqual([...expected, { source: 'osv:Go' }]);
  });
});
