/**
 * The long differential run (RELIABILITY.md 58): many seeded adversarial tars through the Go
 * witness (test/witness/tarlist: archive/tar + containerd's applier) and through our readLayer +
 * FileTree.squash; prints cases/s and the agreement count, and the first disagreements with their
 * seed and recipe (replay one with `--from <seed> --cases 1 --show`).
 *
 *   npm run bench:differential -- [--cases 100000] [--from 0] [--show]
 */
import { generateCase } from '../../test/helpers/tar-gen';
import { Witness, buildWitness, ourListing } from '../../test/helpers/tar-witness';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const cases = arg('cases', 100_000);
  const from = arg('from', 0);
  const show = process.argv.includes('--show');
  const witness = new Witness(buildWitness());
  const started = Date.now();
  let agree = 0;
  let bothRefused = 0;
  const failures: string[] = [];
  for (let s = from; s < from + cases; s++) {
    const c = generateCase(s);
    const [want, got] = await Promise.all([witness.list(c.tar), ourListing(c.tar)]);
    const refusedW = want.startsWith('refused:');
    const refusedO = got.startsWith('refused:');
    if (refusedW && refusedO) {
      agree++;
      bothRefused++;
    } else if (want === got) agree++;
    else if (failures.length < 20) failures.push(`seed ${s}\n  recipe: ${c.recipe.join('\n          ')}\n  witness:\n${want.replace(/^/gm, '    ')}\n  ours:\n${got.replace(/^/gm, '    ')}`);
    if (show) process.stdout.write(`seed ${s}\n  recipe: ${c.recipe.join('\n          ')}\n  witness:\n${want}\n  ours:\n${got}\n`);
  }
  witness.close();
  const secs = (Date.now() - started) / 1000;
  for (const f of failures) console.log(f);
  console.log(`${cases} cases in ${secs.toFixed(1)} s (${Math.round(cases / secs)} cases/s): ${agree} agree (${bothRefused} both refused), ${cases - agree} disagree`);
  process.exitCode = agree === cases ? 0 : 1;
}

void main();
