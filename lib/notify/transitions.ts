/**
 * What is news (DESIGN.md "The data's way", step 6 "Fan out": notify Slack on transitions only;
 * "a violation reaches Slack once"). Pure: verdicts, exception records and feed sync times in,
 * notifications out — each with the dedupe key the ledger (./ledger.ts) claims, so that a stream
 * record delivered twice (at-least-once, DESIGN.md "Promises": idempotent) posts once.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../engine/model';
import { imageRepository, matchesRepository } from '../engine/policy/patterns';
import { canonicalJson, DEFAULT_RULES, exceptionExpiry, type ExceptionScope, type PolicyException } from '../engine/policy/schema';
import { compareEvaluations, evaluationKey, instantNanos } from '../engine/verdicts/order';
import type { StoredVerdict } from '../engine/verdicts/port';
import { NotificationInputError } from './errors';

/** A change of a digest's verdict worth telling people about. */
export type StatusTransition = 'new-quarantine' | 'back-to-trusted';

/** Every kind of notification lib/notify sends. */
export type NotificationKind = StatusTransition | 'exception-expiring' | 'feed-stale';

/** A digest became quarantined (it had no verdict or was trusted) or became trusted again. */
export interface VerdictTransitionNotification {
  readonly kind: StatusTransition;
  /** `<kind>:<digest>:<feedRevision ns>.<evaluatedAt ns>` of the first evaluation with the new status. */
  readonly dedupeKey: string;
  readonly digest: Digest;
  /** The verdict the new one replaced; absent for a digest's first verdict. */
  readonly previous?: StoredVerdict;
  readonly verdict: StoredVerdict;
}

/**
 * A policy exception as notifications see it: the fields of lib/engine/policy/schema.ts
 * {@link PolicyException} that say who owns it and when it ends, plus an `id` to key on.
 */
export interface ExceptionRecord {
  /** Stable identity of the exception (see {@link exceptionRecordsOf} for one derived from its content). */
  readonly id: string;
  readonly owner?: string;
  readonly reason: string;
  /** As in the policy: `YYYY-MM-DD` (00:00 UTC that day) or an RFC 3339 date-time with offset. */
  readonly expires: string;
  readonly scope: ExceptionScope;
  /** The finding id it accepts, when it names one. */
  readonly finding?: string;
  /** The package it accepts, when it names one. */
  readonly package?: string;
}

/** An exception that covers a digest ends soon: the image may turn quarantined when it does. */
export interface ExceptionExpiringNotification {
  readonly kind: 'exception-expiring';
  /** `exception-expiring:<id>:<expiry ISO>`: one message per exception and expiry, whatever the digest. */
  readonly dedupeKey: string;
  readonly digest: Digest;
  readonly ref?: string;
  readonly exception: ExceptionRecord;
  /** The expiry as an ISO 8601 instant. */
  readonly expiresAt: string;
  /** Whole days left, rounded up (1 when less than a day is left). */
  readonly daysLeft: number;
}

/** A vulnerability feed has not synced successfully for longer than the policy allows. */
export interface FeedStaleNotification {
  readonly kind: 'feed-stale';
  /** `feed-stale:<feed>:<syncedAt | never>`: once per feed and last sync, again if the next sync is stale too. */
  readonly dedupeKey: string;
  readonly feed: string;
  /** The last successful sync (as recorded), absent when the feed never synced. */
  readonly syncedAt?: string;
  /** Hours since `syncedAt`, rounded down; absent when it never synced or the time is unreadable. */
  readonly ageHours?: number;
  readonly maxStaleHours: number;
}

/** Anything lib/notify can deliver. */
export type Notification = VerdictTransitionNotification | ExceptionExpiringNotification | FeedStaleNotification;

/**
 * The status transition from `previous` to `next`, or `undefined` when it is not news:
 * - no verdict or `trusted` → `quarantined`: `new-quarantine`;
 * - `quarantined` → `trusted`: `back-to-trusted`;
 * - same status, or a digest's first verdict being `trusted`: nothing;
 * - `next` not newer than `previous` (the same evaluation delivered again, or an out-of-order
 *   record; ordered as the store orders them, lib/engine/verdicts/order.ts): nothing.
 *
 * `previous` must be the verdict `next` replaced — the stream record's old image
 * (DESIGN.md step 6) — not a read made before the write, which a concurrent writer can make stale.
 *
 * The dedupe key names the digest, the kind and the first evaluation with the new status, so the
 * same quarantine seen twice posts once, and a later re-quarantine after `back-to-trusted` — another
 * evaluation — posts again.
 */
export function verdictTransition(previous: StoredVerdict | undefined, next: StoredVerdict): VerdictTransitionNotification | undefined {
  if (previous && previous.digest !== next.digest) {
    throw new NotificationInputError(`verdicts of two digests compared: ${previous.digest} and ${next.digest}`);
  }
  if (previous && compareEvaluations(next, previous) <= 0) return undefined;
  const was = previous?.status;
  let kind: StatusTransition | undefined;
  if (next.status === 'quarantined' && was !== 'quarantined') kind = 'new-quarantine';
  else if (next.status === 'trusted' && was === 'quarantined') kind = 'back-to-trusted';
  if (!kind) return undefined;
  // Instants, not the strings: the same evaluation written with another offset is the same evaluation.
  const k = evaluationKey(next);
  return {
    kind,
    dedupeKey: `${kind}:${next.digest}:${k.feed}.${k.at}`,
    digest: next.digest,
    ...(previous ? { previous } : {}),
    verdict: next,
  };
}

/** The image an exception may cover: its digest, the reference it was known by, the index it belongs to. */
export interface ExceptionTarget {
  readonly digest: Digest;
  readonly ref?: string;
  /** The image index digest when `digest` is one platform's manifest (an exception scoped to the index covers it). */
  readonly indexDigest?: Digest;
}

/** Options of {@link expiringExceptions}. */
export interface ExpiringOptions {
  /** Now, in ms since the epoch (the function is pure: the caller's clock). */
  readonly now: number;
  /** How far ahead to look. Default 7 days. */
  readonly withinDays?: number;
}

const DAY_MS = 24 * 3600_000;

/** True when the exception's scope covers the image (the rule of lib/engine/policy/evaluate.ts). */
function covers(scope: ExceptionScope, image: ExceptionTarget): boolean {
  if ('all' in scope) return scope.all === true;
  if ('digest' in scope) return scope.digest === image.digest || (image.indexDigest !== undefined && scope.digest === image.indexDigest);
  const repo = image.ref === undefined ? undefined : imageRepository(image.ref);
  return repo !== undefined && matchesRepository(scope.repository, repo);
}

/**
 * Exceptions that cover `image` and end within the window (default 7 days) — after `now`, at most
 * `withinDays` ahead — soonest first. An exception already expired is not "expiring": the
 * evaluation reports it as expired and the verdict changes on its own. An `expires` that is not a
 * date is skipped (the policy parser refuses those before they get here).
 */
export function expiringExceptions(image: ExceptionTarget, exceptions: readonly ExceptionRecord[], options: ExpiringOptions): ExceptionExpiringNotification[] {
  const window = (options.withinDays ?? 7) * DAY_MS;
  const out: { at: number; n: ExceptionExpiringNotification }[] = [];
  for (const e of exceptions) {
    const at = exceptionExpiry(e.expires)?.getTime();
    if (at === undefined || at <= options.now || at - options.now > window || !covers(e.scope, image)) continue;
    const expiresAt = new Date(at).toISOString();
    out.push({
      at,
      n: {
        kind: 'exception-expiring',
        dedupeKey: `exception-expiring:${e.id}:${expiresAt}`,
        digest: image.digest,
        ...(image.ref !== undefined ? { ref: image.ref } : {}),
        exception: e,
        expiresAt,
        daysLeft: Math.max(1, Math.ceil((at - options.now) / DAY_MS)),
      },
    });
  }
  return out.sort((a, b) => a.at - b.at || (a.n.exception.id < b.n.exception.id ? -1 : 1)).map((x) => x.n);
}

/**
 * {@link ExceptionRecord}s of parsed policy exceptions, each with an id derived from what it says
 * (scope, finding, package, owner, reason, expiry — not where it was written): stable when the file
 * is reordered or reformatted, new when the exception is changed.
 */
export function exceptionRecordsOf(exceptions: readonly PolicyException[]): ExceptionRecord[] {
  return exceptions.map(({ source: _source, line: _line, ...e }) => ({
    ...e,
    id: `exc-${createHash('sha256').update(canonicalJson(e)).digest('hex').slice(0, 12)}`,
  }));
}

/** When a feed last synced successfully (lib/engine/ports.ts FeedState.syncedAt). */
export interface FeedSync {
  readonly feed: string;
  /** RFC 3339; absent when the feed never synced. */
  readonly syncedAt?: string;
}

/** Options of {@link staleFeeds}. */
export interface StaleFeedOptions {
  /** Now, in ms since the epoch. */
  readonly now: number;
  /** The policy's `feeds.maxStaleHours`. Default: the default policy's (48). */
  readonly maxStaleHours?: number;
}

/**
 * Feeds whose last successful sync is older than `maxStaleHours`, in input order. A feed that never
 * synced, or whose sync time cannot be read, is stale: stale data must not look fresh (DESIGN.md
 * "Fail closed").
 */
export function staleFeeds(feeds: readonly FeedSync[], options: StaleFeedOptions): FeedStaleNotification[] {
  const maxStaleHours = options.maxStaleHours ?? DEFAULT_RULES.feeds.maxStaleHours;
  const out: FeedStaleNotification[] = [];
  for (const f of feeds) {
    let syncedMs: number | undefined;
    if (f.syncedAt !== undefined) {
      try {
        syncedMs = Number(instantNanos(f.syncedAt) / 1_000_000n);
      } catch {
        syncedMs = undefined;
      }
    }
    const age = syncedMs === undefined ? undefined : options.now - syncedMs;
    if (age !== undefined && age <= maxStaleHours * 3600_000) continue;
    out.push({
      kind: 'feed-stale',
      dedupeKey: `feed-stale:${f.feed}:${f.syncedAt ?? 'never'}`,
      feed: f.feed,
      ...(f.syncedAt !== undefined ? { syncedAt: f.syncedAt } : {}),
      ...(age !== undefined ? { ageHours: Math.floor(age / 3600_000) } : {}),
      maxStaleHours,
    });
  }
  return out;
}
