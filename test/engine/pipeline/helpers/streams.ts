import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * Reads a table's stream on DynamoDB Local (its real NEW_AND_OLD_IMAGES records, as the verdict store's
 * writes produced them): {@link StreamTail.next} returns the records not returned before, every shard.
 */
export class StreamTail {
  private readonly seen = new Set<string>();
  private readonly streams: DynamoDBStreamsClient;

  constructor(private readonly client: DynamoDBClient, endpoint: string, private readonly table: string) {
    this.streams = new DynamoDBStreamsClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  }

  /** Records written since the last call. */
  async next(): Promise<StreamRecord[]> {
    const arn = (await this.client.send(new DescribeTableCommand({ TableName: this.table }))).Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${this.table} has no stream`);
    const shards = (await this.streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? [];
    const out: StreamRecord[] = [];
    for (const shard of shards) {
      let iterator = (await this.streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (iterator) {
        const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        const records = page.Records ?? [];
        for (const r of records) {
          const seq = r.dynamodb?.SequenceNumber ?? '';
          if (this.seen.has(seq)) continue;
          this.seen.add(seq);
          out.push(r);
        }
        // An open shard always returns a next iterator: stop at the first empty page.
        if (records.length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
    return out;
  }

  /** Records of `sk = VERDICT` items only (what the CDK event source filter lets through). */
  async nextVerdicts(): Promise<StreamRecord[]> {
    return (await this.next()).filter((r) => r.dynamodb?.Keys?.sk?.S === 'VERDICT');
  }

  destroy(): void {
    this.streams.destroy();
  }
}

/** JSON as Lambda delivers it: binary attributes as base64, times as epoch seconds. */
function lambdaJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Array.isArray(v)) return v.map(lambdaJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, lambdaJson(x)]));
  return v;
}

/** A stream record as a record of the Lambda DynamoDB stream event. */
export function toLambdaRecord(r: StreamRecord, streamArn = 'arn:aws:dynamodb:us-east-1:123456789012:table/verdicts/stream/2026-11-29T00:00:00.000'): DynamoDBRecord {
  return { ...(lambdaJson(r) as DynamoDBRecord), eventSourceARN: streamArn };
}

/** A Lambda DynamoDB stream event of these records. */
export function streamEvent(records: readonly StreamRecord[]): DynamoDBStreamEvent {
  return { Records: records.map((r) => toLambdaRecord(r)) };
}
