import { sha256Digest, type Finding } from '../../lib/engine/model';
import type { StoredVerdict } from '../../lib/engine/verdicts/port';
import {
  clipText,
  escapeMrkdwn,
  packageLabel,
  renderSlackMessage,
  SLACK_LIMITS,
  slackMessageProblems,
  topFindings,
  type SectionBlock,
  type SlackMessage,
} from '../../lib/notify/slack-message';
import { expiringExceptions, staleFeeds, verdictTransition, type Notification } from '../../lib/notify/transitions';

const D = sha256Digest('message');
const POLICY = 'sha256:' + 'cd'.repeat(32);

function verdict(status: StoredVerdict['status'], n: number, extra: Partial<StoredVerdict> = {}): StoredVerdict {
  return {
    digest: D,
    ref: 'registry.example.com/team/app:1.0',
    status,
    reasons: [],
    counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
    policyHash: POLICY,
    feedRevision: '2026-01-01T00:00:00Z',
    plugins: [],
    evaluatedAt: `2026-01-01T10:${String(n).padStart(2, '0')}:00Z`,
    revision: n,
    ...extra,
  };
}

function finding(id: string, severity: Finding['severity'], pkg?: string, fixedIn?: string, extra: Partial<Finding> = {}): Finding {
  return { type: 'vulnerability', id, aliases: [], severity, ...(pkg ? { package: pkg } : {}), ...(fixedIn ? { fixedIn } : {}), message: `${id} message`, ...extra };
}

const quarantined = verdict('quarantined', 2, {
  reasons: [
    { rule: 'vulnerabilities', message: 'critical and high vulnerabilities with a fix', findings: ['CVE-2024-3', 'CVE-2024-1', 'GHSA-aaaa-bbbb-cccc', 'CVE-2024-9'] },
    { rule: 'secrets', message: 'a private key at /app/key.pem', findings: ['private-key'] },
  ],
  counts: { critical: 1, high: 2, medium: 0, low: 0, unknown: 1 },
});
const findings: Finding[] = [
  finding('CVE-2024-1', 'high', 'pkg:npm/lodash@4.17.20', '4.17.21'),
  finding('CVE-2024-3', 'critical', 'pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64', '3.0.11-1~deb12u2'),
  finding('GHSA-zzzz-yyyy-xxxx', 'high', 'pkg:npm/%40scope/pkg@1.0.0', undefined, { aliases: ['GHSA-aaaa-bbbb-cccc'] }),
  { type: 'secret', id: 'private-key', aliases: [], severity: 'unknown', path: '/app/key.pem', message: 'private key' },
];

const notifications: [string, Notification][] = [
  ['new-quarantine', verdictTransition(verdict('trusted', 1), quarantined)!],
  ['new-quarantine of a first verdict', verdictTransition(undefined, quarantined)!],
  ['back-to-trusted', verdictTransition(quarantined, verdict('trusted', 3))!],
  ['exception-expiring', expiringExceptions({ digest: D, ref: 'registry.example.com/team/app:1.0' }, [{ id: 'exc-1', owner: 'team-a', reason: 'no fix', expires: '2026-03-04', scope: { all: true }, finding: 'CVE-2024-1' }], { now: Date.parse('2026-03-01T00:00:00Z') })[0]],
  ['feed-stale', staleFeeds([{ feed: 'osv:npm', syncedAt: '2026-01-01T00:00:00Z' }], { now: Date.parse('2026-03-01T00:00:00Z') })[0]],
  ['feed-stale, never synced', staleFeeds([{ feed: 'osv:npm' }], { now: 0 })[0]],
];

/** Every mrkdwn/plain text of a message, the fallback first. */
function texts(m: SlackMessage): string[] {
  const out = [m.text];
  for (const b of m.blocks) {
    if (b.type === 'header') out.push(b.text.text);
    if (b.type === 'section') out.push(...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text));
    if (b.type === 'context') out.push(...b.elements.map((e) => e.text));
  }
  return out;
}

describe('renderSlackMessage: valid Block Kit for every kind', () => {
  it.each(notifications)('%s', (_name, n) => {
    const m = renderSlackMessage(n, { findings });
    expect(slackMessageProblems(m)).toEqual([]);
    expect(m.blocks[0].type).toBe('header');
    expect(m.blocks.some((b) => b.type === 'context')).toBe(true);
    for (const b of m.blocks) expect(['header', 'section', 'context', 'divider']).toContain(b.type);
    expect(m.text.length).toBeGreaterThan(0);
    // The body is what goes over the wire: JSON round-trips unchanged.
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});

describe('renderSlackMessage: a status transition', () => {
  const m = renderSlackMessage(verdictTransition(verdict('trusted', 1), quarantined)!, { findings });
  const fieldTexts = (m.blocks[1] as SectionBlock).fields!.map((f) => f.text);

  it.each([
    ['image ref', '*Image*\nregistry.example.com/team/app:1.0'],
    ['digest, short and full, in code', `*Digest*\n\`${D.slice(7, 19)}\`\n\`${D}\``],
    ['verdict', '*Verdict*\n:no_entry: *quarantined* (was trusted)'],
    ['policy hash, short', `*Policy*\n\`sha256:${'cd'.repeat(6)}\``],
    ['evaluated at', '*Evaluated at*\n2026-01-01T10:02:00Z'],
    ['counts', '*Findings*\n1 critical · 2 high · 1 unknown'],
  ])('has a field for the %s', (_what, text) => {
    expect(fieldTexts).toContain(text);
  });

  it('has a header and a fallback naming the image', () => {
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':no_entry: Image quarantined', emoji: true } });
    expect(m.text).toBe(`Image quarantined: registry.example.com/team/app:1.0 (${D.slice(7, 19)}) — critical and high vulnerabilities with a fix`);
  });

  it('lists the reasons and the top findings, most severe first, with package@version and fixed versions', () => {
    const all = texts(m).join('\n');
    expect(all).toContain('*Why*\n• `vulnerabilities`: critical and high vulnerabilities with a fix\n• `secrets`: a private key at /app/key.pem');
    const top = texts(m).find((t) => t.startsWith('*Top findings*'))!;
    expect(top.split('\n')).toEqual([
      '*Top findings*',
      '• :red_circle: *CRITICAL* `CVE-2024-3` in `openssl@3.0.11-1~deb12u1` → fixed in `3.0.11-1~deb12u2`',
      '• :large_orange_circle: *HIGH* `CVE-2024-1` in `lodash@4.17.20` → fixed in `4.17.21`',
      '• :large_orange_circle: *HIGH* `GHSA-zzzz-yyyy-xxxx` in `@scope/pkg@1.0.0` (no fix yet)',
      '• :black_circle: *UNKNOWN* `private-key`',
      '• `CVE-2024-9`',
    ]);
  });

  it('back-to-trusted says so, without a findings list', () => {
    const t = renderSlackMessage(verdictTransition(quarantined, verdict('trusted', 3))!, { findings });
    expect(t.blocks[0]).toMatchObject({ text: { text: ':white_check_mark: Image trusted again' } });
    expect(texts(t).join('\n')).toContain(':white_check_mark: *trusted* (was quarantined)');
    expect(texts(t).some((x) => x.startsWith('*Top findings*'))).toBe(false);
  });
});

describe('topFindings', () => {
  it('takes at most 5 (default), ordered by severity then id, and says how many there were', () => {
    const ids = ['CVE-9', 'CVE-1', 'CVE-5', 'CVE-3', 'CVE-7', 'CVE-2', 'CVE-8'];
    const v = verdict('quarantined', 1, { reasons: [{ rule: 'vulnerabilities', message: 'm', findings: ids }] });
    const fs = ids.map((id) => finding(id, id === 'CVE-8' ? 'critical' : id === 'CVE-9' ? 'low' : 'high', `pkg:npm/${id.toLowerCase()}@1.0.0`));
    expect(topFindings(v, fs).map((f) => `${f.severity} ${f.id}`)).toEqual(['critical CVE-8', 'high CVE-1', 'high CVE-2', 'high CVE-3', 'high CVE-5']);
    const m = renderSlackMessage(verdictTransition(undefined, v)!, { findings: fs });
    expect(texts(m).find((t) => t.startsWith('*Top findings*'))).toMatch(/^\*Top findings\* \(5 of 7\)\n/);
  });

  it('merges the fixed versions of one id in one package, keeps one line per package', () => {
    const v = verdict('quarantined', 1, { reasons: [{ rule: 'vulnerabilities', message: 'm', findings: ['CVE-1'] }] });
    const fs = [
      finding('CVE-1', 'high', 'pkg:npm/a@1.0.0', '1.0.5'),
      finding('CVE-1', 'medium', 'pkg:npm/a@1.0.0', '2.0.1, 1.0.5'),
      finding('CVE-1', 'high', 'pkg:pypi/b@3.0', undefined),
    ];
    expect(topFindings(v, fs)).toEqual([
      { id: 'CVE-1', severity: 'high', package: 'a@1.0.0', fixedIn: ['1.0.5', '2.0.1'] },
      { id: 'CVE-1', severity: 'high', package: 'b@3.0', fixedIn: [] },
    ]);
  });

  it('without a findings list, lists the ids the reasons name', () => {
    const v = verdict('quarantined', 1, { reasons: [{ rule: 'r', message: 'm', findings: ['B', 'A'] }, { rule: 's', message: 'm', findings: ['A'] }] });
    expect(topFindings(v)).toEqual([{ id: 'A', fixedIn: [] }, { id: 'B', fixedIn: [] }]);
  });
});

describe('escaping: nothing from outside can mention, link or format through < > &', () => {
  const evil = '<!channel> <https://evil.example|click> & <@U123>';
  const cases: [string, Notification, { findings?: Finding[] }][] = [
    ['an image ref', verdictTransition(undefined, verdict('quarantined', 1, { ref: `registry.example.com/app:${evil}` }))!, {}],
    ['a reason rule and message', verdictTransition(undefined, verdict('quarantined', 1, { reasons: [{ rule: `rule${evil}`, message: evil, findings: [`ID${evil}`] }] }))!, {}],
    [
      'a finding id, package and fix',
      verdictTransition(undefined, verdict('quarantined', 1, { reasons: [{ rule: 'r', message: 'm', findings: ['CVE-1'] }] }))!,
      { findings: [finding('CVE-1', 'high', `pkg:npm/x@1.0.0${encodeURIComponent(evil)}`, `1.0.1${evil}`)] },
    ],
    ['a verdict timestamp and feed revision', verdictTransition(undefined, verdict('quarantined', 1, { feedRevision: '2026-01-01T00:00:00Z' }))!, {}],
    [
      'an exception owner, reason, id and scope',
      expiringExceptions({ digest: D, ref: `r.example.com/a:${evil}` }, [{ id: `exc${evil}`, owner: evil, reason: evil, expires: '2026-03-04', scope: { all: true }, package: evil, finding: evil }], { now: Date.parse('2026-03-01T00:00:00Z') })[0],
      {},
    ],
    ['a feed name and sync time', staleFeeds([{ feed: `osv${evil}`, syncedAt: `bad${evil}` }], { now: 0 })[0], {}],
  ];

  it.each(cases)('in %s', (_name, n, options) => {
    const m = renderSlackMessage(n, options);
    const wire = texts(m).join('\n');
    expect(wire).not.toMatch(/[<>]/);
    expect(wire).not.toMatch(/&(?!amp;|lt;|gt;)/);
    expect(slackMessageProblems(m)).toEqual([]);
  });

  it('keeps the escaped text readable', () => {
    const m = renderSlackMessage(verdictTransition(undefined, verdict('quarantined', 1, { ref: 'r.example.com/app:<!channel>' }))!);
    expect(texts(m).join('\n')).toContain('r.example.com/app:&lt;!channel&gt;');
  });
});

describe('caps: huge inputs stay within Slack limits', () => {
  const long = 'x&<'.repeat(5000);
  const reasons = Array.from({ length: 200 }, (_, i) => ({ rule: `rule-${i}-${long}`, message: long, findings: [`ID-${i}-${long}`] }));
  const n = verdictTransition(undefined, verdict('quarantined', 1, { ref: long, reasons }))!;
  const m = renderSlackMessage(n, { findings: reasons.map((r, i) => finding(r.findings[0], 'high', `pkg:npm/p${i}@1.0.0`, long)) });

  it('is valid Block Kit', () => expect(slackMessageProblems(m)).toEqual([]));
  it.each([
    ['header ≤ 150', () => m.blocks.filter((b) => b.type === 'header').every((b) => b.type === 'header' && b.text.text.length <= SLACK_LIMITS.headerText)],
    ['section text ≤ 3000', () => m.blocks.every((b) => b.type !== 'section' || (b.text?.text.length ?? 0) <= SLACK_LIMITS.sectionText)],
    ['fields ≤ 2000 each, ≤ 10', () => m.blocks.every((b) => b.type !== 'section' || ((b.fields ?? []).length <= 10 && (b.fields ?? []).every((f) => f.text.length <= SLACK_LIMITS.fieldText)))],
    ['≤ 50 blocks', () => m.blocks.length <= SLACK_LIMITS.blocks],
    ['fallback ≤ 4000', () => m.text.length <= SLACK_LIMITS.fallbackText],
  ])('%s', (_name, check) => expect(check()).toBe(true));

  it('truncation never leaves half an escape', () => {
    for (const t of texts(m)) expect(t).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });
});

describe('escapeMrkdwn', () => {
  it.each([
    ['plain', 'plain'],
    ['a & b', 'a &amp; b'],
    ['<!here>', '&lt;!here&gt;'],
    ['&lt; already escaped', '&amp;lt; already escaped'],
  ])('%s', (input, want) => expect(escapeMrkdwn(input)).toBe(want));
});

describe('clipText', () => {
  it.each([
    ['short stays', 'abc', 5, 'abc'],
    ['long is cut with an ellipsis', 'abcdefgh', 5, 'abcd…'],
    ['never inside &amp;', 'abc&amp;def', 6, 'abc…'],
    ['after a complete entity', 'ab&lt;def', 7, 'ab&lt;…'],
    ['never inside a surrogate pair', 'ab😀cd', 4, 'ab…'],
  ])('%s', (_name, s, max, want) => {
    const got = clipText(s, max);
    expect(got).toBe(want);
    expect(got.length).toBeLessThanOrEqual(max);
  });
});

describe('packageLabel', () => {
  it.each([
    ['pkg:npm/lodash@4.17.21', 'lodash@4.17.21'],
    ['pkg:npm/%40angular/core@17.0.0', '@angular/core@17.0.0'],
    ['pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', 'openssl@3.0.11-1~deb12u2'],
    ['pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64', 'musl@1.2.4-r2'],
    ['pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1', 'org.apache.logging.log4j/log4j-core@2.14.1'],
    ['pkg:golang/github.com/gin-gonic/gin@v1.9.0', 'github.com/gin-gonic/gin@v1.9.0'],
    ['pkg:pypi/requests', 'requests'],
    ['not a purl', 'not a purl'],
  ])('%s', (purl, want) => expect(packageLabel(purl)).toBe(want));
});

describe('slackMessageProblems finds what Slack would refuse', () => {
  it.each<[string, SlackMessage, string]>([
    ['empty fallback', { text: '', blocks: [] }, 'text: empty fallback'],
    ['long header', { text: 't', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] }, 'blocks[0].text: 151 characters > 150'],
    ['long section', { text: 't', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } }] }, 'blocks[0].text: 3001 characters > 3000'],
    ['empty section', { text: 't', blocks: [{ type: 'section' }] }, 'blocks[0]: a section needs text or fields'],
    ['too many blocks', { text: 't', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' as const })) }, 'blocks: 51 > 50'],
    ['unknown block', { text: 't', blocks: [{ type: 'video' } as never] }, 'blocks[0]: unknown block type "video"'],
  ])('%s', (_name, m, problem) => expect(slackMessageProblems(m)).toContain(problem));
});
