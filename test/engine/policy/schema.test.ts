import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { SECRET_RULES } from '../../../lib/engine/checks/secrets/rules';
import { MISCONFIG_RULES } from '../../../lib/engine/checks/misconfig/rules';
import {
  DEFAULT_POLICY, DEFAULT_POLICY_YAML, DEFAULT_RULES, POLICY_EXCEPTIONS_JSON_SCHEMA, POLICY_JSON_SCHEMA, PolicyError, SECRET_CATEGORIES,
  canonicalPolicy, exceptionExpiry, parseExceptions, parsePolicy, policyHash, withExceptions,
} from '../../../lib/engine/policy';

const HEAD = 'apiVersion: trustctl/v1\nkind: Policy\n';

/** The issues of a policy that must not parse. */
function issuesOf(text: string, parse: (t: string, s?: string) => unknown = parsePolicy): PolicyError['issues'] {
  try {
    parse(text, 'p.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as PolicyError).code).toBe('BAD_POLICY');
    return (e as PolicyError).issues;
  }
  throw new Error('expected a PolicyError');
}

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
addFormats(ajv);
const validatePolicy = ajv.compile(POLICY_JSON_SCHEMA);
const validateExceptions = ajv.compile(POLICY_EXCEPTIONS_JSON_SCHEMA);

describe('the default policy', () => {
  it('default-policy.yaml is byte-for-byte the DEFAULT_POLICY_YAML constant that ships in the bundle', () => {
    expect(readFileSync(join(__dirname, '../../../lib/engine/policy/default-policy.yaml'), 'utf8')).toBe(DEFAULT_POLICY_YAML);
  });

  it('states exactly DEFAULT_RULES, with no exceptions', () => {
    expect(DEFAULT_POLICY.rules).toEqual(DEFAULT_RULES);
    expect(DEFAULT_POLICY.exceptions).toEqual([]);
    expect(DEFAULT_POLICY.metadata?.name).toBe('default');
  });

  it('quarantines malware, key/credential secrets, critical/high with a fix, unscannable; warns on the rest', () => {
    const r = DEFAULT_RULES;
    expect([r.unscannable, r.malware]).toEqual(['quarantine', 'quarantine']);
    expect(r.vulnerabilities).toEqual({ severities: ['critical', 'high'], onlyWithFix: true, unknownSeverityAs: 'high', knownExploited: 'quarantine' });
    expect(r.secrets).toEqual({ quarantine: ['private-key', 'cloud-credential', 'token', 'unknown'], others: 'warn' });
    expect(Object.values(r.misconfig.bySeverity)).toEqual(['warn', 'warn', 'warn', 'warn', 'warn']);
    expect(r.baseImage).toEqual({ untrusted: 'warn', outdated: 'warn' });
    expect(r.registries).toBeUndefined();
    expect(r.feeds).toEqual({ maxStaleHours: 48, action: 'warn' });
  });

  it('a policy with only apiVersion and kind is the default policy (same rules, same hash)', () => {
    const p = parsePolicy(HEAD);
    expect(p.rules).toEqual(DEFAULT_RULES);
    expect(policyHash(p)).toBe(policyHash(DEFAULT_POLICY));
  });

  it('omitted keys take the default, key by key', () => {
    const p = parsePolicy(`${HEAD}rules:\n  vulnerabilities:\n    severities: [critical]\n  misconfig:\n    bySeverity: { high: quarantine }\n`);
    expect(p.rules.vulnerabilities).toEqual({ severities: ['critical'], onlyWithFix: true, unknownSeverityAs: 'high', knownExploited: 'quarantine' });
    expect(p.rules.misconfig.bySeverity).toEqual({ critical: 'warn', high: 'quarantine', medium: 'warn', low: 'warn', unknown: 'warn' });
    expect(p.rules.secrets).toEqual(DEFAULT_RULES.secrets);
  });
});

describe('parsePolicy: a full policy', () => {
  const FULL = `${HEAD}metadata:
  name: payments
rules:
  unscannable: quarantine
  malware: quarantine
  vulnerabilities:
    severities: [high, critical, medium, high]
    onlyWithFix: false
    maxAdvisoryAgeDays: 7
  secrets:
    quarantine: [token, private-key, aws-access-key-id]
    others: ignore
  misconfig:
    bySeverity: { critical: quarantine, high: quarantine }
    byId: { TC-MC-007: ignore, TC-MC-001: warn }
  baseImage: { untrusted: quarantine, outdated: warn }
  registries:
    trusted: [ghcr.io/acme/*, 123456789012.dkr.ecr.*.amazonaws.com/**]
  feeds: { maxStaleHours: 24, action: quarantine }
exceptions:
  - scope: { digest: sha256:${'a'.repeat(64)} }
    finding: CVE-2024-0001
    owner: team-payments
    reason: not reachable
    expires: 2025-07-01
  - scope: { repository: ghcr.io/acme/* }
    package: pkg:npm/lodash
    reason: patched in our fork
    expires: 2025-07-01T12:00:00Z
  - scope: { all: true }
    finding: GHSA-xxxx-yyyy-zzzz
    package: lodash
    reason: disputed
    expires: 2025-12-31
`;

  it('reads every rule, normalises sets, and keeps exceptions with their line', () => {
    const p = parsePolicy(FULL, 'full.yaml');
    expect(p.rules.vulnerabilities).toEqual({ severities: ['critical', 'high', 'medium'], onlyWithFix: false, maxAdvisoryAgeDays: 7, unknownSeverityAs: 'high', knownExploited: 'quarantine' });
    expect(p.rules.secrets).toEqual({ quarantine: ['token', 'private-key', 'aws-access-key-id'], others: 'ignore' });
    expect(p.rules.misconfig.byId).toEqual({ 'TC-MC-001': 'warn', 'TC-MC-007': 'ignore' });
    expect(p.rules.registries?.trusted).toEqual(['ghcr.io/acme/*', '123456789012.dkr.ecr.*.amazonaws.com/**']);
    expect(p.rules.feeds).toEqual({ maxStaleHours: 24, action: 'quarantine' });
    expect(p.exceptions.map((e) => [e.line, e.source, e.scope])).toEqual([
      [23, 'full.yaml', { digest: `sha256:${'a'.repeat(64)}` }],
      [28, 'full.yaml', { repository: 'ghcr.io/acme/*' }],
      [32, 'full.yaml', { all: true }],
    ]);
    expect(p.exceptions[0]).toMatchObject({ finding: 'CVE-2024-0001', owner: 'team-payments', reason: 'not reachable', expires: '2025-07-01' });
    expect(p.source).toBe('full.yaml');
  });

  it('the JSON Schema accepts it too', () => {
    expect(validatePolicy(parseYaml(FULL))).toBe(true);
  });

  it('an empty exceptions: or byId: (every entry commented out) is empty, not an error', () => {
    const p = parsePolicy(`${HEAD}rules:\n  misconfig:\n    byId:\n    # TC-MC-001: quarantine\nexceptions:\n#  - scope: { all: true }\n`);
    expect(p.exceptions).toEqual([]);
    expect(p.rules.misconfig.byId).toEqual({});
  });
});

/** [name, policy text, [path, line, message pattern][] (at least these), the JSON Schema rejects it too] */
const INVALID: readonly (readonly [string, string, readonly (readonly [string, number | undefined, RegExp])[], boolean])[] = [
  ['exception without a reason', `${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    expires: 2025-01-01\n`,
    [['exceptions[0].reason', 4, /reason is required/]], true],
  ['exception with an empty reason', `${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason:\n    expires: 2025-01-01\n`,
    [['exceptions[0].reason', 6, /reason is required/]], true],
  ['exception without an expiry', `${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason: fine\n`,
    [['exceptions[0].expires', 4, /expires is required/]], true],
  ['exception expiring on a day that does not exist', `${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason: fine\n    expires: 2025-02-30\n`,
    [['exceptions[0].expires', 7, /date YYYY-MM-DD/]], true],
  ['exception expiring at a local time (no zone)', `${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason: fine\n    expires: 2025-02-01T10:00:00\n`,
    [['exceptions[0].expires', 7, /time zone/]], true],
  ['exception naming neither finding nor package', `${HEAD}exceptions:\n  - scope: { all: true }\n    reason: fine\n    expires: 2025-01-01\n`,
    [['exceptions[0].finding', 4, /finding id and\/or a package/]], true],
  ['exception scope with two kinds', `${HEAD}exceptions:\n  - scope: { all: true, digest: sha256:${'a'.repeat(64)} }\n    finding: CVE-1\n    reason: x\n    expires: 2025-01-01\n`,
    [['exceptions[0].scope', 4, /exactly one of digest, repository, all/]], true],
  ['exception scope all: false', `${HEAD}exceptions:\n  - scope: { all: false }\n    finding: CVE-1\n    reason: x\n    expires: 2025-01-01\n`,
    [['exceptions[0].scope.all', 4, /must be true/]], true],
  ['exception scope with a bad digest', `${HEAD}exceptions:\n  - scope: { digest: sha256:abc }\n    finding: CVE-1\n    reason: x\n    expires: 2025-01-01\n`,
    [['exceptions[0].scope.digest', 4, /sha256:<64 hex>/]], true],
  ['exception scope with a repository but no registry', `${HEAD}exceptions:\n  - scope: { repository: library/alpine }\n    finding: CVE-1\n    reason: x\n    expires: 2025-01-01\n`,
    [['exceptions[0].scope.repository', 4, /registry host/]], true],
  ['exception with a broken purl', `${HEAD}exceptions:\n  - scope: { all: true }\n    package: "pkg:npm"\n    reason: x\n    expires: 2025-01-01\n`,
    [['exceptions[0].package', 5, /not a package URL/]], false],
  ['exception with an unknown key', `${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason: x\n    expire: 2025-01-01\n`,
    [['exceptions[0].expire', 7, /unknown key "expire" \(did you mean expires\?\)/], ['exceptions[0].expires', 4, /expires is required/]], true],
  ['unknown top-level key', `${HEAD}rule:\n  malware: quarantine\n`,
    [['rule', 3, /unknown key "rule" \(did you mean rules\?\)/]], true],
  ['unknown rule', `${HEAD}rules:\n  licenses: { deny: [GPL-3.0] }\n`,
    [['rules.licenses', 4, /unknown key "licenses"/]], true],
  ['unknown key inside a rule', `${HEAD}rules:\n  vulnerabilities:\n    serverities: [high]\n`,
    [['rules.vulnerabilities.serverities', 5, /did you mean severities/]], true],
  ['bad severity', `${HEAD}rules:\n  vulnerabilities:\n    severities: [critical, urgent]\n`,
    [['rules.vulnerabilities.severities[1]', 5, /must be one of critical, high, medium, low, unknown \(got string "urgent"\)/]], true],
  ['malware relaxed', `${HEAD}rules:\n  malware: warn\n`,
    [['rules.malware', 4, /must be quarantine: the baseline rule cannot be relaxed/]], true],
  ['unscannable relaxed', `${HEAD}rules:\n  unscannable: ignore\n`,
    [['rules.unscannable', 4, /baseline rule cannot be relaxed/]], true],
  ['onlyWithFix not a boolean (YAML 1.1 "yes" is a string in the core schema)', `${HEAD}rules:\n  vulnerabilities:\n    onlyWithFix: yes\n`,
    [['rules.vulnerabilities.onlyWithFix', 5, /true or false/]], true],
  ['negative grace period', `${HEAD}rules:\n  vulnerabilities:\n    maxAdvisoryAgeDays: -1\n`,
    [['rules.vulnerabilities.maxAdvisoryAgeDays', 5, /integer at least 0/]], true],
  ['unknownSeverityAs not a severity', `${HEAD}rules:\n  vulnerabilities:\n    unknownSeverityAs: severe\n`,
    [['rules.vulnerabilities.unknownSeverityAs', 5, /must be one of critical, high, medium, low, unknown \(got string "severe"\)/]], true],
  ['knownExploited ignored (not an option: at least warn)', `${HEAD}rules:\n  vulnerabilities:\n    knownExploited: ignore\n`,
    [['rules.vulnerabilities.knownExploited', 5, /must be one of quarantine, warn/]], true],
  ['unknown secret category', `${HEAD}rules:\n  secrets:\n    quarantine: [tokens]\n`,
    [['rules.secrets.quarantine[0]', 5, /secret category .* \(got string "tokens"\) \(did you mean token\?\)/]], true],
  ['unknown misconfiguration rule id', `${HEAD}rules:\n  misconfig:\n    byId: { TC-MC-099: quarantine }\n`,
    [['rules.misconfig.byId.TC-MC-099', 5, /unknown key "TC-MC-099"/]], true],
  ['bad misconfiguration action', `${HEAD}rules:\n  misconfig:\n    bySeverity: { high: block }\n`,
    [['rules.misconfig.bySeverity.high', 5, /one of quarantine, warn, ignore/]], true],
  ['base image ignored (not an option)', `${HEAD}rules:\n  baseImage: { untrusted: ignore }\n`,
    [['rules.baseImage.untrusted', 4, /one of quarantine, warn/]], true],
  ['empty trusted registries', `${HEAD}rules:\n  registries:\n    trusted: []\n`,
    [['rules.registries.trusted', 5, /at least one/]], true],
  ['trusted registry pattern with a tag', `${HEAD}rules:\n  registries:\n    trusted: [ghcr.io/acme/web:latest]\n`,
    [['rules.registries.trusted[0]', 5, /no tag or digest/]], true],
  ['zero maxStaleHours', `${HEAD}rules:\n  feeds: { maxStaleHours: 0 }\n`,
    [['rules.feeds.maxStaleHours', 4, /greater than 0/]], true],
  ['wrong apiVersion', 'apiVersion: trustctl/v2\nkind: Policy\n',
    [['apiVersion', 1, /unsupported apiVersion "trustctl\/v2"/]], true],
  ['missing kind', 'apiVersion: trustctl/v1\n',
    [['kind', 1, /kind is required/]], true],
  ['an exceptions file given as a policy', 'apiVersion: trustctl/v1\nkind: PolicyExceptions\nexceptions: []\n',
    [['kind', 2, /an exceptions file/]], true],
  ['a list instead of a mapping', `${HEAD}rules: [malware]\n`,
    [['rules', 3, /must be a mapping \(got a list\)/]], true],
];

describe('parsePolicy: validation errors name the path and the line', () => {
  it.each(INVALID)('%s', (_name, text, expected) => {
    const issues = issuesOf(text);
    for (const [path, line, message] of expected) {
      expect(issues).toContainEqual(expect.objectContaining({ path, line, message: expect.stringMatching(message) }));
    }
  });

  it.each(INVALID.filter((c) => c[3]))('the JSON Schema rejects it too: %s', (_name, text) => {
    expect(validatePolicy(parseYaml(text))).toBe(false);
  });

  it('reports every problem at once, in document order, with file:line:column in the message', () => {
    const text = `${HEAD}rules:\n  malware: warn\n  vulnerabilities:\n    severities: [urgent]\nexceptions:\n  - scope: { all: true }\n    finding: CVE-1\n`;
    let err: PolicyError | undefined;
    try {
      parsePolicy(text, 'team.yaml');
    } catch (e) {
      err = e as PolicyError;
    }
    expect(err?.issues.map((i) => [i.path, i.line])).toEqual([
      ['rules.malware', 4], ['rules.vulnerabilities.severities[0]', 6], ['exceptions[0].reason', 8], ['exceptions[0].expires', 8],
    ]);
    expect(err?.message.split('\n')[0]).toBe('team.yaml:4:12: rules.malware: must be quarantine: the baseline rule cannot be relaxed (an unreadable or infected image is never trusted) (got string "warn")');
  });

  const SYNTAX: readonly (readonly [string, string, number, RegExp])[] = [
    ['a YAML syntax error', `${HEAD}rules:\n  vulnerabilities: { severities: [high }\n`, 4, /invalid YAML/],
    ['a duplicate key', `${HEAD}kind: Policy\n`, 3, /invalid YAML: Map keys must be unique/],
    ['two documents', `${HEAD}---\n${HEAD}`, 3, /invalid YAML: Source contains multiple documents/],
    ['an unknown tag', `${HEAD}rules: !include other.yaml\n`, 3, /invalid YAML: Unresolved tag/],
  ];
  it.each(SYNTAX)('%s is an error with its line', (_name, text, line, message) => {
    const issues = issuesOf(text);
    expect(issues[0]).toEqual(expect.objectContaining({ line, message: expect.stringMatching(message) }));
  });

  it('an empty document, an oversized one and an alias bomb are refused', () => {
    expect(issuesOf('')[0].message).toMatch(/empty/);
    expect(issuesOf(`${HEAD}# ${'x'.repeat(1024 * 1024)}\n`)[0].message).toMatch(/larger than/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(issuesOf(`${HEAD}${bomb}\n`)[0].message).toMatch(/invalid YAML/);
  });
});

describe('exceptions in a separate file', () => {
  const FILE = `apiVersion: trustctl/v1
kind: PolicyExceptions
exceptions:
  - scope: { repository: ghcr.io/acme/* }
    finding: CVE-2024-0001
    reason: accepted by security review SR-12
    expires: 2025-09-01
`;

  it('parses, keeps its own source and lines, and appends after the policy\'s own', () => {
    const extra = parseExceptions(FILE, 'exceptions.yaml');
    expect(extra).toEqual([{ scope: { repository: 'ghcr.io/acme/*' }, finding: 'CVE-2024-0001', reason: 'accepted by security review SR-12', expires: '2025-09-01', source: 'exceptions.yaml', line: 4 }]);
    const base = parsePolicy(`${HEAD}exceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason: x\n    expires: 2025-01-01\n`);
    const merged = withExceptions(base, extra);
    expect(merged.exceptions.map((e) => e.finding)).toEqual(['CVE-1', 'CVE-2024-0001']);
    expect(validateExceptions(parseYaml(FILE))).toBe(true);
  });

  it('validates like the policy\'s exceptions (missing reason, missing expiry; a policy is not an exceptions file)', () => {
    const issues = issuesOf('apiVersion: trustctl/v1\nkind: PolicyExceptions\nexceptions:\n  - scope: { all: true }\n    package: openssl\n', parseExceptions);
    expect(issues.map((i) => [i.path, i.line])).toEqual([['exceptions[0].reason', 4], ['exceptions[0].expires', 4]]);
    expect(issuesOf(`${HEAD}`, parseExceptions).map((i) => i.path).sort()).toEqual(['exceptions', 'kind']);
    expect(validateExceptions(parseYaml('apiVersion: trustctl/v1\nkind: PolicyExceptions\nexceptions:\n  - scope: { all: true }\n    package: openssl\n'))).toBe(false);
  });
});

describe('exceptionExpiry', () => {
  const CASES: readonly (readonly [string, string | undefined])[] = [
    ['2025-03-31', '2025-03-31T00:00:00.000Z'],
    ['2025-03-31T18:00:00Z', '2025-03-31T18:00:00.000Z'],
    ['2025-03-31T18:00:00+02:00', '2025-03-31T16:00:00.000Z'],
    ['2025-03-31T18:00:00.5Z', '2025-03-31T18:00:00.500Z'],
    ['2025-02-29', undefined],
    ['2025-3-31', undefined],
    ['31/03/2025', undefined],
    ['2025-03-31T18:00:00', undefined],
    ['2025-03-31 18:00:00Z', undefined],
    ['2025-02-30T10:00:00Z', undefined],
    ['2025-03-31T24:00:00Z', undefined],
    ['2025-03-31t18:00:00z', '2025-03-31T18:00:00.000Z'],
  ];
  it.each(CASES)('%s → %s', (input, iso) => expect(exceptionExpiry(input)?.toISOString()).toBe(iso));
});

describe('the JSON Schema', () => {
  it('is draft-07 and accepts the default policy', () => {
    expect(POLICY_JSON_SCHEMA.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(validatePolicy(parseYaml(DEFAULT_POLICY_YAML))).toBe(true);
  });

  it.each([
    ['a registry pattern with a wildcard across DNS labels', { apiVersion: 'trustctl/v1', kind: 'Policy', rules: { registries: { trusted: ['ghcr.**/x'] } } }],
    ['a string for the severities', { apiVersion: 'trustctl/v1', kind: 'Policy', rules: { vulnerabilities: { severities: 'high' } } }],
    ['no apiVersion', { kind: 'Policy' }],
  ])('rejects %s (and so does the parser)', (_name, doc) => {
    expect(validatePolicy(doc)).toBe(false);
    expect(() => parsePolicy(JSON.stringify(doc))).toThrow(PolicyError);
  });

  it('lists exactly the ids and categories the parser accepts', () => {
    const defs = POLICY_JSON_SCHEMA.properties.rules.properties;
    expect(Object.keys(defs.misconfig.properties.byId.properties)).toEqual(MISCONFIG_RULES.map((r) => r.id));
    expect(defs.secrets.properties.quarantine.items.enum).toEqual([...new Set([...Object.keys(SECRET_CATEGORIES), 'unknown', ...Object.values(SECRET_CATEGORIES).flat()])]);
  });
});

describe('secret categories', () => {
  it('every secret rule of the check is in exactly one category, and no category names a rule that does not exist', () => {
    const listed = Object.values(SECRET_CATEGORIES).flat();
    expect([...listed].sort()).toEqual(SECRET_RULES.map((r) => r.id).sort());
    expect(new Set(listed).size).toBe(listed.length);
  });
});

describe('policyHash', () => {
  const A = `${HEAD}rules:
  vulnerabilities:
    severities: [critical, high]
    onlyWithFix: true
  feeds: { maxStaleHours: 24 }
exceptions:
  - scope: { all: true }
    finding: CVE-1
    reason: x
    expires: 2025-01-01
`;
  const SAME: readonly (readonly [string, string])[] = [
    ['keys reordered, comments added', `# our policy\nkind: Policy\nexceptions:\n  - expires: 2025-01-01 # soon\n    reason: x\n    finding: CVE-1\n    scope: { all: true }\nrules:\n  feeds: { maxStaleHours: 24 }\n  vulnerabilities: { onlyWithFix: true, severities: [high, critical] }\napiVersion: trustctl/v1\n`],
    ['defaults written out or left out', `${HEAD}rules:\n  feeds: { maxStaleHours: 24, action: warn }\n  malware: quarantine\nexceptions:\n  - scope: { all: true }\n    finding: CVE-1\n    reason: x\n    expires: 2025-01-01\n`],
    ['metadata and blank lines', `${HEAD}metadata: { name: other name }\n\n${A.slice(HEAD.length)}\n\n`],
    ['JSON instead of YAML', JSON.stringify({ apiVersion: 'trustctl/v1', kind: 'Policy', rules: { feeds: { maxStaleHours: 24 } }, exceptions: [{ scope: { all: true }, finding: 'CVE-1', reason: 'x', expires: '2025-01-01' }] })],
  ];
  const DIFFERENT: readonly (readonly [string, string])[] = [
    ['a severity removed', A.replace('[critical, high]', '[critical]')],
    ['onlyWithFix flipped', A.replace('onlyWithFix: true', 'onlyWithFix: false')],
    ['maxStaleHours changed', A.replace('maxStaleHours: 24', 'maxStaleHours: 25')],
    ['an exception\'s expiry moved', A.replace('2025-01-01', '2025-01-02')],
    ['an exception\'s reason edited', A.replace('reason: x', 'reason: y')],
    ['an exception removed', A.slice(0, A.indexOf('exceptions:'))],
  ];
  const hashA = policyHash(parsePolicy(A, 'a.yaml'));

  it('is sha256:<64 hex>', () => expect(hashA).toMatch(/^sha256:[a-f0-9]{64}$/));
  it.each(SAME)('stays the same: %s', (_name, text) => expect(policyHash(parsePolicy(text, 'elsewhere.yaml'))).toBe(hashA));
  it.each(DIFFERENT)('changes: %s', (_name, text) => expect(policyHash(parsePolicy(text))).not.toBe(hashA));

  it('changes when exceptions come from a separate file', () => {
    const p = parsePolicy(A);
    const extra = parseExceptions('apiVersion: trustctl/v1\nkind: PolicyExceptions\nexceptions:\n  - scope: { all: true }\n    package: openssl\n    reason: y\n    expires: 2025-02-01\n');
    expect(policyHash(withExceptions(p, extra))).not.toBe(hashA);
    expect(canonicalPolicy(withExceptions(p, extra))).not.toContain('"line"');
  });
});
