/**
 * The bound that lets the streaming scanner run a rule only near its keywords
 * (lib/engine/checks/secrets/keyword-bound.ts): its value per built-in rule (an edit that moves it
 * shows here), the analyser on constructs one at a time (and its refusals), and its soundness on
 * real matches: every match of every rule, over texts dense in keywords and near misses, the rules'
 * samples and real files, holds one of its keywords within B of its start.
 */
import { machineFiles, REPO_NODE_MODULES } from '../../../helpers/machine-files';
import { join } from 'node:path';
import { keywordBound } from '../../../../lib/engine/checks/secrets/keyword-bound';
import { SECRET_RULES, type SecretRule } from '../../../../lib/engine/checks/secrets/rules';
import { mulberry32 as rng } from '../../../helpers/prng';
import { denseSecretText, fake, gcpServiceAccount, generatedKeys, pgpBlock } from './helpers';

describe('keywordBound: the built-in rules', () => {
  // The value B per rule; `undefined`: the rule is scanned in full. Why each is what it is:
  it.each([
    ['gcp-service-account', undefined], // its keyword (`service_account`) is outside the match (the accept looks around)
    ['azure-storage-connection-string', 0], // `DefaultEndpointsProtocol=` opens the match
    ['private-key', 21], // `-----BEGIN ` (11) + `ENCRYPTED ` (10) before `PRIVATE KEY-----`
    ['pgp-private-key', 11], // `-----BEGIN ` before `PGP PRIVATE KEY BLOCK`
    ['aws-secret-access-key', 4], // `aws_` before `secret`
    ['aws-access-key-id', 0],
    ['github-token', 0],
    ['github-fine-grained-pat', 0],
    ['slack-token', 0],
    ['slack-webhook-url', 8], // `https://` before `hooks.slack.com`
    ['npm-token', 0],
    ['generic-secret', 64], // up to 64 name characters before `password|passwd|secret|token|api[_-]?key`
  ])('%s: B = %s', (id, expected) => {
    const rule = SECRET_RULES.find((r) => r.id === id)!;
    expect(keywordBound(rule.pattern, rule.keywords)).toBe(expected);
  });

  it('covers every rule (a new rule needs its row above)', () => {
    expect(SECRET_RULES.map((r) => r.id).sort()).toEqual(
      ['gcp-service-account', 'azure-storage-connection-string', 'private-key', 'pgp-private-key', 'aws-secret-access-key', 'aws-access-key-id', 'github-token', 'github-fine-grained-pat', 'slack-token', 'slack-webhook-url', 'npm-token', 'generic-secret'].sort(),
    );
  });
});

describe('keywordBound: constructs', () => {
  const kw = ['secret', 'api_key', 'api-key', 'apikey', 'ab'];
  it.each([
    // [case, pattern, keywords, expected B]
    ['a literal keyword', /secret/g, kw, 0],
    ['a literal prefix before it', /my_secret/g, kw, 3],
    ['a bounded class prefix', /[a-z0-9]{0,5}secret/g, kw, 5],
    ['a lazy bounded prefix', /[a-z0-9]{2,9}?secret/g, kw, 9],
    ['an unbounded prefix: no bound', /[a-z]*secret/g, kw, undefined],
    ['.+ before: no bound', /.+secret/g, kw, undefined],
    ['the keyword optional: no bound', /x(?:secret)?y/g, kw, undefined],
    ['the keyword in a lookahead only: no bound', /x(?=secret)/g, kw, undefined],
    ['the keyword in a lookbehind only: no bound', /(?<=secret)x/g, kw, undefined],
    ['no keyword at all: no bound', /password/g, kw, undefined],
    ['lookarounds consume nothing', /(?<![a-z])(?<!::)(?=s)secret/g, kw, 0],
    ['a keyword spelled by a small class', /api[_-]?key/g, kw, 0],
    ['a keyword split over groups', /(?:se)(?:cr)(et)/g, kw, 0],
    ['case folding with i', /SECRET/gi, kw, 0],
    ['upper case without i folds as the automaton folds the text', /x{3}SECRET/g, kw, 3],
    ['an alternation takes the worst alternative', /(?:secret|xxxx_api-key|\d{2}ab)/g, kw, 5],
    ['an alternation with a keyword-free branch: no bound', /(?:secret|nothing)/g, kw, undefined],
    ['a bounded repetition of a keyword', /(?:ab){2,3}/g, kw, 0],
    ['a repetition that may be empty: no bound', /(?:ab){0,3}/g, kw, undefined],
    ['an earlier keyword bounds the match even after an unbounded part', /secret.*api_key/g, kw, 0],
    ['a back-reference counts its group\'s length', /(x{1,4})\1secret/g, kw, 8],
    ['escapes', /\x2f\/\.\-\u0073ecret/g, kw, 4],
    ['a large class is opaque but one character', /[^\n][a-z]secret/g, kw, 2],
    ['a keyword made of a small class in i mode', /[s][E]cret/gi, kw, 0],
    ['non-ASCII is opaque', /é{0,2}secret/g, kw, 2],
  ])('%s: %s', (_name, pattern, keywords, expected) => {
    expect(keywordBound(pattern, keywords)).toBe(expected);
  });

  it.each([
    ['not global', /secret/],
    ['sticky', /secret/gy],
    ['unicode', /secret/gu],
    ['an empty keyword', /secret/g, ['secret', '']],
    ['no keywords', /secret/g, []],
    ['a literal { (Annex B)', /x{,3}secret/g],
    ['a literal ] (Annex B)', /]secret/g],
    ['an octal escape', new RegExp('\\8secret', 'g')],
    ['a named back-reference', /(?<n>x)\k<n>secret/g],
    ['a quantified lookahead (Annex B)', /(?=x)*secret/g],
    ['an identity escape of a letter', /\qsecret/g],
    ['a control escape', /\cJsecret/g],
  ])('refuses %s (no bound)', (_name, pattern, keywords = ['secret']) => {
    expect(keywordBound(pattern as RegExp, keywords as string[])).toBeUndefined();
  });
});

/** Real text files of this machine (deterministic order, bounded; binaries left out). */
function realTexts(): string[] {
  const name = /\.(?:js|json|py|pl|pm|sh|conf|cfg|ini|env|ya?ml|toml|pem|txt)$|^[^.]+$/;
  return machineFiles([
    { dir: '/etc', depth: 6, bytes: 2e6, name },
    { dir: '/usr/share/perl5', depth: 6, bytes: 2e6, name },
    { dir: '/usr/lib/python3', depth: 6, bytes: 3e6, name },
    { dir: join(REPO_NODE_MODULES, '@aws-sdk'), depth: 6, bytes: 3e6, name },
  ], 512 * 1024)
    .filter((f) => !f.body.subarray(0, 8192).includes(0))
    .map((f) => f.body.toString('latin1'));
}

/** The smallest offset, from the match's start, of a keyword occurrence inside the match (folded as the automaton folds). */
function keywordOffset(rule: SecretRule, text: string, m: RegExpMatchArray): number {
  const inMatch = text.slice(m.index!, m.index! + m[0].length).toLowerCase();
  let best = Infinity;
  for (const k of rule.keywords) {
    const i = inMatch.indexOf(k);
    if (i >= 0 && i < best) best = i;
  }
  return best;
}

describe('keywordBound: every match holds a keyword within B', () => {
  const k = generatedKeys();
  const r = rng(4242);
  const tight = [
    // The longest prefixes each rule admits: the observed offset reaches B.
    `${'a'.repeat(64)}password = "${fake.password()}"`,
    `${'A'.repeat(70)}.${'b'.repeat(64)}secret: ${fake.password(3)}`,
    k.encrypted,
    k.rsa,
    pgpBlock('PRIVATE', 200),
    `aws_secret_access_key = ${fake.awsSecret()}`,
    `"https://hooks.slack.com/services/${fake.slackWebhookPath()}"`,
    gcpServiceAccount(k.pkcs8),
  ];
  const texts = [...tight, ...Array.from({ length: 300 }, () => denseSecretText(r, 200)), ...realTexts()];

  it.each(SECRET_RULES.filter((rule) => keywordBound(rule.pattern, rule.keywords) !== undefined).map((rule) => [rule.id, rule] as const))('%s', (_id, rule) => {
    const bound = keywordBound(rule.pattern, rule.keywords)!;
    let matches = 0;
    let worst = 0;
    for (const t of texts) {
      for (const m of t.matchAll(rule.pattern)) {
        const off = keywordOffset(rule, t, m);
        if (!(off <= bound)) throw new Error(`${rule.id}: a match with its first keyword at ${off} > B = ${bound}: ${JSON.stringify(m[0].slice(0, 200))}`);
        worst = Math.max(worst, off);
        matches++;
      }
    }
    expect(matches).toBeGreaterThan(3);
    // The tight samples reach the bound: it is not larger than it needs to be.
    expect(worst).toBe(bound);
  });
});
