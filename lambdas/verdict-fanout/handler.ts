/**
 * verdict-fanout: the verdict table's stream → lib/engine/pipeline `fanOut` (trust tag in the registry,
 * Slack on transitions). A thin adapter: decode each record's old and new verdict (lib/aws/verdict-stream.ts;
 * items other than `sk = VERDICT` are skipped), call the flow, answer a partial batch response.
 *
 * Records are handled in order (a stream shard is ordered); a record whose tag cannot be written is
 * reported by its SequenceNumber and retried by Lambda — the notification ledger keeps the retry from
 * posting to Slack twice. Slack failures never fail a record (RELIABILITY.md 34).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { AwsPipeline, lazily, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { pipelineLogger } from '../../lib/aws/pipeline-logging';
import { verdictChangeOf } from '../../lib/aws/verdict-stream';
import { describeError } from '../../lib/engine/pipeline/common';
import { fanOut } from '../../lib/engine/pipeline/fan-out';

const { logger, log } = pipelineLogger('trustctl-verdict-fanout');
const pipeline = lazily(() => new AwsPipeline(readPipelineConfig(), {}, log));
const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** Handles one batch of stream records; returns the failed ones (by sequence number) for Lambda to retry. */
export async function handler(event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> {
  const ports = pipeline().fanOutPorts();
  const handle = async (record: DynamoDBRecord): Promise<void> => {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    try {
      const change = verdictChangeOf(record.dynamodb?.OldImage, record.dynamodb?.NewImage);
      if (!change) return;
      const outcome = await fanOut(change.previous, change.next, ports);
      logger.info('stream record handled', { sequenceNumber, digest: outcome.digest, status: outcome.status, ...(outcome.status === 'fanned-out' ? { tag: outcome.tag.result, notification: outcome.notification.status } : {}) });
    } catch (err) {
      logger.error('stream record failed', { sequenceNumber, eventName: record.eventName, error: describeError(err) });
      throw err;
    }
  };
  return processPartialResponse(event, handle, processor, { ...(context ? { context } : {}), processInParallel: false, throwOnFullBatchFailure: false });
}
