/**
 * The content checks' matching as it was before issue 16 (commit e113f7e), kept verbatim as the
 * reference the streaming engines are compared with (test/engine/checks/streaming-differential.test.ts):
 * the secrets scanner that lower-cased each window and searched it once per keyword, the secrets file
 * check's 8 KiB binary probe held and concatenated, and the malware matcher with one `Buffer.indexOf`
 * per rule and a seam buffer per chunk. Not used by the product.
 */
import { createHash } from 'node:crypto';
import type { EntryInfo } from '../../../lib/engine/layers/layer-reader';
import type { Finding } from '../../../lib/engine/model';
import { BINARY_PROBE_BYTES, MAX_FINDINGS_PER_TEXT, looksBinary, secretsWants } from '../../../lib/engine/checks/secrets';
import { MAX_HITS_PER_TEXT, MAX_MATCH_CHARS, MAX_TEXT_CHARS, RULE_CONTEXT_CHARS, SECRET_RULES, redact, type SecretHit, type SecretMatch, type SecretRule } from '../../../lib/engine/checks/secrets/rules';
import { EICAR_MAX_BYTES, EICAR_SIGNATURE_NAME, isEicarTestFile, type PatternRule, type SignatureMatch, type SignatureSet } from '../../../lib/engine/checks/malware/signatures';

interface WindowHit extends SecretMatch {
  readonly rule: SecretRule;
  /** Where the rule's regex match starts (decides which window reports it). */
  readonly start: number;
}

/** Every accepted match in `t` whose regex match starts in `[from, to)`, earliest rule winning overlaps. */
function scanText(t: string, rules: readonly SecretRule[], from: number, to: number): WindowHit[] {
  const lower = t.toLowerCase();
  const taken: { start: number; end: number }[] = [];
  const overlaps = (start: number, end: number): boolean => taken.some((s) => start < s.end && s.start < end);
  const found: WindowHit[] = [];
  for (const rule of rules) {
    if (!rule.keywords.some((k) => lower.includes(k))) continue;
    for (const m of t.matchAll(rule.pattern)) {
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

/**
 * Every secret the rules find in `text`, in text order. Overlapping matches keep the earliest rule's
 * (see {@link SECRET_RULES}). The text should be the body decoded as latin1 (one character per byte:
 * no decoding error can hide a match, and every rule is ASCII).
 */
export function oldFindSecrets(text: string, rules: readonly SecretRule[] = SECRET_RULES): SecretHit[] {
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

/**
 * The rules over a body that arrives in chunks, in bounded memory: the text is scanned in windows of
 * `blockChars` new characters plus {@link MAX_MATCH_CHARS} + {@link RULE_CONTEXT_CHARS} before and
 * twice {@link MAX_MATCH_CHARS} + {@link RULE_CONTEXT_CHARS} after; each match is reported by the one window in which its start lies in the reported
 * span, with the context every rule looks at inside the window — so the hits are those of one pass
 * over the whole text (a body of at most `blockChars` + the overlap is one window, exactly that pass).
 * Bytes are read as latin1, as {@link oldFindSecrets} expects. Holds at most about
 * `blockChars` + 810,000 characters.
 */
export class OldSecretStreamScanner {
  /** Text from absolute offset `base` on. */
  private text = '';
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

  constructor(private readonly rules: readonly SecretRule[] = SECRET_RULES, private readonly blockChars = 1024 * 1024) {
    if (!Number.isSafeInteger(blockChars) || blockChars <= 0) throw new RangeError(`blockChars must be a positive integer, got ${blockChars}`);
  }

  /** Characters fed so far. */
  get length(): number {
    return this.base + this.text.length;
  }

  write(chunk: Buffer): void {
    this.text += chunk.toString('latin1');
    while (this.base + this.text.length - this.lo >= this.blockChars + this.ahead) this.scan(this.lo + this.blockChars);
  }

  /** Every hit, in text order (at most {@link MAX_HITS_PER_TEXT}). */
  end(): SecretHit[] {
    this.scan(Number.POSITIVE_INFINITY);
    this.hits.sort((a, b) => a.index - b.index);
    return this.hits;
  }

  /** Reports the matches starting in `[lo, hi)` and drops the text no later window needs. */
  private scan(hi: number): void {
    if (this.hits.length < MAX_HITS_PER_TEXT) {
      const found = scanText(this.text, this.rules, this.lo - this.base, hi - this.base);
      found.sort((a, b) => a.index - b.index);
      let line = this.linesBefore + 1;
      let pos = 0;
      for (const f of found) {
        if (this.hits.length >= MAX_HITS_PER_TEXT) break;
        for (; pos < f.index; pos++) if (this.text.charCodeAt(pos) === 10) line++;
        const { start: _start, ...hit } = f;
        this.hits.push({ ...hit, index: hit.index + this.base, line });
      }
    }
    if (!Number.isFinite(hi)) return;
    this.lo = hi;
    const keepFrom = Math.max(this.base, hi - this.overlap);
    const drop = keepFrom - this.base;
    for (let i = 0; i < drop; i++) if (this.text.charCodeAt(i) === 10) this.linesBefore++;
    this.text = this.text.slice(drop);
    this.base = keepFrom;
  }
}

/** Where a text came from, for its findings. */
interface Place {
  readonly path: string;
  readonly layer?: string;
  readonly lines: boolean;
}

function findingsFor(hits: readonly SecretHit[], place: Place): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  let more = 0;
  for (const h of hits) {
    const key = `${h.rule.id}\0${h.secret}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (out.length >= MAX_FINDINGS_PER_TEXT) {
      more++;
      continue;
    }
    const at = place.lines ? `${place.path} line ${h.line}` : place.path;
    const label = h.label ? ` (${h.label})` : '';
    out.push({
      type: 'secret',
      id: h.rule.id,
      aliases: [],
      severity: h.rule.severity,
      ...(place.layer !== undefined ? { layer: place.layer } : {}),
      path: place.path,
      message: `${h.rule.title}${label} in ${at}: ${redact(h.secret)}`,
    });
  }
  if (more > 0) {
    const last = out[out.length - 1];
    out[out.length - 1] = { ...last, message: `${last.message} (and ${more} more secret${more === 1 ? '' : 's'} in ${place.path} not listed)` };
  }
  return out;
}

/**
 * The old secrets file check's handling of one body (wants, the held 8 KiB probe, the old scanner):
 * its findings, or `undefined` when the check passes the file.
 */
export function oldSecretsFindings(layer: string, path: string, info: EntryInfo, chunks: readonly Buffer[], blockChars?: number): Finding[] | undefined {
  if (!secretsWants()(path, info)) return undefined;
  const scanner = new OldSecretStreamScanner(undefined, blockChars);
  let probe: Buffer[] | undefined = [];
  let probed = 0;
  let binary = false;
  for (const chunk of chunks) {
    if (probe === undefined) {
      if (!binary) scanner.write(chunk);
      continue;
    }
    probe.push(Buffer.from(chunk));
    probed += chunk.length;
    if (probed < BINARY_PROBE_BYTES) continue;
    const head = Buffer.concat(probe);
    probe = undefined;
    binary = looksBinary(head);
    if (!binary) scanner.write(head);
  }
  if (probe !== undefined) {
    const head = Buffer.concat(probe);
    binary = looksBinary(head);
    if (!binary) scanner.write(head);
  }
  return binary ? [] : findingsFor(scanner.end(), { path, layer, lines: true });
}

/** The old malware matcher of one body: EICAR, patterns by `indexOf` per rule with a seam buffer, the blocklist. */
export class OldStreamMatcher {
  private pos = 0;
  private readonly head = Buffer.alloc(EICAR_MAX_BYTES + 1);
  private headFill = 0;
  private readonly anywhere: PatternRule[];
  private readonly found = new Map<PatternRule, number>();
  private readonly seamBytes: number;
  private carry: Buffer = Buffer.alloc(0);
  private readonly fixed: { rule: PatternRule; buf: Buffer; fill: number }[];
  private readonly hash: ReturnType<typeof createHash> | undefined;

  constructor(private readonly set: SignatureSet, hash: boolean) {
    this.anywhere = set.patterns.filter((p) => p.offset === undefined);
    this.fixed = set.patterns.filter((p) => p.offset !== undefined).map((rule) => ({ rule, buf: Buffer.alloc(rule.bytes.length), fill: 0 }));
    this.seamBytes = Math.max(0, ...this.anywhere.map((p) => p.bytes.length - 1));
    this.hash = hash ? createHash('sha256') : undefined;
  }

  write(chunk: Buffer): void {
    const pos = this.pos;
    const len = chunk.length;
    if (len === 0) return;
    if (this.headFill < this.head.length) this.headFill += chunk.copy(this.head, this.headFill, 0, Math.min(len, this.head.length - this.headFill));
    this.hash?.update(chunk);
    for (const f of this.fixed) {
      const start = f.rule.offset as number;
      if (f.fill === f.buf.length || start + f.fill >= pos + len || start + f.buf.length <= pos) continue;
      const from = start + f.fill - pos;
      if (from < 0) continue;
      f.fill += chunk.copy(f.buf, f.fill, from, Math.min(len, from + f.buf.length - f.fill));
    }
    if (this.anywhere.length > 0) {
      // The seam: a match that starts in the previous chunks' tail and ends in this chunk.
      const seam = this.carry.length > 0 ? Buffer.concat([this.carry, chunk.subarray(0, Math.min(len, this.seamBytes))]) : undefined;
      for (const p of this.anywhere) {
        if (this.found.has(p)) continue;
        const s = seam ? seam.indexOf(p.bytes) : -1;
        if (s >= 0) {
          this.found.set(p, pos - this.carry.length + s);
          continue;
        }
        const i = chunk.indexOf(p.bytes);
        if (i >= 0) this.found.set(p, pos + i);
      }
      if (this.seamBytes > 0) {
        if (len >= this.seamBytes) this.carry = Buffer.from(chunk.subarray(len - this.seamBytes));
        else {
          const joined = Buffer.concat([this.carry, chunk]);
          this.carry = Buffer.from(joined.subarray(Math.max(0, joined.length - this.seamBytes)));
        }
      }
    }
    this.pos += len;
  }

  end(): SignatureMatch[] {
    const out: SignatureMatch[] = [];
    if (this.pos <= EICAR_MAX_BYTES && isEicarTestFile(this.head.subarray(0, this.headFill))) {
      out.push({ name: EICAR_SIGNATURE_NAME, engine: 'built-in', detail: 'the EICAR anti-virus test file (eicar.org)' });
    }
    for (const p of this.set.patterns) {
      let at = this.found.get(p);
      if (p.offset !== undefined) {
        const f = this.fixed.find((x) => x.rule === p);
        at = f && f.fill === f.buf.length && f.buf.equals(p.bytes) ? p.offset : undefined;
      }
      if (at !== undefined) out.push({ name: p.name, engine: 'pattern', detail: `byte pattern rule ${p.source.file}:${p.source.line} matched at byte ${at}` });
    }
    if (this.hash) {
      const m = this.set.matchSha256(this.hash.digest('hex'));
      if (m) out.push(m);
    }
    return out;
  }
}
