import { TrustError } from '../errors';
import type { FeedInfo, Finding, Unknown, VerdictStatus } from '../model';
import { evaluatePolicyDetailed, type ExceptionUse, type FindingDecisionKind, type PolicyRuleName, type PolicyVerdict } from './evaluate';
import { policyHash, type Policy, type PolicyException } from './schema';

/**
 * `trustctl policy test <policy> <report.json>` as data (issue "Policy, verdicts and tags", item 1):
 * re-judges the findings of a saved JSON report (`trustctl scan --format json`) with a policy and
 * says, for every finding, which rule decided what — so a team can try a policy change on real
 * reports before it gates anything. Rendering is the CLI's; this returns structured data only.
 */

/** The parts of the JSON report (lib/cli/format/report.ts `ScanReport`) a policy test reads. */
export interface PolicyTestReport {
  readonly image: { readonly ref: string; readonly digest: string; readonly platform?: string | null };
  /** One platform: its findings. Several: the union (each platform's own are in `platforms`). */
  readonly findings: readonly Finding[];
  /** Present for a multi-platform image: each platform's digest and findings. */
  readonly platforms?: readonly { readonly platform: string; readonly digest: string; readonly findings: readonly Finding[]; readonly unknowns?: readonly Unknown[] }[];
  readonly feeds?: readonly FeedInfo[];
  /** What the scan could not examine (judged like the scan judged it; absent in very old reports). */
  readonly unknowns?: readonly Unknown[];
}

/** A report that does not have the shape of a `trustctl scan --format json` document. */
export class PolicyReportError extends TrustError {
  constructor(message: string) {
    super('BAD_REPORT', message);
  }
}

/** One finding and what the policy did with it. */
export interface FindingExplanation {
  /** Position in the image's `findings`. */
  readonly index: number;
  readonly type: string;
  readonly id: string;
  readonly severity: string;
  readonly package?: string;
  readonly path?: string;
  /** quarantine / warn / ignored / excepted. */
  readonly decision: FindingDecisionKind;
  /** The rule that decided (for `excepted`: the rule whose decision was lifted). */
  readonly rule: PolicyRuleName;
  /** What the rule alone decided. */
  readonly ruleDecision: Exclude<FindingDecisionKind, 'excepted'>;
  /** One sentence naming the policy key that decided. */
  readonly why: string;
  /** True for unscannable and malware: no policy or exception changes these. */
  readonly baseline: boolean;
  /** The exception that lifted it ("excepted by exception N"). */
  readonly exception?: { readonly index: number } & PolicyException;
}

/** One image (platform) of the report, re-judged. */
export interface ImageExplanation {
  /** `linux/amd64`; null for a single-platform report that names none. */
  readonly platform: string | null;
  readonly digest: string;
  readonly verdict: PolicyVerdict;
  readonly findings: readonly FindingExplanation[];
}

/** What `trustctl policy test` prints, as data. */
export interface PolicyExplanation {
  readonly policyHash: string;
  /** The policy file, when the policy was parsed with a source name. */
  readonly policySource?: string;
  readonly ref: string;
  readonly digest: string;
  /** The clock the evaluation used (ISO 8601). */
  readonly now: string;
  /** Quarantined when any image is (an index is trusted only when every platform is). */
  readonly status: VerdictStatus;
  readonly images: readonly ImageExplanation[];
  /** Exceptions that lifted a finding of some image. */
  readonly exceptionsApplied: readonly ExceptionUse[];
  /** In scope, unexpired, and lifting nothing in any image of the report. */
  readonly exceptionsUnused: readonly ExceptionUse[];
  /** In scope but expired (in any image). */
  readonly exceptionsExpired: readonly ExceptionUse[];
}

function fail(path: string, what: string): never {
  throw new PolicyReportError(`not a trustctl scan JSON report: ${path} ${what}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks what the evaluation relies on; the report comes from JSON.parse of a file. */
function checkFindings(v: unknown, path: string): Finding[] {
  if (!Array.isArray(v)) fail(path, 'must be a list');
  return v.map((f, i) => {
    if (!isObj(f)) fail(`${path}[${i}]`, 'must be an object');
    for (const k of ['type', 'id', 'severity']) if (typeof f[k] !== 'string') fail(`${path}[${i}].${k}`, 'must be a string');
    if (f.aliases !== undefined && !(Array.isArray(f.aliases) && f.aliases.every((a) => typeof a === 'string'))) fail(`${path}[${i}].aliases`, 'must be a list of strings');
    for (const k of ['package', 'fixedIn', 'path', 'layer']) if (f[k] !== undefined && typeof f[k] !== 'string') fail(`${path}[${i}].${k}`, 'must be a string');
    // Older or hand-written reports may omit aliases; matching needs a list.
    return (f.aliases === undefined ? { ...f, aliases: [] } : f) as unknown as Finding;
  });
}

/** Unknowns as the report lists them: layer, path, reason strings, a class and consumer when present. */
function checkUnknowns(v: unknown, path: string): Unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail(path, 'must be a list');
  return v.map((u, i) => {
    if (!isObj(u)) fail(`${path}[${i}]`, 'must be an object');
    for (const k of ['layer', 'path', 'reason']) if (typeof u[k] !== 'string') fail(`${path}[${i}].${k}`, 'must be a string');
    for (const k of ['class', 'consumer']) if (u[k] !== undefined && typeof u[k] !== 'string') fail(`${path}[${i}].${k}`, 'must be a string');
    return u as unknown as Unknown;
  });
}

function checkReport(report: unknown): PolicyTestReport {
  if (!isObj(report)) fail('the document', 'must be an object');
  const image = report.image;
  if (!isObj(image)) fail('image', 'must be an object');
  if (typeof image.ref !== 'string') fail('image.ref', 'must be a string');
  if (typeof image.digest !== 'string') fail('image.digest', 'must be a string');
  const findings = checkFindings(report.findings, 'findings');
  let platforms: PolicyTestReport['platforms'];
  if (report.platforms !== undefined) {
    if (!Array.isArray(report.platforms)) fail('platforms', 'must be a list');
    platforms = report.platforms.map((p, i) => {
      if (!isObj(p) || typeof p.platform !== 'string' || typeof p.digest !== 'string') fail(`platforms[${i}]`, 'must have platform and digest strings');
      const unknowns = checkUnknowns(p.unknowns, `platforms[${i}].unknowns`);
      return { platform: p.platform, digest: p.digest, findings: checkFindings(p.findings, `platforms[${i}].findings`), ...(unknowns ? { unknowns } : {}) };
    });
  }
  let feeds: FeedInfo[] | undefined;
  if (report.feeds !== undefined) {
    if (!Array.isArray(report.feeds) || !report.feeds.every((f) => isObj(f) && typeof f.source === 'string' && (f.syncedAt === undefined || typeof f.syncedAt === 'string'))) {
      fail('feeds', 'must be a list of { source, syncedAt? }');
    }
    feeds = report.feeds as FeedInfo[];
  }
  const unknowns = checkUnknowns(report.unknowns, 'unknowns');
  return {
    image: { ref: image.ref, digest: image.digest, ...(typeof image.platform === 'string' || image.platform === null ? { platform: image.platform } : {}) },
    findings,
    ...(unknowns ? { unknowns } : {}),
    ...(platforms ? { platforms } : {}),
    ...(feeds ? { feeds } : {}),
  };
}

/** Exception uses across images, merged by index (findings of every image, once each). */
function merge(lists: readonly (readonly ExceptionUse[])[]): ExceptionUse[] {
  const by = new Map<number, ExceptionUse>();
  for (const u of lists.flat()) {
    const had = by.get(u.index);
    by.set(u.index, had ? { ...had, findings: [...new Set([...had.findings, ...u.findings])] } : u);
  }
  return [...by.values()].sort((a, b) => a.index - b.index);
}

/**
 * Re-judges a saved scan report with `policy`: per image (each platform of a multi-platform report,
 * whose exceptions may name the platform or the index digest), the {@link PolicyVerdict} and, per
 * finding, the decision and the rule behind it. `now` defaults to the current time — pass the
 * report's scan time to reproduce a past verdict. `report` is typically `JSON.parse` of the file,
 * so it is checked against {@link PolicyTestReport}; {@link PolicyReportError} when it is not one.
 */
export function explainPolicy(policy: Policy, report: unknown, opts: { readonly now?: Date } = {}): PolicyExplanation {
  const r = checkReport(report);
  const now = opts.now ?? new Date();
  const feeds = r.feeds ?? [];
  const targets = r.platforms && r.platforms.length > 0
    ? r.platforms.map((p) => ({ platform: p.platform as string | null, digest: p.digest, indexDigest: r.image.digest, findings: p.findings, unknowns: p.unknowns ?? [] }))
    : [{ platform: r.image.platform ?? null, digest: r.image.digest, indexDigest: undefined, findings: r.findings, unknowns: r.unknowns ?? [] }];
  const images: ImageExplanation[] = targets.map((t) => {
    const { verdict, decisions } = evaluatePolicyDetailed(policy, {
      ref: r.image.ref, digest: t.digest, ...(t.indexDigest !== undefined ? { indexDigest: t.indexDigest } : {}), findings: t.findings, unknowns: t.unknowns, feeds, now,
    });
    const findings = decisions.map((d): FindingExplanation => ({
      index: d.index,
      type: d.finding.type,
      id: d.finding.id,
      severity: d.finding.severity,
      ...(d.finding.package !== undefined ? { package: d.finding.package } : {}),
      ...(d.finding.path !== undefined ? { path: d.finding.path } : {}),
      decision: d.decision,
      rule: d.rule,
      ruleDecision: d.ruleDecision,
      why: d.why,
      baseline: d.baseline,
      ...(d.exception !== undefined ? { exception: { index: d.exception, ...policy.exceptions[d.exception] } } : {}),
    }));
    return { platform: t.platform, digest: t.digest, verdict, findings };
  });
  const applied = merge(images.map((i) => i.verdict.exceptionsApplied));
  const usedSomewhere = new Set(applied.map((u) => u.index));
  return {
    policyHash: policyHash(policy),
    ...(policy.source !== undefined ? { policySource: policy.source } : {}),
    ref: r.image.ref,
    digest: r.image.digest,
    now: now.toISOString(),
    status: images.every((i) => i.verdict.status === 'trusted') ? 'trusted' : 'quarantined',
    images,
    exceptionsApplied: applied,
    exceptionsUnused: merge(images.map((i) => i.verdict.exceptionsUnused)).filter((u) => !usedSomewhere.has(u.index)),
    exceptionsExpired: merge(images.map((i) => i.verdict.exceptionsExpired)),
  };
}
