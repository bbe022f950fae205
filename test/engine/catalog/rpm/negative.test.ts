import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../../../lib/engine/model';
import {
  catalogRpmDb, parseRpmHeader, readRpmDbBlobs, rpmCataloger, RpmFormatError, RPMTAG, splitSourceRpm,
} from '../../../../lib/engine/catalog/rpm';
import { corpusPath } from '../../../helpers/corpus';
import { buildHeader, buildNdb } from './build';

const LAYER = 'sha256:1111111111111111111111111111111111111111111111111111111111111111' as Digest;
const ROOT = corpusPath('pkgdb', 'rpm');
const DBS: [string, string][] = [
  ['sqlite', 'go-rpmdb-cbl-mariner-2.0-sqlite/var/lib/rpm/rpmdb.sqlite'],
  ['ndb', 'go-rpmdb-sle15-bci-ndb/var/lib/rpm/Packages.db'],
  ['bdb', 'go-rpmdb-libuuid-bdb/var/lib/rpm/Packages'],
  ['bdb-epoch', 'osv-scalibr-Packages_epoch-bdb/var/lib/rpm/Packages'],
];
const file = (body: Buffer, path = '/var/lib/rpm/Packages.db', truncated = false) => ({ path, layer: LAYER, body, truncated });

const HELLO = { [RPMTAG.NAME]: 'hello', [RPMTAG.VERSION]: '1.0', [RPMTAG.RELEASE]: '2.fc40', [RPMTAG.ARCH]: 'x86_64', [RPMTAG.SOURCERPM]: 'hello-world-1.0-2.fc40.src.rpm' };

describe('rpm header parser', () => {
  it('reads a synthetic header', () => {
    expect(parseRpmHeader(buildHeader({ ...HELLO, [RPMTAG.EPOCH]: 3 }))).toMatchObject({ name: 'hello', version: '1.0', release: '2.fc40', epoch: 3, arch: 'x86_64', sourceRpm: 'hello-world-1.0-2.fc40.src.rpm' });
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['no index entries', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])],
    ['huge index count', Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])],
    ['data size past the blob', (() => { const b = buildHeader(HELLO); b.writeUInt32BE(0x7fffffff, 4); return b; })()],
    ['string offset past the data store', (() => { const b = buildHeader(HELLO); b.writeUInt32BE(0xfffffff0, 8 + 8); return b; })()],
    ['unterminated string', (() => { const b = buildHeader({ [RPMTAG.NAME]: 'x' }); return b.subarray(0, b.length - 1); })()],
    ['NAME typed as integer', buildHeader({ [RPMTAG.NAME]: 7, [RPMTAG.VERSION]: '1' })],
    ['no NAME', buildHeader({ [RPMTAG.VERSION]: '1' })],
  ])('rejects %s with RpmFormatError', (_what, blob) => {
    expect(() => parseRpmHeader(blob)).toThrow(RpmFormatError);
  });

  it('splits SOURCERPM from the right', () => {
    expect(splitSourceRpm('util-linux-2.32.1-42.el8_8.src.rpm')).toEqual({ name: 'util-linux', version: '2.32.1', release: '42.el8_8' });
    expect(splitSourceRpm('(none)')).toBeUndefined();
    expect(splitSourceRpm('nodash.src.rpm')).toBeUndefined();
  });
});

describe('rpm databases: hostile input becomes unknowns', () => {
  it('skips gpg-pubkey pseudo-packages and records a broken header as an unknown', () => {
    const db = buildNdb([buildHeader(HELLO), buildHeader({ [RPMTAG.NAME]: 'gpg-pubkey', [RPMTAG.VERSION]: 'fd431d51', [RPMTAG.RELEASE]: '4ae0493b' }), Buffer.from('garbage!garbage!')]);
    const r = catalogRpmDb(file(db));
    expect(r.packages.map((p) => [p.name, p.version, p.sourceName, p.sourceVersion])).toEqual([['hello', '1.0-2.fc40', 'hello-world', '1.0-2.fc40']]);
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/var/lib/rpm/Packages.db', reason: expect.stringMatching(/^rpm header #2: /), class: 'parse-error', consumer: 'rpm-db' }]);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('this is not a database\n')],
    ['zeros', Buffer.alloc(8192)],
  ])('%s → one unknown, no packages', (_what, body) => {
    const r = rpmCataloger.catalog([file(body, '/var/lib/rpm/Packages')]);
    expect(r.packages).toEqual([]);
    expect(r.unknowns).toHaveLength(1);
    expect(r.unknowns[0]!.reason).toMatch(/^rpm database unreadable: /);
  });

  it('records a file cut at the read limit', () => {
    const body = readFileSync(join(ROOT, DBS[1]![1]));
    const r = catalogRpmDb(file(body.subarray(0, 300_000), '/var/lib/rpm/Packages.db', true));
    expect(r.unknowns[0]!.reason).toMatch(/truncated at the read limit/);
    expect(r.packages.length).toBeGreaterThan(0);
    expect(r.packages.length).toBeLessThan(35);
  });

  it('agrees with an independent SQLite reader on the Packages table (python sqlite3: 129 rows, 2426132 blob bytes)', () => {
    const { blobs, errors } = readRpmDbBlobs(readFileSync(join(ROOT, DBS[0]![1])));
    expect(errors).toEqual([]);
    expect(blobs).toHaveLength(129);
    expect(blobs.reduce((n, b) => n + b.length, 0)).toBe(2426132);
  });

  it('rejects an SQLite database without a Packages table', () => {
    const body = Buffer.from(readFileSync(join(ROOT, DBS[0]![1])));
    // Rename the table in sqlite_master: "Packages" → "Pockages" (same length, so the record stays valid).
    // (every occurrence: page 1 keeps a stale copy in free space, the live row is further down).
    let renamed = 0;
    for (let at = body.indexOf('tablePackagesPackages'); at >= 0; at = body.indexOf('tablePackagesPackages', at + 1)) {
      body.write('tablePockagesPockages', at, 'latin1');
      renamed++;
    }
    expect(renamed).toBeGreaterThan(0);
    expect(catalogRpmDb(file(body, '/var/lib/rpm/rpmdb.sqlite')).unknowns[0]!.reason).toMatch(/no Packages table/);
  });

  it.each(DBS)('%s: every truncation point yields packages/unknowns, never a throw', (_kind, rel) => {
    const body = readFileSync(join(ROOT, rel));
    const step = Math.max(1, Math.floor(body.length / 97));
    for (let cut = 0; cut < body.length; cut += step) {
      const r = catalogRpmDb(file(body.subarray(0, cut)));
      expect(r.packages.length + r.unknowns.length).toBeGreaterThan(0);
    }
  });

  it.each(DBS)('%s: random byte corruption never throws or hangs', (_kind, rel) => {
    const orig = readFileSync(join(ROOT, rel));
    let seed = 12345;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const started = Date.now();
    for (let round = 0; round < 40; round++) {
      const body = Buffer.from(orig);
      // Corrupt the structural start of the file more often than the bulk.
      for (let k = 0; k < 20; k++) body[rand(k % 2 ? body.length : Math.min(body.length, 8192))] = rand(256);
      expect(() => rpmCataloger.catalog([file(body)])).not.toThrow();
    }
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('rpm databases: no amplification (each blob / overflow page is read once)', () => {
  it('NDB slots sharing one blob: the blob is read for the first slot only, the others are parse-error unknowns', () => {
    const db = buildNdb([buildHeader(HELLO), buildHeader({ ...HELLO, [RPMTAG.NAME]: 'other' })]);
    // Point slots 2..254 at slot 1's blob: 253 × the same header, in a legit database impossible.
    const first = db.readUInt32LE(32 + 8);
    for (let i = 1; i < 254; i++) { db.writeUInt32LE(i + 1, 32 + i * 16 + 4); db.writeUInt32LE(first, 32 + i * 16 + 8); }
    const r = catalogRpmDb(file(db));
    expect(r.packages.map((p) => p.name)).toEqual(['hello']);
    expect(r.unknowns).toHaveLength(253);
    expect(r.unknowns[0]).toEqual({ layer: LAYER, path: '/var/lib/rpm/Packages.db', reason: expect.stringContaining('already belongs to another slot'), class: 'parse-error', consumer: 'rpm-db' });
  });
});
