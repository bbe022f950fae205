/**
 * DynamoAdvisoryStore against DynamoDB Local (AWS's emulator, started once for this file) with the real
 * `@aws-sdk/client-dynamodb`, on real OSV records from ../shared/corpus/osv and ../shared/feeds/osv.
 * Every test gets its own table, so tests do not see each other's records.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type BatchGetItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { unzipSync } from 'fflate';
import { normalizePackageName } from '../../lib/engine/advisories/names';
import type { OsvRecord } from '../../lib/engine/advisories/osv';
import {
  AdvisoryRecordTooLargeError,
  DynamoAdvisoryStore,
  type DynamoAdvisoryStoreOptions,
  DynamoAdvisoryStoreError,
  MAX_ITEM_BYTES,
  tableDefinition,
} from '../../lib/aws/advisory-store';
import { SHARED, corpusBytes } from '../helpers/corpus';
import { corpusRecord, toOsvRecord } from '../helpers/osv';
import { intercept, startDynamoDbLocal, useDynamoDbLocal } from '../helpers/dynamodb-local';
import { StallingExportServer } from '../helpers/export-server';
import { openFeed } from '../../lib/engine/advisories/feed';
import { storedFeeds } from '../../lib/engine/advisories/feed-state';
import type { FeedState } from '../../lib/engine/ports';
import { syncFeeds } from '../../lib/engine/sync-feeds';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// ---------------------------------------------------------------------------------------------------
// Real records in the engine's OsvRecord shape.

type Raw = Record<string, unknown>;

/** One corpus record, e.g. `corpus('distro/DLA-3008-1.json')`. */
const corpus = corpusRecord;

/** The corpus records of some folders (index.json order). The spec examples are left out: two of their ids are real records too. */
function corpusFolders(...folders: string[]): OsvRecord[] {
  const index = JSON.parse(corpusBytes('osv', 'index.json').toString('utf8')) as { file: string }[];
  return index.filter((e) => folders.includes(e.file.split('/')[0])).map((e) => corpus(e.file));
}

/** Entries of `../shared/feeds/osv/<ecosystem>/all.zip` chosen by name and original size, extracted in memory with fflate. */
function fromFeedZip(ecosystem: string, pick: (name: string, size: number) => boolean): Map<string, OsvRecord> {
  const zip = readFileSync(join(SHARED, 'feeds', 'osv', ecosystem, 'all.zip'));
  const files = unzipSync(zip, { filter: (f) => pick(f.name, f.originalSize) });
  return new Map(Object.entries(files).map(([name, data]) => [name, toOsvRecord(JSON.parse(Buffer.from(data).toString('utf8')) as Raw)]));
}

/** The largest entry of a feed zip (by uncompressed size), as `unzip -l` would show it. */
function largestInFeedZip(ecosystem: string): { name: string; size: number; record: OsvRecord } {
  let best = { name: '', size: -1 };
  fromFeedZip(ecosystem, (name, size) => {
    if (size > best.size) best = { name, size };
    return false;
  });
  const record = fromFeedZip(ecosystem, (name) => name === best.name).get(best.name)!;
  return { ...best, record };
}

/** A copy of a record as a later (or earlier) revision. */
const revision = (r: OsvRecord, modified: string, changes: Partial<OsvRecord> = {}): OsvRecord => ({ ...r, modified, ...changes });

const pairsOf = (r: OsvRecord): [string, string][] => {
  const seen = new Map<string, [string, string]>();
  for (const a of r.affected) {
    const name = normalizePackageName(a.ecosystem, a.name);
    seen.set(JSON.stringify([a.ecosystem, name]), [a.ecosystem, name]);
  }
  return [...seen.values()];
};

const ids = (rs: readonly OsvRecord[]): string[] => rs.map((r) => r.id).sort();

// ---------------------------------------------------------------------------------------------------
// DynamoDB Local, one per file; one table per test.

// Shows in the test output how long the emulator took to come up on this machine.
const db = useDynamoDbLocal({ announce: true });

/** A client of its own for one test (middleware added to it stays there); the test destroys it. */
const newClient = (): DynamoDBClient => db.server.client();

/** A fresh table and a store on it. */
async function freshStore(opts: Partial<DynamoAdvisoryStoreOptions> = {}): Promise<{ store: DynamoAdvisoryStore; table: string }> {
  const table = await db.freshTable('advisories', tableDefinition);
  return { store: new DynamoAdvisoryStore({ client: db.client, tableName: table, ...opts }), table };
}

/** Raw index items of a package partition (what is really stored, not what lookup filters). */
async function indexItems(table: string, ecosystem: string, name: string): Promise<string[]> {
  const out = await db.client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `PKG#${JSON.stringify([ecosystem, name])}` } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((it) => it.sk.S!.replace(/^ADV#/, ''));
}

// ---------------------------------------------------------------------------------------------------

describe('tableDefinition', () => {
  it('is on-demand with a string pk (HASH) and sk (RANGE)', () => {
    const def = tableDefinition('t');
    expect(def.TableName).toBe('t');
    expect(def.BillingMode).toBe('PAY_PER_REQUEST');
    expect(def.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(def.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]);
  });
});

describe('lookup over the real corpus (distro, npm, crates.io, pypi, maven)', () => {
  const records = corpusFolders('distro', 'npm', 'crates.io', 'pypi', 'maven');
  const byId = new Map(records.map((r) => [r.id, r]));
  let store: DynamoAdvisoryStore;

  /** What a correct store answers: every record with an affected[] entry for exactly that pair. */
  const expected = (ecosystem: string, name: string): string[] =>
    [...byId.values()]
      .filter((r) => r.affected.some((a) => a.ecosystem === ecosystem && normalizePackageName(a.ecosystem, a.name) === name))
      .map((r) => r.id)
      .sort();

  beforeAll(async () => {
    ({ store } = await freshStore());
    expect(byId.size).toBe(records.length);
    const changed = await store.upsert(records);
    expect([...changed].sort()).toEqual([...byId.keys()].sort());
  }, 120_000);

  it.each([
    { what: 'Debian 9 openssl (DLA-3008-1)', ecosystem: 'Debian:9', name: 'openssl', includes: ['DLA-3008-1'] },
    { what: 'Debian 9 libxml2 (DLA-3012-1)', ecosystem: 'Debian:9', name: 'libxml2', includes: ['DLA-3012-1'] },
    { what: 'Debian 12 apparmor (DEBIAN-CVE, one entry per release)', ecosystem: 'Debian:12', name: 'apparmor', includes: ['DEBIAN-CVE-2016-1585', 'DEBIAN-CVE-2017-6507'] },
    { what: 'Alpine musl in one release', ecosystem: 'Alpine:v3.20', name: 'musl', includes: ['ALPINE-CVE-2025-26519'] },
    { what: 'npm lodash (GHSA records)', ecosystem: 'npm', name: 'lodash', includes: ['GHSA-29mw-wpgm-hmr9', 'GHSA-35jh-r3h4-6jhm'] },
    { what: 'crates.io openssl (RUSTSEC)', ecosystem: 'crates.io', name: 'openssl', includes: ['RUSTSEC-2016-0001', 'RUSTSEC-2018-0010', 'RUSTSEC-2025-0004'] },
    { what: 'PyPI django', ecosystem: 'PyPI', name: 'django', includes: ['GHSA-6c3j-c64m-qhgq'] },
    { what: 'NuGet jQuery under its case-folded key', ecosystem: 'NuGet', name: 'jquery', includes: ['GHSA-2pqj-h3vj-pqgw'] },
  ])('$what: exactly the records affecting it, unchanged', async ({ ecosystem, name, includes }) => {
    const want = expected(ecosystem, name);
    expect(want.length).toBeGreaterThan(0);
    expect(want).toEqual(expect.arrayContaining(includes));
    const got = await store.lookup(ecosystem, name);
    expect(ids(got)).toEqual(want);
    for (const r of got) expect(r).toEqual(byId.get(r.id));
  });

  it.each([
    { what: 'an unknown package', ecosystem: 'npm', name: 'no-such-package-anywhere' },
    { what: 'the ecosystem without its release', ecosystem: 'Debian', name: 'openssl' },
    { what: 'another release', ecosystem: 'Debian:11', name: 'openssl' },
    { what: 'the ecosystem in another case (keys are exact)', ecosystem: 'debian:9', name: 'openssl' },
    { what: 'a NuGet name not normalised by the caller', ecosystem: 'NuGet', name: 'jQuery' },
  ])('$what: nothing', async ({ ecosystem, name }) => {
    expect(await store.lookup(ecosystem, name)).toEqual([]);
  });

  it('every (ecosystem, name) pair of the corpus answers exactly its records', async () => {
    const pairs = new Map<string, [string, string]>();
    for (const r of records) for (const p of pairsOf(r)) pairs.set(JSON.stringify(p), p);
    expect(pairs.size).toBeGreaterThan(100);
    const answers = await Promise.all([...pairs.values()].map(async ([e, n]) => [e, n, ids(await store.lookup(e, n))] as const));
    for (const [e, n, got] of answers) expect({ e, n, got }).toEqual({ e, n, got: expected(e, n) });
  }, 60_000);

  it.each(['pypi/GHSA-6c3j-c64m-qhgq.json', 'npm/GHSA-2pqj-h3vj-pqgw.json', 'maven/GHSA-h4h5-3hr4-j3g2.json'])(
    'multi-ecosystem record %s is found under each of its packages',
    async (file) => {
      const r = corpus(file);
      const pairs = pairsOf(r);
      expect(new Set(pairs.map(([e]) => e)).size).toBeGreaterThan(1);
      for (const [e, n] of pairs) {
        const got = await store.lookup(e, n);
        expect({ e, n, found: got.find((x) => x.id === r.id) }).toEqual({ e, n, found: r });
      }
    },
  );

  it('count is the number of distinct ids', async () => {
    expect(await store.count()).toBe(byId.size);
  });
});

describe('upsert', () => {
  const dla = corpus('distro/DLA-3008-1.json');
  const rustsec = corpus('crates.io/RUSTSEC-2016-0001.json');
  const jquery = corpus('npm/GHSA-2pqj-h3vj-pqgw.json');

  it('returns the ids that changed, in input order; a re-upsert of the same records changes nothing', async () => {
    const { store } = await freshStore();
    expect(await store.count()).toBe(0);
    expect(await store.upsert([dla, rustsec, jquery])).toEqual([dla.id, rustsec.id, jquery.id]);
    expect(await store.count()).toBe(3);
    expect(await store.upsert([dla, rustsec, jquery])).toEqual([]);
    expect(await store.upsert([rustsec, corpus('crates.io/RUSTSEC-2016-0002.json')])).toEqual(['RUSTSEC-2016-0002']);
    expect(await store.count()).toBe(4);
    expect(await store.upsert([])).toEqual([]);
  });

  // `stored` is written first, then `incoming`; the store keeps the newer instant (not the greater string).
  it.each([
    { what: 'older by a day', stored: '2024-05-02T00:00:00Z', incoming: '2024-05-01T00:00:00Z', wins: 'stored' },
    { what: 'newer by a day', stored: '2024-05-01T00:00:00Z', incoming: '2024-05-02T00:00:00Z', wins: 'incoming' },
    { what: 'the same instant with an offset', stored: '2024-05-01T10:00:00Z', incoming: '2024-05-01T12:00:00+02:00', wins: 'stored' },
    { what: 'the same instant with nanoseconds', stored: '2024-05-01T10:00:00Z', incoming: '2024-05-01T10:00:00.000000000Z', wins: 'stored' },
    { what: 'newer by one nanosecond', stored: '2024-05-01T10:00:00.123456789Z', incoming: '2024-05-01T10:00:00.12345679Z', wins: 'incoming' },
    { what: 'newer, though smaller as text', stored: '2024-05-01T10:00:00+02:00', incoming: '2024-05-01T09:00:00Z', wins: 'incoming' },
    { what: 'older, though greater as text', stored: '2024-05-01T09:00:00Z', incoming: '2024-05-01T10:00:00+02:00', wins: 'stored' },
  ])('$what: $wins wins', async ({ stored, incoming, wins }) => {
    const { store } = await freshStore();
    const a = revision(dla, stored, { summary: 'stored' });
    const b = revision(dla, incoming, { summary: 'incoming' });
    expect(await store.upsert([a])).toEqual([dla.id]);
    expect(await store.upsert([b])).toEqual(wins === 'incoming' ? [dla.id] : []);
    expect(await store.lookup('Debian:9', 'openssl')).toEqual([wins === 'incoming' ? b : a]);
    expect(await store.count()).toBe(1);
  });

  it('an older modified never overwrites a newer one, also within one call', async () => {
    const { store } = await freshStore();
    const newer = revision(dla, '2030-01-01T00:00:00Z', { summary: 'newer' });
    expect(await store.upsert([newer, dla])).toEqual([dla.id]);
    expect(await store.upsert([dla])).toEqual([]);
    expect(await store.lookup('Debian:9', 'openssl')).toEqual([newer]);
  });

  it('a newer revision that drops a package leaves that package, and its index items are deleted', async () => {
    const { store, table } = await freshStore();
    expect(pairsOf(jquery)).toEqual(
      expect.arrayContaining([['npm', 'jquery'], ['RubyGems', 'jquery-rails'], ['Maven', 'org.webjars.npm:jquery'], ['NuGet', 'jquery']]),
    );
    await store.upsert([jquery]);
    expect(await indexItems(table, 'RubyGems', 'jquery-rails')).toEqual([jquery.id]);
    const npmOnly = revision(jquery, '2030-01-01T00:00:00Z', { affected: jquery.affected.filter((a) => a.ecosystem === 'npm') });
    expect(await store.upsert([npmOnly])).toEqual([jquery.id]);
    expect(await store.lookup('npm', 'jquery')).toEqual([npmOnly]);
    for (const [e, n] of [['RubyGems', 'jquery-rails'], ['Maven', 'org.webjars.npm:jquery'], ['NuGet', 'jquery']]) {
      expect({ e, n, lookup: await store.lookup(e, n), stored: await indexItems(table, e, n) }).toEqual({ e, n, lookup: [], stored: [] });
    }
    // Nothing left pending on the record item.
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `REC#${jquery.id}` }, sk: { S: 'REC' } }, ConsistentRead: true }));
    expect(item.Item?.drop).toBeUndefined();
    // A later revision that names the package again is found under it again.
    const back = revision(jquery, '2031-01-01T00:00:00Z');
    expect(await store.upsert([back])).toEqual([jquery.id]);
    expect(await store.lookup('RubyGems', 'jquery-rails')).toEqual([back]);
    expect(await store.count()).toBe(1);
  });

  it('indexes each affected[] entry under its normalised name (PyPI PEP 503)', async () => {
    const { store } = await freshStore();
    const r = corpus('pypi/PYSEC-2024-24.json');
    const spelled = revision(r, r.modified, { affected: r.affected.map((a) => ({ ...a, name: 'Flask_CORS' })) });
    await store.upsert([spelled]);
    expect(await store.lookup('PyPI', 'flask-cors')).toEqual([spelled]);
    expect(await store.lookup('PyPI', 'Flask_CORS')).toEqual([]);
  });

  it('concurrent writers of two revisions of the same ids: the newest wins and lookups agree with it', async () => {
    const { store, table } = await freshStore();
    const other = new DynamoAdvisoryStore({ client: db.client, tableName: table });
    const base = corpus('npm/GHSA-p6mc-m468-83gw.json'); // lodash: npm ×7 + RubyGems lodash-rails
    const keep = (r: OsvRecord, names: string[]): OsvRecord['affected'] => r.affected.filter((a) => names.includes(a.name));
    const rounds = Array.from({ length: 12 }, (_, i) => {
      const id = `${base.id}-${i}`;
      const r1 = revision(base, '2024-01-01T00:00:00Z', { id, affected: keep(base, ['lodash', 'lodash-es', 'lodash.set']) });
      const r2 = revision(base, '2024-02-01T00:00:00Z', { id, affected: keep(base, ['lodash', 'lodash-es', 'lodash.pick']) });
      const r3 = revision(base, '2024-03-01T00:00:00Z', { id, affected: keep(base, ['lodash', 'lodash-rails', 'lodash.update']) });
      return { id, r1, r2, r3 };
    });
    await store.upsert(rounds.map((x) => x.r1));
    // Both writers race on every id, in opposite orders.
    await Promise.all([store.upsert(rounds.map((x) => x.r2)), other.upsert(rounds.map((x) => x.r3).reverse())]);
    const newest = new Map(rounds.map((x) => [x.id, x.r3]));
    for (const [e, n, want] of [
      ['npm', 'lodash', true],
      ['RubyGems', 'lodash-rails', true],
      ['npm', 'lodash.update', true],
      ['npm', 'lodash-es', false],
      ['npm', 'lodash.set', false],
      ['npm', 'lodash.pick', false],
    ] as const) {
      const got = await store.lookup(e, n);
      expect({ e, n, got: ids(got) }).toEqual({ e, n, got: want ? [...newest.keys()].sort() : [] });
      for (const r of got) expect(r).toEqual(newest.get(r.id));
    }
    expect(await store.count()).toBe(rounds.length);
  });

  it('a write interrupted after the record landed is finished by the re-run, which reports the id as changed', async () => {
    const { store, table } = await freshStore();
    await store.upsert([jquery]);
    const npmOnly = revision(jquery, '2030-01-01T00:00:00Z', { affected: jquery.affected.filter((a) => a.ecosystem === 'npm') });
    // A client whose index deletes fail, like a Lambda stopped between steps 2 and 3.
    const broken = newClient();
    intercept(broken, 'DeleteItemCommand', async () => {
      throw Object.assign(new Error('injected: connection reset'), { name: 'NetworkingError' });
    });
    const err = await new DynamoAdvisoryStore({ client: broken, tableName: table }).upsert([npmOnly]).catch((e: unknown) => e);
    broken.destroy();
    expect(err).toBeInstanceOf(DynamoAdvisoryStoreError);
    // The record did change before the failure: the error says so.
    expect((err as DynamoAdvisoryStoreError).changed).toEqual([jquery.id]);
    // The record is the new revision; the stale index item is still there but never an answer.
    expect(await indexItems(table, 'RubyGems', 'jquery-rails')).toEqual([jquery.id]);
    expect(await store.lookup('RubyGems', 'jquery-rails')).toEqual([]);
    expect(await store.lookup('npm', 'jquery')).toEqual([npmOnly]);
    // The feed sync runs again: the deletes are finished and the change is reported this time.
    expect(await store.upsert([npmOnly])).toEqual([jquery.id]);
    expect(await indexItems(table, 'RubyGems', 'jquery-rails')).toEqual([]);
    expect(await store.upsert([npmOnly])).toEqual([]);
    expect(await store.count()).toBe(1);
  });
});

describe('records from the Debian and crates.io feeds', () => {
  it('the largest Debian record of all.zip round-trips, compressed well under the 400 KB item limit', async () => {
    const { store, table } = await freshStore();
    const { name, size, record } = largestInFeedZip('Debian');
    expect(size).toBeGreaterThan(20_000);
    expect(await store.upsert([record])).toEqual([record.id]);
    const pairs = pairsOf(record);
    expect(pairs.length).toBeGreaterThan(10);
    for (const [e, n] of pairs) expect({ e, n, got: await store.lookup(e, n) }).toEqual({ e, n, got: [record] });
    const item = await db.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `REC#${record.id}` }, sk: { S: 'REC' } }, ConsistentRead: true }));
    const body = item.Item!.body.B!.byteLength;
    console.info(`${name}: ${size} bytes in all.zip, ${JSON.stringify(record).length} bytes of JSON, ${body} bytes stored`);
    expect(body).toBeLessThan(JSON.stringify(record).length / 3);
  }, 60_000);

  it('a record that does not fit even compressed fails clearly, and nothing of its call is written', async () => {
    const { store } = await freshStore();
    const { record } = largestInFeedZip('Debian');
    // Random versions do not compress: about 600 KB of them.
    const versions = Array.from({ length: 20_000 }, () => randomBytes(22).toString('base64'));
    const huge = revision(record, record.modified, { affected: [{ ...record.affected[0], versions }, ...record.affected.slice(1)] });
    const small = corpus('distro/DLA-3008-1.json');
    const err = await store.upsert([small, huge]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdvisoryRecordTooLargeError);
    expect((err as AdvisoryRecordTooLargeError).code).toBe('ADVISORY_RECORD_TOO_LARGE');
    expect((err as AdvisoryRecordTooLargeError).records).toEqual([{ id: record.id, reason: expect.stringContaining(`over DynamoDB's ${MAX_ITEM_BYTES}`) }]);
    expect((err as Error).message).toContain(record.id);
    expect(await store.count()).toBe(0);
    expect(await store.lookup('Debian:9', 'openssl')).toEqual([]);
  }, 60_000);

  it('a lookup across more than 100 ids pages BatchGetItem (Debian 12 linux)', async () => {
    const counted = newClient();
    let batchGets: number[] = [];
    intercept(counted, 'BatchGetItemCommand', async (input, next) => {
      const [req] = Object.values((input as BatchGetItemCommandInput).RequestItems ?? {});
      batchGets.push(req.Keys?.length ?? 0);
      return next(input);
    });
    const { table } = await freshStore();
    const store = new DynamoAdvisoryStore({ client: counted, tableName: table });
    const all = fromFeedZip('Debian', (n) => n.startsWith('DEBIAN-CVE-202'));
    const linux = [...all.values()]
      .filter((r) => r.affected.some((a) => a.ecosystem === 'Debian:12' && a.name === 'linux'))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, 250);
    expect(linux).toHaveLength(250);
    await store.upsert(linux);
    batchGets = [];
    const got = await store.lookup('Debian:12', 'linux');
    expect(ids(got)).toEqual(ids(linux));
    const want = new Map(linux.map((r) => [r.id, r]));
    for (const r of got) expect(r).toEqual(want.get(r.id));
    expect(batchGets.sort((a, b) => b - a)).toEqual([100, 100, 50]);
    counted.destroy();
  }, 120_000);

  it('UnprocessedKeys are read again until every record is there', async () => {
    const flaky = newClient();
    let injected = 0;
    // DynamoDB hands back half the keys of every request, as it does under throttling or past 16 MB.
    intercept(flaky, 'BatchGetItemCommand', async (input, next) => {
      const req = input as BatchGetItemCommandInput;
      const [table, keysAndAttrs] = Object.entries(req.RequestItems ?? {})[0];
      const keys = keysAndAttrs.Keys ?? [];
      if (keys.length < 2) return next(input);
      const held = keys.slice(Math.ceil(keys.length / 2));
      injected += held.length;
      const out = await next({ ...req, RequestItems: { [table]: { ...keysAndAttrs, Keys: keys.slice(0, keys.length - held.length) } } });
      return { ...out, UnprocessedKeys: { [table]: { ...keysAndAttrs, Keys: held } } };
    });
    const { table, store: writer } = await freshStore();
    const records = corpusFolders('npm');
    await writer.upsert(records);
    const store = new DynamoAdvisoryStore({ client: flaky, tableName: table, retry: { baseDelayMs: 1 } });
    const want = records.filter((r) => r.affected.some((a) => a.ecosystem === 'npm' && a.name === 'lodash'));
    expect(want.length).toBeGreaterThan(5);
    expect(ids(await store.lookup('npm', 'lodash'))).toEqual(ids(want));
    expect(injected).toBeGreaterThan(0);
    expect(await store.count()).toBe(records.length);
    flaky.destroy();
  });

  it('keys that stay unprocessed fail the lookup instead of answering with records missing', async () => {
    const stuck = newClient();
    intercept(stuck, 'BatchGetItemCommand', async (input) => {
      const req = input as BatchGetItemCommandInput;
      return { $metadata: {}, Responses: {}, UnprocessedKeys: req.RequestItems };
    });
    const { table, store: writer } = await freshStore();
    await writer.upsert([corpus('distro/DLA-3008-1.json')]);
    const store = new DynamoAdvisoryStore({ client: stuck, tableName: table, retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const err = await store.lookup('Debian:9', 'openssl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoAdvisoryStoreError);
    expect((err as Error).message).toMatch(/unprocessed after 3 attempts/);
    stuck.destroy();
  });

  it('withdrawn records (real crates.io ones) are stored, counted and returned with withdrawn set', async () => {
    const { store } = await freshStore();
    const withdrawn = [...fromFeedZip('crates.io', (n) => n === 'RUSTSEC-2020-0053.json' || n === 'RUSTSEC-2019-0031.json').values()];
    expect(withdrawn).toHaveLength(2);
    for (const r of withdrawn) expect(r.withdrawn).toMatch(/^\d{4}-/);
    expect((await store.upsert(withdrawn)).length).toBe(2);
    const dirs = await store.lookup('crates.io', 'dirs');
    expect(dirs).toEqual([withdrawn.find((r) => r.id === 'RUSTSEC-2020-0053')]);
    expect(dirs[0].withdrawn).toBeDefined();
    expect(await store.count()).toBe(2);
  });

  it('a stored record that does not decode fails the lookup (never "no advisories")', async () => {
    const { store, table } = await freshStore();
    const dla = corpus('distro/DLA-3008-1.json');
    await store.upsert([dla]);
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: `REC#${dla.id}` }, sk: { S: 'REC' }, body: { B: Buffer.from('not gzip') }, modifiedAt: { N: '1' }, pkgs: { SS: [`PKG#${JSON.stringify(['Debian:9', 'openssl'])}`] } },
      }),
    );
    const err = await store.lookup('Debian:9', 'openssl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoAdvisoryStoreError);
    expect((err as Error).message).toContain(dla.id);
  });
});

describe('startDynamoDbLocal', () => {
  it('without a Java runtime fails naming the package to install (it never skips)', async () => {
    const started = startDynamoDbLocal({ java: '/nonexistent/bin/java' });
    // Should it ever start, do not leave a JVM behind.
    started.then((s) => s.stop(), () => undefined);
    await expect(started).rejects.toThrow(/apt-get install default-jre-headless/);
  });
});

describe('feed state', () => {
  it('round-trips per source; absent fields stay absent; a put replaces the whole state', async () => {
    const { store } = await freshStore();
    expect(await store.getFeedState('osv:Debian')).toBeUndefined();
    const full = { modified: '2026-11-28T10:00:00.123456Z', fingerprint: 'etag:"abc"', syncedAt: '2026-11-29T03:00:00.000Z', records: 33593 };
    await store.putFeedState('osv:Debian', full);
    await store.putFeedState('osv:npm', { syncedAt: '2026-11-29T03:01:00.000Z', records: 0 });
    expect(await store.getFeedState('osv:Debian')).toEqual(full);
    expect(await store.getFeedState('osv:npm')).toEqual({ syncedAt: '2026-11-29T03:01:00.000Z', records: 0 });
    await store.putFeedState('osv:Debian', { fingerprint: 'etag:"def"', syncedAt: '2026-11-30T03:00:00.000Z', records: 12 });
    expect(await store.getFeedState('osv:Debian')).toEqual({ fingerprint: 'etag:"def"', syncedAt: '2026-11-30T03:00:00.000Z', records: 12 });
    // Feed state items are not records.
    expect(await store.count()).toBe(0);
  });
});

describe('feed status, ecosystems and the feed list (issue 13)', () => {
  it.each<{ name: string; state: FeedState }>([
    { name: 'complete with ecosystems', state: { fingerprint: 'etag:"a"', modified: '2026-11-28T10:00:00Z', syncedAt: '2026-11-29T03:00:00.000Z', records: 3, status: 'complete', ecosystems: ['Debian:11', 'Debian:12'] } },
    { name: 'complete with no ecosystems (an empty export)', state: { fingerprint: 'etag:"b"', syncedAt: '2026-11-29T03:00:00.000Z', records: 0, status: 'complete', ecosystems: [] } },
    { name: 'in-progress after a complete read', state: { fingerprint: 'etag:"a"', syncedAt: '2026-11-29T03:00:00.000Z', records: 3, status: 'in-progress', ecosystems: ['npm'], startedAt: '2026-11-30T03:00:00.000Z', pending: 'etag:"c"' } },
    { name: 'failed first sync', state: { syncedAt: '', records: 0, status: 'failed', startedAt: '2026-11-30T03:00:00.000Z', pending: 'etag:"c"', error: 'truncated zip' } },
  ])('round-trips: $name', async ({ state }) => {
    const { store } = await freshStore();
    await store.putFeedState('osv:X', state);
    expect(await store.getFeedState('osv:X')).toEqual(state);
  });

  it('listFeeds names every source with a state, sorted, once', async () => {
    const { store } = await freshStore();
    expect(await store.listFeeds()).toEqual([]);
    for (const s of ['osv:npm', 'https://x/Debian/all.zip', 'osv:npm', 'osv:Go']) await store.putFeedState(s, { syncedAt: '', records: 0, status: 'in-progress' });
    expect(await store.listFeeds()).toEqual(['https://x/Debian/all.zip', 'osv:Go', 'osv:npm']);
    expect(await store.count()).toBe(0);
  });

  it('a sync killed midway (SIGKILL in a child process) leaves the source in-progress, covering nothing; the next sync resumes only it', async () => {
    const { store, table } = await freshStore();
    const hackage = join(SHARED, 'feeds', 'osv', 'Hackage', 'all.zip');
    const server = await new StallingExportServer(readFileSync(join(SHARED, 'feeds', 'osv', 'npm', 'all.zip')), '"npm-rev-1"', '/npm/all.zip').start();
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'sync-child.ts'), db.server.endpoint, table, hackage, server.url], { cwd: resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
      await Promise.race([server.stalled, exited.then(() => Promise.reject(new Error(`the sync ended before the stall: ${out} ${err}`)))]);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const killed = await storedFeeds(store);
      expect(killed.map((f) => [f.source, f.status, f.ecosystems])).toEqual([[server.url, 'in-progress', undefined], ['osv:Hackage', 'complete', ['Hackage']]]);
      expect(killed[0]).toMatchObject({ pending: 'etag:"npm-rev-1"' });

      server.stall = false;
      const results = await syncFeeds([...(await openFeed(hackage)), ...(await openFeed(server.url))], store);
      expect(results.map((r) => [r.source, r.unchanged, r.resumed ?? false])).toEqual([['osv:Hackage', true, false], [server.url, false, true]]);
      const done = await storedFeeds(store);
      expect(done.map((f) => [f.source, f.status, f.ecosystems, f.revision])).toEqual([
        [server.url, 'complete', ['npm'], 'etag:"npm-rev-1"'],
        ['osv:Hackage', 'complete', ['Hackage'], (await (await openFeed(hackage))[0].fingerprint())],
      ]);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
