/**
 * DynamoDB Local for the tests. Its launcher lives in lib/local/pipeline (`trustctl pipeline` starts it
 * too); here is the one per-file set-up every suite on it shares ({@link useDynamoDbLocal}) and the
 * middleware hook the race tests of the stores use ({@link intercept}).
 */
export { dynamoDbLocalJar, startDynamoDbLocal, type DynamoDbLocal, type DynamoDbLocalOptions } from '../../lib/local/pipeline/dynamodb-local';
import {
  CreateTableCommand, type CreateTableCommandInput, type DynamoDBClient, type ServiceInputTypes, type ServiceOutputTypes, waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../lib/local/pipeline/dynamodb-local';

/** A server started beside DynamoDB Local (fauxqs, a registry, a Slack stand-in): anything that stops. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Options of {@link useDynamoDbLocal}. */
export interface UseDynamoDbLocalOptions<S extends Record<string, Stoppable>> {
  /** Tables created, in order, once the emulator answers; each is waited for until ACTIVE. Default none. */
  readonly tables?: readonly CreateTableCommandInput[];
  /**
   * Other servers of the file, started in parallel with the emulator (its JVM start dominates a test
   * file's set-up) and stopped with it; the handle holds each under its key (`alongside: { sqs:
   * startFauxqs }` → `handle.sqs`). A key may not be one of the handle's own names.
   */
  readonly alongside?: { readonly [K in keyof S]: () => Promise<S[K]> };
  /** Print how long the emulator took to answer (shows in the test output how slow this machine is). Default false. */
  readonly announce?: boolean;
  /** Timeout of the `beforeAll` that starts it all (and of the `afterAll` that stops it), ms. Default 120 000. */
  readonly timeoutMs?: number;
}

/** What {@link useDynamoDbLocal} gives a test file; read it only inside tests and hooks (it is filled by `beforeAll`). */
export interface DynamoDbLocalHandle {
  /** The running emulator (its `endpoint`; `stop()` to make it unreachable on purpose — stopping twice is safe). */
  readonly server: DynamoDbLocal;
  /** The file's SDK client on it (us-east-1, DynamoDB Local's dummy credentials); destroyed in `afterAll`. */
  readonly client: DynamoDBClient;
  /** One more SDK client (its own connection pool, like a second Lambda instance); destroyed in `afterAll`. */
  newClient(): DynamoDBClient;
  /** Creates a table with `client` and waits until it is ACTIVE; its name. */
  createTable(definition: CreateTableCommandInput): Promise<string>;
  /** A table of its own for one test: `<prefix>-1`, `<prefix>-2`, … defined by `define(name)`; its name. */
  freshTable(prefix: string, define: (name: string) => CreateTableCommandInput): Promise<string>;
  /**
   * Runs `fn` in `afterAll` before the clients are destroyed and the servers stopped (the latest
   * registered first): what the file started on top of them — a pipeline, a proxy — must stop first,
   * and Jest runs a file's `afterAll` hooks in the order they were declared, this one's first.
   */
  beforeStop(fn: () => unknown): void;
}

/** Creates each table with `client`, in order, and waits until it is ACTIVE. */
export async function createTables(client: DynamoDBClient, definitions: readonly CreateTableCommandInput[]): Promise<void> {
  for (const def of definitions) {
    await client.send(new CreateTableCommand(def));
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: def.TableName! });
  }
}

/**
 * Adds an initialize-step middleware to a client for the commands named `command` (e.g.
 * `BatchGetItemCommand`): `fn` sees the input before the SDK serialises (and retries) it and decides
 * whether and how to send it — races and partial answers forced at exact points.
 */
export function intercept(
  c: DynamoDBClient,
  command: string,
  fn: (input: ServiceInputTypes, next: (input: ServiceInputTypes) => Promise<ServiceOutputTypes>) => Promise<ServiceOutputTypes>,
): void {
  c.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== command) return next(args);
      let response: unknown;
      const output = await fn(args.input, async (input) => {
        const res = await next({ ...args, input });
        response = res.response;
        return res.output as ServiceOutputTypes;
      });
      return { output, response };
    },
    { step: 'initialize', name: `test-${command}` },
  );
}

/**
 * Starts DynamoDB Local once for the test file (or the `describe` it is called in) — with `alongside`
 * servers in parallel — in `beforeAll`, creates `tables`, and in `afterAll` runs the `beforeStop`
 * functions, destroys every client it handed out and stops every server. The one set-up of every
 * suite on the emulator; each test still makes its own tables where it needs them apart.
 */
export function useDynamoDbLocal<S extends Record<string, Stoppable> = Record<never, Stoppable>>(opts: UseDynamoDbLocalOptions<S> = {}): DynamoDbLocalHandle & Readonly<S> {
  let server: DynamoDbLocal | undefined;
  let alongside: S | undefined;
  let client: DynamoDBClient | undefined;
  const clients: DynamoDBClient[] = [];
  const before: (() => unknown)[] = [];
  const counters = new Map<string, number>();
  const stoppable: Stoppable[] = [];
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`useDynamoDbLocal: ${what} is read before its beforeAll ran (or after it failed)`);
    return value;
  };

  const handle: DynamoDbLocalHandle = {
    get server() {
      return started('the server', server);
    },
    get client() {
      return started('the client', client);
    },
    newClient() {
      const c = started('the server', server).client();
      clients.push(c);
      return c;
    },
    async createTable(definition) {
      await createTables(handle.client, [definition]);
      return definition.TableName!;
    },
    async freshTable(prefix, define) {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      return handle.createTable(define(`${prefix}-${n}`));
    },
    beforeStop(fn) {
      before.push(fn);
    },
  };

  for (const key of Object.keys(opts.alongside ?? {})) {
    if (key in handle) throw new Error(`useDynamoDbLocal: a server alongside may not be called ${key} (the handle has that name)`);
    Object.defineProperty(handle, key, { get: () => started(`the server ${key}`, alongside)[key as keyof S], enumerable: true });
  }

  beforeAll(async () => {
    const entries = Object.entries(opts.alongside ?? {}) as [keyof S, () => Promise<Stoppable>][];
    // allSettled: whatever did start is kept for afterAll to stop even when another failed.
    const [ddb, ...others] = await Promise.allSettled([startDynamoDbLocal(), ...entries.map(([, start]) => start())]);
    if (ddb.status === 'fulfilled') server = ddb.value;
    const got = {} as S;
    others.forEach((r, i) => {
      if (r.status === 'fulfilled') got[entries[i][0]] = r.value as S[keyof S];
    });
    stoppable.push(...(server ? [server] : []), ...Object.values(got));
    const failed = [ddb, ...others].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    alongside = got;
    if (opts.announce) console.info(`DynamoDB Local answered ${server!.endpoint} after ${server!.startupMs} ms`);
    client = handle.newClient();
    await createTables(client, opts.tables ?? []);
  }, opts.timeoutMs ?? 120_000);

  afterAll(async () => {
    try {
      for (const fn of [...before].reverse()) await fn();
    } finally {
      // Even when a beforeStop function failed: no java left running.
      for (const c of clients) c.destroy();
      await Promise.all(stoppable.map((s) => s.stop()));
    }
  }, opts.timeoutMs ?? 120_000);

  return handle as DynamoDbLocalHandle & Readonly<S>;
}
