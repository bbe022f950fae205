import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TrustError } from '../engine/errors';
import { ExitCode } from './exit-codes';
import { registerInspect } from './commands/inspect';
import { registerScan } from './commands/scan';
import { registerFeeds } from './commands/feeds';
import { registerVerify } from './commands/verify';
import { registerPolicy } from './commands/policy';
import { registerServe } from './commands/serve';
import { registerAdmission } from './commands/admission';
import { registerPipeline } from './commands/pipeline';

/** Output sinks, injectable so that tests can run the CLI in-process. */
export interface CliIO {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** `--limit name=value`, repeatable: overrides one cap of lib/engine/limits.ts. */
export function limitOption(): Option {
  return new Option('--limit <name=value>', 'override a safety cap (repeatable), e.g. maxLayerBytes=1073741824')
    .argParser((value: string, prev: Record<string, number> = {}) => {
      const m = /^(\w+)=(\d+)$/.exec(value);
      if (!m) throw new InvalidArgumentError('expected name=integer.');
      return { ...prev, [m[1]]: Number(m[2]) };
    })
    .default({});
}

/** What a command's action reports back to {@link main}. */
export interface CliContext {
  readonly io: CliIO;
  /** Set by a command's action; `main` returns it. */
  exitCode: number;
}

/** Builds the `trustctl` command tree. */
export function buildProgram(ctx: CliContext): Command {
  const { io } = ctx;
  const program = new Command('trustctl')
    .description('Container-image trust: scan, judge and enforce one verdict per image digest')
    .version(process.env.npm_package_version ?? '0.1.0')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError();
  registerScan(program, ctx);
  registerInspect(program, ctx);
  registerFeeds(program, ctx);
  registerVerify(program, ctx);
  registerPolicy(program, ctx);
  registerServe(program, ctx);
  registerAdmission(program, ctx);
  registerPipeline(program, ctx);
  return program;
}

/**
 * Runs the CLI and returns its exit code. Errors from the engine are printed as one line with their
 * code (and cause), never as a stack trace: the user's next step is in the message.
 */
export async function main(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const ctx: CliContext = { io, exitCode: ExitCode.Ok };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.Ok;
      return ExitCode.CannotScan;
    }
    io.stderr.write(`trustctl: ${describeError(err)}\n`);
    return ExitCode.CannotScan;
  }
}

/** One line for an error and its causes: `CODE: message (caused by: …)`. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof TrustError) parts.push(`${e.code}: ${e.message}`);
    else if (e instanceof Error) parts.push(e.message);
    else parts.push(String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(' (caused by: ') + ')'.repeat(parts.length - 1);
}
