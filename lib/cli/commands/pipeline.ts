import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoVerdictStore } from '../../aws/verdict-store';
import { DEFAULT_LIMITS } from '../../engine/limits';
import type { Digest } from '../../engine/model';
import { parsePolicy } from '../../engine/policy/schema';
import { RegistryClient } from '../../engine/registry/client';
import { trustTagFor } from '../../engine/registry/trust-tags';
import { buildImage } from '../../local/builder/image-builder';
import { pushImage } from '../../local/builder/push';
import { startDynamoDbLocal } from '../../local/pipeline/dynamodb-local';
import { startFauxqs } from '../../local/pipeline/fauxqs';
import { startLocalRegistry } from '../../local/pipeline/local-servers';
import { startLocalPipeline } from '../../local/pipeline/runner';
import { ExitCode } from '../exit-codes';
import type { CliContext } from '../main';

/** The ECR registry the demo's events name; a local registry serves it. */
const DEMO_ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DEMO_REPO = 'team/app';

/** An "ECR Image Action" PUSH event as EventBridge delivers it (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html). */
export function ecrPushEvent(ecrHost: string, repository: string, digest: string, tag: string): Record<string, unknown> {
  const [account, , , region] = ecrHost.split('.');
  return {
    version: '0', id: `local-${Date.now()}`, 'detail-type': 'ECR Image Action', source: 'aws.ecr', account,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), region, resources: [],
    detail: { result: 'SUCCESS', 'repository-name': repository, 'image-digest': digest, 'action-type': 'PUSH', 'image-tag': tag },
  };
}

const override = (value: string, prev: string[] = []): string[] => {
  if (!/^[^=\s]+=[^=\s]+$/.test(value)) throw new InvalidArgumentError('expected <ecr host>=<host:port>.');
  return [...prev, value];
};

const sleepUntilSignal = (): Promise<void> => new Promise((resolve) => {
  const done = () => {
    process.off('SIGINT', done);
    process.off('SIGTERM', done);
    resolve();
  };
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
});

/**
 * `trustctl pipeline`: the serverless pipeline's handlers on this machine (lib/local/pipeline/runner.ts),
 * against DynamoDB Local, an SQS-protocol server and a registry — the given endpoints, or local ones it
 * starts. `--demo` runs the whole way once: push an image, deliver its ECR event, see the verdict, the
 * registry tag and the Slack message, then stop.
 */
export function registerPipeline(program: Command, ctx: CliContext): void {
  program
    .command('pipeline')
    .description('run the serverless pipeline\'s handlers locally (DynamoDB Local, fauxqs, a registry); --demo: push → verdict → tag → Slack, once')
    .option('--demo', 'start everything, push a demo image, deliver its ECR push event, print the verdict, tag and Slack message, and stop')
    .option('--dynamodb <endpoint>', 'a running DynamoDB (Local) endpoint (default: start DynamoDB Local; needs Java and `npm ci`)')
    .option('--sqs <endpoint>', 'a running SQS-protocol endpoint (default: start fauxqs)')
    .option('--registry-override <ecr-host=host:port>', 'serve an ECR registry from a local one (repeatable)', override, [])
    .option('--feed <zip|dir|url>', 'OSV exports feed-sync reads (repeatable; default: ../shared/feeds/osv/crates.io/all.zip for the demo)', (v: string, p: string[] = []) => [...p, v], [])
    .option('--policy <file>', 'the policy (default: the built-in one)')
    .option('--prefix <name>', 'table and queue name prefix', 'trustctl')
    .action(async (opts: { demo?: boolean; dynamodb?: string; sqs?: string; registryOverride: string[]; feed: string[]; policy?: string; prefix: string }) => {
      const say = (s: string) => ctx.io.stderr.write(`${s}\n`);
      const stops: (() => Promise<void>)[] = [];
      try {
        const ddb = opts.dynamodb ? { endpoint: opts.dynamodb } : await startDynamoDbLocal();
        if ('stop' in ddb) stops.push(ddb.stop);
        const sqs = opts.sqs ? { endpoint: opts.sqs } : await startFauxqs();
        if ('stop' in sqs) stops.push(sqs.stop);
        const overrides = new Map(opts.registryOverride.map((o) => o.split('=') as [string, string]));
        let registryHost: string | undefined;
        if (opts.demo) {
          const registry = await startLocalRegistry();
          stops.push(registry.stop);
          registryHost = registry.host;
          overrides.set(DEMO_ECR_HOST, registry.host);
        }
        // The demo's Slack: TRUSTCTL_SLACK_WEBHOOK_URL if set, else a stand-in here that prints what it gets.
        let slackUrl = process.env.TRUSTCTL_SLACK_WEBHOOK_URL;
        const posts: string[] = [];
        const standIn = opts.demo && !slackUrl;
        if (standIn) {
          const server: Server = createServer((req, res) => {
            let body = '';
            req.on('data', (c: Buffer) => (body += c.toString()));
            req.on('end', () => {
              posts.push(body);
              res.end('ok');
            });
          });
          await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
          stops.push(() => new Promise((r) => server.close(() => r())));
          slackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/demo`;
        }
        const feeds = opts.feed.length > 0 ? opts.feed : opts.demo ? [join(process.cwd(), '..', 'shared', 'feeds', 'osv', 'crates.io', 'all.zip')] : [];
        const policyJson = opts.policy ? JSON.stringify(parsePolicy(await readFile(opts.policy, 'utf8'), opts.policy)) : undefined;
        const pipeline = await startLocalPipeline({
          dynamodbEndpoint: ddb.endpoint, sqsEndpoint: sqs.endpoint, registryOverrides: overrides, feeds, prefix: opts.prefix,
          ...(policyJson ? { policyJson } : {}), ...(slackUrl ? { slackWebhookUrl: slackUrl } : {}),
          onError: (where, e) => say(`  ${where}: ${(e as Error).message}`),
        });
        stops.unshift(() => pipeline.stop());
        say(`pipeline: DynamoDB ${ddb.endpoint}, SQS ${sqs.endpoint}; scan queue ${pipeline.queues.scan}, rescan queue ${pipeline.queues.rescan}`);
        if (feeds.length > 0) say(`feed-sync: ${JSON.stringify(await pipeline.feedSync())}`);
        if (!opts.demo) {
          say('running: send "ECR Image Action" events to the scan queue; Ctrl-C stops');
          await sleepUntilSignal();
          return;
        }
        // The demo: an image with a vulnerable crate (regex 1.5.4: RUSTSEC-2022-0013, high, fixed in 1.5.5).
        const image = buildImage({
          config: { User: '1000', Cmd: ['/app/bin'] },
          layers: [{ entries: [{ path: 'app/Cargo.lock', body: 'version = 3\n\n[[package]]\nname = "regex"\nversion = "1.5.4"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n' }] }],
        });
        const direct = new RegistryClient({ registry: registryHost!, limits: DEFAULT_LIMITS });
        await pushImage(direct, DEMO_REPO, '1.0', image);
        const digest = image.root.digest as Digest;
        say(`pushed ${DEMO_ECR_HOST}/${DEMO_REPO}:1.0 (${digest}) to the local registry; delivering its ECR push event`);
        await pipeline.pushEvent(ecrPushEvent(DEMO_ECR_HOST, DEMO_REPO, digest, '1.0'));
        const store = new DynamoVerdictStore({ client: new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }), tableName: pipeline.tables.verdicts });
        await pipeline.until(async () => (await store.get(digest)) !== undefined, 120_000);
        const verdict = (await store.get(digest))!;
        const tag = trustTagFor(verdict.status, digest);
        await pipeline.until(async () => (await direct.headManifest(DEMO_REPO, tag))?.digest === digest, 60_000);
        if (verdict.status === 'quarantined' && standIn) await pipeline.until(() => posts.length > 0, 60_000);
        ctx.io.stdout.write(`verdict  ${verdict.status.toUpperCase()} (revision ${verdict.revision})\n`);
        for (const r of verdict.reasons) ctx.io.stdout.write(`  - [${r.rule}] ${r.message}\n`);
        ctx.io.stdout.write(`tag      ${DEMO_ECR_HOST}/${DEMO_REPO}:${tag} → ${digest}\n`);
        for (const p of posts) ctx.io.stdout.write(`slack    ${(JSON.parse(p) as { text?: string }).text ?? p}\n`);
        ctx.exitCode = ExitCode.Ok;
      } finally {
        for (const s of stops) await s().catch(() => undefined);
      }
    });
}
