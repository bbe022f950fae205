import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { AuthError, InvalidReferenceError } from '../../engine/errors';
import { isDigest, parseImageRef, type Digest } from '../../engine/model';
import { gateDecision, type GateDecision } from '../../engine/verdicts/gate';
import { parseDuration } from '../../engine/duration';
import type { StoredVerdict } from '../../engine/verdicts/port';
import { defaultVerdictDir, EmbeddedVerdictStore } from '../../local/verdict-store';
import { VerdictApiClient, VerdictApiError } from '../../local/verdict-api-client';
import { functionUrlRegion, SigV4Signer } from '../../aws/function-url-signer';
import { ExitCode } from '../exit-codes';
import { paintFor } from '../format/colour';
import { gateJson, gateJunit, gateSarif, renderGateTable, renderHistoryTable, VERIFY_FORMATS, type VerifyFormat } from '../format/verdict';
import type { CliContext } from '../main';
import { UsageError } from '../usage-error';

const TOOL_VERSION = process.env.npm_package_version ?? '0.1.0';

/**
 * The digest a deploy names: `registry/repo@sha256:…`, `repo:tag@sha256:…` or a bare `sha256:…`.
 * A tag alone is refused: it can move between the check and the pull (RELIABILITY.md 35).
 */
export function digestOf(target: string): Digest {
  if (isDigest(target)) return target;
  const ref = parseImageRef(target);
  if (!ref.digest) throw new InvalidReferenceError(`${JSON.stringify(target)} names no digest: a tag can move between the gate and the pull — verify image@sha256:… (e.g. from \`docker buildx imagetools inspect\` or \`crane digest\`)`);
  return ref.digest;
}

/** Options of {@link verdictReader}. */
export interface VerdictReaderOptions {
  readonly verdictDir?: string;
  /** A verdict API's base URL; a Lambda Function URL host is signed with SigV4 unless a bearer token is set. */
  readonly server?: string;
  readonly caCert?: string;
  /** Sign with SigV4 whatever the host (a custom domain in front of a Function URL, tests). */
  readonly sigv4?: boolean;
  /** The SigV4 region; default: the Function URL's. */
  readonly sigv4Region?: string;
  /** Where the authentication used is said (stderr); default: nowhere. */
  readonly log?: (line: string) => void;
}

/**
 * Where verdicts are read from: the embedded store, or a verdict API (`--server`), authenticated by
 * one of (they share the Authorization header):
 * - `$TRUSTCTL_API_TOKEN` as a bearer token (the trust API with `admissionAuth: 'none'`, `trustctl serve` behind a proxy);
 * - SigV4 with the caller's AWS credentials (default chain) for service `lambda`: with `--sigv4`, or
 *   when the host is a Lambda Function URL (`<id>.lambda-url.<region>.on.aws`, `admissionAuth: 'iam'`)
 *   and no token is set;
 * - nothing.
 * Missing credentials for SigV4 throw {@link AuthError} here, before any request (exit 2).
 */
export async function verdictReader(opts: VerdictReaderOptions): Promise<(d: Digest) => Promise<StoredVerdict | undefined>> {
  if (opts.server) {
    const token = process.env.TRUSTCTL_API_TOKEN || undefined;
    let host: string;
    try {
      host = new URL(opts.server).hostname;
    } catch {
      host = '';
    }
    if (opts.sigv4 && token) throw new UsageError('--sigv4 and $TRUSTCTL_API_TOKEN both authenticate through the Authorization header: unset one');
    if (opts.sigv4Region !== undefined && !opts.sigv4 && !(functionUrlRegion(host) && !token)) throw new UsageError('--sigv4-region applies only when requests are signed with SigV4 (--sigv4, or a Function URL without $TRUSTCTL_API_TOKEN)');
    let signer: SigV4Signer | undefined;
    if (opts.sigv4 || (functionUrlRegion(host) !== undefined && !token)) {
      const region = opts.sigv4Region ?? functionUrlRegion(host);
      if (!region) throw new UsageError(`--sigv4: ${JSON.stringify(host)} is not a Lambda Function URL host (<id>.lambda-url.<region>.on.aws): give --sigv4-region`);
      signer = new SigV4Signer({ region });
      await signer.check();
      opts.log?.(`trustctl verify: signing requests to ${host} with ${signer.describe()}`);
    } else if (token) {
      opts.log?.(`trustctl verify: sending $TRUSTCTL_API_TOKEN to ${host} as a bearer token`);
    }
    const api = new VerdictApiClient(opts.server, {
      ...(opts.caCert ? { ca: await readFile(opts.caCert) } : {}),
      ...(signer ? { signer } : token ? { authorization: `Bearer ${token}` } : {}),
    });
    return (d) => api.get(d);
  }
  const store = new EmbeddedVerdictStore(opts.verdictDir ?? defaultVerdictDir());
  return (d) => store.get(d);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reads the verdict, waiting up to `waitMs` for one to exist (the pipeline may still be scanning a
 * just-pushed image): polls with a growing interval (1 s → 10 s). Read errors are retried while
 * waiting; the last one is thrown when time is up, so an unreachable store is an error (exit 2),
 * never "no verdict". Access denied (401/403) and missing credentials are thrown at once: waiting
 * does not fix them.
 */
export async function readWithWait(read: (d: Digest) => Promise<StoredVerdict | undefined>, digest: Digest, waitMs: number, now: () => number = Date.now, pause: (ms: number) => Promise<void> = sleep): Promise<StoredVerdict | undefined> {
  const deadline = now() + waitMs;
  let interval = 1000;
  for (;;) {
    let error: unknown;
    try {
      const v = await read(digest);
      if (v) return v;
    } catch (e) {
      if (e instanceof AuthError || (e instanceof VerdictApiError && (e.status === 401 || e.status === 403))) throw e;
      error = e;
    }
    const left = deadline - now();
    if (left <= 0) {
      if (error) throw error;
      return undefined;
    }
    await pause(Math.min(interval, left));
    interval = Math.min(interval * 2, 10_000);
  }
}

const durationOption = (value: string): number => {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** The gate decision in the format asked for. */
export function formatGate(d: GateDecision, format: VerifyFormat, io: CliContext['io']): string {
  switch (format) {
    case 'json': return JSON.stringify(gateJson(d), null, 2) + '\n';
    case 'junit': return gateJunit(d);
    case 'sarif': return JSON.stringify(gateSarif(d, { toolVersion: TOOL_VERSION }), null, 2) + '\n';
    default: return renderGateTable(d, paintFor(io.stdout));
  }
}

/**
 * `trustctl verify <image@digest | sha256:…>`: the deploy gate (DESIGN.md "Contracts"). Reads the
 * verdict by digest — never scans, never reads tags — and exits 0 only for a trusted, fresh verdict;
 * 1 for quarantined, stale or no verdict; 2 when the store cannot be read.
 *
 * `trustctl history <digest>`: every recorded revision, newest first ("was X trusted at T, and why?").
 */
export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description('the deploy gate: exit 0 only if the digest has a trusted, fresh verdict (1 quarantined / stale / none, 2 cannot read)')
    .argument('<image>', 'image@sha256:<hex> or sha256:<hex> (a tag alone is refused)')
    .addOption(new Option('--format <format>', 'output format').choices(VERIFY_FORMATS).default('table'))
    .option('--wait <duration>', 'wait up to this long for a verdict to appear (e.g. 5m), for a push the pipeline is still scanning', durationOption)
    .option('--max-age <duration>', 'a verdict evaluated longer ago than this is stale and fails (e.g. 7d; default: any age)', durationOption)
    .option('--verdict-dir <dir>', 'the embedded verdict store (default: $TRUSTCTL_DATA_DIR/verdicts or ~/.local/share/trustctl/verdicts)')
    .option('--server <url>', 'read the verdict from a verdict API (`trustctl serve`, the pipeline) instead of the embedded store; $TRUSTCTL_API_TOKEN is sent as a bearer token, else a Lambda Function URL is signed with SigV4 (AWS credentials from the default chain)')
    .option('--ca-cert <file>', 'with --server: PEM CA bundle for a self-signed server certificate')
    .option('--sigv4', 'with --server: sign requests with SigV4 (service lambda) whatever the host, e.g. a custom domain in front of the Function URL')
    .option('--sigv4-region <region>', 'the region to sign for (default: the Function URL\'s)')
    .action(async (target: string, opts: { format: VerifyFormat; wait?: number; maxAge?: number; verdictDir?: string; server?: string; caCert?: string; sigv4?: boolean; sigv4Region?: string }) => {
      const digest = digestOf(target);
      if ((opts.sigv4 || opts.sigv4Region !== undefined) && !opts.server) throw new UsageError('--sigv4 and --sigv4-region apply to --server only');
      const read = await verdictReader({ ...opts, log: (line) => ctx.io.stderr.write(`${line}\n`) });
      const verdict = await readWithWait(read, digest, opts.wait ?? 0);
      const decision = gateDecision(digest, verdict, { now: new Date(), ...(opts.maxAge !== undefined ? { maxAgeMs: opts.maxAge } : {}) });
      ctx.io.stdout.write(formatGate(decision, opts.format, ctx.io));
      ctx.exitCode = decision.pass ? ExitCode.Ok : ExitCode.Quarantined;
    });

  program
    .command('history')
    .description('every recorded verdict of a digest, newest first: was it trusted at time T, and why?')
    .argument('<image>', 'image@sha256:<hex> or sha256:<hex>')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json'] as const).default('table'))
    .option('--at <time>', 'only the verdict that was current at this instant (RFC 3339)')
    .option('--limit <n>', 'at most this many revisions (the newest)', (v: string) => {
      if (!/^[1-9]\d*$/.test(v)) throw new InvalidArgumentError('expected a positive integer.');
      return Number(v);
    })
    .option('--verdict-dir <dir>', 'the embedded verdict store (default: $TRUSTCTL_DATA_DIR/verdicts or ~/.local/share/trustctl/verdicts)')
    .action(async (target: string, opts: { format: 'table' | 'json'; at?: string; limit?: number; verdictDir?: string }) => {
      const digest = digestOf(target);
      const store = new EmbeddedVerdictStore(opts.verdictDir ?? defaultVerdictDir());
      let history = await store.history(digest, opts.at ? {} : { limit: opts.limit });
      if (opts.at) {
        const at = Date.parse(opts.at);
        if (Number.isNaN(at)) throw new UsageError(`--at: not an RFC 3339 time: ${JSON.stringify(opts.at)}`);
        // The verdict in force at T: the newest revision recorded at or before T (recording order is revision order).
        const current = history.find((v) => Date.parse(v.evaluatedAt) <= at);
        history = current ? [current] : [];
      }
      ctx.io.stdout.write(opts.format === 'json'
        ? JSON.stringify({ digest, history }, null, 2) + '\n'
        : renderHistoryTable(digest, history, paintFor(ctx.io.stdout)));
      ctx.exitCode = history.length > 0 ? ExitCode.Ok : ExitCode.Quarantined;
    });
}
