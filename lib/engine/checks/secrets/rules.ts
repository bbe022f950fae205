import { createHash } from 'node:crypto';
import { LATIN1_LOWER, MultiPattern, type PatternScan } from '../multi-pattern';
import type { Severity } from '../../model';
import { keywordBound } from './keyword-bound';

/**
 * The secrets check's rules: an explicit list, in precedence order, of what a leaked credential looks
 * like in a text (a file body, an `Env` entry, a history line). Modelled on the public rule sets of
 * gitleaks (config/gitleaks.toml), TruffleHog (pkg/detectors/*) and Trivy (pkg/fanal/secret/
 * builtin-rules.go) — same prefixes and shapes — but tuned for few false positives, because a finding
 * here is read by a person deciding whether an image may ship:
 *
 * - every rule has literal keywords (gitleaks/Trivy "keywords"): its regex only runs on a text that
 *   contains one of them, lower-cased;
 * - every match goes through `accept`: a minimum Shannon entropy (gitleaks' `entropy`), and the
 *   placeholders documentation is full of (`changeme`, `${VAR}`, `<token>`, `xxxx`, `example`) are
 *   refused ({@link isPlaceholder});
 * - AWS's documented example keys (`AKIAIOSFODNN7EXAMPLE`, `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`)
 *   are NOT reported: they are in every SDK, botocore's data files and countless READMEs (Trivy #2296),
 *   and gitleaks allow-lists them the same way (`.+EXAMPLE$` on `aws-access-token`). Tests use
 *   generated fake keys for the positive cases;
 * - the Azure storage emulator's published account (`devstoreaccount1`, a key printed in Microsoft's
 *   docs) is not reported either;
 * - example credentials printed in specifications (RFC 6749's `2YotnFZFEjr1zCsicMWpAA`, RFC 5849's)
 *   are refused wherever they appear ({@link PUBLISHED_EXAMPLES}): every OAuth library quotes them;
 * - a private key needs a body (Trivy #2274: a `-----BEGIN RSA PRIVATE KEY-----` string in code that
 *   parses keys is not a key);
 * - the generic rule (`password = …`) is the noisiest in every tool, so it also refuses names that are
 *   about a secret rather than one (`token_type`, `secret_version`), pagination and idempotency
 *   tokens, words and identifiers, paths, URLs and resource names, and lines with a documentation
 *   domain (`example.com`).
 *
 * When two rules match the same characters, the earlier rule in {@link SECRET_RULES} wins (a GCP
 * service-account file is one `gcp-service-account` finding, not also a `private-key` one; a GitHub
 * token in `GITHUB_TOKEN=…` is a `github-token`, not also a `generic-secret`).
 *
 * Nothing here ever returns or prints a secret except as {@link SecretMatch.secret}, which callers
 * must pass through {@link redact} before it goes anywhere.
 */

/** One candidate found by a rule's regex and accepted by its checks. */
export interface SecretMatch {
  /** Offset of the secret in the text. */
  readonly index: number;
  /** The sensitive characters themselves. Never log or report this: {@link redact} it. */
  readonly secret: string;
  /** Non-secret context for the message: the PEM label, the variable name, the token kind. */
  readonly label?: string;
}

/** One detection rule. */
export interface SecretRule {
  /** Kebab-case rule id: the finding's `id`. */
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  /** Lower-case literals; the pattern only runs on a text containing at least one. */
  readonly keywords: readonly string[];
  /** A global regex; `accept` turns each of its matches into a {@link SecretMatch} or refuses it. */
  readonly pattern: RegExp;
  /** Validates one regex match (entropy, placeholders, context); `text` is the whole text scanned. */
  readonly accept: (m: RegExpMatchArray, text: string) => SecretMatch | undefined;
}

/** A rule's accepted match with its place in the text. */
export interface SecretHit extends SecretMatch {
  readonly rule: SecretRule;
  /** 1-based line of the secret's first character. */
  readonly line: number;
}

/** Shannon entropy of `s` in bits per character (0 for the empty string). */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Example credentials published in specifications and vendor documentation, which appear in every
 * library that implements them (oauthlib's docstrings, SDK docs): never a leak. AWS's documentation
 * keys and the Azure storage emulator's key are refused by their rules (`EXAMPLE`, `devstoreaccount1`).
 */
export const PUBLISHED_EXAMPLES: ReadonlySet<string> = new Set([
  // RFC 6749 (OAuth 2.0) §4.1.4, §5.1: the example access and refresh tokens.
  '2YotnFZFEjr1zCsicMWpAA', 'tGzv3JOkF0XG5Qx2TlKWIA',
  // RFC 5849 (OAuth 1.0) §1.2: the example client and token credentials.
  'dpf43f3p2l4k3l03', 'kd94hf93k423kf44', 'hh5s93j4hdidpola', 'hdhd0244k9j7ao03', 'nnch734d00sl2jdk', 'pfkkdhi9sl3r4s00',
  // RFC 5849 §3.5.1: the example Authorization header's consumer key and token.
  '0685bd9184jfhq22', 'ad180jjd733klru7',
]);

/**
 * Placeholder values that are never a real credential: documentation words (`changeme`, `example`,
 * `placeholder`, `your_token`), template and variable references (`${VAR}`, `$VAR`, `{{ .x }}`,
 * `<token>`, `%(x)s`), masks (`xxxx`, `****`), one character repeated, and
 * {@link PUBLISHED_EXAMPLES}.
 */
export function isPlaceholder(value: string): boolean {
  if (/^\$|\$\{|\{\{|<|>|%\(|\*{3,}/.test(value)) return true;
  if (/x{4,}|X{4,}/.test(value)) return true;
  if (/example|changeme|changeit|placeholder|redacted|dummy|sample|your[_-]|replace[_-]?me|insert[_-]/i.test(value)) return true;
  return /^(.)\1*$/.test(value) || PUBLISHED_EXAMPLES.has(value);
}

/**
 * Share of `value` made of word-like runs (`contents`, `Keyword`: four or more lower-case letters,
 * or a capital and three or more): high for identifiers and phrases (`module$contents$tokens_Close`,
 * `mysecretpassword1`), low for generated secrets (a random 20-character token has few such runs).
 */
export function wordShare(value: string): number {
  let n = 0;
  for (const m of value.matchAll(/[A-Z]?[a-z]{4,}/g)) n += m[0].length;
  return value.length === 0 ? 0 : n / value.length;
}

const MiB = 1024 * 1024;

/**
 * What {@link redact} prints of a secret: the first characters (4 for a secret of 16 or more, 2 for
 * 8–15, none below) — never more than a quarter of it — then `***` and the length. Enough to tell two
 * findings apart and to find the line; useless to an attacker.
 */
export function redact(match: string): string {
  const s = match.trim();
  const shown = s.length >= 16 ? 4 : s.length >= 8 ? 2 : 0;
  // Only printable ASCII is ever shown (a secret starting with a control or non-ASCII byte shows none).
  const head = /^[\x21-\x7e]*$/.test(s.slice(0, shown)) ? s.slice(0, shown) : '';
  return `${head}*** [${s.length} chars]`;
}

/** Base64 characters of a key body, without armor headers, whitespace and JSON `\n` escapes. */
function base64Body(body: string): string {
  return body
    .replace(/\\n/g, '\n')
    .split(/\r?\n/)
    .filter((l) => !l.includes(':'))
    .join('')
    .replace(/[^A-Za-z0-9+/=]/g, '');
}

/** A key body worth reporting: at least 64 base64 characters with the spread of real key material. */
function isKeyBody(body: string): boolean {
  const b64 = base64Body(body);
  return b64.length >= 64 && shannonEntropy(b64) >= 4;
}

const GITHUB_KINDS: Readonly<Record<string, string>> = {
  ghp: 'personal access token',
  gho: 'OAuth access token',
  ghu: 'user-to-server token',
  ghs: 'server-to-server token',
  ghr: 'refresh token',
};

/** A token rule's usual acceptance: entropy above `min` and not a placeholder. */
function token(m: RegExpMatchArray, group: number, min: number, label?: string): SecretMatch | undefined {
  const secret = m[group];
  if (secret === undefined || m.index === undefined) return undefined;
  if (isPlaceholder(secret) || shannonEntropy(secret) < min) return undefined;
  return { index: m.index + m[0].indexOf(secret), secret, label };
}

/** Minimum length of a generic secret value. */
export const GENERIC_MIN_LENGTH = 12;
/** Maximum length of a generic secret value (longer runs are data, not a password). */
export const GENERIC_MAX_LENGTH = 256;
/** Minimum Shannon entropy (bits per character) of a generic secret value. */
export const GENERIC_MIN_ENTROPY = 3.3;

/**
 * Generic `name = value` assignments whose name says "secret": `password`, `passwd`, `secret`,
 * `token`, `api_key` (with any prefix: `DB_PASSWORD`, `clientSecret`, `_authToken`; a `Key`/`Value`
 * suffix: `secretKey`; and separator-led suffixes: `secret_key`, `token-value`), then `=`, `:`, `:=`
 * or `=>` on the same line (at most 4,096 blanks either side — column-aligned files pad far less; the bound only keeps every match finite for windowed streaming), then the value, quoted or not (at most
 * 4096 characters: every rule has a bounded match, so a stream can be scanned in windows). The value stops at blanks, quotes, and the
 * brackets and separators of code (`os.environ["X"]` gives `os.environ`, `${VAR}` gives `$`). A name
 * after `::` is a type name (`AWS::ApiGateway::ApiKey`), not a variable. Name parts are bounded (64
 * characters before the keyword, six suffixes of 32) so that no text costs more than a linear pass.
 */
const GENERIC =
  /(?<![A-Za-z0-9_.-])(?<!::)([A-Za-z0-9_.-]{0,64}?(?:password|passwd|secret|token|api[_-]?key)(?:key|value)?(?:[_.-][A-Za-z0-9]{1,32}){0,6})['"]?[ \t]{0,4096}(?::=|=>|=|:)[ \t]{0,4096}['"]?([^\s'"`,;()[\]{}<>]{1,4096})/gi;

/**
 * Name parts that make a "secret" name about something else: its type, location, identifier,
 * version or limits (`token_type`, `secret_name`, `password_file`, `token_uri`, `secret_version`).
 */
const META_SUFFIX =
  /[_.-](?:type|types|uri|url|endpoint|name|names|namespace|id|ids|arn|path|file|dir|version|versions|ref|env|var|field|length|len|size|policy|expiry|expires|expiration|ttl|header|prefix|format|kind|mode|count|label|pattern|regex|min|max|timeout|provider|manager)$/i;
/**
 * Tokens that are not credentials: pagination, idempotency, CSRF and change tokens (AWS API examples
 * are full of them), also when the qualifier is a separate word (`Next page token: …`).
 */
const NON_CREDENTIAL_TOKEN = /(?:continuation|next|page|pagination|change|request|idempotency|purchase|action|csrf|xsrf|cancel|cancellation|sync|resume|marker)[ _.-]?token/i;
/**
 * `settings.API_KEY2`, `process.env.NPM_TOKEN1`, `self.token_v2`: a lower-case object, then dotted
 * members that are constants, words or short names — not `hvs.CAESI…` (a Vault token).
 */
function isCodeReference(value: string): boolean {
  if (!/^[a-z_$][a-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)+$/.test(value)) return false;
  return value.split('.').slice(1).every((p) => /^[A-Z0-9_]+$/.test(p) || /^[a-z0-9_]+$/.test(p) || wordShare(p) >= 0.5 || p.length <= 3);
}

/** RFC 2606 documentation domains: a line naming one is an example (`https://example.com/?access_token=…`). */
const EXAMPLE_DOMAIN = /\bexample\.(?:com|org|net)\b|\.example\b/i;

/**
 * The generic rule's value checks (gitleaks `generic-api-key` in spirit, entropy 3.5 there): 12 to
 * 256 characters, entropy at least {@link GENERIC_MIN_ENTROPY}, letters AND digits (words and
 * identifiers are not passwords), not a placeholder, not mostly words ({@link wordShare} under a half),
 * not a path, URL or URN (`/run/secrets/x`, `projects/p/secrets/s/versions/1`, a token endpoint), not
 * a comparison (`token == x` leaves `=x`), not a code or environment reference (`settings.API_KEY`,
 * `process.env.X`, `DB_PASSWORD`); the name must not be about something else ({@link META_SUFFIX},
 * {@link NON_CREDENTIAL_TOKEN}); and the line must not name a documentation domain
 * ({@link EXAMPLE_DOMAIN}).
 */
function acceptGeneric(m: RegExpMatchArray, text: string): SecretMatch | undefined {
  const name = m[1];
  const value = m[2];
  if (name === undefined || value === undefined || m.index === undefined) return undefined;
  if (value.length < GENERIC_MIN_LENGTH || value.length > GENERIC_MAX_LENGTH) return undefined;
  if (META_SUFFIX.test(name) || NON_CREDENTIAL_TOKEN.test(text.slice(Math.max(0, m.index - 16), m.index) + name)) return undefined;
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return undefined;
  if (isPlaceholder(value) || value.startsWith('=')) return undefined;
  if (/^(?:\/|\.\.?\/|~\/)|^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^urn:/i.test(value)) return undefined;
  if (value.split('/').length >= 3 && value.split('/').some((p) => /^[a-z]{3,}$/.test(p))) return undefined;
  if (isCodeReference(value)) return undefined;
  if (/^_*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(value)) return undefined;
  if (wordShare(value) >= 0.5) return undefined;
  if (shannonEntropy(value) < GENERIC_MIN_ENTROPY) return undefined;
  // The line around the match, at most 512 characters either side (a long line costs no more).
  const before = text.slice(Math.max(0, m.index - 512), m.index);
  const after = text.slice(m.index, m.index + m[0].length + 512);
  const line = before.slice(before.lastIndexOf('\n') + 1) + after.split('\n', 1)[0];
  if (EXAMPLE_DOMAIN.test(line)) return undefined;
  return { index: m.index + m[0].lastIndexOf(value), secret: value, label: name };
}

/**
 * The rules, in precedence order (an earlier rule's match hides a later rule's overlapping match).
 * Severities: `critical` for a credential that grants access by itself (cloud keys, service
 * accounts, tokens that publish or push), `high` for private keys (often a TLS server key an image
 * legitimately needs — still to be mounted, not baked) and identifiers that point at a secret,
 * `medium` for webhook URLs and generic assignments.
 */
export const SECRET_RULES: readonly SecretRule[] = [
  {
    // Trivy `gcp-service-account`; gitleaks `gcp-service-account`. Reported only with its private key
    // (a service-account JSON without one, e.g. a workload identity config, holds no secret).
    id: 'gcp-service-account',
    title: 'GCP service-account key',
    severity: 'critical',
    keywords: ['service_account'],
    pattern: /"private_key"[ \t]{0,4096}:[ \t]{0,4096}"(-----BEGIN [A-Z ]{0,32}PRIVATE KEY-----)([^"]{64,16384})"/g,
    accept: (m, text) => {
      const body = m[2];
      if (body === undefined || m.index === undefined || !isKeyBody(body)) return undefined;
      const around = text.slice(Math.max(0, m.index - 8192), m.index + m[0].length + 8192);
      if (!/"type"\s*:\s*"service_account"/.test(around)) return undefined;
      return { index: m.index + m[0].indexOf(body), secret: body, label: 'service_account private_key' };
    },
  },
  {
    // Trivy `azure-storage-account-key`, gitleaks `azure-storage-account-key` in spirit: the key of an
    // Azure Storage connection string (64 bytes, 88 base64 characters, grants full account access).
    id: 'azure-storage-connection-string',
    title: 'Azure Storage connection string with account key',
    severity: 'critical',
    keywords: ['defaultendpointsprotocol'],
    pattern: /DefaultEndpointsProtocol=https?;AccountName=([A-Za-z0-9]{3,24});AccountKey=([A-Za-z0-9+/]{43,128}={0,2})(?![A-Za-z0-9+/=])/gi,
    accept: (m) => {
      // devstoreaccount1: the Azurite / storage emulator account, whose key Microsoft publishes.
      if (m[1]?.toLowerCase() === 'devstoreaccount1') return undefined;
      return token(m, 2, 4, `AccountName=${m[1]}`);
    },
  },
  {
    // Trivy `private-key`, gitleaks `private-key`: a PEM private key WITH a body (Trivy #2274).
    id: 'private-key',
    title: 'Private key',
    severity: 'high',
    keywords: ['private key-----'],
    // The body may not contain `-----`: a scan from a BEGIN stops at the next armor line, so a text of
    // many BEGINs without ENDs costs one pass, not one pass per BEGIN.
    pattern: /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----((?:[A-Za-z0-9+/=\s\\:,]|-(?!----)){64,65536}?)-----END \1-----/g,
    accept: (m) => {
      const body = m[2];
      if (body === undefined || m.index === undefined || !isKeyBody(body)) return undefined;
      const secret = body.replace(/^(?:\s|\\n)+|(?:\s|\\n)+$/g, '');
      return { index: m.index + m[0].indexOf(secret), secret, label: m[1] };
    },
  },
  {
    // gitleaks `pgp-private-key`-style (TruffleHog `pgpprivatekey`): an ASCII-armored secret key block.
    id: 'pgp-private-key',
    title: 'PGP private key block',
    severity: 'high',
    keywords: ['pgp private key block'],
    pattern: /-----BEGIN PGP PRIVATE KEY BLOCK-----((?:[^-]|-(?!----)){64,262144}?)-----END PGP PRIVATE KEY BLOCK-----/g,
    accept: (m) => {
      const body = m[1];
      if (body === undefined || m.index === undefined || !isKeyBody(body)) return undefined;
      const secret = body.trim();
      return { index: m.index + m[0].indexOf(secret), secret, label: 'PGP PRIVATE KEY BLOCK' };
    },
  },
  {
    // Trivy `aws-secret-access-key`: 40 base64 characters, only when assigned to an AWS secret key name
    // (`aws_secret_access_key = …`, `AWS_SECRET_ACCESS_KEY=…`, `"SecretAccessKey": "…"`, and the
    // blank-separated `aws configure set aws_secret_access_key …`).
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    severity: 'critical',
    keywords: ['secret'],
    pattern:
      /(?<![A-Za-z0-9_])(aws[_.-]?secret(?:[_.-]?access)?(?:[_.-]?key)?|secret[_.-]?access[_.-]?key)['"]?(?:[ \t]{0,4096}(?::=|=>|=|:)[ \t]{0,4096}|[ \t]{1,4096})['"]?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    accept: (m) => token(m, 2, 4, m[1]),
  },
  {
    // gitleaks `aws-access-token` (prefixes, base32 body, `.+EXAMPLE$` allow-list); Trivy
    // `aws-access-key-id`. An identifier, not a credential by itself: `high`.
    id: 'aws-access-key-id',
    title: 'AWS access key ID',
    severity: 'high',
    keywords: ['a3t', 'akia', 'asia', 'abia', 'acca'],
    pattern: /(?<![A-Za-z0-9])((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])/g,
    accept: (m) => (/EXAMPLE$/.test(m[1] ?? '') ? undefined : token(m, 1, 3)),
  },
  {
    // Trivy `github-pat`, `github-oauth`, `github-app-token`, `github-refresh-token`; gitleaks same.
    id: 'github-token',
    title: 'GitHub token',
    severity: 'critical',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    pattern: /(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])/g,
    accept: (m) => token(m, 1, 3, GITHUB_KINDS[(m[1] ?? '').slice(0, 3)]),
  },
  {
    // Trivy `github-fine-grained-pat`; gitleaks `github-fine-grained-pat`.
    id: 'github-fine-grained-pat',
    title: 'GitHub fine-grained personal access token',
    severity: 'critical',
    keywords: ['github_pat_'],
    pattern: /(?<![A-Za-z0-9_])(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])/g,
    accept: (m) => token(m, 1, 3),
  },
  {
    // Trivy `slack-access-token`; gitleaks `slack-bot-token`, `slack-user-token`, `slack-legacy-*`:
    // `xox[baprs]-` then digits-and-letters segments; a digit is required (real tokens start with the
    // team id), so `xoxb-your-bot-token` is not one.
    id: 'slack-token',
    title: 'Slack token',
    severity: 'high',
    keywords: ['xoxb-', 'xoxa-', 'xoxp-', 'xoxr-', 'xoxs-'],
    pattern: /(?<![A-Za-z0-9_-])(xox[baprs]-[0-9A-Za-z-]{10,250})(?![0-9A-Za-z-])/g,
    accept: (m) => (/[0-9]/.test((m[1] ?? '').slice(5)) ? token(m, 1, 3) : undefined),
  },
  {
    // Trivy `slack-web-hook`; gitleaks `slack-webhook-url`. Anyone holding it can post to the channel.
    id: 'slack-webhook-url',
    title: 'Slack webhook URL',
    severity: 'medium',
    keywords: ['hooks.slack.com'],
    pattern: /(?:https?:\/\/)?hooks\.slack\.com\/(?:services|workflows|triggers)\/([A-Za-z0-9+/]{43,56})(?![A-Za-z0-9+/])/g,
    accept: (m) => (/T0{8}|B0{8}/.test(m[1] ?? '') ? undefined : token(m, 1, 3.5, 'hooks.slack.com')),
  },
  {
    // Trivy `npm-access-token`; gitleaks `npm-access-token`: `npm_` and 36 characters (publish rights).
    id: 'npm-token',
    title: 'npm access token',
    severity: 'critical',
    keywords: ['npm_'],
    pattern: /(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])/g,
    accept: (m) => token(m, 1, 3),
  },
  {
    // gitleaks `generic-api-key` (keyword + assignment + entropy), narrowed: see acceptGeneric.
    id: 'generic-secret',
    title: 'Hard-coded secret assignment',
    severity: 'medium',
    keywords: ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'api-key'],
    pattern: GENERIC,
    accept: acceptGeneric,
  },
];

/** Fingerprint of the rule list (ids, severities, keywords, patterns): changes when a rule does. */
export function rulesFingerprint(rules: readonly SecretRule[] = SECRET_RULES): string {
  const h = createHash('sha256');
  for (const r of rules) h.update(`${r.id}\0${r.severity}\0${r.keywords.join(',')}\0${r.pattern.source}\0${r.pattern.flags}\n`);
  return h.digest('hex').slice(0, 12);
}

/** Texts longer than this are scanned only up to it (config strings; file bodies stream through {@link SecretStreamScanner}). */
export const MAX_TEXT_CHARS = 4 * MiB;
/** At most this many hits are kept per text (a hostile file of a million tokens stays cheap). */
export const MAX_HITS_PER_TEXT = 1000;
/**
 * The longest match any rule can make, in characters: every pattern is bounded (the PGP block's
 * 262,144-character body is the longest). A stream scanned in windows that overlap by this much plus
 * {@link RULE_CONTEXT_CHARS} finds exactly what one pass over the whole text finds.
 */
export const MAX_MATCH_CHARS = 262_144 + 128;
/** Characters around a match that rules look at (`gcp-service-account`: 8 KiB either side) plus lookbehinds. */
export const RULE_CONTEXT_CHARS = 8192 + 64;

interface WindowHit extends SecretMatch {
  readonly rule: SecretRule;
  /** Where the rule's regex match starts (decides which window reports it). */
  readonly start: number;
}

/** Every accepted match in `t` whose regex match starts in `[from, to)`, earliest rule winning overlaps. */
function scanText(t: string, rules: readonly SecretRule[], from: number, to: number): WindowHit[] {
  const lower = t.toLowerCase();
  return runRules(t, rules.filter((rule) => rule.keywords.some((k) => lower.includes(k))), from, to);
}

/**
 * {@link scanText} over the rules whose keywords `t` is already known to contain (in precedence order).
 * With `near`, a rule it gives keyword starts for runs only near them ({@link matchesNear}) and finds
 * the very matches `matchAll` finds; the others run over all of `t`.
 */
function runRules(t: string, rules: readonly SecretRule[], from: number, to: number, near?: (rule: SecretRule) => NearKeywords | undefined): WindowHit[] {
  const taken: { start: number; end: number }[] = [];
  const overlaps = (start: number, end: number): boolean => taken.some((s) => start < s.end && s.start < end);
  const found: WindowHit[] = [];
  for (const rule of rules) {
    const n = near?.(rule);
    for (const m of n === undefined ? t.matchAll(rule.pattern) : matchesNear(t, rule.pattern, n)) {
      const hit = rule.accept(m, t);
      if (!hit || hit.secret.length === 0) continue;
      const end = hit.index + hit.secret.length;
      if (overlaps(hit.index, end)) continue;
      taken.push({ start: hit.index, end });
      const start = m.index ?? hit.index;
      if (start < from || start >= to) continue;
      found.push({ ...hit, rule, start });
      if (found.length >= MAX_HITS_PER_TEXT) break;
    }
    if (found.length >= MAX_HITS_PER_TEXT) break;
  }
  return found;
}

/** Where a rule may match in one text: its keyword occurrences and its proved {@link keywordBound}. */
interface NearKeywords {
  /** Starts of the rule's keyword occurrences in the text, ascending. */
  readonly starts: ArrayLike<number>;
  readonly count: number;
  /** Every match holds a keyword starting at most this many characters after the match's start. */
  readonly bound: number;
  /**
   * `[\s\S]{0,bound}?(?=(?:pattern))`, sticky: from position L, it matches exactly when the pattern
   * has a match starting in [L, L + bound], and its length says where the first one starts (its lazy
   * prefix tries each start in order; the lookahead succeeds where the pattern has any match; no
   * group is added, so back-references keep their numbers).
   */
  readonly finder: RegExp;
}

/**
 * The matches `text.matchAll(pattern)` yields, in the same order and the same objects (each is
 * `pattern`'s own `exec` result at the same position), found by trying the pattern only near keyword
 * occurrences. Why nothing is lost (keyword-bound.ts has the proof of `bound`): a match starting at p
 * holds a keyword starting in [p, p + bound]; so, with `pos` the position `matchAll` would search from
 * next and k the first keyword start at or after `pos`, no match starts in [pos, k − bound). The finder
 * then tries every start in [L, L + bound], L = max(pos, k − bound): if it finds none, no match starts
 * in [pos, L + bound] and the search moves on (every keyword start ≤ L + bound is passed); if it finds
 * one at s, it is the first match start at or after `pos`, and `exec` from s gives the match
 * `matchAll` gives there. After a match, `pos` moves as `matchAll` moves it (past the match; one
 * further after an empty one). What it costs: the spans the finder tries never overlap (each starts
 * past the last one's end, or past the last match's start), so each start position is tried at most
 * once, plus once more by `exec` where a match starts — never more than `matchAll` over the whole text
 * tries, and far fewer where keywords are sparse.
 */
function* matchesNear(text: string, pattern: RegExp, near: NearKeywords): Generator<RegExpExecArray> {
  const { starts, count, bound, finder } = near;
  // matchAll copies the pattern's lastIndex (always 0 here: the rules' patterns are only used through matchAll).
  let pos = pattern.lastIndex;
  const re = new RegExp(pattern);
  let i = 0;
  for (;;) {
    while (i < count && starts[i] < pos) i++;
    if (i === count) return;
    const from = Math.max(pos, starts[i] - bound);
    finder.lastIndex = from;
    const f = finder.exec(text);
    if (f === null) {
      pos = from + bound + 1;
      continue;
    }
    re.lastIndex = from + f[0].length;
    const m = re.exec(text);
    if (m === null) return;
    yield m;
    pos = m.index + (m[0].length === 0 ? 1 : m[0].length);
  }
}

/**
 * Every secret the rules find in `text`, in text order. Overlapping matches keep the earliest rule's
 * (see {@link SECRET_RULES}). The text should be the body decoded as latin1 (one character per byte:
 * no decoding error can hide a match, and every rule is ASCII).
 */
export function findSecrets(text: string, rules: readonly SecretRule[] = SECRET_RULES): SecretHit[] {
  const t = text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;
  const found = scanText(t, rules, 0, t.length);
  found.sort((a, b) => a.index - b.index);
  // Line numbers in one pass over the text, in match order.
  const out: SecretHit[] = [];
  let line = 1;
  let pos = 0;
  for (const f of found) {
    for (; pos < f.index; pos++) if (t.charCodeAt(pos) === 10) line++;
    const { start: _start, ...hit } = f;
    out.push({ ...hit, line });
  }
  return out;
}

/** The rules' keywords compiled into one automaton (cached per rule list: the built-in one is compiled once). */
interface KeywordIndex {
  readonly automaton: MultiPattern | undefined;
  /** Keyword bytes, and for each keyword the rules (indices into the list) it enables. */
  readonly keywords: readonly Buffer[];
  readonly rulesOf: readonly (readonly number[])[];
  /**
   * Rules that run on every window: they have an empty keyword (`''` is in every text). A keyword
   * with a character above U+00FF is left out: latin1 text never contains it, so it enables nothing.
   */
  readonly always: readonly number[];
  /** Per rule: its {@link keywordBound} and finder (see {@link NearKeywords}), or undefined (full scan). */
  readonly near: readonly ({ readonly bound: number; readonly finder: RegExp } | undefined)[];
  /** Some rule has a bound: the automaton must record where keywords occur. */
  readonly anyNear: boolean;
}

const keywordIndexes = new WeakMap<readonly SecretRule[], KeywordIndex>();

function keywordIndex(rules: readonly SecretRule[]): KeywordIndex {
  let ix = keywordIndexes.get(rules);
  if (ix) return ix;
  const byKeyword = new Map<string, number[]>();
  const always: number[] = [];
  rules.forEach((r, i) => {
    for (const k of r.keywords) {
      if (k === '') always.push(i);
      // A character above U+00FF never occurs in latin1 text (nor in its lower case): `includes` is false.
      else if (/^[\u0000-\u00ff]*$/.test(k)) byKeyword.set(k, [...(byKeyword.get(k) ?? []), i]);
    }
  });
  const keywords = [...byKeyword.keys()].map((k) => Buffer.from(k, 'latin1'));
  const automaton = MultiPattern.compile(keywords, LATIN1_LOWER);
  const near = rules.map((r) => {
    const bound = keywordBound(r.pattern, r.keywords);
    if (bound === undefined) return undefined;
    const flags = r.pattern.flags.replace('g', '') + 'y';
    return { bound, finder: new RegExp(`[\\s\\S]{0,${bound}}?(?=(?:${r.pattern.source}))`, flags) };
  });
  ix = { automaton, keywords, rulesOf: [...byKeyword.values()], always: [...new Set(always)], near, anyNear: near.some((n) => n !== undefined) };
  keywordIndexes.set(rules, ix);
  return ix;
}

/** Number of LF bytes in `b[from, to)`. */
function countLines(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = b.indexOf(10, from); i >= 0 && i < to; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * The rules over a body that arrives in chunks, in bounded memory: the text is scanned in windows of
 * `blockChars` new characters plus {@link MAX_MATCH_CHARS} + {@link RULE_CONTEXT_CHARS} before and
 * twice {@link MAX_MATCH_CHARS} + {@link RULE_CONTEXT_CHARS} after; each match is reported by the one window in which its start lies in the reported
 * span, with the context every rule looks at inside the window — so the hits are those of one pass
 * over the whole text (a body of at most `blockChars` + the overlap is one window, exactly that pass).
 * Bytes are read as latin1, as {@link findSecrets} expects. Holds at most about
 * `blockChars` + 810,000 bytes.
 *
 * What it costs: the rules' keywords are found as the bytes stream by, all at once, in one pass
 * (./multi-pattern.ts, case-folded as `toLowerCase` folds latin1), and a window becomes a string only
 * when it holds a keyword — then only the rules with a keyword in that window run (the test
 * {@link findSecrets} makes with `includes` on the lower-cased text, answered without lower-casing or
 * searching it once per keyword). A body without any keyword is copied once and never decoded. The
 * automaton also records where each keyword occurs, and a rule with a proved bound B (keyword-bound.ts:
 * every match holds one of its keywords within B characters of its start — all rules but
 * `gcp-service-account`, whose keyword lies outside its match) runs only from B before each of its
 * keyword occurrences ({@link matchesNear}), finding the very matches a run over the whole window
 * finds; the generic rule's regex over whole windows was the scan's largest cost.
 */
export class SecretStreamScanner {
  /** Bytes from absolute offset `base` on: `held[0, fill)`. */
  private held: Buffer;
  private fill = 0;
  private base = 0;
  /** Matches starting before this absolute offset have been reported. */
  private lo = 0;
  private linesBefore = 0;
  private readonly hits: SecretHit[] = [];
  /** Text kept before the reported span: a match's context and lookbehinds, and the regex's footing. */
  private readonly overlap = MAX_MATCH_CHARS + RULE_CONTEXT_CHARS;
  /**
   * Text needed after the reported span: a match starting in it, its context, and any match of an
   * earlier rule that overlaps it (which hides it, as in the whole text) in full.
   */
  private readonly ahead = 2 * MAX_MATCH_CHARS + RULE_CONTEXT_CHARS;
  private readonly index: KeywordIndex;
  private readonly keywordScan: PatternScan | undefined;

  /**
   * @param sizeHint the body's expected size, when known, so that it is held in one buffer from the
   * start (more or fewer bytes are fine).
   */
  constructor(private readonly rules: readonly SecretRule[] = SECRET_RULES, private readonly blockChars = 1024 * 1024, sizeHint = 0) {
    if (!Number.isSafeInteger(blockChars) || blockChars <= 0) throw new RangeError(`blockChars must be a positive integer, got ${blockChars}`);
    this.index = keywordIndex(rules);
    this.keywordScan = this.index.automaton?.scan(this.index.anyNear);
    const window = blockChars + this.overlap + this.ahead;
    this.held = Buffer.allocUnsafe(Math.max(64, Math.min(sizeHint > 0 ? sizeHint : 4096, window)));
  }

  /** Characters fed so far. */
  get length(): number {
    return this.base + this.fill;
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.keywordScan?.write(chunk);
    if (this.fill + chunk.length > this.held.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.fill + chunk.length, 2 * this.held.length));
      this.held.copy(grown, 0, 0, this.fill);
      this.held = grown;
    }
    this.fill += chunk.copy(this.held, this.fill);
    while (this.base + this.fill - this.lo >= this.blockChars + this.ahead) this.scan(this.lo + this.blockChars);
  }

  /** Every hit, in text order (at most {@link MAX_HITS_PER_TEXT}). */
  end(): SecretHit[] {
    this.scan(Number.POSITIVE_INFINITY);
    this.hits.sort((a, b) => a.index - b.index);
    return this.hits;
  }

  /**
   * For each rule with a proved bound, the starts (in the held text) of its keyword occurrences there,
   * from the automaton's record; undefined when the record was lost (too many occurrences): full scans.
   */
  private keywordStarts(): ((rule: SecretRule) => NearKeywords | undefined) | undefined {
    const scan = this.keywordScan;
    if (scan === undefined || scan.recordLost || !this.index.anyNear) return undefined;
    const { keywords, rulesOf, near } = this.index;
    const starts: number[][] = this.rules.map(() => []);
    const ends = scan.recordedEnds;
    const pats = scan.recordedPatterns;
    for (let j = 0; ends !== undefined && pats !== undefined && j < scan.recordedCount; j++) {
      const p = pats[j];
      const at = ends[j] - keywords[p].length - this.base;
      if (at < 0) continue;
      for (const r of rulesOf[p]) if (near[r] !== undefined) starts[r].push(at);
    }
    const byRule = new Map<SecretRule, NearKeywords>();
    this.rules.forEach((rule, r) => {
      const n = near[r];
      if (n === undefined) return;
      const list = starts[r];
      // Occurrences are recorded as they end; keywords of different lengths can start out of that order.
      for (let j = 1; j < list.length; j++) {
        if (list[j] < list[j - 1]) {
          list.sort((a, b) => a - b);
          break;
        }
      }
      byRule.set(rule, { starts: list, count: list.length, bound: n.bound, finder: n.finder });
    });
    return (rule) => byRule.get(rule);
  }

  /** The rules (in precedence order) with a keyword in the held text, i.e. at or after `base`. */
  private activeRules(): SecretRule[] {
    const { automaton, keywords, rulesOf, always } = this.index;
    if (automaton === undefined) {
      // Too many keywords for one automaton: the plain test on the held text.
      const lower = this.held.toString('latin1', 0, this.fill).toLowerCase();
      return this.rules.filter((r) => r.keywords.some((k) => lower.includes(k)));
    }
    const scan = this.keywordScan!;
    if (scan.found === 0 && always.length === 0) return [];
    const on = new Uint8Array(this.rules.length);
    for (const i of always) on[i] = 1;
    for (let k = 0; k < keywords.length; k++) {
      if (scan.lastEnd(k) >= 0 && scan.lastEnd(k) - keywords[k].length >= this.base) for (const i of rulesOf[k]) on[i] = 1;
    }
    return this.rules.filter((_r, i) => on[i] === 1);
  }

  /** Reports the matches starting in `[lo, hi)` and drops the text no later window needs. */
  private scan(hi: number): void {
    if (this.hits.length < MAX_HITS_PER_TEXT) {
      const rules = this.activeRules();
      if (rules.length > 0) {
        const text = this.held.toString('latin1', 0, this.fill);
        const found = runRules(text, rules, this.lo - this.base, hi - this.base, this.keywordStarts());
        found.sort((a, b) => a.index - b.index);
        let line = this.linesBefore + 1;
        let pos = 0;
        for (const f of found) {
          if (this.hits.length >= MAX_HITS_PER_TEXT) break;
          for (; pos < f.index; pos++) if (text.charCodeAt(pos) === 10) line++;
          const { start: _start, ...hit } = f;
          this.hits.push({ ...hit, index: hit.index + this.base, line });
        }
      }
    }
    if (!Number.isFinite(hi)) return;
    this.lo = hi;
    const keepFrom = Math.max(this.base, hi - this.overlap);
    const drop = keepFrom - this.base;
    this.linesBefore += countLines(this.held, 0, drop);
    this.held.copyWithin(0, drop, this.fill);
    this.fill -= drop;
    this.base = keepFrom;
    this.keywordScan?.forget(keepFrom);
  }
}
