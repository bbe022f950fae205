/**
 * `trustctl feeds sync` killed for real (SIGKILL, in a child process) in the middle of an export:
 * `feeds status` shows which sources are complete and which are not, a scan's coverage treats the
 * incomplete ones as no data, and the next sync resumes exactly them (issue 13, "Feeds that know what
 * they don't know"). The middle export comes from a local HTTP server that sends half of the real
 * PyPI export and then holds the connection, so the kill always lands mid-read.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { storedFeeds } from '../../lib/engine/advisories/feed-state';
import { uncoveredPackages } from '../../lib/engine/match/coverage';
import { parseDigest, type Ecosystem, type FeedInfo, type Package } from '../../lib/engine/model';
import { EmbeddedAdvisoryStore } from '../../lib/local/advisory-store';
import { trustctl } from '../helpers/cli';
import { SHARED } from '../helpers/corpus';
import { StallingExportServer } from '../helpers/export-server';

const REPO = resolve(__dirname, '..', '..');
const GO = join(SHARED, 'feeds', 'osv', 'Go', 'all.zip');
const NPM = join(SHARED, 'feeds', 'osv', 'npm', 'all.zip');
const PYPI_BYTES = readFileSync(join(SHARED, 'feeds', 'osv', 'PyPI', 'all.zip'));

const LAYER = parseDigest('sha256:' + 'b'.repeat(64));
const pkg = (ecosystem: Ecosystem, name: string, path: string): Package => ({
  ecosystem, name, version: '1.0.0', purl: `pkg:${ecosystem.toLowerCase()}/${name}@1.0.0`, locations: [{ layer: LAYER, path }], cataloger: { name: 'test', version: '1' },
});
/** An inventory with one package of each ecosystem the three exports cover. */
const INVENTORY = [
  pkg('Go', 'golang.org/x/net', '/usr/local/bin/app'),
  pkg('PyPI', 'requests', '/usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA'),
  pkg('npm', 'lodash', '/app/node_modules/lodash/package.json'),
];
const uncovered = (feeds: FeedInfo[]): string[] => uncoveredPackages(INVENTORY, feeds).map((u) => /no vulnerability data for (\S+?):/.exec(u.reason)![1]);

async function feedsIn(dir: string): Promise<FeedInfo[]> {
  const s = await EmbeddedAdvisoryStore.open(dir, { readOnly: true });
  try {
    return await storedFeeds(s);
  } finally {
    await s.close();
  }
}

describe('trustctl feeds sync killed midway (SIGKILL), then feeds status and a resumed sync', () => {
  let tmp: string;
  let server: StallingExportServer;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'trustctl-feeds-kill-'));
    server = await new StallingExportServer(PYPI_BYTES, '"pypi-rev-1"').start();
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('status names the incomplete sources, coverage treats them as no data, and the next sync finishes only them', async () => {
    const data = join(tmp, 'advisories');
    const args = ['feeds', 'sync', '--feed', GO, '--feed', server.url, '--feed', NPM, '--data-dir', data];
    let out = '';
    let err = '';
    child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bin', 'trustctl.ts'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child!.on('exit', (_code, sig) => r(sig)));
    // The child has finished Go and is halfway through the PyPI export: kill it there, no cleanup.
    await Promise.race([server.stalled, exited.then(() => Promise.reject(new Error(`the sync ended before the stall: ${out} ${err}`)))]);
    // While the writer lives, status says the source is being synced, by whom.
    const live = await trustctl('feeds', 'status', '--data-dir', data);
    expect(live.out.split('\n').find((l) => l.startsWith(server.url))).toContain(`INCOMPLETE (being synced: pid ${child.pid}`);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const goRead = Number(/osv:Go: (\d+) read/.exec(out)?.[1]);
    expect(goRead).toBeGreaterThan(1000);
    // Each source commits as a unit: the PyPI records the child had read before the kill are not in the store.
    const committed = await EmbeddedAdvisoryStore.open(data, { readOnly: true });
    expect(await committed.count()).toBe(goRead);
    await committed.close();

    // Status: Go complete; the PyPI URL and npm (never reached) not complete; exit 1 says so.
    const status = await trustctl('feeds', 'status', '--data-dir', data);
    expect(status.code).toBe(1);
    const line = (source: string) => status.out.split('\n').find((l) => l.startsWith(source)) ?? '';
    expect(line('osv:Go')).toMatch(/ complete /);
    expect(line(server.url)).toMatch(/INCOMPLETE \(sync interrupted\)/);
    expect(line('osv:npm')).toMatch(/INCOMPLETE \(sync interrupted\)/);
    expect(status.out).toMatch(/2 feeds are not complete: .*Run `trustctl feeds sync`/);
    const json = JSON.parse((await trustctl('feeds', 'status', '--data-dir', data, '--json')).out) as { feeds: FeedInfo[] };
    expect(json.feeds.map((f) => [f.source, f.status])).toEqual([[server.url, 'in-progress'], ['osv:Go', 'complete'], ['osv:npm', 'in-progress']]);
    expect(json.feeds.find((f) => f.source === server.url)).toMatchObject({ pending: 'etag:"pypi-rev-1"' });
    expect(json.feeds.find((f) => f.source === server.url)?.ecosystems).toBeUndefined();

    // A scan judged against this store: PyPI and npm have no vulnerability data; Go is covered.
    expect(uncovered(await feedsIn(data))).toEqual(['PyPI', 'npm']);

    // Resume: Go is not read again, PyPI and npm are read and complete.
    server.stall = false;
    const resumed = await trustctl(...args);
    expect({ code: resumed.code, err: resumed.err }).toEqual({ code: 0, err: '' });
    expect(resumed.out).toMatch(/osv:Go: unchanged since the last complete sync/);
    expect(resumed.out).toContain(`${server.url}: resumed, `);
    expect(resumed.out).toMatch(/osv:npm: resumed, \d+ read/);
    const after = await trustctl('feeds', 'status', '--data-dir', data, '--json');
    expect(after.code).toBe(0);
    const feeds = (JSON.parse(after.out) as { feeds: FeedInfo[] }).feeds;
    expect(feeds.map((f) => [f.source, f.status, f.ecosystems])).toEqual([[server.url, 'complete', ['PyPI']], ['osv:Go', 'complete', ['Go']], ['osv:npm', 'complete', ['npm']]]);
    expect(feeds.find((f) => f.source === server.url)?.revision).toBe('etag:"pypi-rev-1"');
    expect(uncovered(feeds)).toEqual([]);
  }, 120_000);
});

describe('trustctl feeds status', () => {
  it.each([
    { name: 'a store never synced', json: false, code: 1, out: /No feed has been synced into this store/ },
    { name: 'a store never synced, as JSON', json: true, code: 1, out: /"feeds": \[\]/ },
  ])('$name: exit $code', async ({ json, code, out }) => {
    const dir = mkdtempSync(join(tmpdir(), 'trustctl-feeds-status-'));
    try {
      const r = await trustctl('feeds', 'status', '--data-dir', join(dir, 'none'), ...(json ? ['--json'] : []));
      expect(r.code).toBe(code);
      expect(r.out).toMatch(out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
