import { Logger } from '@aws-lambda-powertools/logger';
import type { PipelineLogger } from '../engine/pipeline/ports';

/**
 * A Powertools Logger for one function (structured JSON lines in CloudWatch Logs, `service` set,
 * level from `POWERTOOLS_LOG_LEVEL`) and the same logger as the flows' {@link PipelineLogger}. What the
 * flows log is plain data: digests, references, statuses, error codes — never a webhook URL or a
 * registry credential (DESIGN.md "No secret in logs").
 */
export function pipelineLogger(serviceName: string): { readonly logger: Logger; readonly log: PipelineLogger } {
  const logger = new Logger({ serviceName });
  const log: PipelineLogger = {
    info: (message, fields) => logger.info(message, { ...fields }),
    warn: (message, fields) => logger.warn(message, { ...fields }),
    error: (message, fields) => logger.error(message, { ...fields }),
  };
  return { logger, log };
}
