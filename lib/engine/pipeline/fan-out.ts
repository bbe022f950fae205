/**
 * Step 6 of DESIGN.md "The data's way" ("Fan out"): a change of a digest's verdict — the old and new
 * verdicts of one stream record of the verdict table (lib/aws/verdict-stream.ts decodes them) — is
 * shown in the registry as the trust tag and told to people on transitions only. The tag is a
 * convenience for humans and never read by enforcement (RELIABILITY.md 43); it is written when the
 * status changes (or a digest gets its first verdict), idempotently. Slack is told through the
 * {@link PipelineNotifier}, whose ledger makes a record delivered twice post once.
 */
import { parseImageRef, type Digest, type VerdictStatus } from '../model';
import { applyTrustTag, trustTagFor, type TrustTagOutcome } from '../registry/trust-tags';
import { compareEvaluations } from '../verdicts/order';
import type { StoredVerdict } from '../verdicts/port';
import { describeError } from './common';
import { SILENT_LOGGER, type FanOutPorts, type NotifyResult, type TagRemoval } from './ports';

/** What {@link fanOut} did. */
export type FanOutOutcome =
  /** Not a change worth acting on: the same or an older evaluation (a replayed record), or the same status. */
  | { readonly status: 'no-change'; readonly digest: Digest; readonly reason: string }
  | {
      readonly status: 'fanned-out';
      readonly digest: Digest;
      readonly from?: VerdictStatus;
      readonly to: VerdictStatus;
      /** The tag written, or why none was (`skipped`: the verdict names no registry image, or is a platform of an index). */
      readonly tag: TrustTagOutcome | { readonly result: 'skipped'; readonly message: string };
      /** On a flip, what became of the previous status's trust tag (absent when no tag was written). */
      readonly staleTag?: TagRemoval & { readonly tag: string };
      readonly notification: NotifyResult;
    };

/**
 * Acts on one verdict change. Registry errors while tagging propagate (the stream record is retried;
 * the ledger keeps the retry from posting twice); notification failures never do (RELIABILITY.md 34).
 * The notification goes first: a registry that refuses tags must not keep a quarantine from Slack.
 */
export async function fanOut(previous: StoredVerdict | undefined, next: StoredVerdict, ports: FanOutPorts): Promise<FanOutOutcome> {
  const log = ports.logger ?? SILENT_LOGGER;
  const digest = next.digest;
  if (previous && compareEvaluations(next, previous) <= 0) return { status: 'no-change', digest, reason: 'not newer than the verdict it replaced (a replayed or out-of-order record)' };
  if (previous && previous.status === next.status) return { status: 'no-change', digest, reason: `still ${next.status}` };

  let notification: NotifyResult = { status: 'not-news' };
  if (ports.notifier) {
    try {
      notification = await ports.notifier.verdictChanged(previous, next);
    } catch (err) {
      // The port promises not to throw; if one does, the verdict path still goes on.
      notification = { status: 'failed', error: describeError(err) };
    }
    if (notification.status === 'failed') log.warn('verdict notification failed', { digest, kind: notification.kind, error: notification.error });
  }

  let tag: TrustTagOutcome | { result: 'skipped'; message: string };
  let ref;
  try {
    ref = parseImageRef(next.ref ?? '');
  } catch (err) {
    ref = undefined;
    tag = { result: 'skipped', message: `the verdict names no registry image (${JSON.stringify(next.ref ?? null)}): ${describeError(err)}` };
  }
  // Only the digest that was pushed or scanned is tagged: a platform manifest of an index carries the
  // index's reference, and tagging it would exempt it from ECR lifecycle rules for untagged images.
  if (ref?.digest !== undefined && ref.digest !== digest) {
    tag = { result: 'skipped', message: `a platform manifest of the index ${ref.digest}: only the index is tagged` };
    ref = undefined;
  }
  let staleTag: (TagRemoval & { tag: string }) | undefined;
  if (ref) {
    tag = await applyTrustTag(ports.registry.client(ref.registry), ref.repository, digest, next.status);
    // A flip leaves the old status's tag behind (a `trust-trusted-…` on a quarantined image): remove
    // it, but only once the new tag names the image, so that another tag keeps it.
    if (previous && (tag.result === 'written' || tag.result === 'unchanged')) {
      const stale = trustTagFor(previous.status, digest);
      const removal = ports.registry.untag
        ? await ports.registry.untag(ref.registry, ref.repository, digest, stale)
        : await ports.registry.client(ref.registry).untag(ref.repository, digest, stale);
      staleTag = { tag: stale, ...removal };
      if (removal.result === 'kept' || removal.result === 'unsupported') log.warn('stale trust tag left in place', { digest, tag: stale, result: removal.result, detail: removal.message });
    }
  }
  log.info('verdict fanned out', { digest, from: previous?.status, to: next.status, tag: tag!.result, staleTag: staleTag?.result, notification: notification.status });
  return { status: 'fanned-out', digest, ...(previous ? { from: previous.status } : {}), to: next.status, tag: tag!, ...(staleTag ? { staleTag } : {}), notification };
}
