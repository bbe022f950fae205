import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NODE_RELEASE } from '../../lib/local/builder/serve-image';

/**
 * scripts/lambda-node.ts, run as `npm run test:lambda-node` runs it: it prints the Lambdas' Node, and
 * runs a program on it with that Node first on PATH — so `node` in a grandchild is the same Node.
 */
const REPO = join(__dirname, '..', '..');
const run = (...args: string[]) => spawnSync(join(REPO, 'node_modules', '.bin', 'tsx'), [join(REPO, 'scripts', 'lambda-node.ts'), ...args], { cwd: REPO, encoding: 'utf8' });

describe('scripts/lambda-node.ts', () => {
  it.each([
    ['no argument: the binary', [], /\/bin\/node$/],
    ['--bin-dir: its directory', ['--bin-dir'], /\/bin$/],
  ])('%s', (_name, args, shape) => {
    const r = run(...args);
    expect(r.status).toBe(0);
    const printed = r.stdout.trim();
    expect(printed).toMatch(shape);
    expect(printed).toContain(`${NODE_RELEASE.name}-${NODE_RELEASE.version}`);
  }, 300_000);

  it('-- <args>: runs them on that Node, `node` on PATH included, and passes the exit code on', () => {
    const r = run('--', '-e', 'const c = require("node:child_process"); console.log(process.version, c.execSync("node --version").toString().trim()); process.exit(7)');
    expect(r.stdout.trim()).toBe(`v${NODE_RELEASE.version} v${NODE_RELEASE.version}`);
    expect(r.status).toBe(7);
  }, 300_000);

  it('refuses unknown arguments', () => {
    const r = run('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage/);
  }, 300_000);
});
