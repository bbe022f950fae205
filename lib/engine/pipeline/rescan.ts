/**
 * The rescan queue's flow (DESIGN.md step 7 "Re-verify"): `reevaluate` messages (feed-sync's targeted
 * digests, the nightly run) are judged again from stored inventories — no layer is downloaded — and
 * `scan` messages (digests the nightly sweep found without a verdict) are scanned.
 */
import { parseImageRef, type Digest, type VerdictStatus } from '../model';
import { policyHash } from '../policy/schema';
import { reevaluateDigest } from '../reevaluate';
import type { RecordedVerdict } from '../record-scan';
import { advisorySourceOf, alreadyAnswered, describeError, feedInfoOf, pluginsFor } from './common';
import { parseRescanMessage } from './messages';
import { SILENT_LOGGER, type ScanPorts } from './ports';
import { scanDigest, type ScanOutcome } from './scan';

/** What {@link reevaluate} did with one message. */
export type RescanOutcome =
  | ScanOutcome
  /** Judged again from the stored inventory and recorded (`written` false: the store already held as new an evaluation). */
  | { readonly status: 'reevaluated'; readonly digest: Digest; readonly verdict: VerdictStatus; readonly recorded: RecordedVerdict }
  /** No inventory to judge from (an unscannable image stays as it is, quarantined). */
  | { readonly status: 'no-inventory'; readonly digest: Digest; readonly reason: string };

/**
 * Handles one rescan message (the parsed message, or its JSON body). A malformed message throws
 * InvalidPipelineMessageError; store, feed and registry failures propagate so the message is retried.
 */
export async function reevaluate(message: unknown, ports: ScanPorts): Promise<RescanOutcome> {
  const m = parseRescanMessage(message);
  const log = ports.logger ?? SILENT_LOGGER;
  if (m.kind === 'scan') {
    return scanDigest({ registry: m.registry, repository: m.repository, digest: m.digest, ...(m.at ? { requestedAt: m.at } : {}) }, ports);
  }

  const plugins = pluginsFor(ports);
  const current = await ports.store.get(m.digest);
  // Only "evaluated since the request": a nightly re-evaluation with unchanged feeds still refreshes the
  // verdict (its age, exceptions that expired, grace periods that ended).
  const answered = m.at ? alreadyAnswered(current, { policyHash: policyHash(ports.policy), plugins, requestedAt: m.at }) : undefined;
  if (answered) return { status: 'duplicate', digest: m.digest, current: current!, reason: answered };

  const feeds = await feedInfoOf(ports.advisories);
  const outcome = await reevaluateDigest(ports.store, m.digest, {
    // Read through the container's shared advisory cache of this feed revision, when there is one.
    advisories: advisorySourceOf(ports.advisories, feeds),
    policy: ports.policy,
    plugins,
    ...(ports.now ? { now: ports.now } : {}),
    // The reason travels to the store: a nightly re-evaluation's history item expires (lib/aws/verdict-store.ts).
    ...(m.reason ? { trigger: m.reason } : {}),
  });
  if (outcome.status === 'recorded') {
    const r = outcome.recorded;
    log.info('re-evaluated', { digest: m.digest, reason: m.reason, verdict: r.current.status, written: r.written, changed: r.changed, previousStatus: r.previousStatus });
    return { status: 'reevaluated', digest: m.digest, verdict: r.current.status, recorded: r };
  }
  if (outcome.status === 'no-inventory') {
    const reason = outcome.current ? 'no stored inventory (the image could not be scanned): the verdict stays as it is' : 'no stored inventory and no verdict';
    log.info('not re-evaluated', { digest: m.digest, reason });
    return { status: 'no-inventory', digest: m.digest, reason };
  }
  // Made by other catalogers or checks: only a new scan gives today's answer (the layer cache keys on
  // plug-in versions, so the layers are read again).
  let ref;
  try {
    ref = parseImageRef(outcome.current.ref ?? '');
  } catch (err) {
    log.warn('stale inventory, and the verdict names no registry image to scan', { digest: m.digest, ref: outcome.current.ref, error: describeError(err) });
    return { status: 'no-inventory', digest: m.digest, reason: `the inventory was made by other plug-ins and ${JSON.stringify(outcome.current.ref ?? null)} is not a registry image to scan again` };
  }
  log.info('stale inventory: scanning again', { digest: m.digest, ref: outcome.current.ref });
  return scanDigest({ registry: ref.registry, repository: ref.repository, digest: m.digest, ...(ref.tag ? { tag: ref.tag } : {}), ...(m.at ? { requestedAt: m.at } : {}) }, ports);
}
