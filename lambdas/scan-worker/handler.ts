/**
 * scan-worker: the scan queue (EventBridge "ECR Image Action" events) and the rescan queue (feed-sync's
 * and nightly's `reevaluate` / `scan` messages) → lib/engine/pipeline → verdict table. A thin adapter
 * (DESIGN.md "The house"): parse each SQS record, call the flow, answer a partial batch response.
 *
 * Records are handled one after another (a scan holds a layer in memory; two at once would double the
 * peak). A record that fails — unparseable (logged; RELIABILITY.md 25: it reaches the DLQ after
 * maxReceiveCount), or a registry or store error — is reported in `batchItemFailures` by its own
 * `messageId`, which Powertools' BatchProcessor takes from the record it handled (RELIABILITY.md 26:
 * a wrong itemIdentifier is impossible by construction); the other records are deleted.
 *
 * A failed record comes back after a delay growing with its receive count (ChangeMessageVisibility,
 * lib/engine/pipeline/retries.ts), not the queue's whole visibility timeout; a scan that hits its
 * deadline on the message's last attempt is recorded as unscannable instead (issue 15 item 5).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AwsPipeline, lazily, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { pipelineLogger } from '../../lib/aws/pipeline-logging';
import { describeError } from '../../lib/engine/pipeline/common';
import { DEADLINE_SAFETY_MARGIN_MS } from '../../lib/engine/registry/deadline';
import { parseQueueMessage, type QueueMessage } from '../../lib/engine/pipeline/messages';
import { reevaluate } from '../../lib/engine/pipeline/rescan';
import { deliveryOf, hadFairShare, retryDelaySeconds } from '../../lib/engine/pipeline/retries';
import { scanPushed } from '../../lib/engine/pipeline/scan';

const { logger, log } = pipelineLogger('trustctl-scan-worker');
const pipeline = lazily(() => new AwsPipeline(readPipelineConfig(), {}, log));
const processor = new BatchProcessor(EventType.SQS);
/** A Lambda's longest run: the claim lease when no context tells the remaining time. */
const MAX_RUN_MS = 15 * 60_000;

/**
 * The deadline of a scan starting now: the invocation's remaining time less
 * {@link DEADLINE_SAFETY_MARGIN_MS} to record the verdict and answer the batch (RELIABILITY.md 60).
 */
export function scanDeadlineMs(context?: Pick<Context, 'getRemainingTimeInMillis'>): number {
  return Math.max(0, (context?.getRemainingTimeInMillis?.() ?? MAX_RUN_MS) - DEADLINE_SAFETY_MARGIN_MS);
}

/** Handles one batch of SQS records; returns the failed ones for SQS to redeliver. */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const ports = {
    ...(await pipeline().scanPorts({ claimLeaseMs: () => context?.getRemainingTimeInMillis?.() ?? MAX_RUN_MS })),
    scanDeadlineMs: () => scanDeadlineMs(context),
  };
  const invocationDeadline = scanDeadlineMs(context);
  const flow = async (record: SQSRecord): Promise<void> => {
    const messageId = record.messageId;
    let message: QueueMessage;
    try {
      message = parseQueueMessage(record.body);
    } catch (err) {
      // Never the body itself: it is whatever someone put on the queue.
      logger.error('unparseable message', { messageId, receiveCount: record.attributes?.ApproximateReceiveCount, error: describeError(err) });
      throw err;
    }
    // The delivery travels with the record: on its last attempt a deadline becomes an unscannable
    // verdict — if the record had its fair share of the invocation (not one left with the time a
    // slow record before it did not use up).
    const fair = hadFairShare(invocationDeadline, scanDeadlineMs(context));
    const recordPorts = { ...ports, ...(fair ? { delivery: deliveryOf(record.attributes) } : {}) };
    try {
      const outcome = message.kind === 'push' || message.kind === 'ignored' ? await scanPushed(message, recordPorts) : await reevaluate(message, recordPorts);
      logger.info('message handled', { messageId, kind: message.kind, status: outcome.status, ...('digest' in outcome ? { digest: outcome.digest } : {}) });
    } catch (err) {
      logger.error('message failed', { messageId, kind: message.kind, ...('digest' in message ? { digest: message.digest } : {}), error: describeError(err) });
      throw err;
    }
  };
  const handle = async (record: SQSRecord): Promise<void> => {
    try {
      await flow(record);
    } catch (err) {
      // Back off per message; if the change fails the message still comes back, after the queue's timeout.
      const set = await pipeline().messageVisibility.retryIn(record, retryDelaySeconds(deliveryOf(record.attributes).receiveCount, pipeline().config.retries));
      if (set !== undefined) logger.info('retry scheduled', { messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount, inSeconds: set });
      throw err;
    }
  };
  return processPartialResponse(event, handle, processor, { ...(context ? { context } : {}), processInParallel: false, throwOnFullBatchFailure: false });
}
