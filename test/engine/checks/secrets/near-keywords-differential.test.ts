/**
 * The secrets scanner runs each rule only near its keyword occurrences (rules.ts `matchesNear`, with
 * the bound of keyword-bound.ts); before, every rule whose keyword a window held ran over the whole
 * window. The hits — rule, offset, secret, label, line — and the file check's findings must be exactly
 * those of the scanner before (a verbatim copy: ../reference-keyword-secrets.ts), on every rule's
 * samples split at every position and in 1-byte chunks, on seeded random texts dense in keywords,
 * assignments and near misses, on real files of this machine, across windows, past the automaton's
 * occurrence record, and with rule lists other than the built-in one.
 */
import { machineFiles, REPO_NODE_MODULES } from '../../../helpers/machine-files';
import { createSecretsFileCheck } from '../../../../lib/engine/checks/secrets';
import { MAX_RECORDED } from '../../../../lib/engine/checks/multi-pattern';
import { SECRET_RULES, SecretStreamScanner, type SecretHit, type SecretRule } from '../../../../lib/engine/checks/secrets/rules';
import type { EntryInfo } from '../../../../lib/engine/layers/layer-reader';
import type { Digest, Finding } from '../../../../lib/engine/model';
import { KeywordSecretStreamScanner, keywordSecretsFindings } from '../reference-keyword-secrets';
import { mulberry32 as rng } from '../../../helpers/prng';
import { bytewise, cutAt, randomCuts } from '../../../helpers/chunks';
import { denseSecretText, fake, gcpServiceAccount, generatedKeys, pgpBlock } from './helpers';

const LAYER = `sha256:${'5f'.repeat(32)}` as Digest;
const info = (size: number): EntryInfo => ({ type: 'file', size, mode: 0o644, uid: 0, gid: 0, mtime: 0 });

/** Hits of the current scanner and of the reference over the same chunks. */
function both(chunks: readonly Buffer[], rules: readonly SecretRule[] = SECRET_RULES, blockChars?: number): { now: SecretHit[]; before: SecretHit[] } {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const now = new SecretStreamScanner(rules, blockChars, size);
  const before = new KeywordSecretStreamScanner(rules, blockChars, size);
  for (const c of chunks) {
    // The reader may reuse a chunk's memory after the write: neither scanner may keep a view.
    const view = Buffer.from(c);
    now.write(view);
    before.write(Buffer.from(c));
    view.fill(0x41);
  }
  return { now: now.end(), before: before.end() };
}

async function fileCheck(path: string, chunks: readonly Buffer[]): Promise<readonly Finding[] | undefined> {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const run = createSecretsFileCheck().openLayer(LAYER);
  const sink = run.file(path, info(size));
  if (!sink) return undefined;
  for (const c of chunks) sink.write(c);
  sink.end();
  return (await run.finish()).findings;
}

const keys = generatedKeys();
/** Per rule: a sample it reports, and the longest prefix before its keyword it admits. */
const SAMPLES: readonly (readonly [string, string])[] = [
  ['gcp-service-account', gcpServiceAccount(keys.pkcs8)],
  ['azure-storage-connection-string', `STORAGE=DefaultEndpointsProtocol=https;AccountName=fakeacct1;AccountKey=${fake.azureKey()};EndpointSuffix=core.windows.net\n`],
  ['private-key', keys.ec],
  ['private-key', keys.encrypted],
  ['pgp-private-key', pgpBlock('PRIVATE', 300)],
  ['aws-secret-access-key', `aws_secret_access_key = ${fake.awsSecret()}\n`],
  ['aws-access-key-id', `key_id: ${fake.awsKeyId()}\n`],
  ['github-token', `GITHUB_TOKEN=${fake.github('ghp')}\n`],
  ['github-fine-grained-pat', `pat ${fake.githubFineGrained()}\n`],
  ['slack-token', `bot: ${fake.slack()}\n`],
  ['slack-webhook-url', `url = "https://hooks.slack.com/services/${fake.slackWebhookPath()}"\n`],
  ['npm-token', `//registry.npmjs.org/:_authToken=${fake.npm()}\n`],
  ['generic-secret', `DB_PASSWORD="${fake.password()}"\n`],
  ['generic-secret', `${'x'.repeat(64)}password = ${fake.password(5)}\n`],
];

describe('every rule sample: the same hits and findings at every split and in 1-byte chunks', () => {
  it.each(SAMPLES)('%s', async (rule, sample) => {
    const body = Buffer.from(`# settings\n${sample}# end ${'token'} secret=\n`, 'latin1');
    const { now, before } = both([body]);
    expect(now.map((h) => h.rule.id)).toContain(rule);
    expect(now).toEqual(before);
    for (let k = 0; k <= body.length; k++) expect([k, both(cutAt(body, [k])).now]).toEqual([k, before]);
    expect(both(bytewise(body)).now).toEqual(before);
    const expected = keywordSecretsFindings(LAYER, '/app/config', info(body.length), [body]);
    expect(expected!.length).toBeGreaterThan(0);
    expect(await fileCheck('/app/config', [body])).toEqual(expected);
    expect(await fileCheck('/app/config', bytewise(body))).toEqual(expected);
  });
});

describe('seeded random texts dense in keywords, assignments and near misses', () => {
  it('250 texts under random chunkings: the same hits', () => {
    const r = rng(16_016);
    let hits = 0;
    const rules = new Set<string>();
    for (let i = 0; i < 250; i++) {
      const body = Buffer.from(denseSecretText(r, 50 + Math.floor(r() * 400)), 'latin1');
      const { now, before } = both([body]);
      expect([i, now]).toEqual([i, before]);
      expect([i, both(cutAt(body, randomCuts(r, body.length))).now]).toEqual([i, before]);
      hits += before.length;
      for (const h of before) rules.add(h.rule.id);
    }
    expect(hits).toBeGreaterThan(500);
    // Every rule reported something: none of them was compared on silence only.
    expect([...rules].sort()).toEqual(SECRET_RULES.map((x) => x.id).sort());
  });

  it('short dense texts at every split', () => {
    const r = rng(77);
    for (let i = 0; i < 16; i++) {
      const body = Buffer.from(denseSecretText(r, 10), 'latin1');
      const { before } = both([body]);
      for (let k = 0; k <= body.length; k++) expect([i, k, both(cutAt(body, [k])).now]).toEqual([i, k, before]);
      expect([i, both(bytewise(body)).now]).toEqual([i, before]);
    }
  });

  it('a long dense body over several windows (small blockChars), and one window', () => {
    const r = rng(5150);
    let text = '';
    while (text.length < 2_400_000) text += denseSecretText(r, 500) + '\n';
    const body = Buffer.from(text, 'latin1');
    for (const block of [65_536, 1_000_000, undefined]) {
      const { now, before } = both(cutAt(body, randomCuts(r, body.length)), SECRET_RULES, block);
      expect(before.length).toBeGreaterThan(100);
      expect([block, now]).toEqual([block, before]);
    }
  });

  it('past the automaton occurrence record (more than MAX_RECORDED keywords in a window): the full scan, the same hits', () => {
    const r = rng(3);
    const filler = 'npm_ token '.repeat(Math.ceil((MAX_RECORDED + 1000) / 2));
    const body = Buffer.from(`${denseSecretText(r, 300)}\n${filler}\n${denseSecretText(r, 300)}\n${SAMPLES.map((s) => s[1]).join('\n')}`, 'latin1');
    const { now, before } = both(cutAt(body, randomCuts(r, body.length)));
    expect(before.length).toBeGreaterThan(10);
    expect(now).toEqual(before);
  });
});

describe('rule lists other than the built-in one', () => {
  const custom: SecretRule[] = [
    // Keywords where one holds the other: their occurrences end in one order and start in another.
    { id: 'nested', title: 'Nested', severity: 'low', keywords: ['zzabcdef', 'cd'], pattern: /[a-z]{0,3}(?:zzabcdef|cd)[0-9]{2}/g, accept: (m) => ({ index: m.index!, secret: m[0] }) },
    // Unbounded before its keyword: scanned in full.
    { id: 'unbounded', title: 'Unbounded', severity: 'low', keywords: ['key'], pattern: /[a-z]*key=[0-9]+/gi, accept: (m) => ({ index: m.index!, secret: m[0] }) },
    // An empty keyword: runs on every window.
    { id: 'always', title: 'Always', severity: 'low', keywords: [''], pattern: /q[0-9]{3}/g, accept: (m) => ({ index: m.index!, secret: m[0] }) },
    // Empty matches: the scan moves one character on, as matchAll does.
    { id: 'empty', title: 'Empty', severity: 'low', keywords: ['mark'], pattern: /(?=mark)|mark[0-9]/g, accept: (m) => (m[0].length === 0 ? undefined : { index: m.index!, secret: m[0] }) },
  ];
  it('random texts over these rules plus the built-in ones', () => {
    const r = rng(9);
    const alphabet = ['zzabcdef', 'cd', 'abcd', 'KEY=', 'key', 'q123', 'mark', 'mark7', '12', '7', 'x', 'abc', ' ', '\n', '=', '99'];
    let hits = 0;
    for (let i = 0; i < 300; i++) {
      let t = '';
      for (let j = 0; j < 60; j++) t += alphabet[Math.floor(r() * alphabet.length)];
      const body = Buffer.from(t, 'latin1');
      for (const rules of [custom, [...custom, ...SECRET_RULES]]) {
        const { now, before } = both([body], rules);
        expect([i, now]).toEqual([i, before]);
        expect([i, both(cutAt(body, randomCuts(r, body.length)), rules).now]).toEqual([i, before]);
        hits += before.length;
      }
    }
    expect(hits).toBeGreaterThan(300);
  });
});

/** Real text-ish files of this machine: /usr/share, /etc, Node packages' .js/.json, .env-like files. */
function realFiles(): { path: string; body: Buffer }[] {
  const MiB = 1024 * 1024;
  return machineFiles([
    { dir: '/etc', depth: 5, bytes: 3 * MiB },
    { dir: '/usr/share/perl5', depth: 5, bytes: 3 * MiB },
    { dir: '/usr/share/doc', depth: 3, bytes: 2 * MiB },
    { dir: REPO_NODE_MODULES, depth: 6, bytes: 8 * MiB, name: /\.(?:[cm]?js|json|env|npmrc|ya?ml)$|^\.env/ },
    { dir: '/usr/lib/node_modules', depth: 6, bytes: 4 * MiB, name: /\.(?:[cm]?js|json|env|npmrc)$|^\.env/ },
  ]);
}

describe('real files of this machine', () => {
  const files = realFiles();
  it('the same hits whole and under random chunkings; the same findings through the file check', async () => {
    expect(files.length).toBeGreaterThan(300);
    const r = rng(1717);
    let hits = 0;
    for (const f of files) {
      // The file as it is, and (text files) with one rule sample planted at a random place.
      const variants = [f.body];
      if (!f.body.subarray(0, 8192).includes(0) && f.body.length < 512 * 1024) {
        const [, sample] = SAMPLES[Math.floor(r() * SAMPLES.length)];
        const at = Math.floor(r() * (f.body.length + 1));
        variants.push(Buffer.concat([f.body.subarray(0, at), Buffer.from(`\n${sample}\n`, 'latin1'), f.body.subarray(at)]));
      }
      for (const body of variants) {
        const { now, before } = both([body]);
        expect([f.path, now]).toEqual([f.path, before]);
        expect([f.path, both(cutAt(body, randomCuts(r, body.length))).now]).toEqual([f.path, before]);
        hits += before.length;
        const path = `/app/${f.path.replace(/^\//, '').replace(/[./]/g, '_')}`;
        expect([f.path, await fileCheck(path, cutAt(body, randomCuts(r, body.length)))]).toEqual([f.path, keywordSecretsFindings(LAYER, path, info(body.length), [body])]);
      }
    }
    expect(hits).toBeGreaterThan(200);
  });
});
