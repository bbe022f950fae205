/**
 * Small pieces the flows share: the feeds as a verdict names them, the plug-ins of an evaluation, the
 * "already done" rule for at-least-once deliveries, bounded concurrency.
 */
import { feedInfoOf as feedInfoFromState } from '../advisories/feed-state';
import { pluginsOf } from '../record-scan';
import type { FeedInfo } from '../model';
import type { AdvisorySource } from '../scan-image';
import { instantNanos } from '../verdicts/order';
import type { StoredVerdict } from '../verdicts/port';
import { sameScanPlugins } from '../reevaluate';
import type { AdvisoryPort, EvaluationPorts } from './ports';

/**
 * The configured feeds with their last sync (the advisory store's feed state: status, revision,
 * ecosystems covered), as every verdict names them. A feed that never synced is listed without
 * `syncedAt` or `ecosystems`: the policy's `feeds` rule sees it as stale and it covers no ecosystem
 * (DESIGN.md "Fail closed": missing or partial data must not look complete).
 */
export async function feedInfoOf(advisories: Pick<AdvisoryPort, 'store' | 'sources'>): Promise<FeedInfo[]> {
  return Promise.all(advisories.sources.map(async (source): Promise<FeedInfo> => feedInfoFromState(source, await advisories.store.getFeedState(source))));
}

/**
 * What an evaluation against `feeds` matches with: the store to read (the shared advisory cache's
 * view of that revision when the port has one, lib/engine/advisories/shared-cache.ts), the schemes
 * and the feeds it records.
 */
export function advisorySourceOf(advisories: AdvisoryPort, feeds: readonly FeedInfo[]): AdvisorySource {
  return { store: advisories.readerFor?.(feeds) ?? advisories.store, schemes: advisories.schemes, feeds };
}

/** The plug-ins of an evaluation made with these ports (record-scan.ts {@link pluginsOf}). */
export function pluginsFor(ports: Pick<EvaluationPorts, 'catalogers' | 'checks'>): string[] {
  return pluginsOf({ ...(ports.catalogers ? { catalogers: ports.catalogers } : {}), ...(ports.checks ? { checks: ports.checks } : {}) });
}

/** Nanoseconds of an RFC 3339 instant, or undefined when it is not one. */
export function instantOrUndefined(t: string | undefined): bigint | undefined {
  if (t === undefined) return undefined;
  try {
    return instantNanos(t);
  } catch {
    return undefined;
  }
}

/** What a new evaluation would be made with, to compare with the stored verdict. */
export interface EvaluationBasis {
  readonly policyHash: string;
  readonly plugins: readonly string[];
  /** The feed revision a scan now would record (record-scan.ts `feedRevisionOf`). */
  readonly feedRevision?: string;
  /** When the work was asked for (the push event's time, the rescan message's `at`). */
  readonly requestedAt?: string;
}

/**
 * Why `current` already answers a request made with `basis`, or undefined when the work must be done.
 * Same policy and plug-ins are required, and then either the same feed revision (the evaluation would
 * be the same one: RELIABILITY.md 24, a duplicate push) or an evaluation made at or after the request
 * (someone did the work since it was asked for: a duplicate rescan message).
 */
export function alreadyAnswered(current: StoredVerdict | undefined, basis: EvaluationBasis): string | undefined {
  if (!current) return undefined;
  if (current.policyHash !== basis.policyHash || !sameScanPlugins(current.plugins, basis.plugins)) return undefined;
  const feed = instantOrUndefined(basis.feedRevision);
  if (feed !== undefined && instantOrUndefined(current.feedRevision) === feed) return `revision ${current.revision} was evaluated against the same feed revision ${current.feedRevision} and policy`;
  const asked = instantOrUndefined(basis.requestedAt);
  const at = instantOrUndefined(current.evaluatedAt);
  if (asked !== undefined && at !== undefined && at >= asked) return `revision ${current.revision} was evaluated at ${current.evaluatedAt}, after the request (${basis.requestedAt})`;
  return undefined;
}

/** Runs `fn` over `items` with at most `limit` in flight; the first error is thrown after the ones in flight settle. */
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
}

/** The message of an error for a log line (our errors carry their code). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}`.slice(0, 1000);
  }
  return String(err).slice(0, 1000);
}
