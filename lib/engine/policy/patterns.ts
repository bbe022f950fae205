import { parseImageRef } from '../model';

/**
 * The small matching languages of the policy file: repository patterns (`registries.trusted`,
 * exception `scope.repository`) and package selectors (exception `package`). Kept apart from the
 * evaluation so that the parser can validate a pattern with the same code that later applies it.
 */

/**
 * Targets that are not registry images (lib/cli/targets.ts: archives on disk; `dir:` trees). They
 * must be recognised before {@link parseImageRef}, which would read `oci:dir` as the Docker Hub image
 * `library/oci` with tag `dir`.
 */
const NON_REGISTRY_PREFIXES = ['docker-archive:', 'oci-archive:', 'oci:', 'dir:'];

/**
 * `registry/repository` of an image reference, with Docker Hub short names expanded as `docker pull`
 * does (`alpine` → `docker.io/library/alpine`) and the host lower-cased (DNS names are
 * case-insensitive). `undefined` for anything that is not a registry image — an archive, a directory,
 * or a string that is no reference at all: a policy that lists trusted registries cannot vouch for it.
 */
export function imageRepository(ref: string): string | undefined {
  if (NON_REGISTRY_PREFIXES.some((p) => ref.startsWith(p))) return undefined;
  try {
    const r = parseImageRef(ref);
    return `${r.registry.toLowerCase()}/${r.repository}`;
  } catch {
    return undefined;
  }
}

/** A host pattern: DNS labels (or `*` within one), an optional port. */
const HOST_PATTERN = /^(?:[A-Za-z0-9*](?:[A-Za-z0-9*-]*[A-Za-z0-9*])?)(?:\.[A-Za-z0-9*](?:[A-Za-z0-9*-]*[A-Za-z0-9*])?)*(?::[0-9]{1,5})?$/;
/** A repository path pattern: lower-case components (distribution/reference), `*` and `**`. */
const PATH_PATTERN = /^[a-z0-9._*-]+(?:\/[a-z0-9._*-]+)*$/;

/**
 * Why `pattern` is not a valid repository pattern, or `undefined` when it is. A pattern is
 * `registry/repository`:
 * - in the registry host, `*` matches within one DNS label (`123456789012.dkr.ecr.*.amazonaws.com`
 *   is every region, but `ghcr.*` can never be `ghcr.io.evil.example`);
 * - in the repository, `*` matches within one path component and `**` across components
 *   (`ghcr.io/acme/*`, `ghcr.io/acme/**`; a `**` component between two slashes may also be no
 *   component at all, so `acme/` + `**` + `/web` matches `acme/web`), as in the trusted-bases file.
 * The registry is required — a bare `library/alpine` is rejected rather than guessed at, since
 * trusting the wrong registry is the very mistake this rule exists to prevent. No tag or digest: the
 * rules are about where an image comes from, and the verdict is per digest anyway.
 */
export function repositoryPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0 || pattern.length > 512) return 'must be 1 to 512 characters';
  const slash = pattern.indexOf('/');
  if (slash <= 0 || slash === pattern.length - 1) return 'must be registry/repository (e.g. ghcr.io/acme/*; ghcr.io/** for a whole registry)';
  const host = pattern.slice(0, slash);
  const path = pattern.slice(slash + 1);
  if (!(host.includes('.') || host.includes(':') || host.includes('*') || host === 'localhost')) {
    return `must start with a registry host (${JSON.stringify(host)} is not one: write docker.io/${pattern} for Docker Hub)`;
  }
  if (host.includes('**') || !HOST_PATTERN.test(host)) return `the registry ${JSON.stringify(host)} is not a host[:port] (\`*\` matches within one DNS label)`;
  if (/[:@]/.test(path)) return 'names a repository only: no tag or digest';
  if (!PATH_PATTERN.test(path)) return `the repository ${JSON.stringify(path)} must be lower-case path components with \`*\` or \`**\``;
  if (/\*{3,}/.test(path)) return '`***` is not a wildcard: use `*` (one path component) or `**` (any depth)';
  return undefined;
}

/** Docker Hub's official images live under `library/`, as {@link imageRepository} expands them. */
function normalizePattern(pattern: string): { host: string; path: string } {
  const slash = pattern.indexOf('/');
  const host = pattern.slice(0, slash).toLowerCase();
  const path = pattern.slice(slash + 1);
  return { host, path: host === 'docker.io' && !path.includes('/') && !path.includes('*') ? `library/${path}` : path };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The path part as a regular expression: a `**` component is zero or more components, `**` any characters, `*` any but `/`. */
function pathRegExp(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== '*') {
      out += escape(path[i]);
    } else if (path[i + 1] === '*') {
      if (path[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else {
      out += '[^/]*';
    }
  }
  return out;
}

const compiled = new Map<string, RegExp>();

/** The anchored regular expression of a (valid) repository pattern. */
function patternRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const { host, path } = normalizePattern(pattern);
    const hostRe = host.split('*').map(escape).join('[^./:]*');
    re = new RegExp(`^${hostRe}/${pathRegExp(path)}$`);
    // Policies are few and small; the cap only keeps a long-lived process from growing without bound.
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** True when the `registry/repository` string (from {@link imageRepository}) matches the (valid) pattern. */
export function matchesRepository(pattern: string, repository: string): boolean {
  return patternRegExp(pattern).test(repository);
}

/** The parts of a package URL the policy compares (purl-spec PURL-SPECIFICATION.rst). */
export interface PurlParts {
  readonly type: string;
  readonly namespace?: string;
  readonly name: string;
  readonly version?: string;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Splits `pkg:type/namespace/name@version?qualifiers#subpath`; `undefined` when it is not one.
 * Qualifiers and subpath are dropped: a policy names a package and maybe a version, not the
 * architecture or distro a cataloger recorded (`?arch=amd64&distro=debian-12`).
 */
export function parsePurl(s: string): PurlParts | undefined {
  if (!/^pkg:/i.test(s)) return undefined;
  let rest = s.slice(4).replace(/^\/+/, '');
  rest = rest.split('#', 1)[0].split('?', 1)[0];
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const type = rest.slice(0, slash).toLowerCase();
  let path = rest.slice(slash + 1).replace(/\/+$/, '');
  let version: string | undefined;
  // The version follows the last `@` of the last path segment (an npm scope's `@` is in an earlier one).
  const at = path.lastIndexOf('@');
  if (at > path.lastIndexOf('/')) {
    version = decode(path.slice(at + 1));
    path = path.slice(0, at);
  }
  const segments = path.split('/').filter((p) => p.length > 0).map(decode);
  if (segments.length === 0 || !/^[a-z][a-z0-9.+-]*$/.test(type)) return undefined;
  const name = segments[segments.length - 1];
  const namespace = segments.length > 1 ? segments.slice(0, -1).join('/') : undefined;
  return { type, name, ...(namespace !== undefined ? { namespace } : {}), ...(version ? { version } : {}) };
}

/**
 * True when a finding's package (its purl) is the one an exception names:
 * - a purl (`pkg:npm/lodash`, `pkg:deb/debian/openssl@3.0.11-1~deb12u2`) matches on type, namespace
 *   and name, and on the version only when the selector has one — so an exception can cover one
 *   build or every version;
 * - anything else is a package name, matched against the purl's name or `namespace/name`
 *   (`openssl`, `@angular/core`, `org.apache.logging.log4j/log4j-core`).
 * Names compare case-insensitively: PyPI and NuGet names are, and no ecosystem has two packages
 * that differ only in case that a team would want to tell apart in an exception.
 */
export function matchesPackage(selector: string, purl: string | undefined): boolean {
  if (purl === undefined) return false;
  const p = parsePurl(purl);
  if (!p) return selector === purl;
  const eq = (a: string | undefined, b: string | undefined): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
  const want = parsePurl(selector);
  if (want) return want.type === p.type && eq(want.namespace, p.namespace) && eq(want.name, p.name) && (want.version === undefined || want.version === p.version);
  return eq(selector, p.name) || (p.namespace !== undefined && eq(selector, `${p.namespace}/${p.name}`));
}
