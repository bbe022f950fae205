/**
 * nightly (scheduled): lib/engine/pipeline `nightly` — enqueue every live digest for re-evaluation from
 * its stored inventory and sweep ECR (REPOSITORIES) for digests without a verdict, enqueued for a
 * scan; all on the rescan queue. LIVE_WINDOW_DAYS and NIGHTLY_MAX_SWEEP_SCANS are read on every run.
 */
import type { Context } from 'aws-lambda';
import { AwsPipeline, lazily, readNightlySettings, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { pipelineLogger } from '../../lib/aws/pipeline-logging';
import { nightly, type NightlyReport } from '../../lib/engine/pipeline/nightly';

const { logger, log } = pipelineLogger('trustctl-nightly');
const pipeline = lazily(() => new AwsPipeline(readPipelineConfig(), {}, log));

/** Runs one nightly pass (the schedule's event carries nothing it needs). */
export async function handler(event?: { readonly id?: string; readonly time?: string }, _context?: Context): Promise<NightlyReport> {
  logger.info('nightly started', { eventId: event?.id, time: event?.time });
  const report = await nightly({ ...pipeline().nightlyPorts(), ...readNightlySettings() });
  logger.info('nightly done', { ...report });
  return report;
}
