/**
 * `nightly` (DESIGN.md step 7 "Re-verify"; RELIABILITY.md 32; issue 15 item 4): every live digest is
 * enqueued for re-evaluation from its stored inventory — so verdicts stay fresh for the gates' maximum
 * age, expired exceptions and ended grace periods take effect — and the registry is swept for digests
 * that never got a push event, which are enqueued for a scan (admission denies them until then).
 * Everything goes on the rescan queue: a push never waits behind a nightly backlog.
 *
 * Live means seen within the live window (`liveWindowDays`) by any of:
 * - an admission sighting (lib/engine/verdicts/sightings.ts: admission looked the digest up);
 * - the registry: pushed or pulled within the window (ECR `imagePushedAt`, `lastRecordedPullTime`);
 * - without a sighting reader only, for a digest with a verdict that the sweep did not list and whose
 *   repository it did not sweep (another registry, or no sweep): its verdict's `evaluatedAt`. That is
 *   weak evidence — a re-evaluation refreshes it, so such a digest stays live for ever — and is the
 *   only one there is when nothing records sightings.
 * A digest the sweep did not list in a repository it swept was deleted: live only if admission saw it.
 *
 * The sweep is bounded (issue 15: the first run used to enqueue every image ever pushed): only images
 * pushed or pulled within the window are scanned at all (older ones are counted, never scanned), and
 * at most `maxSweepScans` per run, newest first. The rest waits for the next runs — which enqueue the
 * next batch, since the earlier ones have verdicts by then.
 */
import { parseImageRef, type Digest } from '../model';
import type { StoredVerdict } from '../verdicts/port';
import { describeError, forEachBounded, instantOrUndefined } from './common';
import type { RescanMessage } from './messages';
import { SILENT_LOGGER, type NightlyPorts } from './ports';

/** Default of {@link NightlyPorts.maxSweepScans}: scans one run enqueues at most. */
export const DEFAULT_MAX_SWEEP_SCANS = 500;

/** What one nightly run did. */
export interface NightlyReport {
  /** Digests with a verdict. */
  readonly verdicts: number;
  /** Of those, live ones enqueued for re-evaluation. */
  readonly reevaluate: number;
  /**
   * Why the re-evaluated digests are live, each counted under the first that applies: an admission
   * sighting, a push or pull the registry lists, a recent `evaluatedAt` (no sighting reader only).
   */
  readonly live: { readonly admission: number; readonly registry: number; readonly evaluated: number };
  /** Digests with a verdict not seen within the window: not re-evaluated. */
  readonly notLive: number;
  /** The registry sweep: repositories listed, images seen, repositories that could not be listed. */
  readonly swept: { readonly repositories: number; readonly images: number; readonly failedRepositories: number; readonly listingFailed?: boolean };
  /** Images the registry holds without a verdict, enqueued for a scan. */
  readonly scan: number;
  /** Images without a verdict within the window left for later runs: over {@link NightlyReport.maxSweepScans}. */
  readonly scanDeferred: number;
  /** Images without a verdict neither pushed nor pulled within the window: never scanned by the sweep. */
  readonly scanSkippedNotLive: number;
  /** The cap applied to {@link NightlyReport.scan}. */
  readonly maxSweepScans: number;
}

interface Seen {
  readonly registry: string;
  readonly repository: string;
  /** Newest push or pull, ms since the epoch; undefined when the registry tells neither. */
  lastActivity?: number;
}

const DAY_MS = 86_400_000;
const repoKey = (registry: string, repository: string): string => `${registry}/${repository}`;
const byDigest = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function refRepository(ref: string | undefined): string | undefined {
  if (!ref) return undefined;
  try {
    const r = parseImageRef(ref);
    return repoKey(r.registry, r.repository);
  } catch {
    return undefined;
  }
}

/** Runs the nightly re-evaluation and sweep; every message goes to the rescan queue. */
export async function nightly(ports: NightlyPorts): Promise<NightlyReport> {
  const log = ports.logger ?? SILENT_LOGGER;
  const now = (ports.now ?? (() => new Date()))();
  if (!(ports.liveWindowDays > 0)) throw new RangeError(`liveWindowDays must be positive, got ${ports.liveWindowDays}`);
  const maxSweepScans = ports.maxSweepScans ?? DEFAULT_MAX_SWEEP_SCANS;
  if (!Number.isSafeInteger(maxSweepScans) || maxSweepScans < 0) throw new RangeError(`maxSweepScans must be a whole number ≥ 0, got ${maxSweepScans}`);
  const since = now.getTime() - ports.liveWindowDays * DAY_MS;
  const at = now.toISOString();

  const seen = new Map<Digest, Seen>();
  const sweptRepos = new Set<string>();
  let repositories = 0;
  let images = 0;
  let failedRepositories = 0;
  let listingFailed = false;
  if (ports.catalog) {
    try {
      for await (const repo of ports.catalog.repositories()) {
        repositories++;
        try {
          for await (const img of ports.catalog.images(repo)) {
            images++;
            const activity = Math.max(img.pushedAt?.getTime() ?? -Infinity, img.lastPulledAt?.getTime() ?? -Infinity);
            const s = seen.get(img.digest) ?? { registry: repo.registry, repository: repo.repository };
            if (Number.isFinite(activity)) s.lastActivity = Math.max(s.lastActivity ?? -Infinity, activity);
            seen.set(img.digest, s);
          }
          sweptRepos.add(repoKey(repo.registry, repo.repository));
        } catch (err) {
          // A repository we could not list proves nothing about its images: they fall back to their verdicts.
          failedRepositories++;
          log.error('repository not swept', { registry: repo.registry, repository: repo.repository, error: describeError(err) });
        }
      }
    } catch (err) {
      // No sweep tonight, but the re-evaluations still go out. Digests without a verdict stay denied
      // by admission until a sweep or a push finds them (fail closed).
      listingFailed = true;
      log.error('registry not swept: repositories cannot be listed', { error: describeError(err) });
    }
  }

  // Sightings are read after the sweep: a failure here fails the run (the schedule's retries and DLQ),
  // since without them nothing in use but unlisted would be re-evaluated.
  const sighted = ports.sightings ? await ports.sightings.seenSince(new Date(since)) : undefined;
  const digests = await ports.store.listDigests();
  const withVerdict = new Set<string>(digests);
  const live: Digest[] = [];
  const liveBy = { admission: 0, registry: 0, evaluated: 0 };
  const unlisted: Digest[] = [];
  for (const d of digests) {
    const s = seen.get(d);
    if (sighted?.has(d)) {
      liveBy.admission++;
      live.push(d);
    } else if (s && (s.lastActivity ?? -Infinity) >= since) {
      liveBy.registry++;
      live.push(d);
    } else if (!s && !sighted) unlisted.push(d);
  }
  await forEachBounded(unlisted, ports.concurrency ?? 16, async (d) => {
    const v: StoredVerdict | undefined = await ports.store.get(d);
    if (!v) return;
    const repo = refRepository(v.ref);
    if (repo !== undefined && sweptRepos.has(repo)) return; // deleted from a repository the sweep listed
    const evaluated = instantOrUndefined(v.evaluatedAt);
    if (evaluated !== undefined && Number(evaluated / 1_000_000n) >= since) {
      liveBy.evaluated++;
      live.push(d);
    }
  });
  live.sort(byDigest);

  // Images without a verdict: those used within the window (or whose registry tells no time) are
  // candidates, newest first; the others are counted and left alone.
  const candidates: [Digest, Seen][] = [];
  let scanSkippedNotLive = 0;
  for (const [digest, s] of seen) {
    if (withVerdict.has(digest)) continue;
    if (s.lastActivity !== undefined && s.lastActivity < since) scanSkippedNotLive++;
    else candidates.push([digest, s]);
  }
  candidates.sort(([da, a], [db, b]) => (b.lastActivity ?? -Infinity) - (a.lastActivity ?? -Infinity) || byDigest(da, db));
  const scans = candidates.slice(0, maxSweepScans).map(([digest, s]): RescanMessage => ({ kind: 'scan', registry: s.registry, repository: s.repository, digest, at, reason: 'sweep' }));
  const scanDeferred = candidates.length - scans.length;

  const reevaluations = live.map((digest): RescanMessage => ({ kind: 'reevaluate', digest, at, reason: 'nightly' }));
  // Scans first: they are what admission is waiting for (RELIABILITY.md 32).
  if (scans.length + reevaluations.length > 0) await ports.queue.send([...scans, ...reevaluations]);
  const report: NightlyReport = {
    verdicts: digests.length, reevaluate: live.length, live: liveBy, notLive: digests.length - live.length,
    swept: { repositories, images, failedRepositories, ...(listingFailed ? { listingFailed } : {}) },
    scan: scans.length, scanDeferred, scanSkippedNotLive, maxSweepScans,
  };
  if (scanDeferred > 0) log.warn('sweep capped: images without a verdict left for the next runs', { scan: scans.length, scanDeferred, maxSweepScans });
  log.info('nightly enqueued', { ...report });
  return report;
}
