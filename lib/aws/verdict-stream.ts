import { gunzipSync } from 'node:zlib';
import { InvalidPipelineMessageError } from '../engine/pipeline/errors';
import { isDigest } from '../engine/model';
import { parseStoredVerdict } from '../engine/verdicts/order';
import type { StoredVerdict } from '../engine/verdicts/port';
import { A_PK, A_SK } from './dynamodb-table';

/**
 * One attribute of a stream record image: in a Lambda event binary values are base64 strings, from
 * `@aws-sdk/client-dynamodb-streams` GetRecords they are bytes. Only what the verdict item uses is read.
 */
export interface StreamAttribute {
  readonly S?: string;
  readonly N?: string;
  readonly B?: string | Uint8Array;
}

/** A stream record's `OldImage` / `NewImage`. */
export type StreamImage = Readonly<Record<string, StreamAttribute | undefined>>;

/** The verdict change a stream record carries (verdict-store.ts: the `VERDICT` item's old and new image). */
export interface VerdictChange {
  /** Absent for a digest's first verdict (an INSERT). */
  readonly previous?: StoredVerdict;
  readonly next: StoredVerdict;
}

/** A decoded verdict body is never this large (verdict-store.ts reads with the same cap). */
const MAX_VERDICT_JSON_BYTES = 64 * 1024 * 1024;

/**
 * The verdict held by a verdict-table item image (layout: verdict-store.ts `tableDefinition` —
 * `pk = DIGEST#<digest>`, `sk = VERDICT`, `body` = gzip of the StoredVerdict's JSON), or undefined
 * for any other item of the table (history, inventory, package index, ledger and claim items).
 * Throws InvalidPipelineMessageError for a verdict item that does not decode (the record goes to
 * the stream's failure destination rather than being read as "no verdict").
 */
export function verdictOfStreamImage(image: StreamImage | undefined): StoredVerdict | undefined {
  if (!image || image[A_SK]?.S !== 'VERDICT') return undefined;
  const pk = image[A_PK]?.S ?? '';
  const digest = pk.startsWith('DIGEST#') ? pk.slice('DIGEST#'.length) : '';
  if (!isDigest(digest)) throw new InvalidPipelineMessageError(`verdict stream record: key ${JSON.stringify(pk.slice(0, 200))} names no digest`);
  const body = image.body?.B;
  if (body === undefined) throw new InvalidPipelineMessageError(`verdict stream record of ${digest}: no body attribute`);
  let value: unknown;
  try {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'base64') : Buffer.from(body);
    value = JSON.parse(gunzipSync(bytes, { maxOutputLength: MAX_VERDICT_JSON_BYTES }).toString('utf8'));
  } catch (err) {
    throw new InvalidPipelineMessageError(`verdict stream record of ${digest}: body does not decode`, { cause: err });
  }
  try {
    return parseStoredVerdict(value, digest);
  } catch (err) {
    throw new InvalidPipelineMessageError(`verdict stream record of ${digest}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The verdict change of one stream record, or undefined when the record is not about a verdict (other
 * items of the table, or the removal of a verdict item, which the store never does).
 */
export function verdictChangeOf(oldImage: StreamImage | undefined, newImage: StreamImage | undefined): VerdictChange | undefined {
  const next = verdictOfStreamImage(newImage);
  if (!next) return undefined;
  const previous = verdictOfStreamImage(oldImage);
  return { ...(previous ? { previous } : {}), next };
}
