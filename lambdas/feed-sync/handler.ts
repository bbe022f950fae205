/**
 * feed-sync: sync the feeds in FEEDS (OSV exports, the NVD CVE API with the key from NVD_API_KEY_SECRET_ID,
 * the CISA KEV catalog) into the advisory table, enqueue re-evaluation of exactly the digests whose
 * packages changed (every digest when an NVD or KEV record changed), report stale feeds to Slack.
 *
 * With FEED_SYNC_QUEUE_URL (the construct sets it) a feed larger than one invocation still completes
 * (issue 15 item 8; lib/engine/pipeline/feed-sync-continuation.ts): the schedule's event puts one
 * message per feed on the feed-sync queue; each message syncs its feed until the invocation's remaining
 * time less a margin, checkpointing as it goes, and re-enqueues a continuation when not done. Without it,
 * the schedule's event syncs every feed inline (local runs), stopping with the time and continuing at the
 * next tick. A failing feed fails its message (SQS retries it, then the DLQ) or, inline, the invocation.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AwsPipeline, lazily, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { pipelineLogger } from '../../lib/aws/pipeline-logging';
import { describeError } from '../../lib/engine/pipeline/common';
import { parseFeedSyncMessage, startFeedSync, syncFeedMessage } from '../../lib/engine/pipeline/feed-sync-continuation';
import { syncFeedsAndTarget } from '../../lib/engine/pipeline/feed-sync';
import { DEADLINE_SAFETY_MARGIN_MS } from '../../lib/engine/registry/deadline';

const { logger, log } = pipelineLogger('trustctl-feed-sync');
const pipeline = lazily(() => new AwsPipeline(readPipelineConfig(), {}, log));
/** A Lambda's longest run, when no context tells the remaining time. */
const MAX_RUN_MS = 15 * 60_000;

/** What one scheduled run did, as the invocation's result (and its last log line). */
export interface FeedSyncSummary {
  readonly feeds: number;
  readonly changedRecords: number;
  readonly packageKeys: number;
  /** CVEs whose NVD or KEV record changed. */
  readonly enrichedCves: number;
  readonly enqueued: number;
  readonly staleFeeds: number;
  /** Feeds put on the feed-sync queue (one message each), with FEED_SYNC_QUEUE_URL. */
  readonly queued?: number;
  /** Feeds left unfinished by an inline run (they continue at the next tick). */
  readonly paused?: number;
}

const remaining = (context?: Context): number => context?.getRemainingTimeInMillis?.() ?? MAX_RUN_MS;
/** The time a sync may still use: the remaining time less the margin to commit a checkpoint and answer. */
const timeLeft = (context?: Context) => (): number => remaining(context) - DEADLINE_SAFETY_MARGIN_MS;

/** The schedule's event (EventBridge or Scheduler: nothing in it is needed), or a batch from the feed-sync queue. */
export async function handler(event?: { readonly id?: string; readonly time?: string } | SQSEvent, context?: Context): Promise<FeedSyncSummary | SQSBatchResponse> {
  if (event && 'Records' in event && Array.isArray(event.Records)) return onMessages(event, context);
  const scheduled = event as { readonly id?: string; readonly time?: string } | undefined;
  logger.info('feed sync started', { eventId: scheduled?.id, time: scheduled?.time });
  if (pipeline().config.feedSyncQueueUrl) {
    const { enqueued, stale } = await startFeedSync(await pipeline().feedContinuationPorts());
    const summary: FeedSyncSummary = { feeds: enqueued.length, changedRecords: 0, packageKeys: 0, enrichedCves: 0, enqueued: 0, staleFeeds: stale.length, queued: enqueued.length };
    logger.info('feed syncs queued', { ...summary });
    return summary;
  }
  const report = await syncFeedsAndTarget(await pipeline().feedSyncPorts(), { timeLeftMs: timeLeft(context) });
  const summary: FeedSyncSummary = {
    feeds: report.results.length, changedRecords: report.changedRecords, packageKeys: report.packageKeys, enrichedCves: report.enrichedCves.length,
    enqueued: report.digests.length, staleFeeds: report.stale.length, ...(report.paused.length > 0 ? { paused: report.paused.length } : {}),
  };
  logger.info('feed sync done', { ...summary });
  return summary;
}

/** One feed per record (the event source's batch size is 1); a failed record is retried by SQS, then dead-lettered. */
async function onMessages(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const ports = await pipeline().feedContinuationPorts();
  const failures: { itemIdentifier: string }[] = [];
  const handle = async (record: SQSRecord): Promise<void> => {
    const outcome = await syncFeedMessage(ports, parseFeedSyncMessage(record.body), { timeLeftMs: timeLeft(context), leaseMs: () => remaining(context) });
    const r = outcome.report;
    logger.info('feed message handled', { messageId: record.messageId, source: outcome.source, status: outcome.status, ...(r ? { changedRecords: r.changedRecords, enqueued: r.digests.length } : {}) });
  };
  for (const record of event.Records) {
    await handle(record).catch((err: unknown) => {
      logger.error('feed message failed', { messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount, error: describeError(err) });
      failures.push({ itemIdentifier: record.messageId });
    });
  }
  return { batchItemFailures: failures };
}
