import { randomUUID } from 'node:crypto';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { type AsyncFlateStreamHandler, type FlateError, Unzip, type UnzipDecoder, type UnzipFile } from 'fflate';
import { LimitExceededError, RedirectError, TrustError } from '../errors';
import type { OsvRecord } from './osv';
import { type FeedReadOptions, type FeedRecords, type JsonDocKind, listFiles, nvdFolderSource, sniffFile } from './enrichment-feed';
import { isNvdApiUrl, type NvdApiOptions, nvdApiSource } from './nvd-api';
import { type OsvRecordLimits, compareOsvTimestamps, isOsvTimestamp, parseOsvRecord } from './record';

/**
 * Reading OSV feeds as streams (DESIGN.md "Re-verify": `feed-sync` ingests OSV exports incrementally).
 *
 * An OSV bulk export is a zip of `<ID>.json` records per ecosystem, `gs://osv-vulnerabilities/<Ecosystem>/all.zip`
 * (https://google.github.io/osv.dev/data/#data-dumps). {@link readOsvZip} reads one as a stream — the
 * archive is never held in memory (the Debian export is 20 MB compressed, 50 MB of JSON) — with
 * fflate's streaming `Unzip` for the container (PKWARE APPNOTE.TXT §4.3: local file headers, data,
 * optional data descriptors, central directory, end of central directory) and a bounded decoder per
 * entry. {@link openFeed} turns a path or an https URL into sources to read, each with a fingerprint so
 * an unchanged export is not read again (ports.ts `FeedState.fingerprint`).
 */

/** A feed that cannot be read: not found, HTTP error, not a zip, truncated, a refused URL. */
export class FeedError extends TrustError {
  /** The feed source (`osv:Debian`, a URL), when known. */
  readonly source?: string;
  /** The HTTP status, for HTTP errors. */
  readonly status?: number;
  constructor(message: string, options: { cause?: unknown; source?: string; status?: number } = {}) {
    super('FEED_ERROR', message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.source !== undefined) this.source = options.source;
    if (options.status !== undefined) this.status = options.status;
  }
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Options of {@link readOsvZip}. */
export interface ReadOsvZipOptions {
  /** RFC 3339: records whose `modified` is not newer are skipped before validation (counted as `unchanged`, not reported). */
  readonly since?: string;
  /**
   * Called for each `.json` entry that yields no record: not UTF-8, not JSON, rejected by
   * {@link parseOsvRecord}, over `maxRecordBytes`, not inflatable. `ref` is the record's id when it
   * had a usable one, else the entry's path in the zip. Iteration continues (RELIABILITY.md 45).
   */
  readonly onSkip?: (ref: string, reason: string) => void;
  /** Called for what {@link parseOsvRecord} dropped from a record it kept (an `affected[]` entry, a range, over-long text). */
  readonly onNote?: (id: string, note: string) => void;
  /** Bytes of one record, declared or inflated; larger entries are skipped without being inflated further. Default 8 MiB (largest real record: 224 KB). */
  readonly maxRecordBytes?: number;
  /** Entries in the zip (every entry, `.json` or not); beyond it the read fails with {@link LimitExceededError}. Default 500 000 (Debian: 33 593). */
  readonly maxEntries?: number;
  /** Compressed bytes of the whole zip; beyond it the read fails with {@link LimitExceededError}. Default 4 GiB. */
  readonly maxZipBytes?: number;
  /** Caps passed to {@link parseOsvRecord}. */
  readonly recordLimits?: Partial<OsvRecordLimits>;
  /**
   * The zip entry index (0-based, in the archive's own order — deterministic for one revision of an
   * export) to continue at: entries before it are passed over unread (neither inflated, parsed nor
   * counted as records, skipped or unchanged). A feed sync interrupted after committing the records up
   * to an entry continues there in the next invocation (sync-feeds.ts, {@link OsvZipStats.position}).
   * Default 0.
   */
  readonly resumeAt?: number;
}

/** Counters of one {@link readOsvZip} run; final once iteration ends. `jsonEntries = records + skipped + unchanged`. */
export interface OsvZipStats {
  /** Zip entries seen (every kind). */
  entries: number;
  /** Entries named `*.json`. */
  jsonEntries: number;
  /** Records yielded. */
  records: number;
  /** `.json` entries reported through `onSkip`. */
  skipped: number;
  /** Records not newer than `since`. */
  unchanged: number;
  /** Notes reported through `onNote`. */
  notes: number;
  /** Compressed bytes read from the stream. */
  bytesRead: number;
  /** JSON bytes inflated (records kept or parsed, not the cut-off part of a bomb). */
  bytesInflated: number;
  /**
   * The zip entry index of the record yielded last (-1 before the first): read it after each record to
   * know where a later read may resume ({@link ReadOsvZipOptions.resumeAt}) with that record included.
   */
  position: number;
}

/** What {@link readOsvZip} returns: the records, once, and the counters. */
export interface OsvZipReader extends AsyncIterable<OsvRecord> {
  readonly stats: Readonly<OsvZipStats>;
}

const DEFAULTS = { maxRecordBytes: 8 * MiB, maxEntries: 500_000, maxZipBytes: 4 * GiB } as const;
/** Compressed bytes handed to the unzipper at a time: records finished by one push are yielded before the next. */
const PUSH_BYTES = 16 * KiB;
const EMPTY = new Uint8Array(0);
const NOOP: AsyncFlateStreamHandler = () => undefined;

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** One zip entry being read. */
interface Entry {
  readonly name: string;
  /** Its index among the zip's entries (0-based). */
  readonly index: number;
  /** Not a `.json` entry: its bytes are dropped unread. */
  readonly discard: boolean;
  /** Uncompressed size from the local header, when it has one (no data descriptor). */
  readonly declared?: number;
  /** Why the entry yields no record, once known. */
  reason?: string;
  done: boolean;
}

/** A finished `.json` entry waiting to be parsed. */
interface Finished {
  readonly name: string;
  readonly index: number;
  readonly data?: Uint8Array;
  readonly reason?: string;
}

const u16 = (b: Uint8Array, i: number): number => b[i] | (b[i + 1] << 8);
const u32 = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, i: number): number => u32(b, i) + u32(b, i + 4) * 2 ** 32;

/** The end of central directory record: 22 bytes plus a comment of up to 65 535 (APPNOTE §4.3.16). */
const TAIL_BYTES = 22 + 65_535;

/**
 * The number of entries the central directory declares, from the last bytes of the zip: the end of
 * central directory record (APPNOTE §4.3.16) or, when that says 0xFFFF, the ZIP64 end record its
 * locator points to (§4.3.14–15). `undefined` when there is no end record: the zip is truncated.
 */
function declaredEntries(tail: Uint8Array, totalBytes: number): number | undefined {
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) !== 0x06054b50 || i + 22 + u16(tail, i + 20) !== tail.length) continue;
    const count = u16(tail, i + 10);
    if (count !== 0xffff) return count;
    const loc = i - 20;
    if (loc < 0 || u32(tail, loc) !== 0x07064b50) return undefined;
    const at = u64(tail, loc + 8) - (totalBytes - tail.length);
    if (at < 0 || at + 56 > tail.length || u32(tail, at) !== 0x06064b50) return undefined;
    return u64(tail, at + 32);
  }
  return undefined;
}

/**
 * fflate 0.8's `Unzip` keeps one chunk list per entry seen (`k`, grown with `unshift`: quadratic in the
 * entry count, and never released) while only ever touching the newest two. Trimming it keeps memory
 * flat and time linear over hundreds of thousands of entries. Guarded: a different internal shape is left alone.
 */
function trimEntryLists(u: Unzip): void {
  const k = (u as unknown as { k?: unknown }).k;
  if (Array.isArray(k) && k.length > 2) k.length = 2;
}

/** An error's message; duck-typed, because errors from Node internals may come from another realm (vm contexts, jest). */
const message = (err: unknown): string => {
  const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : String(err);
};
/** The message of an error's `cause`, where undici puts the reason of "fetch failed" (DNS, TLS, reset). */
const causeMessage = (err: unknown): string | undefined => {
  const c = typeof err === 'object' && err !== null ? (err as { cause?: unknown }).cause : undefined;
  return c === undefined ? undefined : message(c);
};

/**
 * Streams the records of one OSV `all.zip` export. Memory stays bounded whatever the input: the zip is
 * read in chunks as the caller consumes records (backpressure: the next chunk is read only once the
 * records of the previous one were taken); one record is held at most `maxRecordBytes` (its declared
 * size is checked before inflating, the inflated size while inflating); entry count and total bytes are
 * capped. Only `*.json` entries are read; other entries (folders, READMEs) are passed over unread.
 *
 * A bad record never stops the read: it goes to `onSkip` and iteration continues. The read fails with
 * {@link FeedError} when the archive itself is broken — not a zip, truncated (no end of central
 * directory, or fewer local entries than the central directory declares), an entry compressed with a
 * method other than deflate or store, a stream error — and with {@link LimitExceededError} for
 * `maxEntries` / `maxZipBytes`: records already yielded stay valid, but the caller must not record the
 * feed as synced.
 *
 * Not checked: entry CRC-32s (fflate's streaming reader does not expose them). A corrupted entry
 * almost always fails inflation, its declared size or JSON parsing; an https feed has TLS integrity.
 */
export function readOsvZip(stream: Readable | AsyncIterable<Uint8Array>, opts: ReadOsvZipOptions = {}): OsvZipReader {
  const maxRecordBytes = positive('maxRecordBytes', opts.maxRecordBytes, DEFAULTS.maxRecordBytes);
  const maxEntries = positive('maxEntries', opts.maxEntries, DEFAULTS.maxEntries);
  const maxZipBytes = positive('maxZipBytes', opts.maxZipBytes, DEFAULTS.maxZipBytes);
  if (opts.since !== undefined && !isOsvTimestamp(opts.since)) throw new RangeError(`since must be an RFC 3339 timestamp, got ${JSON.stringify(opts.since)}`);
  if (opts.resumeAt !== undefined && (!Number.isSafeInteger(opts.resumeAt) || opts.resumeAt < 0)) throw new RangeError(`resumeAt must be a non-negative integer, got ${opts.resumeAt}`);
  const stats: OsvZipStats = { entries: 0, jsonEntries: 0, records: 0, skipped: 0, unchanged: 0, notes: 0, bytesRead: 0, bytesInflated: 0, position: -1 };
  let started = false;
  return {
    stats,
    [Symbol.asyncIterator]: () => {
      if (started) throw new Error('readOsvZip: a feed stream can be iterated once');
      started = true;
      return iterate(stream, { ...opts, maxRecordBytes, maxEntries, maxZipBytes }, stats);
    },
  };
}

async function* iterate(
  input: AsyncIterable<unknown>,
  o: ReadOsvZipOptions & { maxRecordBytes: number; maxEntries: number; maxZipBytes: number },
  stats: OsvZipStats,
): AsyncGenerator<OsvRecord> {
  const finished: Finished[] = [];
  /** Entries started and not finished: fflate finishes an entry with a data descriptor only after announcing the next one. */
  let unfinished = 0;
  /** The entry whose decoder fflate is constructing (decoders are created inside `file.start()`). */
  let binding: Entry | undefined;
  const bind = (): Entry => {
    if (!binding) throw new FeedError('zip decoder created outside an entry');
    return binding;
  };
  // A deflated record may be at most this large compressed: deflate's stored blocks add 5 bytes per 64 KiB.
  const maxCompressed = o.maxRecordBytes + 64 * KiB;

  const finish = (e: Entry, data: Uint8Array): void => {
    if (e.done) return;
    e.done = true;
    unfinished--;
    if (e.discard) return;
    if (e.reason === undefined && e.declared !== undefined && data.length !== e.declared) {
      e.reason = `inflated to ${data.length} bytes, the zip header declares ${e.declared}`;
    }
    if (e.reason === undefined) stats.bytesInflated += data.length;
    finished.push(e.reason === undefined ? { name: e.name, index: e.index, data } : { name: e.name, index: e.index, reason: e.reason });
  };

  /**
   * Deflate (method 8) decoder: collects the entry's compressed bytes (at most `maxCompressed`) and
   * inflates them once complete with zlib, whose `maxOutputLength` stops a bomb at `maxRecordBytes`
   * without inflating the rest. Measured on the Debian export, this is ~10× faster than fflate's
   * pure-JS `UnzipInflate` (0.7 s against 6.7 s for 33 593 records).
   */
  class Deflated implements UnzipDecoder {
    static readonly compression = 8;
    ondata: AsyncFlateStreamHandler = NOOP;
    private readonly e = bind();
    private chunks: Uint8Array[] = [];
    private size = 0;
    push(chunk: Uint8Array, final: boolean): void {
      const e = this.e;
      if (!e.discard && e.reason === undefined && chunk.length > 0) {
        this.size += chunk.length;
        if (this.size > maxCompressed) {
          e.reason = `more than ${maxCompressed} compressed bytes (maxRecordBytes=${o.maxRecordBytes})`;
          this.chunks = [];
        } else this.chunks.push(chunk.slice());
      }
      if (!final) return;
      if (e.discard || e.reason !== undefined) {
        this.ondata(null, EMPTY, true);
        return;
      }
      let out: Uint8Array<ArrayBuffer> = EMPTY;
      try {
        out = inflateRawSync(Buffer.concat(this.chunks), { maxOutputLength: o.maxRecordBytes });
      } catch (err) {
        e.reason = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
          ? `inflates to more than maxRecordBytes=${o.maxRecordBytes}`
          : `cannot inflate: ${message(err)}`;
      }
      this.chunks = [];
      this.ondata(null, out, true);
    }
  }

  /** Stored (method 0) decoder: the bytes as they are, with the same cap. */
  class Stored implements UnzipDecoder {
    static readonly compression = 0;
    ondata: AsyncFlateStreamHandler = NOOP;
    private readonly e = bind();
    private chunks: Uint8Array[] = [];
    private size = 0;
    push(chunk: Uint8Array, final: boolean): void {
      const e = this.e;
      if (!e.discard && e.reason === undefined && chunk.length > 0) {
        this.size += chunk.length;
        if (this.size > o.maxRecordBytes) {
          e.reason = `more than maxRecordBytes=${o.maxRecordBytes}`;
          this.chunks = [];
        } else this.chunks.push(chunk.slice());
      }
      if (!final) return;
      const out = e.discard || e.reason !== undefined ? EMPTY : Buffer.concat(this.chunks);
      this.chunks = [];
      this.ondata(null, out, true);
    }
  }

  const unzip = new Unzip((file: UnzipFile) => {
    stats.entries++;
    if (stats.entries > o.maxEntries) throw new LimitExceededError('maxEntries', o.maxEntries, 'OSV zip has too many entries');
    trimEntryLists(unzip);
    if (file.compression !== 0 && file.compression !== 8) {
      // fflate keeps the bytes of an entry it cannot decode in memory: refuse rather than skip.
      throw new FeedError(`zip entry ${JSON.stringify(file.name)} uses compression method ${file.compression}; OSV exports use deflate`);
    }
    const index = stats.entries - 1;
    // Entries before the resume point were committed by an earlier read: passed over like non-JSON ones.
    const json = !file.name.endsWith('/') && file.name.toLowerCase().endsWith('.json') && index >= (o.resumeAt ?? 0);
    if (json) stats.jsonEntries++;
    const e: Entry = { name: file.name, index, discard: !json, declared: file.originalSize, done: false };
    if (json && file.originalSize !== undefined && file.originalSize > o.maxRecordBytes) {
      e.reason = `declares ${file.originalSize} bytes, over maxRecordBytes=${o.maxRecordBytes}`;
    }
    file.ondata = (err: FlateError | null, data: Uint8Array, final: boolean) => {
      if (err) e.reason ??= `cannot decode: ${err.message}`;
      if (final) finish(e, data ?? EMPTY);
    };
    unfinished++;
    binding = e;
    try {
      file.start();
    } finally {
      binding = undefined;
    }
  });
  unzip.register(Deflated);
  unzip.register(Stored);

  const decoder = new TextDecoder('utf-8', { fatal: true });
  const skip = (ref: string, reason: string): void => {
    stats.skipped++;
    o.onSkip?.(ref, reason);
  };
  function* drain(): Generator<OsvRecord> {
    while (finished.length > 0) {
      const f = finished.shift()!;
      if (f.reason !== undefined) {
        skip(f.name, f.reason);
        continue;
      }
      let text: string;
      try {
        text = decoder.decode(f.data);
      } catch {
        skip(f.name, 'not UTF-8');
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        skip(f.name, `not JSON: ${message(err)}`);
        continue;
      }
      const modified = typeof json === 'object' && json !== null ? (json as { modified?: unknown }).modified : undefined;
      if (o.since !== undefined && typeof modified === 'string' && isOsvTimestamp(modified) && compareOsvTimestamps(modified, o.since) <= 0) {
        stats.unchanged++;
        continue;
      }
      const r = parseOsvRecord(json, o.recordLimits);
      if ('skipped' in r) {
        skip(r.id ?? f.name, r.skipped);
        continue;
      }
      for (const n of r.notes ?? []) {
        stats.notes++;
        o.onNote?.(r.record.id, n);
      }
      stats.records++;
      stats.position = f.index;
      yield r.record;
    }
  }

  // The last bytes of the zip, for its end of central directory record: the latest pieces, copied
  // (a source may reuse its buffers), dropped from the front once the rest covers TAIL_BYTES.
  const tailPieces: Uint8Array[] = [];
  let tailBytes = 0;
  const keepTail = (piece: Uint8Array): void => {
    tailPieces.push(piece.slice());
    tailBytes += piece.length;
    while (tailBytes - tailPieces[0].length >= TAIL_BYTES) tailBytes -= tailPieces.shift()!.length;
  };
  /** Pushes bytes to the unzipper; a failure is returned, to be thrown once the records finished before it are yielded. */
  const push = (piece: Uint8Array, final: boolean): TrustError | undefined => {
    try {
      unzip.push(piece, final);
      return undefined;
    } catch (err) {
      if (err instanceof TrustError) return err;
      // fflate throws "invalid zip data" when the input ends inside an entry.
      return new FeedError(final ? `truncated zip: the input ends inside an entry (${message(err)})` : `not a readable zip: ${message(err)}`, { cause: err });
    }
  };

  try {
    for await (const chunk of input) {
      if (!(chunk instanceof Uint8Array)) throw new FeedError(`a feed stream must yield bytes, got ${typeof chunk}`);
      for (let off = 0; off < chunk.length; off += PUSH_BYTES) {
        const piece = chunk.subarray(off, Math.min(off + PUSH_BYTES, chunk.length));
        stats.bytesRead += piece.length;
        if (stats.bytesRead > o.maxZipBytes) throw new LimitExceededError('maxZipBytes', o.maxZipBytes, 'OSV zip is too large');
        keepTail(piece);
        const failed = push(piece, false);
        yield* drain();
        if (failed) throw failed;
      }
    }
  } catch (err) {
    if (err instanceof TrustError) throw err;
    throw new FeedError(`cannot read the feed: ${message(err)}`, { cause: err });
  }
  const failed = push(EMPTY, true);
  yield* drain();
  if (failed) throw failed;
  if (unfinished > 0) throw new FeedError(`truncated zip: ${unfinished} entr${unfinished === 1 ? 'y is' : 'ies are'} incomplete`);
  const tail = Buffer.concat(tailPieces);
  const declared = declaredEntries(tail.subarray(Math.max(0, tail.length - TAIL_BYTES)), stats.bytesRead);
  if (declared === undefined) throw new FeedError('truncated or not a zip: no end of central directory record');
  if (declared !== stats.entries) throw new FeedError(`the central directory lists ${declared} entries, the zip holds ${stats.entries} local entries`);
}

/** One feed to read: a local `all.zip` or an https URL. */
export interface FeedSource {
  /** Stable id for `FeedState` (ports.ts): `osv:<Ecosystem>` for `<Ecosystem>/all.zip`, `file:<absolute path>` for other files, the URL for https. */
  readonly source: string;
  /** The absolute path or the URL read. */
  readonly location: string;
  /**
   * What identifies this revision of the export: `size=…;mtime=…` for files, `etag:…` or
   * `last-modified:…` for https (from a HEAD request). An https server sending neither gets a unique
   * value, so the feed is always read. Call it before {@link FeedSource.open}: if the export changes in
   * between, the next sync sees a different fingerprint and reads it again.
   */
  fingerprint(): Promise<string>;
  /** The export's bytes, for {@link readOsvZip} (or enrichment-feed.ts `readFeedStream`, which tells the kinds apart). */
  open(): Promise<Readable>;
  /** Sources that are not one byte stream (a folder of NVD files, the NVD API) yield their records themselves. */
  read?(opts: FeedReadOptions): FeedRecords;
}

/** Options of {@link openFeed}. */
export interface OpenFeedOptions {
  /** The fetch to use; default the platform's global `fetch` (TLS trust: the system store plus `NODE_EXTRA_CA_CERTS`). */
  readonly fetch?: typeof globalThis.fetch;
  /** Milliseconds to wait for response headers. Default 30 000. */
  readonly timeoutMs?: number;
  /** Milliseconds to wait for the next body chunk. Default 60 000. */
  readonly idleTimeoutMs?: number;
  /** Redirects followed per request. Default 5. */
  readonly maxRedirects?: number;
  /** Options of the NVD CVE API client, for an NVD API URL (key, rate limit, clock). */
  readonly nvd?: NvdApiOptions;
}

const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https anywhere; plain http only to the loopback interface (tests, a local mirror); no credentials in the URL (it is the source id and gets logged). */
function checkUrl(u: URL, spec: string): void {
  if (u.username || u.password) throw new FeedError(`feed URL ${spec} carries credentials; refused (the URL is logged as the feed's id)`);
  if (u.protocol === 'https:') return;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return;
  throw new FeedError(`feed URL ${u.protocol}//${u.host}${u.pathname}: only https (or http to 127.0.0.1 / localhost) is allowed`);
}

/**
 * Chunks of a fetch body; fails with {@link FeedError} when no chunk comes for `idleMs`, and cancels the
 * download when the reader stops early.
 */
async function* idleLimited(body: ReadableStream<Uint8Array>, controller: AbortController, idleMs: number, source: string): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FeedError(`${source}: no data for ${idleMs} ms`, { source })), idleMs);
      });
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await Promise.race([reader.read(), idle]);
      } catch (err) {
        if (err instanceof TrustError) throw err;
        throw new FeedError(`${source}: download failed: ${message(err)}`, { cause: err, source });
      } finally {
        clearTimeout(timer);
      }
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) {
      controller.abort();
      reader.cancel().catch(() => undefined);
    }
  }
}

function httpsSource(spec: string, o: OpenFeedOptions): FeedSource {
  let url: URL;
  try {
    url = new URL(spec);
  } catch (err) {
    throw new FeedError(`not a URL: ${spec}`, { cause: err });
  }
  checkUrl(url, spec);
  const source = url.href;
  const doFetch = o.fetch ?? globalThis.fetch;
  const timeoutMs = positive('timeoutMs', o.timeoutMs, 30_000);
  const idleMs = positive('idleTimeoutMs', o.idleTimeoutMs, 60_000);
  const maxRedirects = o.maxRedirects ?? 5;

  /** One request with redirects followed by hand, so that every hop is checked (RELIABILITY.md 22). */
  const request = async (method: 'GET' | 'HEAD'): Promise<{ res: Response; controller: AbortController }> => {
    let at = url;
    for (let hop = 0; ; hop++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new FeedError(`${method} ${at.href}: no response within ${timeoutMs} ms`, { source })), timeoutMs);
      let res: Response;
      try {
        res = await doFetch(at, { method, redirect: 'manual', signal: controller.signal, headers: { accept: 'application/zip, application/octet-stream;q=0.9, */*;q=0.1' } });
      } catch (err) {
        if (controller.signal.reason instanceof FeedError) throw controller.signal.reason;
        const cause = causeMessage(err);
        throw new FeedError(`${method} ${at.href}: ${message(err)}${cause ? ` (${cause})` : ''}`, { cause: err, source });
      } finally {
        clearTimeout(timer);
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.body?.cancel().catch(() => undefined);
        if (hop >= maxRedirects) throw new RedirectError(`${source}: more than ${maxRedirects} redirects`);
        const next = new URL(location, at);
        if (at.protocol === 'https:' && next.protocol !== 'https:') throw new RedirectError(`${source}: refusing a redirect from https to ${next.protocol}//${next.host}`);
        checkUrl(next, next.href);
        at = next;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new FeedError(`${method} ${at.href}: HTTP ${res.status}`, { source, status: res.status });
      }
      return { res, controller };
    }
  };

  return {
    source,
    location: source,
    async fingerprint() {
      let res: Response;
      try {
        ({ res } = await request('HEAD'));
      } catch (err) {
        // Some servers refuse HEAD: their GET answer carries the same validators.
        if (!(err instanceof FeedError && (err.status === 405 || err.status === 501))) throw err;
        ({ res } = await request('GET'));
        await res.body?.cancel().catch(() => undefined);
      }
      const etag = res.headers.get('etag');
      if (etag) return `etag:${etag}`;
      const lastModified = res.headers.get('last-modified');
      if (lastModified) return `last-modified:${lastModified}`;
      return `unvalidated:${new Date().toISOString()}:${randomUUID()}`;
    },
    async open() {
      const { res, controller } = await request('GET');
      if (!res.body) throw new FeedError(`GET ${source}: empty body`, { source });
      return Readable.from(idleLimited(res.body as ReadableStream<Uint8Array>, controller, idleMs, source), { objectMode: false });
    },
  };
}

function fileSource(path: string, source: string): FeedSource {
  const fail = (err: unknown): never => {
    throw new FeedError(`${source}: cannot read ${path}: ${(err as { code?: string }).code ?? message(err)}`, { cause: err, source });
  };
  return {
    source,
    location: path,
    async fingerprint() {
      const st = await stat(path).catch(fail);
      return `size=${st.size};mtime=${st.mtime.toISOString()}`;
    },
    async open() {
      // Opened here, so that a missing or unreadable file fails now rather than on the first read.
      const fh = await openFile(path, 'r').catch(fail);
      return fh.createReadStream({ highWaterMark: 256 * KiB });
    },
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A source for a local JSON feed document of a known kind, named by kind: `nvd:<path>`, `kev:<path>`. */
function jsonFileSource(path: string, kind: JsonDocKind): FeedSource {
  return fileSource(path, `${kind === 'kev' ? 'kev' : 'nvd'}:${path}`);
}

/**
 * The feed sources a `--feed` value names. What a file holds is told by its *content*, not its name
 * (advisories/enrichment-feed.ts `sniffFile`):
 * - an `https://` URL (plain `http://` only to 127.0.0.1 / localhost): one source, fetched with the
 *   platform's `fetch`, its body streamed and told apart by content when read; an NVD CVE API 2.0 URL
 *   (path ending `/rest/json/cves/2.0`) is the paged, incremental API client (advisories/nvd-api.ts);
 * - a file: an OSV zip (`osv:<parent folder>` when named `all.zip`, else `file:<path>`), an NVD CVE API
 *   2.0 response page or a bare NVD `cve` object (`nvd:<path>`), or the CISA KEV catalog (`kev:<path>`);
 *   anything else (a JSON Schema, other JSON, other bytes) is refused with {@link FeedError};
 * - a folder holding `all.zip` itself: one source, `osv:<folder name>`;
 * - a folder of `<Ecosystem>/all.zip` (the layout of `gs://osv-vulnerabilities`): one source per
 *   ecosystem found, sorted by name;
 * - and in any folder (at most 4 levels deep): one `nvd:<folder>` source for all its NVD JSON files
 *   (pages and records; each CVE once; JSON files that do not parse are read — and reported skipped — by
 *   it), and one `kev:<file>` source per KEV catalog. Other files (READMEs, JSON Schemas) are not data.
 * Nothing is read yet but the files' kinds. Throws {@link FeedError} for a refused URL, a missing path, a
 * file that is not a feed or a folder without any.
 */
export async function openFeed(spec: string, opts: OpenFeedOptions = {}): Promise<FeedSource[]> {
  if (URL_LIKE.test(spec)) {
    if (isNvdApiUrl(spec)) return [nvdApiSource(spec, opts.nvd ?? {})];
    return [httpsSource(spec, opts)];
  }
  const path = resolve(spec);
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new FeedError(`feed ${spec}: ${(err as { code?: string }).code ?? message(err)}`, { cause: err });
  }
  if (st.isFile()) {
    const sniffed = await sniffFile(path).catch((err: unknown) => {
      throw new FeedError(`feed ${spec}: cannot read: ${(err as { code?: string }).code ?? message(err)}`, { cause: err });
    });
    switch (sniffed.kind) {
      case 'zip':
        return [fileSource(path, basename(path) === 'all.zip' ? `osv:${basename(dirname(path))}` : `file:${path}`)];
      case 'nvd-page':
      case 'nvd-cve':
      case 'kev':
        return [jsonFileSource(path, sniffed.kind)];
      case 'schema':
        throw new FeedError(`feed ${spec} is a JSON Schema, not feed data`);
      default:
        throw new FeedError(`feed ${spec} is none of the feeds trustctl reads (an OSV zip, an NVD CVE API 2.0 page or cve record, the CISA KEV catalog)${sniffed.error ? `: ${sniffed.error}` : ''}`);
    }
  }
  if (!st.isDirectory()) throw new FeedError(`feed ${spec} is neither a file nor a folder`);
  if (await isFile(join(path, 'all.zip'))) return [fileSource(join(path, 'all.zip'), `osv:${basename(path)}`)];
  const names = (await readdir(path)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const found: FeedSource[] = [];
  for (const name of names) {
    const zip = join(path, name, 'all.zip');
    if (await isFile(zip)) found.push(fileSource(zip, `osv:${name}`));
  }
  // Enrichment data anywhere in the folder, by content.
  const nvd: string[] = [];
  const broken: string[] = [];
  for (const rel of await listFiles(path)) {
    if (basename(rel) === 'all.zip') continue;
    const s = await sniffFile(join(path, rel)).catch(() => ({ kind: 'other' as const, error: undefined }));
    if (s.kind === 'nvd-page' || s.kind === 'nvd-cve') nvd.push(rel);
    else if (s.kind === 'kev') found.push(jsonFileSource(join(path, rel), 'kev'));
    else if (s.kind === 'unknown' && s.error !== undefined) broken.push(rel);
  }
  if (nvd.length > 0) found.push(nvdFolderSource(path, [...nvd, ...broken].sort()));
  if (found.length === 0) {
    const unreadable = broken.length > 0 ? ` (unreadable JSON: ${broken.slice(0, 3).join(', ')})` : '';
    throw new FeedError(`feed ${spec}: no NVD JSON, no KEV catalog${unreadable}, no all.zip and no <Ecosystem>/all.zip inside`);
  }
  return found;
}
