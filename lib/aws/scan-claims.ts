import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DeleteItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { TrustError } from '../engine/errors';
import type { ScanClaims } from '../engine/pipeline/ports';
import { A_PK, MAX_PARTITION_KEY_BYTES, itemKey } from './dynamodb-table';

/** DynamoDB failed while taking or giving up a scan claim; `cause` holds the SDK error. */
export class ScanClaimError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SCAN_CLAIM_FAILED', message, options);
  }
}

/** Options of {@link DynamoScanClaims}. */
export interface DynamoScanClaimsOptions {
  readonly client: DynamoDBClient;
  /** A pk/sk table; the pipeline uses the verdict table. */
  readonly tableName: string;
  readonly now?: () => number;
}

const SK = 'LEASE';
const isConditionFailure = (err: unknown): boolean => err instanceof ConditionalCheckFailedException || (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/**
 * Scan claims (lib/engine/pipeline/ports.ts {@link ScanClaims}) on DynamoDB: `pk = CLAIM#<key>`,
 * `sk = LEASE`, `leaseUntil` (ms), `owner` (this instance's token), `expiresAt` (TTL, epoch seconds).
 * A claim is one conditional PutItem — `attribute_not_exists(pk) OR leaseUntil < :now` — so of
 * concurrent deliveries of one push exactly one scans (RELIABILITY.md 24); a lease that lapsed (its
 * worker was killed, case 27) is taken over. A release deletes only a lease this instance holds.
 */
export class DynamoScanClaims implements ScanClaims {
  private readonly owner = randomUUID();
  private readonly now: () => number;

  constructor(private readonly opts: DynamoScanClaimsOptions) {
    this.now = opts.now ?? Date.now;
  }

  private pk(key: string): string {
    const pk = `CLAIM#${key}`;
    if (Buffer.byteLength(pk) > MAX_PARTITION_KEY_BYTES) throw new ScanClaimError(`claim key of ${Buffer.byteLength(pk)} bytes is over DynamoDB's partition key limit`);
    return pk;
  }

  /** Takes `key` for `leaseMs` unless someone else holds an unexpired lease. */
  async claim(key: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    const until = now + Math.max(1000, Math.floor(leaseMs));
    try {
      await this.opts.client.send(new PutItemCommand({
        TableName: this.opts.tableName,
        Item: {
          ...itemKey(this.pk(key), SK),
          owner: { S: this.owner },
          leaseUntil: { N: String(until) },
          expiresAt: { N: String(Math.ceil(until / 1000) + 86_400) },
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now',
        ExpressionAttributeNames: { '#pk': A_PK, '#until': 'leaseUntil' },
        ExpressionAttributeValues: { ':now': { N: String(now) } },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw new ScanClaimError(`scan claim of ${key} failed (${(err as Error).name ?? 'error'})`, { cause: err });
    }
  }

  /** Deletes the lease on `key` if this instance holds it. */
  async release(key: string): Promise<void> {
    try {
      await this.opts.client.send(new DeleteItemCommand({
        TableName: this.opts.tableName,
        Key: itemKey(this.pk(key), SK),
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: this.owner } },
      }));
    } catch (err) {
      if (isConditionFailure(err)) return; // someone else's lease (ours lapsed and was taken over), or none
      throw new ScanClaimError(`scan claim release of ${key} failed (${(err as Error).name ?? 'error'})`, { cause: err });
    }
  }
}
