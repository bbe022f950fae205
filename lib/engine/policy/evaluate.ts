import { hidesContent, unknownClass, UNKNOWN_CLASSES, type FeedInfo, type Finding, type FindingType, type Severity, type Unknown, type UnknownClass, type Verdict } from '../model';
import { baselineVerdict } from './baseline';
import { imageRepository, matchesPackage, matchesRepository } from './patterns';
import { exceptionExpiry, policyHash, type ExceptionScope, type Policy, type PolicyAction, type PolicyException, type PolicyRules } from './schema';
import { BASE_IMAGE_IDS, SEVERITIES, secretCategory } from './vocabulary';

/**
 * Findings + policy → verdict (DESIGN.md "The data's way", step 4 "Judge"; issue "Policy, verdicts
 * and tags", items 1–2). Pure and deterministic: the clock is an input (`now`), so a re-evaluation
 * of stored findings gives the same answer the pipeline, the CLI and `trustctl policy test` give.
 *
 * Order of judgement, per finding:
 * 1. the baseline (baseline.ts): `unscannable` and `malware` quarantine, whatever the policy or its
 *    exceptions say;
 * 2. the finding's rule (`vulnerabilities`, `secrets`, `misconfig`, `baseImage`) decides quarantine,
 *    warn or ignore; a finding type this engine does not know quarantines (fail closed);
 * 3. the first in-scope, unexpired exception that matches lifts that decision (`excepted`).
 * Then the unknowns — what the scan could not examine (lib/engine/model/unknown.ts): every class but
 * `note` quarantines with rule `unscannable` (issue 13: an image is only as trusted as what was looked
 * at), unless an in-scope, unexpired exception names that class (`unknown:`, optionally `consumer:`).
 * Then, per image: `registries` (where it comes from) and `feeds` (how current the data is).
 * The image is quarantined when any reason remains; warnings never change the status.
 */

/** The rule a reason or decision comes from: a key of `rules`, or `exceptions`, or an unknown finding type. */
export type PolicyRuleName =
  | 'unscannable' | 'malware' | 'vulnerabilities' | 'secrets' | 'misconfig' | 'baseImage' | 'registries' | 'feeds' | 'exceptions' | 'unknownFinding';

/** One reason for a quarantine, or one warning: the rule, a sentence, and the ids of the findings behind it. */
export interface PolicyReason {
  readonly rule: PolicyRuleName;
  readonly message: string;
  /** Finding ids (deduplicated, in report order); empty for image-level rules (registries, feeds). */
  readonly findings: readonly string[];
}

/** What happened to one finding. `excepted`: a rule flagged it and an exception lifted that. */
export type FindingDecisionKind = 'quarantine' | 'warn' | 'ignored' | 'excepted';

/** How many findings there were, by severity, type and decision. */
export interface FindingCounts {
  readonly total: number;
  readonly bySeverity: Readonly<Record<Severity, number>>;
  /** Every known type (zero included); a type from a newer scanner is added under its own name. */
  readonly byType: Readonly<Record<FindingType, number>>;
  readonly byDecision: Readonly<Record<FindingDecisionKind, number>>;
}

/** An exception as an evaluation reports it: its position in `policy.exceptions` and the findings it covered. */
export interface ExceptionUse {
  /** 0-based index in `policy.exceptions` ("exception #N" in messages is this index). */
  readonly index: number;
  readonly exception: PolicyException;
  /** Ids of the findings it lifted (applied), or would have lifted (expired). */
  readonly findings: readonly string[];
}

/**
 * The verdict a policy gives: {@link Verdict} (status and reasons, as the JSON report prints it)
 * plus what a human or a dashboard needs to trust the answer.
 */
export interface PolicyVerdict extends Verdict {
  readonly reasons: readonly PolicyReason[];
  /** Concerns that do not quarantine (status stays `trusted` if there is nothing else). */
  readonly warnings: readonly PolicyReason[];
  readonly counts: FindingCounts;
  /** `sha256:…` of the canonical policy (schema.ts `policyHash`): which policy made this verdict. */
  readonly policyHash: string;
  /** Exceptions that lifted at least one finding of this image. */
  readonly exceptionsApplied: readonly ExceptionUse[];
  /** In scope for this image, not expired, and matching none of its findings: candidates for removal. */
  readonly exceptionsUnused: readonly ExceptionUse[];
  /** In scope for this image but expired: they no longer apply (`findings`: what they would cover). */
  readonly exceptionsExpired: readonly ExceptionUse[];
  /** Unknowns by class (every class, zero included) and how many of them an exception accepted. */
  readonly unknowns: Readonly<Record<UnknownClass, { readonly total: number; readonly excepted: number }>>;
}

/** What the evaluation needs about one image. */
export interface PolicyInput {
  /** The reference the image was named by (`registries`, exception `scope.repository`). */
  readonly ref: string;
  /** The image's (platform manifest's) digest (exception `scope.digest`). */
  readonly digest: string;
  /** For a platform of a multi-platform image: the index digest, which exceptions may name too. */
  readonly indexDigest?: string;
  readonly findings: readonly Finding[];
  /** The vulnerability feeds the findings were matched against (`feeds` rule). */
  readonly feeds: readonly FeedInfo[];
  /** The evaluation's clock: exception expiry, feed staleness, advisory grace period. */
  readonly now: Date;
  /**
   * What the scan could not examine. Absent is read as none — callers that scanned must pass them
   * (scan-image.ts, reevaluate.ts do): an unknown that never reaches the policy is a false TRUSTED.
   */
  readonly unknowns?: readonly Unknown[];
}

/** The decision about one finding, with the rule and the sentence that explain it. */
export interface FindingDecision {
  /** Position of the finding in the input. */
  readonly index: number;
  readonly finding: Finding;
  readonly decision: FindingDecisionKind;
  /** The rule that decided (for `excepted`, the rule whose decision the exception lifted). */
  readonly rule: PolicyRuleName;
  /** Why, in one sentence naming the policy key (`vulnerabilities.onlyWithFix`…). */
  readonly why: string;
  /** What the rule alone decided, before exceptions. */
  readonly ruleDecision: Exclude<FindingDecisionKind, 'excepted'>;
  /** True for `unscannable` and `malware`: no policy or exception changes these. */
  readonly baseline: boolean;
  /** Index of the exception that lifted it. */
  readonly exception?: number;
}

interface RuleOutcome {
  readonly rule: PolicyRuleName;
  readonly decision: Exclude<FindingDecisionKind, 'excepted'>;
  readonly why: string;
  /** Findings with the same rule, decision and headline share one reason or warning. */
  readonly headline: string;
  readonly baseline?: boolean;
}

const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

/** A severity from a JSON report may be anything; what is not one of ours is `unknown`. */
function severityOf(f: Finding): Severity {
  return (SEVERITIES as readonly string[]).includes(f.severity) ? f.severity : 'unknown';
}

const fromAction = (a: PolicyAction): RuleOutcome['decision'] => (a === 'ignore' ? 'ignored' : a);

/**
 * When the finding's advisory was published: OSV `published`, carried as the finding's optional
 * `published` field. `undefined` when absent or unreadable — and then no grace period applies.
 */
function publishedAt(f: Finding): Date | undefined {
  const p = (f as { published?: unknown }).published;
  if (typeof p !== 'string') return undefined;
  const t = new Date(p);
  return Number.isNaN(t.getTime()) ? undefined : t;
}

const KEV_HEADLINE = 'known exploited vulnerabilities (CISA KEV)';

/** The CISA KEV entry a finding carries (match/resolve.ts `knownExploited`), or undefined. */
function knownExploitedOf(f: Finding): { dateAdded: string; dueDate?: string; ransomware?: string } | undefined {
  const k = (f as { knownExploited?: unknown }).knownExploited;
  if (typeof k !== 'object' || k === null) return undefined;
  const dateAdded = (k as { dateAdded?: unknown }).dateAdded;
  // A marker from a newer scanner without a readable date is still a marker: known exploited.
  return { ...(k as object), dateAdded: typeof dateAdded === 'string' ? dateAdded : 'unknown date' } as { dateAdded: string; dueDate?: string; ransomware?: string };
}

/**
 * The severity a vulnerability is judged as: its own, or `vulnerabilities.unknownSeverityAs` when no
 * source rated it (`assumed`).
 */
export function judgedSeverity(rules: PolicyRules, f: Finding): { severity: Severity; assumed: boolean } {
  const sev = severityOf(f);
  // A policy object built without the key (by hand, or stored before it existed) gets the default: unknown is not low.
  const as = rules.vulnerabilities.unknownSeverityAs ?? 'high';
  return sev === 'unknown' && as !== 'unknown' ? { severity: as, assumed: true } : { severity: sev, assumed: false };
}

/** `high`, or `severity unknown to every source; treated as high (vulnerabilities.unknownSeverityAs)`. */
function severityText(j: { severity: Severity; assumed: boolean }): string {
  return j.assumed ? `severity unknown to every source; treated as ${j.severity} (vulnerabilities.unknownSeverityAs)` : j.severity;
}

function severityOutcome(rules: PolicyRules, f: Finding, now: Date): RuleOutcome {
  const v = rules.vulnerabilities;
  const judged = judgedSeverity(rules, f);
  const sev = judged.severity;
  const text = severityText(judged);
  const listed = v.severities.join('/') || 'none';
  // Findings whose severity was assumed get their own reason, so the verdict shows the assumption.
  const unknownHeadline = (rest: string): string => (judged.assumed ? `vulnerabilities of unknown severity, treated as ${sev} (vulnerabilities.unknownSeverityAs)${rest}` : `${listed} vulnerabilities${rest}`);
  if (!v.severities.includes(sev)) {
    return { rule: 'vulnerabilities', decision: 'ignored', why: `${judged.assumed ? `${text}, which` : `severity ${sev}`} is not in vulnerabilities.severities (${listed})`, headline: 'vulnerabilities below the quarantine severities' };
  }
  if (v.onlyWithFix && !f.fixedIn) {
    return { rule: 'vulnerabilities', decision: 'warn', why: `${text}, but no fixed version is published (vulnerabilities.onlyWithFix)`, headline: unknownHeadline(' without a fix yet') };
  }
  if (v.maxAdvisoryAgeDays !== undefined) {
    const published = publishedAt(f);
    if (published && now.getTime() - published.getTime() < v.maxAdvisoryAgeDays * DAY_MS) {
      const age = Math.max(0, Math.floor((now.getTime() - published.getTime()) / DAY_MS));
      return {
        rule: 'vulnerabilities',
        decision: 'warn',
        why: `${text}, published ${published.toISOString().slice(0, 10)} (${age} day${age === 1 ? '' : 's'} ago): within the ${v.maxAdvisoryAgeDays}-day grace period (vulnerabilities.maxAdvisoryAgeDays)`,
        headline: unknownHeadline(` within the ${v.maxAdvisoryAgeDays}-day grace period`),
      };
    }
  }
  return {
    rule: 'vulnerabilities',
    decision: 'quarantine',
    why: `${text}${f.fixedIn ? `, fixed in ${f.fixedIn}` : ''} (vulnerabilities.severities: ${listed}${v.onlyWithFix ? ', onlyWithFix' : ''})`,
    headline: unknownHeadline(v.onlyWithFix ? ' with a fix available' : ''),
  };
}

/**
 * A vulnerability: its severity rule ({@link severityOutcome}), then — when CISA lists its CVE as known
 * exploited — `vulnerabilities.knownExploited`: `quarantine` whatever the severity rule said, `warn` at least.
 */
function vulnerabilityOutcome(rules: PolicyRules, f: Finding, now: Date): RuleOutcome {
  const o = severityOutcome(rules, f, now);
  const kev = knownExploitedOf(f);
  if (!kev) return o;
  const action = rules.vulnerabilities.knownExploited ?? 'quarantine';
  const what = `known exploited (CISA KEV, added ${kev.dateAdded}${kev.dueDate ? `, due ${kev.dueDate}` : ''}${kev.ransomware === 'Known' ? ', used in ransomware campaigns' : ''})`;
  if (action === 'quarantine') {
    return { rule: 'vulnerabilities', decision: 'quarantine', why: `${what}: quarantined whatever its severity or fix state (vulnerabilities.knownExploited: quarantine); ${o.why}`, headline: KEV_HEADLINE };
  }
  if (o.decision === 'quarantine') return { ...o, why: `${what}; ${o.why}` };
  return { rule: 'vulnerabilities', decision: 'warn', why: `${what} (vulnerabilities.knownExploited: warn); ${o.why}`, headline: KEV_HEADLINE };
}

/** What the policy's rules (not exceptions) decide for one finding. */
function ruleOutcome(rules: PolicyRules, f: Finding, now: Date): RuleOutcome {
  switch (f.type) {
    case 'unscannable':
      return { rule: 'unscannable', decision: 'quarantine', why: 'the image could not be scanned completely: never trusted (baseline)', headline: 'unscannable', baseline: true };
    case 'malware':
      return { rule: 'malware', decision: 'quarantine', why: 'malware always quarantines (baseline)', headline: 'malware found', baseline: true };
    case 'vulnerability':
      return vulnerabilityOutcome(rules, f, now);
    case 'secret': {
      const category = secretCategory(f.id);
      const s = rules.secrets;
      if (s.quarantine.includes(f.id) || s.quarantine.includes(category)) {
        return { rule: 'secrets', decision: 'quarantine', why: `a ${category} secret (secrets.quarantine: ${s.quarantine.join(', ')})`, headline: 'secrets found' };
      }
      return { rule: 'secrets', decision: s.others === 'warn' ? 'warn' : 'ignored', why: `a ${category} secret, not in secrets.quarantine (secrets.others: ${s.others})`, headline: 'secrets found' };
    }
    case 'misconfig': {
      const byId = rules.misconfig.byId[f.id];
      if (byId !== undefined) return { rule: 'misconfig', decision: fromAction(byId), why: `misconfig.byId.${f.id}: ${byId}`, headline: 'misconfigurations' };
      const sev = severityOf(f);
      const a = rules.misconfig.bySeverity[sev];
      return { rule: 'misconfig', decision: fromAction(a), why: `misconfig.bySeverity.${sev}: ${a}`, headline: 'misconfigurations' };
    }
    case 'base-image': {
      if (f.id === BASE_IMAGE_IDS.outdated) {
        const a = rules.baseImage.outdated;
        return { rule: 'baseImage', decision: a, why: `the base image is outdated (baseImage.outdated: ${a})`, headline: 'base image outdated' };
      }
      const a = rules.baseImage.untrusted;
      // Any other base-image id (a newer scanner's) is judged as the stricter "untrusted".
      return { rule: 'baseImage', decision: a, why: `the base image is not from a trusted source (baseImage.untrusted: ${a})`, headline: 'base image not trusted' };
    }
    default:
      return {
        rule: 'unknownFinding',
        decision: 'quarantine',
        why: `finding type ${JSON.stringify((f as { type: unknown }).type)} is unknown to this policy engine: not trusted until a policy can judge it`,
        headline: 'findings of an unknown type',
      };
  }
}

/** True when the exception's scope covers the image. */
function inScope(scope: ExceptionScope, input: PolicyInput): boolean {
  if ('all' in scope) return scope.all === true;
  if ('digest' in scope) return scope.digest === input.digest || (input.indexDigest !== undefined && scope.digest === input.indexDigest);
  const repo = imageRepository(input.ref);
  return repo !== undefined && matchesRepository(scope.repository, repo);
}

/** True when the exception names this finding: its id (or an alias) and/or its package, all that it names. */
function exceptionMatches(e: PolicyException, f: Finding): boolean {
  if (e.unknown !== undefined || (e.finding === undefined && e.package === undefined)) return false;
  if (e.finding !== undefined) {
    const want = e.finding.toLowerCase();
    if (f.id.toLowerCase() !== want && !(f.aliases ?? []).some((a) => a.toLowerCase() === want)) return false;
  }
  return e.package === undefined || matchesPackage(e.package, f.package);
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** True when the exception accepts this unknown: its class, and its consumer when it names one. */
function exceptionCoversUnknown(e: PolicyException, u: Unknown): boolean {
  return e.unknown !== undefined && e.unknown === unknownClass(u) && (e.consumer === undefined || e.consumer === u.consumer);
}

/** The id an unknown class is reported under in reasons and exception uses (`unknown:cut-by-cap`). */
export function unknownId(c: UnknownClass): string {
  return `unknown:${c}`;
}

/**
 * Whether what a consumer did not examine could hide a quarantine under these rules. Only the image
 * checks whose rules this policy sets to warn or ignore everywhere (misconfig, base-image) can hide
 * no more than a warning; every other consumer — catalogers, the matcher, malware, secrets, the
 * layer reader, one this engine does not know — could hide a quarantine.
 */
function canQuarantine(rules: PolicyRules, consumer: string | undefined): boolean {
  if (consumer === 'misconfig') return Object.values(rules.misconfig.bySeverity).includes('quarantine') || Object.values(rules.misconfig.byId).includes('quarantine');
  if (consumer === 'base-image') return rules.baseImage.untrusted === 'quarantine' || rules.baseImage.outdated === 'quarantine';
  return true;
}

/** `/usr/bin/x (layer sha256:abcd…, clamd): clamd did not answer` — one unknown in a message. */
function describeUnknown(u: Unknown): string {
  const who = [u.layer ? `layer ${u.layer.slice(0, 19)}…` : '', u.consumer ?? ''].filter(Boolean).join(', ');
  return `${u.path || '/'}${who ? ` (${who})` : ''}: ${u.reason}`;
}

/** `CVE-2024-1 in pkg:npm/x@1.0.0 (high, fixed in 1.0.1)`, `aws-access-key-id at /app/.env`. */
function describe(f: Finding): string {
  const where = f.package ? ` in ${f.package}` : f.path ? ` at ${f.path}` : '';
  const kev = f.type === 'vulnerability' && knownExploitedOf(f) ? ', known exploited' : '';
  const detail = f.type === 'vulnerability' ? ` (${severityOf(f)}${f.fixedIn ? `, fixed in ${f.fixedIn}` : ''}${kev})` : '';
  return `${f.id}${where}${detail}`;
}

/** Long lists are cut in messages (the `findings` array keeps every id). */
const MAX_LISTED = 10;

function listing(fs: readonly Finding[]): string {
  const items = unique(fs.map(describe));
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

/** Image-level rule: where the image comes from. */
function registryReason(rules: PolicyRules, ref: string): PolicyReason | undefined {
  if (!rules.registries) return undefined;
  const repo = imageRepository(ref);
  const trusted = rules.registries.trusted.join(', ');
  if (repo === undefined) {
    return { rule: 'registries', message: `${ref} is not an image in a registry (an archive, a directory or no reference), and registries.trusted only vouches for registry images (${trusted})`, findings: [] };
  }
  if (rules.registries.trusted.some((p) => matchesRepository(p, repo))) return undefined;
  return { rule: 'registries', message: `${repo} is not from a trusted registry (registries.trusted: ${trusted})`, findings: [] };
}

/** Image-level rule: how long ago each feed last synced. A feed with no (readable) `syncedAt` is stale. */
function feedReason(rules: PolicyRules, feeds: readonly FeedInfo[], now: Date): PolicyReason | undefined {
  const max = rules.feeds.maxStaleHours;
  const stale: string[] = [];
  for (const feed of feeds) {
    const t = feed.syncedAt === undefined ? NaN : new Date(feed.syncedAt).getTime();
    if (Number.isNaN(t)) {
      stale.push(`${feed.source} (never synced)`);
      continue;
    }
    const hours = (now.getTime() - t) / HOUR_MS;
    if (hours > max) stale.push(`${feed.source} (last synced ${feed.syncedAt}, ${Math.floor(hours)} h ago)`);
  }
  if (stale.length === 0) return undefined;
  return { rule: 'feeds', message: `vulnerability data may be out of date: ${stale.length} feed${stale.length === 1 ? '' : 's'} not synced within feeds.maxStaleHours (${max} h): ${stale.join('; ')}`, findings: [] };
}

function counts(findings: readonly Finding[], decisions: readonly FindingDecision[]): FindingCounts {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const byType: Record<string, number> = { vulnerability: 0, malware: 0, secret: 0, misconfig: 0, 'base-image': 0, unscannable: 0 };
  const byDecision: Record<FindingDecisionKind, number> = { quarantine: 0, warn: 0, ignored: 0, excepted: 0 };
  for (const f of findings) {
    bySeverity[severityOf(f)]++;
    byType[f.type] = (byType[f.type] ?? 0) + 1;
  }
  for (const d of decisions) byDecision[d.decision]++;
  return { total: findings.length, bySeverity, byType: byType as Record<FindingType, number>, byDecision };
}

/**
 * {@link evaluatePolicy} with the decision for every finding as well — what `trustctl policy test`
 * explains (explain.ts). The verdict is the same object {@link evaluatePolicy} returns.
 */
export function evaluatePolicyDetailed(policy: Policy, input: PolicyInput): { verdict: PolicyVerdict; decisions: FindingDecision[] } {
  const { findings, now } = input;
  const exceptions = policy.exceptions.map((exception, index) => {
    const expiry = exceptionExpiry(exception.expires);
    return {
      index,
      exception,
      inScope: inScope(exception.scope, input),
      // An expiry that cannot be read (a policy built by hand) counts as expired: never an open-ended exception.
      expired: expiry === undefined || now.getTime() >= expiry.getTime(),
      applied: [] as string[],
      wouldApply: [] as string[],
      baselineHits: [] as Finding[],
    };
  });
  const active = exceptions.filter((e) => e.inScope && !e.expired);

  const outcomes = findings.map((f) => ruleOutcome(policy.rules, f, now));
  const decisions: FindingDecision[] = findings.map((finding, index) => {
    const o = outcomes[index];
    const base = { index, finding, rule: o.rule, why: o.why, ruleDecision: o.decision, baseline: o.baseline === true };
    if (o.baseline) {
      // The baseline is never excepted; an exception that tries is reported below, not applied.
      for (const e of active) if (exceptionMatches(e.exception, finding)) e.baselineHits.push(finding);
      return { ...base, decision: o.decision };
    }
    const e = active.find((x) => exceptionMatches(x.exception, finding));
    for (const x of exceptions) if (x.inScope && x.expired && exceptionMatches(x.exception, finding)) x.wouldApply.push(finding.id);
    if (!e) return { ...base, decision: o.decision };
    e.applied.push(finding.id);
    const who = e.exception.owner ? ` (owner ${e.exception.owner})` : '';
    return { ...base, decision: 'excepted', exception: e.index, why: `${o.why}; excepted by exception #${e.index}${who} until ${e.exception.expires}: ${e.exception.reason}` };
  });

  const reasons: PolicyReason[] = [];
  const warnings: PolicyReason[] = [];
  // The baseline's own reasons, verbatim (one per unscannable finding): whatever this module does,
  // an image baseline.ts quarantines stays quarantined.
  const unscannable = findings.filter((f) => f.type === 'unscannable');
  baselineVerdict(findings).reasons.forEach((r, i) => reasons.push({ rule: 'unscannable', message: r.message, findings: unscannable[i] ? [unscannable[i].id] : [] }));

  // Every other flagged finding joins the reason or warning of its rule and headline, in report order.
  const groups = new Map<string, { rule: PolicyRuleName; decision: 'quarantine' | 'warn'; headline: string; findings: Finding[] }>();
  for (const d of decisions) {
    if (d.rule === 'unscannable' || (d.decision !== 'quarantine' && d.decision !== 'warn')) continue;
    const o = outcomes[d.index];
    const key = `${d.decision}\0${o.rule}\0${o.headline}`;
    const g = groups.get(key) ?? { rule: o.rule, decision: d.decision, headline: o.headline, findings: [] };
    g.findings.push(d.finding);
    groups.set(key, g);
  }
  // Baseline first, then the rules in the policy file's order; findings keep report order within a group.
  const order: readonly PolicyRuleName[] = ['malware', 'unknownFinding', 'vulnerabilities', 'secrets', 'misconfig', 'baseImage'];
  // Known-exploited vulnerabilities lead their rule's reasons.
  const kevFirst = (g: { headline: string }): number => (g.headline === KEV_HEADLINE ? 0 : 1);
  for (const g of [...groups.values()].sort((a, b) => order.indexOf(a.rule) - order.indexOf(b.rule) || kevFirst(a) - kevFirst(b))) {
    (g.decision === 'quarantine' ? reasons : warnings).push({ rule: g.rule, message: `${g.headline}: ${listing(g.findings)}`, findings: unique(g.findings.map((f) => f.id)) });
  }

  // Unknowns: what was not examined quarantines, class by class, unless an exception accepts it.
  const unknownCounts = Object.fromEntries(UNKNOWN_CLASSES.map((c) => [c, { total: 0, excepted: 0 }])) as Record<UnknownClass, { total: number; excepted: number }>;
  const unexamined = new Map<UnknownClass, Unknown[]>();
  const lesser: Unknown[] = [];
  for (const u of input.unknowns ?? []) {
    const c = unknownClass(u);
    unknownCounts[c].total++;
    if (!hidesContent(u)) continue;
    for (const x of exceptions) if (x.inScope && x.expired && exceptionCoversUnknown(x.exception, u)) x.wouldApply.push(unknownId(c));
    const e = active.find((x) => exceptionCoversUnknown(x.exception, u));
    if (e) {
      e.applied.push(unknownId(c));
      unknownCounts[c].excepted++;
      continue;
    }
    if (!canQuarantine(policy.rules, u.consumer)) {
      // What a check that can only warn under this policy did not examine hides at most a warning.
      lesser.push(u);
      continue;
    }
    const list = unexamined.get(c) ?? [];
    list.push(u);
    unexamined.set(c, list);
  }
  for (const c of UNKNOWN_CLASSES) {
    const list = unexamined.get(c);
    if (!list) continue;
    const consumers = unique(list.map((u) => u.consumer ?? '').filter(Boolean));
    const shown = list.slice(0, MAX_LISTED).map(describeUnknown).join('; ');
    const more = list.length > MAX_LISTED ? `; and ${list.length - MAX_LISTED} more` : '';
    reasons.push({
      rule: 'unscannable',
      message: `${c}: ${list.length} thing${list.length === 1 ? '' : 's'} not examined${consumers.length ? ` (${consumers.join(', ')})` : ''}, never trusted unless an exception accepts \`unknown: ${c}\`: ${shown}${more}`,
      findings: [unknownId(c)],
    });
  }

  if (lesser.length > 0) {
    const classes = unique(lesser.map((u) => unknownClass(u)));
    warnings.push({
      rule: 'unscannable',
      message: `${lesser.length} thing${lesser.length === 1 ? '' : 's'} not examined by checks that only warn under this policy: ${lesser.slice(0, MAX_LISTED).map(describeUnknown).join('; ')}${lesser.length > MAX_LISTED ? `; and ${lesser.length - MAX_LISTED} more` : ''}`,
      findings: classes.map((c) => unknownId(c as UnknownClass)),
    });
  }

  const registry = registryReason(policy.rules, input.ref);
  if (registry) reasons.push(registry);
  const feed = feedReason(policy.rules, input.feeds, now);
  if (feed) (policy.rules.feeds.action === 'quarantine' ? reasons : warnings).push(feed);
  for (const e of exceptions) {
    if (e.baselineHits.length === 0) continue;
    warnings.push({
      rule: 'exceptions',
      message: `exception #${e.index} matches ${listing(e.baselineHits)}, which ${e.baselineHits.length === 1 ? 'is' : 'are'} ${unique(e.baselineHits.map((f) => f.type)).join('/')}: the baseline cannot be excepted, the image stays quarantined`,
      findings: unique(e.baselineHits.map((f) => f.id)),
    });
  }

  const use = (e: (typeof exceptions)[number], ids: readonly string[]): ExceptionUse => ({ index: e.index, exception: e.exception, findings: unique(ids) });
  const verdict: PolicyVerdict = {
    status: reasons.length > 0 ? 'quarantined' : 'trusted',
    reasons,
    warnings,
    counts: counts(findings, decisions),
    policyHash: policyHash(policy),
    exceptionsApplied: exceptions.filter((e) => e.applied.length > 0).map((e) => use(e, e.applied)),
    exceptionsUnused: exceptions.filter((e) => e.inScope && !e.expired && e.applied.length === 0).map((e) => use(e, [])),
    exceptionsExpired: exceptions.filter((e) => e.inScope && e.expired).map((e) => use(e, e.wouldApply)),
    unknowns: unknownCounts,
  };
  return { verdict, decisions };
}

/**
 * The verdict of `policy` for one image (one platform manifest). Quarantined when any reason
 * remains: the baseline (unscannable, malware — never lifted), a rule's quarantine not lifted by an
 * exception, an untrusted registry, or stale feeds with `feeds.action: quarantine`.
 */
export function evaluatePolicy(policy: Policy, input: PolicyInput): PolicyVerdict {
  return evaluatePolicyDetailed(policy, input).verdict;
}
