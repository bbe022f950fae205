import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { NotificationLedgerError } from '../notify/errors';
import type { NotificationLedger } from '../notify/ledger';
import { A_PK, itemKey } from './dynamodb-table';

/** Options of {@link DynamoNotificationLedger}. */
export interface DynamoNotificationLedgerOptions {
  readonly client: DynamoDBClient;
  /** A pk/sk table (dynamodb-table.ts `pkSkTable`); the pipeline uses the verdict table. */
  readonly tableName: string;
  /** Days before DynamoDB TTL may drop a claim (when the table's TTL is on `expiresAt`). Default 30: streams keep records 24 hours, so no replay can come later. */
  readonly ttlDays?: number;
  readonly now?: () => number;
}

const SK = 'CLAIM';
const isConditionFailure = (err: unknown): boolean => err instanceof ConditionalCheckFailedException || (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/**
 * The notification ledger of the pipeline (lib/notify/ledger.ts port) on DynamoDB: one item per
 * dedupe key, `pk = NOTIFY#<sha256 of the key>`, `sk = CLAIM`, written with `attribute_not_exists(pk)`
 * — DynamoDB itself decides which of two concurrent deliveries of one stream record posts
 * (RELIABILITY.md 24: one Slack message per transition). The key is hashed because dedupe keys hold a
 * digest and two instants and a partition key has a size limit; the readable key is kept in `key`.
 * Items carry `expiresAt` (epoch seconds) for TTL.
 */
export class DynamoNotificationLedger implements NotificationLedger {
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(private readonly opts: DynamoNotificationLedgerOptions) {
    this.ttlSeconds = Math.round((opts.ttlDays ?? 30) * 86_400);
    this.now = opts.now ?? Date.now;
  }

  private pk(key: string): string {
    return `NOTIFY#${createHash('sha256').update(key).digest('hex')}`;
  }

  /** True for the first caller of `key`; false while another holds it. */
  async claim(key: string): Promise<boolean> {
    const now = this.now();
    try {
      await this.opts.client.send(new PutItemCommand({
        TableName: this.opts.tableName,
        Item: {
          ...itemKey(this.pk(key), SK),
          key: { S: key.slice(0, 1024) },
          claimedAt: { S: new Date(now).toISOString() },
          expiresAt: { N: String(Math.floor(now / 1000) + this.ttlSeconds) },
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': A_PK },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw new NotificationLedgerError(`DynamoDB notification ledger: claim failed (${(err as Error).name ?? 'error'})`, { cause: err });
    }
  }

  /** Frees `key` after a delivery that failed for good, so a later delivery of the record posts. */
  async release(key: string): Promise<void> {
    try {
      await this.opts.client.send(new DeleteItemCommand({ TableName: this.opts.tableName, Key: itemKey(this.pk(key), SK) }));
    } catch (err) {
      throw new NotificationLedgerError(`DynamoDB notification ledger: release failed (${(err as Error).name ?? 'error'})`, { cause: err });
    }
  }
}
