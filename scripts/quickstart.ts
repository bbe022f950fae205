/**
 * The README's first command (after `npm ci`): builds the sample image from real files on this
 * machine and runs the main job on it with the embedded defaults. Kept to a few lines on purpose —
 * everything it does is the product's own code, as a user would run it.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { main } from '../lib/cli/main';
import { writeSampleArchive } from '../lib/local/builder/sample';

async function quickstart(): Promise<number> {
  const dir = join(process.cwd(), '.trustctl');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'sample.oci.tar');
  const image = await writeSampleArchive(file);
  const target = `oci-archive:${relative(process.cwd(), file)}`;
  process.stdout.write(`Built the sample image ${image.root.digest}\n  -> ${target}\n\n$ trustctl scan ${target}\n`);
  return main(['node', 'trustctl', 'scan', target]);
}

quickstart().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`quickstart failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  },
);
