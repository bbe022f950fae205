import { generateCase } from '../../helpers/tar-gen';
import { Witness, buildWitness, ourListing } from '../../helpers/tar-witness';

/**
 * RELIABILITY.md 58 (and 49–54 as far as the tree goes): the scanner's tree of a layer against
 * the Go witness (test/witness/tarlist: Go's archive/tar + a model of containerd's applier), on
 * seeded adversarial tars from test/helpers/tar-gen.ts. Our side is the product code: readLayer
 * (every body captured) + FileTree.squash. The longer run is `npm run bench:differential`.
 *
 * Two properties:
 * - strict cases (names that never put a member beneath or over a path with children, no symlink
 *   as a parent, one owner for files and hardlinks): the listing — path, type, mode, owner, size,
 *   link target, sha256 of the content — is identical, or both refuse the layer;
 * - every case, whatever it holds: when the runtime applies the layer, the scanner either refuses
 *   it or holds every file content the runtime would write (no byte the container can run is
 *   hidden from the checks). Where the full generator still differs from containerd it is in
 *   that safe direction only: containerd's same-layer removals (a directory replaced by a file
 *   drops its children), hardlinks sharing mode/owner with their target inode, hardlinks to
 *   symlinks or devices (refused by the reader with an unknown), and the implicit directories
 *   containerd creates where a symlink points (the scanner keeps the entry at its tar name and
 *   aliases it).
 */

const SEEDS = 2500;

describe('differential harness: our tree equals Go archive/tar + containerd (RELIABILITY.md 58)', () => {
  let witness: Witness;
  beforeAll(() => {
    witness = new Witness(buildWitness()); // fails when `go` is missing: .ci/run installs golang-go
  });
  afterAll(() => witness.close());

  it(`${SEEDS} strict seeded cases: identical listing, or both refuse`, async () => {
    const diffs: string[] = [];
    let accepted = 0;
    for (let s = 0; s < SEEDS; s++) {
      const c = generateCase(s, true);
      const [want, got] = await Promise.all([witness.list(c.tar), ourListing(c.tar)]);
      const bothRefuse = want.startsWith('refused:') && got.startsWith('refused:');
      if (!bothRefuse && want !== got) diffs.push(`seed ${s} (strict)\n${c.recipe.join('\n')}\n--- witness\n${want}--- ours\n${got}`);
      if (!want.startsWith('refused:')) accepted++;
    }
    expect(diffs.slice(0, 3)).toEqual([]);
    // The generator must keep producing layers the runtime applies, or the check proves little.
    expect(accepted).toBeGreaterThan(SEEDS / 4);
  });

  it(`${SEEDS} unrestricted seeded cases: the scanner refuses the layer or holds every file the runtime writes`, async () => {
    const hidden: string[] = [];
    let exact = 0;
    for (let s = 0; s < SEEDS; s++) {
      const c = generateCase(s);
      const [want, got] = await Promise.all([witness.list(c.tar), ourListing(c.tar)]);
      if (want === got || got.startsWith('refused:')) {
        exact++;
        continue;
      }
      if (want.startsWith('refused:')) continue; // the runtime never runs it
      const ours = new Set(got.split('\n').map((l) => l.split('\t')[7]));
      for (const line of want.split('\n')) {
        const f = line.split('\t');
        if (f[1] === 'file' && !ours.has(f[7])) hidden.push(`seed ${s}: ${f[0]} (${f[7]})\n${c.recipe.join('\n')}\n--- witness\n${want}--- ours\n${got}`);
      }
    }
    expect(hidden.slice(0, 3)).toEqual([]);
    expect(exact).toBeGreaterThan(SEEDS * 0.8);
  });
});
