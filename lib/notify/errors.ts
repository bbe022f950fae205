/**
 * The named errors of lib/notify, in the product's one error tree (lib/engine/errors.ts
 * {@link TrustError}). None of them ever carries the webhook URL — not in the message, not in a
 * property, not in a `cause` (DESIGN.md "Promises that hold everywhere": no secret in logs;
 * RELIABILITY.md 34): a Slack incoming-webhook URL is a bearer credential, anyone who reads it can post.
 */
import { TrustError } from '../engine/errors';

/**
 * Slack did not take a message: a non-2xx answer, a timeout or a transport failure, after every
 * attempt the retry policy allowed. The message says "Slack webhook" and the HTTP status (or the
 * transport error code) and nothing else.
 */
export class SlackDeliveryError extends TrustError {
  constructor(
    message: string,
    /** The HTTP status of the last attempt; absent for a timeout or a transport failure. */
    readonly status: number | undefined,
    /** Attempts made, the first included. */
    readonly attempts: number,
    /** True when a later run may succeed (429, 5xx, timeout, network); false for other 4xx. */
    readonly retryable: boolean,
    /**
     * Slack's error string from the response body (`invalid_payload`, `channel_not_found`,
     * `no_service` …), kept only when it is such a short lower-case token, never free text.
     */
    readonly slackError?: string,
  ) {
    super('SLACK_DELIVERY_FAILED', message);
  }
}

/** The webhook URL is missing, malformed, not `https://`, or its secret could not be read. */
export class SlackWebhookConfigError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SLACK_WEBHOOK_CONFIG', message, options);
  }
}

/** The notification ledger (dedupe store) could not claim or release a key. */
export class NotificationLedgerError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOTIFICATION_LEDGER', message, options);
  }
}

/** A notification input that cannot be judged: verdicts of two different digests, an unparseable date. */
export class NotificationInputError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOTIFICATION_INPUT', message, options);
  }
}
