import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableDefinition as advisoryTable } from '../../../../lib/aws/advisory-store';
import { pkSkTable } from '../../../../lib/aws/dynamodb-table';
import { tableDefinition as verdictTable } from '../../../../lib/aws/verdict-store';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { RegistryClient } from '../../../../lib/engine/registry/client';
import { createTables as createDefinedTables, type DynamoDbLocal, startDynamoDbLocal } from '../../../helpers/dynamodb-local';
import { type RegistryServer, startRegistry } from '../../../helpers/registry-server';
import { type SlackServer, startSlackServer } from '../../../helpers/slack-server';
import { type CountingProxy, startCountingProxy } from './counting-proxy';
import { ECR_HOST } from './fixtures';
import { type Fauxqs, startFauxqs } from './fauxqs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The real local parts of a pipeline test (DESIGN.md "Real parts"), started once per test file. */
export interface World {
  readonly ddb: DynamoDbLocal;
  readonly dynamodb: DynamoDBClient;
  readonly tables: { readonly verdicts: string; readonly advisories: string; readonly layers: string };
  readonly registry: RegistryServer;
  /** In front of the registry: what the pipeline reads through, counting blob downloads. */
  readonly proxy: CountingProxy;
  /** A client straight to the registry (pushing test images, checking tags). */
  readonly direct: RegistryClient;
  /** ECR host → the proxy: TRUSTCTL_REGISTRY_OVERRIDE's value. */
  readonly overrides: Map<string, string>;
  readonly sqs: Fauxqs;
  readonly slack: SlackServer;
  stop(): Promise<void>;
}

/** Creates the three tables on DynamoDB Local with each store's own definition. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<World['tables']> {
  const tables = { verdicts: `${prefix}-verdicts`, advisories: `${prefix}-advisories`, layers: `${prefix}-layers` };
  await createDefinedTables(client, [verdictTable(tables.verdicts), advisoryTable(tables.advisories), pkSkTable(tables.layers)]);
  return tables;
}

/** Starts DynamoDB Local, the registry (behind a counting proxy), fauxqs and the Slack stand-in. */
export async function startWorld(prefix = 'pipeline'): Promise<World> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const [ddb, registry, sqs, slack] = await Promise.all([startDynamoDbLocal(), startRegistry({ auth: 'none' }), startFauxqs(), startSlackServer()]);
    stops.push(() => ddb.stop(), () => registry.stop(), () => sqs.stop(), () => slack.stop());
    const proxy = await startCountingProxy(registry.host);
    stops.push(() => proxy.stop());
    const dynamodb = ddb.client();
    stops.push(async () => dynamodb.destroy());
    const tables = await createTables(dynamodb, prefix);
    const direct = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS });
    return {
      ddb, dynamodb, tables, registry, proxy, direct, sqs, slack,
      overrides: new Map([[ECR_HOST, proxy.host]]),
      async stop() {
        for (const s of stops.reverse()) await s().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    throw err;
  }
}
