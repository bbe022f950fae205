import { createHash } from 'node:crypto';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import { TrustError } from '../errors';
import { isDigest, UNKNOWN_CLASSES, type Severity, type UnknownClass } from '../model';
import { parsePurl, repositoryPatternProblem } from './patterns';
import {
  ACTIONS, MISCONFIG_RULE_IDS, POLICY_API_VERSION, SECRET_CATEGORY_NAMES, SECRET_RULE_IDS, SEVERITIES, type PolicyAction,
} from './vocabulary';

export { POLICY_API_VERSION, type PolicyAction } from './vocabulary';
export { POLICY_JSON_SCHEMA, POLICY_EXCEPTIONS_JSON_SCHEMA } from './json-schema';

/**
 * The policy file (issue "Policy, verdicts and tags", item 1; DESIGN.md "Judge": a versioned file
 * turns findings into a verdict). YAML (JSON is YAML too), `apiVersion: trustctl/v1`, `kind: Policy`:
 *
 * ```yaml
 * apiVersion: trustctl/v1
 * kind: Policy
 * metadata: { name: payments, description: … }        # optional, informative only
 * rules:                                               # every key optional: omitted = the default
 *   unscannable: quarantine                            # baseline: only `quarantine` is accepted
 *   malware: quarantine                                # baseline: only `quarantine` is accepted
 *   vulnerabilities:
 *     severities: [critical, high]                     # severities that quarantine
 *     onlyWithFix: true                                # …only when a fixed version exists
 *     maxAdvisoryAgeDays: 7                            # optional grace period, see below
 *     unknownSeverityAs: high                          # a severity no source knows counts as this
 *     knownExploited: quarantine                       # CISA KEV-listed: quarantine | warn
 *   secrets:
 *     quarantine: [private-key, cloud-credential, token, unknown]   # categories or rule ids
 *     others: warn                                     # the other secrets: warn | ignore
 *   misconfig:
 *     bySeverity: { critical: warn, high: warn, medium: warn, low: warn, unknown: warn }
 *     byId: { TC-MC-001: quarantine, TC-MC-007: ignore }            # wins over bySeverity
 *   baseImage: { untrusted: warn, outdated: warn }     # TC-BI-001 / TC-BI-002: quarantine | warn
 *   registries:                                        # optional; absent = any registry
 *     trusted: [123456789012.dkr.ecr.*.amazonaws.com/**, ghcr.io/acme/*]
 *   feeds: { maxStaleHours: 48, action: warn }         # warn | quarantine
 * exceptions:                                          # optional, see PolicyException
 *   - scope: { repository: ghcr.io/acme/* }            # or { digest: sha256:… } or { all: true }
 *     finding: CVE-2024-45337                          # id or alias; and/or
 *     package: pkg:golang/golang.org/x/crypto          # a purl (version optional) or a name
 *     owner: team-payments
 *     reason: not reachable: we never call ssh.ServerConfig.PublicKeyCallback
 *     expires: 2025-03-31                              # date (UTC midnight) or RFC 3339 date-time
 * ```
 *
 * Semantics a reader cannot guess from the keys:
 * - **Omitted keys take the default policy's value** (default-policy.yaml), key by key: a policy
 *   that only sets `vulnerabilities.severities: [critical]` still quarantines leaked keys.
 * - **`maxAdvisoryAgeDays: N`** is a grace period: an advisory counts towards quarantine only once it
 *   was published at least N days before the evaluation; a younger one warns instead. It gives teams
 *   N days to ship a fix before a fresh CVE stops their deploys. The publication date is the finding's
 *   `published` (OSV `published`); a finding without one gets no grace (fail closed).
 * - **`unknownSeverityAs`** (default `high`): a vulnerability no source rates (no NVD record, no CVSS,
 *   no database or distribution rating) is judged as this severity — unknown is not low. `unknown`
 *   keeps it unknown (then only `severities: [..., unknown]` quarantines it). Verdict reasons say when
 *   the assumption decided ("severity unknown to every source; treated as high").
 * - **`knownExploited`** (default `quarantine`): a vulnerability whose CVE CISA's Known Exploited
 *   Vulnerabilities catalog lists quarantines whatever its severity, fix state or grace period; `warn`
 *   makes it at least a warning. An exception can still accept it (reason and expiry, like any finding).
 * - **`feeds.maxStaleHours`** is the time since a feed's last successful sync (`FeedInfo.syncedAt`),
 *   not the age of its records: a quiet ecosystem publishes nothing for days and is still current. A
 *   feed never synced (no `syncedAt`) is stale.
 * - **Unknown keys are errors**, and so are rule or category ids this engine does not know: a typo
 *   (`serverities`, `TC-MC-01`) must not silently weaken the policy.
 * - **`unscannable` and `malware` cannot be relaxed**: any value other than `quarantine` is an error,
 *   and no exception lifts them (baseline.ts).
 *
 * Every validation error names the path and the line (`policy.yaml:12:5: rules.vulnerabilities
 * .severities[1]: must be one of critical, high, medium, low, unknown`).
 */

/** The `vulnerabilities` rule. */
export interface VulnerabilityRules {
  /** Severities that quarantine. */
  readonly severities: readonly Severity[];
  /** Quarantine only when a fixed version exists (`fixedIn`); a listed severity without a fix warns. */
  readonly onlyWithFix: boolean;
  /** Grace period in days: advisories published more recently warn instead of quarantining. */
  readonly maxAdvisoryAgeDays?: number;
  /** The severity a vulnerability no source rates is judged as (`unknown`: left unknown). */
  readonly unknownSeverityAs: Severity;
  /** What a known-exploited vulnerability (CISA KEV) does whatever its severity or fix state. */
  readonly knownExploited: 'quarantine' | 'warn';
}

/** The `secrets` rule. */
export interface SecretRules {
  /** Categories (vocabulary.ts `SECRET_CATEGORIES`, plus `unknown`) or rule ids that quarantine. */
  readonly quarantine: readonly string[];
  /** What the other secret findings do. */
  readonly others: 'warn' | 'ignore';
}

/** The `misconfig` rule. */
export interface MisconfigRules {
  /** The action per severity, for ids not in {@link MisconfigRules.byId}. */
  readonly bySeverity: Readonly<Record<Severity, PolicyAction>>;
  /** The action per rule id (`TC-MC-001`…). */
  readonly byId: Readonly<Record<string, PolicyAction>>;
}

/** The `baseImage` rule. */
export interface BaseImageRules {
  /** `TC-BI-001` (and any base-image finding id this engine does not know). */
  readonly untrusted: 'quarantine' | 'warn';
  /** `TC-BI-002`. */
  readonly outdated: 'quarantine' | 'warn';
}

/** The `registries` rule: where images may come from. */
export interface RegistryRules {
  /** `registry/repository` patterns (patterns.ts); an image from anywhere else is quarantined. */
  readonly trusted: readonly string[];
}

/** The `feeds` rule: how current the vulnerability data must be. */
export interface FeedRules {
  /** Hours since a feed's last successful sync after which it is stale. */
  readonly maxStaleHours: number;
  readonly action: 'warn' | 'quarantine';
}

/** Every rule of a policy, defaults filled in. */
export interface PolicyRules {
  /** Baseline: always `quarantine`. */
  readonly unscannable: 'quarantine';
  /** Baseline: always `quarantine`. */
  readonly malware: 'quarantine';
  readonly vulnerabilities: VulnerabilityRules;
  readonly secrets: SecretRules;
  readonly misconfig: MisconfigRules;
  readonly baseImage: BaseImageRules;
  /** Absent: images from any registry are acceptable. */
  readonly registries?: RegistryRules;
  readonly feeds: FeedRules;
}

/** Which images an exception covers: exactly one of a digest, a repository pattern, or every image. */
export type ExceptionScope = { readonly digest: string } | { readonly repository: string } | { readonly all: true };

/**
 * A time-boxed, owned decision to accept a finding (or a package's findings) for some images. It
 * lifts whatever a rule decided for the findings it matches — except the baseline (`unscannable`,
 * `malware`), which nothing lifts. `reason` and `expires` are required: an exception nobody can
 * explain or that never ends is how a policy rots. After `expires` it stops applying and the
 * evaluation reports it as expired.
 */
export interface PolicyException {
  readonly scope: ExceptionScope;
  /** A finding id, matched against the finding's id and aliases (case-insensitive). */
  readonly finding?: string;
  /** A package: a purl (the version is optional; qualifiers are ignored) or a name. */
  readonly package?: string;
  /**
   * A class of unknown (`cut-by-cap`, `scanner-unavailable`, …; lib/engine/model/unknown.ts) this
   * exception accepts for the images in scope — how a team relaxes completeness, owned and time-boxed
   * like any other exception. Alone, or with `consumer` (the plug-in that needed what was not examined).
   */
  readonly unknown?: UnknownClass;
  /** With `unknown`: only unknowns of this consumer (`clamd`, `dpkg`, …). */
  readonly consumer?: string;
  readonly owner?: string;
  readonly reason: string;
  /** `YYYY-MM-DD` (the exception ends at 00:00 UTC that day) or an RFC 3339 date-time with offset. */
  readonly expires: string;
  /** The file it came from (not part of the policy hash). */
  readonly source?: string;
  /** Its 1-based line there (not part of the policy hash). */
  readonly line?: number;
}

/** A parsed, validated policy with every default filled in. */
export interface Policy {
  readonly apiVersion: typeof POLICY_API_VERSION;
  readonly kind: 'Policy';
  readonly metadata?: { readonly name?: string; readonly description?: string };
  readonly rules: PolicyRules;
  /** In file order; their 0-based position is the `index` evaluations report. */
  readonly exceptions: readonly PolicyException[];
  /** The file the policy came from (not part of the policy hash). */
  readonly source?: string;
}

/**
 * The default rules (default-policy.yaml states the same values, and a test holds them equal):
 * quarantine on the baseline, on leaked keys and credentials, and on critical or high
 * vulnerabilities that have a fix; warn on misconfigurations, base images and stale feeds.
 */
export const DEFAULT_RULES: PolicyRules = deepFreeze({
  unscannable: 'quarantine',
  malware: 'quarantine',
  vulnerabilities: { severities: ['critical', 'high'], onlyWithFix: true, unknownSeverityAs: 'high', knownExploited: 'quarantine' },
  secrets: { quarantine: ['private-key', 'cloud-credential', 'token', 'unknown'], others: 'warn' },
  misconfig: { bySeverity: { critical: 'warn', high: 'warn', medium: 'warn', low: 'warn', unknown: 'warn' }, byId: {} },
  baseImage: { untrusted: 'warn', outdated: 'warn' },
  feeds: { maxStaleHours: 48, action: 'warn' },
});

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** One validation problem, located. */
export interface PolicyIssue {
  /** Where in the document: `rules.vulnerabilities.severities[1]`, `exceptions[0].reason`. */
  readonly path: string;
  /** 1-based line (of the key for unknown keys, of the enclosing mapping for missing ones). */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** A policy or exceptions file that is not valid; `issues` lists every problem found, not only the first. */
export class PolicyError extends TrustError {
  /** Every problem, in document order. */
  readonly issues: readonly PolicyIssue[];
  /** The file name given to the parser. */
  readonly source?: string;
  constructor(issues: readonly PolicyIssue[], source?: string) {
    const where = (i: PolicyIssue): string => `${source ?? 'policy'}${i.line !== undefined ? `:${i.line}${i.column !== undefined ? `:${i.column}` : ''}` : ''}`;
    super('BAD_POLICY', issues.map((i) => `${where(i)}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`).join('\n'));
    this.issues = issues;
    if (source !== undefined) this.source = source;
  }
}

/** Policy files are small; a bigger one is a mistake (or an attack on the YAML parser). */
export const MAX_POLICY_BYTES = 1024 * 1024;

type Seg = string | number;
interface RawIssue {
  readonly path: readonly Seg[];
  readonly message: string;
  /** Locate the key (unknown keys), the value (bad values) or the enclosing mapping (missing keys). */
  readonly at: 'key' | 'value' | 'parent';
}

/** `rules.misconfig.byId.TC-MC-001`, `exceptions[0].scope`; odd keys quoted. */
export function formatPath(path: readonly Seg[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The YAML text parsed, with a way back from a path to a line. */
interface Loaded {
  readonly value: unknown;
  locate(path: readonly Seg[], at: RawIssue['at']): { line: number; column: number } | undefined;
}

/** Parses the YAML (one document, core schema, unique keys, bounded aliases); syntax errors become a {@link PolicyError}. */
function load(text: string, source: string | undefined): Loaded {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) throw new PolicyError([{ path: '', message: `larger than ${MAX_POLICY_BYTES} bytes` }], source);
  const lineCounter = new LineCounter();
  // The core schema reads `2025-01-31` as a string (no YAML 1.1 timestamps, no `yes`/`no` booleans).
  const doc = parseDocument(text, { lineCounter, schema: 'core', prettyErrors: true, uniqueKeys: true, strict: true });
  // Warnings (an unresolved `!tag`) are errors here: a policy must mean exactly what it says.
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    throw new PolicyError(problems.map((e) => ({
      path: '',
      ...(e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : {}),
      message: `invalid YAML: ${e.message.split('\n', 1)[0].replace(/ at line \d+, column \d+:?$/, '')}`,
    })), source);
  }
  let value: unknown;
  try {
    // Bounded alias expansion: a "billion laughs" document stops here.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyError([{ path: '', message: `invalid YAML: ${(e as Error).message}` }], source);
  }
  const pos = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return {
    value,
    locate(path, at) {
      let node: unknown = doc.contents;
      let parent: unknown = node;
      let key: unknown;
      let found = 0;
      for (const seg of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) === String(seg) : p.key === seg));
          if (!pair) break;
          parent = node;
          key = pair.key;
          node = pair.value;
        } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
          parent = node;
          key = undefined;
          node = node.items[seg];
        } else {
          break;
        }
        found++;
      }
      const range = (n: unknown): number | undefined => {
        const r = (n as { range?: [number, number, number] } | null)?.range;
        return r ? r[0] : undefined;
      };
      let offset: number | undefined;
      if (found < path.length) offset = range(node); // a missing key: the mapping that should hold it
      else if (at === 'key') offset = range(key) ?? range(node);
      // A key that is there with no value (`reason:`): point at the key itself.
      else if (at === 'parent') offset = range(key) ?? range(parent);
      // `reason:` with nothing after it has an empty value node: point at the key instead.
      else offset = isScalar(node) && node.value === null && node.source === '' ? range(key) : range(node) ?? range(key);
      return offset === undefined ? undefined : pos(offset);
    },
  };
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

function suggest(word: string, options: readonly string[]): string {
  const best = options.map((o) => ({ o, d: distance(word.toLowerCase(), o.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean ${best.o}?)` : '';
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects issues while reading plain values; every reader returns `undefined` on a bad value. */
class Reader {
  readonly issues: RawIssue[] = [];

  fail(path: readonly Seg[], message: string, at: RawIssue['at'] = 'value'): undefined {
    this.issues.push({ path, message, at });
    return undefined;
  }

  /** A mapping with only `allowed` keys and every `required` one present (null counts as missing). */
  map(v: unknown, path: readonly Seg[], allowed: readonly string[], required: readonly string[] = []): Record<string, unknown> | undefined {
    if (!isObject(v)) return this.fail(path, `must be a mapping (got ${kindOf(v)})`);
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail([...path, k], `unknown key ${JSON.stringify(k)}${suggest(k, allowed)}; allowed: ${allowed.join(', ')}`, 'key');
    }
    for (const r of required) if (v[r] === undefined || v[r] === null) this.fail([...path, r], `${r} is required`, 'parent');
    return v;
  }

  oneOf<T extends string>(v: unknown, path: readonly Seg[], values: readonly T[], why = ''): T | undefined {
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    return this.fail(path, `must be ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}${why} (got ${kindOf(v)})`);
  }

  bool(v: unknown, path: readonly Seg[]): boolean | undefined {
    return typeof v === 'boolean' ? v : this.fail(path, `must be true or false (got ${kindOf(v)})`);
  }

  number(v: unknown, path: readonly Seg[], opts: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean }): number | undefined {
    const ok = typeof v === 'number' && Number.isFinite(v) && (opts.exclusiveMin ? v > opts.min : v >= opts.min) && v <= opts.max && (!opts.integer || Number.isInteger(v));
    if (ok) return v;
    const lo = opts.exclusiveMin ? `greater than ${opts.min}` : `at least ${opts.min}`;
    return this.fail(path, `must be ${opts.integer ? 'an integer' : 'a number'} ${lo} and at most ${opts.max} (got ${kindOf(v)})`);
  }

  string(v: unknown, path: readonly Seg[], max = 1024): string | undefined {
    if (typeof v !== 'string' || v.trim() === '') return this.fail(path, `must be a non-empty string (got ${kindOf(v)})`);
    return v.length > max ? this.fail(path, `must be at most ${max} characters`) : v.trim();
  }

  list(v: unknown, path: readonly Seg[]): unknown[] | undefined {
    return Array.isArray(v) ? v : this.fail(path, `must be a list (got ${kindOf(v)})`);
  }
}

const BASELINE_WHY = ': the baseline rule cannot be relaxed (an unreadable or infected image is never trusted)';

function readVulnerabilities(r: Reader, v: unknown, path: readonly Seg[]): VulnerabilityRules | undefined {
  const m = r.map(v, path, ['severities', 'onlyWithFix', 'maxAdvisoryAgeDays', 'unknownSeverityAs', 'knownExploited']);
  if (!m) return undefined;
  const d = DEFAULT_RULES.vulnerabilities;
  let severities = d.severities;
  if (m.severities !== undefined) {
    const list = r.list(m.severities, [...path, 'severities']);
    const read = list?.map((s, i) => r.oneOf(s, [...path, 'severities', i], SEVERITIES)).filter((s): s is Severity => s !== undefined) ?? [];
    // A set: normalised to severity order, so `[high, critical]` is the same policy as `[critical, high]`.
    severities = SEVERITIES.filter((s) => read.includes(s));
  }
  const onlyWithFix = m.onlyWithFix === undefined ? d.onlyWithFix : r.bool(m.onlyWithFix, [...path, 'onlyWithFix']) ?? d.onlyWithFix;
  const age = m.maxAdvisoryAgeDays === undefined ? undefined : r.number(m.maxAdvisoryAgeDays, [...path, 'maxAdvisoryAgeDays'], { min: 0, max: 3650, integer: true });
  const unknownSeverityAs = m.unknownSeverityAs === undefined ? d.unknownSeverityAs : r.oneOf(m.unknownSeverityAs, [...path, 'unknownSeverityAs'], SEVERITIES) ?? d.unknownSeverityAs;
  const knownExploited = m.knownExploited === undefined ? d.knownExploited : r.oneOf(m.knownExploited, [...path, 'knownExploited'], ['quarantine', 'warn'] as const) ?? d.knownExploited;
  return { severities, onlyWithFix, ...(age !== undefined ? { maxAdvisoryAgeDays: age } : {}), unknownSeverityAs, knownExploited };
}

function readSecrets(r: Reader, v: unknown, path: readonly Seg[]): SecretRules | undefined {
  const m = r.map(v, path, ['quarantine', 'others']);
  if (!m) return undefined;
  let quarantine = DEFAULT_RULES.secrets.quarantine;
  if (m.quarantine !== undefined) {
    const allowed = [...SECRET_CATEGORY_NAMES, ...SECRET_RULE_IDS];
    const list = r.list(m.quarantine, [...path, 'quarantine']) ?? [];
    const read = list.map((s, i) => {
      if (typeof s === 'string' && allowed.includes(s)) return s;
      return r.fail([...path, 'quarantine', i], `must be a secret category (${SECRET_CATEGORY_NAMES.join(', ')}) or rule id (${SECRET_RULE_IDS.join(', ')}) (got ${kindOf(s)})${typeof s === 'string' ? suggest(s, allowed) : ''}`);
    }).filter((s): s is string => s !== undefined);
    quarantine = [...new Set(read)];
  }
  const others = m.others === undefined ? DEFAULT_RULES.secrets.others : r.oneOf(m.others, [...path, 'others'], ['warn', 'ignore'] as const) ?? DEFAULT_RULES.secrets.others;
  return { quarantine, others };
}

function readMisconfig(r: Reader, v: unknown, path: readonly Seg[]): MisconfigRules | undefined {
  const m = r.map(v, path, ['bySeverity', 'byId']);
  if (!m) return undefined;
  const bySeverity: Record<Severity, PolicyAction> = { ...DEFAULT_RULES.misconfig.bySeverity };
  if (m.bySeverity !== undefined) {
    const s = r.map(m.bySeverity, [...path, 'bySeverity'], SEVERITIES);
    for (const [k, a] of Object.entries(s ?? {})) {
      const action = r.oneOf(a, [...path, 'bySeverity', k], ACTIONS);
      if (action && (SEVERITIES as readonly string[]).includes(k)) bySeverity[k as Severity] = action;
    }
  }
  const byId: Record<string, PolicyAction> = {};
  // `byId:` with every entry commented out is an empty map, not an error.
  if (m.byId !== undefined && m.byId !== null) {
    const ids = r.map(m.byId, [...path, 'byId'], MISCONFIG_RULE_IDS);
    for (const [k, a] of Object.entries(ids ?? {})) {
      const action = r.oneOf(a, [...path, 'byId', k], ACTIONS);
      if (action && MISCONFIG_RULE_IDS.includes(k)) byId[k] = action;
    }
  }
  return { bySeverity, byId };
}

function readBaseImage(r: Reader, v: unknown, path: readonly Seg[]): BaseImageRules | undefined {
  const m = r.map(v, path, ['untrusted', 'outdated']);
  if (!m) return undefined;
  const d = DEFAULT_RULES.baseImage;
  const qw = ['quarantine', 'warn'] as const;
  return {
    untrusted: m.untrusted === undefined ? d.untrusted : r.oneOf(m.untrusted, [...path, 'untrusted'], qw) ?? d.untrusted,
    outdated: m.outdated === undefined ? d.outdated : r.oneOf(m.outdated, [...path, 'outdated'], qw) ?? d.outdated,
  };
}

function readRegistries(r: Reader, v: unknown, path: readonly Seg[]): RegistryRules | undefined {
  const m = r.map(v, path, ['trusted'], ['trusted']);
  if (!m || m.trusted === undefined || m.trusted === null) return undefined;
  const list = r.list(m.trusted, [...path, 'trusted']);
  if (!list) return undefined;
  // An empty list would quarantine every image: certainly a mistake, never a policy.
  if (list.length === 0) return r.fail([...path, 'trusted'], 'must list at least one registry/repository pattern (omit `registries` to accept any registry)');
  const trusted = list.map((p, i) => {
    if (typeof p !== 'string') return r.fail([...path, 'trusted', i], `must be a registry/repository pattern (got ${kindOf(p)})`);
    const problem = repositoryPatternProblem(p);
    return problem ? r.fail([...path, 'trusted', i], `${JSON.stringify(p)} ${problem}`) : p;
  }).filter((p): p is string => p !== undefined);
  return { trusted: [...new Set(trusted)] };
}

function readFeeds(r: Reader, v: unknown, path: readonly Seg[]): FeedRules | undefined {
  const m = r.map(v, path, ['maxStaleHours', 'action']);
  if (!m) return undefined;
  const d = DEFAULT_RULES.feeds;
  return {
    maxStaleHours: m.maxStaleHours === undefined ? d.maxStaleHours : r.number(m.maxStaleHours, [...path, 'maxStaleHours'], { min: 0, max: 24 * 366, exclusiveMin: true }) ?? d.maxStaleHours,
    action: m.action === undefined ? d.action : r.oneOf(m.action, [...path, 'action'], ['warn', 'quarantine'] as const) ?? d.action,
  };
}

const RULE_KEYS = ['unscannable', 'malware', 'vulnerabilities', 'secrets', 'misconfig', 'baseImage', 'registries', 'feeds'];

function readRules(r: Reader, v: unknown, path: readonly Seg[]): PolicyRules {
  if (v === undefined || v === null) return DEFAULT_RULES;
  const m = r.map(v, path, RULE_KEYS);
  if (!m) return DEFAULT_RULES;
  if (m.unscannable !== undefined) r.oneOf(m.unscannable, [...path, 'unscannable'], ['quarantine'] as const, BASELINE_WHY);
  if (m.malware !== undefined) r.oneOf(m.malware, [...path, 'malware'], ['quarantine'] as const, BASELINE_WHY);
  const registries = m.registries === undefined ? undefined : readRegistries(r, m.registries, [...path, 'registries']);
  return {
    unscannable: 'quarantine',
    malware: 'quarantine',
    vulnerabilities: (m.vulnerabilities === undefined ? undefined : readVulnerabilities(r, m.vulnerabilities, [...path, 'vulnerabilities'])) ?? DEFAULT_RULES.vulnerabilities,
    secrets: (m.secrets === undefined ? undefined : readSecrets(r, m.secrets, [...path, 'secrets'])) ?? DEFAULT_RULES.secrets,
    misconfig: (m.misconfig === undefined ? undefined : readMisconfig(r, m.misconfig, [...path, 'misconfig'])) ?? DEFAULT_RULES.misconfig,
    baseImage: (m.baseImage === undefined ? undefined : readBaseImage(r, m.baseImage, [...path, 'baseImage'])) ?? DEFAULT_RULES.baseImage,
    ...(registries ? { registries } : {}),
    feeds: (m.feeds === undefined ? undefined : readFeeds(r, m.feeds, [...path, 'feeds'])) ?? DEFAULT_RULES.feeds,
  };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/i;

/**
 * When an exception stops applying: a date `YYYY-MM-DD` is 00:00 UTC that day (the named day is the
 * first day it no longer applies — one instant, the same in every time zone the pipeline runs in); a
 * date-time is that instant. `undefined` when `expires` is neither.
 */
export function exceptionExpiry(expires: string): Date | undefined {
  const d = DATE.exec(expires);
  if (d) {
    const t = new Date(Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])));
    // Rejects 2025-02-30, which Date.UTC would roll over into March.
    return t.toISOString().slice(0, 10) === expires ? t : undefined;
  }
  const dt = DATE_TIME.exec(expires);
  // The calendar day is checked as for a date: V8 reads 2025-02-30T10:00:00Z as March 2nd.
  if (!dt || !exceptionExpiry(dt[1])) return undefined;
  const t = new Date(expires);
  return Number.isNaN(t.getTime()) ? undefined : t;
}

const EXCEPTION_KEYS = ['scope', 'finding', 'package', 'unknown', 'consumer', 'owner', 'reason', 'expires'];

function readScope(r: Reader, v: unknown, path: readonly Seg[]): ExceptionScope | undefined {
  const m = r.map(v, path, ['digest', 'repository', 'all']);
  if (!m) return undefined;
  const keys = Object.keys(m).filter((k) => m[k] !== undefined);
  if (keys.length !== 1) return r.fail(path, `must have exactly one of digest, repository, all (got ${keys.length === 0 ? 'none' : keys.join(', ')})`);
  if (m.digest !== undefined) {
    return isDigest(m.digest) ? { digest: m.digest } : r.fail([...path, 'digest'], `must be a digest sha256:<64 hex> (got ${kindOf(m.digest)})`);
  }
  if (m.repository !== undefined) {
    if (typeof m.repository !== 'string') return r.fail([...path, 'repository'], `must be a registry/repository pattern (got ${kindOf(m.repository)})`);
    const problem = repositoryPatternProblem(m.repository);
    return problem ? r.fail([...path, 'repository'], `${JSON.stringify(m.repository)} ${problem}`) : { repository: m.repository };
  }
  // `all: false` would be an exception for nothing: refused rather than read as a no-op.
  return m.all === true ? { all: true } : r.fail([...path, 'all'], `must be true (got ${kindOf(m.all)})`);
}

function readException(r: Reader, v: unknown, path: readonly Seg[], origin: { source?: string; line?: number }): PolicyException | undefined {
  const m = r.map(v, path, EXCEPTION_KEYS, ['scope', 'reason', 'expires']);
  if (!m) return undefined;
  const before = r.issues.length;
  const scope = m.scope === undefined || m.scope === null ? undefined : readScope(r, m.scope, [...path, 'scope']);
  if (m.finding === undefined && m.package === undefined && m.unknown === undefined) r.fail([...path, 'finding'], 'an exception names a finding id and/or a package, or an unknown class', 'parent');
  let unknown: UnknownClass | undefined;
  if (m.unknown !== undefined) {
    if (m.finding !== undefined || m.package !== undefined) r.fail([...path, 'unknown'], 'an exception for an unknown class names no finding or package');
    else if (typeof m.unknown !== 'string' || !(UNKNOWN_CLASSES as readonly string[]).includes(m.unknown) || m.unknown === 'note') {
      r.fail([...path, 'unknown'], `must be one of ${UNKNOWN_CLASSES.filter((c) => c !== 'note').join(', ')} (got ${kindOf(m.unknown)})`);
    } else unknown = m.unknown as UnknownClass;
  }
  const consumer = m.consumer === undefined ? undefined : m.unknown === undefined ? r.fail([...path, 'consumer'], 'consumer narrows an `unknown` exception: name the unknown class too') : r.string(m.consumer, [...path, 'consumer'], 256);
  const finding = m.finding === undefined ? undefined : r.string(m.finding, [...path, 'finding'], 256);
  let pkg: string | undefined;
  if (m.package !== undefined) {
    pkg = r.string(m.package, [...path, 'package'], 1024);
    if (pkg !== undefined && /^pkg:/i.test(pkg) && !parsePurl(pkg)) pkg = r.fail([...path, 'package'], `${JSON.stringify(pkg)} is not a package URL (pkg:type/[namespace/]name[@version])`);
  }
  const owner = m.owner === undefined ? undefined : r.string(m.owner, [...path, 'owner'], 256);
  const reason = m.reason === undefined || m.reason === null ? undefined : r.string(m.reason, [...path, 'reason'], 4096);
  let expires: string | undefined;
  if (m.expires !== undefined && m.expires !== null) {
    expires = typeof m.expires === 'string' && exceptionExpiry(m.expires) ? m.expires : r.fail([...path, 'expires'], `must be a date YYYY-MM-DD or an RFC 3339 date-time with a time zone (got ${kindOf(m.expires)})`);
  }
  if (r.issues.length > before || !scope || reason === undefined || expires === undefined) return undefined;
  return {
    scope,
    ...(finding !== undefined ? { finding } : {}),
    ...(pkg !== undefined ? { package: pkg } : {}),
    ...(unknown !== undefined ? { unknown } : {}),
    ...(consumer !== undefined ? { consumer } : {}),
    ...(owner !== undefined ? { owner } : {}),
    reason,
    expires,
    ...(origin.source !== undefined ? { source: origin.source } : {}),
    ...(origin.line !== undefined ? { line: origin.line } : {}),
  };
}

function readExceptions(r: Reader, v: unknown, path: readonly Seg[], loaded: Loaded, source: string | undefined): PolicyException[] {
  // `exceptions:` with every entry commented out is an empty list, not an error.
  if (v === null || v === undefined) return [];
  const list = r.list(v, path) ?? [];
  return list
    .map((e, i) => {
      const at = loaded.locate([...path, i], 'value');
      return readException(r, e, [...path, i], { ...(source !== undefined ? { source } : {}), ...(at ? { line: at.line } : {}) });
    })
    .filter((e): e is PolicyException => e !== undefined);
}

function readHeader(r: Reader, m: Record<string, unknown>, kind: 'Policy' | 'PolicyExceptions'): void {
  if (m.apiVersion !== undefined && m.apiVersion !== POLICY_API_VERSION) {
    r.fail(['apiVersion'], `unsupported apiVersion ${JSON.stringify(m.apiVersion)}: this trustctl reads ${POLICY_API_VERSION}`);
  }
  if (m.kind !== undefined && m.kind !== kind) {
    const hint = m.kind === 'PolicyExceptions' ? ' (an exceptions file: load it as exceptions, not as a policy)' : m.kind === 'Policy' ? ' (a policy: load it as a policy, not as exceptions)' : '';
    r.fail(['kind'], `must be ${kind} (got ${kindOf(m.kind)})${hint}`);
  }
}

function readMetadata(r: Reader, v: unknown): Policy['metadata'] | undefined {
  if (v === undefined) return undefined;
  const m = r.map(v, ['metadata'], ['name', 'description']);
  if (!m) return undefined;
  const name = m.name === undefined ? undefined : r.string(m.name, ['metadata', 'name'], 256);
  const description = m.description === undefined ? undefined : r.string(m.description, ['metadata', 'description'], 4096);
  return { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) };
}

function finish(r: Reader, loaded: Loaded, source: string | undefined): void {
  if (r.issues.length === 0) return;
  const issues = r.issues.map((i) => {
    const at = loaded.locate(i.path, i.at);
    return { path: formatPath(i.path), ...(at ? { line: at.line, column: at.column } : {}), message: i.message };
  });
  // Document order, so the first line of the error is the first problem in the file.
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  throw new PolicyError(issues, source);
}

/**
 * Parses and validates a policy file (`kind: Policy`); omitted rules take the defaults. Throws a
 * {@link PolicyError} listing every problem with its path and line. `source` names the file in
 * errors and in the exceptions' origin.
 */
export function parsePolicy(yamlText: string, source?: string): Policy {
  const loaded = load(yamlText, source);
  const r = new Reader();
  if (loaded.value === null || loaded.value === undefined) throw new PolicyError([{ path: '', message: 'the policy is empty (it needs at least apiVersion: trustctl/v1 and kind: Policy)' }], source);
  const m = r.map(loaded.value, [], ['apiVersion', 'kind', 'metadata', 'rules', 'exceptions'], ['apiVersion', 'kind']);
  if (!m) return finish(r, loaded, source) as never;
  readHeader(r, m, 'Policy');
  const metadata = readMetadata(r, m.metadata);
  const rules = readRules(r, m.rules, ['rules']);
  const exceptions = readExceptions(r, m.exceptions, ['exceptions'], loaded, source);
  finish(r, loaded, source);
  return {
    apiVersion: POLICY_API_VERSION,
    kind: 'Policy',
    ...(metadata && Object.keys(metadata).length > 0 ? { metadata } : {}),
    rules,
    exceptions,
    ...(source !== undefined ? { source } : {}),
  };
}

/**
 * Parses an exceptions file kept apart from the policy (`kind: PolicyExceptions`, same
 * `apiVersion`, `exceptions: [...]` as in a policy) — so that the team that grants exceptions need
 * not edit the platform team's policy. Combine with {@link withExceptions}.
 */
export function parseExceptions(yamlText: string, source?: string): PolicyException[] {
  const loaded = load(yamlText, source);
  const r = new Reader();
  if (loaded.value === null || loaded.value === undefined) throw new PolicyError([{ path: '', message: 'the exceptions file is empty (it needs apiVersion: trustctl/v1, kind: PolicyExceptions and exceptions)' }], source);
  const m = r.map(loaded.value, [], ['apiVersion', 'kind', 'metadata', 'exceptions'], ['apiVersion', 'kind', 'exceptions']);
  if (!m) return finish(r, loaded, source) as never;
  readHeader(r, m, 'PolicyExceptions');
  readMetadata(r, m.metadata);
  const exceptions = readExceptions(r, m.exceptions, ['exceptions'], loaded, source);
  finish(r, loaded, source);
  return exceptions;
}

/** The policy with more exceptions after its own (their indexes continue the policy's); the hash changes accordingly. */
export function withExceptions(policy: Policy, exceptions: readonly PolicyException[]): Policy {
  return { ...policy, exceptions: [...policy.exceptions, ...exceptions] };
}

/** JSON with object keys sorted at every level and `undefined` members dropped: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/**
 * The canonical text of what decides verdicts: `apiVersion`, the rules with defaults filled in and
 * sets in a fixed order, and the exceptions without where they were written. Comments, key order,
 * `metadata`, file names and line numbers do not change it; anything that can change a verdict does.
 */
export function canonicalPolicy(policy: Policy): string {
  const rules = policy.rules;
  const sortedSet = (xs: readonly string[]): string[] => [...new Set(xs)].sort();
  return canonicalJson({
    apiVersion: policy.apiVersion,
    kind: policy.kind,
    rules: {
      ...rules,
      vulnerabilities: { ...rules.vulnerabilities, severities: SEVERITIES.filter((s) => rules.vulnerabilities.severities.includes(s)) },
      secrets: { ...rules.secrets, quarantine: sortedSet(rules.secrets.quarantine) },
      ...(rules.registries ? { registries: { trusted: sortedSet(rules.registries.trusted) } } : {}),
    },
    exceptions: policy.exceptions.map(({ source: _source, line: _line, ...e }) => e),
  });
}

const hashes = new WeakMap<Policy, string>();

/** `sha256:<hex>` of {@link canonicalPolicy}: recorded with every verdict, so a verdict names the policy that made it. */
export function policyHash(policy: Policy): string {
  let h = hashes.get(policy);
  if (h === undefined) {
    h = `sha256:${createHash('sha256').update(canonicalPolicy(policy)).digest('hex')}`;
    hashes.set(policy, h);
  }
  return h;
}
