/**
 * Helpers for the CDK tests: synthesize the app once, read its template, its validation report
 * (cdk-nag 3 reports through CDK's policy-validation framework) and each function's IAM grants.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

const outdirs: string[] = [];

/** A fresh temporary directory for a cloud assembly, removed by {@link removeOutdirs}. */
export function newOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-cdk-'));
  outdirs.push(dir);
  return dir;
}

/** Removes every directory {@link newOutdir} made (call it in afterAll). */
export function removeOutdirs(): void {
  for (const d of outdirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** An app in a fresh output directory; `bundle: false` skips esbuild (CDK's `aws:cdk:bundling-stacks` context). */
export function newApp(opts: { bundle?: boolean; context?: Record<string, unknown> } = {}): App {
  return new App({ outdir: newOutdir(), context: { ...(opts.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}), ...opts.context } });
}

/** One violation of the validation report, flattened. */
export interface ReportedViolation {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

/**
 * The violations in `<outdir>/validation-report.json`, which CDK writes whenever validation plugins
 * ran (a missing file throws: no plugin ran, so "no violation" would prove nothing).
 */
export function validationReport(outdir: string): ReportedViolation[] {
  const text = readFileSync(join(outdir, 'validation-report.json'), 'utf8');
  const report = JSON.parse(text) as {
    pluginReports: { pluginName: string; violations: { ruleName: string; severity?: string; violatingConstructs?: { constructPath: string }[] }[] }[];
  };
  return report.pluginReports.flatMap((p) =>
    p.violations.map((v) => ({ plugin: p.pluginName, rule: v.ruleName, severity: v.severity ?? '', paths: (v.violatingConstructs ?? []).map((c) => c.constructPath) })),
  );
}

/** Every acknowledgment (`Validations.of(c).acknowledge`) under `root`: construct path, rule id, reason. */
export function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !m.data) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
    }
  }
  return out;
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(c: IConstruct): string {
  const el = (c.node.defaultChild ?? c) as CfnElement;
  return Stack.of(c).getLogicalId(el);
}

/** A CloudFormation value as the template holds it (`{"Fn::GetAtt": …}`), as JSON text: what grants name as resources. */
export function cfn(scope: IConstruct, value: unknown): string {
  return JSON.stringify(Stack.of(scope).resolve(value));
}

/** A function's grants: action → the resources (JSON text) it is allowed on, as `<resource> when <condition JSON>` for a conditional statement. */
export type Grants = Map<string, Set<string>>;

/**
 * The IAM actions of a function's role, read from the template: the role the function runs as
 * (`Role: GetAtt`), every AWS::IAM::Policy attached to it. Fails if the role has managed or
 * inline policies (everything must come from the grants we can read here).
 */
export function grantsOf(template: Template, fn: IFunction): Grants {
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const fnRes = json.Resources[logicalId(fn)];
  const role = (fnRes.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const roleRes = json.Resources[role];
  if (roleRes.Properties.ManagedPolicyArns !== undefined || roleRes.Properties.Policies !== undefined) throw new Error(`role ${role} has managed or inline policies`);
  const grants: Grants = new Map();
  for (const r of Object.values(json.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = JSON.stringify(r.Properties.Roles);
    if (!roles.includes(`"${role}"`)) continue;
    const doc = r.Properties.PolicyDocument as { Statement: { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] };
    for (const st of doc.Statement) {
      if (st.Effect !== 'Allow') throw new Error(`unexpected ${st.Effect} statement`);
      const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
      for (const a of Array.isArray(st.Action) ? st.Action : [st.Action]) {
        const set = grants.get(a) ?? new Set<string>();
        for (const res of resources) {
          const text = typeof res === 'string' ? res : JSON.stringify(res);
          set.add(st.Condition === undefined ? text : `${text} when ${JSON.stringify(st.Condition)}`);
        }
        grants.set(a, set);
      }
    }
  }
  return grants;
}

/** The actions of `grants` of one service (`ecr`), sorted. */
export function actionsOf(grants: Grants, service: string): string[] {
  return [...grants.keys()].filter((a) => a.startsWith(`${service}:`)).sort();
}

/** The services `grants` names, sorted. */
export function servicesOf(grants: Grants): string[] {
  return [...new Set([...grants.keys()].map((a) => a.split(':')[0]))].sort();
}

/** Every resource any of `actions` is granted on. */
export function resourcesOf(grants: Grants, actions: readonly string[]): string[] {
  return [...new Set(actions.flatMap((a) => [...(grants.get(a) ?? [])]))].sort();
}
