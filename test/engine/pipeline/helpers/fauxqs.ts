import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs as startFauxqsServer } from '../../../../lib/local/pipeline/fauxqs';

/**
 * fauxqs 1.9 (an SQS-protocol server, DESIGN.md "Real parts") on 127.0.0.1 with a port the OS picks
 * (lib/local/pipeline/fauxqs.ts), plus a client and the queue helpers the tests use.
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

/** Starts fauxqs (lib/local/pipeline/fauxqs.ts) with a client on it; always `stop()` it (afterAll). */
export async function startFauxqs(timeoutMs = 20_000): Promise<Fauxqs> {
  const server = await startFauxqsServer({ timeoutMs });
  const endpoint = server.endpoint;
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
      await server.stop();
    },
  };
}
