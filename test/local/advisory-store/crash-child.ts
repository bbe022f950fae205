/**
 * Child process of the crash test (run with tsx): commits the first `split` corpus records and a feed
 * state, appends the rest to the data file without committing, then dies by SIGKILL — no close, no
 * lock release, exactly what a killed `trustctl feeds sync` leaves behind.
 *
 * Usage: crash-child.ts <store dir> <split>
 */
import { EmbeddedAdvisoryStore } from '../../../lib/local/advisory-store';
import { loadCorpus } from './corpus';

async function main(): Promise<void> {
  const [dir, splitArg] = process.argv.slice(2);
  const split = Number(splitArg);
  const records = loadCorpus();
  const store = await EmbeddedAdvisoryStore.open(dir);
  await store.upsert(records.slice(0, split));
  await store.putFeedState('corpus-first-half', { syncedAt: '2026-01-01T00:00:00Z', records: split });
  await store.upsert(records.slice(split));
  // Tell the parent how far the data file got, then die without any cleanup.
  process.stdout.write(`${JSON.stringify(store.stats())}\n`, () => process.kill(process.pid, 'SIGKILL'));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(3);
});
