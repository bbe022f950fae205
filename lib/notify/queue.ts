/**
 * Background delivery (RELIABILITY.md 34: Slack slow or down leaves verdicts unaffected). The
 * verdict path calls {@link NotificationQueue.enqueue} — synchronous, never throws, never waits —
 * and goes on; delivery (ledger claim, render, post with retries) happens on the event loop
 * afterwards. {@link NotificationQueue.drain} waits for it: tests, the CLI before exit, and a Lambda
 * at the end of its invocation (Lambda freezes the process once the handler returns, so undrained
 * posts would only run, or time out, in a later invocation). By then the verdicts are written and
 * the batch response is decided: Slack can delay the end of the invocation, never its result.
 */
import { SlackDeliveryError } from './errors';
import { asTrustError, jsonLineLogger, type DeliveryOutcome, type NotifyLogger, type SlackNotifier } from './slack';
import type { RenderOptions } from './slack-message';
import type { Notification } from './transitions';

/** Options of {@link NotificationQueue}. */
export interface NotificationQueueOptions {
  /** Deliveries in flight at once. Default 1: Slack rate-limits a webhook at about one message per second. */
  readonly concurrency?: number;
  /** Notifications waiting at most; more are dropped (failed outcome, key never claimed). Default 1000. */
  readonly maxPending?: number;
  readonly logger?: NotifyLogger;
}

interface Task {
  readonly notification: Notification;
  readonly options: RenderOptions;
}

/** A FIFO of notifications delivered in the background by a {@link SlackNotifier}. */
export class NotificationQueue {
  private readonly tasks: Task[] = [];
  private running = 0;
  private outcomes: DeliveryOutcome[] = [];
  private waiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly maxPending: number;
  private readonly logger: NotifyLogger;

  constructor(
    private readonly notifier: Pick<SlackNotifier, 'deliver'>,
    options: NotificationQueueOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.maxPending = Math.max(1, options.maxPending ?? 1000);
    this.logger = options.logger ?? jsonLineLogger;
  }

  /**
   * Queues `notification` and returns at once: true when queued, false when the queue was full (a
   * failed outcome is recorded; the ledger key was never claimed, so a later run sends it).
   */
  enqueue(notification: Notification, options: RenderOptions = {}): boolean {
    if (this.tasks.length >= this.maxPending) {
      const error = new SlackDeliveryError(`Slack notification queue is full (${this.maxPending} waiting): dropped`, undefined, 0, true);
      this.outcomes.push({ status: 'failed', key: notification.dedupeKey, kind: notification.kind, attempts: 0, error, released: true });
      this.logger.warn('Slack notification dropped: queue full', { key: notification.dedupeKey, kind: notification.kind, maxPending: this.maxPending });
      return false;
    }
    this.tasks.push({ notification, options });
    // A microtask later: whatever deliver does first (a ledger read, a throw) happens after the caller's synchronous code.
    queueMicrotask(() => this.pump());
    return true;
  }

  /** Notifications queued or being delivered. */
  get pending(): number {
    return this.tasks.length + this.running;
  }

  /**
   * Waits until every notification queued so far (and any queued meanwhile) is delivered or failed,
   * then returns the outcomes recorded since the last drain, in completion order. Never rejects.
   */
  async drain(): Promise<DeliveryOutcome[]> {
    if (this.pending > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const out = this.outcomes;
    this.outcomes = [];
    return out;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.tasks.length > 0) {
      const task = this.tasks.shift()!;
      this.running++;
      void this.run(task).then((outcome) => {
        this.outcomes.push(outcome);
        this.running--;
        this.pump();
        if (this.pending === 0) {
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async run(task: Task): Promise<DeliveryOutcome> {
    const { notification } = task;
    try {
      return await this.notifier.deliver(notification, task.options);
    } catch (err) {
      // SlackNotifier.deliver does not throw; another implementation might. It still must not escape.
      const error = asTrustError(err);
      this.logger.warn('Slack notification failed', { key: notification.dedupeKey, kind: notification.kind, code: error.code });
      return { status: 'failed', key: notification.dedupeKey, kind: notification.kind, attempts: 0, error, released: false };
    }
  }
}

/**
 * Queues every notification on `queue` and returns how many were queued — at once, without
 * waiting for Slack. The call a verdict handler makes; `await queue.drain()` later collects outcomes.
 */
export function notifyInBackground(queue: NotificationQueue, notifications: Iterable<Notification>, options: RenderOptions = {}): number {
  let queued = 0;
  for (const n of notifications) if (queue.enqueue(n, options)) queued++;
  return queued;
}
