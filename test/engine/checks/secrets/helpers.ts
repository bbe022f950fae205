import type { TestFile } from '../malware/helpers';
import { generateKeyPairSync } from 'node:crypto';
import type { EntryInfo } from '../../../../lib/engine/layers/layer-reader';
import type { Digest } from '../../../../lib/engine/model';

/**
 * Fake secrets for the tests. None of them was ever issued by anyone: the tokens are made here from a
 * seeded pseudo-random generator (so they have the spread of real ones and pass the entropy checks)
 * and most start with `FAKE`; the private keys are generated at test time and thrown away. Prefixes
 * are split (`'gh' + 'p_'`) so that this file itself holds no secret-shaped literal for a repository
 * scanner to trip on. The only literal keys are AWS's published documentation examples, which the
 * rules deliberately do NOT report.
 */

export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const ALNUM = `${UPPER}abcdefghijklmnopqrstuvwxyz0123456789`;
export const BASE32 = `${UPPER}234567`;
export const BASE64 = `${ALNUM}+/`;
export const HEX = '0123456789abcdef';

/** `n` characters of `alphabet` from a seeded LCG (deterministic, uniform enough for entropy). */
export function fakeChars(n: number, alphabet: string, seed: number): string {
  let x = (seed * 2654435761 + 12345) >>> 0;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out += alphabet[(x >>> 8) % alphabet.length];
  }
  return out;
}

/** Base64 lines of 64 characters, as in a PEM body. */
export function pemLines(b64: string): string {
  return b64.match(/.{1,64}/g)?.join('\n') ?? '';
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';

/** A PEM block with a label and a base64 body. */
export function pem(label: string, body: string): string {
  return `${BEGIN}${label}-----\n${pemLines(body)}\n${END}${label}-----\n`;
}

/** The body (base64 only, no line breaks) of a PEM text. */
export function pemBody(text: string): string {
  return text.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----')).join('');
}

let keys: { rsa: string; ec: string; pkcs8: string; encrypted: string } | undefined;

/** Private keys generated at test time: PKCS#1 RSA, SEC1 EC, PKCS#8 and encrypted PKCS#8. */
export function generatedKeys(): { rsa: string; ec: string; pkcs8: string; encrypted: string } {
  if (keys) return keys;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  keys = {
    rsa: rsa.export({ type: 'pkcs1', format: 'pem' }).toString(),
    ec: ec.export({ type: 'sec1', format: 'pem' }).toString(),
    pkcs8: ec.export({ type: 'pkcs8', format: 'pem' }).toString(),
    encrypted: rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'test-only' }).toString(),
  };
  return keys;
}

/** Token-shaped fakes, one per rule. */
export const fake = {
  awsKeyId: (seed = 1): string => `${'AK'}IA` + `FAKE${fakeChars(12, BASE32, seed)}`,
  awsSecret: (seed = 2): string => `FAKE${fakeChars(36, BASE64, seed)}`,
  github: (prefix = 'ghp', seed = 3): string => `${prefix}_FAKE${fakeChars(32, ALNUM, seed)}`,
  githubFineGrained: (seed = 4): string => `${'github'}_pat_FAKE${fakeChars(18, ALNUM, seed)}_${fakeChars(59, ALNUM, seed + 1)}`,
  slack: (seed = 5): string => `${'xo'}xb-${fakeChars(12, '0123456789', seed)}-${fakeChars(13, '0123456789', seed + 1)}-FAKE${fakeChars(20, ALNUM, seed + 2)}`,
  slackWebhookPath: (seed = 6): string => `T${fakeChars(10, BASE32, seed)}/B${fakeChars(10, BASE32, seed + 1)}/FAKE${fakeChars(20, ALNUM, seed + 2)}`,
  npm: (seed = 7): string => `${'np'}m_FAKE${fakeChars(32, ALNUM, seed)}`,
  azureKey: (seed = 8): string => `FAKE${fakeChars(82, BASE64, seed)}==`,
  password: (seed = 9): string => `FAKE${fakeChars(16, ALNUM, seed)}`,
  keyBody: (n: number, seed = 10): string => `FAKE${fakeChars(n - 4, BASE64, seed)}`,
};

/** A GCP service-account key file with a generated private key (as the JSON escapes it). */
export function gcpServiceAccount(privateKeyPem: string, type = 'service_account'): string {
  return JSON.stringify(
    {
      type,
      project_id: 'fake-project',
      private_key_id: fakeChars(40, HEX, 11),
      private_key: privateKeyPem,
      client_email: 'fake@fake-project.iam.gserviceaccount.com',
      client_id: fakeChars(21, '0123456789', 12),
      token_uri: 'https://oauth2.googleapis.com/token',
    },
    null,
    2,
  );
}

/** A PGP private key block with armor headers and a fake body. */
export function pgpBlock(kind: 'PRIVATE' | 'PUBLIC', bodyChars: number): string {
  const body = fake.keyBody(bodyChars, 13);
  return `${BEGIN}PGP ${kind} KEY BLOCK-----\nComment: fake key for tests <nobody@invalid>\n\n${pemLines(body)}\n=${fakeChars(4, BASE64, 14)}\n${END}PGP ${kind} KEY BLOCK-----\n`;
}

/**
 * Asserts that `output` (findings, unknowns, anything) holds no piece of any secret: no 8-character
 * window of it appears in its JSON. (redact shows at most 4 leading characters.)
 */
export function expectNoLeak(output: unknown, secrets: readonly string[]): void {
  const s = JSON.stringify(output);
  for (const secret of secrets) {
    for (let i = 0; i + 8 <= secret.length; i++) {
      const w = secret.slice(i, i + 8);
      if (s.includes(w)) throw new Error(`output leaks ${JSON.stringify(w)} of a secret: ${s.slice(0, 2000)}`);
    }
  }
}

/** Metadata of a regular file as the layer reader would report it. */
export function fileInfo(size: number, type: EntryInfo['type'] = 'file', mode = 0o644): EntryInfo {
  return { type, size, mode, uid: 0, gid: 0, mtime: 0 };
}

/** A hand-made file with its layer (for check tests that do not need a layer). */
export function checkFile(path: string, body: Buffer | string, opts: { layer?: string; size?: number } = {}): TestFile {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { path, layer: (opts.layer ?? `sha256:${'cd'.repeat(32)}`) as Digest, info: fileInfo(opts.size ?? b.length), body: b };
}

export type { TestFile } from '../malware/helpers';
export { checkBuiltLayers, readBuiltLayers, scanFiles } from '../malware/helpers';

/**
 * A seeded random text dense in what the secret rules look at: every rule's keywords in mixed case,
 * identifier prefixes up to 80 characters long (past the generic rule's 64), assignment operators,
 * quotes, `::`, blanks and line breaks, values of every shape (random, token-shaped fakes, PEM
 * armor), and near misses (`passw0rd`, `tokn`, `AKI A`). For differential and bound tests.
 */
export function denseSecretText(r: () => number, pieces: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const mixCase = (s: string): string => [...s].map((c) => (r() < 0.3 ? c.toUpperCase() : c)).join('');
  const ident = (n: number): string => fakeChars(n, `${ALNUM}_.-`, Math.floor(r() * 1e9));
  const keywords = ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'api-key', 'service_account', 'DefaultEndpointsProtocol', 'private key-----', 'PGP PRIVATE KEY BLOCK', 'a3t', 'AKIA', 'ASIA', 'abia', 'acca', 'ghp_', 'gho_', 'github_pat_', 'xoxb-', 'xoxp-', 'hooks.slack.com', 'npm_', 'aws_secret_access_key', 'AWS-SECRET', 'secret.access.key', 'awssecretkey'];
  const seps = ['=', ':', ':=', '=>', ' = ', ': ', '\t=\t', ' ', '"', "'", '::', '\n', '\r\n', ',', ';', '(', ')', '{', '}', '[', ']', '<', '>', '`', '/', '.', '-', '_', '$', '=='];
  const value = (): string =>
    pick([
      () => fakeChars(4 + Math.floor(r() * 40), ALNUM, Math.floor(r() * 1e9)),
      () => `"${fakeChars(12 + Math.floor(r() * 20), ALNUM, Math.floor(r() * 1e9))}"`,
      () => fake.password(Math.floor(r() * 1e6)),
      () => fake.awsSecret(Math.floor(r() * 1e6)),
      () => fake.awsKeyId(Math.floor(r() * 1e6)),
      () => fake.github(pick(['ghp', 'gho', 'ghu', 'ghs', 'ghr']), Math.floor(r() * 1e6)),
      () => fake.githubFineGrained(Math.floor(r() * 1e6)),
      () => fake.slack(Math.floor(r() * 1e6)),
      () => `https://hooks.slack.com/services/${fake.slackWebhookPath(Math.floor(r() * 1e6))}`,
      () => fake.npm(Math.floor(r() * 1e6)),
      () => `DefaultEndpointsProtocol=https;AccountName=fake${Math.floor(r() * 1000)};AccountKey=${fake.azureKey(Math.floor(r() * 1e6))}`,
      () => `-----BEGIN ${pick(['', 'RSA ', 'EC ', 'ENCRYPTED ', 'OPENSSH '])}PRIVATE KEY-----\n${pemLines(fake.keyBody(80 + Math.floor(r() * 200), Math.floor(r() * 1e6)))}\n-----END ${pick(['', 'RSA '])}PRIVATE KEY-----`,
      () => `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${pemLines(fake.keyBody(100, Math.floor(r() * 1e6)))}\n-----END PGP PRIVATE KEY BLOCK-----`,
      () => `"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n${fake.keyBody(100, Math.floor(r() * 1e6))}\\n-----END PRIVATE KEY-----\\n"`,
      () => pick(['changeme', '${TOKEN}', 'example.com', 'os.environ["X"]', 'passw0rd', 'tokn', 'secre t', 'gh_p', 'AKI A', 'xox-b', 'npm-', 'hooks.slack.co']),
    ])();
  let out = '';
  for (let i = 0; i < pieces; i++) {
    const x = r();
    if (x < 0.3) out += (r() < 0.5 ? ident(Math.floor(r() * 81)) : '') + mixCase(pick(keywords)) + (r() < 0.5 ? pick(['', 'Key', '_value', '_type', '.x', '-token']) : '') + (r() < 0.5 ? pick(['=', ': ', ' := ', '=>', '"="', ' ', '\t']) + value() : '');
    else if (x < 0.55) out += pick(seps);
    else if (x < 0.8) out += value();
    else out += ident(1 + Math.floor(r() * 20));
  }
  return out;
}
