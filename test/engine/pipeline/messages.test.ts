/**
 * What the pipeline's queues carry, parsed strictly (RELIABILITY.md 23, 25): the real EventBridge / SQS
 * payloads of ../shared/corpus/events/aws and the rescan messages feed-sync and nightly write.
 */
import { InvalidPipelineMessageError } from '../../../lib/engine/pipeline/errors';
import { ecrRegistryHost, encodeRescanMessage, parseEcrEvent, parseQueueMessage, parseRescanMessage, type RescanMessage } from '../../../lib/engine/pipeline/messages';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusBytes } from '../../helpers/corpus';

const event = (file: string): Record<string, unknown> => JSON.parse(corpusBytes('events', 'aws', file).toString('utf8')) as Record<string, unknown>;
const PUSH = event('awsdocs-ecr__ecr-image-action-push.json') as Record<string, unknown> & { detail: Record<string, unknown> };
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const withDetail = (detail: Record<string, unknown>, top: Record<string, unknown> = {}) => ({ ...PUSH, ...top, detail: { ...PUSH.detail, 'image-digest': DIGEST, ...detail } });

describe('parseEcrEvent: pull through cache and replication (test/fixtures/ecr-events)', () => {
  const fixture = (file: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'ecr-events', file), 'utf8')) as Record<string, unknown> & { detail: Record<string, unknown> };
  const PTC = fixture('ecr-pull-through-cache-action.json');
  const REPL = fixture('ecr-replication-action.json');

  it('the pull through cache sample as published: its time 2023-02-29 does not exist, so it is refused', () => {
    expect(() => parseEcrEvent(PTC)).toThrow(/ECR pull through cache: time/);
  });

  it('a pull through cache sync becomes a scan of the cached digest in the cache repository', () => {
    expect(parseEcrEvent({ ...PTC, time: '2023-02-28T02:36:48Z' })).toEqual({
      kind: 'push', registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com', repository: 'docker-hub/alpine',
      digest: PTC.detail['image-digest'], tag: '3.17.2', time: '2023-02-28T02:36:48Z', eventId: PTC.id, via: 'pull-through-cache',
    });
  });

  it('a replication becomes a scan of the replica in the destination account and region', () => {
    expect(parseEcrEvent(REPL)).toEqual({
      kind: 'push', registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'docker/repository',
      digest: REPL.detail['image-digest'], tag: 'latest', time: '2024-05-08T20:44:54Z', eventId: REPL.id, via: 'replication',
    });
  });

  it.each([
    ['a failed pull through cache sync', { ...PTC, detail: { ...PTC.detail, 'sync-status': 'FAILED' } }, /sync-status "FAILED"/],
    ['a failed replication', { ...REPL, detail: { ...REPL.detail, result: 'FAILURE' } }, /replication result "FAILURE"/],
    ['a replication action that is not REPLICATE', { ...REPL, detail: { ...REPL.detail, 'action-type': 'DELETE' } }, /REPLICATE/],
    ['a cosign signature tag (sha256-<hex>.sig)', { ...REPL, detail: { ...REPL.detail, 'image-tag': `sha256-${'ab'.repeat(32)}.sig` } }, /cosign/],
    ['a cosign attestation tag (sha256-<hex>.att)', withDetail({ 'image-tag': `sha256-${'cd'.repeat(32)}.att` }), /cosign/],
  ])('%s is ignored, not scanned', (_n, e, reason) => {
    const out = parseEcrEvent(e);
    expect(out.kind).toBe('ignored');
    expect(out.kind === 'ignored' && out.reason).toMatch(reason);
  });

  it.each([
    ['a replica with a traversal repository', { ...REPL, detail: { ...REPL.detail, 'repository-name': '../x' } }, /ECR replication: repository-name/],
    ['a cached image without a digest', { ...PTC, time: '2023-02-28T02:36:48Z', detail: { ...PTC.detail, 'image-digest': undefined } }, /ECR pull through cache: image-digest/],
  ])('%s is refused', (_n, e, message) => {
    expect(() => parseEcrEvent(e)).toThrow(message);
  });
});

describe('parseEcrEvent', () => {
  it('the AWS docs push sample as published: its digest has 60 hex digits, so it is refused (RELIABILITY.md 23)', () => {
    expect(() => parseEcrEvent(PUSH)).toThrow(InvalidPipelineMessageError);
    expect(() => parseEcrEvent(PUSH)).toThrow(/image-digest/);
  });

  it('the COMPOSED SQS record: the body is the push event as text', () => {
    const sqs = event('COMPOSED__sqs-event-wrapping-ecr-push-eventbridge-event.json') as { Records: { body: string }[] };
    const body = JSON.parse(sqs.Records[0].body) as Record<string, unknown> & { detail: Record<string, unknown> };
    const fixed = JSON.stringify({ ...body, detail: { ...body.detail, 'image-digest': DIGEST } });
    expect(parseEcrEvent(fixed)).toEqual({
      kind: 'push', registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com', repository: 'my-repository-name',
      digest: DIGEST, tag: 'latest', time: '2019-11-16T01:54:34Z', eventId: '13cde686-328b-6117-af20-0e5566167482',
    });
  });

  it.each([
    ['DELETE', event('awsdocs-ecr__ecr-image-action-delete.json'), /action-type "DELETE"/],
    ['a failed push', withDetail({ result: 'FAILURE' }), /result "FAILURE"/],
    ['an ECR scan event', event('aws-lambda-go__ecr-image-scan-event.json'), /detail-type "ECR Image Scan"/],
    ['a scan-frequency change', event('awsdocs-ecr__ecr-scan-resource-change.json'), /ECR Scan Resource Change/],
  ])('%s is ignored, not an error', (_n, e, reason) => {
    const out = parseEcrEvent(e);
    expect(out.kind).toBe('ignored');
    expect(out.kind === 'ignored' && out.reason).toMatch(reason);
  });

  it.each([
    ['a push without a tag (pushed by digest)', withDetail({ 'image-tag': undefined }), undefined],
    ['an empty tag', withDetail({ 'image-tag': '' }), undefined],
    ['a China region', withDetail({}, { region: 'cn-north-1' }), 'cn'],
  ])('%s', (_n, e, expectation) => {
    const out = parseEcrEvent(e);
    if (expectation === 'cn') expect(out).toMatchObject({ registry: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn' });
    else expect(out).not.toHaveProperty('tag');
  });

  it.each([
    ['not JSON', 'test'],
    ['a JSON array', '[]'],
    ['another source', JSON.stringify({ ...withDetail({}), source: 'aws.s3' })],
    ['a repository with a path traversal', withDetail({ 'repository-name': '../../etc' })],
    ['an upper-case repository', withDetail({ 'repository-name': 'Team/App' })],
    ['a tag with a slash', withDetail({ 'image-tag': 'a/b' })],
    ['an account that is not 12 digits', withDetail({}, { account: '1234' })],
    ['a region with a slash', withDetail({}, { region: 'us-east-1/../x' })],
    ['a time that is not RFC 3339', withDetail({}, { time: 'yesterday' })],
    ['a sha1 digest', withDetail({ 'image-digest': `sha1:${'a'.repeat(40)}` })],
  ])('refuses %s', (_n, e) => expect(() => parseEcrEvent(e)).toThrow(InvalidPipelineMessageError));
});

describe('rescan messages', () => {
  it.each<[string, RescanMessage]>([
    ['reevaluate', { kind: 'reevaluate', digest: DIGEST as never, at: '2026-11-28T02:00:00Z', reason: 'nightly' }],
    ['reevaluate without at (a hand-written message)', { kind: 'reevaluate', digest: DIGEST as never }],
    ['scan', { kind: 'scan', registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'team/app', digest: DIGEST as never, at: '2026-11-28T02:00:00Z', reason: 'sweep' }],
    ['scan on a local registry with a port', { kind: 'scan', registry: '127.0.0.1:5000', repository: 'app', digest: DIGEST as never }],
  ])('%s round-trips', (_n, m) => {
    expect(parseRescanMessage(encodeRescanMessage(m))).toEqual(m);
    expect(parseQueueMessage(encodeRescanMessage(m))).toEqual(m);
  });

  it.each([
    ['an unknown kind', { kind: 'delete', digest: DIGEST }],
    ['a bad digest', { kind: 'reevaluate', digest: 'sha256:xyz' }],
    ['a registry with a path', { kind: 'scan', registry: 'evil.com/x', repository: 'a', digest: DIGEST }],
    ['a bad at', { kind: 'reevaluate', digest: DIGEST, at: 'soon' }],
  ])('refuses %s', (_n, m) => expect(() => parseRescanMessage(JSON.stringify(m))).toThrow(InvalidPipelineMessageError));

  it.each([
    ['the SQS sample body "test"', 'test'],
    ['an object that is neither', '{"hello":"world"}'],
    ['a body larger than any the pipeline sends', JSON.stringify({ kind: 'reevaluate', digest: DIGEST, pad: 'x'.repeat(300_000) })],
  ])('parseQueueMessage refuses %s', (_n, body) => expect(() => parseQueueMessage(body)).toThrow(InvalidPipelineMessageError));
});

it('ecrRegistryHost', () => {
  expect(ecrRegistryHost('123456789012', 'eu-west-1')).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
});
