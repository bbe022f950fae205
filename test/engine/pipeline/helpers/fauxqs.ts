import { resolve } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { spawnGroup, type GroupProcess } from '../../../helpers/process-group';

/**
 * fauxqs 1.9 (an SQS-protocol server, DESIGN.md "Real parts") in a child process on 127.0.0.1 with a
 * port the OS picks. fauxqs is ESM-only, so the test process (CommonJS under ts-jest) cannot load it:
 * the child imports it. Its bin (`dist/cli.js`) always listens on 0.0.0.0; the child uses the package's
 * own `buildApp` and listens on loopback only, so nothing outside this machine can reach the queues.
 */
export interface Fauxqs {
  /** `http://127.0.0.1:<port>`: the SQS endpoint (AWS_ENDPOINT_URL_SQS). */
  readonly endpoint: string;
  /** A client on the endpoint (queue URLs never redirect it). */
  readonly client: SQSClient;
  /** Creates a queue (with attributes, e.g. a RedrivePolicy) and returns its URL. */
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** The queue's ARN. */
  queueArn(url: string): Promise<string>;
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '..', '..', '..', '..');

const SCRIPT = `
import { buildApp } from 'fauxqs';
const app = buildApp({ logger: false });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write('FAUXQS_LISTENING ' + address + '\\n');
const stop = () => app.close().then(() => process.exit(0), () => process.exit(1));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/** Starts fauxqs; always `stop()` it (afterAll). */
export async function startFauxqs(timeoutMs = 20_000): Promise<Fauxqs> {
  const proc: GroupProcess = spawnGroup(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT });
  const deadline = Date.now() + timeoutMs;
  let endpoint: string | undefined;
  while (!endpoint) {
    const m = /FAUXQS_LISTENING (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output());
    if (m) endpoint = m[1];
    else if (proc.exited()) throw new Error(`fauxqs exited:\n${proc.output()}`);
    else if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`fauxqs did not start within ${timeoutMs} ms:\n${proc.output()}`);
    }
    else await new Promise((r) => setTimeout(r, 50));
  }
  const client = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, useQueueUrlAsEndpoint: false });
  return {
    endpoint,
    client,
    async createQueue(name, attributes) {
      const out = await client.send(new CreateQueueCommand({ QueueName: name, ...(attributes ? { Attributes: attributes } : {}) }));
      return out.QueueUrl!;
    },
    async queueArn(url) {
      const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
      return out.Attributes!.QueueArn!;
    },
    async stop() {
      client.destroy();
      await proc.stop();
    },
  };
}
