import { execFile, execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Zip, ZipDeflate, strToU8, unzipSync, zipSync } from 'fflate';
import { FeedError, type ReadOsvZipOptions, openFeed, readOsvZip } from '../../../lib/engine/advisories/feed';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { LimitExceededError } from '../../../lib/engine/errors';
import { SHARED, corpusBytes } from '../../helpers/corpus';

const FEEDS = join(SHARED, 'feeds', 'osv');
const REPO = resolve(__dirname, '..', '..', '..');

/** Everything one read produced. */
async function readAll(zip: string, opts: ReadOsvZipOptions = {}) {
  const skipped: [string, string][] = [];
  const records: OsvRecord[] = [];
  const reader = readOsvZip(createReadStream(zip), { ...opts, onSkip: (ref, why) => skipped.push([ref, why]) });
  for await (const r of reader) records.push(r);
  return { records, skipped, stats: reader.stats };
}

/** `.json` entries of a zip as its central directory lists them (fflate's non-streaming reader, nothing inflated). */
function jsonEntriesOf(zip: string): number {
  let n = 0;
  unzipSync(readFileSync(zip), { filter: (f) => ((n += f.name.endsWith('.json') ? 1 : 0), false) });
  return n;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'trustctl-osv-feed-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a zip into the temp folder. */
function writeZip(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

/** A minimal valid record as JSON bytes. */
const rec = (id: string, modified = '2024-01-01T00:00:00Z'): Uint8Array =>
  strToU8(JSON.stringify({ id, modified, affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }] }] }));

/** A zip written by fflate's streaming `Zip`: every entry has a data descriptor, so no size is declared up front. */
function streamedZip(entries: [string, Uint8Array][]): Uint8Array {
  const out: Uint8Array[] = [];
  const z = new Zip((err, data) => {
    if (err) throw err;
    out.push(data);
  });
  for (const [name, data] of entries) {
    const f = new ZipDeflate(name, { level: 1 });
    z.add(f);
    f.push(data, true);
  }
  z.end();
  return Buffer.concat(out);
}

/** A JSON record padded to `bytes` with one long string: compresses ~1000:1. */
function paddedRecord(id: string, bytes: number): Uint8Array {
  const head = strToU8(`{"id":"${id}","modified":"2024-01-01T00:00:00Z","details":"`);
  const out = new Uint8Array(bytes).fill(0x61);
  out.set(head);
  out.set(strToU8('"}'), bytes - 2);
  return out;
}

const MiB = 1024 * 1024;

/**
 * The zip with a ZIP64 end of central directory record and locator (APPNOTE §4.3.14–15) put before its
 * end record, whose entry counts become 0xFFFF as in an export of more than 65 535 records.
 */
function withZip64End(zip: Uint8Array, total?: number): Uint8Array {
  const z = Buffer.from(zip);
  const at = z.length - 22; // fflate writes no comment
  const count = total ?? z.readUInt16LE(at + 10);
  const rec64 = Buffer.alloc(56);
  rec64.writeUInt32LE(0x06064b50, 0);
  rec64.writeBigUInt64LE(44n, 4);
  rec64.writeUInt16LE(45, 12);
  rec64.writeUInt16LE(45, 14);
  rec64.writeBigUInt64LE(BigInt(count), 24);
  rec64.writeBigUInt64LE(BigInt(count), 32);
  rec64.writeBigUInt64LE(BigInt(z.readUInt32LE(at + 12)), 40);
  rec64.writeBigUInt64LE(BigInt(z.readUInt32LE(at + 16)), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(at), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.from(z.subarray(at));
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  return Buffer.concat([z.subarray(0, at), rec64, locator, end]);
}

describe('readOsvZip over the real Alpine export (../shared/feeds/osv/Alpine/all.zip)', () => {
  const zip = join(FEEDS, 'Alpine', 'all.zip');
  let full: Awaited<ReturnType<typeof readAll>>;
  beforeAll(async () => {
    full = await readAll(zip);
  });

  it('yields every .json entry of the central directory but the skipped ones', () => {
    const expected = jsonEntriesOf(zip);
    expect(expected).toBe(7633);
    expect(full.records.length).toBe(expected - full.skipped.length);
    expect(full.skipped).toEqual([]);
    expect(full.stats).toMatchObject({ entries: 7633, jsonEntries: 7633, records: 7633, skipped: 0, unchanged: 0, bytesRead: statSync(zip).size });
    expect(new Set(full.records.map((r) => r.id)).size).toBe(7633);
    expect(full.records.every((r) => r.id.startsWith('ALPINE-CVE-') && r.affected.every((a) => a.ecosystem.startsWith('Alpine:v')))).toBe(true);
  });

  it('since cuts it down to the records modified after it, exactly', async () => {
    const modified = full.records.map((r) => r.modified).sort();
    const since = modified[Math.floor(modified.length * 0.9)];
    const newer = full.records.filter((r) => Date.parse(r.modified) > Date.parse(since)).map((r) => r.id).sort();
    const cut = await readAll(zip, { since });
    expect(cut.records.map((r) => r.id).sort()).toEqual(newer);
    expect(newer.length).toBeGreaterThan(0);
    expect(newer.length).toBeLessThan(800);
    expect(cut.stats.unchanged).toBe(7633 - newer.length);
    expect(cut.stats.records + cut.stats.unchanged + cut.stats.skipped).toBe(cut.stats.jsonEntries);
  });

  it('since later than everything: nothing yielded, nothing skipped', async () => {
    const cut = await readAll(zip, { since: '2100-01-01T00:00:00Z' });
    expect(cut.stats).toMatchObject({ records: 0, skipped: 0, unchanged: 7633 });
  });

  it('rejects a since that is not a timestamp', () => {
    expect(() => readOsvZip(createReadStream(zip), { since: 'yesterday' })).toThrow(RangeError);
  });
});

describe('readOsvZip over the real Debian export (20 MB compressed, 50 MB of JSON): streaming, bounded memory', () => {
  const zip = join(FEEDS, 'Debian', 'all.zip');

  it('reads only as far as the consumer takes records (backpressure)', async () => {
    const file = createReadStream(zip);
    const reader = readOsvZip(file);
    for await (const r of reader) {
      expect(r.id).toMatch(/^(DEBIAN-CVE|DSA|DLA)-/);
      break;
    }
    expect(reader.stats.records).toBe(1);
    expect(reader.stats.bytesRead).toBeLessThan(256 * 1024);
    expect(file.bytesRead).toBeLessThan(1024 * 1024);
    expect(file.destroyed).toBe(true);
  });

  it('reads all 33 593 records while live memory grows far less than the zip', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Live memory only: ArrayBuffers freed by one collection are released to the allocator a turn
    // later on newer V8 (Node 24 counted ~3 MB of dead zlib chunks otherwise), so collect, yield, collect.
    const sample = async () => {
      gc();
      await new Promise((r) => setImmediate(r));
      gc();
      const m = process.memoryUsage();
      return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
    };
    const before = await sample();
    let peak = { heap: 0, buffers: 0, rss: 0 };
    const reader = readOsvZip(createReadStream(zip));
    for await (const _r of reader) {
      if (reader.stats.records % 4000 === 0) {
        const m = await sample();
        peak = { heap: Math.max(peak.heap, m.heap - before.heap), buffers: Math.max(peak.buffers, m.buffers - before.buffers), rss: Math.max(peak.rss, m.rss - before.rss) };
      }
    }
    expect(reader.stats).toMatchObject({ entries: 33593, records: 33593, skipped: 0, bytesRead: 20362190, bytesInflated: 49833616 });
    // Measured: ~1 MB of live heap, ~9 MB of buffers, ~30 MB of RSS. The bounds are loose on purpose
    // but a buffered zip (20 MB of buffers) or retained records (50 MB of JSON) would break them.
    expect(peak.buffers).toBeLessThan(20 * 1000 * 1000);
    expect(peak.heap).toBeLessThan(32 * MiB);
    expect(peak.rss).toBeLessThan(150 * MiB);
  });
});

describe('readOsvZip on hostile and broken zips (RELIABILITY.md 45: skipped with a reason, the read goes on)', () => {
  it('a mixed bag: bad entries are skipped with their reason, other entries passed over, good records read', async () => {
    const zip = writeZip('mixed.zip', zipSync({
      'A-1.json': rec('A-1'),
      'README.md': strToU8('# not a record'),
      'sub/': new Uint8Array(0),
      'broken.json': strToU8('{"id": "B-1", '),
      'latin1.json': new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x7d]),
      'array.json': strToU8('[]'),
      'CVE-2012-2812.json': corpusBytes('osv', 'distro', 'CVE-2012-2812.json'),
      'empty.json': new Uint8Array(0),
      'A-2.json': rec('A-2'),
    }));
    const r = await readAll(zip);
    expect(r.records.map((x) => x.id)).toEqual(['A-1', 'A-2']);
    expect(r.skipped).toEqual([
      ['broken.json', expect.stringMatching(/^not JSON: /)],
      ['latin1.json', 'not UTF-8'],
      ['array.json', 'expected a JSON object, got an array'],
      ['CVE-2012-2812', 'every affected entry is unusable: affected[0].versions: expected an array, got null (+4 more)'],
      ['empty.json', expect.stringMatching(/^not JSON: /)],
    ]);
    expect(r.stats).toMatchObject({ entries: 9, jsonEntries: 7, records: 2, skipped: 5 });
  });

  it('stored (uncompressed) entries are read too', async () => {
    const r = await readAll(writeZip('stored.zip', zipSync({ 'S-1.json': rec('S-1') }, { level: 0 })));
    expect(r.records.map((x) => x.id)).toEqual(['S-1']);
  });

  it('reports notes of kept records through onNote', async () => {
    const withGit = JSON.parse(Buffer.from(rec('N-1')).toString()) as { affected: { ranges: unknown[] }[] };
    withGit.affected[0].ranges.push({ type: 'GIT', events: [{ introduced: '0' }] });
    const notes: string[] = [];
    const reader = readOsvZip(createReadStream(writeZip('notes.zip', zipSync({ 'N-1.json': strToU8(JSON.stringify(withGit)) }))), { onNote: (id, n) => notes.push(`${id}: ${n}`) });
    for await (const _r of reader) void _r;
    expect(notes).toEqual(['N-1: GIT range dropped: affected[0].ranges[1].repo: missing (required for GIT ranges)']);
    expect(reader.stats).toMatchObject({ records: 1, notes: 1 });
  });

  /** Each case: the zip, the options, what must come out. */
  const CASES: [string, () => Uint8Array, ReadOsvZipOptions, { records: string[]; skipped: [string, RegExp][]; maxInflated?: number }][] = [
    ['zip bomb declaring its size (16 MiB of JSON in 16 KB): skipped from its header, never inflated', () => zipSync({
      'G-1.json': rec('G-1'), 'BOMB.json': paddedRecord('BOMB', 16 * MiB), 'G-2.json': rec('G-2'),
    }, { level: 1 }), {}, { records: ['G-1', 'G-2'], skipped: [['BOMB.json', /^declares 16777216 bytes, over maxRecordBytes=8388608$/]], maxInflated: 64 * 1024 }],
    ['zip bomb with a data descriptor (no size declared): inflation stops at maxRecordBytes', () => streamedZip([
      ['G-1.json', rec('G-1')], ['BOMB.json', paddedRecord('BOMB', 16 * MiB)], ['G-2.json', rec('G-2')],
    ]), {}, { records: ['G-1', 'G-2'], skipped: [['BOMB.json', /^inflates to more than maxRecordBytes=8388608$/]], maxInflated: 64 * 1024 }],
    ['a record over a lowered maxRecordBytes', () => zipSync({ 'BIG-1.json': paddedRecord('BIG-1', 4096), 'G-1.json': rec('G-1') }), { maxRecordBytes: 1000 },
      { records: ['G-1'], skipped: [['BIG-1.json', /^declares 4096 bytes, over maxRecordBytes=1000$/]] }],
    ['a header that lies about the size', () => {
      const z = zipSync({ 'LIE-1.json': rec('LIE-1'), 'G-1.json': rec('G-1') });
      Buffer.from(z.buffer, z.byteOffset).writeUInt32LE(10, 22); // first local header: uncompressed size
      return z;
    }, {}, { records: ['G-1'], skipped: [['LIE-1.json', /^inflated to \d+ bytes, the zip header declares 10$/]] }],
    ['a ZIP64 end record (the entry count of an export above 65 535 records)', () => withZip64End(zipSync({ 'G-1.json': rec('G-1'), 'G-2.json': rec('G-2') })), {},
      { records: ['G-1', 'G-2'], skipped: [] }],
    ['corrupt deflate data in one entry', () => {
      const z = zipSync({ 'BAD-1.json': rec('BAD-1'), 'G-1.json': rec('G-1') });
      const b = Buffer.from(z.buffer, z.byteOffset);
      b[30 + b.readUInt16LE(26) + b.readUInt16LE(28)] = 0x07; // first deflate block: final, reserved type 11
      return z;
    }, {}, { records: ['G-1'], skipped: [['BAD-1.json', /^cannot inflate: invalid block type$/]] }],
  ];

  it.each(CASES)('%s', async (_name, build, opts, expected) => {
    const r = await readAll(writeZip('case.zip', build()), opts);
    expect(r.records.map((x) => x.id)).toEqual(expected.records);
    expect(r.skipped).toEqual(expected.skipped.map(([ref, why]) => [ref, expect.stringMatching(why)]));
    if (expected.maxInflated !== undefined) expect(r.stats.bytesInflated).toBeLessThan(expected.maxInflated);
  });

  /** Each case: the zip, the options, the error. Records read before the failure stay valid but the feed must not count as synced. */
  const FAILS: [string, () => Uint8Array, ReadOsvZipOptions, (err: unknown) => void][] = [
    ['too many entries', () => zipSync(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`T-${i}.json`, rec(`T-${i}`)]))), { maxEntries: 10 }, (err) => {
      expect(err).toBeInstanceOf(LimitExceededError);
      expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxEntries', max: 10 });
    }],
    ['more bytes than maxZipBytes', () => zipSync({ 'G-1.json': rec('G-1') }), { maxZipBytes: 100 }, (err) => {
      expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxZipBytes' });
    }],
    ['truncated inside an entry', () => {
      const z = zipSync({ 'BIG-1.json': paddedRecord('BIG-1', 100_000), 'G-1.json': rec('G-1') }, { level: 0 });
      return z.subarray(0, 50_000);
    }, {}, (err) => {
      expect(err).toBeInstanceOf(FeedError);
      expect((err as Error).message).toBe('truncated zip: the input ends inside an entry (invalid zip data)');
    }],
    ['truncated between entries (central directory missing)', () => {
      const z = Buffer.from(zipSync({ 'G-1.json': rec('G-1'), 'G-2.json': rec('G-2') }));
      return z.subarray(0, z.readUInt32LE(z.length - 22 + 16)); // end record: offset of the central directory
    }, {}, (err) => {
      expect(err).toBeInstanceOf(FeedError);
      expect((err as Error).message).toBe('truncated or not a zip: no end of central directory record');
    }],
    ['not a zip at all (an HTML error page served with 200)', () => strToU8('<html><body>Service Unavailable</body></html>'), {}, (err) => {
      expect((err as Error).message).toBe('truncated or not a zip: no end of central directory record');
    }],
    ['an entry hidden from the streaming reader (central directory lists more)', () => {
      const z = Buffer.from(zipSync({ 'G-1.json': rec('G-1'), 'G-2.json': rec('G-2') }));
      const second = z.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
      z.writeUInt32LE(0x0, second); // the second local header's signature wiped
      return z;
    }, {}, (err) => {
      expect((err as Error).message).toBe('the central directory lists 2 entries, the zip holds 1 local entries');
    }],
    ['a ZIP64 end record listing more entries than the zip holds', () => withZip64End(zipSync({ 'G-1.json': rec('G-1'), 'G-2.json': rec('G-2') }), 70_000), {}, (err) => {
      expect((err as Error).message).toBe('the central directory lists 70000 entries, the zip holds 2 local entries');
    }],
    ['an entry compressed with a method other than deflate or store', () => {
      const z = Buffer.from(zipSync({ 'G-1.json': rec('G-1') }));
      z.writeUInt16LE(12, 8); // bzip2
      return z;
    }, {}, (err) => {
      expect(err).toBeInstanceOf(FeedError);
      expect((err as Error).message).toBe('zip entry "G-1.json" uses compression method 12; OSV exports use deflate');
    }],
  ];

  it.each(FAILS)('fails the read: %s', async (_name, build, opts, check) => {
    const err = await readAll(writeZip('fail.zip', build()), opts).then(() => undefined, (e: unknown) => e);
    expect(err).toBeDefined();
    check(err);
  });

  it('yields the records before a failure (the caller must then not record the feed as synced)', async () => {
    const zip = writeZip('many.zip', zipSync(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`T-${i}.json`, rec(`T-${i}`)]))));
    const ids: string[] = [];
    await expect((async () => {
      for await (const r of readOsvZip(createReadStream(zip), { maxEntries: 10 })) ids.push(r.id);
    })()).rejects.toThrow(LimitExceededError);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThanOrEqual(10);
  });

  it('a stream of strings is refused', async () => {
    async function* strings() {
      yield 'PK';
    }
    const reader = readOsvZip(strings() as unknown as AsyncIterable<Uint8Array>);
    await expect((async () => {
      for await (const _r of reader) void _r;
    })()).rejects.toThrow('a feed stream must yield bytes, got string');
  });
});

describe('openFeed on files and folders', () => {
  const ECOSYSTEMS = ['AlmaLinux', 'Alpine', 'Bitnami', 'Debian', 'GHC', 'Go', 'Hackage', 'PyPI', 'RubyGems', 'crates.io', 'npm'];
  const GHC_IDS = ['HSEC-2024-0007', 'HSEC-2024-0008', 'HSEC-2025-0001'];

  it('a folder of <Ecosystem>/all.zip (../shared/feeds/osv, read-only): every ecosystem, sorted, size+mtime fingerprints', async () => {
    const feeds = await openFeed(FEEDS);
    expect(feeds.map((f) => f.source)).toEqual(ECOSYSTEMS.map((e) => `osv:${e}`));
    expect(feeds.map((f) => f.location)).toEqual(ECOSYSTEMS.map((e) => join(FEEDS, e, 'all.zip')));
    const debian = feeds.find((f) => f.source === 'osv:Debian')!;
    const st = statSync(join(FEEDS, 'Debian', 'all.zip'));
    expect(await debian.fingerprint()).toBe(`size=${st.size};mtime=${st.mtime.toISOString()}`);
    expect(await debian.fingerprint()).toBe(await debian.fingerprint());
    const ghc = feeds.find((f) => f.source === 'osv:GHC')!;
    const ids: string[] = [];
    for await (const r of readOsvZip(await ghc.open())) ids.push(r.id);
    expect(ids.sort()).toEqual(GHC_IDS);
  });

  it.each([
    ['an all.zip path', join(FEEDS, 'Alpine', 'all.zip'), 'osv:Alpine'],
    ['a folder holding all.zip', join(FEEDS, 'Alpine'), 'osv:Alpine'],
    ['a relative path', relative(process.cwd(), join(FEEDS, 'npm', 'all.zip')), 'osv:npm'],
  ])('%s → one source', async (_name, spec, source) => {
    const feeds = await openFeed(spec);
    expect(feeds.map((f) => f.source)).toEqual([source]);
  });

  it('a zip of another name: file:<absolute path>', async () => {
    const p = writeZip('mirror.zip', zipSync({ 'G-1.json': rec('G-1') }));
    const [feed] = await openFeed(p);
    expect(feed.source).toBe(`file:${p}`);
    expect(await feed.fingerprint()).toMatch(/^size=\d+;mtime=\d{4}-/);
  });

  it.each([
    ['a missing path', () => join(tmp, 'nope'), /^feed .*nope: ENOENT$/],
    ['a folder without exports', () => mkdtempSync(join(tmp, 'empty-')), /no all\.zip and no <Ecosystem>\/all\.zip inside$/],
  ])('%s → FeedError', async (_name, spec, msg) => {
    const err = await openFeed(spec()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedError);
    expect((err as Error).message).toMatch(msg);
  });

  it('a file removed after openFeed fails at open(), with the source named', async () => {
    const p = writeZip('gone.zip', zipSync({ 'G-1.json': rec('G-1') }));
    const [feed] = await openFeed(p);
    rmSync(p);
    await expect(feed.open()).rejects.toMatchObject({ code: 'FEED_ERROR', source: `file:${p}`, message: expect.stringMatching(/ENOENT$/) });
  });
});

describe('openFeed on URLs', () => {
  it.each([
    ['plain http to a remote host', 'http://osv-vulnerabilities.storage.googleapis.com/npm/all.zip', /only https \(or http to 127\.0\.0\.1 \/ localhost\) is allowed$/],
    ['ftp', 'ftp://example.org/all.zip', /only https/],
    ['file URL', 'file:///etc/passwd', /only https/],
    ['credentials in the URL', 'https://user:secret@example.org/all.zip', /carries credentials; refused/],
  ])('refuses %s', async (_name, spec, msg) => {
    await expect(openFeed(spec)).rejects.toThrow(msg);
  });

  it.each([
    ['https anywhere', 'https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip'],
    ['http to 127.0.0.1', 'http://127.0.0.1:8080/all.zip'],
    ['http to localhost', 'http://localhost:8080/all.zip'],
  ])('accepts %s (nothing is fetched yet); the source is the URL', async (_name, spec) => {
    expect((await openFeed(spec)).map((f) => f.source)).toEqual([spec]);
  });
});

describe('openFeed over https (an in-process server on 127.0.0.1 with a self-signed certificate made by openssl)', () => {
  let server: Server;
  let base: string;
  let certFile: string;
  const zip = zipSync({
    'GHSA-p6mc-m468-83gw.json': corpusBytes('osv', 'npm', 'GHSA-p6mc-m468-83gw.json'),
    'RUSTSEC-2016-0001.json': corpusBytes('osv', 'crates.io', 'RUSTSEC-2016-0001.json'),
    'DLA-3008-1.json': corpusBytes('osv', 'distro', 'DLA-3008-1.json'),
  });

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmp, 'tls-'));
    certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', certFile,
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(certFile) }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
      const body = req.method === 'HEAD' ? undefined : zip;
      const zipHeaders = { 'content-type': 'application/zip', 'content-length': String(zip.length) };
      if (path === '/etag/all.zip') res.writeHead(200, { ...zipHeaders, etag: '"osv-v1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }).end(body);
      else if (path === '/lm/all.zip') res.writeHead(200, { ...zipHeaders, 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }).end(body);
      else if (path === '/plain/all.zip') res.writeHead(200, zipHeaders).end(body);
      else if (path === '/no-head/all.zip') res.writeHead(req.method === 'HEAD' ? 405 : 200, { ...zipHeaders, etag: '"get-only"' }).end(body);
      else if (path === '/redirect') res.writeHead(302, { location: '/etag/all.zip' }).end();
      else if (path === '/downgrade') res.writeHead(302, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/etag/all.zip` }).end();
      else if (path === '/stall/all.zip' && req.method === 'HEAD') res.writeHead(200, { ...zipHeaders, etag: '"stall"' }).end();
      else if (path === '/stall/all.zip') {
        res.writeHead(200, zipHeaders);
        res.write(zip.subarray(0, 100)); // then nothing: the idle timeout must fire
      } else if (path === '/hang/all.zip') {
        // no answer at all: the header timeout must fire
      } else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });

  it('refuses the untrusted certificate with the global fetch (verification stays on)', async () => {
    const [feed] = await openFeed(`${base}/etag/all.zip`);
    const err = await feed.fingerprint().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedError);
    expect((err as Error).message).toMatch(/^HEAD https:\/\/127\.0\.0\.1:\d+\/etag\/all\.zip: fetch failed \(self[- ]signed certificate(; [^)]*)?\)$/); // Node 24 appends a hint (`; if the root CA is installed locally, try … --use-system-ca`)
  });

  it('with the certificate trusted (NODE_EXTRA_CA_CERTS, in a child process): fingerprints, redirects, records, refusals', async () => {
    // NODE_EXTRA_CA_CERTS is read at process start, so the global fetch runs in a child; the server stays here.
    const script = join(tmp, 'https-child.ts');
    writeFileSync(script, `
import { openFeed, readOsvZip } from ${JSON.stringify(join(REPO, 'lib', 'engine', 'advisories', 'feed'))};
const base = process.argv[2];
async function run(path: string, opts = {}) {
  try {
    const [feed] = await openFeed(base + path, opts);
    const fingerprint = await feed.fingerprint();
    const ids: string[] = [];
    for await (const r of readOsvZip(await feed.open())) ids.push(r.id);
    return { source: feed.source, fingerprint, ids: ids.sort() };
  } catch (err) {
    const e = err as { name: string; code?: string; status?: number; message: string };
    return { error: { name: e.name, code: e.code, status: e.status, message: e.message } };
  }
}
(async () => {
  const out: Record<string, unknown> = {};
  for (const p of ['/etag/all.zip', '/lm/all.zip', '/plain/all.zip', '/no-head/all.zip', '/redirect', '/downgrade', '/missing/all.zip']) out[p] = await run(p);
  out['/stall/all.zip'] = await run('/stall/all.zip', { idleTimeoutMs: 300 });
  out['/hang/all.zip'] = await run('/hang/all.zip', { timeoutMs: 300 });
  process.stdout.write(JSON.stringify(out));
})();
`);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: certFile };
    const stdout = await new Promise<string>((ok, fail) => {
      execFile(join(REPO, 'node_modules', '.bin', 'tsx'), [script, base], { cwd: REPO, env, timeout: 30_000 }, (err, out, errOut) => (err ? fail(new Error(`${err.message}\n${errOut}`)) : ok(out)));
    });
    const out = JSON.parse(stdout) as Record<string, { source?: string; fingerprint?: string; ids?: string[]; error?: { name: string; code?: string; status?: number; message: string } }>;
    const ids = ['DLA-3008-1', 'GHSA-p6mc-m468-83gw', 'RUSTSEC-2016-0001'];
    expect(out['/etag/all.zip']).toEqual({ source: `${base}/etag/all.zip`, fingerprint: 'etag:"osv-v1"', ids });
    expect(out['/lm/all.zip']).toEqual({ source: `${base}/lm/all.zip`, fingerprint: 'last-modified:Mon, 01 Jan 2024 00:00:00 GMT', ids });
    expect(out['/plain/all.zip'].fingerprint).toMatch(/^unvalidated:/);
    expect(out['/no-head/all.zip']).toMatchObject({ fingerprint: 'etag:"get-only"', ids });
    expect(out['/redirect']).toEqual({ source: `${base}/redirect`, fingerprint: 'etag:"osv-v1"', ids });
    expect(out['/downgrade'].error).toMatchObject({ name: 'RedirectError', code: 'BAD_REDIRECT', message: expect.stringMatching(/refusing a redirect from https to http:/) });
    expect(out['/missing/all.zip'].error).toMatchObject({ name: 'FeedError', code: 'FEED_ERROR', status: 404, message: `HEAD ${base}/missing/all.zip: HTTP 404` });
    expect(out['/stall/all.zip'].error).toMatchObject({ name: 'FeedError', message: `${base}/stall/all.zip: no data for 300 ms` });
    expect(out['/hang/all.zip'].error).toMatchObject({ name: 'FeedError', message: `HEAD ${base}/hang/all.zip: no response within 300 ms` });
  });
});

describe('readOsvZip resumes at a zip entry (issue 15 item 8: feed-sync continued across invocations)', () => {
  // A real export's entry order: the Alpine zip as published, with a README and a folder entry mixed in.
  const mixed = (): string => {
    const alpine = unzipSync(readFileSync(join(FEEDS, 'Alpine', 'all.zip')));
    const names = Object.keys(alpine).slice(0, 40);
    const files: Record<string, Uint8Array> = {};
    for (const [i, n] of names.entries()) {
      files[n] = alpine[n];
      if (i === 5) files['README.md'] = strToU8('not a record');
      if (i === 9) files['docs/'] = new Uint8Array(0);
    }
    return writeZip('resume.zip', zipSync(files));
  };

  it('position names the entry of each record; a read resumed at it yields exactly that record and the ones after', async () => {
    const zip = mixed();
    const reader = readOsvZip(createReadStream(zip));
    const at: [string, number][] = [];
    for await (const r of reader) at.push([r.id, reader.stats.position]);
    expect(at).toHaveLength(40);
    // Entries 6 (README) and 11 (folder) are not records: positions skip them.
    expect(at.map(([, p]) => p).slice(5, 12)).toEqual([5, 7, 8, 9, 10, 12, 13]);
    for (const [k, [id, p]] of at.entries()) {
      if (k % 7 !== 3) continue;
      const rest = await readAll(zip, { resumeAt: p });
      expect({ from: p, ids: rest.records.map((r) => r.id) }).toEqual({ from: p, ids: at.slice(k).map(([i]) => i) });
      // What lies before the resume point is passed over unread, not counted.
      expect(rest.stats).toMatchObject({ records: 40 - k, skipped: 0, jsonEntries: 40 - k });
      expect(rest.records[0].id).toBe(id);
    }
  });

  it.each([
    ['past the last entry', 1_000, 0],
    ['at 0', 0, 40],
  ])('resumeAt %s yields the rest (%s)', async (_n, resumeAt, count) => {
    expect((await readAll(mixed(), { resumeAt })).records).toHaveLength(count);
  });

  it.each([-1, 1.5, Number.NaN])('refuses resumeAt %s', (resumeAt) => {
    // Refused before anything is read: the input is never touched.
    expect(() => readOsvZip([] as Uint8Array[] as unknown as AsyncIterable<Uint8Array>, { resumeAt })).toThrow(RangeError);
  });
});
