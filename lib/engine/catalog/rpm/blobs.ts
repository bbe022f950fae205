/** Header blobs read from one rpmdb file, with problems that cost individual records. */
export interface BlobsResult {
  readonly blobs: Buffer[];
  /** Per-record problems (the rest of the database was still read). */
  readonly errors: string[];
}
