/**
 * feed-sync across invocations (issue 15 item 8): a synthetic OSV export of 500,000 records (a real zip
 * with ZIP64 end records, test/helpers/synthetic-feed.ts) synced one message at a time through
 * lib/engine/pipeline/feed-sync-continuation.ts into the memory advisory store, each invocation given
 * 150,000 records — what a 900 s Lambda writes at the ~165 records/s measured on DynamoDB Local. One
 * command: `npm run bench:feeds-continuation [-- <records> <per invocation>]`.
 *
 * Prints the invocations it took, records stored, records written more than once, checkpoints, digests
 * enqueued, and the wall time per phase. Times are of this machine (shared and noisy): the counts are the result.
 */
import { syncFeedMessage, startFeedSync } from '../../lib/engine/pipeline/feed-sync-continuation';
import { memoryFeedSource, syntheticOsvZip } from '../../test/helpers/synthetic-feed';
import { feedWorld } from '../../test/engine/pipeline/helpers/feed-continuation';

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 500_000);
  const perInvocation = Number(process.argv[3] ?? 150_000);
  let t = process.hrtime.bigint();
  const zip = syntheticOsvZip({ records, packages: 1000 });
  const buildMs = ms(t);
  const source = memoryFeedSource('osv:Synthetic', () => zip, () => 'etag:"bench"');
  const w = feedWorld(source, { packages: 1000 });
  t = process.hrtime.bigint();
  await startFeedSync(w.ports());
  const perRun: number[] = [];
  let statuses = '';
  for (let m = w.feedMessages.shift(); m; m = w.feedMessages.shift()) {
    const t1 = process.hrtime.bigint();
    const out = await syncFeedMessage(w.ports(), m, { timeLeftMs: w.budget(perInvocation), leaseMs: () => 900_000 });
    perRun.push(ms(t1));
    statuses += `${out.status} `;
  }
  const totalMs = ms(t);
  const stored = await w.store.count();
  const twice = [...w.store.writes.values()].filter((n) => n > 1).length;
  const st = await w.store.getFeedState('osv:Synthetic');
  console.log(`feed-sync continuation: ${records} records (${(zip.length / 1e6).toFixed(0)} MB zip, built in ${buildMs.toFixed(0)} ms), ${perInvocation} records per invocation; node ${process.version}`);
  console.log(`  invocations           ${perRun.length}  (${statuses.trim()})`);
  console.log(`  records stored        ${stored}  (state ${st?.status}, ${st?.records} records, ecosystems ${st?.ecosystems?.join(',')})`);
  console.log(`  written more than once ${twice}`);
  console.log(`  checkpoints           ${w.store.cursorPositions('etag:"bench"').length}`);
  console.log(`  digests enqueued      ${w.enqueued().size} in ${w.rescans.length} messages`);
  console.log(`  wall time             ${totalMs.toFixed(0)} ms total, per invocation ${perRun.map((x) => x.toFixed(0)).join(' / ')} ms, ${(records / (totalMs / 1000)).toFixed(0)} records/s`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
