/**
 * The set-up every end-to-end suite of the local pipeline (lib/local/pipeline/runner.ts) repeats: DynamoDB
 * Local, fauxqs and Debian's docker-registry (and the Slack stand-in) started in parallel, a scratch
 * folder, the suite's own preparation (images pushed, feeds written, proxies in front), the pipeline
 * started on them, a verdict store and an SQS client for the assertions — and all of it stopped again,
 * the pipeline first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoVerdictStore } from '../../lib/aws/verdict-store';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { RegistryClient } from '../../lib/engine/registry/client';
import { type FauxqsServer, startFauxqs } from '../../lib/local/pipeline/fauxqs';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../lib/local/pipeline/runner';
import { type DynamoDbLocal, useDynamoDbLocal } from './dynamodb-local';
import { type RegistryServer, startRegistry } from './registry-server';
import { type SlackServer, startSlackServer } from './slack-server';

/** The running parts a suite prepares the pipeline on. */
export interface LocalParts {
  readonly ddb: DynamoDbLocal;
  readonly fauxqs: FauxqsServer;
  /** Debian's docker-registry, standing in for ECR. */
  readonly registry: RegistryServer;
  /** The Slack stand-in; only with {@link LocalPipelineSetup.slack}. */
  readonly slack: SlackServer;
  /** A client straight to the registry (pushing test images, checking tags). */
  readonly direct: RegistryClient;
  /** A scratch folder (feeds), removed when the suite ends. */
  readonly dir: string;
  /** Stops something the suite started on top of the parts (a proxy) once the pipeline has stopped. */
  onStop(fn: () => Promise<void>): void;
}

/** What {@link useLocalPipeline} gives a suite; read it only inside tests and hooks. */
export interface LocalPipelineWorld extends LocalParts {
  readonly pipeline: LocalPipeline;
  /** The pipeline's verdict table, read directly. */
  readonly store: DynamoVerdictStore;
  /** An SDK client on DynamoDB Local (raw reads of the tables). */
  readonly dynamodb: DynamoDBClient;
  /** An SQS client on fauxqs. */
  readonly sqs: SQSClient;
  /** Messages on a queue, visible or in flight. */
  depth(url: string): Promise<number>;
}

/** Options of {@link useLocalPipeline}. */
export interface LocalPipelineSetup {
  /** Prefix of the scratch folder's name. */
  readonly dirPrefix: string;
  /** Start the Slack stand-in too. Default false. */
  readonly slack?: boolean;
  /**
   * Runs once the parts answer, before the pipeline starts: push images, write feeds, put proxies in
   * front. Returns the pipeline's options; its endpoints default to DynamoDB Local's and fauxqs's.
   */
  prepare(parts: LocalParts): Promise<Partial<LocalPipelineOptions>>;
  /** Timeout of the servers' start, of the preparation with the pipeline's start, and of the stop, ms. Default 180 000. */
  readonly timeoutMs?: number;
}

/**
 * Registers the `beforeAll`/`afterAll` of an end-to-end suite of the local pipeline (see the file's
 * comment) and returns its handle. What should happen once the pipeline runs (a first feed sync) is the
 * suite's own `beforeAll`, declared after this call.
 */
export function useLocalPipeline(setup: LocalPipelineSetup): LocalPipelineWorld {
  const servers = useDynamoDbLocal({
    alongside: {
      fauxqs: () => startFauxqs(),
      registry: () => startRegistry({ auth: 'none' }),
      ...(setup.slack ? { slack: startSlackServer } : {}),
    } as { fauxqs: () => Promise<FauxqsServer>; registry: () => Promise<RegistryServer>; slack: () => Promise<SlackServer> },
    timeoutMs: setup.timeoutMs ?? 180_000,
  });
  let direct: RegistryClient | undefined;
  let pipeline: LocalPipeline | undefined;
  let store: DynamoVerdictStore | undefined;
  let sqs: SQSClient | undefined;
  let dir: string | undefined;
  const stops: (() => Promise<void>)[] = [];
  const ready = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`useLocalPipeline: ${what} is read before its beforeAll ran (or after it failed)`);
    return value;
  };

  const world: LocalPipelineWorld = {
    get ddb() {
      return servers.server;
    },
    get fauxqs() {
      return servers.fauxqs;
    },
    get registry() {
      return servers.registry;
    },
    get slack() {
      return ready('the Slack stand-in (setup.slack)', servers.slack);
    },
    get direct() {
      return ready('the registry client', direct);
    },
    get dir() {
      return ready('the scratch folder', dir);
    },
    onStop: (fn) => void stops.push(fn),
    get pipeline() {
      return ready('the pipeline', pipeline);
    },
    get store() {
      return ready('the verdict store', store);
    },
    get dynamodb() {
      return servers.client;
    },
    get sqs() {
      return ready('the SQS client', sqs);
    },
    async depth(url) {
      const a = (await ready('the SQS client', sqs).send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
      return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), setup.dirPrefix));
    direct = new RegistryClient({ registry: servers.registry.host, limits: DEFAULT_LIMITS });
    const options = await setup.prepare(world);
    pipeline = await startLocalPipeline({ dynamodbEndpoint: servers.server.endpoint, sqsEndpoint: servers.fauxqs.endpoint, ...options });
    store = new DynamoVerdictStore({ client: servers.client, tableName: pipeline.tables.verdicts });
    sqs = new SQSClient({ region: 'us-east-1', endpoint: servers.fauxqs.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, useQueueUrlAsEndpoint: false });
  }, setup.timeoutMs ?? 180_000);

  // Before the servers stop: the pipeline's pollers first, then what the suite put in front of the servers.
  servers.beforeStop(async () => {
    await pipeline?.stop();
    sqs?.destroy();
    for (const stop of stops) await stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return world;
}
