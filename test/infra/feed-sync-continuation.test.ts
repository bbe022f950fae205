/**
 * The template side of feed-sync's continuation across invocations (issue 15 item 8;
 * lib/engine/pipeline/feed-sync-continuation.ts): the feed-sync queue with its DLQ and alarm, the
 * event source (one message per invocation), the schedule still starting the run, the environment
 * the handler reads, and who may send and receive. Read from the synthesized template.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { FEED_IN_FLIGHT_MS } from '../../lib/engine/pipeline/feed-sync-continuation';
import { FEED_SYNC_QUEUE_AGE_ALARM, FEED_SYNC_TIMEOUT, MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR, type TrustPipeline } from '../../lib/infra/trust-pipeline';
import { TrustPipelineStack } from '../../lib/infra/trust-pipeline-stack';
import { actionsOf, cfn, grantsOf, logicalId, newApp, removeOutdirs, resourcesOf } from './helpers';

type Resource = { Type: string; Properties: Record<string, unknown> & { [k: string]: unknown } };

let p: TrustPipeline;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  const app: App = newApp({ bundle: false });
  const stack = new TrustPipelineStack(app, 'TrustPipeline', {});
  p = stack.pipeline;
  template = Template.fromJSON(app.synth().getStackByName('TrustPipeline').template);
  resources = template.toJSON().Resources as Record<string, Resource>;
});
afterAll(removeOutdirs);

const res = (c: Parameters<typeof logicalId>[0]): Resource => resources[logicalId(c)];
const arnOf = (v: unknown): string => cfn(p, v);

describe('the feed-sync queue', () => {
  it('is encrypted, redrives to the feed-sync DLQ after 5 receives, and hides a message 6× the function timeout', () => {
    const q = res(p.feedSyncQueue).Properties;
    expect(q.SqsManagedSseEnabled).toBe(true);
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(p.feedSyncDeadLetterQueue), 'Arn'] }, maxReceiveCount: MAX_RECEIVE_COUNT });
    const fnTimeout = res(p.feedSync).Properties.Timeout as number;
    expect(fnTimeout).toBe(FEED_SYNC_TIMEOUT.toSeconds());
    expect(q.VisibilityTimeout).toBe(fnTimeout * VISIBILITY_TIMEOUT_FACTOR);
    // The schedule skips a feed in flight for longer than a redelivery takes: a killed invocation's own message resumes it.
    expect(FEED_IN_FLIGHT_MS).toBeGreaterThan((q.VisibilityTimeout as number) * 1000);
    expect(p.deadLetterQueues).toContain(p.feedSyncDeadLetterQueue);
  });

  it('feeds feed-sync one message per invocation, two feeds at a time at most, with partial batch responses', () => {
    const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.EventSourceArn).includes(logicalId(p.feedSyncQueue)));
    expect(mappings).toHaveLength(1);
    expect(mappings[0].Properties).toMatchObject({
      FunctionName: { Ref: logicalId(p.feedSync) },
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('the schedule still invokes feed-sync (its tick enqueues one message per feed)', () => {
    const rule = res(p.feedSyncRule).Properties as { Targets: { Arn: unknown }[] };
    expect(rule.Targets.map((t) => t.Arn)).toEqual([{ 'Fn::GetAtt': [logicalId(p.feedSync), 'Arn'] }]);
  });

  it('feed-sync gets FEED_SYNC_QUEUE_URL, the variable its configuration reads', () => {
    const env = (res(p.feedSync).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.FEED_SYNC_QUEUE_URL).toEqual({ Ref: logicalId(p.feedSyncQueue) });
    expect(readPipelineConfig({ FEED_SYNC_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q' }).feedSyncQueueUrl).toBe('https://sqs.eu-west-1.amazonaws.com/123456789012/q');
    for (const fn of [p.scanWorker, p.verdictFanout, p.nightly, p.trustApi]) {
      const other = (res(fn).Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect({ fn: fn.node.id, has: 'FEED_SYNC_QUEUE_URL' in other }).toEqual({ fn: fn.node.id, has: false });
    }
  });
});

describe('who may use the feed-sync queue', () => {
  it('feed-sync sends to it and consumes it; no other function does either', () => {
    const queue = arnOf(p.feedSyncQueue.queueArn);
    const feed = grantsOf(template, p.feedSync);
    expect(resourcesOf(feed, ['sqs:SendMessage'])).toContain(queue);
    expect(resourcesOf(feed, ['sqs:ReceiveMessage', 'sqs:DeleteMessage'])).toEqual([queue]);
    for (const fn of [p.scanWorker, p.verdictFanout, p.nightly, p.trustApi]) {
      const g = grantsOf(template, fn);
      const touches = actionsOf(g, 'sqs').some((a) => resourcesOf(g, [a]).includes(queue));
      expect({ fn: fn.node.id, touches }).toEqual({ fn: fn.node.id, touches: false });
    }
  });

  it('the per-feed claims live on the advisory table, which feed-sync already writes (conditional put, delete)', () => {
    const feed = grantsOf(template, p.feedSync);
    const advisories = arnOf(p.advisoryTable.tableArn);
    expect(resourcesOf(feed, ['dynamodb:PutItem'])).toContain(advisories);
    expect(resourcesOf(feed, ['dynamodb:DeleteItem'])).toContain(advisories);
  });
});

describe('alarms on the feed-sync queue', () => {
  const alarmsOn = (queueId: string, metric: string): Record<string, unknown>[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === metric && JSON.stringify(r.Properties.Dimensions).includes(queueId))
      .map((r) => r.Properties);

  it.each([
    ['its oldest message waits longer than 2 hours (a failing feed-sync or a stalled chain of continuations)', 'queue', 'ApproximateAgeOfOldestMessage', FEED_SYNC_QUEUE_AGE_ALARM.toSeconds()],
    ['its DLQ holds a message (a feed failed 5 times, or was continued too often)', 'dlq', 'ApproximateNumberOfMessagesVisible', 0],
  ] as const)('%s', (_name, which, metric, threshold) => {
    const q = which === 'queue' ? p.feedSyncQueue : p.feedSyncDeadLetterQueue;
    const found = alarmsOn(logicalId(q), metric);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect(JSON.stringify(found[0].AlarmActions)).toContain(logicalId(p.alarmTopic as never));
    expect(p.alarms.length).toBe(13);
  });
});
