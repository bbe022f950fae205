/**
 * NVD CVE API 2.0 JSON and the CISA KEV catalog as feeds (issue 14): told apart from OSV zips and from
 * each other by content, read bounded, bad records skipped with a reason, synced with the shared state
 * machinery (sync-feeds.ts). Data-driven over the real files in ../shared/corpus/nvd (40 records, as a
 * page and as bare records) and ../shared/feeds/kev (1,404 entries, validated by CISA's own schema).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { kevOf, nvdOf, nvdRecord } from '../../../lib/engine/advisories/enrichment';
import { ENRICHMENT_ECOSYSTEM, feedKindOf, jsonDocKind, readFeedStream } from '../../../lib/engine/advisories/enrichment-feed';
import { FeedError, openFeed } from '../../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { LimitExceededError } from '../../../lib/engine/errors';
import { syncFeeds } from '../../../lib/engine/sync-feeds';
import { SHARED } from '../../helpers/corpus';

const NVD_DIR = join(SHARED, 'corpus', 'nvd');
const NVD_PAGE = join(NVD_DIR, 'page-0.json');
const NVD_RECORDS = join(NVD_DIR, 'records');
const KEV_DIR = join(SHARED, 'feeds', 'kev');
const KEV_FILE = join(KEV_DIR, 'known_exploited_vulnerabilities.json');
const KEV_SCHEMA = join(KEV_DIR, 'known_exploited_vulnerabilities_schema.json');
const RECORD_FILES = readdirSync(NVD_RECORDS).filter((f) => f.endsWith('.json')).sort();
const PAGE = JSON.parse(readFileSync(NVD_PAGE, 'utf8')) as { vulnerabilities: { cve: { id: string } }[] };
const KEV = JSON.parse(readFileSync(KEV_FILE, 'utf8')) as { catalogVersion: string; dateReleased: string; vulnerabilities: Record<string, unknown>[] };

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'trustctl-enrichment-feed-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fresh = (name: string): string => {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
};

async function collect(stream: AsyncIterable<OsvRecord>): Promise<OsvRecord[]> {
  const out: OsvRecord[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

describe('the NVD corpus (40 real records)', () => {
  it('holds 40 record files and a page of the same 40 CVEs', () => {
    expect(RECORD_FILES).toHaveLength(40);
    expect(PAGE.vulnerabilities.map((v) => `${v.cve.id}.json`).sort()).toEqual(RECORD_FILES);
  });

  it.each(RECORD_FILES)('%s: the bare record and the page element give the same enrichment record', (file) => {
    const bare = JSON.parse(readFileSync(join(NVD_RECORDS, file), 'utf8')) as { id: string };
    expect(jsonDocKind(bare)).toBe('nvd-cve');
    const fromBare = nvdRecord(bare);
    const fromPage = nvdRecord(PAGE.vulnerabilities.find((v) => v.cve.id === bare.id)!.cve);
    expect(fromBare).toEqual(fromPage);
    expect(fromBare).toMatchObject({ id: `nvd:${bare.id}`, aliases: [bare.id], affected: [] });
  });

  it('the page is detected as an NVD page, the schema beside KEV as a schema, the catalog as KEV', () => {
    expect(jsonDocKind(JSON.parse(readFileSync(NVD_PAGE, 'utf8')))).toBe('nvd-page');
    expect(jsonDocKind(JSON.parse(readFileSync(KEV_SCHEMA, 'utf8')))).toBe('schema');
    expect(jsonDocKind(KEV)).toBe('kev');
  });

  it('openFeed(folder): one nvd source; syncing it gives the 40 CVEs once each, found by id and never by lookup', async () => {
    const sources = await openFeed(NVD_DIR);
    expect(sources.map((s) => s.source)).toEqual([`nvd:${NVD_DIR}`]);
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(sources, store);
    expect(r).toMatchObject({ read: 40, skipped: [], ecosystems: [ENRICHMENT_ECOSYSTEM.nvd] });
    expect([...r.changed].sort()).toEqual(RECORD_FILES.map((f) => `nvd:${f.replace(/\.json$/, '')}`).sort());
    expect(await store.count()).toBe(40);
    const state = await store.getFeedState(sources[0].source);
    expect(state).toMatchObject({ status: 'complete', records: 40, ecosystems: ['NVD'] });
    expect(feedKindOf(state!.ecosystems)).toBe('nvd');
    // README's own table: CVE-2023-0286 is 7.4 HIGH (v3.1, Primary, NVD).
    const openssl = nvdOf(await store.get('nvd:CVE-2023-0286'));
    expect(openssl?.metrics.find((m) => m.type === 'Primary' && m.version === '3.1')).toMatchObject({ baseScore: 7.4, baseSeverity: 'HIGH', source: 'nvd@nist.gov' });
    expect(await store.lookup('NVD', 'CVE-2023-0286')).toEqual([]);
    // Unchanged folder: not read again.
    const [again] = await syncFeeds(await openFeed(NVD_DIR), store);
    expect(again).toMatchObject({ unchanged: true, read: 0 });
  });

  it.each([
    ['the page file', NVD_PAGE],
    ['one bare record file', join(NVD_RECORDS, 'CVE-2023-45283.json')],
  ])('openFeed(%s): an nvd: source read by content', async (_n, path) => {
    const sources = await openFeed(path);
    expect(sources.map((s) => s.source)).toEqual([`nvd:${path}`]);
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(sources, store);
    expect(r.read).toBe(path === NVD_PAGE ? 40 : 1);
    expect(r.ecosystems).toEqual(['NVD']);
  });

  it('incremental: a record whose lastModified is not newer than the last complete read is not read again; a newer revision is', async () => {
    const dir = fresh('nvd-incremental');
    cpSync(NVD_RECORDS, dir, { recursive: true });
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await openFeed(dir), store);
    const state = await store.getFeedState(`nvd:${dir}`);
    // The newest lastModified of the 40 is what the next sync starts after.
    const newest = PAGE.vulnerabilities.map((v) => (nvdRecord(v.cve) as OsvRecord).modified).sort((a, b) => Date.parse(a) - Date.parse(b)).pop();
    expect(state?.modified).toBe(newest);
    const rec = JSON.parse(readFileSync(join(NVD_RECORDS, 'CVE-2023-29403.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'CVE-2023-29403.json'), JSON.stringify({ ...rec, lastModified: '2027-01-01T00:00:00.000', vulnStatus: 'Analyzed' }));
    const [r] = await syncFeeds(await openFeed(dir), store);
    expect(r).toMatchObject({ read: 1, changed: ['nvd:CVE-2023-29403'] });
    expect(nvdOf(await store.get('nvd:CVE-2023-29403'))?.vulnStatus).toBe('Analyzed');
  });
});

describe('the KEV catalog (1,404 real entries)', () => {
  it('validates against CISA\'s own schema, and every entry becomes a kev: record', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const schema = JSON.parse(readFileSync(KEV_SCHEMA, 'utf8')) as Record<string, unknown>;
    const { $schema: _drop, ...body } = schema; // draft-07 meta-schema id; Ajv 8 validates the keywords the same way
    const validate = ajv.compile(body);
    expect(validate(KEV)).toBe(true);
    expect(KEV.vulnerabilities).toHaveLength(1404);
  });

  it('openFeed(folder): the catalog is one kev: source, its schema is not data; sync gives 1,404 entries', async () => {
    const sources = await openFeed(KEV_DIR);
    expect(sources.map((s) => s.source)).toEqual([`kev:${KEV_FILE}`]);
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(sources, store);
    expect(r).toMatchObject({ read: 1404, skipped: [], ecosystems: ['KEV'] });
    expect(r.changed).toHaveLength(1404);
    const first = KEV.vulnerabilities[0];
    expect(kevOf(await store.get(`kev:${first.cveID as string}`))).toMatchObject({ dateAdded: first.dateAdded, dueDate: first.dueDate, ransomware: first.knownRansomwareCampaignUse });
    const state = await store.getFeedState(sources[0].source);
    expect(state?.members).toHaveLength(1404);
    expect(state?.modified).toBe(KEV.dateReleased);
  });

  it('a newer catalog: only entries whose content changed count as changed; an entry gone from it is withdrawn; a new one is added', async () => {
    const dir = fresh('kev-newer');
    const file = join(dir, 'catalog.json');
    writeFileSync(file, JSON.stringify(KEV));
    const store = new MemoryAdvisoryStore();
    await syncFeeds(await openFeed(file), store);
    const [gone, revised, ...rest] = KEV.vulnerabilities;
    const added = { ...rest[0], cveID: 'CVE-2099-0001', dateAdded: '2025-09-01' };
    const next = {
      ...KEV, catalogVersion: '2025.09.01', dateReleased: '2025-09-01T12:00:00.000Z', count: KEV.vulnerabilities.length,
      vulnerabilities: [added, { ...revised, knownRansomwareCampaignUse: 'Known' }, ...rest],
    };
    writeFileSync(file, JSON.stringify(next));
    const [r] = await syncFeeds(await openFeed(file), store);
    const gid = `kev:${gone.cveID as string}`;
    const rid = `kev:${revised.cveID as string}`;
    expect([...r.changed].sort()).toEqual([gid, rid, 'kev:CVE-2099-0001'].sort());
    expect(r.withdrawn).toEqual([gid]);
    expect(r.read).toBe(1404);
    const g = await store.get(gid);
    expect(g).toMatchObject({ withdrawn: '2025-09-01T12:00:00.000Z', modified: '2025-09-01T12:00:00.000Z' });
    expect(kevOf(g)).toBeUndefined();
    expect(kevOf(await store.get(rid))).toMatchObject({ ransomware: 'Known', catalogVersion: '2025.09.01' });
    // Same catalog content re-released (new version and date only): nothing changes.
    writeFileSync(file, JSON.stringify({ ...next, catalogVersion: '2025.09.02', dateReleased: '2025-09-02T12:00:00.000Z' }));
    const [same] = await syncFeeds(await openFeed(file), store);
    expect(same).toMatchObject({ read: 1404, changed: [] });
  });
});

describe('a folder with a mix: OSV zip, NVD page + records, KEV catalog and schema, README', () => {
  it('gives one source per kind, each CVE once', async () => {
    const dir = fresh('mix');
    cpSync(NVD_DIR, join(dir, 'nvd'), { recursive: true });
    cpSync(KEV_DIR, join(dir, 'kev'), { recursive: true });
    mkdirSync(join(dir, 'crates.io'));
    cpSync(join(SHARED, 'feeds', 'osv', 'crates.io', 'all.zip'), join(dir, 'crates.io', 'all.zip'));
    const sources = await openFeed(dir);
    expect(sources.map((s) => s.source)).toEqual(['osv:crates.io', `kev:${join(dir, 'kev', 'known_exploited_vulnerabilities.json')}`, `nvd:${dir}`]);
    const store = new MemoryAdvisoryStore();
    const results = await syncFeeds(sources, store);
    expect(results.map((r) => [r.read > 0, r.skipped.length])).toEqual([[true, results[0].skipped.length], [true, 0], [true, 0]]);
    expect(results[2].read).toBe(40);
    expect(results[0].ecosystems).toEqual(['crates.io']);
  });
});

/** Hostile or malformed input: every case either skips with a reason (and the read goes on) or fails with a named error. */
describe('hostile and malformed NVD / KEV input', () => {
  const good = JSON.parse(readFileSync(join(NVD_RECORDS, 'CVE-2023-45283.json'), 'utf8')) as Record<string, unknown>;
  const page = (vulnerabilities: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ resultsPerPage: vulnerabilities.length, startIndex: 0, totalResults: vulnerabilities.length, format: 'NVD_CVE', version: '2.0', vulnerabilities, ...extra });

  it.each([
    { name: 'wrong types in a page', body: page([1, 'x', null, { cve: { id: 5 } }, { cve: { ...good, lastModified: 7 } }, { cve: good }]), read: 1, skips: [/not an object/, /not an object/, /not an object/, /bad id 5/, /no usable lastModified/] },
    { name: 'a page claiming 10^6 totalResults', body: page([{ cve: good }], { totalResults: 1_000_000 }), read: 1, skips: [] },
    { name: 'a KEV catalog with malformed entries', body: JSON.stringify({ ...KEV, vulnerabilities: [{ cveID: 'CVE-X' }, 7, { ...KEV.vulnerabilities[0], dateAdded: 5 }, KEV.vulnerabilities[1]] }), read: 1, skips: [/no valid cveID/, /no valid cveID/, /no valid dateAdded/] },
    { name: 'a huge description and an over-long vector', body: page([{ cve: { ...good, descriptions: [{ lang: 'en', value: 'A'.repeat(5_000_000) }], metrics: { cvssMetricV31: [{ source: 's', type: 'Primary', cvssData: { version: '3.1', vectorString: `CVSS:3.1/${'X'.repeat(10_000)}`, baseScore: 9 } }] } } }]), read: 1, skips: [] },
  ])('$name: $read read, bad elements skipped with a reason', async ({ body, read, skips }) => {
    const skipped: string[] = [];
    const recs = await collect(readFeedStream(Readable.from([Buffer.from(body)]), 'test', { onSkip: (_r, why) => skipped.push(why) }));
    expect(recs).toHaveLength(read);
    expect(skipped).toHaveLength(skips.length);
    skips.forEach((re, i) => expect(skipped[i]).toMatch(re));
    for (const r of recs) {
      expect((r.details ?? '').length).toBeLessThanOrEqual(16_384);
      expect((nvdOf(r)?.metrics ?? []).every((m) => m.vector.length <= 256)).toBe(true);
    }
  });

  it.each([
    { name: 'truncated JSON', body: page([{ cve: good }]).slice(0, 500), error: FeedError, msg: /not JSON/ },
    { name: 'JSON that is no feed', body: '{"name":"left-pad","version":"1.0.0"}', error: FeedError, msg: /none of the feeds/ },
    { name: 'a JSON Schema', body: readFileSync(KEV_SCHEMA, 'utf8'), error: FeedError, msg: /JSON Schema/ },
    { name: 'neither zip nor JSON', body: 'hello world', error: FeedError, msg: /neither an OSV zip nor a JSON/ },
    { name: 'empty', body: '', error: FeedError, msg: /empty feed/ },
    { name: 'over maxJsonBytes', body: page([{ cve: good }, { cve: good }]), error: LimitExceededError, msg: /maxJsonBytes/, max: 1000 },
    { name: 'a KEV catalog without dateReleased', body: JSON.stringify({ ...KEV, dateReleased: 'yesterday' }), error: FeedError, msg: /no usable dateReleased/ },
  ])('$name → $error.name', async ({ body, error, msg, max }) => {
    const err = await collect(readFeedStream(Readable.from(body ? [Buffer.from(body)] : []), 'test', max ? { maxJsonBytes: max } : {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(error);
    expect((err as Error).message).toMatch(msg);
  });

  it('a file that is none of the kinds → FeedError from openFeed', async () => {
    const dir = fresh('none');
    writeFileSync(join(dir, 'package.json'), '{"name":"x"}');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    for (const f of ['package.json', 'notes.txt', 'README.md']) {
      const p = f === 'README.md' ? join(NVD_DIR, f) : join(dir, f);
      await expect(openFeed(p)).rejects.toThrow(/none of the feeds trustctl reads/);
    }
    await expect(openFeed(KEV_SCHEMA)).rejects.toThrow(/JSON Schema, not feed data/);
    await expect(openFeed(dir)).rejects.toThrow(/no NVD JSON, no KEV catalog/);
  });

  it('a folder of NVD records with a truncated and a wrongly typed record: those are skipped with a reason, the rest read', async () => {
    const dir = fresh('nvd-broken');
    cpSync(NVD_RECORDS, dir, { recursive: true });
    writeFileSync(join(dir, 'CVE-2000-0001.json'), readFileSync(join(NVD_RECORDS, 'CVE-2023-45283.json'), 'utf8').slice(0, 300));
    writeFileSync(join(dir, 'CVE-2000-0002.json'), JSON.stringify({ ...good, id: 'CVE-2000-0002', lastModified: ['not', 'a', 'date'] }));
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(await openFeed(dir), store);
    expect(r.read).toBe(40);
    expect(r.skipped.map((s) => [s.id, s.reason.replace(/:.*/, '')])).toEqual([['CVE-2000-0001.json', 'not JSON'], ['CVE-2000-0002.json', 'CVE-2000-0002']]);
    expect((await store.getFeedState(`nvd:${dir}`))?.status).toBe('complete');
  });
});

describe('a feed URL is told apart by content too', () => {
  let server: Server;
  let base: string;
  const bodies = new Map<string, Buffer>([['/kev.json', readFileSync(KEV_FILE)], ['/page', readFileSync(NVD_PAGE)]]);
  beforeAll(async () => {
    server = createServer((req, res) => {
      const b = bodies.get(req.url ?? '');
      if (!b) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', etag: `"${req.url}"` });
      return res.end(req.method === 'HEAD' ? undefined : b);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([['/kev.json', 1404, 'KEV'], ['/page', 40, 'NVD']])('%s → %i records, %s', async (path, n, eco) => {
    const store = new MemoryAdvisoryStore();
    const [r] = await syncFeeds(await openFeed(`${base}${path}`), store);
    expect(r).toMatchObject({ read: n, ecosystems: [eco] });
  });
});

describe('the cursor of an OSV zip read (readFeedStream; feed-sync continued across invocations)', () => {
  const zip = readFileSync(join(SHARED, 'feeds', 'osv', 'Alpine', 'all.zip'));
  const read = async (o: { resume?: string; revision?: string }, take = Infinity) => {
    const recs = readFeedStream(Readable.from([zip]), 'osv:Alpine', o);
    const ids: string[] = [];
    let cursor: string | undefined;
    for await (const r of recs) {
      // The cursor as a sync reads it before committing this record: where to continue with it included.
      cursor = recs.cursor;
      if (ids.length >= take) break;
      ids.push(r.id);
    }
    return { ids, cursor, positional: recs.positional };
  };

  it('is positional, names the revision, and a read resumed with it continues at the first record not taken', async () => {
    const all = await read({ revision: 'etag:"a"' });
    expect(all.positional).toBe(true);
    const part = await read({ revision: 'etag:"a"' }, 25);
    expect(part.cursor).toMatch(/^osv-zip\/1 \d+ etag:"a"$/);
    const rest = await read({ revision: 'etag:"a"', resume: part.cursor });
    expect([...part.ids, ...rest.ids]).toEqual(all.ids);
  });

  it.each([
    ['another revision', 'etag:"b"'],
    ['no revision', undefined],
  ])('a cursor taken in one revision is ignored in %s: the read starts over', async (_n, revision) => {
    const part = await read({ revision: 'etag:"a"' }, 25);
    const again = await read({ ...(revision !== undefined ? { revision } : {}), resume: part.cursor });
    expect(again.ids).toEqual((await read({})).ids);
  });

  it.each([
    ['an NVD API cursor', 'nvd-api/1 {"from":null}'],
    ['a damaged one', 'osv-zip/1 x etag:"a"'],
  ])('%s is not a zip cursor: the read starts over', async (_n, resume) => {
    expect((await read({ revision: 'etag:"a"', resume })).ids).toHaveLength((await read({})).ids.length);
  });
});
