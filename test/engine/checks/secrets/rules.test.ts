import {
  GENERIC_MIN_ENTROPY,
  SECRET_RULES,
  findSecrets,
  isPlaceholder,
  redact,
  rulesFingerprint,
  shannonEntropy,
} from '../../../../lib/engine/checks/secrets/rules';
import { ALNUM, BASE32, BASE64, HEX, expectNoLeak, fake, fakeChars, gcpServiceAccount, generatedKeys, pem, pemBody, pgpBlock } from './helpers';

// AWS's published documentation examples (docs.aws.amazon.com, "Managing access keys"): not secrets.
const AWS_DOC_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const k = generatedKeys();
const awsKeyId = fake.awsKeyId();
const awsSecret = fake.awsSecret();
const ghp = fake.github('ghp');
const fineGrained = fake.githubFineGrained();
const slack = fake.slack();
const hookPath = fake.slackWebhookPath();
const npm = fake.npm();
const azureKey = fake.azureKey();
const password = fake.password();
const uuid = (() => {
  const h = fakeChars(32, HEX, 21);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
})();
const openssh = pem('OPENSSH PRIVATE KEY', fake.keyBody(400, 31));
const dsa = pem('DSA PRIVATE KEY', fake.keyBody(600, 32));
const pgpPrivate = pgpBlock('PRIVATE', 600);
const azure = (name: string, key: string) => `DefaultEndpointsProtocol=https;AccountName=${name};AccountKey=${key};EndpointSuffix=core.windows.net`;
const hook = (p: string) => `https://hooks.slack.com/services/${p}`;

/** [case name, text, rule ids expected (in text order)] */
type Case = readonly [string, string, readonly string[]];

/** Positive and negative cases, per rule. Every negative is a near miss of its positive. */
const CASES: Readonly<Record<string, readonly Case[]>> = {
  'gcp-service-account': [
    ['service-account key file (JSON-escaped PKCS#8 key)', gcpServiceAccount(k.pkcs8), ['gcp-service-account']],
    ['service-account JSON squeezed on one line (an Env value)', `GOOGLE_CREDENTIALS=${JSON.stringify(JSON.parse(gcpServiceAccount(k.pkcs8)))}`, ['gcp-service-account']],
    ['negative: service-account JSON without a private_key (key id only)', JSON.stringify({ type: 'service_account', private_key_id: fakeChars(40, HEX, 3), client_email: 'x@y.iam.gserviceaccount.com' }), []],
    ['negative: service-account JSON with an empty private_key', JSON.stringify({ type: 'service_account', private_key: '' }), []],
    ['negative: not a service account (authorized_user): only the key itself is reported', gcpServiceAccount(k.pkcs8, 'authorized_user'), ['private-key']],
  ],
  'azure-storage-connection-string': [
    ['connection string with an account key', azure('fakeacct1', azureKey), ['azure-storage-connection-string']],
    ['connection string quoted in appsettings.json', `{"Storage": "${azure('fakeacct2', fake.azureKey(81))}"}`, ['azure-storage-connection-string']],
    // The Azurite / storage emulator account and key, published by Microsoft.
    ['negative: the storage emulator account devstoreaccount1', azure('devstoreaccount1', `Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==`), []],
    ['negative: placeholder key', azure('fakeacct1', 'A'.repeat(86) + '=='), []],
    ['negative: key too short', azure('fakeacct1', fakeChars(30, BASE64, 5)), []],
  ],
  'private-key': [
    ['PKCS#1 RSA PRIVATE KEY', k.rsa, ['private-key']],
    ['SEC1 EC PRIVATE KEY', k.ec, ['private-key']],
    ['PKCS#8 PRIVATE KEY', k.pkcs8, ['private-key']],
    ['ENCRYPTED PRIVATE KEY', k.encrypted, ['private-key']],
    ['OPENSSH PRIVATE KEY', openssh, ['private-key']],
    ['DSA PRIVATE KEY', dsa, ['private-key']],
    ['key in a JSON string with \\n escapes', JSON.stringify({ tls: { key: k.rsa } }), ['private-key']],
    ['negative: header only, in code that parses keys (Trivy #2274)', 'if line == "-----BEGIN RSA PRIVATE KEY-----":\n    kind = "rsa"\n', []],
    ['negative: header and footer around a placeholder', pem('RSA PRIVATE KEY', 'MIIE...your key here...'), []],
    ['negative: body too short (32 base64 characters)', pem('PRIVATE KEY', fakeChars(32, BASE64, 6)), []],
    ['negative: low-entropy body', pem('PRIVATE KEY', 'A'.repeat(200)), []],
    ['negative: a PUBLIC KEY with a body', pem('PUBLIC KEY', fake.keyBody(300, 7)), []],
    ['negative: a CERTIFICATE', pem('CERTIFICATE', fake.keyBody(900, 8)), []],
    ['negative: unknown label (PRIVATE KEYS)', pem('RSA PRIVATE KEYS', fake.keyBody(300, 9)), []],
  ],
  'pgp-private-key': [
    ['armored secret key block with headers', pgpPrivate, ['pgp-private-key']],
    ['negative: a PGP PUBLIC KEY BLOCK', pgpBlock('PUBLIC', 600), []],
    ['negative: a private block with a 30-character body', pgpBlock('PRIVATE', 30), []],
  ],
  'aws-secret-access-key': [
    ['~/.aws/credentials', `[default]\naws_access_key_id = ${awsKeyId}\naws_secret_access_key = ${awsSecret}\n`, ['aws-access-key-id', 'aws-secret-access-key']],
    ['AWS_SECRET_ACCESS_KEY=… (Env)', `AWS_SECRET_ACCESS_KEY=${awsSecret}`, ['aws-secret-access-key']],
    ['"SecretAccessKey": "…" (aws iam create-access-key output)', `{"AccessKey": {"SecretAccessKey": "${awsSecret}"}}`, ['aws-secret-access-key']],
    ['aws configure set aws_secret_access_key … (blank-separated)', `aws configure set aws_secret_access_key ${awsSecret}`, ['aws-secret-access-key']],
    ['a secret key padded far past a column (100 blanks before and after =)', `aws_secret_access_key${' '.repeat(100)}=${' '.repeat(100)}${awsSecret}`, ['aws-secret-access-key']],
    ['negative: the AWS documentation example secret', `aws_secret_access_key = ${AWS_DOC_SECRET}`, []],
    ['negative: 40 base64 characters with no AWS secret name', `checksum = ${awsSecret}`, []],
    ['negative: placeholder after the name', `aws_secret_access_key = ${'x'.repeat(40)}`, []],
    ['negative: 41 characters (not a secret key; an opaque assignment)', `AWS_SECRET=${awsSecret}Q`, ['generic-secret']],
  ],
  'aws-access-key-id': [
    ['AKIA key id in a config', `access_key_id: ${awsKeyId}`, ['aws-access-key-id']],
    ['ASIA (STS) key id', `ASIA${fakeChars(16, BASE32, 12)}`, ['aws-access-key-id']],
    ['negative: the AWS documentation example key id (…EXAMPLE, as gitleaks allow-lists)', `aws_access_key_id = ${AWS_DOC_KEY_ID}`, []],
    ['negative: wrong prefix (AKIB)', `AKIB${awsKeyId.slice(4)}`, []],
    ['negative: too short (19 characters)', awsKeyId.slice(0, 19), []],
    ['negative: inside a longer word', `X${awsKeyId}`, []],
    ['negative: low entropy', `AKIA${'A'.repeat(16)}`, []],
    ['negative: characters outside base32 (0, 1, 8, 9)', `AKIA${fakeChars(16, '01890189', 13)}`, []],
  ],
  'github-token': [
    ['ghp_ personal access token in a curl header', `curl -H "Authorization: token ${ghp}" https://api.github.com/user`, ['github-token']],
    ['gho_ OAuth token', `oauth=${fake.github('gho')}`, ['github-token']],
    ['ghs_ server-to-server token', fake.github('ghs'), ['github-token']],
    ['ghr_ refresh token', fake.github('ghr'), ['github-token']],
    ['negative: wrong prefix (ghx_)', `ghx_${ghp.slice(4)}`, []],
    ['negative: too short (35 characters after the prefix)', ghp.slice(0, 39), []],
    ['negative: placeholder', `${'gh'}p_${'x'.repeat(36)}`, []],
  ],
  'github-fine-grained-pat': [
    ['github_pat_ token', `GH_TOKEN=${fineGrained}`, ['github-fine-grained-pat']],
    ['negative: second part one character short', fineGrained.slice(0, -1), []],
    ['negative: missing the separator', fineGrained.replace(/_(?=[^_]*$)/, ''), []],
  ],
  'slack-token': [
    ['xoxb- bot token', `SLACK_BOT=${slack}`, ['slack-token']],
    ['xoxp- user token', `xoxp-${slack.slice(5)}`, ['slack-token']],
    ['negative: documentation placeholder (no digits)', `${'xo'}xb-your-bot-token-here`, []],
    ['negative: wrong prefix (xoxz-)', `xoxz-${slack.slice(5)}`, []],
    ['negative: too short', `${'xo'}xb-12345`, []],
  ],
  'slack-webhook-url': [
    ['incoming webhook URL', `SLACK_WEBHOOK=${hook(hookPath)}`, ['slack-webhook-url']],
    ['negative: Slack\'s documentation example (T00000000/B00000000/XXXX…)', hook('T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'), []],
    ['negative: another host', `https://hooks.example.org/services/${hookPath}`, []],
    ['negative: path too short', hook(hookPath.slice(0, 30)), []],
  ],
  'npm-token': [
    ['.npmrc with an automation token', `//registry.npmjs.org/:_authToken=${npm}\n`, ['npm-token']],
    ['negative: 35 characters', npm.slice(0, -1), []],
    ['negative: placeholder', `${'np'}m_${'x'.repeat(36)}`, []],
    ['negative: another prefix (pnpm_)', `p${npm}`, []],
  ],
  'generic-secret': [
    ['DB_PASSWORD=… (env file)', `DB_PASSWORD=${password}\n`, ['generic-secret']],
    ['"api_key": "…" (JSON)', `{"api_key": "${fakeChars(32, HEX, 22)}"}`, ['generic-secret']],
    ['client_secret: … (YAML)', `oauth:\n  client_secret: ${fakeChars(24, ALNUM, 23)}\n`, ['generic-secret']],
    ['clientSecret = \'…\' (JS, camelCase)', `const clientSecret = '${fakeChars(20, ALNUM, 24)}';`, ['generic-secret']],
    ['--password=… (command line)', `mysql --password=${password} db`, ['generic-secret']],
    ['legacy npm token: a UUID after _authToken', `//registry.internal.corp/:_authToken=${uuid}`, ['generic-secret']],
    ['secretKey = … (camelCase Key suffix)', `secretKey: ${fakeChars(40, ALNUM, 25)}`, ['generic-secret']],
    ['Vault client_token', `client_token = "${'hvs.'}${fakeChars(24, ALNUM, 26)}"`, ['generic-secret']],
    ['negative: changeme', 'password=changeme12345678', []],
    ['negative: ${VAR} reference', 'password: "${DB_PASSWORD}"', []],
    ['negative: <placeholder>', 'api_key = "<your-api-key-1>"', []],
    ['negative: xxxx mask', 'token=xxxxxxxxxxxx1234', []],
    ['negative: example value', 'api_key: example-key-123456', []],
    ['negative: too short (11 characters)', `password=${password.slice(0, 11)}`, []],
    ['negative: low entropy', 'password=aaaaaaaa1111', []],
    ['negative: no digit (a word, not a secret)', 'token_type: BearerTokenType', []],
    ['negative: a path', 'password_file=/run/secrets/db_password1', []],
    ['negative: a URL', 'token_url: https://login.microsoftonline.com/common/oauth2/v2.0/token', []],
    ['negative: a code reference', 'api_key = settings.API_KEY2', []],
    ['negative: an environment reference', 'password: DB_PASSWORD_V2', []],
    ['negative: not an assignment', `the token ${password} was rotated`, []],
    ['negative: keyword inside a word (tokenizer)', `tokenizer = ${password}`, []],
    ['negative: value on the next line', `password:\n  ${password}`, []],
    ['negative: a name about the secret, not the secret (secret_version, token_type)', `secret_version=${password}\nTOKEN_TYPE=${password}`, []],
    ['negative: a pagination / idempotency token (AWS API examples)', `"ClientRequestToken": "${uuid}", "NextContinuationToken": "${password}"`, []],
    ['negative: the qualifier as a separate word', `Next page token: ${password}`, []],
    ['negative: a type name after :: (CloudFormation)', `"AWS::ApiGateway::ApiKey": "${fakeChars(16, HEX, 27)}"`, []],
    ['negative: a comparison, not an assignment', `if (a.token.length ==1||b) x=${password}`, []],
    ['negative: an identifier made of words', 'tokens.CloseCurlyToken = module$contents$goog$cssom$tokens2', []],
    ['negative: a resource name', '--webhook-secret-secret-version=projects/myproj/secrets/whsecret/versions/1', []],
    ['negative: a URN', '_TOKEN_KIND = "urn:ietf:params:aws:token-type:aws4_request"', []],
    ['negative: a documentation URL (RFC 2606 domain)', `GET https://example.com/protected?access_token=${password}`, []],
    ['negative: the RFC 6749 example access token', 'access_token = 2YotnFZFEjr1zCsicMWpAA', []],
  ],
};

describe('the secret rules', () => {
  it('are an explicit list of kebab-case ids, each with a title, a severity and keywords', () => {
    expect(SECRET_RULES.map((r) => [r.id, r.severity])).toEqual([
      ['gcp-service-account', 'critical'],
      ['azure-storage-connection-string', 'critical'],
      ['private-key', 'high'],
      ['pgp-private-key', 'high'],
      ['aws-secret-access-key', 'critical'],
      ['aws-access-key-id', 'high'],
      ['github-token', 'critical'],
      ['github-fine-grained-pat', 'critical'],
      ['slack-token', 'high'],
      ['slack-webhook-url', 'medium'],
      ['npm-token', 'critical'],
      ['generic-secret', 'medium'],
    ]);
    for (const r of SECRET_RULES) {
      expect(r.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(r.title.length).toBeGreaterThan(0);
      expect(r.keywords.length).toBeGreaterThan(0);
      for (const kw of r.keywords) expect(kw).toBe(kw.toLowerCase());
      expect(r.pattern.flags).toContain('g');
    }
  });

  it('every rule has at least one positive and one negative case below', () => {
    for (const r of SECRET_RULES) {
      const cases = CASES[r.id] ?? [];
      expect({ rule: r.id, positives: cases.some(([, , ids]) => ids.includes(r.id)) }).toEqual({ rule: r.id, positives: true });
      expect({ rule: r.id, negatives: cases.some(([, , ids]) => !ids.includes(r.id)) }).toEqual({ rule: r.id, negatives: true });
    }
    expect(Object.keys(CASES).sort()).toEqual(SECRET_RULES.map((r) => r.id).sort());
  });

  describe.each(Object.entries(CASES))('%s', (_rule, cases) => {
    it.each(cases.map((c) => [...c]))('%s', (_name, text, expected) => {
      const hits = findSecrets(text as string);
      expect(hits.map((h) => h.rule.id)).toEqual(expected);
      for (const h of hits) {
        expect((text as string).slice(h.index, h.index + h.secret.length)).toBe(h.secret);
        expect(h.line).toBeGreaterThanOrEqual(1);
      }
    });
  });

  it('finds the secret itself (not its surroundings) and its line', () => {
    const text = `# app config\nhost=db.internal\nGITHUB_TOKEN=${ghp}\nDB_PASSWORD='${password}'\n\n${k.rsa}`;
    const hits = findSecrets(text);
    expect(hits.map((h) => [h.rule.id, h.line, h.label])).toEqual([
      ['github-token', 3, 'personal access token'],
      ['generic-secret', 4, 'DB_PASSWORD'],
      ['private-key', 7, 'RSA PRIVATE KEY'],
    ]);
    expect(hits[0].secret).toBe(ghp);
    expect(hits[1].secret).toBe(password);
    expect(hits[2].secret).toBe(k.rsa.split('\n').slice(1, -2).join('\n'));
  });

  it('an earlier rule wins an overlap: a token assignment is not also a generic secret', () => {
    expect(findSecrets(`API_TOKEN=${ghp}`).map((h) => h.rule.id)).toEqual(['github-token']);
    expect(findSecrets(`NPM_TOKEN=${npm}`).map((h) => h.rule.id)).toEqual(['npm-token']);
    expect(findSecrets(gcpServiceAccount(k.rsa)).map((h) => h.rule.id)).toEqual(['gcp-service-account']);
  });

  it('the same text always gives the same hits (global regexes keep no state between calls)', () => {
    const text = `a=${ghp}\nb=${npm}\n`;
    expect(findSecrets(text)).toEqual(findSecrets(text));
  });

  it('the fingerprint changes with the rule list', () => {
    expect(rulesFingerprint()).toMatch(/^[0-9a-f]{12}$/);
    expect(rulesFingerprint(SECRET_RULES.slice(1))).not.toBe(rulesFingerprint());
  });
});

describe('redact', () => {
  it.each([
    ['a 40-character token shows 4 characters and the length', ghp, `${ghp.slice(0, 4)}*** [40 chars]`],
    ['a 12-character password shows 2', 'Zr8u2Lq9vXe4', 'Zr*** [12 chars]'],
    ['a 6-character value shows nothing', 'abc123', '*** [6 chars]'],
    ['surrounding whitespace is not counted', `\n  ${ghp}\n`, `${ghp.slice(0, 4)}*** [40 chars]`],
    ['a non-printable head is not shown', `\u0001${'a'.repeat(20)}`, '*** [21 chars]'],
  ])('%s', (_name, input, out) => {
    expect(redact(input)).toBe(out);
  });

  it('never shows more than a quarter of the secret, nor any 8-character piece of it', () => {
    for (const s of [ghp, npm, awsSecret, password, pemBody(k.rsa), fineGrained, slack, azureKey]) {
      const r = redact(s);
      expect(r.replace(/\*\*\* \[\d+ chars\]$/, '').length).toBeLessThanOrEqual(s.length / 4);
      expectNoLeak(r, [s]);
    }
  });
});

describe('helpers of the rules', () => {
  it.each([
    ['empty', '', 0],
    ['one repeated character', 'aaaa', 0],
    ['two characters, equally often', 'abab', 1],
    ['16 distinct characters', 'abcdefghijklmnop', 4],
  ])('shannonEntropy: %s', (_name, s, h) => {
    expect(shannonEntropy(s)).toBeCloseTo(h, 10);
  });

  it('generated fake secrets are not placeholders', () => {
    for (const s of [password, ghp, npm, awsSecret, awsKeyId, slack, azureKey, fineGrained]) expect(isPlaceholder(s)).toBe(false);
  });

  it('the generic threshold passes generated passwords and refuses repetition', () => {
    expect(shannonEntropy(password)).toBeGreaterThanOrEqual(GENERIC_MIN_ENTROPY);
    expect(shannonEntropy('aaaaaaaa1111')).toBeLessThan(GENERIC_MIN_ENTROPY);
  });

  it.each([
    ['changeme', true],
    ['${DB_PASSWORD}', true],
    ['$DB_PASSWORD', true],
    ['{{ .Values.token }}', true],
    ['<token>', true],
    ['xxxxxxxx', true],
    ['********', true],
    ['my-EXAMPLE-key', true],
    ['your_api_key', true],
    ['zzzzzzzzzzzz', true],
  ])('isPlaceholder(%j) → %s', (value, expected) => {
    expect(isPlaceholder(value)).toBe(expected);
  });
});
