import type { AdvisoryStore } from '../../engine/ports';
import type { Command } from 'commander';
import { syncFeeds } from '../../engine/sync-feeds';
import { defaultAdvisoryDir, EmbeddedAdvisoryStore } from '../../local/advisory-store';
import { DEFAULT_FEEDS, feedSources } from '../advisories';
import { renderTable } from '../format/table';
import type { CliContext } from '../main';

const collect = (value: string, prev: string[] = []): string[] => [...prev, value];

/** `trustctl feeds sync|status`: keeps the embedded advisory store current (DESIGN.md "Re-verify"). */
export function registerFeeds(program: Command, ctx: CliContext): void {
  const feeds = program.command('feeds').description('vulnerability feeds (OSV exports) in the embedded store');
  feeds
    .command('sync')
    .description('read OSV exports into the embedded store, incrementally (unchanged exports are skipped)')
    .option('--feed <zip|dir|url>', 'an all.zip, a folder of <Ecosystem>/all.zip, or an https URL (repeatable; default: osv.dev exports)', collect, [])
    .option('--data-dir <dir>', 'the store (default: $TRUSTCTL_DATA_DIR/advisories, $XDG_DATA_HOME/trustctl/advisories or ~/.local/share/trustctl/advisories)')
    .option('--force', 'read every export in full, even if unchanged')
    .action(async (opts: { feed: string[]; dataDir?: string; force?: boolean }) => {
      const sources = await feedSources(opts.feed.length > 0 ? opts.feed : DEFAULT_FEEDS);
      const store = await EmbeddedAdvisoryStore.open(opts.dataDir ?? defaultAdvisoryDir());
      try {
        // One line per feed as it finishes: a full sync of large exports takes seconds each.
        await syncFeeds(sources, store, {
          force: opts.force,
          onProgress: (r) => {
            ctx.io.stdout.write(`  ${r.source}: ${r.unchanged ? 'unchanged since the last sync' : `${r.read} read, ${r.changed.length} new or updated, ${r.skipped.length} skipped`} (${(r.ms / 1000).toFixed(1)} s)\n`);
            for (const s of r.skipped.slice(0, 5)) ctx.io.stderr.write(`    skipped ${s.id}: ${s.reason}\n`);
            if (r.skipped.length > 5) ctx.io.stderr.write(`    … ${r.skipped.length - 5} more skipped\n`);
          },
        });
        await store.flush();
        ctx.io.stdout.write(`Advisories in the store: ${await store.count()}\n`);
      } finally {
        await store.close();
      }
    });
  feeds
    .command('status')
    .description('what the embedded store holds, per feed')
    .option('--data-dir <dir>', 'the store (default as for sync)')
    .action(async (opts: { dataDir?: string }) => {
      const store = await EmbeddedAdvisoryStore.open(opts.dataDir ?? defaultAdvisoryDir(), { readOnly: true });
      try {
        const rows: string[][] = [];
        for (const source of (await (store as AdvisoryStore).listFeeds?.()) ?? []) {
          const st = await store.getFeedState(source);
          rows.push([source, st?.syncedAt ?? '', st?.modified ?? '', String(st?.records ?? '')]);
        }
        ctx.io.stdout.write(renderTable(['feed', 'synced', 'newest record', 'records read'], rows));
        ctx.io.stdout.write(`Advisories in the store: ${await store.count()}\n`);
      } finally {
        await store.close();
      }
    });
}
