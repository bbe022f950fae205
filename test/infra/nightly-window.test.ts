/**
 * The nightly run's window, cap and queue in the synthesized template (issue 15 item 4): the props
 * become nightly's LIVE_WINDOW_DAYS and NIGHTLY_MAX_SWEEP_SCANS; nightly may send to the rescan queue
 * only, never the push queue; the trust API records admission sightings with exactly
 * `dynamodb:UpdateItem` on the verdict table (and nothing when sightings are off); cdk-nag stays clean.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SIGHTING_PK_PATTERN, type TrustPipeline, type TrustPipelineProps } from '../../lib/infra/trust-pipeline';
import { TrustPipelineStack } from '../../lib/infra/trust-pipeline-stack';
import { readNightlySettings, readPipelineConfig } from '../../lib/aws/pipeline-ports';
import { actionsOf, cfn, grantsOf, newApp, removeOutdirs, resourcesOf, validationReport } from './helpers';

interface Synth {
  readonly p: TrustPipeline;
  readonly template: Template;
  readonly assembly: CloudAssembly;
}

function synth(props: TrustPipelineProps, app: App = newApp({ bundle: false })): Synth {
  const stack = new TrustPipelineStack(app, 'TrustPipeline', { pipeline: props });
  const assembly = app.synth();
  return { p: stack.pipeline, template: Template.fromJSON(assembly.getStackByName('TrustPipeline').template), assembly };
}

const envOf = (s: Synth, fn: NodejsFunction): Record<string, unknown> => {
  const res = (s.template.toJSON() as { Resources: Record<string, { Properties: { Environment?: { Variables?: Record<string, unknown> } } }> }).Resources;
  return res[Stack.of(fn).getLogicalId(fn.node.defaultChild as never)].Properties.Environment?.Variables ?? {};
};

let dflt: Synth;
let tuned: Synth;
let noSightings: Synth;

beforeAll(() => {
  dflt = synth({});
  tuned = synth({ liveWindow: Duration.days(14), maxSweepScans: 50, repositories: ['team/*'] });
  noSightings = synth({ recordAdmissionSightings: false });
});

afterAll(removeOutdirs);

describe('nightly: the live window and the sweep cap reach the function', () => {
  it.each([
    ['defaults', () => dflt, { LIVE_WINDOW_DAYS: '30', NIGHTLY_MAX_SWEEP_SCANS: '500', REPOSITORIES: '*' }],
    ['14 days, 50 scans, team/*', () => tuned, { LIVE_WINDOW_DAYS: '14', NIGHTLY_MAX_SWEEP_SCANS: '50', REPOSITORIES: 'team/*' }],
  ] as const)('%s', (_name, s, want) => {
    const env = envOf(s(), s().p.nightly);
    expect(env).toMatchObject(want);
    // What the handler reads back from that environment.
    expect(readNightlySettings(env as NodeJS.ProcessEnv)).toEqual({ liveWindowDays: Number(want.LIVE_WINDOW_DAYS), maxSweepScans: Number(want.NIGHTLY_MAX_SWEEP_SCANS) });
    expect(env).not.toHaveProperty('SCAN_QUEUE_URL');
    expect(env.RESCAN_QUEUE_URL).toEqual(JSON.parse(cfn(s().p, s().p.rescanQueue.queueUrl)));
  });

  it.each([
    ['a window of 0 days', { liveWindow: Duration.days(0) }, /liveWindow is at least 1 day/],
    ['a negative cap', { maxSweepScans: -1 }, /maxSweepScans/],
    ['a fractional cap', { maxSweepScans: 2.5 }, /maxSweepScans/],
  ] as const)('refuses %s', (_name, props, message) => {
    expect(() => synth(props as TrustPipelineProps)).toThrow(message);
  });

  it.each([
    ['NIGHTLY_MAX_SWEEP_SCANS=abc', { NIGHTLY_MAX_SWEEP_SCANS: 'abc' }, /NIGHTLY_MAX_SWEEP_SCANS/],
    ['NIGHTLY_MAX_SWEEP_SCANS=-3', { NIGHTLY_MAX_SWEEP_SCANS: '-3' }, /NIGHTLY_MAX_SWEEP_SCANS/],
    ['LIVE_WINDOW_DAYS=0', { LIVE_WINDOW_DAYS: '0' }, /LIVE_WINDOW_DAYS/],
    ['RECORD_SIGHTINGS=yes', { RECORD_SIGHTINGS: 'yes' }, /RECORD_SIGHTINGS/],
  ] as const)('the handlers refuse %s, naming the variable', (_name, env, message) => {
    expect(() => readPipelineConfig(env as NodeJS.ProcessEnv)).toThrow(message);
  });
});

describe('nightly sends to the rescan queue only (a push never waits behind a nightly backlog)', () => {
  it.each([['defaults', () => dflt], ['tuned', () => tuned]] as const)('%s', (_name, s) => {
    const g = grantsOf(s().template, s().p.nightly);
    const sent = resourcesOf(g, ['sqs:SendMessage']);
    expect(sent).toContain(cfn(s().p, s().p.rescanQueue.queueArn));
    expect(sent).not.toContain(cfn(s().p, s().p.scanQueue.queueArn));
    // The only other queue it may send to is its own dead-letter queue (asynchronous invocation failures).
    expect(sent).toEqual([cfn(s().p, s().p.nightlyDeadLetterQueue.queueArn), cfn(s().p, s().p.rescanQueue.queueArn)].sort());
    // The scan-worker still consumes the rescan queue: the messages are handled.
    expect(resourcesOf(grantsOf(s().template, s().p.scanWorker), ['sqs:ReceiveMessage'])).toContain(cfn(s().p, s().p.rescanQueue.queueArn));
  });
});

describe('the trust API records admission sightings with least privilege', () => {
  const WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|PartiQLUpdate|PartiQLInsert|PartiQLDelete)$/;

  it('on by default: RECORD_SIGHTINGS=true, and its one write is UpdateItem on the verdict table\'s digest list items (DIGESTS#…), never a verdict', () => {
    expect(envOf(dflt, dflt.p.trustApi)).toMatchObject({ RECORD_SIGHTINGS: 'true' });
    const g = grantsOf(dflt.template, dflt.p.trustApi);
    expect(actionsOf(g, 'dynamodb').filter((a) => WRITES.test(a))).toEqual(['dynamodb:UpdateItem']);
    expect(SIGHTING_PK_PATTERN).toBe('DIGESTS#*');
    expect(resourcesOf(g, ['dynamodb:UpdateItem'])).toEqual([
      `${cfn(dflt.p, dflt.p.verdictTable.tableArn)} when ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [SIGHTING_PK_PATTERN] } })}`,
    ]);
  });

  it('off: no RECORD_SIGHTINGS and no write at all', () => {
    expect(envOf(noSightings, noSightings.p.trustApi)).not.toHaveProperty('RECORD_SIGHTINGS');
    const g = grantsOf(noSightings.template, noSightings.p.trustApi);
    expect(actionsOf(g, 'dynamodb').filter((a) => WRITES.test(a))).toEqual([]);
  });

  it('nightly reads the sightings (Query on the verdict table) and writes no table', () => {
    const g = grantsOf(dflt.template, dflt.p.nightly);
    expect(resourcesOf(g, ['dynamodb:Query'])).toEqual([cfn(dflt.p, dflt.p.verdictTable.tableArn)]);
    expect(actionsOf(g, 'dynamodb').filter((a) => WRITES.test(a))).toEqual([]);
  });

  it('cdk-nag stays clean for each variant', () => {
    for (const s of [dflt, tuned, noSightings]) expect(validationReport(s.assembly.directory)).toEqual([]);
  });
});
