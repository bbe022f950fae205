/**
 * `nightly` (DESIGN.md step 7 "Re-verify"; RELIABILITY.md 32): every live digest is enqueued for
 * re-evaluation from its stored inventory — so verdicts stay fresh for the gates' maximum age,
 * expired exceptions and ended grace periods take effect — and the registry is swept for digests
 * that never got a push event, which are enqueued for a scan (admission denies them until then).
 *
 * Live means in use within LIVE_WINDOW_DAYS:
 * - an image the registry lists: pushed or pulled (ECR `imagePushedAt`, `lastRecordedPullTime`) within
 *   the window;
 * - a digest with a verdict that the sweep did not list: if its repository was swept, the image was
 *   deleted and is not live; otherwise (another registry, or no sweep) its verdict's `evaluatedAt`
 *   decides — there is no better evidence, and re-judging too much only costs compute.
 */
import { parseImageRef, type Digest } from '../model';
import type { StoredVerdict } from '../verdicts/port';
import { describeError, forEachBounded, instantOrUndefined } from './common';
import type { RescanMessage } from './messages';
import { SILENT_LOGGER, type NightlyPorts } from './ports';

/** What one nightly run did. */
export interface NightlyReport {
  /** Digests with a verdict. */
  readonly verdicts: number;
  /** Of those, live ones enqueued for re-evaluation. */
  readonly reevaluate: number;
  readonly notLive: number;
  /** The registry sweep: repositories listed, images seen, repositories that could not be listed. */
  readonly swept: { readonly repositories: number; readonly images: number; readonly failedRepositories: number; readonly listingFailed?: boolean };
  /** Images the registry holds without a verdict, enqueued for a scan. */
  readonly scan: number;
}

interface Seen {
  readonly registry: string;
  readonly repository: string;
  /** Newest push or pull, ms since the epoch. */
  lastActivity?: number;
}

const DAY_MS = 86_400_000;
const repoKey = (registry: string, repository: string): string => `${registry}/${repository}`;

function refRepository(ref: string | undefined): string | undefined {
  if (!ref) return undefined;
  try {
    const r = parseImageRef(ref);
    return repoKey(r.registry, r.repository);
  } catch {
    return undefined;
  }
}

/** Runs the nightly re-evaluation and sweep; the messages go to the rescan queue. */
export async function nightly(ports: NightlyPorts): Promise<NightlyReport> {
  const log = ports.logger ?? SILENT_LOGGER;
  const now = (ports.now ?? (() => new Date()))();
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

  const digests = await ports.store.listDigests();
  const withVerdict = new Set<string>(digests);
  const live: Digest[] = [];
  const unlisted: Digest[] = [];
  for (const d of digests) {
    const s = seen.get(d);
    if (!s) unlisted.push(d);
    else if ((s.lastActivity ?? -Infinity) >= since) live.push(d);
  }
  await forEachBounded(unlisted, ports.concurrency ?? 16, async (d) => {
    const v: StoredVerdict | undefined = await ports.store.get(d);
    if (!v) return;
    const repo = refRepository(v.ref);
    if (repo !== undefined && sweptRepos.has(repo)) return; // deleted from a repository the sweep listed
    const evaluated = instantOrUndefined(v.evaluatedAt);
    if (evaluated !== undefined && Number(evaluated / 1_000_000n) >= since) live.push(d);
  });
  live.sort();

  const scans: RescanMessage[] = [];
  for (const [digest, s] of seen) {
    if (!withVerdict.has(digest)) scans.push({ kind: 'scan', registry: s.registry, repository: s.repository, digest, at, reason: 'sweep' });
  }
  scans.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));

  const reevaluations = live.map((digest): RescanMessage => ({ kind: 'reevaluate', digest, at, reason: 'nightly' }));
  const scanQueue = ports.scanQueue ?? ports.queue;
  if (scanQueue === ports.queue) {
    if (reevaluations.length + scans.length > 0) await ports.queue.send([...reevaluations, ...scans]);
  } else {
    // Scans first: they are what admission is waiting for (RELIABILITY.md 32).
    if (scans.length > 0) await scanQueue.send(scans);
    if (reevaluations.length > 0) await ports.queue.send(reevaluations);
  }
  const report: NightlyReport = {
    verdicts: digests.length, reevaluate: live.length, notLive: digests.length - live.length,
    swept: { repositories, images, failedRepositories, ...(listingFailed ? { listingFailed } : {}) }, scan: scans.length,
  };
  log.info('nightly enqueued', { ...report });
  return report;
}
