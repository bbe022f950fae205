import { type AttributeValue, type CreateTableInput, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';

/** DynamoDB's item size limit, 400 KB including attribute names (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** Partition key values are at most 2048 bytes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys). */
export const MAX_PARTITION_KEY_BYTES = 2048;
/** Sort key values are at most 1024 bytes (same page). */
export const MAX_SORT_KEY_BYTES = 1024;

/** The attribute names of the single-table designs: string partition key `pk`, string sort key `sk`. */
export const A_PK = 'pk';
export const A_SK = 'sk';

/**
 * A single table with string `pk` + `sk` and on-demand capacity — what every store of lib/aws uses
 * (the CDK stack declares the same keys); `stream` adds a stream of old and new images.
 */
export function pkSkTable(tableName: string, opts: { stream?: boolean } = {}): CreateTableInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: A_PK, AttributeType: 'S' },
      { AttributeName: A_SK, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: A_PK, KeyType: 'HASH' },
      { AttributeName: A_SK, KeyType: 'RANGE' },
    ],
    ...(opts.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
  };
}

/**
 * The sort keys of one partition, every Query page (1 MB each:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html), strongly
 * consistent, projected to the sort key only: the index partitions of the stores hold nothing else.
 */
export async function querySortKeys(client: DynamoDBClient, table: string, pk: string, opts: { readonly consistentRead?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': A_PK, '#sk': A_SK },
        ExpressionAttributeValues: { ':pk': { S: pk } },
        ProjectionExpression: '#sk',
        ConsistentRead: opts.consistentRead ?? true,
        ExclusiveStartKey: start,
      }),
    );
    for (const it of page.Items ?? []) {
      const sk = it[A_SK]?.S;
      if (sk !== undefined) out.push(sk);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/** Full-jitter exponential backoff: waits a random delay up to min(cap, base · 2^attempt). */
export function backoff(attempt: number, baseDelayMs: number, maxDelayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt)));
}

/** The key attributes of an item of a pk/sk table. */
export const itemKey = (pk: string, sk: string): Record<string, AttributeValue> => ({ [A_PK]: { S: pk }, [A_SK]: { S: sk } });

/**
 * Runs `fn` over `items` with at most `limit` in flight. After the first failure no new item is
 * started, the ones in flight are waited for (so callers know everything that happened), and the
 * first error is thrown.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}
