import { join } from 'node:path';
import type { Command } from 'commander';
import { storedFeeds } from '../../engine/advisories/feed-state';
import type { FeedInfo } from '../../engine/model';
import { syncFeeds } from '../../engine/sync-feeds';
import { ADVISORY_LOCK_FILE, defaultAdvisoryDir, EmbeddedAdvisoryStore, lockHolder } from '../../local/advisory-store';
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
  const feeds = program.command('feeds').description('vulnerability feeds (OSV exports) in the embedded store');
  feeds
    .command('sync')
    .description('read OSV exports into the embedded store, one source at a time (unchanged complete sources are skipped; interrupted ones are resumed)')
    .option('--feed <zip|dir|url>', 'an all.zip, a folder of <Ecosystem>/all.zip, or an https URL (repeatable; default: osv.dev exports)', collect, [])
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
            const what = r.unchanged ? 'unchanged since the last complete sync' : `${r.resumed ? 'resumed, ' : ''}${r.read} read, ${r.changed.length} new or updated, ${r.skipped.length} skipped`;
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
          ctx.io.stdout.write(`${JSON.stringify({ feeds: list, records: await store.count() }, null, 2)}\n`);
        } else {
          const holder = lockHolder(join(store.dir, ADVISORY_LOCK_FILE));
          const running = holder?.alive ? `pid ${holder.pid}${holder.since ? ` since ${holder.since}` : ''}` : undefined;
          const rows = list.map((f) => [f.source, statusCell(f, running), f.syncedAt ?? '-', f.revision ?? '-', String(f.records ?? '-'), ecosystemsCell(f)]);
          ctx.io.stdout.write(renderTable(['feed', 'status', 'synced', 'revision', 'records read', 'ecosystems'], rows));
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
