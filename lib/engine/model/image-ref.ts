import { InvalidReferenceError } from '../errors';
import { type Digest, isDigest } from './digest';

/**
 * A registry image reference, parsed with the grammar of distribution/reference (reference.go):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain '/'] path-component ['/' path-component]*
 *   tag        := [\w][\w.-]{0,127}
 *
 * Every part is validated against its strict pattern before it is used in a URL, a key or a path
 * (RELIABILITY.md 23). Docker Hub short names expand as `docker pull` does (`alpine` →
 * `docker.io/library/alpine`, served by `registry-1.docker.io`).
 */
export interface ImageRef {
  /** Registry host[:port], e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path, e.g. `team/service`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]{1,5})?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
/** distribution/reference's NameTotalLengthMax. */
const MAX_NAME = 255;

/** True for a valid tag. */
export function isTag(s: string): boolean {
  return TAG.test(s);
}

/** Validates a repository path (lowercase components separated by `/`). */
export function isRepository(s: string): boolean {
  return s.length > 0 && s.length <= MAX_NAME && s.split('/').every((c) => PATH_COMPONENT.test(c));
}

/** Parses `[registry/]repo[:tag][@digest]`; throws {@link InvalidReferenceError} when it is not one. */
export function parseImageRef(input: string): ImageRef {
  const s = input.trim();
  if (s.length === 0 || s.length > 1024) throw new InvalidReferenceError(`invalid image reference (length ${s.length})`);
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw new InvalidReferenceError(`invalid digest in image reference ${JSON.stringify(s)}`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!isTag(tag)) throw new InvalidReferenceError(`invalid tag in image reference ${JSON.stringify(s)}`);
    rest = rest.slice(0, colon);
  }
  const split = splitDomain(rest);
  const registry = split.registry;
  let repository = split.repository;
  if (!DOMAIN.test(registry)) throw new InvalidReferenceError(`invalid registry in image reference ${JSON.stringify(s)}`);
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!isRepository(repository)) throw new InvalidReferenceError(`invalid repository in image reference ${JSON.stringify(s)}`);
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * Splits `name` (without tag or digest) into registry and repository as distribution/reference does:
 * the first component is a domain when it has a dot, a port, is `localhost` or an IPv6 literal;
 * otherwise the registry is Docker Hub.
 */
export function splitDomain(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      return { registry: first, repository: name.slice(slash + 1) };
    }
  }
  return { registry: 'docker.io', repository: name };
}

/** The canonical string `registry/repository[:tag][@digest]`. */
export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
