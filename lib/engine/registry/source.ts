import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '../model';

/** A manifest or index document exactly as stored, with the digest it was verified against. */
export interface ManifestBytes {
  /** Media type from the transport (Content-Type, descriptor) or from the document's own `mediaType`. */
  readonly mediaType: string;
  /** Digest of `bytes`; when the request was by digest, `bytes` was verified to hash to it. */
  readonly digest: Digest;
  readonly bytes: Buffer;
}

/**
 * Where an image's content comes from: a registry repository, a `docker save` archive, an OCI
 * archive or an OCI layout directory. The engine reads every image through this port only, so the
 * scan flow is the same whatever the source (../shared/DESIGN.md, lib/engine/registry).
 *
 * Implementations validate every digest before they use it as a URL part or a path (RELIABILITY.md 23),
 * cap manifest sizes, and verify every blob's digest and size while it streams (RELIABILITY.md 18).
 */
export interface ImageSource {
  /** What to call this source in messages and reports, e.g. `127.0.0.1:5000/app:1.0` or `oci-archive:/tmp/a.tar`. */
  readonly name: string;
  /** The manifest or index the user named (by tag, digest or archive entry). */
  getRootManifest(): Promise<ManifestBytes>;
  /** A manifest by digest (a platform manifest of an index), verified against the digest. */
  getManifest(digest: Digest): Promise<ManifestBytes>;
  /**
   * The blob's bytes as a stream. The stream errors with DigestMismatchError / SizeMismatchError
   * when the content does not match `desc` — consumers must treat everything read as unverified until
   * the stream ends without error.
   */
  openBlob(desc: Descriptor): Promise<Readable>;
  /** Releases file handles or connections. */
  close?(): Promise<void>;
}

/** Registry credentials: HTTP Basic (also exchanged for a Bearer token) or a ready identity token. */
export type Credentials =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'token'; readonly token: string };

/**
 * A port that supplies credentials for a registry host: ECR's GetAuthorizationToken in lib/aws,
 * the Docker config file or environment locally. Returning `undefined` means anonymous access.
 * Implementations must never log what they return.
 */
export interface CredentialProvider {
  getCredentials(registry: string): Promise<Credentials | undefined>;
}
