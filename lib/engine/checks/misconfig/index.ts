import { createHash } from 'node:crypto';
import type { EntryInfo } from '../../layers/layer-reader';
import type { Digest, Finding, Unknown } from '../../model';
import type { CheckResult, ImageCheck, ImageCheckContext } from '../types';
import type { HistoryLine } from './history';
import { DEFAULT_SETUID_ALLOW_LIST, MISCONFIG_RULES, type MisconfigRule, type MisconfigRuleContext } from './rules';
import { PASSWD_PATH } from './user';

/**
 * The misconfiguration check (an {@link ImageCheck}, issue "Beyond packages", item 3): runs every
 * rule of {@link MISCONFIG_RULES} over the image config, its history and the squashed tree, and
 * reports each hit as a `misconfig` finding — `id` = the rule's id, its severity, `path` = the file
 * (with `layer`, the layer that put it there), `config:User`, `config:Healthcheck` or `history[i]`
 * (with the layer that history entry made, when the history lines up with the layers), a message and
 * the rule's remediation line.
 *
 * The only body it asks for is `/etc/passwd` (to resolve a user name to its uid); everything else is
 * metadata (mode, uid, type) the tree keeps for every entry.
 *
 * No rule ever prints a build argument's value, a URL's credentials or query string, or a history
 * line verbatim: history lines can hold secrets.
 */

/** The check's name. */
export const MISCONFIG_CHECK_NAME = 'misconfig';
/** Version of the rules' logic; a custom setuid allow-list adds its fingerprint to the check's `version`. */
export const MISCONFIG_CHECK_VERSION = '1.0.0';
/** Default {@link MisconfigCheckOptions.maxFindingsPerRule}. */
export const DEFAULT_MAX_FINDINGS_PER_RULE = 100;

/** A misconfiguration finding: a {@link Finding} with the rule's remediation. */
export interface MisconfigFinding extends Finding {
  readonly type: 'misconfig';
  /** One line: what to change (the rule's {@link MisconfigRule.remediation}). */
  readonly remediation: string;
}

/** Options of {@link createMisconfigCheck}. */
export interface MisconfigCheckOptions {
  /**
   * Canonical absolute paths allowed to carry setuid / setgid bits. Replaces the default
   * {@link DEFAULT_SETUID_ALLOW_LIST}; to extend it, pass `[...DEFAULT_SETUID_ALLOW_LIST, '/x']`.
   */
  readonly setuidAllowList?: readonly string[];
  /**
   * Findings per rule; beyond it one more finding of the rule says how many were not listed (a
   * `chmod -R 777 /usr` must not produce a hundred thousand findings). Default 100.
   */
  readonly maxFindingsPerRule?: number;
}

/** The wants predicate of the misconfiguration check: `/etc/passwd`, nothing else. */
export function misconfigWants(path: string, info: EntryInfo): boolean {
  return path === PASSWD_PATH && (info.type === 'file' || info.type === 'hardlink');
}

/** Maps history entries to the layers they made: the i-th non-empty entry made layer i. */
function historyLayers(ctx: ImageCheckContext): (index: number) => Digest | undefined {
  const history = ctx.config.history ?? [];
  const made = history.filter((h) => h.empty_layer !== true).length;
  if (made !== ctx.layers.length) return () => undefined; // squashed or rewritten: no reliable mapping
  const map = new Map<number, Digest>();
  let k = 0;
  history.forEach((h, i) => {
    if (h.empty_layer !== true) map.set(i, ctx.layers[k++]);
  });
  return (i) => map.get(i);
}

/** Creates the misconfiguration check. */
export function createMisconfigCheck(opts: MisconfigCheckOptions = {}): ImageCheck {
  const allow = opts.setuidAllowList ?? DEFAULT_SETUID_ALLOW_LIST;
  for (const p of allow) {
    if (typeof p !== 'string' || !p.startsWith('/')) throw new TypeError(`setuidAllowList entries must be absolute paths, got ${JSON.stringify(p)}`);
  }
  const allowSet: ReadonlySet<string> = new Set(allow);
  const max = opts.maxFindingsPerRule ?? DEFAULT_MAX_FINDINGS_PER_RULE;
  if (!Number.isSafeInteger(max) || max <= 0) throw new RangeError(`maxFindingsPerRule must be a positive integer, got ${max}`);
  const custom = opts.setuidAllowList !== undefined;
  const fingerprint = custom ? createHash('sha256').update([...allowSet].sort().join('\n')).digest('hex').slice(0, 12) : '';

  const run = async (ctx: ImageCheckContext): Promise<CheckResult> => {
    const findings: MisconfigFinding[] = [];
    const unknowns: Unknown[] = [];
    const history: HistoryLine[] = (ctx.config.history ?? []).flatMap((h, index) => (typeof h.created_by === 'string' ? [{ index, createdBy: h.created_by }] : []));
    const historyLayer = historyLayers(ctx);
    const ruleCtx = (rule: MisconfigRule): MisconfigRuleContext => ({
      config: ctx.config,
      tree: ctx.tree,
      history,
      historyLayer,
      setuidAllowList: allowSet,
      unknown: (path, reason, layer) => unknowns.push({ layer: layer ?? ctx.manifestDigest, path, reason: `${MISCONFIG_CHECK_NAME} ${rule.id}: ${reason}`, class: 'body-not-read', consumer: MISCONFIG_CHECK_NAME }),
    });
    for (const rule of MISCONFIG_RULES) {
      let hits;
      try {
        hits = rule.evaluate(ruleCtx(rule));
      } catch (err) {
        // A rule must not abort the others, nor pass silently.
        unknowns.push({ layer: ctx.manifestDigest, path: '/', reason: `${MISCONFIG_CHECK_NAME} ${rule.id} failed: ${(err as Error).message}`, class: 'parse-error', consumer: MISCONFIG_CHECK_NAME });
        continue;
      }
      for (const h of hits.slice(0, max)) {
        findings.push({
          type: 'misconfig',
          id: rule.id,
          aliases: [],
          severity: rule.severity,
          ...(h.layer !== undefined ? { layer: h.layer } : {}),
          ...(h.path !== undefined ? { path: h.path } : {}),
          message: h.message,
          remediation: rule.remediation,
        });
      }
      if (hits.length > max) {
        findings.push({
          type: 'misconfig',
          id: rule.id,
          aliases: [],
          severity: rule.severity,
          message: `${rule.title}: ${hits.length - max} more not listed (${hits.length} in all; maxFindingsPerRule=${max})`,
          remediation: rule.remediation,
        });
      }
    }
    return { findings, unknowns };
  };

  return {
    kind: 'image',
    name: MISCONFIG_CHECK_NAME,
    version: custom ? `${MISCONFIG_CHECK_VERSION}+allow.${fingerprint}` : MISCONFIG_CHECK_VERSION,
    wants: misconfigWants,
    run,
  };
}

export {
  DEFAULT_SETUID_ALLOW_LIST,
  MISCONFIG_RULES,
  NO_HEALTHCHECK,
  REMOTE_CODE_IN_BUILD,
  RUNS_AS_ROOT,
  SECRET_BUILD_ARG,
  SETUID_OUTSIDE_ALLOW_LIST,
  SSH_SERVER_INSTALLED,
  SSH_SERVER_PATHS,
  WORLD_WRITABLE_SYSTEM_FILE,
  isSystemPath,
} from './rules';
export type { MisconfigRule, MisconfigRuleContext, RuleHit } from './rules';
export { findPipeToShell, isSecretName, recordedBuildArgs, remoteAddSources, runCommand } from './history';
export type { HistoryLine, PipeToShell } from './history';
export { PASSWD_PATH, parsePasswd, resolveUser } from './user';
export type { UserResolution } from './user';
