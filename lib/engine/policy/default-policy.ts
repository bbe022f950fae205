import { parsePolicy, type Policy } from './schema';

/**
 * default-policy.yaml as a string constant, so that the default policy ships inside a bundled CLI or
 * Lambda (esbuild does not copy YAML files) and is never read from disk at run time. A test holds
 * this text byte-for-byte equal to default-policy.yaml: edit the YAML file, then paste it here.
 */
export const DEFAULT_POLICY_YAML = `# The default trustctl policy: the one used when no policy file is given, and what every key a
# policy file omits falls back to. Copy it as a starting point for your own.
#
# Editors: the JSON Schema is POLICY_JSON_SCHEMA (lib/engine/policy/json-schema.ts).
apiVersion: trustctl/v1
kind: Policy
metadata:
  name: default
  description: >-
    Quarantine malware, leaked keys and credentials, critical or high vulnerabilities that have a
    fix (a severity no source knows counts as high), known-exploited vulnerabilities, and anything
    that could not be scanned; trust the rest, warning about misconfigurations, base images and
    stale vulnerability feeds.
rules:
  # Baseline, not configurable: an image that could not be read to the end (a cap hit, a corrupt
  # layer, no vulnerability data at all) is never trusted, and neither is one carrying malware.
  # No exception lifts either.
  unscannable: quarantine
  malware: quarantine

  vulnerabilities:
    # Severities that quarantine.
    severities: [critical, high]
    # Only when a fixed version exists: a listed severity without a fix warns instead, because the
    # team cannot act on it yet (add an exception if you accept the risk for longer).
    onlyWithFix: true
    # Grace period, off by default: an advisory quarantines only once it was published at least
    # this many days ago; a younger one warns. A finding without a publication date gets no grace.
    # maxAdvisoryAgeDays: 7
    # A vulnerability no source rates (no NVD record, no CVSS vector, no database or distribution
    # rating) counts as this severity: unknown is not low. With a fix it quarantines like a high one;
    # the verdict says the severity was assumed. critical | high | medium | low | unknown (keep it
    # unknown: then only \`severities\` listing unknown quarantines it).
    unknownSeverityAs: high
    # Listed in CISA's Known Exploited Vulnerabilities catalog (synced with \`feeds sync\`): attackers
    # use it now, so it quarantines whatever its severity, fix state or grace period (an exception
    # can still accept it, owned and time-boxed). quarantine | warn.
    knownExploited: quarantine

  secrets:
    # Categories (private-key, cloud-credential, token, webhook, generic, unknown) or rule ids
    # (aws-access-key-id, github-token, …) that quarantine. \`unknown\` is a secret rule this version
    # of trustctl does not know (a newer scanner's report): an unknown credential is not trusted.
    quarantine: [private-key, cloud-credential, token, unknown]
    # Every other secret finding (Slack webhooks, generic \`password = …\` assignments): warn | ignore.
    others: warn

  misconfig:
    # The action per severity (quarantine | warn | ignore) for rules not listed in byId.
    bySeverity: { critical: warn, high: warn, medium: warn, low: warn, unknown: warn }
    # Per rule, e.g. TC-MC-001 (runs as root): quarantine, TC-MC-007 (no HEALTHCHECK): ignore.
    byId: {}

  baseImage:
    # TC-BI-001, base image not from a trusted source (needs --trusted-bases): quarantine | warn.
    untrusted: warn
    # TC-BI-002, a newer trusted digest of the base exists: warn | quarantine.
    outdated: warn

  # Where images may come from; an image from anywhere else (an archive on disk included) is
  # quarantined. Absent: any registry.
  # registries:
  #   trusted:
  #     - 123456789012.dkr.ecr.*.amazonaws.com/**
  #     - ghcr.io/acme/*

  feeds:
    # Hours since a feed's last successful sync (not the age of its newest record: a quiet
    # ecosystem is still current). A feed that was never synced is stale.
    maxStaleHours: 48
    action: warn

# Exceptions: owned, time-boxed, explained. Expired ones stop applying; unused ones are reported.
exceptions: []
#  - scope: { repository: ghcr.io/acme/payments }   # or { digest: sha256:… } or { all: true }
#    finding: CVE-2024-45337                         # an id or alias; and/or
#    package: pkg:golang/golang.org/x/crypto         # a purl (version optional) or a package name
#    owner: team-payments
#    reason: not reachable; we never call ssh.ServerConfig.PublicKeyCallback
#    expires: 2025-03-31                             # 00:00 UTC that day, or an RFC 3339 date-time
`;

/** The default policy, parsed from {@link DEFAULT_POLICY_YAML} (its rules equal `DEFAULT_RULES`). */
export const DEFAULT_POLICY: Policy = parsePolicy(DEFAULT_POLICY_YAML, 'default-policy.yaml');
