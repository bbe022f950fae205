/**
 * match/coverage.ts: which ecosystems and distro releases of an inventory no complete feed covers
 * (issue 13, "Feeds that know what they don't know"; RELIABILITY.md 55–56). Pure cases on hand-made
 * feed lists, then the real thing: a store synced from the real PyPI export only.
 */
import { join } from 'node:path';
import { openFeed } from '../../../lib/engine/advisories/feed';
import { storedFeeds } from '../../../lib/engine/advisories/feed-state';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { coveringEcosystems, uncoveredPackages } from '../../../lib/engine/match/coverage';
import { MATCHER } from '../../../lib/engine/match/matcher';
import { parseDigest, type Ecosystem, type FeedInfo, type Package } from '../../../lib/engine/model';
import { syncFeeds } from '../../../lib/engine/sync-feeds';
import { SHARED } from '../../helpers/corpus';

const LAYER = parseDigest('sha256:' + 'a'.repeat(64));

function pkg(ecosystem: Ecosystem, name: string, path: string, extra: Partial<Package> = {}): Package {
  return {
    ecosystem, name, version: '1.0.0', purl: `pkg:${ecosystem.toLowerCase()}/${name}@1.0.0`,
    locations: [{ layer: LAYER, path }], cataloger: { name: 'test', version: '1' }, ...extra,
  };
}

const INVENTORY: Package[] = [
  pkg('npm', 'left-pad', '/app/node_modules/left-pad/package.json'),
  pkg('npm', 'lodash', '/app/node_modules/lodash/package.json'),
  pkg('PyPI', 'requests', '/usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA'),
  pkg('Debian', 'libssl3', '/var/lib/dpkg/status', { distro: 'Debian:12', sourceName: 'openssl' }),
  pkg('Debian', 'curl', '/var/lib/dpkg/status', { distro: 'Debian:12' }),
  pkg('Alpine', 'musl', '/lib/apk/db/installed', { distro: 'Alpine:v3.19' }),
  pkg('RPM', 'bash', '/var/lib/rpm/rpmdb.sqlite'),
];

const complete = (source: string, ecosystems: string[]): FeedInfo => ({ source, status: 'complete', revision: 'etag:"1"', syncedAt: '2026-12-01T00:00:00Z', records: 1, ecosystems });

/** The uncovered labels, as the reasons name them, and the package counts. */
const summary = (feeds: FeedInfo[]): string[] =>
  uncoveredPackages(INVENTORY, feeds).map((u) => /no vulnerability data for (.+?): .*?(\d+) packages?/.exec(u.reason)!.slice(1, 3).join(' × '));

describe('uncoveredPackages', () => {
  it.each<{ name: string; feeds: FeedInfo[]; uncovered: string[] }>([
    { name: 'no feeds at all: every ecosystem and release', feeds: [], uncovered: ['npm × 2', 'PyPI × 1', 'Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'] },
    { name: 'only PyPI synced: npm and the distros are not covered', feeds: [complete('osv:PyPI', ['PyPI'])], uncovered: ['npm × 2', 'Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'] },
    {
      name: 'a Debian export without Debian:12 records does not cover Debian:12',
      feeds: [complete('osv:PyPI', ['PyPI']), complete('osv:npm', ['npm']), complete('osv:Debian', ['Debian:10', 'Debian:11']), complete('osv:Alpine', ['Alpine:v3.19'])],
      uncovered: ['Debian:12 × 2', 'RPM (distribution release unknown) × 1'],
    },
    {
      name: 'everything covered but the release-less RPM package (it cannot be looked up anywhere)',
      feeds: [complete('osv:PyPI', ['PyPI']), complete('osv:npm', ['npm']), complete('osv:Debian', ['Debian:11', 'Debian:12']), complete('osv:Alpine', ['Alpine:v3.18', 'Alpine:v3.19'])],
      uncovered: ['RPM (distribution release unknown) × 1'],
    },
    {
      name: 'a first sync killed midway (in-progress, no complete read) covers nothing',
      feeds: [complete('osv:PyPI', ['PyPI']), { source: 'osv:npm', status: 'in-progress', pending: 'etag:"2"' }],
      uncovered: ['npm × 2', 'Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'],
    },
    {
      name: 'a failed first sync covers nothing',
      feeds: [complete('osv:PyPI', ['PyPI']), { source: 'osv:npm', status: 'failed', error: 'truncated zip' }],
      uncovered: ['npm × 2', 'Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'],
    },
    {
      name: 'a state without status (older trustctl) covers nothing, even with ecosystems',
      feeds: [{ source: 'osv:npm', syncedAt: '2026-12-01T00:00:00Z', ecosystems: ['npm'] }, complete('osv:PyPI', ['PyPI'])],
      uncovered: ['npm × 2', 'Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'],
    },
    {
      name: 'a re-read in progress after a complete read still covers what that read committed',
      feeds: [{ ...complete('osv:npm', ['npm']), status: 'in-progress', pending: 'etag:"2"' }, complete('osv:PyPI', ['PyPI'])],
      uncovered: ['Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'],
    },
    {
      name: 'two sources for one ecosystem: one complete is enough',
      feeds: [complete('file:/mirror/npm.zip', ['npm']), { source: 'osv:npm', status: 'failed', error: 'HTTP 503' }, complete('osv:PyPI', ['PyPI'])],
      uncovered: ['Debian:12 × 2', 'Alpine:v3.19 × 1', 'RPM (distribution release unknown) × 1'],
    },
  ])('$name', ({ feeds, uncovered }) => {
    expect(summary(feeds)).toEqual(uncovered);
  });

  it('each Unknown is no-vulnerability-data, names the matcher, sits at the first package of its group and names incomplete feeds', () => {
    const u = uncoveredPackages(INVENTORY, [complete('osv:PyPI', ['PyPI']), { source: 'osv:npm', status: 'in-progress' }]);
    expect(u.every((x) => x.class === 'no-vulnerability-data' && x.consumer === MATCHER.name && x.layer === LAYER)).toBe(true);
    expect(u[0]).toMatchObject({ path: '/app/node_modules/left-pad/package.json' });
    expect(u[0].reason).toContain('pkg:npm/left-pad@1.0.0');
    expect(u[0].reason).toContain('osv:npm (in-progress)');
    expect(uncoveredPackages([], [])).toEqual([]);
  });

  it.each<{ name: string; feed: FeedInfo; covers: string[] }>([
    { name: 'complete', feed: complete('s', ['npm']), covers: ['npm'] },
    { name: 'never synced', feed: { source: 's' }, covers: [] },
    { name: 'in-progress first sync', feed: { source: 's', status: 'in-progress' }, covers: [] },
    { name: 'ecosystems without a complete revision', feed: { source: 's', status: 'failed', ecosystems: ['npm'] }, covers: [] },
  ])('coveringEcosystems: $name', ({ feed, covers }) => {
    expect(coveringEcosystems(feed)).toEqual(covers);
  });
});

describe('a store synced from the real PyPI export only', () => {
  it('covers PyPI and yields a no-vulnerability-data Unknown for the npm packages (and the rest)', async () => {
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await openFeed(join(SHARED, 'feeds', 'osv', 'PyPI', 'all.zip')), store);
    const feeds = await storedFeeds(store);
    expect(feeds).toEqual([expect.objectContaining({ source: 'osv:PyPI', status: 'complete', ecosystems: ['PyPI'] })]);
    const u = uncoveredPackages(INVENTORY, feeds);
    expect(u.map((x) => x.reason.split(':')[0])).toEqual([
      'no vulnerability data for npm', 'no vulnerability data for Debian', 'no vulnerability data for Alpine', 'no vulnerability data for RPM (distribution release unknown)',
    ]);
    expect(u[0].reason).toMatch(/npm: no complete feed covers it, 2 packages/);
  }, 60_000);
});
