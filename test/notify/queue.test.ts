import { sha256Digest } from '../../lib/engine/model';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import type { StoredVerdict, VerdictEvaluation } from '../../lib/engine/verdicts/port';
import { MemoryNotificationLedger } from '../../lib/notify/ledger';
import { NotificationQueue, notifyInBackground } from '../../lib/notify/queue';
import { SlackNotifier, type DeliveryOutcome, type NotifyLogger } from '../../lib/notify/slack';
import { staleFeeds, verdictTransition, type Notification } from '../../lib/notify/transitions';
import { StaticWebhookUrl } from '../../lib/notify/webhook-url';
import { startSlackServer, type SlackServer } from '../helpers/slack-server';

const quiet: NotifyLogger = { info: () => undefined, warn: () => undefined };

function evaluation(name: string, status: StoredVerdict['status']): VerdictEvaluation {
  return {
    digest: sha256Digest(name),
    ref: `registry.example.com/team/${name}:1`,
    status,
    reasons: status === 'quarantined' ? [{ rule: 'malware', message: 'EICAR', findings: ['Eicar-Signature'] }] : [],
    counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
    policyHash: 'sha256:' + '01'.repeat(32),
    feedRevision: '2026-01-01T00:00:00Z',
    plugins: [],
    evaluatedAt: '2026-01-01T10:00:00Z',
  };
}

let server: SlackServer;
beforeEach(async () => {
  server = await startSlackServer();
});
afterEach(async () => {
  await server.stop();
});

function slack(opts: { timeoutMs?: number; maxAttempts?: number } = {}) {
  return new SlackNotifier({
    webhook: new StaticWebhookUrl(server.webhookUrl, { allowInsecureLoopback: true }),
    ledger: new MemoryNotificationLedger(),
    sleep: async () => undefined,
    random: () => 0,
    logger: quiet,
    ...opts,
  });
}

describe('NotificationQueue (RELIABILITY.md 34: verdicts never wait for Slack)', () => {
  it('the verdict path finishes while Slack hangs; delivery happens afterwards, and drain() reports it', async () => {
    // Slack hangs until the test lets go: no timer decides what this test sees.
    server.script(1, { hang: true });
    const queue = new NotificationQueue(slack({ timeoutMs: 60_000, maxAttempts: 3 }), { logger: quiet });
    const store = new MemoryVerdictStore();

    // The verdict side: write, compute the transition, hand it over, go on.
    const put = await store.put(evaluation('app', 'quarantined'));
    const n = verdictTransition(undefined, put.current)!;
    expect(notifyInBackground(queue, [n])).toBe(1);
    const second = await store.put(evaluation('other', 'trusted'));
    expect(second.written).toBe(true);

    // The verdicts are written while Slack has not answered the first attempt.
    await server.waitForRequests(1);
    expect(server.requests[0].answer).toBe('hang');
    expect(queue.pending).toBe(1);
    expect(server.posts).toHaveLength(0);
    expect(await store.get(put.current.digest)).toMatchObject({ status: 'quarantined', revision: 1 });

    // The connection drops (a network error): retried, then delivered.
    server.releaseHangs();
    const outcomes = await queue.drain();
    expect(outcomes).toEqual([{ status: 'sent', key: n.dedupeKey, kind: 'new-quarantine', attempts: 2 }]);
    expect(server.posts).toHaveLength(1);
    expect(queue.pending).toBe(0);
  });

  it('a final failure is an outcome of drain(), never a rejection, with the key released', async () => {
    server.script(2, { hang: true });
    const ledger = new MemoryNotificationLedger();
    const notifier = new SlackNotifier({ webhook: new StaticWebhookUrl(server.webhookUrl, { allowInsecureLoopback: true }), ledger, timeoutMs: 100, maxAttempts: 2, sleep: async () => undefined, logger: quiet });
    const queue = new NotificationQueue(notifier, { logger: quiet });
    const n = verdictTransition(undefined, { ...evaluation('app', 'quarantined'), revision: 1 })!;
    queue.enqueue(n);
    const [out] = await queue.drain();
    expect(out).toMatchObject({ status: 'failed', key: n.dedupeKey, attempts: 2, released: true });
    expect((out as Extract<DeliveryOutcome, { status: 'failed' }>).error.message).toBe('Slack webhook timed out after 100 ms; gave up after 2 attempts');
    expect(ledger.has(n.dedupeKey)).toBe(false);
  });

  it('delivers in order, one at a time by default, and drain() returns only outcomes since the last drain', async () => {
    const queue = new NotificationQueue(slack(), { logger: quiet });
    const feeds = staleFeeds([{ feed: 'a' }, { feed: 'b' }, { feed: 'c' }], { now: 0 });
    notifyInBackground(queue, feeds.slice(0, 2));
    expect((await queue.drain()).map((o) => o.key)).toEqual(['feed-stale:a:never', 'feed-stale:b:never']);
    notifyInBackground(queue, feeds.slice(2));
    expect((await queue.drain()).map((o) => o.key)).toEqual(['feed-stale:c:never']);
    expect(await queue.drain()).toEqual([]);
    expect(server.posts.map((p) => (p as { text: string }).text)).toEqual([
      'Vulnerability feed a is stale (never synced)',
      'Vulnerability feed b is stale (never synced)',
      'Vulnerability feed c is stale (never synced)',
    ]);
  });

  it('the same notification queued twice posts once', async () => {
    const queue = new NotificationQueue(slack(), { logger: quiet });
    const [n] = staleFeeds([{ feed: 'a' }], { now: 0 });
    notifyInBackground(queue, [n, n]);
    expect((await queue.drain()).map((o) => o.status)).toEqual(['sent', 'duplicate']);
    expect(server.posts).toHaveLength(1);
  });

  it('enqueue never throws into the caller, even when the notifier does', async () => {
    const queue = new NotificationQueue(
      {
        deliver: () => {
          throw new Error('boom');
        },
      },
      { logger: quiet },
    );
    const [n] = staleFeeds([{ feed: 'a' }], { now: 0 });
    expect(() => queue.enqueue(n)).not.toThrow();
    const [out] = await queue.drain();
    expect(out).toMatchObject({ status: 'failed', key: n.dedupeKey, attempts: 0 });
    expect((out as Extract<DeliveryOutcome, { status: 'failed' }>).error.code).toBe('NOTIFY_FAILED');
  });

  it('a full queue drops (recorded, key never claimed) instead of growing without bound', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const delivered: string[] = [];
    const queue = new NotificationQueue(
      {
        deliver: async (n: Notification) => {
          await gate;
          delivered.push(n.dedupeKey);
          return { status: 'sent', key: n.dedupeKey, kind: n.kind, attempts: 1 };
        },
      },
      { maxPending: 2, logger: quiet },
    );
    const feeds = staleFeeds([{ feed: 'a' }, { feed: 'b' }, { feed: 'c' }], { now: 0 });
    expect(notifyInBackground(queue, feeds)).toBe(2);
    release();
    const outcomes = await queue.drain();
    expect(outcomes.map((o) => `${o.status} ${o.key}`)).toEqual(['failed feed-stale:c:never', 'sent feed-stale:a:never', 'sent feed-stale:b:never']);
    expect(delivered).toEqual(['feed-stale:a:never', 'feed-stale:b:never']);
  });

  it('drain() on an idle queue resolves at once with nothing', async () => {
    expect(await new NotificationQueue(slack(), { logger: quiet }).drain()).toEqual([]);
  });
});
