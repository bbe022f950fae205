/**
 * Output of `trustctl verify` and `trustctl history`: a table for humans, and for CI systems JSON,
 * JUnit XML (Jenkins, GitLab, CircleCI, Azure all ingest it) and SARIF 2.1.0 (GitHub code scanning).
 */
import type { GateDecision } from '../../engine/verdicts/gate';
import type { StoredVerdict } from '../../engine/verdicts/port';
import { SEVERITIES } from '../../engine/policy/vocabulary';
import type { Paint } from './colour';
import { renderTable } from './table';

/** `trustctl verify --format` values. */
export const VERIFY_FORMATS = ['table', 'json', 'junit', 'sarif'] as const;
export type VerifyFormat = (typeof VERIFY_FORMATS)[number];

/** Version of the `verify --format json` document. */
export const VERIFY_SCHEMA_VERSION = 1;

const countsLine = (v: StoredVerdict): string =>
  SEVERITIES.filter((s) => v.counts[s] > 0).map((s) => `${s.toUpperCase()} ${v.counts[s]}`).join(', ') || 'none';

/** A gate decision for a terminal. */
export function renderGateTable(d: GateDecision, paint: Paint): string {
  const v = d.verdict;
  let out = `Digest    ${d.digest}\n`;
  if (v?.ref) out += `Image     ${v.ref}\n`;
  out += `Verdict   ${v ? paint.status(v.status) : paint.red('NONE')}\n`;
  out += `Gate      ${d.pass ? paint.green('PASS') : paint.red('FAIL')}: ${d.message}\n`;
  if (v) {
    for (const r of v.reasons) out += `  - [${r.rule}] ${r.message}\n`;
    out += `Findings  ${countsLine(v)}\nEvaluated ${v.evaluatedAt} (revision ${v.revision}, feeds as of ${v.feedRevision})\nPolicy    ${v.policyHash}\n`;
  }
  return out;
}

/** The JSON document of `verify --format json` (stable: other tools parse it). */
export function gateJson(d: GateDecision): Record<string, unknown> {
  const v = d.verdict;
  return {
    schemaVersion: VERIFY_SCHEMA_VERSION,
    image: { digest: d.digest, ...(v?.ref ? { ref: v.ref } : {}) },
    gate: { pass: d.pass, ...(d.problem ? { problem: d.problem } : {}), message: d.message },
    verdict: v ? {
      status: v.status, reasons: v.reasons, counts: v.counts, policyHash: v.policyHash, feedRevision: v.feedRevision,
      plugins: v.plugins, evaluatedAt: v.evaluatedAt, revision: v.revision,
    } : null,
  };
}

const xml = (s: string): string => s
  // XML 1.0 forbids most control characters even as references: drop them.
  .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/**
 * JUnit XML (the de-facto schema Jenkins' junit step reads: testsuites > testsuite > testcase >
 * failure): one test case per digest, failed with every reason when the gate fails.
 */
export function gateJunit(d: GateDecision): string {
  const name = d.verdict?.ref ? `${d.verdict.ref}@${d.digest}` : d.digest;
  const failures = d.pass ? 0 : 1;
  const detail = d.verdict?.reasons.map((r) => `[${r.rule}] ${r.message}${r.findings.length ? ` (${r.findings.join(', ')})` : ''}`).join('\n') ?? '';
  const body = d.pass
    ? ''
    : `\n      <failure message="${xml(d.message.slice(0, 1000))}" type="${xml(d.problem ?? 'fail')}">${xml(detail || d.message)}</failure>\n    `;
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + `<testsuites name="trustctl verify" tests="1" failures="${failures}" errors="0">\n`
    + `  <testsuite name="trustctl verify" tests="1" failures="${failures}" errors="0" skipped="0"${d.verdict ? ` timestamp="${xml(d.verdict.evaluatedAt)}"` : ''}>\n`
    + `    <testcase classname="trustctl.verify" name="${xml(name)}">${body}</testcase>\n`
    + '  </testsuite>\n</testsuites>\n';
}

/**
 * SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html): one rule per policy
 * rule that fired, one `error` result per reason (a failed gate without reasons — no verdict, stale —
 * is one result of rule `gate`).
 */
export function gateSarif(d: GateDecision, opts: { toolVersion: string }): Record<string, unknown> {
  const reasons = d.pass ? [] : d.problem === 'quarantined' && d.verdict && d.verdict.reasons.length > 0
    ? d.verdict.reasons.map((r) => ({ rule: r.rule, message: r.message, findings: r.findings }))
    : [{ rule: `gate/${d.problem ?? 'fail'}`, message: d.message, findings: [] as readonly string[] }];
  const rules = [...new Set(reasons.map((r) => r.rule))].map((id) => ({ id, shortDescription: { text: `trustctl policy rule ${id}` } }));
  const uri = `image://${d.verdict?.ref ?? ''}@${d.digest}`;
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'trustctl', version: opts.toolVersion, rules } },
      results: reasons.map((r) => ({
        ruleId: r.rule,
        level: 'error',
        message: { text: r.message },
        locations: [{ physicalLocation: { artifactLocation: { uri } } }],
        properties: { digest: d.digest, findings: r.findings },
      })),
      properties: { pass: d.pass, ...(d.verdict ? { status: d.verdict.status, revision: d.verdict.revision } : {}) },
    }],
  };
}

/** `trustctl history` as a table: newest first, one row per revision. */
export function renderHistoryTable(digest: string, history: readonly StoredVerdict[], paint: Paint): string {
  if (history.length === 0) return `No verdict for ${digest}\n`;
  const rows = history.map((v) => [
    String(v.revision), v.evaluatedAt, paint.status(v.status), v.feedRevision, v.policyHash.replace(/^sha256:/, '').slice(0, 12), countsLine(v),
    v.reasons.map((r) => r.rule).filter((r, i, a) => a.indexOf(r) === i).join(', '),
  ]);
  return `History of ${digest}${history[0].ref ? ` (${history[0].ref})` : ''}\n\n` + renderTable(['rev', 'evaluated', 'status', 'feeds as of', 'policy', 'findings', 'rules'], rows);
}
