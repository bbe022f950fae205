import {
  ACTIONS, MISCONFIG_RULE_IDS, POLICY_API_VERSION, SECRET_CATEGORY_NAMES, SECRET_RULE_IDS, SEVERITIES,
} from './vocabulary';
import { UNKNOWN_CLASSES } from '../model';

/**
 * JSON Schemas (draft-07, what editors' YAML language servers read) of the policy file and of a
 * separate exceptions file. They are for editing — completion, hover text, red squiggles — and are
 * built from the same vocabulary as the parser (vocabulary.ts). The parser (schema.ts) stays the
 * authority: it also checks what a schema cannot say well (a date that does not exist, a purl that
 * does not parse, the line of each problem), and it needs no schema validator at run time.
 *
 * Tests validate the default policy and a set of bad ones with ajv against these objects and assert
 * they agree with the parser.
 */

/** A `registry/repository` pattern (patterns.ts `repositoryPatternProblem`, as one regular expression). */
const REPOSITORY_PATTERN =
  '^(?=[^/]*[.:*]|localhost/)(?![^/]*\\*\\*)(?!.*\\*{3})' +
  '[A-Za-z0-9*](?:[A-Za-z0-9*-]*[A-Za-z0-9*])?(?:\\.[A-Za-z0-9*](?:[A-Za-z0-9*-]*[A-Za-z0-9*])?)*(?::[0-9]{1,5})?' +
  '/[a-z0-9._*-]+(?:/[a-z0-9._*-]+)*$';

const DEFINITIONS = {
  severity: { type: 'string', enum: [...SEVERITIES] },
  action: { type: 'string', enum: [...ACTIONS], description: 'quarantine: the image is not trusted; warn: trusted, with a warning; ignore: no effect.' },
  repositoryPattern: {
    type: 'string',
    minLength: 1,
    maxLength: 512,
    pattern: REPOSITORY_PATTERN,
    description: 'registry/repository; in the host `*` matches within one DNS label, in the repository `*` within one component and `**` across components. Docker Hub is docker.io/library/<name>.',
  },
  exception: {
    type: 'object',
    description: 'A time-boxed, owned acceptance of a finding, a package, or a class of unknown (what a scan could not examine) for some images. Never lifts malware or a scan that could not be read to the end.',
    additionalProperties: false,
    required: ['scope', 'reason', 'expires'],
    anyOf: [
      { required: ['finding'], not: { required: ['unknown'] } },
      { required: ['package'], not: { required: ['unknown'] } },
      { required: ['unknown'], not: { anyOf: [{ required: ['finding'] }, { required: ['package'] }] } },
    ],
    dependencies: { consumer: ['unknown'] },
    properties: {
      scope: {
        description: 'Which images: exactly one of digest, repository, all.',
        oneOf: [
          { type: 'object', additionalProperties: false, required: ['digest'], properties: { digest: { type: 'string', pattern: '^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$' } } },
          { type: 'object', additionalProperties: false, required: ['repository'], properties: { repository: { $ref: '#/definitions/repositoryPattern' } } },
          { type: 'object', additionalProperties: false, required: ['all'], properties: { all: { const: true } } },
        ],
      },
      finding: { type: 'string', minLength: 1, maxLength: 256, description: 'A finding id or alias (CVE-…, GHSA-…, TC-MC-001, a secret rule id).' },
      package: { type: 'string', minLength: 1, maxLength: 1024, description: 'A purl (pkg:type/[namespace/]name[@version]; no version = every version) or a package name.' },
      unknown: {
        enum: UNKNOWN_CLASSES.filter((c) => c !== 'note'),
        description: 'A class of unknown accepted for the images in scope (cut-by-cap, scanner-unavailable, …): what the scan could not examine, relaxed with a reason and an expiry.',
      },
      consumer: { type: 'string', minLength: 1, maxLength: 256, description: 'With unknown: only unknowns of this cataloger or check (clamd, dpkg, …).' },
      owner: { type: 'string', minLength: 1, maxLength: 256 },
      reason: { type: 'string', minLength: 1, maxLength: 4096, pattern: '\\S' },
      expires: {
        type: 'string',
        description: 'YYYY-MM-DD (ends at 00:00 UTC that day) or an RFC 3339 date-time with a time zone.',
        pattern: '^\\d{4}-\\d{2}-\\d{2}(?:[Tt]\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:[Zz]|[+-]\\d{2}:\\d{2}))?$',
        anyOf: [{ format: 'date' }, { format: 'date-time' }],
      },
    },
  },
  exceptions: { type: ['array', 'null'], items: { $ref: '#/definitions/exception' } },
  metadata: {
    type: 'object',
    additionalProperties: false,
    properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, description: { type: 'string', minLength: 1, maxLength: 4096 } },
  },
} as const;

const severityMap = { type: 'object', additionalProperties: false, properties: Object.fromEntries(SEVERITIES.map((s) => [s, { $ref: '#/definitions/action' }])) };

/** The JSON Schema (draft-07) of a policy file (`kind: Policy`). */
export const POLICY_JSON_SCHEMA = Object.freeze({
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:trustctl:schema:policy:v1',
  title: 'trustctl policy',
  description: 'Which findings quarantine an image. Omitted rules take the default policy\'s values.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  definitions: DEFINITIONS,
  properties: {
    apiVersion: { const: POLICY_API_VERSION },
    kind: { const: 'Policy' },
    metadata: { $ref: '#/definitions/metadata' },
    rules: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        unscannable: { const: 'quarantine', description: 'Baseline: an image that cannot be read to the end is always quarantined.' },
        malware: { const: 'quarantine', description: 'Baseline: malware always quarantines.' },
        vulnerabilities: {
          type: 'object',
          additionalProperties: false,
          properties: {
            severities: { type: 'array', items: { $ref: '#/definitions/severity' }, description: 'Severities that quarantine.' },
            onlyWithFix: { type: 'boolean', description: 'Quarantine only when a fixed version exists; otherwise warn.' },
            maxAdvisoryAgeDays: {
              type: 'integer', minimum: 0, maximum: 3650,
              description: 'Grace period: an advisory quarantines only once published at least this many days ago; a younger one warns.',
            },
            unknownSeverityAs: {
              allOf: [{ $ref: '#/definitions/severity' }],
              description: 'The severity a vulnerability no source rates (no NVD record, CVSS, database or distribution rating) is judged as. Default high: unknown is not low. `unknown` leaves it unknown.',
            },
            knownExploited: {
              type: 'string', enum: ['quarantine', 'warn'],
              description: 'A vulnerability in CISA\'s Known Exploited Vulnerabilities catalog: quarantine (default) whatever its severity, fix state or grace period, or warn at least.',
            },
          },
        },
        secrets: {
          type: 'object',
          additionalProperties: false,
          properties: {
            quarantine: { type: 'array', items: { type: 'string', enum: [...new Set([...SECRET_CATEGORY_NAMES, ...SECRET_RULE_IDS])] }, description: 'Secret categories or rule ids that quarantine.' },
            others: { type: 'string', enum: ['warn', 'ignore'] },
          },
        },
        misconfig: {
          type: 'object',
          additionalProperties: false,
          properties: {
            bySeverity: severityMap,
            byId: {
              type: ['object', 'null'],
              additionalProperties: false,
              properties: Object.fromEntries(MISCONFIG_RULE_IDS.map((id) => [id, { $ref: '#/definitions/action' }])),
            },
          },
        },
        baseImage: {
          type: 'object',
          additionalProperties: false,
          properties: {
            untrusted: { type: 'string', enum: ['quarantine', 'warn'], description: 'TC-BI-001: base image not from a trusted source.' },
            outdated: { type: 'string', enum: ['quarantine', 'warn'], description: 'TC-BI-002: a newer trusted digest of the base exists.' },
          },
        },
        registries: {
          type: 'object',
          additionalProperties: false,
          required: ['trusted'],
          properties: { trusted: { type: 'array', minItems: 1, items: { $ref: '#/definitions/repositoryPattern' } } },
        },
        feeds: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxStaleHours: { type: 'number', exclusiveMinimum: 0, maximum: 8784, description: 'Hours since the last successful sync of a feed (not the age of its records).' },
            action: { type: 'string', enum: ['warn', 'quarantine'] },
          },
        },
      },
    },
    exceptions: { $ref: '#/definitions/exceptions' },
  },
});

/** The JSON Schema (draft-07) of an exceptions file (`kind: PolicyExceptions`). */
export const POLICY_EXCEPTIONS_JSON_SCHEMA = Object.freeze({
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:trustctl:schema:policy-exceptions:v1',
  title: 'trustctl policy exceptions',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'exceptions'],
  definitions: DEFINITIONS,
  properties: {
    apiVersion: { const: POLICY_API_VERSION },
    kind: { const: 'PolicyExceptions' },
    metadata: { $ref: '#/definitions/metadata' },
    exceptions: { type: 'array', items: { $ref: '#/definitions/exception' } },
  },
});
