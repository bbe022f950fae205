/**
 * Child process of the cross-process race test (run with tsx): once the parent writes a line to its
 * stdin, puts one evaluation — the older or the newer one, by role — for each of `rounds` digests and
 * indexes each digest under a shared and an own package key. The older one goes through the digests
 * in ascending order, the newer one in descending order, so the two meet in the middle: each lands
 * first on about half of the digests. Prints the put results (by digest number) as one JSON line.
 *
 * Usage: put-child.ts <store dir> <older|newer> <rounds>
 */
import { packageKey } from '../../../lib/engine/verdicts/keys';
import { EmbeddedVerdictStore } from '../../../lib/local/verdict-store';
import { digestOf, named } from '../../engine/verdicts/contract';

async function main(): Promise<void> {
  const [dir, role, roundsArg] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const store = new EmbeddedVerdictStore(dir);
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const results: { written: boolean; revision?: number }[] = new Array(rounds);
  for (let step = 0; step < rounds; step++) {
    const i = role === 'older' ? step : rounds - 1 - step;
    const d = digestOf(`cross-process #${i}`);
    const r = await store.put(named(d, role === 'older' ? 'olderFeedLater' : 'newerFeedEarlier'));
    await store.indexPackages(d, [packageKey('npm', 'shared'), packageKey('npm', `${role}-${i}`)]);
    results[i] = { written: r.written, ...(r.revision !== undefined ? { revision: r.revision } : {}) };
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  process.stdin.destroy();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(3);
});
