import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
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

/**
 * The functions' one X-Ray tracer (Powertools Tracer, service from `POWERTOOLS_SERVICE_NAME`, which the
 * construct sets per function). With the functions' active tracing (lib/infra/trust-pipeline.ts) Lambda
 * opens each invocation's segment; {@link traced} adds a subsegment for every AWS SDK call of a client,
 * so a slow scan shows where its time went (DynamoDB, SQS, ECR, Secrets Manager). Outside Lambda — tests,
 * the local pipeline, the CLI — the tracer disables itself (no `AWS_EXECUTION_ENV`) and `traced` returns
 * the client unchanged; `POWERTOOLS_TRACE_ENABLED=false` turns it off in Lambda too.
 */
export const pipelineTracer: Tracer = new Tracer();

/** `client` with X-Ray subsegments for its calls when tracing is on (see {@link pipelineTracer}). */
export function traced<T>(client: T): T {
  return pipelineTracer.isTracingEnabled() ? pipelineTracer.captureAWSv3Client(client) : client;
}
