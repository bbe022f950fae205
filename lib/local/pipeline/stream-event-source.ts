/**
 * A DynamoDB Streams event source mapping, the way Lambda runs one
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html), for the local pipeline: reads every
 * shard of a table's stream with `@aws-sdk/client-dynamodb-streams` (DynamoDB Local serves the same
 * API), drops records the filter rejects (Lambda's filter criteria), and hands the rest to the
 * handler in order as a `DynamoDBStreamEvent`. With `ReportBatchItemFailures`, a batch that reports a
 * failed record is retried from that record; a throw retries the whole batch; after
 * `maxRetryAttempts` the batch goes to `onFailure` (Lambda's on-failure destination) and reading goes on.
 */
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/** Options of {@link StreamEventSource}. */
export interface StreamEventSourceOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** Lambda's filter criteria, as a predicate: records it rejects are skipped (never delivered). */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  /** Records per invocation. Default 10. */
  readonly batchSize?: number;
  /** Retries of a failing batch before it goes to {@link onFailure}. Default 3. */
  readonly maxRetryAttempts?: number;
  /** The on-failure destination: the records given up on. */
  readonly onFailure?: (records: readonly DynamoDBRecord[], error: unknown) => void;
  /** Pause between polls of an idle shard, ms. Default 200. */
  readonly idleMs?: number;
  readonly region?: string;
  readonly onError?: (error: unknown) => void;
}

/** The Lambda record for a Streams API record (the same fields, Lambda's casing). */
export function toDynamoDbRecord(r: _Record, eventSourceARN: string, awsRegion: string): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID,
    eventName: r.eventName,
    eventVersion: r.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion,
    eventSourceARN,
    dynamodb: {
      ...(d.ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) } : {}),
      Keys: d.Keys as never,
      ...(d.NewImage ? { NewImage: d.NewImage as never } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as never } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads a table's stream into one handler until {@link StreamEventSource.stop}. */
export class StreamEventSource {
  readonly stats = { invocations: 0, delivered: 0, retried: 0, givenUp: 0, filtered: 0 };
  private running = false;
  private loop?: Promise<void>;
  /** Shard id → next iterator (undefined: the shard is closed and read to its end). */
  private readonly iterators = new Map<string, string | undefined>();
  private streamArn = '';

  constructor(private readonly options: StreamEventSourceOptions) {}

  /** Starts reading at the stream's current end (`LATEST`), as a new event source mapping does. */
  async start(position: 'LATEST' | 'TRIM_HORIZON' = 'LATEST'): Promise<void> {
    const table = await this.options.dynamodb.send(new DescribeTableCommand({ TableName: this.options.tableName }));
    const arn = table.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${this.options.tableName} has no stream`);
    this.streamArn = arn;
    await this.discoverShards(position);
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading and waits for the invocation in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Reads every open shard once; resolves with the number of records delivered to the handler. */
  async pollOnce(): Promise<number> {
    await this.discoverShards('TRIM_HORIZON');
    let delivered = 0;
    for (const [shard, iterator] of this.iterators) {
      if (!iterator) continue;
      let out;
      try {
        out = await this.options.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      } catch (err) {
        // An iterator that expired (15 min idle) or points before the trim horizon: start the shard
        // again at its oldest record still kept — delivery is at least once, handlers are idempotent.
        const name = (err as { name?: string }).name;
        if (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException') throw err;
        this.iterators.delete(shard);
        continue;
      }
      this.iterators.set(shard, out.NextShardIterator);
      delivered += await this.deliver(out.Records ?? []);
    }
    return delivered;
  }

  private async discoverShards(position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const desc = await this.options.streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const s of desc.StreamDescription?.Shards ?? []) {
      if (!s.ShardId || this.iterators.has(s.ShardId)) continue;
      // A shard found after start (a split) is read from its beginning, as Lambda does.
      const it = await this.options.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: s.ShardId, ShardIteratorType: position }));
      this.iterators.set(s.ShardId, it.ShardIterator);
    }
  }

  /** Delivers records in order, in batches, with the retry rules of the module comment. */
  private async deliver(raw: readonly _Record[]): Promise<number> {
    const region = this.options.region ?? 'us-east-1';
    const all = raw.map((r) => toDynamoDbRecord(r, this.streamArn, region));
    const records = this.options.filter ? all.filter((r) => this.options.filter!(r)) : all;
    this.stats.filtered += all.length - records.length;
    const size = this.options.batchSize ?? 10;
    const maxRetries = this.options.maxRetryAttempts ?? 3;
    let delivered = 0;
    for (let i = 0; i < records.length;) {
      let batch = records.slice(i, i + size);
      for (let attempt = 0; ; attempt++) {
        this.stats.invocations++;
        let failedFrom = -1;
        let error: unknown;
        try {
          const res = await this.options.handler({ Records: batch });
          const failedSeq = res?.batchItemFailures?.[0]?.itemIdentifier;
          if (failedSeq !== undefined) {
            failedFrom = batch.findIndex((r) => r.dynamodb?.SequenceNumber === failedSeq);
            if (failedFrom < 0) failedFrom = 0; // an identifier we did not send: retry all, as Lambda does
            error = new Error(`record ${failedSeq} reported failed`);
          }
        } catch (err) {
          failedFrom = 0;
          error = err;
          this.options.onError?.(err);
        }
        if (failedFrom < 0) {
          delivered += batch.length;
          this.stats.delivered += batch.length;
          break;
        }
        delivered += failedFrom;
        this.stats.delivered += failedFrom;
        batch = batch.slice(failedFrom);
        if (attempt >= maxRetries) {
          this.stats.givenUp += batch.length;
          this.options.onFailure?.(batch, error);
          break;
        }
        this.stats.retried++;
      }
      i += size;
    }
    return delivered;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const n = await this.pollOnce();
        if (n === 0) await sleep(this.options.idleMs ?? 200);
      } catch (err) {
        this.options.onError?.(err);
        await sleep(this.options.idleMs ?? 200);
      }
    }
  }
}
