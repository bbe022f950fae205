/**
 * feed-sync (scheduled): lib/engine/pipeline `syncFeedsAndTarget` — sync the feeds in FEEDS (OSV
 * exports, the NVD CVE API with the key from NVD_API_KEY_SECRET_ID, the CISA KEV catalog) into the
 * advisory table, enqueue re-evaluation of exactly the digests whose packages changed (every digest
 * when an NVD or KEV record changed: those name a CVE, not a package), report stale feeds to Slack. A feed that fails does not stop the others; the invocation fails at the end so the
 * schedule's retries and the function's error alarm see it.
 */
import type { Context } from 'aws-lambda';
import { AwsPipeline, lazily, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { pipelineLogger } from '../../lib/aws/pipeline-logging';
import { syncFeedsAndTarget } from '../../lib/engine/pipeline/feed-sync';

const { logger, log } = pipelineLogger('trustctl-feed-sync');
const pipeline = lazily(() => new AwsPipeline(readPipelineConfig(), {}, log));

/** What one run did, as the invocation's result (and its last log line). */
export interface FeedSyncSummary {
  readonly feeds: number;
  readonly changedRecords: number;
  readonly packageKeys: number;
  /** CVEs whose NVD or KEV record changed. */
  readonly enrichedCves: number;
  readonly enqueued: number;
  readonly staleFeeds: number;
}

/** Runs one sync (the schedule's event — EventBridge or Scheduler — carries nothing it needs). */
export async function handler(event?: { readonly id?: string; readonly time?: string }, _context?: Context): Promise<FeedSyncSummary> {
  logger.info('feed sync started', { eventId: event?.id, time: event?.time });
  const report = await syncFeedsAndTarget(await pipeline().feedSyncPorts());
  const summary: FeedSyncSummary = {
    feeds: report.results.length, changedRecords: report.changedRecords, packageKeys: report.packageKeys, enrichedCves: report.enrichedCves.length,
    enqueued: report.digests.length, staleFeeds: report.stale.length,
  };
  logger.info('feed sync done', { ...summary });
  return summary;
}
