import { BASE_NOT_TRUSTED, BASE_OUTDATED } from '../checks/base-image';
import { MISCONFIG_RULES } from '../checks/misconfig/rules';
import type { Severity } from '../model';

/**
 * The words a policy file may use, in one place: the parser (schema.ts), the JSON Schema
 * (json-schema.ts) and the evaluation (evaluate.ts) all read them from here, so the three cannot
 * disagree on what a valid value is.
 */

/** The `apiVersion` this engine reads. A future incompatible format gets a new version, never a silent reinterpretation. */
export const POLICY_API_VERSION = 'trustctl/v1';

/** Every severity, most severe first (the order lists are normalised to). */
export const SEVERITIES: readonly Severity[] = Object.freeze(['critical', 'high', 'medium', 'low', 'unknown']);

/** What a rule can do with a finding. */
export type PolicyAction = 'quarantine' | 'warn' | 'ignore';
/** Every {@link PolicyAction}. */
export const ACTIONS: readonly PolicyAction[] = Object.freeze(['quarantine', 'warn', 'ignore']);

/**
 * Secret rule ids (lib/engine/checks/secrets/rules.ts) by category, so a policy can say "every cloud
 * credential" and stay right when a rule is added to a category. A test asserts every rule of
 * `SECRET_RULES` is listed here exactly once: a new rule forces a decision about its category.
 *
 * - `private-key`: PEM / OpenSSH / PGP private keys;
 * - `cloud-credential`: keys that act on a cloud account (AWS, GCP service accounts, Azure storage);
 * - `token`: API tokens of code hosts, chat and package registries (GitHub, Slack, npm);
 * - `webhook`: URLs that only post messages (Slack incoming webhooks);
 * - `generic`: `password = …` style assignments (the noisiest rule in every scanner).
 * `private-key` is both a category and a rule id; in a policy it means the category (which holds the
 * rule), so listing it can only quarantine more.
 */
export const SECRET_CATEGORIES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'private-key': ['private-key', 'pgp-private-key'],
  'cloud-credential': ['aws-access-key-id', 'aws-secret-access-key', 'gcp-service-account', 'azure-storage-connection-string'],
  token: ['github-token', 'github-fine-grained-pat', 'slack-token', 'npm-token'],
  webhook: ['slack-webhook-url'],
  generic: ['generic-secret'],
});

/**
 * The category of a secret finding whose rule id is in no category above — a report from a newer
 * scanner with rules this engine does not know. The default policy quarantines it: an unknown kind
 * of leaked credential is not a reason to trust (DESIGN.md "Fail closed").
 */
export const UNKNOWN_SECRET_CATEGORY = 'unknown';

/** Every category name a policy may list (`unknown` included). */
export const SECRET_CATEGORY_NAMES: readonly string[] = Object.freeze([...Object.keys(SECRET_CATEGORIES), UNKNOWN_SECRET_CATEGORY]);

/** Every secret rule id a policy may list. */
export const SECRET_RULE_IDS: readonly string[] = Object.freeze(Object.values(SECRET_CATEGORIES).flat());

/** The category of a secret rule id ({@link UNKNOWN_SECRET_CATEGORY} for ids not listed). */
export function secretCategory(ruleId: string): string {
  for (const [category, ids] of Object.entries(SECRET_CATEGORIES)) if (ids.includes(ruleId)) return category;
  return UNKNOWN_SECRET_CATEGORY;
}

/**
 * Misconfiguration rule ids a policy may name (`TC-MC-001`…), read from the check's own list so that
 * a policy naming a rule this engine does not have is an error, not a silent no-op.
 */
export const MISCONFIG_RULE_IDS: readonly string[] = Object.freeze(MISCONFIG_RULES.map((r) => r.id));

/** Base-image finding ids: untrusted base (`TC-BI-001`) and outdated base (`TC-BI-002`). */
export const BASE_IMAGE_IDS = Object.freeze({ untrusted: BASE_NOT_TRUSTED.id, outdated: BASE_OUTDATED.id });
