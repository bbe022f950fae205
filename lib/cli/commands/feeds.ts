import { join } from 'node:path';
import type { Command } from 'commander';
import { feedKindOf } from '../../engine/advisories/enrichment-feed';
import { storedFeeds } from '../../engine/advisories/feed-state';
import type { FeedInfo } from '../../engine/model';
import { syncFeeds } from '../../engine/sync-feeds';
import { ADVISORY_LOCK_FILE, defaultAdvisoryDir, EmbeddedAdvisoryStore, lockHolder } from '../../local/advisory-store';
import { NVD_API_URL } from '../../engine/advisories/nvd-api';
import { DEFAULT_FEEDS, feedSources } from '../advisories';
import { ExitCode } from '../exit-codes';
import { renderTable } from '../format/table';
import type { CliContext } from '../main';

const collect = (value: string, prev: string[] = []): string[] => [...prev, value];

/** The ecosystems column: a few names, then how many more. */
function ecosystemsCell(f: FeedInfo): string {
  const e = f.ecosystems ?? [];
  if (e.length === 0) return '-';
  return e.length <= 4 ? e.join(' ') : `${e.slice(0, 3).join(' ')} +${e.length - 3} more`;
}

/** What kind of data a feed holds: from its (pseudo-)ecosystems once complete, else from its id (`nvd:`, `kev:`). */
function kindOf(f: FeedInfo): string {
  const kind = feedKindOf(f.ecosystems) ?? (f.source.startsWith('nvd:') ? 'nvd' : f.source.startsWith('kev:') ? 'kev' : f.source.startsWith('osv:') ? 'osv' : undefined);
  return kind === 'nvd' ? 'NVD (CVE severity)' : kind === 'kev' ? 'KEV (known exploited)' : kind === 'osv' ? 'OSV' : '-';
}

/** What the status column says: complete, or what is wrong. `running`: a live writer holds the store's lock. */
function statusCell(f: FeedInfo, running: string | undefined): string {
  switch (f.status) {
    case 'complete':
      return 'complete';
    case 'in-progress':
      return running ? `INCOMPLETE (being synced: ${running})` : 'INCOMPLETE (sync interrupted)';
    case 'failed':
      return `FAILED: ${(f.error ?? '').slice(0, 80)}`;
    default:
      return 'UNKNOWN (synced by an older trustctl)';
  }
}

/** `trustctl feeds sync|status`: keeps the embedded advisory store current (DESIGN.md "Re-verify"). */
export function registerFeeds(program: Command, ctx: CliContext): void {
  const feeds = program.command('feeds').description('vulnerability feeds (OSV exports, NVD CVE severities, CISA KEV) in the embedded store');
  feeds
    .command('sync')
    .description('read feeds into the embedded store, one source at a time (unchanged complete sources are skipped; interrupted ones are resumed). '
      + 'What a file holds is told by its content: an OSV all.zip, an NVD CVE API 2.0 response page or bare cve record, or the CISA KEV catalog. '
      + 'The NVD API is read incrementally (lastModStartDate), within its rate limits; its key comes from NVD_API_KEY or the Secrets Manager secret NVD_API_KEY_SECRET_ID names')
    .option('--feed <file|dir|url>', 'an OSV all.zip, NVD JSON or KEV catalog file; a folder of any mix (<Ecosystem>/all.zip, NVD pages and records, the KEV catalog); an https URL of one; '
      + `or the NVD CVE API URL (${NVD_API_URL}) (repeatable; default: osv.dev exports, the NVD API and CISA's KEV catalog)`, collect, [])
    .option('--data-dir <dir>', 'the store (default: $TRUSTCTL_DATA_DIR/advisories, $XDG_DATA_HOME/trustctl/advisories or ~/.local/share/trustctl/advisories)')
    .option('--force', 'read every export in full, even if unchanged')
    .action(async (opts: { feed: string[]; dataDir?: string; force?: boolean }) => {
      const sources = await feedSources(opts.feed.length > 0 ? opts.feed : DEFAULT_FEEDS);
      const store = await EmbeddedAdvisoryStore.open(opts.dataDir ?? defaultAdvisoryDir());
      try {
        // One line per feed as it finishes: a full sync of large exports takes seconds each. A feed
        // that fails does not stop the others; it is marked failed and the command exits 2.
        const results = await syncFeeds(sources, store, {
          force: opts.force,
          keepGoing: true,
          onProgress: (r) => {
            if (r.error !== undefined) {
              ctx.io.stderr.write(`  ${r.source}: FAILED: ${r.error}\n`);
              return;
            }
            const what = r.unchanged ? 'unchanged since the last complete sync'
              : `${r.resumed ? 'resumed, ' : ''}${r.read} read, ${r.changed.length} new or updated, ${r.withdrawn ? `${r.withdrawn.length} withdrawn, ` : ''}${r.skipped.length} skipped`;
            ctx.io.stdout.write(`  ${r.source}: ${what} (${(r.ms / 1000).toFixed(1)} s)\n`);
            for (const s of r.skipped.slice(0, 5)) ctx.io.stderr.write(`    skipped ${s.id}: ${s.reason}\n`);
            if (r.skipped.length > 5) ctx.io.stderr.write(`    … ${r.skipped.length - 5} more skipped\n`);
          },
        });
        await store.flush();
        ctx.io.stdout.write(`Advisories in the store: ${await store.count()}\n`);
        const failed = results.filter((r) => r.error !== undefined);
        if (failed.length > 0) {
          ctx.io.stderr.write(`trustctl: ${failed.length} feed${failed.length === 1 ? '' : 's'} failed to sync (${failed.map((r) => r.source).join(', ')}); the ecosystems they cover count as having no vulnerability data until a sync completes them\n`);
          ctx.exitCode = ExitCode.CannotScan;
        }
      } finally {
        await store.close();
      }
    });
  feeds
    .command('status')
    .description('what the embedded store holds, per feed: complete or not, revision, ecosystems covered (exit 1 when no feed is synced or one is not complete)')
    .option('--data-dir <dir>', 'the store (default as for sync)')
    .option('--json', 'print the feeds as JSON')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const store = await EmbeddedAdvisoryStore.open(opts.dataDir ?? defaultAdvisoryDir(), { readOnly: true });
      try {
        const list = await storedFeeds(store);
        const incomplete = list.filter((f) => f.status !== 'complete');
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify({ feeds: list.map((f) => ({ ...f, kind: feedKindOf(f.ecosystems) ?? null })), records: await store.count() }, null, 2)}\n`);
        } else {
          const holder = lockHolder(join(store.dir, ADVISORY_LOCK_FILE));
          const running = holder?.alive ? `pid ${holder.pid}${holder.since ? ` since ${holder.since}` : ''}` : undefined;
          const rows = list.map((f) => [f.source, kindOf(f), statusCell(f, running), f.syncedAt ?? '-', f.revision ?? '-', String(f.records ?? '-'), ecosystemsCell(f)]);
          ctx.io.stdout.write(renderTable(['feed', 'kind', 'status', 'synced', 'revision', 'records read', 'ecosystems'], rows));
          ctx.io.stdout.write(`Advisories in the store: ${await store.count()}\n`);
          if (list.length === 0) ctx.io.stdout.write('No feed has been synced into this store: every ecosystem has no vulnerability data. Run `trustctl feeds sync`.\n');
          if (incomplete.length > 0) {
            ctx.io.stdout.write(`${incomplete.length} feed${incomplete.length === 1 ? ' is' : 's are'} not complete: ${incomplete.map((f) => f.source).join(', ')}. Run \`trustctl feeds sync\` to finish ${incomplete.length === 1 ? 'it' : 'them'}.\n`);
          }
        }
        // Scripts can tell a store that vouches for its feeds (exit 0) from one that does not (exit 1).
        if (list.length === 0 || incomplete.length > 0) ctx.exitCode = ExitCode.Quarantined;
      } finally {
        await store.close();
      }
    });
}
