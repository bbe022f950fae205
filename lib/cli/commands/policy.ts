import type { Command } from 'commander';
import { Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { DEFAULT_POLICY, DEFAULT_POLICY_YAML } from '../../engine/policy/default-policy';
import { explainPolicy, type PolicyExplanation } from '../../engine/policy/explain';
import { POLICY_EXCEPTIONS_JSON_SCHEMA, POLICY_JSON_SCHEMA } from '../../engine/policy/json-schema';
import { parseExceptions, parsePolicy, withExceptions, type Policy } from '../../engine/policy/schema';
import { ExitCode } from '../exit-codes';
import { paintFor, type Paint } from '../format/colour';
import { renderTable } from '../format/table';
import type { CliContext } from '../main';
import { UsageError } from '../usage-error';

const DECISION_ORDER = { quarantine: 0, warn: 1, excepted: 2, ignored: 3 } as const;

/** `policy test` for a terminal: per image the verdict, then every finding with the rule that decided it, then exception bookkeeping. */
export function renderExplanation(e: PolicyExplanation, paint: Paint): string {
  let out = `Policy   ${e.policySource ?? 'built-in default'} (${e.policyHash})\nImage    ${e.ref}\nDigest   ${e.digest}\nVerdict  ${paint.status(e.status)}\n`;
  for (const img of e.images) {
    if (e.images.length > 1 || img.platform) out += `\n${img.platform ?? ''}  ${img.digest}  ${paint.status(img.verdict.status)}\n`;
    for (const r of img.verdict.reasons) out += `  - [${r.rule}] ${r.message}\n`;
    for (const w of img.verdict.warnings) out += `  ! [${w.rule}] ${w.message}\n`;
    if (img.findings.length === 0) continue;
    const rows = [...img.findings]
      .sort((a, b) => DECISION_ORDER[a.decision] - DECISION_ORDER[b.decision] || a.id.localeCompare(b.id))
      .map((f) => {
        const decision = f.decision === 'quarantine' ? paint.red(f.decision) : f.decision === 'warn' ? paint.yellow(f.decision) : f.decision;
        return [decision, f.rule, f.type, f.id, f.severity, `${f.why}${f.exception ? ` (exception #${f.exception.index}: ${f.exception.reason})` : ''}`];
      });
    out += '\n' + renderTable(['decision', 'rule', 'type', 'id', 'severity', 'why'], rows);
  }
  const uses = [['applied', e.exceptionsApplied], ['unused', e.exceptionsUnused], ['expired', e.exceptionsExpired]] as const;
  for (const [what, list] of uses) {
    for (const u of list) {
      out += `exception #${u.index} ${what}: ${u.exception.reason} (owner ${u.exception.owner}, expires ${u.exception.expires})${u.findings.length ? ` — ${u.findings.join(', ')}` : ''}\n`;
    }
  }
  return out;
}

/** A policy file (`default`: the built-in one) with the exceptions of each exceptions file added. */
async function loadPolicy(file: string, exceptionFiles: readonly string[]): Promise<Policy> {
  let policy = file === 'default' ? DEFAULT_POLICY : parsePolicy(await readFile(file, 'utf8'), file);
  for (const f of exceptionFiles) policy = withExceptions(policy, parseExceptions(await readFile(f, 'utf8'), f));
  return policy;
}

/**
 * `trustctl policy test|validate|schema|default`: policy as code (DESIGN.md "Contracts"). `test`
 * re-judges a saved `scan --format json` report and shows which rule decided each finding — a policy
 * change is reviewed on real reports before it lands; exit 0 trusted, 1 quarantined, 2 bad input.
 */
export function registerPolicy(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('policy as code: test a policy on a report, validate it, print its schema or the default');
  policy
    .command('test')
    .description('re-judge a saved `trustctl scan --format json` report with a policy and show which rule decided what')
    .argument('<policy>', 'the policy file (YAML or JSON, trustctl/v1 Policy); `default` for the built-in one')
    .argument('<report>', 'a `trustctl scan --format json` report')
    .option('--exceptions <file>', 'add the exceptions of a trustctl/v1 PolicyExceptions file (repeatable)', (v: string, p: string[] = []) => [...p, v], [])
    .option('--now <time>', 'evaluate as of this instant (RFC 3339): exception expiry, feed staleness, advisory age')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json'] as const).default('table'))
    .action(async (file: string, reportFile: string, opts: { exceptions: string[]; now?: string; format: 'table' | 'json' }) => {
      const withExtra = await loadPolicy(file, opts.exceptions);
      let report: unknown;
      try {
        report = JSON.parse(await readFile(reportFile, 'utf8'));
      } catch (e) {
        throw new UsageError(`${reportFile}: ${(e as Error).message}`, { cause: e });
      }
      let now: Date | undefined;
      if (opts.now) {
        now = new Date(opts.now);
        if (Number.isNaN(now.getTime())) throw new UsageError(`--now: not an RFC 3339 time: ${JSON.stringify(opts.now)}`);
      }
      const explanation = explainPolicy(withExtra, report, now ? { now } : {});
      ctx.io.stdout.write(opts.format === 'json' ? JSON.stringify(explanation, null, 2) + '\n' : renderExplanation(explanation, paintFor(ctx.io.stdout)));
      ctx.exitCode = explanation.status === 'trusted' ? ExitCode.Ok : ExitCode.Quarantined;
    });
  policy
    .command('validate')
    .description('check a policy file (and exception files) against the schema; every problem is printed with its path')
    .argument('<policy>', 'the policy file')
    .option('--exceptions <file>', 'also check a trustctl/v1 PolicyExceptions file (repeatable)', (v: string, p: string[] = []) => [...p, v], [])
    .action(async (file: string, opts: { exceptions: string[] }) => {
      const p = await loadPolicy(file, opts.exceptions);
      ctx.io.stdout.write(`${file}: valid (${p.exceptions.length} exception${p.exceptions.length === 1 ? '' : 's'})\n`);
    });
  policy
    .command('schema')
    .description('print the published JSON Schema of the policy (or of an exceptions file)')
    .option('--exceptions', 'the schema of a PolicyExceptions file')
    .action((opts: { exceptions?: boolean }) => {
      ctx.io.stdout.write(JSON.stringify(opts.exceptions ? POLICY_EXCEPTIONS_JSON_SCHEMA : POLICY_JSON_SCHEMA, null, 2) + '\n');
    });
  policy
    .command('default')
    .description('print the built-in default policy (a starting point for your own)')
    .action(() => {
      ctx.io.stdout.write(DEFAULT_POLICY_YAML);
    });
}
