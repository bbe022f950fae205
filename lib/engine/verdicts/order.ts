/**
 * Pure rules of the verdict store, shared by every implementation: how evaluations are ordered, what a
 * `put` does given the stored verdict, and the validation of what goes in and comes out.
 */
import { isDigest, parseDigest, type Finding, type Severity } from '../model';
import { InvalidVerdictError, VerdictStoreCorruptError } from './errors';
import { SEVERITIES } from '../policy/vocabulary';
import type { SeverityCounts, StoredVerdict, StoredVerdictReason, VerdictEvaluation } from './port';

/** RFC 3339 date-time (section 5.6): a `T` or space-free form with a mandatory offset, fractions to ns. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 timestamp as nanoseconds since the epoch: exact (a bigint, unlike `Date.parse`'s
 * milliseconds) and offset-aware, so `…T10:00:00+02:00` equals `…T08:00:00Z` and `.5Z` orders after
 * `Z`. A leap second (`:60`) counts as the next second's start. Throws RangeError for anything else.
 */
export function instantNanos(timestamp: string): bigint {
  const m = typeof timestamp === 'string' ? TIMESTAMP.exec(timestamp) : null;
  const bad = (): RangeError => new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(String(timestamp).slice(0, 64))}`);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const day = new Date(0);
  // setUTCFullYear keeps years 0–99, unlike Date.UTC.
  day.setUTCFullYear(y, mo - 1, d);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 60) throw bad();
  const oh = m[9] === undefined ? 0 : Number(m[9]);
  const om = m[10] === undefined ? 0 : Number(m[10]);
  if (oh > 23 || om > 59) throw bad();
  const offset = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  const seconds = BigInt(day.getTime() / 1000 + h * 3600 + mi * 60 + s - offset);
  return seconds * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** The two instants evaluations are ordered by. */
export interface EvaluationKey {
  /** `feedRevision` in ns since the epoch. */
  readonly feed: bigint;
  /** `evaluatedAt` in ns since the epoch. */
  readonly at: bigint;
}

/** The ordering key of an evaluation; throws {@link InvalidVerdictError} when a timestamp is not RFC 3339. */
export function evaluationKey(v: Pick<VerdictEvaluation, 'feedRevision' | 'evaluatedAt'>): EvaluationKey {
  return { feed: instant(v.feedRevision, 'feedRevision'), at: instant(v.evaluatedAt, 'evaluatedAt') };
}

function instant(value: string, field: string): bigint {
  try {
    return instantNanos(value);
  } catch (err) {
    throw new InvalidVerdictError(`${field}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Orders two evaluations: by `feedRevision` first (an evaluation against newer advisories is newer,
 * whenever it finished — RELIABILITY.md 29), then by `evaluatedAt`. Negative when `a` is older, 0 when
 * both are the same evaluation, positive when `a` is newer.
 */
export function compareEvaluations(a: Pick<VerdictEvaluation, 'feedRevision' | 'evaluatedAt'>, b: Pick<VerdictEvaluation, 'feedRevision' | 'evaluatedAt'>): number {
  const ka = evaluationKey(a);
  const kb = evaluationKey(b);
  if (ka.feed !== kb.feed) return ka.feed < kb.feed ? -1 : 1;
  if (ka.at !== kb.at) return ka.at < kb.at ? -1 : 1;
  return 0;
}

/** True when evaluation `a` may replace the stored `b` (strictly newer by {@link compareEvaluations}). */
export function isNewer(a: Pick<VerdictEvaluation, 'feedRevision' | 'evaluatedAt'>, b: Pick<VerdictEvaluation, 'feedRevision' | 'evaluatedAt'>): boolean {
  return compareEvaluations(a, b) > 0;
}

/**
 * What a `put` of `incoming` does given the `stored` verdict: `insert` (revision 1), `replace`
 * (revision stored + 1), or nothing — `older` (refused) or `same` (already stored: idempotent).
 */
export type WriteDecision = 'insert' | 'replace' | 'older' | 'same';

/** The {@link WriteDecision} for `incoming` against `stored` (undefined: the digest has no verdict yet). */
export function decideWrite(stored: StoredVerdict | undefined, incoming: VerdictEvaluation): WriteDecision {
  if (!stored) return 'insert';
  const c = compareEvaluations(incoming, stored);
  return c > 0 ? 'replace' : c < 0 ? 'older' : 'same';
}

const STATUSES = new Set(['trusted', 'quarantined']);

/** Findings per severity, every severity present. */
export function countBySeverity(findings: readonly Pick<Finding, 'severity'>[]): SeverityCounts {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return counts;
}

const isStringArray = (v: unknown): v is readonly string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Why `v` is not a well-formed evaluation, or undefined. */
function problem(v: Partial<VerdictEvaluation>): string | undefined {
  if (!isDigest(v.digest)) return `digest: not a sha256/sha512 digest: ${JSON.stringify(String(v.digest).slice(0, 200))}`;
  if (v.ref !== undefined && typeof v.ref !== 'string') return 'ref: not a string';
  if (!STATUSES.has(v.status as string)) return `status: ${JSON.stringify(v.status)} is neither trusted nor quarantined`;
  if (!Array.isArray(v.reasons)) return 'reasons: not an array';
  for (const [i, r] of (v.reasons as unknown[]).entries()) {
    const x = r as Partial<StoredVerdictReason> | null;
    if (typeof x?.rule !== 'string' || typeof x.message !== 'string' || !isStringArray(x.findings)) return `reasons[${i}]: needs rule, message and findings (strings)`;
  }
  if (typeof v.counts !== 'object' || v.counts === null) return 'counts: not an object';
  for (const s of SEVERITIES) {
    const n = (v.counts as Record<string, unknown>)[s];
    if (!Number.isSafeInteger(n) || (n as number) < 0) return `counts.${s}: not a non-negative integer`;
  }
  if (typeof v.policyHash !== 'string') return 'policyHash: not a string';
  if (!isStringArray(v.plugins)) return 'plugins: not a list of strings';
  if (typeof v.feedRevision !== 'string') return 'feedRevision: not a string';
  if (typeof v.evaluatedAt !== 'string') return 'evaluatedAt: not a string';
  return undefined;
}

/**
 * A validated copy of an evaluation with exactly the port's fields (anything else, including a
 * `revision` the caller set, is dropped: the store assigns revisions). Throws InvalidReferenceError for
 * a bad digest, {@link InvalidVerdictError} for anything else.
 */
export function checkEvaluation(v: VerdictEvaluation): VerdictEvaluation {
  parseDigest((v as Partial<VerdictEvaluation> | null)?.digest, 'verdict digest');
  const p = problem(v);
  if (p) throw new InvalidVerdictError(`invalid verdict for ${String(v.digest)}: ${p}`);
  evaluationKey(v);
  return {
    digest: v.digest,
    ...(v.ref !== undefined ? { ref: v.ref } : {}),
    status: v.status,
    reasons: v.reasons.map((r) => ({ rule: r.rule, message: r.message, findings: [...r.findings] })),
    counts: Object.fromEntries(SEVERITIES.map((s) => [s, v.counts[s]])) as SeverityCounts,
    policyHash: v.policyHash,
    feedRevision: v.feedRevision,
    plugins: [...v.plugins],
    evaluatedAt: v.evaluatedAt,
  };
}

/** The stored form of a checked evaluation at `revision`. */
export function withRevision(v: VerdictEvaluation, revision: number): StoredVerdict {
  return { ...v, revision };
}

/**
 * A stored verdict read back (parsed JSON), checked to be one and to belong to `digest` (and, when
 * given, to be `revision`); throws {@link VerdictStoreCorruptError} otherwise.
 */
export function parseStoredVerdict(value: unknown, digest: string, revision?: number): StoredVerdict {
  const v = value as Partial<StoredVerdict> | null;
  let p = typeof v === 'object' && v !== null ? problem(v) : 'not an object';
  if (!p && v!.digest !== digest) p = `belongs to ${v!.digest}`;
  if (!p && (!Number.isSafeInteger(v!.revision) || v!.revision! < 1)) p = 'revision: not a positive integer';
  if (!p && revision !== undefined && v!.revision !== revision) p = `revision ${v!.revision} stored as revision ${revision}`;
  if (!p) {
    try {
      evaluationKey(v as StoredVerdict);
    } catch (err) {
      p = (err as Error).message;
    }
  }
  if (p) throw new VerdictStoreCorruptError(`stored verdict of ${digest} is not valid: ${p}`);
  return v as StoredVerdict;
}

/** Checks a `history` limit: undefined (all) or a positive integer; throws RangeError otherwise. */
export function checkHistoryLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new RangeError(`history limit must be a positive integer, got ${limit}`);
  return limit;
}
