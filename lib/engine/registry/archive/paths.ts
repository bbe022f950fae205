import { posix } from 'node:path';
import { InvalidReferenceError } from '../../errors';
import { type Digest, parseDigest } from '../../model';

/**
 * Validation of every name an image archive gives us before it is used to find a member
 * (RELIABILITY.md 23: annotations, tags, digests used as keys or paths are checked against strict
 * patterns first; case 1: `..`, absolute names and backslashes are refused). Member names are only
 * ever used to look a member up in the archive's own index or below the layout directory — never to
 * write anything — but a name that could climb out is refused outright rather than "contained".
 */

/** Upper bound on one member name; longer names are refused before any lookup. */
const MAX_MEMBER_NAME = 4096;

/**
 * Checks a member name taken from `manifest.json` (docker save) or built from a digest, and returns
 * its canonical form (`./` prefixes dropped). Refuses absolute paths, `..` components, backslashes,
 * NUL and control characters, and empty components other than a leading `./`.
 */
export function validateMemberPath(name: unknown, what = 'archive member name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_MEMBER_NAME) {
    throw new InvalidReferenceError(`invalid ${what}: ${JSON.stringify(String(name).slice(0, 200))}`);
  }
  // Backslashes are path separators on Windows (RELIABILITY.md 1) and never appear in names docker
  // or skopeo write; control characters have no business in a member name.
  if (name.startsWith('/') || name.includes('\\') || /[\x00-\x1f\x7f]/.test(name)) {
    throw new InvalidReferenceError(`invalid ${what} ${JSON.stringify(name.slice(0, 200))}: absolute or contains a forbidden character`);
  }
  let rest = name;
  while (rest.startsWith('./')) rest = rest.slice(2);
  const parts = rest.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '') || /^[A-Za-z]:/.test(rest)) {
    throw new InvalidReferenceError(`invalid ${what} ${JSON.stringify(name.slice(0, 200))}: must be a plain relative path without '..'`);
  }
  return rest;
}

/**
 * The canonical form of a name found in a tar header, for indexing: `./` prefixes and trailing `/`
 * dropped, duplicate separators collapsed. Returns `undefined` for names that climb out of the
 * archive or are absolute: they are never indexed, so no lookup can ever reach them.
 */
export function normalizeMemberName(raw: string): string | undefined {
  if (raw.startsWith('/') || raw.includes('\\') || raw.includes('\0')) return undefined;
  const n = posix.normalize(raw).replace(/\/+$/, '');
  if (n === '.' || n === '' || n === '..' || n.startsWith('../') || n.startsWith('/')) return undefined;
  return n;
}

/**
 * Where a blob lives in an OCI image layout: `blobs/<alg>/<encoded>` (image-spec image-layout.md,
 * "Blobs"). The digest is validated first (registered algorithms, lowercase hex of the right length),
 * so the path can hold nothing but `[a-z0-9]` and the two separators.
 */
export function blobPath(digest: string): string {
  const d = parseDigest(digest, 'blob digest');
  const colon = d.indexOf(':');
  return `blobs/${d.slice(0, colon)}/${d.slice(colon + 1)}`;
}

/**
 * The digest named by a `blobs/<alg>/<hex>` member path (Docker 25+ `docker save` lists layers this
 * way), or `undefined` when the path is not under `blobs/`. A path under `blobs/` that is not exactly
 * a valid digest is refused (RELIABILITY.md 23).
 */
export function digestFromBlobPath(path: string): Digest | undefined {
  if (!path.startsWith('blobs/')) return undefined;
  const parts = path.split('/');
  if (parts.length !== 3) throw new InvalidReferenceError(`invalid blob path ${JSON.stringify(path.slice(0, 200))}: expected blobs/<alg>/<hex>`);
  return parseDigest(`${parts[1]}:${parts[2]}`, `blob path ${JSON.stringify(path.slice(0, 200))}`);
}

/**
 * The grammar of `org.opencontainers.image.ref.name` (image-spec annotations.md):
 * `ref := component ("/" component)*`, `component := alphanum (separator alphanum)*`,
 * `separator := [-._:@+] | "--"`.
 */
const OCI_REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** True when `s` is a valid OCI layout reference name. */
export function isOciRefName(s: string): boolean {
  return s.length > 0 && s.length <= 1024 && OCI_REF_NAME.test(s);
}
