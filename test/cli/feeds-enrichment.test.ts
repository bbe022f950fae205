/**
 * `trustctl feeds sync --feed <NVD folder|KEV folder|NVD API URL>` then `feeds status`, end to end
 * through the CLI (issue 14): the sources are found by content, named by kind, synced once, and an
 * unchanged sync reads nothing. The NVD API is the in-process server (test/helpers/nvd-api-server.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeedInfo } from '../../lib/engine/model';
import { trustctl } from '../helpers/cli';
import { SHARED } from '../helpers/corpus';
import { NvdApiServer } from '../helpers/nvd-api-server';

const NVD_DIR = join(SHARED, 'corpus', 'nvd');
const KEV_DIR = join(SHARED, 'feeds', 'kev');
const KEV_FILE = join(KEV_DIR, 'known_exploited_vulnerabilities.json');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'trustctl-cli-enrichment-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('trustctl feeds sync/status with NVD and KEV', () => {
  it('syncs the NVD corpus folder and the KEV folder; status names each with its kind; a second sync reads nothing', async () => {
    const data = join(tmp, 'store');
    const sync = await trustctl('feeds', 'sync', '--feed', NVD_DIR, '--feed', KEV_DIR, '--data-dir', data);
    expect({ code: sync.code, err: sync.err }).toEqual({ code: 0, err: '' });
    expect(sync.out).toContain(`nvd:${NVD_DIR}: 40 read, 40 new or updated, 0 skipped`);
    expect(sync.out).toContain(`kev:${KEV_FILE}: 1404 read, 1404 new or updated, 0 skipped`);
    expect(sync.out).toContain('Advisories in the store: 1444');

    const status = await trustctl('feeds', 'status', '--data-dir', data);
    expect(status.code).toBe(0);
    const line = (source: string) => status.out.split('\n').find((l) => l.startsWith(source)) ?? '';
    expect(line(`nvd:${NVD_DIR}`)).toMatch(/NVD \(CVE severity\)\s+complete\s.*\s40\s+NVD\s*$/);
    expect(line(`kev:${KEV_FILE}`)).toMatch(/KEV \(known exploited\)\s+complete\s.*\s1404\s+KEV\s*$/);
    const json = JSON.parse((await trustctl('feeds', 'status', '--data-dir', data, '--json')).out) as { feeds: (FeedInfo & { kind: string })[]; records: number };
    expect(json.feeds.map((f) => [f.source, f.kind, f.status, f.records])).toEqual([[`kev:${KEV_FILE}`, 'kev', 'complete', 1404], [`nvd:${NVD_DIR}`, 'nvd', 'complete', 40]]);
    expect(json.records).toBe(1444);

    const again = await trustctl('feeds', 'sync', '--feed', NVD_DIR, '--feed', KEV_DIR, '--data-dir', data);
    expect(again.out).toMatch(/nvd:.*: unchanged since the last complete sync/);
    expect(again.out).toMatch(/kev:.*: unchanged since the last complete sync/);
  }, 60_000);

  it('a file that is no feed (the KEV schema, a README) fails with a clear error and exit 2', async () => {
    for (const f of [join(KEV_DIR, 'known_exploited_vulnerabilities_schema.json'), join(NVD_DIR, 'README.md')]) {
      const r = await trustctl('feeds', 'sync', '--feed', f, '--data-dir', join(tmp, 'bad'));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/FEED_ERROR: feed .* (is a JSON Schema, not feed data|is none of the feeds trustctl reads)/);
    }
  });

  it('the NVD API URL (a local server): the key from NVD_API_KEY in the apiKey header, 40 records', async () => {
    const records = readdirSync(join(NVD_DIR, 'records')).map((f) => JSON.parse(readFileSync(join(NVD_DIR, 'records', f), 'utf8')) as Record<string, unknown>);
    const server = await new NvdApiServer({ records, now: Date.now, apiKey: 'cli-test-key' }).start();
    const saved = process.env.NVD_API_KEY;
    process.env.NVD_API_KEY = 'cli-test-key';
    try {
      const r = await trustctl('feeds', 'sync', '--feed', server.url, '--data-dir', join(tmp, 'api'));
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      expect(r.out).toContain(`${server.url}: 40 read, 40 new or updated, 0 skipped`);
      expect(server.requests.map((q) => [q.status, q.apiKey])).toEqual([[200, 'cli-test-key']]);
      const status = await trustctl('feeds', 'status', '--data-dir', join(tmp, 'api'));
      expect(status.out.split('\n').find((l) => l.startsWith(server.url))).toMatch(/NVD \(CVE severity\)\s+complete/);
    } finally {
      if (saved === undefined) delete process.env.NVD_API_KEY;
      else process.env.NVD_API_KEY = saved;
      await server.stop();
    }
  }, 60_000);
});
