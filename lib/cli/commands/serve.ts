import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { AdmissionController, type AdmissionConfig, type NamespaceMode, withTimeout } from '../../admission/decide';
import { DynamoVerdictStore } from '../../aws/verdict-store';
import { AdmissionSightings } from '../../admission/sightings';
import { parseDuration } from '../../engine/duration';
import { sha256Digest } from '../../engine/model/digest';
import type { VerdictStore } from '../../engine/verdicts/port';
import { AdmissionConfigError } from '../../admission/errors';
import { createTrustServer, type TlsOptions } from '../../admission/server';
import { registryTagResolver } from '../../admission/tag-resolver';
import { repositoryPatternProblem } from '../../engine/policy/patterns';
import { defaultVerdictDir, EmbeddedVerdictStore } from '../../local/verdict-store';
import { ExitCode } from '../exit-codes';
import type { CliContext } from '../main';
import { cliCredentialProvider } from '../targets';

const MODES: readonly NamespaceMode[] = ['enforce', 'warn', 'off'];

const durationArg = (value: string): number => {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const urlArg = (value: string): string => {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL.');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('expected an http(s) URL.');
  return value;
};

const portArg = (value: string): number => {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0–65535.');
  return Number(value);
};

const patternArg = (value: string, prev: string[] = []): string[] => {
  const problem = repositoryPatternProblem(value);
  if (problem) throw new InvalidArgumentError(`${JSON.stringify(value)} ${problem}.`);
  return [...prev, value];
};

const namespaceModeArg = (value: string, prev: Record<string, NamespaceMode> = {}): Record<string, NamespaceMode> => {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(enforce|warn|off)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected <namespace>=enforce|warn|off.');
  return { ...prev, [m[1]]: m[3] as NamespaceMode };
};

/** Options of `trustctl serve` as commander hands them over. */
interface ServeOptions {
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  verdictDir?: string;
  verdictTable?: string;
  region?: string;
  dynamodbEndpoint?: string;
  recordSightings?: boolean;
  trustedRegistry: string[];
  maxVerdictAge: number;
  namespaceMode: Record<string, NamespaceMode>;
  defaultMode: NamespaceMode;
  resolveTags?: boolean;
  lookupTimeout: number;
  cacheTtl: number;
  missCacheTtl: number;
  webhookTimeout: number;
}

/** Where `serve` reads verdicts: the store, how to name it in messages, and a first read to warn early. */
interface VerdictSource {
  readonly store: Pick<VerdictStore, 'get'>;
  readonly description: string;
  /** Why every lookup would deny now (a missing directory, an unreadable table), or undefined. */
  probe(): Promise<string | undefined>;
  /** Releases the store's connections once the server has stopped. */
  close(): void;
}

/** A digest no image has (sha256 of nothing): its lookup tells whether the table can be read at all. */
const PROBE_DIGEST = sha256Digest('');

/**
 * The DynamoDB verdict table through {@link DynamoVerdictStore} (one strongly consistent GetItem per
 * lookup). Credentials and, unless given, the region come from the AWS SDK's default chain — env,
 * shared config, web identity (IRSA), container credentials (EKS Pod Identity), IMDS — so nothing
 * secret is passed on the command line
 * (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html). The socket
 * timeouts match the lookup budget, so a lookup the controller gave up on does not hold a socket.
 */
async function tableSource(opts: ServeOptions, table: string): Promise<VerdictSource> {
  const client = new DynamoDBClient({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.dynamodbEndpoint ? { endpoint: opts.dynamodbEndpoint } : {}),
    requestHandler: { connectionTimeout: opts.lookupTimeout, requestTimeout: opts.lookupTimeout, throwOnRequestTimeout: true },
  });
  let region: string;
  try {
    region = await client.config.region();
  } catch (e) {
    throw new AdmissionConfigError(`--verdict-table: no AWS region (give --region or set AWS_REGION): ${(e as Error).message}`);
  }
  if (!region) throw new AdmissionConfigError('--verdict-table: no AWS region (give --region or set AWS_REGION)');
  const store = new DynamoVerdictStore({ client, tableName: table });
  return {
    store,
    description: `DynamoDB table ${table} in ${region}${opts.dynamodbEndpoint ? ` at ${opts.dynamodbEndpoint}` : ''}`,
    probe: async () => {
      try {
        await withTimeout(() => store.get(PROBE_DIGEST), opts.lookupTimeout, `a first read of ${table}`);
        return undefined;
      } catch (e) {
        return `the verdict table ${table} cannot be read (${(e as Error).message.replace(/\s+/g, ' ').slice(0, 300)}): every image of an enforce namespace is denied until it can`;
      }
    },
    close: () => client.destroy(),
  };
}

/** The embedded verdict store in `dir`. */
function dirSource(dir: string): VerdictSource {
  return {
    store: new EmbeddedVerdictStore(dir),
    description: dir,
    // Every lookup would answer "no verdict" (deny): say so now rather than leave users guessing.
    probe: () => Promise.resolve(existsSync(dir) ? undefined : `${dir} does not exist yet: every image is denied until the pipeline records verdicts there`),
    close: () => undefined,
  };
}

/** Test seams of {@link registerServe}; the CLI itself passes none. */
export interface ServeDependencies {
  /** Stops the server when aborted, besides SIGINT and SIGTERM. */
  readonly stop?: AbortSignal;
}

/** `https://127.0.0.1:8443`, with IPv6 literals bracketed. */
function listeningUrl(tls: boolean, a: AddressInfo): string {
  const host = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
  return `${tls ? 'https' : 'http'}://${host}:${a.port}`;
}

/** Resolves on SIGINT, SIGTERM or `stop`; removes its listeners either way. */
function untilStopped(stop?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      stop?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const onAbort = (): void => done('stop');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (stop?.aborted) done('stop');
    else stop?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `trustctl serve`: the admission webhook (`/admission/validate`, `/admission/mutate`) and the
 * verdict API (`/verdicts/<digest>`, `/healthz`) over HTTPS (lib/admission/server.ts), reading the
 * embedded verdict store or, with `--verdict-table`, the pipeline's DynamoDB verdict table (the
 * in-cluster path on EKS: no Function URL, no SigV4 from the API server). Either way a lookup that
 * fails or exceeds `--lookup-timeout` denies (lib/admission/decide.ts, "store-unreachable"). Plain
 * HTTP is refused unless the host is loopback. Prints the listening URL on stderr, then a warning if
 * a first read of the store fails, and runs until SIGINT or SIGTERM.
 */
export function registerServe(program: Command, ctx: CliContext, deps: ServeDependencies = {}): void {
  program
    .command('serve')
    .description('admission webhook + verdict API over HTTPS (plain HTTP on loopback only), until SIGINT/SIGTERM')
    .option('--port <n>', 'port to listen on (0: any free port)', portArg, 8443)
    .option('--host <addr>', 'address to listen on; a non-loopback address needs --tls-cert and --tls-key', '127.0.0.1')
    .option('--tls-cert <file>', 'PEM certificate (chain) of the server')
    .option('--tls-key <file>', 'PEM private key of the server')
    .option('--verdict-dir <dir>', 'the embedded verdict store (default: $TRUSTCTL_DATA_DIR/verdicts, $XDG_DATA_HOME/trustctl/verdicts or ~/.local/share/trustctl/verdicts)')
    .addOption(new Option('--verdict-table <name>', "the pipeline's DynamoDB verdict table instead (AWS credentials from the SDK's default chain: env, profile, IRSA, EKS Pod Identity)").conflicts('verdictDir'))
    .option('--region <region>', 'AWS region of --verdict-table (default: the SDK default chain, e.g. AWS_REGION)')
    .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint for --verdict-table (DynamoDB Local, a VPC endpoint)', urlArg)
    .option('--record-sightings', "with --verdict-table: record each admitted digest as seen (at most once a day per digest; the nightly run re-evaluates digests seen within its live window; needs dynamodb:UpdateItem on the table's DIGESTS# items)")
    .option('--trusted-registry <pattern>', 'registry/repository pattern images must come from, e.g. 123456789012.dkr.ecr.*.amazonaws.com/** (repeatable; none: any registry)', patternArg, [])
    .option('--max-verdict-age <duration>', 'a verdict evaluated longer ago is stale and denied (e.g. 24h, 7d)', durationArg, 7 * 86_400_000)
    .option('--namespace-mode <ns=mode>', 'enforce, warn or off for one namespace (repeatable)', namespaceModeArg, {})
    .addOption(new Option('--default-mode <mode>', 'mode of the other namespaces').choices(MODES).default('enforce'))
    .option('--resolve-tags', 'on /admission/mutate, resolve tag-only images to their digest (registry credentials as for scan), check and pin them')
    .option('--lookup-timeout <duration>', 'budget of one verdict store lookup or tag resolution', durationArg, 2000)
    .option('--cache-ttl <duration>', 'how long a verdict is served from memory (0s: no cache)', durationArg, 5000)
    .option('--miss-cache-ttl <duration>', 'how long "no verdict" is served from memory (at most --cache-ttl; 0s: never)', durationArg, 2000)
    .option('--webhook-timeout <seconds>', 'the webhooks\' timeoutSeconds (lookups must fit in it)', (v: string) => {
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 30) throw new InvalidArgumentError('expected an integer from 1 to 30.');
      return Number(v);
    }, 5)
    .action(async (opts: ServeOptions) => {
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new AdmissionConfigError('--tls-cert and --tls-key go together');
      const tls: TlsOptions | undefined = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : undefined;
      if (opts.verdictTable === undefined && (opts.region !== undefined || opts.dynamodbEndpoint !== undefined || opts.recordSightings)) {
        throw new AdmissionConfigError('--region, --dynamodb-endpoint and --record-sightings apply to --verdict-table only');
      }
      const config: AdmissionConfig = {
        trustedRegistries: opts.trustedRegistry,
        maxVerdictAge: opts.maxVerdictAge,
        namespaces: opts.namespaceMode,
        defaultMode: opts.defaultMode,
        lookupTimeoutMs: opts.lookupTimeout,
        cacheTtlMs: opts.cacheTtl,
        missCacheTtlMs: opts.missCacheTtl,
        webhookTimeoutSeconds: opts.webhookTimeout,
      };
      const log = (line: string): void => {
        ctx.io.stderr.write(`${line}\n`);
      };
      const source = opts.verdictTable !== undefined ? await tableSource(opts, opts.verdictTable) : dirSource(opts.verdictDir ?? defaultVerdictDir());
      // The source's connections are released however the server ends (a failed bind, a config error, a stop).
      try {
        // Fire-and-forget (lib/admission/sightings.ts): a slow or failing write never delays or changes an answer.
        const sightings = opts.recordSightings && source.store instanceof DynamoVerdictStore ? new AdmissionSightings({ writer: source.store, log }) : undefined;
        const controller = new AdmissionController(config, {
          store: source.store,
          ...(sightings ? { sightings } : {}),
          ...(opts.resolveTags ? { resolveTag: registryTagResolver({ credentials: cliCredentialProvider(), headersTimeoutMs: opts.lookupTimeout }) } : {}),
          log,
        });
        const server = createTrustServer({ controller, host: opts.host, ...(tls ? { tls } : {}), log });
        await new Promise<void>((resolve, reject) => {
          const onError = (e: Error): void => reject(e);
          server.once('error', onError);
          server.listen(opts.port, opts.host, () => {
            server.off('error', onError);
            resolve();
          });
        });
        // Errors after start (a refused bind found late, a TLS failure) are reported, not thrown into nowhere.
        server.on('error', (e: Error) => log(`trustctl serve: ${e.message}`));
        const url = listeningUrl(tls !== undefined, server.address() as AddressInfo);
        const registries = opts.trustedRegistry.length > 0 ? opts.trustedRegistry.join(', ') : 'any registry';
        ctx.io.stderr.write(`trustctl serve: listening on ${url} (verdicts from ${source.description}${sightings ? ', sightings recorded' : ''}; trusted: ${registries}; default mode ${opts.defaultMode}${opts.resolveTags ? '; tags resolved on /admission/mutate' : ''})\n`);
        // Listen for SIGTERM before the probe (which may take --lookup-timeout), so a stop during it is clean.
        const stopped = untilStopped(deps.stop);
        const problem = await source.probe();
        if (problem !== undefined) ctx.io.stderr.write(`trustctl serve: warning: ${problem}\n`);
        const why = await stopped;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        ctx.io.stderr.write(`trustctl serve: stopped (${why})\n`);
        ctx.exitCode = ExitCode.Ok;
      } finally {
        source.close();
      }
    });
}
