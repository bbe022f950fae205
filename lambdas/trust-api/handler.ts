/**
 * trust-api: a Lambda Function URL in front of lib/admission's routes (`createTrustHandler`):
 * `POST /admission/validate|mutate` (AdmissionReview v1), `GET /verdicts/<digest>`, `GET /healthz`,
 * reading verdicts from the verdict table. A thin adapter: the Function URL event (payload 2.0) →
 * `(method, path, body)` → `{ statusCode, headers, body }`.
 *
 * Behind an IAM-authenticated URL every request is already signed; behind a public URL
 * (API_TOKEN_SECRET_ARN set) every route but /healthz requires `Authorization: Bearer <token>`.
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { AwsPipeline, lazily, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { pipelineLogger } from '../../lib/aws/pipeline-logging';
import { describeError } from '../../lib/engine/pipeline/common';

const { logger, log } = pipelineLogger('trustctl-trust-api');
const pipeline = lazily(() => new AwsPipeline(readPipelineConfig(), {}, log));

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const answer = (statusCode: number, code: string, message: string, headers: Record<string, string> = {}): LambdaFunctionURLResult => ({
  statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ error: { code, message } }),
});

/** Answers one Function URL request. */
export async function handler(event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath || event.requestContext?.http?.path || '/';
  const p = pipeline();
  const token = p.apiToken;
  if (token && path !== '/healthz') {
    let allowed: boolean;
    try {
      allowed = await token.allows(event.headers?.authorization ?? event.headers?.Authorization);
    } catch (err) {
      logger.error('API token unavailable', { error: describeError(err) });
      return answer(503, 'AUTH_UNAVAILABLE', 'the API token cannot be checked right now');
    }
    if (!allowed) return answer(401, 'UNAUTHORIZED', 'a valid bearer token is required', { 'www-authenticate': 'Bearer' });
  }
  const body = event.body === undefined || event.body === null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
  const r = await p.trustHandler()(method, path, body);
  if (r.status >= 500) logger.warn('trust API answered an error', { method, path: path.slice(0, 200), status: r.status });
  return { statusCode: r.status, headers: { ...r.headers }, body: r.body };
}
