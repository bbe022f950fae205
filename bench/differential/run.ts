/**
 * The long differential run (RELIABILITY.md 58): many seeded adversarial tars through the Go
 * witness (test/witness/tarlist: archive/tar + containerd's applier) and through our readLayer +
 * FileTree.squash; prints cases/s and the agreement count, and the first disagreements with their
 * seed and recipe (replay one with `--from <seed> --cases 1 --show`).
 *
 *   npm run bench:differential -- [--cases 100000] [--from 0] [--strict] [--show]
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
  const strict = process.argv.includes('--strict');
  const witness = new Witness(buildWitness());
  const started = Date.now();
  let agree = 0;
  let bothRefused = 0;
  /** Disagreements where the runtime writes a file content the scanner does not hold: the unsafe kind. */
  let hidden = 0;
  let oursOnly = 0;
  let runtimeOnly = 0;
  const failures: string[] = [];
  for (let s = from; s < from + cases; s++) {
    const c = generateCase(s, strict);
    const [want, got] = await Promise.all([witness.list(c.tar), ourListing(c.tar)]);
    const refusedW = want.startsWith('refused:');
    const refusedO = got.startsWith('refused:');
    if (!refusedW && refusedO) oursOnly++;
    if (refusedW && !refusedO) runtimeOnly++;
    if (refusedW && refusedO) {
      agree++;
      bothRefused++;
    } else if (want === got) agree++;
    else {
      if (!refusedW && !refusedO && hidesContent(want, got)) hidden++;
      if (failures.length < 20) failures.push(`seed ${s}\n  recipe: ${c.recipe.join('\n          ')}\n  witness:\n${want.replace(/^/gm, '    ')}\n  ours:\n${got.replace(/^/gm, '    ')}`);
    }
    if (show) process.stdout.write(`seed ${s}\n  recipe: ${c.recipe.join('\n          ')}\n  witness:\n${want}\n  ours:\n${got}\n`);
  }
  witness.close();
  const secs = (Date.now() - started) / 1000;
  for (const f of failures) console.log(f);
  console.log(`${cases} cases in ${secs.toFixed(1)} s (${Math.round(cases / secs)} cases/s): ${agree} agree (${bothRefused} both refused), ${cases - agree} disagree, ${hidden} of them hide file content the runtime writes; refused by us only ${oursOnly}, by the runtime only ${runtimeOnly}`);
  process.exitCode = agree === cases ? 0 : 1;
}

/** True when a file the witness lists has a content hash our listing lacks. */
function hidesContent(want: string, got: string): boolean {
  const ours = new Set(got.split('\n').map((l) => l.split('\t')[7]));
  return want.split('\n').some((l) => {
    const f = l.split('\t');
    return f[1] === 'file' && !ours.has(f[7]);
  });
}

void main();
