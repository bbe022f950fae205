import type { Digest } from '../../model';
import { parseImageRef } from '../../model';
import type { BaseImageRecord } from './catalog';

/**
 * Which known base image an image is built on, from layers alone: an image built `FROM b` starts
 * with b's layers, so its `rootfs.diff_ids` begin with b's. The base is the record whose `diffIds`
 * are the LONGEST prefix of the image's — the nearest ancestor (an app on `python:3.12`, itself on
 * `debian:12`, has python as its base). An image that is itself a catalogued base matches fully.
 * Labels, history and the config's `created` are not used: they are easy to forge, diff_ids are
 * content hashes the scan has verified.
 */

/** The detected base. */
export interface BaseImageMatch {
  /** How many of the image's layers are the base's. */
  readonly layers: number;
  /** Every record with exactly those diff_ids (the same layers under several refs, tags or configs). */
  readonly records: readonly BaseImageRecord[];
  /** The record reported: a trusted one when there is one (the layers are the same), else the first by ref. */
  readonly record: BaseImageRecord;
  /** True when any record with exactly these layers is trusted. */
  readonly trusted: boolean;
}

function isPrefix(prefix: readonly Digest[], of: readonly Digest[]): boolean {
  if (prefix.length === 0 || prefix.length > of.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== of[i]) return false;
  return true;
}

function byRef(a: BaseImageRecord, b: BaseImageRecord): number {
  return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** The base of an image with these `diff_ids` among `records`, or `undefined` when none is a prefix. */
export function detectBaseImage(diffIds: readonly Digest[], records: readonly BaseImageRecord[]): BaseImageMatch | undefined {
  let best = 0;
  let matched: BaseImageRecord[] = [];
  for (const r of records) {
    if (r.diffIds.length < best || !isPrefix(r.diffIds, diffIds)) continue;
    if (r.diffIds.length > best) {
      best = r.diffIds.length;
      matched = [];
    }
    matched.push(r);
  }
  if (matched.length === 0) return undefined;
  matched.sort(byRef);
  const record = matched.find((r) => r.trusted) ?? matched[0];
  return { layers: best, records: matched, record, trusted: record.trusted };
}

/**
 * The lineage a record's digests are compared within: `registry/repository:tag` for a tagged ref (a
 * tag that moved on to a newer digest), `registry/repository` for a ref by digest only (a list of
 * pinned digests). Records of one pattern but different repositories are never compared
 * (`public.ecr.aws/docker/library/*` holds debian and alpine), nor are different tags of one
 * repository (`debian:12-slim` is not an older `debian:12`).
 */
export function lineageOf(ref: string): { readonly repository: string; readonly tag?: string } {
  try {
    const r = parseImageRef(ref);
    // parseImageRef gives `latest` to a ref with neither tag nor digest; that is a tag too.
    return { repository: `${r.registry}/${r.repository}`, ...(r.tag !== undefined ? { tag: r.tag } : {}) };
  } catch {
    return { repository: ref.split('@')[0] };
  }
}

function time(r: BaseImageRecord): number {
  return r.created === undefined ? Number.NaN : Date.parse(r.created);
}

/**
 * A newer trusted digest for the matched trusted base: a trusted record of the same lineage (see
 * {@link lineageOf}; a tagged base compares with its tag, an untagged one with its whole repository)
 * with different layers and a later `created`. The newest such record, or `undefined` when the base
 * is current — or when `created` is missing on either side (nothing to compare).
 */
export function newerTrustedBase(match: BaseImageMatch, records: readonly BaseImageRecord[]): BaseImageRecord | undefined {
  const same = new Set(match.records);
  let newest: BaseImageRecord | undefined;
  for (const m of match.records) {
    if (!m.trusted) continue;
    const t = time(m);
    if (Number.isNaN(t)) continue;
    const lm = lineageOf(m.ref);
    for (const r of records) {
      if (!r.trusted || same.has(r) || r.digest === m.digest) continue;
      const rt = time(r);
      if (Number.isNaN(rt) || rt <= t) continue;
      const lr = lineageOf(r.ref);
      if (lr.repository !== lm.repository) continue;
      if (lm.tag !== undefined && lr.tag !== lm.tag) continue;
      if (!newest || rt > time(newest)) newest = r;
    }
  }
  return newest;
}
