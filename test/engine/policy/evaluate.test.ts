import type { Finding, Unknown } from '../../../lib/engine/model';
import { baselineVerdict, DEFAULT_POLICY, evaluatePolicy, evaluatePolicyDetailed, type Policy, type PolicyInput, type PolicyVerdict } from '../../../lib/engine/policy';
import type { FeedInfo } from '../../../lib/engine/scan-image';
import {
  baseImage, DIGEST, finding, FRESH_FEEDS, INDEX_DIGEST, malware, misconfig, NOW, OTHER_DIGEST, policyOf, REF, secret, unscannable, vuln,
} from './harness';

function judge(policy: Policy, findings: readonly Finding[], over: Partial<PolicyInput> = {}): PolicyVerdict {
  return evaluatePolicy(policy, { ref: REF, digest: DIGEST, findings, feeds: FRESH_FEEDS, now: NOW, ...over });
}

/** `quarantined:<rule>`, `trusted+warn:<rule>`, `trusted`: the status and the rule that decided. */
function outcome(v: PolicyVerdict): string {
  if (v.status === 'quarantined') return `quarantined:${[...new Set(v.reasons.map((r) => r.rule))].join(',')}`;
  return v.warnings.length > 0 ? `trusted+warn:${[...new Set(v.warnings.map((r) => r.rule))].join(',')}` : 'trusted';
}

describe('evaluatePolicy: each rule quarantines and does not', () => {
  /** [name, rules (YAML under `rules:`; '' = default policy), findings, outcome] */
  const CASES: readonly (readonly [string, string, readonly Finding[], string])[] = [
    ['no findings', '', [], 'trusted'],
    ['unscannable (baseline)', '', [unscannable()], 'quarantined:unscannable'],
    ['no vulnerability data is unscannable too', '', [unscannable('NO_VULNERABILITY_DATA')], 'quarantined:unscannable'],
    ['malware (baseline)', '', [malware()], 'quarantined:malware'],
    ['critical with a fix', '', [vuln('CVE-1', 'critical', { fixedIn: '1.0.1' })], 'quarantined:vulnerabilities'],
    ['high with a fix', '', [vuln('CVE-1', 'high', { fixedIn: '1.0.1' })], 'quarantined:vulnerabilities'],
    ['medium with a fix: ignored by default', '', [vuln('CVE-1', 'medium', { fixedIn: '1.0.1' })], 'trusted'],
    // Issue 14: unknown is not low — a severity no source knows counts as high (vulnerabilities.unknownSeverityAs).
    ['unknown severity with a fix: quarantined by default (unknownSeverityAs: high)', '', [vuln('CVE-1', 'unknown', { fixedIn: '1.0.1' })], 'quarantined:vulnerabilities'],
    ['unknown severity without a fix: warns by default (onlyWithFix)', '', [vuln('CVE-1', 'unknown')], 'trusted+warn:vulnerabilities'],
    ['unknownSeverityAs: low → unknown severity with a fix is ignored', 'vulnerabilities: { unknownSeverityAs: low }', [vuln('CVE-1', 'unknown', { fixedIn: '1.0.1' })], 'trusted'],
    ['unknownSeverityAs: unknown + severities [.., unknown] → quarantines', 'vulnerabilities: { unknownSeverityAs: unknown, severities: [critical, high, unknown] }', [vuln('CVE-1', 'unknown', { fixedIn: '1' })], 'quarantined:vulnerabilities'],
    ['unknownSeverityAs: unknown → ignored', 'vulnerabilities: { unknownSeverityAs: unknown }', [vuln('CVE-1', 'unknown', { fixedIn: '1' })], 'trusted'],
    ['unknownSeverityAs: critical + severities [critical] → quarantines', 'vulnerabilities: { unknownSeverityAs: critical, severities: [critical] }', [vuln('CVE-1', 'unknown', { fixedIn: '1' })], 'quarantined:vulnerabilities'],
    ['onlyWithFix: critical without a fix warns', '', [vuln('CVE-1', 'critical')], 'trusted+warn:vulnerabilities'],
    ['onlyWithFix: false → critical without a fix quarantines', 'vulnerabilities: { onlyWithFix: false }', [vuln('CVE-1', 'critical')], 'quarantined:vulnerabilities'],
    ['severities [critical]: high with a fix is ignored', 'vulnerabilities: { severities: [critical] }', [vuln('CVE-1', 'high', { fixedIn: '2' })], 'trusted'],
    ['severities [medium]: medium with a fix quarantines', 'vulnerabilities: { severities: [medium] }', [vuln('CVE-1', 'medium', { fixedIn: '2' })], 'quarantined:vulnerabilities'],
    ['severities []: nothing quarantines', 'vulnerabilities: { severities: [] }', [vuln('CVE-1', 'critical', { fixedIn: '2' })], 'trusted'],
    ['an AWS key (cloud-credential)', '', [secret('aws-access-key-id')], 'quarantined:secrets'],
    ['a private key', '', [secret('private-key')], 'quarantined:secrets'],
    ['a GitHub token', '', [secret('github-token')], 'quarantined:secrets'],
    ['a secret rule this engine does not know (category unknown)', '', [secret('stripe-live-key')], 'quarantined:secrets'],
    ['a generic password assignment warns', '', [secret('generic-secret', 'medium')], 'trusted+warn:secrets'],
    ['a Slack webhook warns', '', [secret('slack-webhook-url', 'medium')], 'trusted+warn:secrets'],
    ['secrets.others: ignore', 'secrets: { others: ignore }', [secret('generic-secret', 'medium')], 'trusted'],
    ['secrets.quarantine by rule id', 'secrets: { quarantine: [github-token] }', [secret('github-token'), secret('aws-access-key-id')], 'quarantined:secrets'],
    ['secrets.quarantine by rule id leaves the others to warn', 'secrets: { quarantine: [github-token] }', [secret('aws-access-key-id')], 'trusted+warn:secrets'],
    ['secrets.quarantine [generic]', 'secrets: { quarantine: [generic] }', [secret('generic-secret', 'medium')], 'quarantined:secrets'],
    ['misconfig warns by default', '', [misconfig('TC-MC-001', 'high')], 'trusted+warn:misconfig'],
    ['misconfig.byId quarantine', 'misconfig: { byId: { TC-MC-001: quarantine } }', [misconfig('TC-MC-001', 'high')], 'quarantined:misconfig'],
    ['misconfig.byId ignore', 'misconfig: { byId: { TC-MC-007: ignore } }', [misconfig('TC-MC-007', 'low')], 'trusted'],
    ['misconfig.bySeverity high: quarantine', 'misconfig: { bySeverity: { high: quarantine } }', [misconfig('TC-MC-003', 'high')], 'quarantined:misconfig'],
    ['misconfig.bySeverity high: quarantine leaves low to warn', 'misconfig: { bySeverity: { high: quarantine } }', [misconfig('TC-MC-007', 'low')], 'trusted+warn:misconfig'],
    ['misconfig.byId wins over bySeverity', 'misconfig: { bySeverity: { high: quarantine }, byId: { TC-MC-001: warn } }', [misconfig('TC-MC-001', 'high')], 'trusted+warn:misconfig'],
    ['untrusted base warns by default', '', [baseImage('TC-BI-001', 'high')], 'trusted+warn:baseImage'],
    ['outdated base warns by default', '', [baseImage('TC-BI-002', 'medium')], 'trusted+warn:baseImage'],
    ['baseImage.untrusted: quarantine', 'baseImage: { untrusted: quarantine }', [baseImage('TC-BI-001', 'high')], 'quarantined:baseImage'],
    ['baseImage.untrusted: quarantine leaves outdated to warn', 'baseImage: { untrusted: quarantine }', [baseImage('TC-BI-002', 'medium')], 'trusted+warn:baseImage'],
    ['baseImage.outdated: quarantine', 'baseImage: { outdated: quarantine }', [baseImage('TC-BI-002', 'medium')], 'quarantined:baseImage'],
    ['an unknown base-image id is judged as untrusted', 'baseImage: { untrusted: quarantine }', [baseImage('TC-BI-009', 'low')], 'quarantined:baseImage'],
    ['a finding type this engine does not know (fail closed)', '', [finding('license', 'GPL-3.0')], 'quarantined:unknownFinding'],
  ];
  it.each(CASES)('%s', (_name, rules, findings, want) => {
    expect(outcome(judge(rules === '' ? DEFAULT_POLICY : policyOf(rules), findings))).toBe(want);
  });
});

describe('evaluatePolicy: maxAdvisoryAgeDays (grace period)', () => {
  const GRACE = policyOf('vulnerabilities: { maxAdvisoryAgeDays: 7 }');
  const daysAgo = (n: number): string => new Date(NOW.getTime() - n * 24 * 3600 * 1000).toISOString();
  /** [name, policy, finding, outcome] */
  const CASES: readonly (readonly [string, Policy, Finding, string])[] = [
    ['published 3 days ago: within the grace period, warns', GRACE, vuln('CVE-1', 'critical', { fixedIn: '2', published: daysAgo(3) }), 'trusted+warn:vulnerabilities'],
    ['published 10 days ago: quarantines', GRACE, vuln('CVE-1', 'critical', { fixedIn: '2', published: daysAgo(10) }), 'quarantined:vulnerabilities'],
    ['published exactly 7 days ago: the grace is over', GRACE, vuln('CVE-1', 'critical', { fixedIn: '2', published: daysAgo(7) }), 'quarantined:vulnerabilities'],
    ['no publication date: no grace (fail closed)', GRACE, vuln('CVE-1', 'critical', { fixedIn: '2' }), 'quarantined:vulnerabilities'],
    ['an unreadable publication date: no grace', GRACE, vuln('CVE-1', 'critical', { fixedIn: '2', published: 'last week' }), 'quarantined:vulnerabilities'],
    ['no grace period set: a day-old advisory quarantines', DEFAULT_POLICY, vuln('CVE-1', 'critical', { fixedIn: '2', published: daysAgo(1) }), 'quarantined:vulnerabilities'],
    ['a young advisory below the severities is still ignored', GRACE, vuln('CVE-1', 'low', { fixedIn: '2', published: daysAgo(1) }), 'trusted'],
  ];
  it.each(CASES)('%s', (_name, policy, f, want) => expect(outcome(judge(policy, [f]))).toBe(want));

  it('the warning says why', () => {
    const v = judge(GRACE, [vuln('CVE-1', 'high', { fixedIn: '2', published: daysAgo(3) })]);
    expect(v.warnings[0].message).toMatch(/within the 7-day grace period/);
  });
});

describe('evaluatePolicy: registries', () => {
  const ECR = '123456789012.dkr.ecr.*.amazonaws.com/**';
  /** [name, trusted patterns, ref, trusted?] */
  const CASES: readonly (readonly [string, readonly string[], string, boolean])[] = [
    ['a repository matched by *', ['ghcr.io/acme/*'], 'ghcr.io/acme/web:1.0', true],
    ['another organisation on the same registry', ['ghcr.io/acme/*'], 'ghcr.io/other/web:1.0', false],
    ['* stays within one path component', ['ghcr.io/acme/*'], 'ghcr.io/acme/team/web:1.0', false],
    ['** crosses path components', ['ghcr.io/acme/**'], 'ghcr.io/acme/team/web:1.0', true],
    ['a look-alike host', ['ghcr.io/acme/*'], 'ghcr.io.evil.example/acme/web:1.0', false],
    ['ECR in any region', [ECR], `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:${'d'.repeat(64)}`, true],
    ['ECR: * in a host is one DNS label', [ECR], '123456789012.dkr.ecr.x.evil.amazonaws.com/team/app:1', false],
    ['ECR of another account', [ECR], '999999999999.dkr.ecr.eu-west-1.amazonaws.com/team/app:1', false],
    ['Docker Hub short name against docker.io/library/*', ['docker.io/library/*'], 'alpine:3.19', true],
    ['Docker Hub short pattern docker.io/alpine', ['docker.io/alpine'], 'alpine:3.19', true],
    ['Docker Hub user image is not library/', ['docker.io/library/*'], 'bitnami/redis:7', false],
    ['registry host case does not matter', ['ghcr.io/acme/*'], 'GHCR.IO/acme/web:1', true],
    ['a docker-archive target cannot be vouched for', ['ghcr.io/acme/*'], 'docker-archive:/tmp/web.tar', false],
    ['an oci layout target cannot be vouched for', ['ghcr.io/acme/*'], 'oci:web', false],
    ['a second pattern matches', ['ghcr.io/acme/*', 'registry.example.com:5000/**'], 'registry.example.com:5000/x/y:1', true],
  ];
  it.each(CASES)('%s', (_name, trusted, ref, ok) => {
    const p = policyOf(`registries:\n  trusted: [${trusted.map((t) => JSON.stringify(t)).join(', ')}]`);
    expect(outcome(judge(p, [], { ref }))).toBe(ok ? 'trusted' : 'quarantined:registries');
  });

  it('without a registries rule any registry is accepted', () => {
    expect(outcome(judge(DEFAULT_POLICY, [], { ref: 'docker-archive:/tmp/x.tar' }))).toBe('trusted');
  });

  it('the reason names the repository and the trusted patterns; no exception lifts it', () => {
    const p = policyOf('registries:\n  trusted: [ghcr.io/acme/*]', `- scope: { all: true }\n  finding: CVE-1\n  reason: x\n  expires: 2026-01-01`);
    const v = judge(p, [vuln('CVE-1', 'high', { fixedIn: '2' })], { ref: 'docker.io/evil/web:1' });
    expect(v.reasons).toEqual([{ rule: 'registries', message: 'docker.io/evil/web is not from a trusted registry (registries.trusted: ghcr.io/acme/*)', findings: [] }]);
  });
});

describe('evaluatePolicy: feed staleness (time since the last successful sync)', () => {
  const hoursAgo = (h: number): string => new Date(NOW.getTime() - h * 3600 * 1000).toISOString();
  /** [name, rules, feeds, outcome] */
  const CASES: readonly (readonly [string, string, readonly FeedInfo[], string])[] = [
    ['synced 12 h ago', '', [{ source: 'osv:npm', syncedAt: hoursAgo(12) }], 'trusted'],
    ['synced exactly 48 h ago', '', [{ source: 'osv:npm', syncedAt: hoursAgo(48) }], 'trusted'],
    ['synced 72 h ago: warns by default', '', [{ source: 'osv:npm', syncedAt: hoursAgo(72) }], 'trusted+warn:feeds'],
    ['synced 72 h ago with action: quarantine', 'feeds: { action: quarantine }', [{ source: 'osv:npm', syncedAt: hoursAgo(72) }], 'quarantined:feeds'],
    ['synced 12 h ago with action: quarantine', 'feeds: { action: quarantine }', [{ source: 'osv:npm', syncedAt: hoursAgo(12) }], 'trusted'],
    ['synced 72 h ago, maxStaleHours: 100', 'feeds: { maxStaleHours: 100 }', [{ source: 'osv:npm', syncedAt: hoursAgo(72) }], 'trusted'],
    ['a feed never synced is stale', '', [{ source: 'osv:npm' }], 'trusted+warn:feeds'],
    ['a feed never synced quarantines with action: quarantine', 'feeds: { action: quarantine }', [{ source: 'osv:npm' }], 'quarantined:feeds'],
    ['an unreadable syncedAt is stale', '', [{ source: 'osv:npm', syncedAt: 'yesterday' }], 'trusted+warn:feeds'],
    ['old records but a fresh sync are current (modified is not staleness)', 'feeds: { action: quarantine }', [{ source: 'osv:Go', syncedAt: hoursAgo(1), modified: '2024-01-01T00:00:00Z' }], 'trusted'],
    ['one stale feed among fresh ones', 'feeds: { action: quarantine }', [{ source: 'osv:npm', syncedAt: hoursAgo(1) }, { source: 'osv:Debian', syncedAt: hoursAgo(200) }], 'quarantined:feeds'],
    ['no feeds at all (NO_VULNERABILITY_DATA is the baseline\'s business)', 'feeds: { action: quarantine }', [], 'trusted'],
  ];
  it.each(CASES)('%s', (_name, rules, feeds, want) => {
    expect(outcome(judge(rules === '' ? DEFAULT_POLICY : policyOf(rules), [], { feeds }))).toBe(want);
  });

  it('the message names each stale feed and when it last synced', () => {
    const v = judge(DEFAULT_POLICY, [], { feeds: [{ source: 'osv:npm', syncedAt: '2025-05-28T00:00:00Z' }, { source: 'osv:PyPI' }, { source: 'osv:Go', syncedAt: hoursAgo(1) }] });
    expect(v.warnings).toEqual([{
      rule: 'feeds',
      message: 'vulnerability data may be out of date: 2 feeds not synced within feeds.maxStaleHours (48 h): osv:npm (last synced 2025-05-28T00:00:00Z, 96 h ago); osv:PyPI (never synced)',
      findings: [],
    }]);
  });
});

describe('evaluatePolicy: exceptions', () => {
  const HIGH = vuln('CVE-2024-0001', 'high', { fixedIn: '1.0.1', aliases: ['GHSA-aaaa-bbbb-cccc'], package: 'pkg:npm/lodash@4.17.20' });
  const exception = (fields: string, expires = '2025-07-01'): string => `- ${fields.trim().split('\n').join('\n  ')}\n  reason: accepted\n  owner: team-web\n  expires: ${expires}`;

  /** [name, exceptions YAML, findings, input overrides, outcome, applied, unused, expired] */
  const CASES: readonly (readonly [string, string, readonly Finding[], Partial<PolicyInput>, string, number[], number[], number[]])[] = [
    ['digest scope, by finding id', exception(`scope: { digest: ${DIGEST} }\nfinding: CVE-2024-0001`), [HIGH], {}, 'trusted', [0], [], []],
    ['digest scope of another image: out of scope, not reported', exception(`scope: { digest: ${OTHER_DIGEST} }\nfinding: CVE-2024-0001`), [HIGH], {}, 'quarantined:vulnerabilities', [], [], []],
    ['digest scope naming the index of a platform image', exception(`scope: { digest: ${INDEX_DIGEST} }\nfinding: CVE-2024-0001`), [HIGH], { indexDigest: INDEX_DIGEST }, 'trusted', [0], [], []],
    ['repository pattern scope that matches', exception('scope: { repository: ghcr.io/acme/* }\nfinding: CVE-2024-0001'), [HIGH], {}, 'trusted', [0], [], []],
    ['repository pattern scope that does not', exception('scope: { repository: ghcr.io/other/* }\nfinding: CVE-2024-0001'), [HIGH], {}, 'quarantined:vulnerabilities', [], [], []],
    ['repository scope never matches an archive', exception('scope: { repository: ghcr.io/** }\nfinding: CVE-2024-0001'), [HIGH], { ref: 'docker-archive:/tmp/x.tar' }, 'quarantined:vulnerabilities', [], [], []],
    ['all: true', exception('scope: { all: true }\nfinding: CVE-2024-0001'), [HIGH], {}, 'trusted', [0], [], []],
    ['by an alias of the finding', exception('scope: { all: true }\nfinding: GHSA-aaaa-bbbb-cccc'), [HIGH], {}, 'trusted', [0], [], []],
    ['finding ids compare case-insensitively', exception('scope: { all: true }\nfinding: cve-2024-0001'), [HIGH], {}, 'trusted', [0], [], []],
    ['by package purl without a version (every version)', exception('scope: { all: true }\npackage: pkg:npm/lodash'), [HIGH], {}, 'trusted', [0], [], []],
    ['by package purl with the installed version', exception('scope: { all: true }\npackage: pkg:npm/lodash@4.17.20'), [HIGH], {}, 'trusted', [0], [], []],
    ['by package purl with another version', exception('scope: { all: true }\npackage: pkg:npm/lodash@4.17.21'), [HIGH], {}, 'quarantined:vulnerabilities', [], [0], []],
    ['by package name', exception('scope: { all: true }\npackage: lodash'), [HIGH], {}, 'trusted', [0], [], []],
    ['finding and package must both match', exception('scope: { all: true }\nfinding: CVE-2024-0001\npackage: underscore'), [HIGH], {}, 'quarantined:vulnerabilities', [], [0], []],
    ['finding and package both matching', exception('scope: { all: true }\nfinding: CVE-2024-0001\npackage: lodash'), [HIGH], {}, 'trusted', [0], [], []],
    ['expired: not applied, reported as expired', exception('scope: { all: true }\nfinding: CVE-2024-0001', '2025-05-01'), [HIGH], {}, 'quarantined:vulnerabilities', [], [], [0]],
    ['expiring on the evaluation day (00:00 UTC) is expired', exception('scope: { all: true }\nfinding: CVE-2024-0001', '2025-06-01'), [HIGH], {}, 'quarantined:vulnerabilities', [], [], [0]],
    ['expiring the next day still applies', exception('scope: { all: true }\nfinding: CVE-2024-0001', '2025-06-02'), [HIGH], {}, 'trusted', [0], [], []],
    ['expiring at a later instant of the day still applies', exception('scope: { all: true }\nfinding: CVE-2024-0001', '2025-06-01T00:00:01Z'), [HIGH], {}, 'trusted', [0], [], []],
    ['unused: in scope, matching nothing', exception('scope: { all: true }\nfinding: CVE-1999-9999'), [HIGH], {}, 'quarantined:vulnerabilities', [], [0], []],
    ['the first matching exception wins; the second is unused', `${exception('scope: { all: true }\nfinding: CVE-2024-0001')}\n${exception('scope: { all: true }\npackage: lodash')}`, [HIGH], {}, 'trusted', [0], [1], []],
    ['an expired exception does not hide a later valid one', `${exception('scope: { all: true }\nfinding: CVE-2024-0001', '2025-01-01')}\n${exception('scope: { all: true }\npackage: lodash')}`, [HIGH], {}, 'trusted', [1], [], [0]],
    ['an exception lifts a warning too', exception('scope: { all: true }\nfinding: TC-MC-001'), [misconfig('TC-MC-001', 'high')], {}, 'trusted', [0], [], []],
    ['an exception covers an ignored finding (it is present, so the exception is used)', exception('scope: { all: true }\nfinding: CVE-2'), [vuln('CVE-2', 'low')], {}, 'trusted', [0], [], []],
    ['a secret by rule id', exception('scope: { all: true }\nfinding: aws-access-key-id'), [secret('aws-access-key-id')], {}, 'trusted', [0], [], []],
    ['malware is never excepted', exception('scope: { all: true }\nfinding: EICAR-Test-File'), [malware()], {}, 'quarantined:malware', [], [0], []],
    ['unscannable is never excepted', exception('scope: { all: true }\nfinding: BAD_TAR'), [unscannable()], {}, 'quarantined:unscannable', [], [0], []],
  ];
  it.each(CASES)('%s', (_name, exceptions, findings, over, want, applied, unused, expired) => {
    const v = judge(policyOf('', exceptions), findings, over);
    expect(outcome(v)).toBe(want);
    expect(v.exceptionsApplied.map((e) => e.index)).toEqual(applied);
    expect(v.exceptionsUnused.map((e) => e.index)).toEqual(unused);
    expect(v.exceptionsExpired.map((e) => e.index)).toEqual(expired);
  });

  it('reports which findings each exception covered (or would have, once expired)', () => {
    const p = policyOf('', `${exception('scope: { all: true }\npackage: lodash')}\n${exception('scope: { all: true }\nfinding: CVE-9', '2025-01-01')}`);
    const v = judge(p, [HIGH, vuln('CVE-2024-0002', 'critical', { fixedIn: '5', package: 'pkg:npm/lodash@4.17.20' }), vuln('CVE-9', 'high', { fixedIn: '2', package: 'pkg:npm/x@1' })]);
    expect(v.exceptionsApplied).toEqual([expect.objectContaining({ index: 0, findings: ['CVE-2024-0001', 'CVE-2024-0002'], exception: expect.objectContaining({ owner: 'team-web', reason: 'accepted' }) })]);
    expect(v.exceptionsExpired).toEqual([expect.objectContaining({ index: 1, findings: ['CVE-9'] })]);
    expect(v.reasons.map((r) => r.findings)).toEqual([['CVE-9']]);
  });

  it('an exception naming malware or an unscannable finding is refused with a warning', () => {
    const p = policyOf('', exception('scope: { all: true }\nfinding: EICAR-Test-File'));
    const v = judge(p, [malware()]);
    expect(v.status).toBe('quarantined');
    expect(v.warnings).toEqual([{ rule: 'exceptions', message: expect.stringMatching(/^exception #0 matches EICAR-Test-File at \/tmp\/eicar.com, which is malware: the baseline cannot be excepted/), findings: ['EICAR-Test-File'] }]);
  });

  it('an exception by package cannot lift malware found in that package\'s files either', () => {
    const p = policyOf('', exception('scope: { all: true }\npackage: lodash'));
    const v = judge(p, [finding('malware', 'Trojan.X', { severity: 'critical', package: 'pkg:npm/lodash@4.17.20' })]);
    expect(v.status).toBe('quarantined');
  });
});

describe('evaluatePolicy: unknowns (what the scan could not examine; RELIABILITY.md 47, 57)', () => {
  const L = 'sha256:' + 'ab'.repeat(32);
  const u = (cls: Unknown['class'], consumer?: string, path = '/var/lib/dpkg/status'): Unknown => ({ layer: L, path, reason: 'not examined', ...(cls ? { class: cls } : {}), ...(consumer ? { consumer } : {}) });
  const exception = (fields: string, expires = '2025-07-01'): string => `- ${fields.trim().split('\n').join('\n  ')}\n  reason: clamd cannot take files this large; hashes and signatures still run\n  owner: team-sec\n  expires: ${expires}`;

  /** [name, rules, exceptions, unknowns, outcome, applied, expired] */
  const CASES: readonly (readonly [string, string, string, readonly Unknown[], string, number[], number[]])[] = [
    ['no unknowns', '', '', [], 'trusted', [], []],
    ['a note hides nothing', '', '', [u('note')], 'trusted', [], []],
    ['cut-by-cap quarantines', '', '', [u('cut-by-cap', 'dpkg')], 'quarantined:unscannable', [], []],
    ['body-not-read quarantines', '', '', [u('body-not-read', 'malware')], 'quarantined:unscannable', [], []],
    ['unsupported-entry quarantines', '', '', [u('unsupported-entry')], 'quarantined:unscannable', [], []],
    ['parse-error quarantines', '', '', [u('parse-error', 'npm')], 'quarantined:unscannable', [], []],
    ['scanner-unavailable quarantines', '', '', [u('scanner-unavailable', 'clamd')], 'quarantined:unscannable', [], []],
    ['no-vulnerability-data quarantines', '', '', [u('no-vulnerability-data', 'matcher')], 'quarantined:unscannable', [], []],
    ['runtime-refuses quarantines', '', '', [u('runtime-refuses')], 'quarantined:unscannable', [], []],
    ['an unknown without a class fails closed (parse-error)', '', '', [u(undefined)], 'quarantined:unscannable', [], []],
    ['a class from a newer scanner fails closed', '', '', [{ ...u('note'), class: 'gremlins' as Unknown['class'] }], 'quarantined:unscannable', [], []],
    ['an exception for the class lifts it', '', exception('scope: { all: true }\nunknown: scanner-unavailable'), [u('scanner-unavailable', 'clamd')], 'trusted', [0], []],
    ['an exception for the class and its consumer', '', exception('scope: { all: true }\nunknown: scanner-unavailable\nconsumer: clamd'), [u('scanner-unavailable', 'clamd')], 'trusted', [0], []],
    ['an exception for another consumer does not', '', exception('scope: { all: true }\nunknown: scanner-unavailable\nconsumer: dpkg'), [u('scanner-unavailable', 'clamd')], 'quarantined:unscannable', [], []],
    ['an exception for another class does not', '', exception('scope: { all: true }\nunknown: cut-by-cap'), [u('scanner-unavailable', 'clamd')], 'quarantined:unscannable', [], []],
    ['an expired exception does not', '', exception('scope: { all: true }\nunknown: scanner-unavailable', '2025-05-01'), [u('scanner-unavailable', 'clamd')], 'quarantined:unscannable', [], [0]],
    ['an exception out of scope does not', '', exception(`scope: { digest: ${OTHER_DIGEST} }\nunknown: scanner-unavailable`), [u('scanner-unavailable', 'clamd')], 'quarantined:unscannable', [], []],
    ['one class excepted, another still quarantines', '', exception('scope: { all: true }\nunknown: scanner-unavailable'), [u('scanner-unavailable', 'clamd'), u('cut-by-cap', 'dpkg')], 'quarantined:unscannable', [0], []],
    ['a finding exception never lifts an unknown', '', exception('scope: { all: true }\nfinding: cut-by-cap'), [u('cut-by-cap')], 'quarantined:unscannable', [], []],
    ['misconfig unknowns only warn while misconfig only warns', '', '', [u('body-not-read', 'misconfig', '/etc/passwd')], 'trusted+warn:unscannable', [], []],
    ['misconfig unknowns quarantine when misconfig can', 'misconfig: { byId: { TC-MC-001: quarantine } }', '', [u('body-not-read', 'misconfig', '/etc/passwd')], 'quarantined:unscannable', [], []],
    ['base-image unknowns quarantine when baseImage can', 'baseImage: { untrusted: quarantine }', '', [u('parse-error', 'base-image', 'config:rootfs.diff_ids')], 'quarantined:unscannable', [], []],
  ];
  it.each(CASES)('%s', (_name, rules, exceptions, unknowns, want, applied, expired) => {
    const v = judge(policyOf(rules, exceptions), [], { unknowns });
    expect(outcome(v)).toBe(want);
    expect(v.exceptionsApplied.map((e) => e.index)).toEqual(applied);
    expect(v.exceptionsExpired.map((e) => e.index)).toEqual(expired);
  });

  it('one reason per class, naming the consumers, the places and the exception that would lift it', () => {
    const many = Array.from({ length: 12 }, (_, i) => u('scanner-unavailable', 'clamd', `/bin/f${i}`));
    const v = judge(DEFAULT_POLICY, [], { unknowns: [...many, u('cut-by-cap', 'dpkg')] });
    expect(v.reasons.map((r) => [r.rule, r.findings])).toEqual([['unscannable', ['unknown:cut-by-cap']], ['unscannable', ['unknown:scanner-unavailable']]]);
    expect(v.reasons[1].message).toMatch(/^scanner-unavailable: 12 things not examined \(clamd\), never trusted unless an exception accepts `unknown: scanner-unavailable`: \/bin\/f0 .*; and 2 more$/);
    expect(v.unknowns['scanner-unavailable']).toEqual({ total: 12, excepted: 0 });
    expect(v.unknowns.note).toEqual({ total: 0, excepted: 0 });
  });

  it('the exception machinery validates unknown exceptions like any other', () => {
    expect(() => policyOf('', exception('scope: { all: true }\nunknown: note'))).toThrow(/unknown.*must be one of cut-by-cap/);
    expect(() => policyOf('', exception('scope: { all: true }\nunknown: everything'))).toThrow(/must be one of/);
    expect(() => policyOf('', exception('scope: { all: true }\nunknown: cut-by-cap\nfinding: CVE-1'))).toThrow(/names no finding or package/);
    expect(() => policyOf('', exception('scope: { all: true }\nconsumer: clamd\nfinding: CVE-1'))).toThrow(/consumer narrows an `unknown` exception/);
    expect(() => policyOf('', '- scope: { all: true }\n  unknown: cut-by-cap\n  expires: 2025-07-01')).toThrow(/reason/);
  });
});

describe('evaluatePolicy: the verdict', () => {
  it('keeps the baseline: whatever the policy, an image baseline.ts quarantines stays quarantined, with the same reasons first', () => {
    const findings = [unscannable('LIMIT_EXCEEDED'), vuln('CVE-1', 'low')];
    const v = judge(policyOf('vulnerabilities: { severities: [] }', '- scope: { all: true }\n  finding: LIMIT_EXCEEDED\n  reason: x\n  expires: 2030-01-01'), findings);
    expect(baselineVerdict(findings).status).toBe('quarantined');
    expect(v.status).toBe('quarantined');
    expect(v.reasons[0]).toEqual({ ...baselineVerdict(findings).reasons[0], findings: ['LIMIT_EXCEEDED'] });
  });

  it('groups findings of one rule into one reason, lists them, and counts by severity, type and decision', () => {
    const findings = [
      vuln('CVE-1', 'critical', { fixedIn: '1.1' }), vuln('CVE-2', 'high', { fixedIn: '2.0', package: 'pkg:deb/debian/openssl@3.0.11-1' }), vuln('CVE-3', 'high'),
      vuln('CVE-4', 'low', { fixedIn: '1' }), malware(), secret('generic-secret', 'medium'), misconfig('TC-MC-001', 'high'), misconfig('TC-MC-007', 'low'),
    ];
    const v = judge(DEFAULT_POLICY, findings);
    expect(v.status).toBe('quarantined');
    expect(v.reasons).toEqual([
      { rule: 'malware', message: 'malware found: EICAR-Test-File at /tmp/eicar.com', findings: ['EICAR-Test-File'] },
      {
        rule: 'vulnerabilities',
        message: 'critical/high vulnerabilities with a fix available: CVE-1 in pkg:npm/left-pad@1.0.0 (critical, fixed in 1.1); CVE-2 in pkg:deb/debian/openssl@3.0.11-1 (high, fixed in 2.0)',
        findings: ['CVE-1', 'CVE-2'],
      },
    ]);
    expect(v.warnings).toEqual([
      { rule: 'vulnerabilities', message: 'critical/high vulnerabilities without a fix yet: CVE-3 in pkg:npm/left-pad@1.0.0 (high)', findings: ['CVE-3'] },
      { rule: 'secrets', message: 'secrets found: generic-secret at /app/.env', findings: ['generic-secret'] },
      { rule: 'misconfig', message: 'misconfigurations: TC-MC-001 at config:User; TC-MC-007 at config:User', findings: ['TC-MC-001', 'TC-MC-007'] },
    ]);
    expect(v.counts).toEqual({
      total: 8,
      bySeverity: { critical: 2, high: 3, medium: 1, low: 2, unknown: 0 },
      byType: { vulnerability: 4, malware: 1, secret: 1, misconfig: 2, 'base-image': 0, unscannable: 0 },
      byDecision: { quarantine: 3, warn: 4, ignored: 1, excepted: 0 },
    });
    expect(v.policyHash).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('cuts long lists in the message but keeps every id', () => {
    const findings = Array.from({ length: 14 }, (_, i) => vuln(`CVE-${i}`, 'critical', { fixedIn: '2' }));
    const v = judge(DEFAULT_POLICY, findings);
    expect(v.reasons[0].message).toMatch(/; and 4 more$/);
    expect(v.reasons[0].findings).toHaveLength(14);
  });

  it('is deterministic: the same input gives the same verdict', () => {
    const input = [vuln('CVE-1', 'critical', { fixedIn: '2' }), secret('private-key')];
    expect(judge(DEFAULT_POLICY, input)).toEqual(judge(DEFAULT_POLICY, input));
  });

  it('evaluatePolicyDetailed explains each finding, including the exception that lifted it', () => {
    const p = policyOf('', '- scope: { all: true }\n  finding: CVE-2\n  owner: sec\n  reason: vendor says not affected\n  expires: 2025-12-01');
    const { decisions } = evaluatePolicyDetailed(p, { ref: REF, digest: DIGEST, feeds: [], now: NOW, findings: [malware(), vuln('CVE-2', 'high', { fixedIn: '2' }), vuln('CVE-3', 'low')] });
    expect(decisions.map((d) => [d.decision, d.rule, d.ruleDecision, d.baseline, d.exception])).toEqual([
      ['quarantine', 'malware', 'quarantine', true, undefined],
      ['excepted', 'vulnerabilities', 'quarantine', false, 0],
      ['ignored', 'vulnerabilities', 'ignored', false, undefined],
    ]);
    expect(decisions[1].why).toBe('high, fixed in 2 (vulnerabilities.severities: critical/high, onlyWithFix); excepted by exception #0 (owner sec) until 2025-12-01: vendor says not affected');
  });
});

describe('evaluatePolicy: known-exploited vulnerabilities (CISA KEV, issue 14 item 5)', () => {
  // The KEV entry of CVE-2014-0160 (Heartbleed) in ../shared/feeds/kev, as the matcher copies it.
  const KEV = { knownExploited: { cve: 'CVE-2014-0160', dateAdded: '2022-05-04', dueDate: '2022-05-25', ransomware: 'Unknown' } };
  const EXCEPT = '- scope: { all: true }\n  finding: CVE-2014-0160\n  reason: the service never terminates TLS\n  expires: 2999-01-01\n';
  /** [name, rules ('' = default), finding, outcome] */
  const CASES: readonly (readonly [string, string, Finding, string])[] = [
    ['low, no fix: quarantined by default', '', vuln('CVE-2014-0160', 'low', KEV), 'quarantined:vulnerabilities'],
    ['medium, fixed: quarantined by default', '', vuln('CVE-2014-0160', 'medium', { ...KEV, fixedIn: '2' }), 'quarantined:vulnerabilities'],
    ['within a grace period: still quarantined', 'vulnerabilities: { maxAdvisoryAgeDays: 3650 }', vuln('CVE-2014-0160', 'high', { ...KEV, fixedIn: '2', published: NOW.toISOString() }), 'quarantined:vulnerabilities'],
    ['knownExploited: warn → a low one warns', 'vulnerabilities: { knownExploited: warn }', vuln('CVE-2014-0160', 'low', KEV), 'trusted+warn:vulnerabilities'],
    ['knownExploited: warn → a high fixed one still quarantines by severity', 'vulnerabilities: { knownExploited: warn }', vuln('CVE-2014-0160', 'high', { ...KEV, fixedIn: '2' }), 'quarantined:vulnerabilities'],
    ['not known exploited: a low one is ignored', '', vuln('CVE-2014-0160', 'low'), 'trusted'],
  ];
  it.each(CASES)('%s', (_name, rules, f, want) => {
    expect(outcome(judge(rules === '' ? DEFAULT_POLICY : policyOf(rules), [f]))).toBe(want);
  });

  it('says why, and known-exploited reasons come first', () => {
    const v = judge(DEFAULT_POLICY, [vuln('CVE-2024-1', 'critical', { fixedIn: '2' }), vuln('CVE-2014-0160', 'low', KEV)]);
    expect(v.reasons.map((r) => r.findings)).toEqual([['CVE-2014-0160'], ['CVE-2024-1']]);
    expect(v.reasons[0].message).toMatch(/^known exploited vulnerabilities \(CISA KEV\): CVE-2014-0160 .*known exploited/);
    const d = evaluatePolicyDetailed(DEFAULT_POLICY, { ref: REF, digest: DIGEST, findings: [vuln('CVE-2014-0160', 'low', KEV)], feeds: FRESH_FEEDS, now: NOW }).decisions[0];
    expect(d.why).toMatch(/^known exploited \(CISA KEV, added 2022-05-04, due 2022-05-25\): quarantined whatever its severity or fix state \(vulnerabilities.knownExploited: quarantine\)/);
  });

  it('an exception (reason, expiry) can still accept it', () => {
    const v = judge(policyOf('', EXCEPT), [vuln('CVE-2014-0160', 'low', KEV)]);
    expect(v.status).toBe('trusted');
    expect(v.exceptionsApplied.map((e) => e.findings)).toEqual([['CVE-2014-0160']]);
  });
});

describe('evaluatePolicy: the unknownSeverityAs assumption is visible', () => {
  it('the reason and the decision say the severity was assumed', () => {
    const f = vuln('GO-2024-1', 'unknown', { fixedIn: '1.22.1' });
    const { verdict, decisions } = evaluatePolicyDetailed(DEFAULT_POLICY, { ref: REF, digest: DIGEST, findings: [f], feeds: FRESH_FEEDS, now: NOW });
    expect(verdict.reasons[0].message).toMatch(/^vulnerabilities of unknown severity, treated as high \(vulnerabilities.unknownSeverityAs\) with a fix available: GO-2024-1/);
    expect(decisions[0].why).toBe('severity unknown to every source; treated as high (vulnerabilities.unknownSeverityAs), fixed in 1.22.1 (vulnerabilities.severities: critical/high, onlyWithFix)');
    // Counted under its own (unknown) severity: the assumption is the policy's, not a rating.
    expect(verdict.counts.bySeverity.unknown).toBe(1);
  });
});
