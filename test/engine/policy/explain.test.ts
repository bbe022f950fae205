import { DEFAULT_POLICY, explainPolicy, policyHash, PolicyReportError } from '../../../lib/engine/policy';
import { DIGEST, INDEX_DIGEST, malware, misconfig, NOW, OTHER_DIGEST, policyOf, REF, secret, unscannable, vuln } from './harness';

/** A single-platform report as `trustctl scan --format json` prints it (lib/cli/format/report.ts). */
const SINGLE = {
  schemaVersion: 1,
  image: { ref: REF, digest: DIGEST, mediaType: 'application/vnd.oci.image.manifest.v1+json', platform: 'linux/amd64' },
  verdict: { status: 'trusted', reasons: [] },
  packages: [],
  findings: [
    vuln('CVE-2024-0001', 'critical', { fixedIn: '1.0.1' }),
    vuln('CVE-2024-0002', 'high'),
    vuln('CVE-2024-0003', 'low', { fixedIn: '2' }),
    secret('aws-access-key-id'),
    misconfig('TC-MC-007', 'low'),
    malware(),
  ],
  unknowns: [],
  feeds: [{ source: 'osv:npm', syncedAt: '2025-05-31T00:00:00Z' }],
};

describe('explainPolicy: which rule decided what, per finding', () => {
  const policy = policyOf('', '- scope: { all: true }\n  finding: aws-access-key-id\n  owner: team-web\n  reason: a revoked test key\n  expires: 2025-07-01');

  it('gives decision, rule and the exception for each finding', () => {
    const x = explainPolicy(policy, JSON.parse(JSON.stringify(SINGLE)), { now: NOW });
    expect(x.status).toBe('quarantined');
    expect(x.policyHash).toBe(policyHash(policy));
    expect(x.policySource).toBe('test-policy.yaml');
    expect(x.now).toBe('2025-06-01T00:00:00.000Z');
    expect(x.images).toHaveLength(1);
    expect(x.images[0].platform).toBe('linux/amd64');
    const table = x.images[0].findings.map((f) => [f.id, f.decision, f.rule, f.exception?.index]);
    expect(table).toEqual([
      ['CVE-2024-0001', 'quarantine', 'vulnerabilities', undefined],
      ['CVE-2024-0002', 'warn', 'vulnerabilities', undefined],
      ['CVE-2024-0003', 'ignored', 'vulnerabilities', undefined],
      ['aws-access-key-id', 'excepted', 'secrets', 0],
      ['TC-MC-007', 'warn', 'misconfig', undefined],
      ['EICAR-Test-File', 'quarantine', 'malware', undefined],
    ]);
    const excepted = x.images[0].findings[3];
    expect(excepted).toMatchObject({ ruleDecision: 'quarantine', baseline: false, exception: { index: 0, owner: 'team-web', reason: 'a revoked test key', expires: '2025-07-01', line: 4 } });
    expect(x.images[0].findings[1].why).toBe('high, but no fixed version is published (vulnerabilities.onlyWithFix)');
    expect(x.images[0].findings[2].why).toBe('severity low is not in vulnerabilities.severities (critical/high)');
    expect(x.images[0].findings[4].why).toBe('misconfig.bySeverity.low: warn');
    expect(x.images[0].findings[5]).toMatchObject({ baseline: true, why: 'malware always quarantines (baseline)' });
    expect(x.exceptionsApplied.map((e) => e.index)).toEqual([0]);
  });

  it('trying a policy change on the same report: without malware, the default policy and a stricter one disagree', () => {
    const report = { ...SINGLE, findings: SINGLE.findings.filter((f) => f.type !== 'malware' && f.type !== 'secret') };
    expect(explainPolicy(DEFAULT_POLICY, report, { now: NOW }).status).toBe('quarantined');
    const lenient = policyOf('vulnerabilities: { severities: [] }');
    expect(explainPolicy(lenient, report, { now: NOW }).status).toBe('trusted');
  });

  it('a multi-platform report is judged per platform; exceptions may name the index digest or one platform', () => {
    const report = {
      image: { ref: REF, digest: INDEX_DIGEST, platform: null },
      findings: [],
      platforms: [
        { platform: 'linux/amd64', digest: DIGEST, findings: [vuln('CVE-1', 'high', { fixedIn: '2' })] },
        { platform: 'linux/arm64', digest: OTHER_DIGEST, findings: [vuln('CVE-1', 'high', { fixedIn: '2' }), vuln('CVE-2', 'critical', { fixedIn: '3' })] },
      ],
      feeds: [],
    };
    const p = policyOf('', [
      `- scope: { digest: ${INDEX_DIGEST} }\n  finding: CVE-1\n  reason: x\n  expires: 2025-07-01`,
      `- scope: { digest: ${DIGEST} }\n  finding: CVE-2\n  reason: only amd64 is unaffected\n  expires: 2025-07-01`,
      '- scope: { all: true }\n  finding: CVE-3\n  reason: x\n  expires: 2025-07-01',
      '- scope: { all: true }\n  finding: CVE-4\n  reason: x\n  expires: 2025-01-01',
    ].join('\n'));
    const x = explainPolicy(p, report, { now: NOW });
    expect(x.images.map((i) => [i.platform, i.verdict.status])).toEqual([['linux/amd64', 'trusted'], ['linux/arm64', 'quarantined']]);
    expect(x.status).toBe('quarantined');
    // #1 is unused on amd64 (no CVE-2 there) and out of scope on arm64: unused overall. #0 applied on both.
    expect(x.exceptionsApplied.map((e) => [e.index, e.findings])).toEqual([[0, ['CVE-1']]]);
    expect(x.exceptionsUnused.map((e) => e.index)).toEqual([1, 2]);
    expect(x.exceptionsExpired.map((e) => e.index)).toEqual([3]);
  });

  it('an unscannable report stays quarantined whatever the policy', () => {
    const report = { image: { ref: 'docker-archive:/tmp/x.tar', digest: DIGEST }, findings: [unscannable('LIMIT_EXCEEDED')] };
    const x = explainPolicy(policyOf('vulnerabilities: { severities: [] }'), report, { now: NOW });
    expect(x.status).toBe('quarantined');
    expect(x.images[0].findings[0]).toMatchObject({ decision: 'quarantine', rule: 'unscannable', baseline: true });
    expect(x.images[0].platform).toBeNull();
  });

  it('accepts findings without aliases (older reports) and defaults now to the current time', () => {
    const report = { image: { ref: REF, digest: DIGEST }, findings: [{ type: 'vulnerability', id: 'CVE-1', severity: 'high', fixedIn: '2', message: '' }] };
    const x = explainPolicy(DEFAULT_POLICY, report);
    expect(x.images[0].findings[0].decision).toBe('quarantine');
    expect(Date.parse(x.now)).toBeGreaterThan(Date.parse('2025-01-01'));
  });

  const BAD: readonly (readonly [string, unknown, RegExp])[] = [
    ['not an object', 'report', /the document must be an object/],
    ['no image', { findings: [] }, /image must be an object/],
    ['no digest', { image: { ref: REF }, findings: [] }, /image.digest must be a string/],
    ['findings not a list', { image: { ref: REF, digest: DIGEST }, findings: {} }, /findings must be a list/],
    ['a finding without an id', { image: { ref: REF, digest: DIGEST }, findings: [{ type: 'secret', severity: 'high' }] }, /findings\[0\].id must be a string/],
    ['a platform without a digest', { image: { ref: REF, digest: DIGEST }, findings: [], platforms: [{ platform: 'linux/amd64', findings: [] }] }, /platforms\[0\]/],
    ['feeds not a list', { image: { ref: REF, digest: DIGEST }, findings: [], feeds: 'osv' }, /feeds must be a list/],
  ];
  it.each(BAD)('a report with %s is refused', (_name, report, why) => {
    expect(() => explainPolicy(DEFAULT_POLICY, report, { now: NOW })).toThrow(PolicyReportError);
    expect(() => explainPolicy(DEFAULT_POLICY, report, { now: NOW })).toThrow(why);
  });
});
