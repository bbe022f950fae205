/**
 * Reading enrichment feeds (issue 14): NVD CVE API 2.0 JSON (response pages and bare `cve` objects) and
 * the CISA KEV catalog, told apart from OSV zips and from each other by their *content*, never by their
 * name. The records they yield are the enrichment records of advisories/enrichment.ts (`nvd:CVE-…`,
 * `kev:CVE-…`), so every store holds and revises them with the machinery OSV records use.
 *
 * JSON documents are read whole (they are not record-per-entry containers like an OSV zip) but bounded:
 * at most `maxJsonBytes` bytes are buffered, then parsed; one record that cannot be converted is skipped
 * with its reason (RELIABILITY.md 45) and the read goes on. A document that is none of the known kinds
 * fails the read with {@link FeedError}.
 */
import { createHash } from 'node:crypto';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { LimitExceededError, TrustError } from '../errors';
import { kevRecords, nvdRecord } from './enrichment';
import { FeedError, readOsvZip } from './feed';
import type { OsvRecord } from './osv';
import { compareOsvTimestamps, isOsvTimestamp } from './record';

/** CISA's published Known Exploited Vulnerabilities catalog (https://www.cisa.gov/known-exploited-vulnerabilities-catalog). */
export const KEV_URL = 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json';

/** What a feed turned out to be. */
export type FeedKind = 'osv' | 'nvd' | 'kev';

/**
 * The pseudo-ecosystem an enrichment source records in its `FeedState.ecosystems` (ports.ts): enrichment
 * records name no package, so a source of them covers no real OSV ecosystem; the pseudo-ecosystem tells
 * `feeds status`, a scan's feed list and the matcher what kind of data the source delivered. Never an
 * OSV ecosystem name (https://ossf.github.io/osv-schema/#affectedpackage-field), so it cannot make an
 * inventory ecosystem look covered.
 */
export const ENRICHMENT_ECOSYSTEM = { nvd: 'NVD', kev: 'KEV' } as const;

/** The kind of a stored source from its ecosystems (`NVD`/`KEV` pseudo-ecosystem, else OSV); undefined when never complete. */
export function feedKindOf(ecosystems: readonly string[] | undefined): FeedKind | undefined {
  if (ecosystems === undefined) return undefined;
  if (ecosystems.includes(ENRICHMENT_ECOSYSTEM.nvd)) return 'nvd';
  if (ecosystems.includes(ENRICHMENT_ECOSYSTEM.kev)) return 'kev';
  return 'osv';
}

/** Options of a feed read. */
export interface FeedReadOptions {
  /** RFC 3339: records whose `modified` is not newer are not yielded (incremental sync). */
  readonly since?: string;
  /** Called for every record or file that yields nothing usable; the read goes on. */
  readonly onSkip?: (ref: string, reason: string) => void;
  /** Bytes of one JSON document (a page, a record file, a catalog). Default 256 MiB (an NVD page of 2,000 records is ~30 MB). */
  readonly maxJsonBytes?: number;
  /** The `cursor` an interrupted earlier attempt reached (FeedState.cursor): a reader that knows it continues from there. */
  readonly resume?: string;
  /**
   * The revision being read (the source's fingerprint). A reader whose cursor is a position in one
   * revision (the OSV zip's entry index) writes it into the cursor and ignores a `resume` taken in
   * another revision: a new export is read from its beginning.
   */
  readonly revision?: string;
}

/**
 * The records of one read of a source. Besides the records, what the sync needs to know once iteration
 * ended: the kind of data read, and for a *snapshot* source (KEV: every catalog is complete) every id it
 * holds, so that ids of an earlier complete read that are gone can be withdrawn, and how to tell a new
 * revision of a record that says the same from a real change.
 */
export interface FeedRecords extends AsyncIterable<OsvRecord> {
  /** What was read; known once iteration has begun yielding (or ended). */
  readonly kind: FeedKind | undefined;
  /** Snapshot sources only: every id of the source, after iteration ended. */
  readonly members?: readonly string[];
  /** Snapshot sources only: true when `a` and `b` carry the same payload (only revision stamps differ). */
  readonly samePayload?: (a: OsvRecord, b: OsvRecord) => boolean;
  /**
   * Where a later attempt may continue if this one is interrupted, for readers that can (the NVD API):
   * every record before it has been yielded. The sync stores it with the records it has committed.
   */
  readonly cursor?: string;
  /**
   * True when {@link cursor} moves with every record (an OSV zip: the entry index) rather than at page
   * ends (the NVD API): the sync then commits it at its own checkpoints, not at every move.
   */
  readonly positional?: boolean;
}

const MiB = 1024 * 1024;
const DEFAULT_MAX_JSON = 256 * MiB;
/** Files examined in a folder (and its subfolders, at most 4 levels deep) for feed data. */
const MAX_FOLDER_FILES = 1_000_000;
const MAX_DEPTH = 4;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a parsed JSON document is. `schema`: a JSON Schema (e.g. KEV's own schema beside the catalog): not data. */
export type JsonDocKind = 'nvd-page' | 'nvd-cve' | 'kev' | 'schema' | 'unknown';

/**
 * The kind of a JSON document, by its content:
 * - NVD CVE API 2.0 response: `format: "NVD_CVE"`, or `vulnerabilities[]` of `{cve: {...}}` with `totalResults`;
 * - a bare NVD `cve` object (`vulnerabilities[].cve`): a `CVE-` `id` with `lastModified` and `descriptions` or `metrics`;
 *   also the `{cve: {...}}` element of a page on its own;
 * - CISA KEV catalog: `catalogVersion` and `vulnerabilities[]` of `{cveID}` (at least one, or none at all);
 * - a JSON Schema: `$schema` (or `$defs`/`definitions` with `properties`).
 */
export function jsonDocKind(doc: unknown): JsonDocKind {
  if (!isObject(doc)) return 'unknown';
  if (typeof doc.$schema === 'string' || (isObject(doc.properties) && (isObject(doc.$defs) || isObject(doc.definitions)))) return 'schema';
  const vulns = doc.vulnerabilities;
  if (Array.isArray(vulns)) {
    // One malformed element does not change what the document is: it is skipped with its reason when read.
    if (typeof doc.catalogVersion === 'string' && (vulns.length === 0 || vulns.some((v) => isObject(v) && 'cveID' in v))) return 'kev';
    if (doc.format === 'NVD_CVE' || (typeof doc.totalResults === 'number' && vulns.some((v) => isObject(v) && isObject(v.cve)))) return 'nvd-page';
    return 'unknown';
  }
  const cve = isObject(doc.cve) && Object.keys(doc).length <= 2 ? doc.cve : doc;
  if (typeof cve.id === 'string' && /^CVE-\d{4}-\d{4,}$/.test(cve.id) && 'lastModified' in cve && ('descriptions' in cve || 'metrics' in cve)) return 'nvd-cve';
  return 'unknown';
}

const ZIP_MAGIC = [0x50, 0x4b]; // "PK": local file header (03 04), or an empty zip's end record (05 06)

/** Reads a byte stream whole, failing with {@link LimitExceededError} beyond `max` bytes. */
async function readBounded(input: AsyncIterable<unknown>, max: number, first?: Uint8Array): Promise<Buffer> {
  const parts: Buffer[] = first ? [Buffer.from(first)] : [];
  let size = first?.length ?? 0;
  if (size > max) throw new LimitExceededError('maxJsonBytes', max, 'feed JSON document is too large');
  for await (const chunk of input) {
    if (!(chunk instanceof Uint8Array)) throw new FeedError(`a feed stream must yield bytes, got ${typeof chunk}`);
    size += chunk.length;
    if (size > max) throw new LimitExceededError('maxJsonBytes', max, 'feed JSON document is too large');
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** Parses a buffered JSON document (UTF-8, an optional BOM), or returns why it is not one. */
export function parseJson(bytes: Uint8Array): { readonly doc: unknown } | { readonly error: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { error: 'not UTF-8' };
  }
  try {
    return { doc: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch (err) {
    return { error: `not JSON: ${message(err).slice(0, 200)}` };
  }
}

/** The `cve` objects of an NVD document (a page or one record), each with a reference for skip reports. */
function nvdCves(doc: unknown, kind: 'nvd-page' | 'nvd-cve', ref: string): { cve: unknown; ref: string }[] {
  if (kind === 'nvd-cve') return [{ cve: isObject(doc) && isObject(doc.cve) ? doc.cve : doc, ref }];
  const vulns = (doc as { vulnerabilities: unknown[] }).vulnerabilities;
  return vulns.map((v, i) => ({ cve: isObject(v) ? v.cve : v, ref: `${ref}: vulnerabilities[${i}]` }));
}

/** True when `modified` is newer than `since` (or there is no `since`). */
const newer = (modified: string, since: string | undefined): boolean => since === undefined || !isOsvTimestamp(since) || compareOsvTimestamps(modified, since) > 0;

/**
 * Converts NVD `cve` objects to enrichment records, skipping bad ones with a reason, not yielding what
 * is not newer than `since`, and each id once (a later duplicate only when newer: a folder may hold the
 * same CVE as a page element and as a record file).
 */
function* nvdFromDoc(doc: unknown, kind: 'nvd-page' | 'nvd-cve', ref: string, seen: Map<string, string>, o: FeedReadOptions): Generator<OsvRecord> {
  for (const { cve, ref: at } of nvdCves(doc, kind, ref)) {
    const r = nvdRecord(cve);
    if ('skip' in r) {
      o.onSkip?.(at, r.skip);
      continue;
    }
    if (!newer(r.modified, o.since)) continue;
    const prev = seen.get(r.id);
    if (prev !== undefined && compareOsvTimestamps(r.modified, prev) <= 0) continue;
    seen.set(r.id, r.modified);
    yield r;
  }
}

/** KEV entries carry no revision of their own: a payload is the entry's content without the catalog's stamps. */
function kevPayload(r: OsvRecord): string {
  const { catalogVersion: _v, ...kev } = (r.databaseSpecific?.kev ?? {}) as Record<string, unknown>;
  return JSON.stringify([r.aliases, r.published, r.details ?? null, r.withdrawn ?? null, kev]);
}

/** The KEV `samePayload`: equal entry content, whatever the catalog version and release date. */
export const sameKevPayload = (a: OsvRecord, b: OsvRecord): boolean => kevPayload(a) === kevPayload(b);

/** Builds a {@link FeedRecords} from a generator whose kind/members are set as it runs. */
function feedRecords(run: (out: FeedRecordsOut) => AsyncGenerator<OsvRecord>): FeedRecords {
  const out: FeedRecordsOut = {};
  let started = false;
  return {
    get kind() { return out.kind; },
    get members() { return out.members; },
    get cursor() { return out.cursor?.(); },
    get positional() { return out.cursor !== undefined; },
    get samePayload() { return out.kind === 'kev' ? sameKevPayload : undefined; },
    [Symbol.asyncIterator]() {
      if (started) throw new Error('a feed read can be iterated once');
      started = true;
      return run(out);
    },
  } as FeedRecords;
}

/** What a read tells the sync besides its records (see {@link FeedRecords}). */
interface FeedRecordsOut {
  kind?: FeedKind;
  members?: string[];
  /** A positional reader's cursor, computed when asked. */
  cursor?: () => string | undefined;
}

const ZIP_CURSOR = 'osv-zip/1';

/**
 * The cursor of an OSV zip read: `osv-zip/1 <entry index> <revision>`, where the next attempt
 * continues (that entry included: its record may not have been committed).
 */
export function osvZipCursor(position: number, revision: string | undefined): string {
  return `${ZIP_CURSOR} ${position} ${revision ?? ''}`;
}

/** The entry index of an OSV zip cursor taken in `revision`; undefined for any other cursor (another reader's, another revision's, damaged): then start over. */
export function parseOsvZipCursor(cursor: string | undefined, revision: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const m = /^osv-zip\/1 (\d{1,9}) (.*)$/s.exec(cursor);
  if (!m || m[2] !== (revision ?? '')) return undefined;
  return Number(m[1]);
}

/** Records of one parsed JSON document of the given kind (KEV: sets `members`). Throws {@link FeedError} for `unknown`/`schema`. */
function* recordsOfDoc(doc: unknown, kind: JsonDocKind, ref: string, out: FeedRecordsOut, o: FeedReadOptions): Generator<OsvRecord> {
  switch (kind) {
    case 'nvd-page':
    case 'nvd-cve':
      out.kind = 'nvd';
      yield* nvdFromDoc(doc, kind, ref, new Map(), o);
      return;
    case 'kev': {
      out.kind = 'kev';
      const { records, skipped } = kevRecords(doc);
      for (const s of skipped) o.onSkip?.(`${ref}: ${s.ref}`, s.reason);
      if (records.length === 0 && skipped.some((s) => s.ref === 'catalog')) throw new FeedError(`${ref}: unusable KEV catalog: ${skipped[0].reason}`);
      out.members = records.map((r) => r.id);
      // A snapshot: every entry is compared with the stored one by the sync (since does not apply).
      yield* records;
      return;
    }
    case 'schema':
      throw new FeedError(`${ref} is a JSON Schema, not feed data`);
    default:
      throw new FeedError(`${ref} is JSON but none of the feeds trustctl reads (an OSV zip, an NVD CVE API 2.0 page or cve record, the CISA KEV catalog)`);
  }
}

/**
 * The records of one feed's bytes (a file or an https body), whatever it is: an OSV zip (by its `PK`
 * signature; read by {@link readOsvZip}) or a JSON document (NVD page, bare NVD `cve`, KEV catalog,
 * read bounded). Anything else fails with {@link FeedError}.
 */
export function readFeedStream(stream: Readable | AsyncIterable<Uint8Array>, ref: string, o: FeedReadOptions = {}): FeedRecords {
  const max = o.maxJsonBytes ?? DEFAULT_MAX_JSON;
  return feedRecords(async function* (out) {
    const it = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    // The first non-empty chunk tells a zip from JSON.
    let first: Uint8Array | undefined;
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      if (!(n.value instanceof Uint8Array)) throw new FeedError(`a feed stream must yield bytes, got ${typeof n.value}`);
      if (n.value.length > 0) {
        first = n.value;
        break;
      }
    }
    if (!first) throw new FeedError(`${ref}: empty feed`);
    const rest: AsyncIterable<unknown> = { [Symbol.asyncIterator]: () => it };
    if (first[0] === ZIP_MAGIC[0] && (first.length < 2 || first[1] === ZIP_MAGIC[1])) {
      out.kind = 'osv';
      const chained = (async function* () {
        yield first;
        for await (const c of rest) yield c as Uint8Array;
      })();
      // Positional: the cursor names the entry of the record yielded last, in this revision of the export.
      const resumeAt = parseOsvZipCursor(o.resume, o.revision);
      const zip = readOsvZip(chained, { ...(o.since ? { since: o.since } : {}), ...(o.onSkip ? { onSkip: o.onSkip } : {}), ...(resumeAt !== undefined ? { resumeAt } : {}) });
      out.cursor = () => (zip.stats.position < 0 ? (resumeAt === undefined ? undefined : osvZipCursor(resumeAt, o.revision)) : osvZipCursor(zip.stats.position, o.revision));
      yield* zip;
      return;
    }
    const lead = Buffer.from(first.subarray(0, 64)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    if (!lead.startsWith('{')) throw new FeedError(`${ref}: neither an OSV zip nor a JSON feed document (starts with ${JSON.stringify(lead.slice(0, 16))})`);
    const bytes = await readBounded(rest, max, first);
    const parsed = parseJson(bytes);
    if ('error' in parsed) throw new FeedError(`${ref}: ${parsed.error}`);
    yield* recordsOfDoc(parsed.doc, jsonDocKind(parsed.doc), ref, out, o);
  });
}

/** What a local file holds, by content: `zip`, a JSON document of a kind, or `other` (not a feed). */
export async function sniffFile(path: string, maxJsonBytes = DEFAULT_MAX_JSON): Promise<{ kind: 'zip' | JsonDocKind | 'other'; error?: string }> {
  const fh = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    if (bytesRead >= 2 && head[0] === ZIP_MAGIC[0] && head[1] === ZIP_MAGIC[1]) return { kind: 'zip' };
    if (!head.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').trimStart().startsWith('{')) return { kind: 'other' };
    const st = await fh.stat();
    if (st.size > maxJsonBytes) return { kind: 'unknown', error: `${st.size} bytes, over maxJsonBytes=${maxJsonBytes}` };
    const parsed = parseJson(await fh.readFile());
    if ('error' in parsed) return { kind: 'unknown', error: parsed.error };
    return { kind: jsonDocKind(parsed.doc) };
  } finally {
    await fh.close();
  }
}

/** The files under `dir` (sorted, relative paths, at most {@link MAX_DEPTH} levels, no symlinked folders). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string, depth: number): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(at, e.name);
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH) await walk(p, depth + 1);
      } else if (e.isFile()) {
        out.push(relative(dir, p));
        if (out.length > MAX_FOLDER_FILES) throw new LimitExceededError('maxFolderFiles', MAX_FOLDER_FILES, `feed folder ${dir} holds too many files`);
      }
    }
  };
  await walk(dir, 0);
  return out;
}

/** A feed source as sync-feeds.ts reads it, for enrichment data that is not one byte stream. */
export interface RecordSource {
  readonly source: string;
  readonly location: string;
  fingerprint(): Promise<string>;
  open(): Promise<Readable>;
  read(o: FeedReadOptions): FeedRecords;
}

/**
 * One source for every NVD JSON file of a folder (pages and bare records, at any depth): each CVE is
 * yielded once (the newest revision when files disagree). `files` are the folder's NVD files found by
 * {@link sniffFile}; a file that has become unreadable or unparsable since is skipped with its reason.
 * Its fingerprint covers every file's path, size and mtime.
 */
export function nvdFolderSource(dir: string, files: readonly string[], opts: { maxJsonBytes?: number } = {}): RecordSource {
  const root = resolve(dir);
  const source = `nvd:${root}`;
  return {
    source,
    location: root,
    async fingerprint() {
      const h = createHash('sha256');
      for (const f of files) {
        const st = await stat(join(root, f)).catch(() => undefined);
        h.update(`${f}\0${st?.size ?? -1}\0${st?.mtimeMs ?? -1}\n`);
      }
      return `files=${files.length};sha256=${h.digest('hex').slice(0, 32)}`;
    },
    async open(): Promise<Readable> {
      throw new FeedError(`${source} is a folder of NVD files; it is read record by record`, { source });
    },
    read(o: FeedReadOptions): FeedRecords {
      const max = o.maxJsonBytes ?? opts.maxJsonBytes ?? DEFAULT_MAX_JSON;
      return feedRecords(async function* (out) {
        out.kind = 'nvd';
        const seen = new Map<string, string>();
        for (const f of files) {
          let bytes: Buffer;
          try {
            const fh = await openFile(join(root, f), 'r');
            try {
              bytes = await readBounded(fh.createReadStream({ autoClose: false }), max);
            } finally {
              await fh.close();
            }
          } catch (err) {
            if (err instanceof TrustError && !(err instanceof LimitExceededError)) throw err;
            o.onSkip?.(f, `cannot read: ${(err as { code?: string }).code ?? message(err)}`);
            continue;
          }
          const parsed = parseJson(bytes);
          if ('error' in parsed) {
            o.onSkip?.(f, parsed.error);
            continue;
          }
          const kind = jsonDocKind(parsed.doc);
          if (kind !== 'nvd-page' && kind !== 'nvd-cve') {
            o.onSkip?.(f, 'no longer an NVD page or cve record');
            continue;
          }
          yield* nvdFromDoc(parsed.doc, kind, f, seen, o);
        }
      });
    },
  };
}
