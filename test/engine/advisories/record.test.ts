import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import {
  DEFAULT_OSV_RECORD_LIMITS,
  type ParseOsvResult,
  compareOsvTimestamps,
  isOsvTimestamp,
  parseOsvRecord,
} from '../../../lib/engine/advisories/record';
import { SHARED, corpusPath } from '../../helpers/corpus';

/** ../shared/corpus/osv: real records (README.md there says where each came from). */
const OSV = corpusPath('osv');

type Raw = Record<string, unknown>;

/** Every record file of the corpus, by path relative to corpus/osv (the schema folder and index.json excluded). */
function corpusFiles(): string[] {
  return readdirSync(OSV, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'schema')
    .flatMap((d) => readdirSync(join(OSV, d.name)).filter((f) => f.endsWith('.json')).map((f) => `${d.name}/${f}`))
    .sort();
}

const raw = (file: string): Raw => JSON.parse(readFileSync(join(OSV, file), 'utf8')) as Raw;

function parsed(file: string): OsvRecord {
  const r = parseOsvRecord(raw(file));
  if (!('record' in r)) throw new Error(`${file} skipped: ${r.skipped}`);
  return r.record;
}

/** One record of a real export, read straight from its zip. */
function feedRecord(ecosystem: string, id: string): Raw {
  const files = unzipSync(readFileSync(join(SHARED, 'feeds', 'osv', ecosystem, 'all.zip')), { filter: (f) => f.name === `${id}.json` });
  const bytes = files[`${id}.json`];
  if (!bytes) throw new Error(`${id}.json not in ${ecosystem}/all.zip`);
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as Raw;
}

describe('parseOsvRecord over every real record of ../shared/corpus/osv', () => {
  const index = JSON.parse(readFileSync(join(OSV, 'index.json'), 'utf8')) as { id: string; file: string; ecosystem: string[]; packages: string[]; aliases: string[]; upstream?: string[] }[];
  const files = corpusFiles();
  const results = new Map<string, ParseOsvResult>(files.map((f) => [f, parseOsvRecord(raw(f))]));

  it('walks exactly the files index.json lists (298)', () => {
    expect(files).toEqual(index.map((e) => e.file).sort());
    expect(files).toHaveLength(298);
  });

  it('parses every record except CVE-2012-2812, and keeps all of each (no notes)', () => {
    const skipped = [...results].filter(([, r]) => 'skipped' in r).map(([f]) => f);
    expect(skipped).toEqual(['distro/CVE-2012-2812.json']);
    const noted = [...results].filter(([, r]) => 'record' in r && r.notes).map(([f]) => f);
    expect(noted).toEqual([]);
  });

  it('skips CVE-2012-2812 ("versions": null in all five affected entries, which the schema forbids) with the reason', () => {
    expect(results.get('distro/CVE-2012-2812.json')).toEqual({
      id: 'CVE-2012-2812',
      skipped: 'every affected entry is unusable: affected[0].versions: expected an array, got null (+4 more)',
    });
  });

  it('agrees with index.json on every record: id, aliases, upstream, ecosystems, packages', () => {
    for (const e of index) {
      const r = results.get(e.file)!;
      if (!('record' in r)) continue;
      expect({ file: e.file, id: r.record.id, aliases: r.record.aliases, upstream: r.record.upstream }).toEqual({ file: e.file, id: e.id, aliases: e.aliases, upstream: e.upstream ?? [] });
      expect(new Set(r.record.affected.map((a) => a.ecosystem))).toEqual(new Set(e.ecosystem));
      expect(new Set(r.record.affected.map((a) => a.name))).toEqual(new Set(e.packages));
    }
  });

  it('meets every range type and the event kinds introduced, fixed and last_affected', () => {
    const records = [...results.values()].flatMap((r) => ('record' in r ? [r.record] : []));
    const ranges = records.flatMap((r) => r.affected.flatMap((a) => a.ranges));
    expect(new Set(ranges.map((r) => r.type))).toEqual(new Set(['ECOSYSTEM', 'SEMVER', 'GIT']));
    const kinds = new Set(ranges.flatMap((r) => r.events.flatMap((e) => Object.keys(e))));
    for (const k of ['introduced', 'fixed', 'last_affected']) expect(kinds).toContain(k);
  });

  it.each<[string, string, (r: OsvRecord) => unknown, unknown]>([
    ['ECOSYSTEM range (Debian DSA, the spec example)', 'osv-schema-examples/DSA-3029-1.json', (r) => r.affected[0], {
      ecosystem: 'Debian:7', name: 'nginx', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2.1-2.2+wheezy3' }] }], versions: [], severity: [],
    }],
    ['SEMVER range and a CVSS 3.0 vector', 'crates.io/RUSTSEC-2016-0001.json', (r) => [r.affected[0].ranges, r.severity], [
      [{ type: 'SEMVER', events: [{ introduced: '0.0.0-0' }, { fixed: '0.9.0' }] }],
      [{ type: 'CVSS_V3', score: 'CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    ]],
    ['GIT range with its repo', 'osv-schema-examples/OSV-2020-584.json', (r) => r.affected[0].ranges, [{
      type: 'GIT', repo: 'https://github.com/unicode-org/icu.git', events: [{ introduced: '6e5755a2a833bc64852eae12967d0a54d7adf629' }, { fixed: 'c43455749b914feef56b178b256f29b3016146eb' }],
    }]],
    ['last_affected (log4j-core 3.x branch) next to a fixed range in another entry', 'maven/GHSA-3pxv-7cmr-fjr4.json', (r) => r.affected.map((a) => a.ranges[0].events), [
      [{ introduced: '2.0-alpha1' }, { fixed: '2.25.4' }],
      [{ introduced: '3.0.0-alpha1' }, { last_affected: '3.0.0-beta3' }],
    ]],
    ['a CVSS 4.0 vector and GHSA database_specific kept as an object', 'maven/GHSA-3pxv-7cmr-fjr4.json', (r) => [r.severity, r.databaseSpecific?.severity], [
      [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N' }], 'MODERATE',
    ]],
    ['Ubuntu priority as severity, Pro ecosystem suffix kept', 'distro/UBUNTU-CVE-2025-38094.json', (r) => [r.severity, r.affected[0].ecosystem], [
      [{ type: 'Ubuntu', score: 'medium' }], 'Ubuntu:Pro:14.04:LTS',
    ]],
    ['per-affected severity', 'osv-schema-examples/HSEC-2023-0006.json', (r) => r.affected[0].severity, [
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N' },
    ]],
    ['Debian urgency in ecosystem_specific, upstream kept, aliases absent → []', 'distro/DEBIAN-CVE-2017-6507.json', (r) => [r.affected[0].ecosystemSpecific, r.upstream, r.aliases], [
      { urgency: 'not yet assigned' }, ['CVE-2017-6507'], [],
    ]],
    ['aliases in order', 'npm/GHSA-p6mc-m468-83gw.json', (r) => r.aliases, ['CVE-2020-8203']],
    ['Go vulndb zero time for modified is a valid timestamp', 'go/GO-2020-0001.json', (r) => r.modified, '0001-01-01T00:00:00Z'],
  ])('%s (%s)', (_name, file, pick, expected) => {
    expect(pick(parsed(file))).toEqual(expected);
  });

  it('normalises a whole record: snake_case specifics → camelCase, unknown fields (schema_version, credits) dropped', () => {
    expect(parsed('osv-schema-examples/RUSTSEC-2019-0033.json')).toEqual({
      id: 'RUSTSEC-2019-0033',
      modified: '2021-01-04T19:02:00Z',
      published: '2019-11-16T00:00:00Z',
      aliases: ['CVE-2020-25574', 'CVE-2019-25008'],
      related: [],
      upstream: [],
      summary: 'Integer Overflow in HeaderMap::reserve() can cause Denial of Service',
      details: expect.stringContaining('HeaderMap::reserve() used usize::next_power_of_two()'),
      severity: [],
      affected: [{
        ecosystem: 'crates.io',
        name: 'http',
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.1.20' }] }],
        versions: [],
        severity: [],
        ecosystemSpecific: { functions: ['http::header::HeaderMap::reserve'], keywords: ['http', 'integer-overflow', 'DoS'], categories: ['denial-of-service'], severity: 'HIGH' },
      }],
      references: [
        { type: 'REPORT', url: 'https://github.com/hyperium/http/issues/352' },
        { type: 'ADVISORY', url: 'https://rustsec.org/advisories/RUSTSEC-2019-0033.html' },
      ],
    });
  });
});

describe('parseOsvRecord: what the corpus lacks, from the real feeds and the spec', () => {
  it('withdrawn: GO-2022-0617 of the real Go export keeps its withdrawn time (the matcher then skips it)', () => {
    const r = parseOsvRecord(feedRecord('Go', 'GO-2022-0617'));
    expect('record' in r && r.record).toMatchObject({ id: 'GO-2022-0617', withdrawn: '2024-08-21T16:25:56Z', aliases: ['CVE-2020-8562', 'GHSA-qh36-44jv-c8xj'] });
  });

  it('withdrawn: PYSEC-2019-144 of the real PyPI export', () => {
    const r = parseOsvRecord(feedRecord('PyPI', 'PYSEC-2019-144'));
    expect('record' in r && r.record.withdrawn).toBe('2022-09-09T05:28:00Z');
  });

  it('limit: no corpus record nor bundled export has one; the range of the spec\'s "Limit events" example parses', () => {
    // ossf/osv-schema docs/schema.md, "Examples" → "Limit events": a GIT range `{introduced: X}, {limit: Y}`
    // (X and Y are the spec's placeholders for commits; its trailing comma removed to make it JSON).
    const range = { type: 'GIT', repo: 'https://github.com/owner/repo', events: [{ introduced: 'X' }, { limit: 'Y' }] };
    const r = parseOsvRecord({ id: 'OSV-0000-LIMIT', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'OSS-Fuzz', name: 'repo' }, ranges: [range] }] });
    expect('record' in r && r.record.affected[0].ranges).toEqual([range]);
  });
});

/** A valid two-package record (the real GHSA-p6mc-m468-83gw cut to its first two entries, lodash and lodash-es), to break one way per case. */
const base = (): Raw => {
  const r = structuredClone(raw('npm/GHSA-p6mc-m468-83gw.json'));
  r.affected = (r.affected as Raw[]).slice(0, 2);
  return r;
};
const aff = (r: Raw, i = 0): Raw => (r.affected as Raw[])[i];
const range0 = (r: Raw, i = 0): Raw => (aff(r, i).ranges as Raw[])[0];
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const L = DEFAULT_OSV_RECORD_LIMITS;
const deep = (n: number): unknown => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`);

describe('parseOsvRecord on hostile or malformed input (RELIABILITY.md 45)', () => {
  /** [case, input, the exact skip reason (as a pattern)]: the whole record is skipped. */
  const SKIPPED: [string, () => unknown, RegExp][] = [
    ['not an object: null', () => null, /^expected a JSON object, got null$/],
    ['not an object: an array', () => [base()], /^expected a JSON object, got an array$/],
    ['id missing', () => ({ ...base(), id: undefined }), /^id: expected a string, got undefined$/],
    ['id a path', () => ({ ...base(), id: '../../etc/passwd' }), /^id: .* has characters outside/],
    ['id absurdly long', () => ({ ...base(), id: 'GHSA-'.padEnd(100_000, 'x') }), /^id: 100000 characters, over the cap of 256$/],
    ['modified missing', () => ({ ...base(), modified: undefined }), /^modified: expected an RFC 3339 timestamp, got undefined$/],
    ['modified a number', () => ({ ...base(), modified: 1_700_000_000 }), /^modified: expected an RFC 3339 timestamp, got a number$/],
    ['modified on February 30th', () => ({ ...base(), modified: '2024-02-30T00:00:00Z' }), /^modified: not an RFC 3339 timestamp/],
    ['modified without a zone', () => ({ ...base(), modified: '2024-01-01T00:00:00' }), /^modified: not an RFC 3339 timestamp/],
    ['withdrawn malformed (a withdrawal we cannot read must not be ignored)', () => ({ ...base(), withdrawn: 'yes' }), /^withdrawn: not an RFC 3339 timestamp/],
    ['aliases a string', () => ({ ...base(), aliases: 'CVE-2020-8203' }), /^aliases: expected an array, got a string$/],
    ['aliases over the cap', () => ({ ...base(), aliases: many(L.maxIds + 1, (i) => `CVE-2020-${i}`) }), /^aliases: 10001 entries, over the cap of 10000$/],
    ['alias with a control character', () => ({ ...base(), aliases: ['CVE-2020-8203\n'] }), /^aliases\[0\]: contains control characters$/],
    ['alias with an unpaired surrogate', () => ({ ...base(), aliases: ['CVE-\ud800'] }), /^aliases\[0\]: contains an unpaired UTF-16 surrogate$/],
    ['related null (only aliases may be null)', () => ({ ...base(), related: null }), /^related: expected an array, got null$/],
    ['severity score a number', () => ({ ...base(), severity: [{ type: 'CVSS_V3', score: 9.8 }] }), /^severity\[0\]\.score: expected a string, got a number$/],
    ['summary an object', () => ({ ...base(), summary: { text: 'x' } }), /^summary: expected a string, got an object$/],
    ['reference without url', () => ({ ...base(), references: [{ type: 'WEB' }] }), /^references\[0\]\.url: expected a string, got undefined$/],
    ['database_specific an array', () => ({ ...base(), database_specific: [] }), /^database_specific: expected an object, got an array$/],
    ['database_specific nested 100 000 deep', () => ({ ...base(), database_specific: { x: deep(100_000) } }), /^database_specific: nested deeper than 32 levels$/],
    ['affected an object', () => ({ ...base(), affected: aff(base()) }), /^affected: expected an array, got an object$/],
    ['affected over the cap', () => ({ ...base(), affected: many(L.maxAffected + 1, () => aff(base())) }), /^affected: 10001 entries, over the cap of 10000$/],
    ['every affected entry unusable (null versions, like CVE-2012-2812)', () => {
      const r = base();
      for (const a of r.affected as Raw[]) a.versions = null;
      return r;
    }, /^every affected entry is unusable: affected\[0\]\.versions: expected an array, got null \(\+1 more\)$/],
  ];

  it.each(SKIPPED)('skips the record: %s', (_name, input, reason) => {
    const r = parseOsvRecord(input());
    expect('skipped' in r && r.skipped).toMatch(reason);
  });

  /** [case, break affected[0] of the base record, the note's pattern]: that entry is dropped, lodash-es is kept. */
  const DROPPED: [string, (r: Raw) => void, RegExp][] = [
    ['versions null', (r) => (aff(r).versions = null), /^affected\[0\] dropped: affected\[0\]\.versions: expected an array, got null$/],
    ['versions holding a number', (r) => (aff(r).versions = ['4.17.15', 4.17]), /versions\[1\]: expected a string, got a number$/],
    ['versions over the cap', (r) => (aff(r).versions = many(L.maxVersions + 1, (i) => `1.0.${i}`)), /versions: 100001 entries, over the cap of 100000$/],
    ['an event with two keys', (r) => (range0(r).events = [{ introduced: '0', fixed: '4.17.19' }]), /events\[0\]: an event must have exactly one key, got "introduced", "fixed"$/],
    ['an event with no key', (r) => (range0(r).events = [{ introduced: '0' }, {}]), /events\[1\]: an event must have exactly one key, got none$/],
    ['an unknown event', (r) => (range0(r).events = [{ introduced: '0' }, { patched: '4.17.19' }]), /events\[1\]: unknown event "patched"$/],
    ['an empty event version', (r) => (range0(r).events = [{ introduced: '' }]), /events\[0\]\.introduced: empty string$/],
    ['an absurdly long event version', (r) => (range0(r).events = [{ introduced: '0' }, { fixed: '1'.repeat(5000) }]), /events\[1\]\.fixed: 5000 characters, over the cap of 1024$/],
    ['an event version null', (r) => (range0(r).events = [{ introduced: null }]), /events\[0\]\.introduced: expected a string, got null$/],
    ['a SEMVER range without introduced', (r) => (range0(r).events = [{ fixed: '4.17.19' }]), /ranges\[0\]\.events: no "introduced" event$/],
    ['fixed and last_affected in one range', (r) => (range0(r).events = [{ introduced: '0' }, { fixed: '2' }, { last_affected: '1' }]), /"fixed" and "last_affected" events together$/],
    ['events empty', (r) => (range0(r).events = []), /ranges\[0\]\.events: empty$/],
    ['events over the cap (a huge range)', (r) => (range0(r).events = many(L.maxEvents + 1, (i) => (i % 2 ? { fixed: `${i}.0.0` } : { introduced: `${i}.0.0` }))), /events: 10001 entries, over the cap of 10000$/],
    ['ranges over the cap', (r) => (aff(r).ranges = many(L.maxRanges + 1, () => range0(base()))), /ranges: 1001 entries, over the cap of 1000$/],
    ['ranges null', (r) => (aff(r).ranges = null), /ranges: expected an array, got null$/],
    ['a range type that is not a string', (r) => (range0(r).type = 7), /ranges\[0\]\.type: expected a string, got a number$/],
    ['package missing', (r) => delete aff(r).package, /package: missing: the entry names no package to match$/],
    ['package name not a string', (r) => ((aff(r).package as Raw).name = ['lodash']), /package\.name: expected a string, got an array$/],
    ['ecosystem with an empty suffix', (r) => ((aff(r).package as Raw).ecosystem = 'npm:'), /package\.ecosystem: malformed "npm:"$/],
    ['ecosystem_specific an array', (r) => (aff(r).ecosystem_specific = ['x']), /ecosystem_specific: expected an object, got an array$/],
    ['affected severity not an array', (r) => (aff(r).severity = 'HIGH'), /affected\[0\]\.severity: expected an array, got a string$/],
    ['the entry a string', (r) => ((r.affected as unknown[])[0] = 'lodash'), /^affected\[0\] dropped: affected\[0\]: expected an object, got a string$/],
  ];

  it.each(DROPPED)('drops the affected entry, keeps the rest: %s', (_name, breakIt, note) => {
    const input = base();
    breakIt(input);
    const r = parseOsvRecord(input);
    if (!('record' in r)) throw new Error(r.skipped);
    expect(r.record.affected.map((a) => a.name)).toEqual(['lodash-es']);
    expect(r.notes).toHaveLength(1);
    expect(r.notes![0]).toMatch(note);
  });

  /** [case, break the base record, the note's pattern]: the record is kept whole but for one range or one over-long text. */
  const KEPT_WITH_NOTE: [string, (r: Raw) => void, RegExp, (rec: OsvRecord) => void][] = [
    ['a GIT range without repo: that range alone dropped', (r) => (aff(r).ranges as Raw[]).push({ type: 'GIT', events: [{ introduced: '0' }] }),
      /^GIT range dropped: affected\[0\]\.ranges\[1\]\.repo: missing \(required for GIT ranges\)$/, (rec) => expect(rec.affected[0].ranges).toHaveLength(1)],
    ['an unknown range type: that range alone dropped', (r) => (aff(r).ranges as Raw[]).push({ type: 'NPM_SEMVER', events: [{ introduced: '0' }] }),
      /^affected\[0\]\.ranges\[1\]: dropped: unknown range type "NPM_SEMVER"$/, (rec) => expect(rec.affected[0].ranges.map((x) => x.type)).toEqual(['SEMVER'])],
    ['details of 2 MiB: truncated to 1 MiB', (r) => (r.details = 'a'.repeat(2 * 1024 * 1024)), /^details: truncated from 2097152 to 1048576 characters$/,
      (rec) => expect(rec.details).toHaveLength(L.maxDetailsLength)],
    ['an absurdly long summary: truncated', (r) => (r.summary = 's'.repeat(100_000)), /^summary: truncated from 100000 to 4096 characters$/,
      (rec) => expect(rec.summary).toHaveLength(L.maxSummaryLength)],
  ];

  it.each(KEPT_WITH_NOTE)('keeps the record: %s', (_name, breakIt, note, check) => {
    const input = base();
    breakIt(input);
    const r = parseOsvRecord(input);
    if (!('record' in r)) throw new Error(r.skipped);
    expect(r.record.affected).toHaveLength(2);
    expect(r.notes).toEqual([expect.stringMatching(note)]);
    check(r.record);
  });

  /** Nulls the JSON Schema allows (`type: [array, null]`) mean "none", silently. */
  it.each(['aliases', 'severity', 'references', 'affected'])('%s: null is read as []', (field) => {
    const r = parseOsvRecord({ ...base(), [field]: null });
    expect('record' in r && !r.notes && (r.record as unknown as Raw)[field]).toEqual([]);
  });

  it('caps can be lowered per call', () => {
    const r = parseOsvRecord(base(), { maxAffected: 1 });
    expect('skipped' in r && r.skipped).toBe('affected: 2 entries, over the cap of 1');
  });
});

describe('OSV timestamps', () => {
  it.each<[string, string, string, number]>([
    ['equal instants in different zones', '2024-01-01T02:00:00+02:00', '2024-01-01T00:00:00Z', 0],
    ['sub-millisecond difference (Date.parse cannot see it)', '2024-01-01T00:00:00.1234567Z', '2024-01-01T00:00:00.1234566Z', 1],
    ['fraction digits padded', '2024-01-01T00:00:00.5Z', '2024-01-01T00:00:00.500000000Z', 0],
    ['Go zero time before everything', '0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', -1],
    ['a negative offset', '2023-12-31T23:00:00-01:00', '2024-01-01T00:00:00Z', 0],
  ])('compareOsvTimestamps: %s', (_n, a, b, sign) => {
    expect(Math.sign(compareOsvTimestamps(a, b))).toBe(sign);
  });

  it.each(['2024-13-01T00:00:00Z', '2024-01-01 00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00.1234567890Z', '2024-01-01T00:00:00z', ''])('rejects %j', (s) => {
    expect(isOsvTimestamp(s)).toBe(false);
    expect(() => compareOsvTimestamps(s, '2024-01-01T00:00:00Z')).toThrow(RangeError);
  });
});
