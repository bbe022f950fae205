/**
 * The deploy gate's rule (DESIGN.md step 8 "Enforce"; RELIABILITY.md 40): a digest passes only with a
 * verdict that exists, is `trusted`, and is not older than the allowed age. Everything else — no
 * verdict, quarantined, stale — fails, each with a sentence saying why. Shared by `trustctl verify`
 * and the verdict API so both answer alike.
 */
import type { Digest } from '../model';
import type { StoredVerdict } from './port';
import { formatDuration } from '../duration';

/** Why a digest did not pass the gate. */
export type GateProblem = 'no-verdict' | 'quarantined' | 'stale';

/** The gate's answer for one digest. */
export interface GateDecision {
  readonly digest: Digest;
  readonly pass: boolean;
  readonly verdict?: StoredVerdict;
  readonly problem?: GateProblem;
  /** One sentence for humans: why it passed or failed. */
  readonly message: string;
}

/** Options of {@link gateDecision}. */
export interface GateOptions {
  /** The gate's clock. */
  readonly now: Date;
  /** A verdict evaluated longer ago than this (ms) is stale; undefined: any age is accepted. */
  readonly maxAgeMs?: number;
}

/** The gate's decision for `digest` given its stored verdict (fail closed). */
export function gateDecision(digest: Digest, verdict: StoredVerdict | undefined, opts: GateOptions): GateDecision {
  if (!verdict) return { digest, pass: false, problem: 'no-verdict', message: `no verdict for ${digest}: the image was never scanned (or not yet)` };
  if (verdict.status !== 'trusted') {
    // The reasons themselves travel with the verdict; the sentence names the rules that fired.
    const rules = [...new Set(verdict.reasons.map((r) => r.rule))];
    return { digest, pass: false, verdict, problem: 'quarantined', message: `quarantined${rules.length ? ` by ${rules.join(', ')} (${verdict.reasons.length} reason${verdict.reasons.length === 1 ? '' : 's'})` : ''}` };
  }
  if (opts.maxAgeMs !== undefined) {
    const age = opts.now.getTime() - Date.parse(verdict.evaluatedAt);
    if (!(age <= opts.maxAgeMs)) {
      return { digest, pass: false, verdict, problem: 'stale', message: `verdict is stale: evaluated ${verdict.evaluatedAt}, older than the allowed ${formatDuration(opts.maxAgeMs)}` };
    }
  }
  return { digest, pass: true, verdict, message: `trusted (revision ${verdict.revision}, evaluated ${verdict.evaluatedAt})` };
}
