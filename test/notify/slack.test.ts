import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { sha256Digest } from '../../lib/engine/model';
import type { StoredVerdict } from '../../lib/engine/verdicts/port';
import { SlackDeliveryError, SlackWebhookConfigError } from '../../lib/notify/errors';
import { FileNotificationLedger } from '../../lib/notify/file-ledger';
import { MemoryNotificationLedger } from '../../lib/notify/ledger';
import { jsonLineLogger, SlackNotifier, type DeliveryOutcome, type NotifyLogger, type SlackNotifierOptions } from '../../lib/notify/slack';
import { renderSlackMessage } from '../../lib/notify/slack-message';
import { verdictTransition, type VerdictTransitionNotification } from '../../lib/notify/transitions';
import { EnvWebhookUrl, StaticWebhookUrl, type WebhookUrlSource } from '../../lib/notify/webhook-url';
import { startSlackServer, type SlackServer } from '../helpers/slack-server';

const D = sha256Digest('slack delivery');

function verdict(status: StoredVerdict['status'], n: number): StoredVerdict {
  return {
    digest: D,
    ref: 'registry.example.com/team/app:1.0',
    status,
    reasons: status === 'quarantined' ? [{ rule: 'malware', message: 'EICAR test file at /eicar.com', findings: ['Eicar-Signature'] }] : [],
    counts: { critical: 1, high: 0, medium: 0, low: 0, unknown: 0 },
    policyHash: 'sha256:' + 'ef'.repeat(32),
    feedRevision: '2026-01-01T00:00:00Z',
    plugins: [],
    evaluatedAt: `2026-01-01T10:${String(n).padStart(2, '0')}:00Z`,
    revision: n,
  };
}

const quarantine = (): VerdictTransitionNotification => verdictTransition(verdict('trusted', 1), verdict('quarantined', 2))!;

/** Every line every logger wrote, to search for the URL. */
interface Captured {
  readonly lines: string[];
  readonly logger: NotifyLogger;
}
function capture(): Captured {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) => {
    lines.push(JSON.stringify({ level, message, ...fields }));
  };
  return { lines, logger: { info: log('info'), warn: log('warn') } };
}

let server: SlackServer;
beforeEach(async () => {
  server = await startSlackServer();
});
afterEach(async () => {
  await server.stop();
});

/** A notifier against the local server; sleeps are recorded, never slept, and jitter is fixed at 0.5. */
function notifier(opts: Partial<SlackNotifierOptions> = {}) {
  const sleeps: number[] = [];
  const log = capture();
  const ledger = new MemoryNotificationLedger();
  const n = new SlackNotifier({
    webhook: new StaticWebhookUrl(server.webhookUrl, { allowInsecureLoopback: true }),
    ledger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    timeoutMs: 2000,
    logger: log.logger,
    ...opts,
  });
  return { n, sleeps, log, ledger };
}

describe('SlackNotifier.deliver against a real local Slack server', () => {
  it('posts the rendered Block Kit message as JSON once', async () => {
    const { n, sleeps, ledger } = notifier();
    const note = quarantine();
    const out = await n.deliver(note);
    expect(out).toEqual({ status: 'sent', key: note.dedupeKey, kind: 'new-quarantine', attempts: 1 });
    expect(server.posts).toEqual([JSON.parse(JSON.stringify(renderSlackMessage(note)))]);
    expect(server.requests[0]).toMatchObject({ method: 'POST', contentType: 'application/json', answer: 200 });
    expect(sleeps).toEqual([]);
    expect(ledger.has(note.dedupeKey)).toBe(true);
  });

  it.each<[string, (s: SlackServer) => void, { attempts: number; sleeps: number[] }]>([
    ['429 with Retry-After: 1, then ok: waits the 1000 ms asked', (s) => s.script(1, { status: 429, retryAfter: '1' }), { attempts: 2, sleeps: [1000] }],
    ['429 with Retry-After above the cap: waits the cap', (s) => s.script(1, { status: 429, retryAfter: '3600' }), { attempts: 2, sleeps: [5000] }],
    ['429 without Retry-After: backs off with jitter', (s) => s.script(1, { status: 429 }), { attempts: 2, sleeps: [50] }],
    ['429 with an HTTP-date Retry-After', (s) => s.script(1, { status: 429, retryAfter: new Date(Date.parse('2026-01-01T00:00:02Z')).toUTCString() }), { attempts: 2, sleeps: [2000] }],
    ['500 twice, then ok: full-jitter backoff, doubling', (s) => s.script(2, { status: 500 }), { attempts: 3, sleeps: [50, 100] }],
    ['503, 502, 504, then ok', (s) => (s.script(1, { status: 503 }), s.script(1, { status: 502 }), s.script(1, { status: 504 })), { attempts: 4, sleeps: [50, 100, 200] }],
  ])('%s', async (_name, script, want) => {
    script(server);
    const { n, sleeps } = notifier({ maxRetryAfterMs: 5000, now: () => Date.parse('2026-01-01T00:00:00Z') });
    const out = await n.deliver(quarantine());
    expect(out).toMatchObject({ status: 'sent', attempts: want.attempts });
    expect(sleeps).toEqual(want.sleeps);
    expect(server.requests).toHaveLength(want.attempts);
    expect(server.posts).toHaveLength(1);
  });

  it('the server hangs (per-attempt timeout 100 ms), then ok', async () => {
    server.script(1, { hang: true });
    // Spare attempts: on a loaded machine a later attempt may also take over 100 ms; what matters is
    // that the hung attempt was given up and retried, not how many retries the machine needed.
    const { n, sleeps } = notifier({ timeoutMs: 100, maxAttempts: 10 });
    const out = await n.deliver(quarantine());
    expect(out.status).toBe('sent');
    const attempts = (out as Extract<DeliveryOutcome, { status: 'sent' }>).attempts;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(server.requests[0].answer).toBe('hang');
    expect(server.requests.at(-1)!.answer).toBe(200);
    expect(sleeps).toHaveLength(attempts - 1);
    expect(sleeps[0]).toBe(50);
  });

  it.each<[string, number, string, boolean]>([
    ['400 invalid_payload', 400, 'invalid_payload', false],
    ['403 action_prohibited', 403, 'action_prohibited', true],
    ['404 channel_not_found', 404, 'channel_not_found', true],
    ['410 channel_is_archived', 410, 'channel_is_archived', true],
  ])('%s is not retried; the key is released', async (_name, status, body, invalidates) => {
    server.script(1, { status, body });
    let invalidated = 0;
    const inner = new StaticWebhookUrl(server.webhookUrl, { allowInsecureLoopback: true });
    const webhook: WebhookUrlSource = { url: () => inner.url(), invalidate: () => void invalidated++, description: 'test' };
    const { n, sleeps, ledger } = notifier({ webhook });
    const note = quarantine();
    const out = await n.deliver(note);
    expect(out).toMatchObject({ status: 'failed', attempts: 1, released: true });
    const err = (out as Extract<DeliveryOutcome, { status: 'failed' }>).error as SlackDeliveryError;
    expect(err).toBeInstanceOf(SlackDeliveryError);
    expect(err).toMatchObject({ code: 'SLACK_DELIVERY_FAILED', status, retryable: false, slackError: body, message: `Slack webhook answered HTTP ${status}` });
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(ledger.has(note.dedupeKey)).toBe(false);
    expect(invalidated).toBe(invalidates ? 1 : 0);
  });

  it('exhausted retries: a recorded failure, the key released, and a later run sends it', async () => {
    server.script(5, { status: 500 });
    const { n, sleeps, ledger, log } = notifier();
    const note = quarantine();
    const out = await n.deliver(note);
    expect(out).toMatchObject({ status: 'failed', key: note.dedupeKey, kind: 'new-quarantine', attempts: 5, released: true });
    const err = (out as Extract<DeliveryOutcome, { status: 'failed' }>).error;
    expect(err).toMatchObject({ status: 500, attempts: 5, retryable: true, message: 'Slack webhook answered HTTP 500; gave up after 5 attempts' });
    expect(sleeps).toEqual([50, 100, 200, 400]);
    expect(ledger.has(note.dedupeKey)).toBe(false);
    expect(log.lines.filter((l) => l.includes('"level":"warn"'))).toHaveLength(5);
    // The next run (stream retry, nightly) claims it again and this time Slack answers.
    expect(await n.deliver(note)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(server.posts).toHaveLength(1);
  });

  it('a refused connection is retried, then reported by its code', async () => {
    // A port that was just listening and is closed now: nothing answers there.
    const gone = await startSlackServer();
    await gone.stop();
    const { n, sleeps } = notifier({ webhook: new StaticWebhookUrl(gone.webhookUrl, { allowInsecureLoopback: true }), maxAttempts: 3 });
    const out = await n.deliver(quarantine());
    expect(out).toMatchObject({ status: 'failed', attempts: 3 });
    expect((out as Extract<DeliveryOutcome, { status: 'failed' }>).error.message).toBe('Slack webhook request failed (ECONNREFUSED); gave up after 3 attempts');
    expect(sleeps).toHaveLength(2);
  });

  it('a missing webhook URL is a failure outcome with no attempt, the key released', async () => {
    const { n, ledger } = notifier({ webhook: new EnvWebhookUrl({ env: {} }) });
    const out = await n.deliver(quarantine());
    expect(out).toMatchObject({ status: 'failed', attempts: 0, released: true });
    expect((out as Extract<DeliveryOutcome, { status: 'failed' }>).error).toBeInstanceOf(SlackWebhookConfigError);
    expect(ledger.has(quarantine().dedupeKey)).toBe(false);
    expect(server.requests).toHaveLength(0);
  });
});

describe('dedupe', () => {
  it('the same transition delivered twice posts once', async () => {
    const { n } = notifier();
    const a = await n.deliver(quarantine());
    const b = await n.deliver(quarantine());
    expect([a.status, b.status]).toEqual(['sent', 'duplicate']);
    expect(server.posts).toHaveLength(1);
  });

  it('concurrent deliveries of one transition post once', async () => {
    const { n } = notifier();
    const outs = await Promise.all([n.deliver(quarantine()), n.deliver(quarantine()), n.deliver(quarantine())]);
    expect(outs.map((o) => o.status).sort()).toEqual(['duplicate', 'duplicate', 'sent']);
    expect(server.posts).toHaveLength(1);
  });

  it('two processes sharing a file ledger post once; a re-quarantine later posts again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'notify-dedupe-'));
    try {
      const one = notifier({ ledger: new FileNotificationLedger(dir) }).n;
      const two = notifier({ ledger: new FileNotificationLedger(dir) }).n;
      expect((await one.deliver(quarantine())).status).toBe('sent');
      expect((await two.deliver(quarantine())).status).toBe('duplicate');
      const back = verdictTransition(verdict('quarantined', 2), verdict('trusted', 3))!;
      const again = verdictTransition(verdict('trusted', 3), verdict('quarantined', 4))!;
      expect((await two.deliver(back)).status).toBe('sent');
      expect((await one.deliver(again)).status).toBe('sent');
      expect(server.posts).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the webhook URL is never logged (RELIABILITY.md 34)', () => {
  it('appears in no log line, error, outcome or inspected object, whatever happens', async () => {
    const written: string[] = [];
    const spies = [
      jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true)),
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true)),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void written.push(inspect(args, { depth: 10 })))),
    ];
    const evidence: string[] = [];
    try {
      // The default logger (JSON lines on stderr) and a capturing one, through every path.
      const captured = capture();
      for (const logger of [jsonLineLogger, captured.logger]) {
        server.script(1, { status: 429, retryAfter: '1' });
        server.script(2, { status: 500 });
        server.script(1, { hang: true });
        const ledger = new MemoryNotificationLedger();
        const { n } = notifier({ logger, ledger, timeoutMs: 100, maxAttempts: 10 });
        const outcomes: DeliveryOutcome[] = [];
        outcomes.push(await n.deliver(verdictTransition(undefined, verdict('quarantined', 1))!));
        outcomes.push(await n.deliver(verdictTransition(undefined, verdict('quarantined', 1))!));
        server.script(1, { status: 400, body: 'invalid_payload' });
        outcomes.push(await n.deliver(quarantine()));
        server.script(6, { status: 503 });
        outcomes.push(await notifier({ logger, ledger, maxAttempts: 6 }).n.deliver(quarantine()));
        server.script(2, { hang: true });
        outcomes.push(await notifier({ logger, timeoutMs: 100, maxAttempts: 2 }).n.deliver(quarantine()));
        const badPath = `${server.webhookUrl}x`;
        outcomes.push(await notifier({ logger, webhook: new StaticWebhookUrl(badPath, { allowInsecureLoopback: true }) }).n.deliver(quarantine()));
        outcomes.push(await notifier({ logger, webhook: new StaticWebhookUrl('http://127.0.0.1:1/services/T/B/' + server.token, { allowInsecureLoopback: true }), maxAttempts: 2 }).n.deliver(quarantine()));
        outcomes.push(await notifier({ logger, webhook: new EnvWebhookUrl({ env: { TRUSTCTL_SLACK_WEBHOOK_URL: server.webhookUrl } }) }).n.deliver(quarantine()));
        for (const o of outcomes) {
          evidence.push(JSON.stringify(o), inspect(o, { depth: 10, showHidden: true }));
          if (o.status === 'failed') evidence.push(o.error.message, String(o.error.stack), inspect(o.error.cause, { depth: 10 }));
        }
        evidence.push(inspect(n, { depth: 10, showHidden: true }), JSON.stringify(n));
        expect(outcomes.map((o) => o.status)).toEqual(['sent', 'duplicate', 'failed', 'failed', 'failed', 'failed', 'failed', 'failed']);
      }
      evidence.push(...captured.lines);
      try {
        new StaticWebhookUrl(server.webhookUrl);
      } catch (err) {
        evidence.push((err as Error).message, String((err as Error).stack));
      }
    } finally {
      for (const s of spies) s.mockRestore();
    }
    evidence.push(...written);
    expect(written.length).toBeGreaterThan(0);
    expect(evidence.length).toBeGreaterThan(20);
    const all = evidence.join('\n');
    expect(all).not.toContain(server.webhookUrl);
    expect(all).not.toContain(server.token);
    expect(all).not.toContain('/services/T0TEST');
    // What the log does say: the status and what was done.
    expect(all).toContain('Slack webhook answered HTTP 400');
    expect(all).toContain('"httpStatus":429');
  });
});
