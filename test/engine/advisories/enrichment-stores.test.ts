/**
 * Enrichment records (NVD `nvd:CVE-…`, KEV `kev:CVE-…`: no `affected[]`, a nested `databaseSpecific`)
 * in every store — memory, embedded (lib/local/advisory-store, reopened from disk) and DynamoDB
 * (lib/aws/advisory-store.ts against DynamoDB Local): synced from the real files, they round-trip
 * exactly, a newer `modified` revises them, they are never returned by `lookup`, and a KEV source's
 * member list (FeedState.members) survives the store.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoAdvisoryStore, tableDefinition } from '../../../lib/aws/advisory-store';
import { kevRecords, nvdOf, nvdRecord } from '../../../lib/engine/advisories/enrichment';
import { openFeed } from '../../../lib/engine/advisories/feed';
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import type { AdvisoryStore } from '../../../lib/engine/ports';
import { syncFeeds } from '../../../lib/engine/sync-feeds';
import { EmbeddedAdvisoryStore } from '../../../lib/local/advisory-store';
import { SHARED } from '../../helpers/corpus';
import { useDynamoDbLocal } from '../../helpers/dynamodb-local';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const NVD_DIR = join(SHARED, 'corpus', 'nvd');
const KEV_FILE = join(SHARED, 'feeds', 'kev', 'known_exploited_vulnerabilities.json');
const PAGE = JSON.parse(readFileSync(join(NVD_DIR, 'page-0.json'), 'utf8')) as { vulnerabilities: { cve: unknown }[] };
const NVD = PAGE.vulnerabilities.map((v) => nvdRecord(v.cve) as OsvRecord);
const KEV = kevRecords(JSON.parse(readFileSync(KEV_FILE, 'utf8'))).records;

const db = useDynamoDbLocal();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh store of each kind; `reopen` gives the same data through a new instance (what persisted). */
interface Kind {
  readonly name: string;
  open(): Promise<{ store: AdvisoryStore; reopen(): Promise<AdvisoryStore>; close(): Promise<void> }>;
}
const KINDS: Kind[] = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryAdvisoryStore();
      return { store, reopen: async () => store, close: async () => undefined };
    },
  },
  {
    name: 'embedded',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'trustctl-enrichment-store-'));
      dirs.push(dir);
      let current = await EmbeddedAdvisoryStore.open(dir);
      return {
        store: current,
        async reopen() {
          await current.flush();
          await current.close();
          current = await EmbeddedAdvisoryStore.open(dir);
          return current;
        },
        close: () => current.close(),
      };
    },
  },
  {
    name: 'DynamoDB',
    async open() {
      const table = await db.freshTable('enrichment', tableDefinition);
      const store = new DynamoAdvisoryStore({ client: db.client, tableName: table });
      return { store, reopen: async () => new DynamoAdvisoryStore({ client: db.client, tableName: table }), close: async () => undefined };
    },
  },
];

describe.each(KINDS)('enrichment records in the $name store', (kind) => {
  it('synced from the corpus and the KEV catalog: round-trip exactly, never returned by lookup, KEV members kept', async () => {
    const s = await kind.open();
    try {
      await syncFeeds([...(await openFeed(NVD_DIR)), ...(await openFeed(KEV_FILE))], s.store);
      const store = await s.reopen();
      expect(await store.count()).toBe(NVD.length + KEV.length);
      for (const r of NVD) expect(await store.get(r.id)).toEqual(r);
      for (const r of KEV.slice(0, 50)) expect(await store.get(r.id)).toEqual(r);
      // No affected[]: no package key, under any spelling a caller could try.
      for (const [eco, name] of [['NVD', 'CVE-2023-0286'], ['KEV', 'CVE-2025-48384'], ['', ''], ['Debian:12', 'openssl']]) {
        expect(await store.lookup(eco, name)).toEqual([]);
      }
      const kev = await store.getFeedState(`kev:${KEV_FILE}`);
      expect(kev?.members).toHaveLength(KEV.length);
      expect(kev?.ecosystems).toEqual(['KEV']);
      expect((await store.getFeedState(`nvd:${NVD_DIR}`))?.ecosystems).toEqual(['NVD']);
      // An interrupted NVD API read's cursor survives the store too.
      const cursor = 'nvd1:{"from":null,"to":null,"startIndex":4000,"total":312345}';
      await store.putFeedState('https://services.nvd.nist.gov/rest/json/cves/2.0', { syncedAt: '', records: 0, status: 'in-progress', startedAt: '2026-12-07T00:00:00Z', cursor });
      expect((await (await s.reopen()).getFeedState('https://services.nvd.nist.gov/rest/json/cves/2.0'))?.cursor).toBe(cursor);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a newer modified revises a record (nested payload replaced), an older one is ignored', async () => {
    const s = await kind.open();
    try {
      const base = NVD.find((r) => r.id === 'nvd:CVE-2023-29403')!;
      expect(await s.store.upsert([base])).toEqual([base.id]);
      const nvd = nvdOf(base)!;
      const newer: OsvRecord = {
        ...base, modified: '2027-01-01T00:00:00Z',
        databaseSpecific: { nvd: { ...nvd, vulnStatus: 'Analyzed', metrics: [{ source: 'nvd@nist.gov', type: 'Primary', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', baseScore: 7.5, baseSeverity: 'HIGH' }] } },
      };
      expect(await s.store.upsert([newer])).toEqual([base.id]);
      expect(await s.store.upsert([base])).toEqual([]);
      const store = await s.reopen();
      expect(await store.get(base.id)).toEqual(newer);
      expect(nvdOf(await store.get(base.id))?.metrics[0].baseScore).toBe(7.5);
    } finally {
      await s.close();
    }
  }, 60_000);
});
