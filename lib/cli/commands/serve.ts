import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { AdmissionController, type AdmissionConfig, type NamespaceMode } from '../../admission/decide';
import { parseDuration } from '../../engine/duration';
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
  trustedRegistry: string[];
  maxVerdictAge: number;
  namespaceMode: Record<string, NamespaceMode>;
  defaultMode: NamespaceMode;
  resolveTags?: boolean;
  lookupTimeout: number;
  cacheTtl: number;
  webhookTimeout: number;
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
 * embedded verdict store. Plain HTTP is refused unless the host is loopback. Prints the listening URL
 * on stderr and runs until SIGINT or SIGTERM.
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
    .option('--trusted-registry <pattern>', 'registry/repository pattern images must come from, e.g. 123456789012.dkr.ecr.*.amazonaws.com/** (repeatable; none: any registry)', patternArg, [])
    .option('--max-verdict-age <duration>', 'a verdict evaluated longer ago is stale and denied (e.g. 24h, 7d)', durationArg, 7 * 86_400_000)
    .option('--namespace-mode <ns=mode>', 'enforce, warn or off for one namespace (repeatable)', namespaceModeArg, {})
    .addOption(new Option('--default-mode <mode>', 'mode of the other namespaces').choices(MODES).default('enforce'))
    .option('--resolve-tags', 'on /admission/mutate, resolve tag-only images to their digest (registry credentials as for scan), check and pin them')
    .option('--lookup-timeout <duration>', 'budget of one verdict store lookup or tag resolution', durationArg, 2000)
    .option('--cache-ttl <duration>', 'how long a verdict is served from memory (0s: no cache)', durationArg, 5000)
    .option('--webhook-timeout <seconds>', 'the webhooks\' timeoutSeconds (lookups must fit in it)', (v: string) => {
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 30) throw new InvalidArgumentError('expected an integer from 1 to 30.');
      return Number(v);
    }, 5)
    .action(async (opts: ServeOptions) => {
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new AdmissionConfigError('--tls-cert and --tls-key go together');
      const tls: TlsOptions | undefined = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : undefined;
      const dir = opts.verdictDir ?? defaultVerdictDir();
      const config: AdmissionConfig = {
        trustedRegistries: opts.trustedRegistry,
        maxVerdictAge: opts.maxVerdictAge,
        namespaces: opts.namespaceMode,
        defaultMode: opts.defaultMode,
        lookupTimeoutMs: opts.lookupTimeout,
        cacheTtlMs: opts.cacheTtl,
        webhookTimeoutSeconds: opts.webhookTimeout,
      };
      const log = (line: string): void => {
        ctx.io.stderr.write(`${line}\n`);
      };
      const controller = new AdmissionController(config, {
        store: new EmbeddedVerdictStore(dir),
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
      ctx.io.stderr.write(`trustctl serve: listening on ${url} (verdicts from ${dir}; trusted: ${registries}; default mode ${opts.defaultMode}${opts.resolveTags ? '; tags resolved on /admission/mutate' : ''})\n`);
      // Every lookup would answer "no verdict" (deny): say so now rather than leave users guessing.
      if (!existsSync(dir)) ctx.io.stderr.write(`trustctl serve: warning: ${dir} does not exist yet: every image is denied until the pipeline records verdicts there\n`);
      const why = await untilStopped(deps.stop);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      ctx.io.stderr.write(`trustctl serve: stopped (${why})\n`);
      ctx.exitCode = ExitCode.Ok;
    });
}
