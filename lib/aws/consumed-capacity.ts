/**
 * What a DynamoDB client consumed, measured where every call passes: the SDK's middleware stack
 * (https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/middleware.html), not each call
 * site. Used by the cost bench (bench/cost) and by tests that count reads (a warm advisory cache must
 * read far less than a cold one).
 *
 * The meter asks every call that supports it for `ReturnConsumedCapacity: TOTAL`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html#DDB-GetItem-request-ReturnConsumedCapacity)
 * and sums the `ConsumedCapacity` answers. On an on-demand table the units are billed as read request
 * units (reads: GetItem, BatchGetItem, Query, Scan, TransactGetItems) and write request units (every
 * write, conditional failures included, transactions at twice the units — DynamoDB reports them so).
 * A call that fails reports nothing and is counted as a failed call (a failed conditional write as 1 WRU,
 * the least it costs).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MiddlewareStack } from '@smithy/types';

/** Operations that accept `ReturnConsumedCapacity` and whose units are read units. */
const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);
/** Operations that accept `ReturnConsumedCapacity` and whose units are write units. */
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

/** Units and calls of one operation. */
export interface OperationUsage {
  calls: number;
  failed: number;
  units: number;
}

/** The sums a {@link CapacityMeter} holds. */
export interface CapacityTotals {
  /** Read request units (on-demand) — read capacity units on a provisioned table. */
  readonly rru: number;
  /** Write request units. */
  readonly wru: number;
  /** DynamoDB calls (requests), every operation. */
  readonly calls: number;
  /** Calls that answered without a `ConsumedCapacity` although one was asked for (the figure would undercount). */
  readonly unreported: number;
  /** Per operation (`GetItem`, `Query`, …). */
  readonly byOperation: Readonly<Record<string, OperationUsage>>;
}

type Consumed = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };

const MIDDLEWARE_NAME = 'trustctlConsumedCapacityMeter';

/**
 * Sums the capacity a DynamoDB client consumes. {@link attach} it to a client; {@link reset} between
 * measurements; read {@link totals}.
 */
export class CapacityMeter {
  private rru = 0;
  private wru = 0;
  private calls = 0;
  private unreported = 0;
  private ops: Record<string, OperationUsage> = {};

  /**
   * Adds the meter to `client`'s middleware stack (every command sent through it is measured).
   * Returns a function that removes it.
   */
  attach(client: DynamoDBClient): () => void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context as { commandName?: string }).commandName ?? 'unknown';
        const op = command.replace(/Command$/, '');
        const usage = (this.ops[op] ??= { calls: 0, failed: 0, units: 0 });
        usage.calls++;
        this.calls++;
        const measured = READS.has(command) || WRITES.has(command);
        const input = args.input as { ReturnConsumedCapacity?: string };
        if (measured && (input.ReturnConsumedCapacity === undefined || input.ReturnConsumedCapacity === 'NONE')) {
          args = { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } };
        }
        let out;
        try {
          out = await next(args);
        } catch (err) {
          usage.failed++;
          // A write whose condition fails still consumes write units, but the error carries no
          // ConsumedCapacity (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate):
          // counted as the 1 WRU it costs at least.
          if (WRITES.has(command) && (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException') {
            usage.units += 1;
            this.wru += 1;
          }
          throw err;
        }
        if (measured) {
          const cc = (out.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
          const list = cc === undefined ? [] : Array.isArray(cc) ? cc : [cc];
          if (list.length === 0) this.unreported++;
          for (const c of list) {
            const units = c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0);
            usage.units += units;
            if (READS.has(command)) this.rru += units;
            else this.wru += units;
          }
        }
        return out;
      },
      { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
    );
    return () => {
      client.middlewareStack.remove(MIDDLEWARE_NAME);
    };
  }

  /** Forgets everything measured so far. */
  reset(): void {
    this.rru = 0;
    this.wru = 0;
    this.calls = 0;
    this.unreported = 0;
    this.ops = {};
  }

  /** What was consumed since the last {@link reset}. */
  totals(): CapacityTotals {
    return {
      rru: this.rru, wru: this.wru, calls: this.calls, unreported: this.unreported,
      byOperation: Object.fromEntries(Object.entries(this.ops).map(([k, v]) => [k, { ...v }])),
    };
  }
}

/** Counts the requests any SDK v3 client sends, per operation (SQS is billed per request). */
export class RequestCounter {
  private counts: Record<string, number> = {};

  /** Adds the counter to `client`'s middleware stack; returns a function that removes it. */
  attach<I extends object, O extends object>(client: { middlewareStack: MiddlewareStack<I, O> }): () => void {
    const name = 'trustctlRequestCounter';
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const op = ((context as { commandName?: string }).commandName ?? 'unknown').replace(/Command$/, '');
        this.counts[op] = (this.counts[op] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize', name, override: true },
    );
    return () => {
      client.middlewareStack.remove(name);
    };
  }

  /** Requests per operation since the last {@link reset}. */
  byOperation(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  /** Every request since the last {@link reset}. */
  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.counts = {};
  }
}
