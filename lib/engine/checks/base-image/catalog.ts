import type { Digest } from '../../model';
import { isDigest, parseImageRef } from '../../model';

/**
 * The base images the check knows (the resolver port of issue "Beyond packages", item 4). An adapter
 * outside the engine builds the records from a trusted-bases file ({@link parseTrustedBases}): it
 * resolves every digest entry and every pattern (listing a repository's tags, a path's repositories)
 * to concrete manifests, reads their configs for `rootfs.diff_ids` and `created`, and marks each
 * record with {@link trustOf}. The engine only reads the records.
 */

/** One concrete base image. */
export interface BaseImageRecord {
  /** `registry/repository[:tag][@digest]`, e.g. `docker.io/library/debian:12`. */
  readonly ref: string;
  /** Its manifest digest. */
  readonly digest: Digest;
  /** Its config's `rootfs.diff_ids`, base first: an image built on it starts with these. */
  readonly diffIds: readonly Digest[];
  /** Its config's `created` (RFC 3339): orders the digests of one repository / tag. */
  readonly created?: string;
  /** Whether the configuration trusts it (`false`: a known base, recognised but not trusted). */
  readonly trusted: boolean;
  /** The pattern of the trusted-bases file it was resolved from, if any. */
  readonly pattern?: string;
}

/** The port: every base image known, trusted or not. */
export interface BaseImageCatalog {
  entries(): Promise<readonly BaseImageRecord[]>;
}

/** Checks a record's fields; throws a TypeError naming the record. */
export function validateBaseImageRecord(r: BaseImageRecord): BaseImageRecord {
  const name = JSON.stringify(r?.ref ?? null);
  if (typeof r?.ref !== 'string' || r.ref === '') throw new TypeError(`base image record ${name}: ref must be a non-empty string`);
  parseImageRef(r.ref);
  if (!isDigest(r.digest)) throw new TypeError(`base image record ${name}: invalid digest ${JSON.stringify(r.digest)}`);
  if (!Array.isArray(r.diffIds) || r.diffIds.length === 0 || !r.diffIds.every(isDigest)) throw new TypeError(`base image record ${name}: diffIds must be a non-empty list of digests`);
  if (typeof r.trusted !== 'boolean') throw new TypeError(`base image record ${name}: trusted must be a boolean`);
  if (r.created !== undefined && Number.isNaN(Date.parse(r.created))) throw new TypeError(`base image record ${name}: created ${JSON.stringify(r.created)} is not a date`);
  return r;
}

/** A catalog held in memory (tests, the CLI with pre-resolved records). Records are validated on the way in. */
export class InMemoryBaseImageCatalog implements BaseImageCatalog {
  private readonly records: BaseImageRecord[];

  constructor(records: readonly BaseImageRecord[] = []) {
    this.records = records.map(validateBaseImageRecord);
  }

  /** Adds a record (an adapter filling the catalog as it resolves). */
  add(record: BaseImageRecord): void {
    this.records.push(validateBaseImageRecord(record));
  }

  async entries(): Promise<readonly BaseImageRecord[]> {
    return [...this.records];
  }
}
