/**
 * Which packages of an inventory no synced feed speaks for (issue 13, "Feeds that know what they don't
 * know"; RELIABILITY.md 55–56). A package looked up in an ecosystem no complete source covers gets no
 * findings — not because it has no vulnerabilities, but because nothing was asked: that is an
 * `Unknown` of class `no-vulnerability-data`, which the default policy quarantines.
 */
import type { FeedInfo, Package, Unknown } from '../model';
import { lookupKeys, MATCHER } from './matcher';

/**
 * The ecosystems a feed vouches for: those of its complete reads. A source whose first read never
 * finished (killed, failed, running) has no `ecosystems` and covers nothing. A source re-reading a
 * newer revision (in progress or failed) still covers what its last complete read committed: every
 * record of that revision is in the store (a later read only adds newer revisions of records), so the
 * data is as complete as it was before the re-read started, and only as old as `syncedAt` says (the
 * policy's `feeds` rule judges age).
 */
export function coveringEcosystems(feed: FeedInfo): readonly string[] {
  if (feed.status === undefined || feed.ecosystems === undefined) return [];
  if (feed.status !== 'complete' && feed.revision === undefined) return [];
  return feed.ecosystems;
}

/** One group of packages looked up under one OSV ecosystem (or with no usable release). */
interface Group {
  readonly label: string;
  readonly first: Package;
  count: number;
}

/**
 * One `no-vulnerability-data` Unknown per ecosystem or distribution release in `packages` that no
 * feed covers ({@link coveringEcosystems}), in order of first appearance. The ecosystem of a package
 * is the one the matcher looks it up in (matcher.ts `lookupKeys`: `npm`, `PyPI`, the distro release
 * `Debian:12` for OS packages); OS packages whose release is unknown cannot be looked up anywhere and
 * are reported per family. The Unknown's place is the first such package's first location; its reason
 * names the ecosystem, how many packages, an example, and the feeds that are not complete.
 */
export function uncoveredPackages(packages: readonly Package[], feeds: readonly FeedInfo[]): Unknown[] {
  const covered = new Set(feeds.flatMap((f) => coveringEcosystems(f)));
  const groups = new Map<string, Group>();
  for (const p of packages) {
    const keys = lookupKeys(p);
    const labels = typeof keys === 'string' ? [`${p.ecosystem} (distribution release unknown)`] : keys.filter((k) => !covered.has(k.ecosystem)).map((k) => k.ecosystem);
    for (const label of labels) {
      const g = groups.get(label);
      if (g) g.count++;
      else groups.set(label, { label, first: p, count: 1 });
    }
  }
  const incomplete = feeds.filter((f) => f.status !== 'complete');
  const hint = incomplete.length === 0
    ? feeds.length === 0 ? '; no feed was synced (run `trustctl feeds sync`)' : ''
    : `; feeds not complete: ${incomplete.slice(0, 5).map((f) => `${f.source} (${f.status ?? 'never synced'})`).join(', ')}${incomplete.length > 5 ? ', …' : ''}`;
  return [...groups.values()].map((g): Unknown => {
    const at = g.first.locations[0] ?? { layer: '', path: '' };
    const n = `${g.count} package${g.count === 1 ? '' : 's'}`;
    const why = g.label.endsWith('(distribution release unknown)')
      ? `no vulnerability data for ${g.label}: ${n} (e.g. ${g.first.purl}) cannot be looked up in any feed`
      : `no vulnerability data for ${g.label}: no complete feed covers it, ${n} (e.g. ${g.first.purl}) were not matched`;
    return { layer: at.layer, path: at.path, class: 'no-vulnerability-data', consumer: MATCHER.name, reason: `${why}${hint}` };
  });
}
