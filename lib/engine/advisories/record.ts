import type { OsvAffected, OsvEvent, OsvRange, OsvRecord, OsvSeverity } from './osv';

/**
 * Validation and normalisation of one raw OSV record (https://ossf.github.io/osv-schema/, JSON Schema
 * ossf/osv-schema validation/schema.json) into {@link OsvRecord}. Feeds are input from outside: a record
 * that is malformed or hostile must never crash a feed sync nor be half-understood
 * (RELIABILITY.md 45: "malformed or hostile OSV records (null versions, huge ranges, bad events) →
 * skipped with a logged reason, feed sync continues").
 *
 * What happens to a defect depends on where it is:
 *
 * | defect | outcome |
 * |---|---|
 * | not an object; `id` or `modified` missing or malformed | record **skipped** |
 * | any other field outside `affected[]` of the wrong type, malformed (timestamps), or over its cap (below) | record **skipped** |
 * | `summary` / `details` longer than their caps | **truncated** (text for people only), noted |
 * | anything wrong inside one `affected[]` entry: `package` (absent, non-string or over-long `ecosystem`/`name`), `versions` (`null` — CVE-2012-2812 —, non-strings, over the cap), `ranges`, an `ECOSYSTEM`/`SEMVER` range's events (two keys in one event, an unknown key, no `introduced`, `fixed` together with `last_affected`, over the cap), `severity`, `ecosystem_specific` / `database_specific` not objects | that **entry dropped**, the rest kept, noted |
 * | a `GIT` range that is malformed, or a range of a type this reader does not know | that **range dropped**, noted (GIT ranges never match a package version) |
 * | every `affected[]` entry dropped (there was at least one) | record **skipped**: a record that lost all its packages would replace a good stored revision with an empty one |
 * | unknown fields (`credits`, `schema_version`, `ranges[].database_specific`, …) | ignored |
 *
 * Why skip rather than repair: an identifier, version or severity we misread turns into a wrong verdict;
 * an entry we leave out is a missed match that the note makes visible. Dropping one bad `affected[]`
 * entry keeps the record's other packages matchable. Values are kept as given (no trimming, no case
 * folding): names are normalised for lookup by names.ts, versions are compared by the matcher.
 * Not checked: enums that grow over time (ecosystem names, `severity[].type`, `references[].type`, id
 * prefixes) and the syntax of versions and CVSS vectors (the matcher and severity code report those).
 */

/** Caps on one record (see {@link DEFAULT_OSV_RECORD_LIMITS}); every one is far above real data. */
export interface OsvRecordLimits {
  /** Characters of `id` and of each `aliases[]`, `related[]`, `upstream[]` entry. Real max: 58. */
  readonly maxIdLength: number;
  /** Entries of `aliases`, `related` and `upstream` each. Real max: 278 (`upstream` of DSA-4824-1). */
  readonly maxIds: number;
  /** Entries of `affected`. Real max: 516 (ALSA-2025:9318). */
  readonly maxAffected: number;
  /** `ranges` of one `affected[]` entry. Real max: 4. */
  readonly maxRanges: number;
  /** `events` of one range. Real max: 118. */
  readonly maxEvents: number;
  /** `versions` of one `affected[]` entry. Real max in the bundled feeds: 1132 (PyPI). */
  readonly maxVersions: number;
  /** Characters of one version or event value. Real max: 69. */
  readonly maxVersionLength: number;
  /** Characters of `package.name`. Real max: 92 (a Go module path). */
  readonly maxNameLength: number;
  /** Characters of `package.ecosystem`. Real max: 39 (`Packagist:https://packages.drupal.org/8`). */
  readonly maxEcosystemLength: number;
  /** Characters of `package.purl`, `ranges[].repo`, `references[].url`. Real max: 244. */
  readonly maxUrlLength: number;
  /** Entries of one `severity` list. */
  readonly maxSeverities: number;
  /** Characters of `severity[].type` and `references[].type`. */
  readonly maxTypeLength: number;
  /** Characters of one `severity[].score`. Real max: 73 (a CVSS 4.0 vector). */
  readonly maxScoreLength: number;
  /** Entries of `references`. Real max: 322. */
  readonly maxReferences: number;
  /** Characters kept of `summary` (longer is truncated). Real max: 270. */
  readonly maxSummaryLength: number;
  /** Characters kept of `details` (longer is truncated). Real max: 13 173. */
  readonly maxDetailsLength: number;
  /** Nesting depth of one `database_specific` / `ecosystem_specific` object. */
  readonly maxObjectDepth: number;
  /** Values (objects, arrays, scalars) in one `database_specific` / `ecosystem_specific` object. */
  readonly maxObjectValues: number;
}

/** The documented defaults: generous for real feeds (maxima measured on the bundled exports), bounded for hostile ones. */
export const DEFAULT_OSV_RECORD_LIMITS: OsvRecordLimits = Object.freeze({
  maxIdLength: 256,
  maxIds: 10_000,
  maxAffected: 10_000,
  maxRanges: 1_000,
  maxEvents: 10_000,
  maxVersions: 100_000,
  maxVersionLength: 1_024,
  maxNameLength: 1_024,
  maxEcosystemLength: 256,
  maxUrlLength: 8_192,
  maxSeverities: 100,
  maxTypeLength: 64,
  maxScoreLength: 1_024,
  maxReferences: 10_000,
  maxSummaryLength: 4_096,
  maxDetailsLength: 1_048_576,
  maxObjectDepth: 32,
  maxObjectValues: 100_000,
});

/** What {@link parseOsvRecord} made of one raw record. */
export type ParseOsvResult =
  | {
      readonly record: OsvRecord;
      /** What was dropped or truncated on the way (an `affected[]` entry, a range, an over-long text); absent when nothing was. */
      readonly notes?: readonly string[];
    }
  | {
      /** Why the record was skipped, with the JSON path of the defect, e.g. `affected[0].versions: expected an array, got null`. */
      readonly skipped: string;
      /** The record's `id`, when it had a usable one. */
      readonly id?: string;
    };

/** A defect at a JSON path; thrown inside this module only. */
class Defect extends Error {}

const fail = (path: string, what: string): never => {
  throw new Defect(`${path}: ${what}`);
};

/** A short description of a JSON value's type for messages. */
function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  return typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : typeof v;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** C0/C1 controls and DEL: never part of an identifier or a version. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** A UTF-16 surrogate without its pair: not encodable as UTF-8, so it would break stores downstream. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** An identifier-like string: non-empty, at most `max` characters, no control characters, well-formed. */
function ident(v: unknown, path: string, max: number): string {
  if (typeof v !== 'string') return fail(path, `expected a string, got ${typeOf(v)}`);
  if (v.length === 0) return fail(path, 'empty string');
  if (v.length > max) return fail(path, `${v.length} characters, over the cap of ${max}`);
  if (CONTROL.test(v)) return fail(path, 'contains control characters');
  if (LONE_SURROGATE.test(v)) return fail(path, 'contains an unpaired UTF-16 surrogate');
  return v;
}

/** An array (or, where the schema allows it, `null` → `[]`) of at most `maxItems` entries. */
function list(v: unknown, path: string, maxItems: number, nullable: boolean): readonly unknown[] {
  if (v === undefined || (v === null && nullable)) return [];
  if (!Array.isArray(v)) return fail(path, `expected an array, got ${typeOf(v)}`);
  if (v.length > maxItems) return fail(path, `${v.length} entries, over the cap of ${maxItems}`);
  return v;
}

/**
 * The id character set: letters, digits and `. _ : + -`, starting with a letter or digit. Covers every
 * home-database prefix of the schema (`ALSA-2025:9318`, `x_RUBYSEC-…`, `openSUSE-SU-…`) without
 * pinning the prefix list, which grows; keeps `/`, spaces and the like out of store keys and file names.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]*$/;

/**
 * `$defs.timestamp` of the schema: RFC 3339 `date-time`
 * (https://www.rfc-editor.org/rfc/rfc3339#section-5.6), upper-case `T`; a `Z` or a numeric offset;
 * up to nanosecond fractions (real feeds use 0, 3, 4, 5, 6 and 9 digits).
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 timestamp as a sortable pair: whole UTC seconds and the fraction as 9 digits. */
function instant(s: string): [number, string] | undefined {
  const m = TIMESTAMP.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  // setUTCFullYear, unlike Date.UTC, keeps years 0–99 (the Go vulndb writes `0001-01-01T00:00:00Z` for
  // "unset"). It rolls 2024-02-30 over to March 1st: a date that does not survive the round trip is invalid.
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined;
  if (h > 23 || mi > 59 || sec > 60) return undefined;
  let offset = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[8] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  return [day.getTime() / 1000 + h * 3600 + mi * 60 + sec - offset, (m[7] ?? '').padEnd(9, '0')];
}

/** Whether `s` is a timestamp as OSV's `modified`, `published` and `withdrawn` must be (RFC 3339). */
export function isOsvTimestamp(s: string): boolean {
  return instant(s) !== undefined;
}

/**
 * Orders two OSV timestamps by the instant they name (negative, 0, positive), exactly: offsets are
 * applied and fractions compared to the nanosecond, which `Date.parse` (milliseconds) cannot do.
 * Throws a `RangeError` for a string that is not an RFC 3339 timestamp.
 */
export function compareOsvTimestamps(a: string, b: string): number {
  const x = instant(a);
  const y = instant(b);
  if (!x) throw new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(a.slice(0, 64))}`);
  if (!y) throw new RangeError(`not an RFC 3339 timestamp: ${JSON.stringify(b.slice(0, 64))}`);
  return x[0] !== y[0] ? x[0] - y[0] : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
}

function timestamp(v: unknown, path: string): string {
  if (typeof v !== 'string') return fail(path, `expected an RFC 3339 timestamp, got ${typeOf(v)}`);
  if (!isOsvTimestamp(v)) return fail(path, `not an RFC 3339 timestamp: ${JSON.stringify(v.slice(0, 64))}`);
  return v;
}

/** Text for people (`summary`, `details`): any string; over the cap it is cut, unpaired surrogates become U+FFFD. */
function text(v: unknown, path: string, max: number, notes: string[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return fail(path, `expected a string, got ${typeOf(v)}`);
  let s = v;
  if (s.length > max) {
    notes.push(`${path}: truncated from ${s.length} to ${max} characters`);
    s = s.slice(0, max);
  }
  return s.replace(LONE_SURROGATES, '\ufffd');
}

/** `severity[]` (schema `$defs.severity`, nullable): `type` and `score` kept as given. */
function severities(v: unknown, path: string, l: OsvRecordLimits): OsvSeverity[] {
  return list(v, path, l.maxSeverities, true).map((s, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(s)) return fail(p, `expected an object, got ${typeOf(s)}`);
    return { type: ident(s.type, `${p}.type`, l.maxTypeLength), score: ident(s.score, `${p}.score`, l.maxScoreLength) };
  });
}

/**
 * A free-form `database_specific` / `ecosystem_specific` object, kept as parsed (JSON.parse makes
 * `__proto__` an own property, so nothing is polluted). Its depth and size are capped because stores
 * serialise it recursively, and its strings and keys must be well-formed UTF-16.
 */
function freeObject(v: unknown, path: string, l: OsvRecordLimits): Readonly<Record<string, unknown>> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return fail(path, `expected an object, got ${typeOf(v)}`);
  let values = 0;
  const walk = (x: unknown, depth: number): void => {
    if (++values > l.maxObjectValues) fail(path, `more than ${l.maxObjectValues} values`);
    if (typeof x === 'string') {
      if (LONE_SURROGATE.test(x)) fail(path, 'contains an unpaired UTF-16 surrogate');
      return;
    }
    if (typeof x !== 'object' || x === null) return;
    if (depth >= l.maxObjectDepth) fail(path, `nested deeper than ${l.maxObjectDepth} levels`);
    if (Array.isArray(x)) {
      for (const y of x) walk(y, depth + 1);
      return;
    }
    for (const [k, y] of Object.entries(x)) {
      if (LONE_SURROGATE.test(k)) fail(path, 'contains an unpaired UTF-16 surrogate');
      walk(y, depth + 1);
    }
  };
  walk(v, 0);
  return v;
}

const EVENT_KEYS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

/** One `ranges[].events[]` entry: exactly one of the four keys, a non-empty version string. */
function event(v: unknown, path: string, l: OsvRecordLimits): OsvEvent {
  if (!isObject(v)) return fail(path, `expected an object, got ${typeOf(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1) return fail(path, `an event must have exactly one key, got ${keys.length === 0 ? 'none' : keys.slice(0, 4).map((k) => JSON.stringify(k)).join(', ')}`);
  const key = keys[0];
  if (!(EVENT_KEYS as readonly string[]).includes(key)) return fail(path, `unknown event ${JSON.stringify(key.slice(0, 64))}`);
  const value = ident(v[key], `${path}.${key}`, l.maxVersionLength);
  return { [key]: value } as OsvEvent;
}

/**
 * One `ranges[]` entry (schema: `type` and `events` required, `events` contains an `introduced`,
 * `fixed` and `last_affected` mutually exclusive, `repo` required for GIT). Returns `undefined` with a
 * note for a range to drop on its own (GIT or an unknown type); throws for a defect that drops the entry.
 */
function range(v: unknown, path: string, l: OsvRecordLimits, notes: string[]): OsvRange | undefined {
  if (!isObject(v)) return fail(path, `expected an object, got ${typeOf(v)}`);
  const type = v.type;
  if (typeof type !== 'string') return fail(`${path}.type`, `expected a string, got ${typeOf(type)}`);
  if (type !== 'ECOSYSTEM' && type !== 'SEMVER' && type !== 'GIT') {
    notes.push(`${path}: dropped: unknown range type ${JSON.stringify(type.slice(0, 64))}`);
    return undefined;
  }
  try {
    const raw = list(v.events, `${path}.events`, l.maxEvents, false);
    if (raw.length === 0) fail(`${path}.events`, v.events === undefined ? 'missing' : 'empty');
    const events = raw.map((e, i) => event(e, `${path}.events[${i}]`, l));
    if (!events.some((e) => 'introduced' in e)) fail(`${path}.events`, 'no "introduced" event');
    if (events.some((e) => 'fixed' in e) && events.some((e) => 'last_affected' in e)) fail(`${path}.events`, '"fixed" and "last_affected" events together');
    let repo: string | undefined;
    if (v.repo !== undefined) repo = ident(v.repo, `${path}.repo`, l.maxUrlLength);
    if (type === 'GIT' && repo === undefined) fail(`${path}.repo`, 'missing (required for GIT ranges)');
    return { type, ...(repo !== undefined ? { repo } : {}), events };
  } catch (err) {
    if (!(err instanceof Defect) || type !== 'GIT') throw err;
    // GIT ranges are evaluated against commit graphs, never package versions: losing one loses no match.
    notes.push(`GIT range dropped: ${err.message}`);
    return undefined;
  }
}

/** One `affected[]` entry; throws {@link Defect} when the entry has to be dropped. */
function affectedEntry(v: unknown, path: string, l: OsvRecordLimits, notes: string[]): OsvAffected {
  if (!isObject(v)) return fail(path, `expected an object, got ${typeOf(v)}`);
  const pkg = v.package;
  if (pkg === undefined) return fail(`${path}.package`, 'missing: the entry names no package to match');
  if (!isObject(pkg)) return fail(`${path}.package`, `expected an object, got ${typeOf(pkg)}`);
  const ecosystem = ident(pkg.ecosystem, `${path}.package.ecosystem`, l.maxEcosystemLength);
  // `$defs.ecosystemWithSuffix`: a name, optionally `:<suffix>` with a non-empty suffix.
  if (!/^[^:]+(:.+)?$/.test(ecosystem)) fail(`${path}.package.ecosystem`, `malformed ${JSON.stringify(ecosystem)}`);
  const name = ident(pkg.name, `${path}.package.name`, l.maxNameLength);
  const purl = pkg.purl === undefined ? undefined : ident(pkg.purl, `${path}.package.purl`, l.maxUrlLength);
  const rangeNotes: string[] = [];
  const ranges = list(v.ranges, `${path}.ranges`, l.maxRanges, false)
    .map((r, i) => range(r, `${path}.ranges[${i}]`, l, rangeNotes))
    .filter((r): r is OsvRange => r !== undefined);
  const versions = list(v.versions, `${path}.versions`, l.maxVersions, false).map((x, i) => ident(x, `${path}.versions[${i}]`, l.maxVersionLength));
  const severity = severities(v.severity, `${path}.severity`, l);
  const ecosystemSpecific = freeObject(v.ecosystem_specific, `${path}.ecosystem_specific`, l);
  const databaseSpecific = freeObject(v.database_specific, `${path}.database_specific`, l);
  notes.push(...rangeNotes);
  return {
    ecosystem,
    name,
    ...(purl !== undefined ? { purl } : {}),
    ranges,
    versions,
    severity,
    ...(ecosystemSpecific !== undefined ? { ecosystemSpecific } : {}),
    ...(databaseSpecific !== undefined ? { databaseSpecific } : {}),
  };
}

/** `references[]` (nullable): `type` and `url` strings, kept as given. */
function references(v: unknown, l: OsvRecordLimits): { type: string; url: string }[] {
  return list(v, 'references', l.maxReferences, true).map((r, i) => {
    const p = `references[${i}]`;
    if (!isObject(r)) return fail(p, `expected an object, got ${typeOf(r)}`);
    return { type: ident(r.type, `${p}.type`, l.maxTypeLength), url: ident(r.url, `${p}.url`, l.maxUrlLength) };
  });
}

/** Ids in `aliases` (nullable in the schema), `related`, `upstream`. */
function ids(v: unknown, path: string, l: OsvRecordLimits, nullable: boolean): string[] {
  return list(v, path, l.maxIds, nullable).map((x, i) => ident(x, `${path}[${i}]`, l.maxIdLength));
}

/**
 * Validates and normalises one raw OSV record (the value of `JSON.parse` on one `<ID>.json`).
 * Never throws for bad input: a record that cannot be used comes back as `{ skipped: reason }`; one
 * that lost an `affected[]` entry, a range or text comes back with `notes` (see the module comment for
 * which defect leads to which outcome). `limits` overrides {@link DEFAULT_OSV_RECORD_LIMITS}.
 */
export function parseOsvRecord(json: unknown, limits: Partial<OsvRecordLimits> = {}): ParseOsvResult {
  const l: OsvRecordLimits = { ...DEFAULT_OSV_RECORD_LIMITS, ...limits };
  if (!isObject(json)) return { skipped: `expected a JSON object, got ${typeOf(json)}` };
  let id: string | undefined;
  try {
    id = ident(json.id, 'id', l.maxIdLength);
    if (!ID.test(id)) fail('id', `${JSON.stringify(id)} has characters outside [A-Za-z0-9._:+-]`);
  } catch (err) {
    if (err instanceof Defect) return { skipped: err.message };
    throw err;
  }
  const notes: string[] = [];
  try {
    const modified = timestamp(json.modified, 'modified');
    const published = json.published === undefined ? undefined : timestamp(json.published, 'published');
    const withdrawn = json.withdrawn === undefined ? undefined : timestamp(json.withdrawn, 'withdrawn');
    const aliases = ids(json.aliases, 'aliases', l, true);
    const related = ids(json.related, 'related', l, false);
    const upstream = ids(json.upstream, 'upstream', l, false);
    const summary = text(json.summary, 'summary', l.maxSummaryLength, notes);
    const details = text(json.details, 'details', l.maxDetailsLength, notes);
    const severity = severities(json.severity, 'severity', l);
    const refs = references(json.references, l);
    const databaseSpecific = freeObject(json.database_specific, 'database_specific', l);
    const rawAffected = list(json.affected, 'affected', l.maxAffected, true);
    const affected: OsvAffected[] = [];
    const dropped: string[] = [];
    rawAffected.forEach((a, i) => {
      const entryNotes: string[] = [];
      try {
        affected.push(affectedEntry(a, `affected[${i}]`, l, entryNotes));
        notes.push(...entryNotes);
      } catch (err) {
        if (!(err instanceof Defect)) throw err;
        dropped.push(err.message);
        notes.push(`affected[${i}] dropped: ${err.message}`);
      }
    });
    if (rawAffected.length > 0 && affected.length === 0) {
      const more = dropped.length > 1 ? ` (+${dropped.length - 1} more)` : '';
      return { skipped: `every affected entry is unusable: ${dropped[0]}${more}`, id };
    }
    const record: OsvRecord = {
      id,
      modified,
      ...(published !== undefined ? { published } : {}),
      ...(withdrawn !== undefined ? { withdrawn } : {}),
      aliases,
      related,
      upstream,
      ...(summary !== undefined ? { summary } : {}),
      ...(details !== undefined ? { details } : {}),
      severity,
      affected,
      references: refs,
      ...(databaseSpecific !== undefined ? { databaseSpecific } : {}),
    };
    return notes.length > 0 ? { record, notes } : { record };
  } catch (err) {
    if (err instanceof Defect) return { skipped: err.message, id };
    throw err;
  }
}
