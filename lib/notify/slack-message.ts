/**
 * Slack Block Kit rendering of notifications (https://api.slack.com/reference/block-kit/blocks).
 * Pure: a notification in, a message out, the same bytes for the same input.
 *
 * Everything that comes from outside — image references, finding ids and messages, package names,
 * exception owners and reasons, feed names — is escaped for mrkdwn (`&`, `<`, `>` →
 * `&amp;`, `&lt;`, `&gt;`: https://api.slack.com/reference/surfaces/formatting#escaping), so an image
 * tagged `<!channel>` cannot ping a channel and a finding message cannot carry a link. The header is
 * plain text built from our own words only. Lengths are capped at Slack's limits, so a long reason
 * list truncates instead of making Slack refuse the whole message (`invalid_blocks`).
 */
import { shortDigest, type Digest, type Finding, type Severity } from '../engine/model';
import { imageRepository, parsePurl } from '../engine/policy/patterns';
import { SEVERITIES } from '../engine/policy/vocabulary';
import type { StoredVerdict } from '../engine/verdicts/port';
import type { ExceptionExpiringNotification, FeedStaleNotification, Notification, VerdictTransitionNotification } from './transitions';

/** A `plain_text` composition object (https://api.slack.com/reference/block-kit/composition-objects#text). */
export interface PlainTextObject {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji?: boolean;
}

/** A `mrkdwn` composition object. */
export interface MrkdwnObject {
  readonly type: 'mrkdwn';
  readonly text: string;
}

/** `header` block: plain text, at most {@link SLACK_LIMITS}.headerText characters. */
export interface HeaderBlock {
  readonly type: 'header';
  readonly text: PlainTextObject;
}

/** `section` block: `text` (≤ 3000 characters) and/or up to 10 `fields` (≤ 2000 each). */
export interface SectionBlock {
  readonly type: 'section';
  readonly text?: MrkdwnObject;
  readonly fields?: readonly MrkdwnObject[];
}

/** `context` block: up to 10 small text elements. */
export interface ContextBlock {
  readonly type: 'context';
  readonly elements: readonly MrkdwnObject[];
}

/** `divider` block. */
export interface DividerBlock {
  readonly type: 'divider';
}

/** The blocks lib/notify uses. */
export type SlackBlock = HeaderBlock | SectionBlock | ContextBlock | DividerBlock;

/** The JSON body of an incoming-webhook post: blocks plus the plain `text` fallback (notifications, screen readers). */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/**
 * Slack's limits (Block Kit reference, per block type). `fallbackText`: Slack truncates message
 * text above 40 000 characters and recommends at most 4 000 (https://api.slack.com/methods/chat.postMessage#truncating).
 */
export const SLACK_LIMITS = Object.freeze({
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
  contextText: 2000,
  blocks: 50,
  fallbackText: 4000,
});

/** Options of {@link renderSlackMessage}. */
export interface RenderOptions {
  /**
   * Findings of the image (a scan's findings, or StoredInventory.findings plus the matched
   * vulnerabilities), to show severity, package and fixed versions of the ids the reasons name.
   */
  readonly findings?: readonly Finding[];
  /** How many findings to list. Default 5. */
  readonly maxFindings?: number;
}

/** Escapes Slack's three control characters, `&` first (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts `s` to at most `max` characters with a trailing `…`, never inside an escape entity
 * (`&amp;` half-cut would show as text) nor inside a surrogate pair.
 */
export function clipText(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = Math.max(0, max - 1);
  const c = s.charCodeAt(cut - 1);
  if (cut > 0 && c >= 0xd800 && c <= 0xdbff) cut--;
  const amp = s.lastIndexOf('&', cut - 1);
  if (amp >= 0 && amp > cut - 5 && s.indexOf(';', amp) >= cut) cut = amp;
  return `${s.slice(0, cut)}…`;
}

/** An escaped inline code span; a backtick inside would end the span early, so it is replaced. */
function code(s: string): string {
  return `\`${escapeMrkdwn(s.replace(/`/g, "'"))}\``;
}

function mrkdwn(text: string, max: number = SLACK_LIMITS.sectionText): MrkdwnObject {
  return { type: 'mrkdwn', text: clipText(text, max) };
}

function header(text: string): HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: clipText(text, SLACK_LIMITS.headerText), emoji: true } };
}

function field(label: string, valueMrkdwn: string): MrkdwnObject {
  return mrkdwn(`*${label}*\n${valueMrkdwn}`, SLACK_LIMITS.fieldText);
}

function section(text: string): SectionBlock {
  return { type: 'section', text: mrkdwn(text) };
}

function fields(items: readonly MrkdwnObject[]): SectionBlock {
  return { type: 'section', fields: items.slice(0, SLACK_LIMITS.fields) };
}

function context(...texts: string[]): ContextBlock {
  return { type: 'context', elements: texts.slice(0, SLACK_LIMITS.contextElements).map((t) => mrkdwn(t, SLACK_LIMITS.contextText)) };
}

/** `sha256:` plus the first 12 hex digits: enough to tell policies apart in a message. */
function shortHash(h: string): string {
  const colon = h.indexOf(':');
  return colon < 0 ? h.slice(0, 12) : h.slice(0, colon + 13);
}

/** `name@version` of a purl (`@scope/name`, `group/artifact`), without the distro namespace of OS packages. */
export function packageLabel(purl: string): string {
  const p = parsePurl(purl);
  if (!p) return purl;
  const osType = p.type === 'deb' || p.type === 'apk' || p.type === 'rpm' || p.type === 'alpm';
  const name = p.namespace !== undefined && !osType ? `${p.namespace}/${p.name}` : p.name;
  return p.version ? `${name}@${p.version}` : name;
}

/** One line of the "top findings" list. */
export interface TopFinding {
  readonly id: string;
  /** Absent when only the id is known (no findings list was given, or it lacks this id). */
  readonly severity?: Severity;
  /** `name@version`, when the finding is about a package. */
  readonly package?: string;
  /** Fixed versions, every one the findings of this id and package name. */
  readonly fixedIn: readonly string[];
}

const RANK = new Map<Severity | undefined, number>(SEVERITIES.map((s, i) => [s, i]));

/**
 * The findings the verdict's reasons name (the ones that decided it), most severe first, then by id:
 * at most `max` (default 5). Details come from `findings` matched by id or alias (case-insensitive);
 * one line per id and package, with every fixed version known.
 */
export function topFindings(verdict: Pick<StoredVerdict, 'reasons'>, findings: readonly Finding[] = [], max = 5): TopFinding[] {
  const byId = new Map<string, Finding[]>();
  for (const f of findings) {
    for (const name of [f.id, ...(f.aliases ?? [])]) {
      const k = name.toLowerCase();
      byId.set(k, [...(byId.get(k) ?? []), f]);
    }
  }
  const lines = new Map<string, { id: string; severity?: Severity; package?: string; fixed: Set<string> }>();
  for (const id of new Set(verdict.reasons.flatMap((r) => r.findings))) {
    const matched = byId.get(id.toLowerCase()) ?? [];
    if (matched.length === 0 && !lines.has(`${id}\n`)) lines.set(`${id}\n`, { id, fixed: new Set() });
    for (const f of matched) {
      const pkg = f.package === undefined ? undefined : packageLabel(f.package);
      const key = `${f.id}\n${pkg ?? ''}`;
      const line = lines.get(key) ?? { id: f.id, ...(pkg !== undefined ? { package: pkg } : {}), fixed: new Set<string>() };
      if (line.severity === undefined || (RANK.get(f.severity) ?? 9) < (RANK.get(line.severity) ?? 9)) line.severity = f.severity;
      for (const v of (f.fixedIn ?? '').split(',').map((s) => s.trim()).filter(Boolean)) line.fixed.add(v);
      lines.set(key, line);
    }
  }
  const rank = (s: Severity | undefined): number => RANK.get(s) ?? SEVERITIES.length;
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...lines.values()]
    .sort((a, b) => rank(a.severity) - rank(b.severity) || cmp(a.id, b.id) || cmp(a.package ?? '', b.package ?? ''))
    .slice(0, max)
    .map((l) => ({ id: l.id, ...(l.severity ? { severity: l.severity } : {}), ...(l.package !== undefined ? { package: l.package } : {}), fixedIn: [...l.fixed] }));
}

const SEVERITY_EMOJI: Readonly<Record<Severity, string>> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':white_circle:',
  unknown: ':black_circle:',
};

function findingLine(f: TopFinding): string {
  const sev = f.severity ? `${SEVERITY_EMOJI[f.severity]} *${f.severity.toUpperCase()}* ` : '';
  const pkg = f.package !== undefined ? ` in ${code(f.package)}` : '';
  const fix = f.fixedIn.length > 0 ? ` → fixed in ${f.fixedIn.map(code).join(', ')}` : f.package !== undefined ? ' (no fix yet)' : '';
  return `• ${sev}${code(f.id)}${pkg}${fix}`;
}

function countsLine(v: StoredVerdict): string {
  const parts = SEVERITIES.filter((s) => (v.counts?.[s] ?? 0) > 0).map((s) => `${v.counts[s]} ${s}`);
  return parts.length > 0 ? parts.join(' · ') : 'none';
}

/** At most this many reasons are listed; the count of the rest is given. */
const MAX_REASONS = 8;
/** A reason message longer than this is cut (the engine already lists at most 10 findings in one). */
const MAX_REASON_CHARS = 400;

function reasonsText(v: StoredVerdict): string | undefined {
  if (v.reasons.length === 0) return undefined;
  const lines = v.reasons.slice(0, MAX_REASONS).map((r) => `• ${code(r.rule)}: ${clipText(escapeMrkdwn(r.message), MAX_REASON_CHARS)}`);
  if (v.reasons.length > MAX_REASONS) lines.push(`…and ${v.reasons.length - MAX_REASONS} more`);
  return `*Why*\n${lines.join('\n')}`;
}

function imageLabel(ref: string | undefined): string {
  return ref === undefined || ref === '' ? '_no reference recorded_' : escapeMrkdwn(ref);
}

function digestValue(d: Digest): string {
  return `${code(shortDigest(d))}\n${code(d)}`;
}

function renderTransition(n: VerdictTransitionNotification, options: RenderOptions): SlackMessage {
  const v = n.verdict;
  const quarantined = n.kind === 'new-quarantine';
  const title = quarantined ? ':no_entry: Image quarantined' : ':white_check_mark: Image trusted again';
  const statusText = quarantined
    ? `:no_entry: *quarantined*${n.previous ? ' (was trusted)' : ' (first verdict)'}`
    : ':white_check_mark: *trusted* (was quarantined)';
  const blocks: SlackBlock[] = [
    header(title),
    fields([
      field('Image', imageLabel(v.ref)),
      field('Verdict', statusText),
      field('Digest', digestValue(v.digest)),
      field('Policy', code(shortHash(v.policyHash))),
      field('Evaluated at', escapeMrkdwn(v.evaluatedAt)),
      field('Findings', escapeMrkdwn(countsLine(v))),
    ]),
  ];
  const why = reasonsText(v);
  if (why) blocks.push(section(why));
  const total = new Set(v.reasons.flatMap((r) => r.findings)).size;
  const top = topFindings(v, options.findings, options.maxFindings ?? 5);
  if (top.length > 0) {
    const more = total > top.length ? ` (${top.length} of ${total})` : '';
    blocks.push(section(`*Top findings*${more}\n${top.map(findingLine).join('\n')}`));
  }
  // `trustctl verify <image@digest>` (DESIGN.md "Contracts"): the deploy gate's own command, by digest.
  const repo = v.ref === undefined ? undefined : imageRepository(v.ref);
  const verify = `trustctl verify ${repo !== undefined ? `${repo}@` : ''}${v.digest}`;
  blocks.push({ type: 'divider' }, context(`trustctl · verdict revision ${v.revision} · advisories as of ${escapeMrkdwn(v.feedRevision)} · check with ${code(verify)}`));
  const firstReason = v.reasons[0] ? ` — ${escapeMrkdwn(v.reasons[0].message)}` : '';
  const text = quarantined
    ? `Image quarantined: ${imageLabel(v.ref)} (${shortDigest(v.digest)})${firstReason}`
    : `Image trusted again: ${imageLabel(v.ref)} (${shortDigest(v.digest)})`;
  return { text: clipText(text, SLACK_LIMITS.fallbackText), blocks };
}

function scopeLabel(n: ExceptionExpiringNotification): string {
  const s = n.exception.scope;
  if ('all' in s) return 'every image';
  if ('digest' in s) return code(s.digest);
  return `repository ${code(s.repository)}`;
}

function renderExceptionExpiring(n: ExceptionExpiringNotification): SlackMessage {
  const e = n.exception;
  const days = `${n.daysLeft} day${n.daysLeft === 1 ? '' : 's'}`;
  const covers = [e.finding !== undefined ? `finding ${code(e.finding)}` : undefined, e.package !== undefined ? `package ${code(e.package)}` : undefined]
    .filter((x): x is string => x !== undefined)
    .join(', ');
  const blocks: SlackBlock[] = [
    header(`:hourglass_flowing_sand: Policy exception expires in ${days}`),
    fields([
      field('Exception', code(e.id)),
      field('Owner', e.owner !== undefined ? escapeMrkdwn(e.owner) : '_nobody named_'),
      field('Expires', `${escapeMrkdwn(n.expiresAt)} (in ${days})`),
      field('Scope', scopeLabel(n)),
      field('Image', imageLabel(n.ref)),
      field('Digest', digestValue(n.digest)),
      ...(covers ? [field('Accepts', covers)] : []),
    ]),
    section(`*Reason*\n${escapeMrkdwn(e.reason)}`),
    section('When it expires, the findings it accepts count again and the image may be quarantined: renew it with a reason, or fix the findings.'),
    { type: 'divider' },
    context('trustctl · policy exceptions'),
  ];
  const owner = e.owner !== undefined ? ` (owner ${escapeMrkdwn(e.owner)})` : '';
  return { text: clipText(`Policy exception ${escapeMrkdwn(e.id)}${owner} expires in ${days}: ${escapeMrkdwn(e.reason)}`, SLACK_LIMITS.fallbackText), blocks };
}

function renderFeedStale(n: FeedStaleNotification): SlackMessage {
  const age = n.ageHours !== undefined ? `${n.ageHours} hours` : 'unknown';
  const blocks: SlackBlock[] = [
    header(':warning: Vulnerability feed is stale'),
    fields([
      field('Feed', code(n.feed)),
      field('Last successful sync', n.syncedAt !== undefined ? escapeMrkdwn(n.syncedAt) : '_never_'),
      field('Age', escapeMrkdwn(age)),
      field('Allowed', `${n.maxStaleHours} hours (policy ${code('feeds.maxStaleHours')})`),
    ]),
    section('Verdicts are judged against advisories older than the policy allows: vulnerabilities published since the last sync are not matched. Check the feed sync job.'),
    { type: 'divider' },
    context('trustctl · feeds'),
  ];
  const since = n.syncedAt !== undefined ? `last synced ${escapeMrkdwn(n.syncedAt)}` : 'never synced';
  return { text: clipText(`Vulnerability feed ${escapeMrkdwn(n.feed)} is stale (${since})`, SLACK_LIMITS.fallbackText), blocks };
}

/** The Block Kit message of a notification, within Slack's limits, every outside string escaped. */
export function renderSlackMessage(n: Notification, options: RenderOptions = {}): SlackMessage {
  let m: SlackMessage;
  switch (n.kind) {
    case 'new-quarantine':
    case 'back-to-trusted':
      m = renderTransition(n, options);
      break;
    case 'exception-expiring':
      m = renderExceptionExpiring(n);
      break;
    case 'feed-stale':
      m = renderFeedStale(n);
      break;
  }
  return { text: m.text, blocks: m.blocks.slice(0, SLACK_LIMITS.blocks) };
}

/**
 * Problems that would make Slack refuse `m` (`invalid_blocks`): unknown block types, texts over the
 * limits, too many blocks, fields or elements, an empty fallback. Empty when it is valid.
 */
export function slackMessageProblems(m: SlackMessage): string[] {
  const out: string[] = [];
  const len = (t: { text: string }, max: number, where: string): void => {
    if (t.text.length === 0) out.push(`${where}: empty text`);
    if (t.text.length > max) out.push(`${where}: ${t.text.length} characters > ${max}`);
  };
  if (typeof m.text !== 'string' || m.text.length === 0) out.push('text: empty fallback');
  else len(m, SLACK_LIMITS.fallbackText, 'text');
  if (m.blocks.length > SLACK_LIMITS.blocks) out.push(`blocks: ${m.blocks.length} > ${SLACK_LIMITS.blocks}`);
  m.blocks.forEach((b, i) => {
    const where = `blocks[${i}]`;
    switch (b.type) {
      case 'header':
        if (b.text.type !== 'plain_text') out.push(`${where}.text: header text must be plain_text`);
        len(b.text, SLACK_LIMITS.headerText, `${where}.text`);
        break;
      case 'section':
        if (!b.text && !b.fields?.length) out.push(`${where}: a section needs text or fields`);
        if (b.text) len(b.text, SLACK_LIMITS.sectionText, `${where}.text`);
        if ((b.fields?.length ?? 0) > SLACK_LIMITS.fields) out.push(`${where}.fields: ${b.fields!.length} > ${SLACK_LIMITS.fields}`);
        b.fields?.forEach((f, j) => len(f, SLACK_LIMITS.fieldText, `${where}.fields[${j}]`));
        break;
      case 'context':
        if (b.elements.length === 0 || b.elements.length > SLACK_LIMITS.contextElements) out.push(`${where}.elements: ${b.elements.length} not in 1..${SLACK_LIMITS.contextElements}`);
        b.elements.forEach((e, j) => len(e, SLACK_LIMITS.contextText, `${where}.elements[${j}]`));
        break;
      case 'divider':
        break;
      default:
        out.push(`${where}: unknown block type ${JSON.stringify((b as { type: unknown }).type)}`);
    }
  });
  return out;
}
