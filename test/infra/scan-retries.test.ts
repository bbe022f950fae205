/**
 * The scan-worker's retries in the synthesized template (issue 15 item 5): it may change the
 * visibility of the messages it consumes (the per-message retry delay) and read its queues' visibility
 * timeout (the delay's ceiling) — both on the scan and rescan queues only; the retry settings reach it
 * as environment when given (the defaults live in the engine), and settings SQS or the queues cannot
 * honour fail synthesis.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_RETRY_POLICY, retryDelaySeconds } from '../../lib/engine/pipeline/retries';
import { MAX_RECEIVE_COUNT, TrustPipeline, type TrustPipelineProps } from '../../lib/infra/trust-pipeline';
import { cfn, grantsOf, logicalId, newApp, removeOutdirs, resourcesOf } from './helpers';

type Json = ReturnType<typeof JSON.parse>;

function synth(props: TrustPipelineProps = {}): { stack: Stack; p: TrustPipeline; template: Template } {
  const app: App = newApp({ bundle: false });
  const stack = new Stack(app, 'Retries');
  const p = new TrustPipeline(stack, 'Pipeline', props);
  return { stack, p, template: Template.fromStack(stack) };
}

afterAll(removeOutdirs);

describe('scan-worker retries (issue 15 item 5)', () => {
  const dflt = synth();
  const env = (s: ReturnType<typeof synth>): Record<string, Json> =>
    (s.template.toJSON().Resources as Record<string, { Properties: { Environment: { Variables: Record<string, Json> } } }>)[logicalId(s.p.scanWorker)].Properties.Environment.Variables;

  it('the scan-worker may ChangeMessageVisibility and GetQueueAttributes on the scan and rescan queues, and nowhere else', () => {
    const g = grantsOf(dflt.template, dflt.p.scanWorker);
    const queues = [cfn(dflt.stack, dflt.p.scanQueue.queueArn), cfn(dflt.stack, dflt.p.rescanQueue.queueArn)].sort();
    expect(resourcesOf(g, ['sqs:ChangeMessageVisibility'])).toEqual(queues);
    expect(resourcesOf(g, ['sqs:GetQueueAttributes'])).toEqual(queues);
  });

  it('with the defaults: no retry variables (the engine’s DEFAULT_RETRY_POLICY applies), and its longest delay is shorter than the queues’ visibility timeout', () => {
    expect(Object.keys(env(dflt)).filter((k) => k.startsWith('SCAN_'))).toEqual([]);
    const timeouts = [dflt.p.scanQueue, dflt.p.rescanQueue].map((q) => (dflt.template.toJSON().Resources[logicalId(q)].Properties as { VisibilityTimeout: number }).VisibilityTimeout);
    expect(Math.max(...Array.from({ length: MAX_RECEIVE_COUNT }, (_, i) => retryDelaySeconds(i + 1)))).toBeLessThan(Math.min(...timeouts));
    // The give-up attempt comes before the DLQ: one receive is left for a worker killed before it recorded.
    expect(DEFAULT_RETRY_POLICY.maxScanAttempts).toBe(MAX_RECEIVE_COUNT - 1);
  });

  it('given settings reach the scan-worker only', () => {
    const s = synth({ scanRetryDelay: Duration.seconds(10), scanRetryMaxDelay: Duration.minutes(5), scanAttempts: 3, maxScanTime: Duration.hours(2) });
    expect(env(s)).toMatchObject({ SCAN_RETRY_BASE_SECONDS: '10', SCAN_RETRY_MAX_SECONDS: '300', SCAN_MAX_ATTEMPTS: '3', SCAN_MAX_TOTAL_SECONDS: '7200' });
    const resources = s.template.toJSON().Resources as Record<string, { Type: string; Properties: { Environment?: { Variables?: Record<string, Json> } } }>;
    const holders = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.SCAN_MAX_ATTEMPTS !== undefined).map(([id]) => id);
    expect(holders).toEqual([logicalId(s.p.scanWorker)]);
  });

  it.each([
    { name: 'scanAttempts 0', props: { scanAttempts: 0 }, error: /scanAttempts is a whole number from 1 to 5/ },
    { name: 'scanAttempts above maxReceiveCount (the DLQ would come first)', props: { scanAttempts: MAX_RECEIVE_COUNT + 1 }, error: /scanAttempts is a whole number/ },
    { name: 'scanAttempts 2.5', props: { scanAttempts: 2.5 }, error: /scanAttempts is a whole number/ },
    { name: 'scanRetryDelay 0', props: { scanRetryDelay: Duration.seconds(0) }, error: /scanRetryDelay is at least 1 second/ },
    { name: 'scanRetryMaxDelay below scanRetryDelay', props: { scanRetryDelay: Duration.minutes(2), scanRetryMaxDelay: Duration.minutes(1) }, error: /scanRetryMaxDelay between it and 12 hours/ },
    { name: 'scanRetryMaxDelay over SQS’s 12 hours', props: { scanRetryMaxDelay: Duration.hours(13) }, error: /12 hours/ },
    { name: 'maxScanTime 0', props: { maxScanTime: Duration.seconds(0) }, error: /maxScanTime is at least 1 second/ },
  ])('$name fails synthesis', ({ props, error }) => {
    expect(() => synth(props)).toThrow(error);
  });

  it.each([
    { name: 'scanAttempts equal to maxReceiveCount', props: { scanAttempts: MAX_RECEIVE_COUNT } },
    { name: 'a base above the default cap, alone (the base wins)', props: { scanRetryDelay: Duration.minutes(20) } },
  ])('$name is accepted', ({ props }) => {
    expect(() => synth(props)).not.toThrow();
  });
});
