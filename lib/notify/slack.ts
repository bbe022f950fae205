/**
 * Delivery to a Slack incoming webhook (https://api.slack.com/messaging/webhooks): one JSON POST per
 * message, a timeout per attempt, bounded retries, and once-only delivery through a ledger.
 *
 * RELIABILITY.md 34: Slack answering 429/500 or timing out leaves verdicts unaffected, delivery is
 * retried, and the webhook URL is never logged. So:
 * - 429 waits what `Retry-After` asks (capped), 5xx / timeouts / transport errors back off with full
 *   jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"); any other 4xx is final —
 *   Slack said the payload or the webhook is wrong (400 invalid_payload, 403 action_prohibited,
 *   404 channel_not_found / no_service, 410 channel_is_archived) and asking again changes nothing;
 * - errors and log lines say "Slack webhook" and a status or an error code — never the URL, never
 *   the transport error's own message or cause (those can quote the URL);
 * - {@link SlackNotifier.deliver} never throws: a failure is an outcome, recorded and logged, and
 *   ./queue.ts keeps even that off the verdict path.
 */
import { TrustError } from '../engine/errors';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, type RetryOptions } from '../engine/registry/http';
import { SlackDeliveryError } from './errors';
import { MemoryNotificationLedger, type NotificationLedger } from './ledger';
import { renderSlackMessage, type RenderOptions, type SlackMessage } from './slack-message';
import type { Notification, NotificationKind } from './transitions';
import type { WebhookUrlSource } from './webhook-url';

/** Where lib/notify writes what happened. Fields are plain data; none ever holds the webhook URL. */
export interface NotifyLogger {
  /** Something that went as planned: sent, already sent. */
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  /** An attempt failed, a delivery failed, a key could not be released. */
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** The default {@link NotifyLogger}: one JSON object per line on stderr (CloudWatch Logs reads it as structured). */
export const jsonLineLogger: NotifyLogger = {
  info: (message, fields) => process.stderr.write(`${JSON.stringify({ level: 'info', message, ...fields })}\n`),
  warn: (message, fields) => process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
};

/**
 * Options of {@link SlackNotifier}. The retry fields are the registry client's
 * ({@link RetryOptions}: full-jitter backoff, `Retry-After` capped) with Slack's own defaults:
 * 5 attempts, 500 ms first ceiling, 10 s largest, `Retry-After` up to 30 s (a Lambda must still finish).
 */
export interface SlackNotifierOptions extends RetryOptions {
  /** Where the webhook URL comes from (./webhook-url.ts). */
  readonly webhook: WebhookUrlSource;
  /** Dedupe of notifications. Default: a {@link MemoryNotificationLedger} (this process only). */
  readonly ledger?: NotificationLedger;
  /** Milliseconds one attempt may take, response body included. Default 5000. */
  readonly timeoutMs?: number;
  /** Now in ms, for `Retry-After` given as an HTTP date. */
  readonly now?: () => number;
  /** Default {@link jsonLineLogger}. */
  readonly logger?: NotifyLogger;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/** What a successful {@link SlackNotifier.post} took. */
export interface PostResult {
  /** Attempts made, the successful one included. */
  readonly attempts: number;
  readonly status: number;
}

/** The result of {@link SlackNotifier.deliver}, one per notification. */
export type DeliveryOutcome =
  | { readonly status: 'sent'; readonly key: string; readonly kind: NotificationKind; readonly attempts: number }
  /** The ledger already held the key: sent before (or being sent) by another delivery. */
  | { readonly status: 'duplicate'; readonly key: string; readonly kind: NotificationKind }
  | {
      readonly status: 'failed';
      readonly key: string;
      readonly kind: NotificationKind;
      /** Attempts made (0 when it failed before posting: no URL, ledger error, queue full). */
      readonly attempts: number;
      readonly error: TrustError;
      /** True when the key is free again, so a later run retries. */
      readonly released: boolean;
    };

/** Slack's answers are a few bytes (`ok`, `invalid_payload`); more is not read. */
const MAX_RESPONSE_BYTES = 1024;

/** Reads at most `max` bytes of the body and drops the rest. */
async function readSmall(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/**
 * A transport error's code (`ECONNREFUSED`, `UND_ERR_SOCKET` …) from the error or its causes — the
 * only part of it we report: undici's messages and causes name addresses and can quote the URL.
 */
function transportCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,40}$/.test(code)) return code;
  }
  return 'network error';
}

/** Slack's error token from a response body, only when it is one (`channel_not_found`), never free text. */
function slackErrorToken(body: string): string | undefined {
  const t = body.trim();
  return /^[a-z][a-z0-9_]{0,63}$/.test(t) && t !== 'ok' ? t : undefined;
}

/** Sends messages to one Slack incoming webhook; see the module comment for the retry and redaction rules. */
export class SlackNotifier {
  private readonly webhook: WebhookUrlSource;
  private readonly ledger: NotificationLedger;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retry: Required<RetryOptions>;
  private readonly now: () => number;
  private readonly logger: NotifyLogger;
  private readonly fetchImpl: typeof fetch;

  constructor(options: SlackNotifierOptions) {
    this.webhook = options.webhook;
    this.ledger = options.ledger ?? new MemoryNotificationLedger();
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.retry = {
      maxAttempts: this.maxAttempts,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 10_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs,
      sleep: options.sleep ?? DEFAULT_RETRY.sleep,
      random: options.random ?? Math.random,
    };
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? jsonLineLogger;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /**
   * Posts `message`, retrying as the module comment says. Resolves when Slack answered 2xx; throws
   * {@link SlackDeliveryError} (or SlackWebhookConfigError when there is no valid URL) otherwise.
   */
  async post(message: SlackMessage): Promise<PostResult> {
    const url = await this.webhook.url();
    const body = JSON.stringify(message);
    for (let attempt = 1; ; attempt++) {
      let status: number | undefined;
      let retryAfter: string | null = null;
      let slackError: string | undefined;
      let failure: string | undefined;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), this.timeoutMs);
      try {
        // redirect 'manual': a webhook that redirects is misconfigured, and following would send the message elsewhere.
        const res = await this.fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: abort.signal, redirect: 'manual' });
        const text = await readSmall(res, MAX_RESPONSE_BYTES);
        status = res.status;
        if (status >= 200 && status < 300) return { attempts: attempt, status };
        retryAfter = res.headers.get('retry-after');
        slackError = slackErrorToken(text);
      } catch (err) {
        status = undefined;
        failure = abort.signal.aborted ? `timed out after ${this.timeoutMs} ms` : `request failed (${transportCode(err)})`;
      } finally {
        clearTimeout(timer);
      }

      const what = status !== undefined ? `answered HTTP ${status}` : failure!;
      const retryable = status === undefined || status === 429 || status >= 500;
      if (!retryable) {
        // 403/404/410: the webhook was revoked, its channel deleted or archived — maybe rotated; read the source again next time.
        if (status === 403 || status === 404 || status === 410) this.webhook.invalidate();
        throw new SlackDeliveryError(`Slack webhook ${what}`, status, attempt, false, slackError);
      }
      if (attempt >= this.maxAttempts) {
        throw new SlackDeliveryError(`Slack webhook ${what}; gave up after ${attempt} attempts`, status, attempt, true, slackError);
      }
      const asked = status === 429 ? parseRetryAfter(retryAfter, this.retry.maxRetryAfterMs, this.now()) : undefined;
      const waitMs = asked ?? backoffDelay(attempt - 1, this.retry);
      this.logger.warn('Slack webhook attempt failed; retrying', {
        attempt,
        ...(status !== undefined ? { httpStatus: status } : { error: failure }),
        ...(slackError ? { slackError } : {}),
        waitMs,
      });
      await this.retry.sleep(waitMs);
    }
  }

  /**
   * Claims the notification's dedupe key, renders and posts it; on final failure releases the key so
   * a later run retries. Never throws: every failure is an outcome (and a log line without the URL).
   */
  async deliver(notification: Notification, options: RenderOptions = {}): Promise<DeliveryOutcome> {
    const key = notification.dedupeKey;
    const kind = notification.kind;
    let claimed: boolean;
    try {
      claimed = await this.ledger.claim(key);
    } catch (err) {
      const error = asTrustError(err);
      this.logger.warn('Slack notification not sent: the ledger cannot claim its key', { key, kind, code: error.code });
      return { status: 'failed', key, kind, attempts: 0, error, released: true };
    }
    if (!claimed) {
      this.logger.info('Slack notification already sent', { key, kind });
      return { status: 'duplicate', key, kind };
    }
    try {
      const r = await this.post(renderSlackMessage(notification, options));
      this.logger.info('Slack notification sent', { key, kind, attempts: r.attempts });
      return { status: 'sent', key, kind, attempts: r.attempts };
    } catch (err) {
      const error = asTrustError(err);
      let released = false;
      try {
        await this.ledger.release(key);
        released = true;
      } catch (releaseErr) {
        this.logger.warn('Slack notification key could not be released: it will not be retried', { key, kind, code: asTrustError(releaseErr).code });
      }
      const attempts = error instanceof SlackDeliveryError ? error.attempts : 0;
      this.logger.warn('Slack notification failed', {
        key,
        kind,
        code: error.code,
        error: error.message,
        ...(error instanceof SlackDeliveryError && error.status !== undefined ? { httpStatus: error.status } : {}),
        attempts,
        released,
      });
      return { status: 'failed', key, kind, attempts, error, released };
    }
  }
}

/**
 * The error as a {@link TrustError}. Our own errors pass through (their messages are redacted by
 * construction); anything else — a bug, a ledger's raw fs error — keeps only its name, since its
 * message was not written with the URL in mind.
 */
export function asTrustError(err: unknown): TrustError {
  if (err instanceof TrustError) return err;
  const name = err instanceof Error ? err.name : typeof err;
  return new TrustError('NOTIFY_FAILED', `Slack notification failed (${name})`);
}
