import { LineCounter, type Node, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { TrustError } from '../../errors';
import { type Digest, type ImageRef, isDigest, parseImageRef, splitDomain } from '../../model';

/**
 * The trusted-bases file: which base images an organisation vets (issue "Beyond packages", item 4).
 *
 * ## Format (YAML; JSON is accepted too, being YAML)
 *
 * ```yaml
 * version: 1                  # optional; 1 is the only version
 * bases:
 *   # 1. One pinned digest: registry/repository[:tag]@sha256:…
 *   - image: docker.io/library/debian:12-slim@sha256:<64 hex>
 *   # 2. Several digests of one repository.
 *   - image: public.ecr.aws/docker/library/alpine
 *     digests:
 *       - sha256:<64 hex>
 *       - sha256:<64 hex>
 *   # 3. A pattern: every tag of a repository, or every repository under a path. A registry
 *   #    adapter outside the engine resolves patterns to concrete digests and diff_ids.
 *   - pattern: docker.io/library/debian:*
 *   - pattern: public.ecr.aws/docker/library/*
 *   - pattern: registry.example.com/base/**:stable-*
 *   # 4. A known base that is NOT trusted (recognised, reported by name): trusted: false.
 *   - pattern: docker.io/library/centos:*
 *     trusted: false
 *     note: end of life since 2024-06-30
 * ```
 *
 * Entry keys: exactly one of `image` / `pattern`; `digests` (only with an `image` that has no
 * `@digest`); `trusted` (boolean, default `true`); `note` (free text). Any other key is an error, so a
 * typo (`digest:`) never silently trusts nothing — or everything.
 *
 * Names follow `docker pull`: `debian` is `docker.io/library/debian`, `bitnami/redis` is
 * `docker.io/bitnami/redis`; a first component with a dot, a port or `localhost` is the registry.
 * In a pattern, `*` matches within one repository path component (`library/*` is every repository
 * directly under `library/`), `**` matches across components, and in the tag `*` matches anything;
 * no tag means every tag. The registry part never holds a wildcard. A digest matches by digest alone
 * (its tag, if written, is informative).
 *
 * When entries disagree — a ref matched by a trusted entry and by a `trusted: false` one — the
 * untrusted one wins.
 *
 * Every error names the entry (1-based) and its line: `trusted-bases.yaml: entry 3 (line 9): …`.
 */

/** The trusted-bases file does not follow the format above. */
export class TrustedBasesError extends TrustError {
  constructor(message: string, readonly line?: number, readonly entry?: number) {
    super('BAD_TRUSTED_BASES', message);
  }
}

interface EntryCommon {
  /** Whether images matching the entry are trusted (`false`: known, recognised, not trusted). */
  readonly trusted: boolean;
  readonly note?: string;
  /** 1-based position in `bases`. */
  readonly entry: number;
  /** 1-based line of the entry in the file. */
  readonly line: number;
}

/** An entry naming concrete digests of one repository. */
export interface DigestBaseEntry extends EntryCommon {
  readonly kind: 'digests';
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digests: readonly Digest[];
}

/** An entry naming repositories and tags by pattern. */
export interface PatternBaseEntry extends EntryCommon {
  readonly kind: 'pattern';
  /** The canonical pattern `registry/repository-glob:tag-glob`. */
  readonly pattern: string;
  readonly registry: string;
  readonly repository: string;
  /** `*` when the file gave no tag. */
  readonly tag: string;
}

export type TrustedBaseEntry = DigestBaseEntry | PatternBaseEntry;

/** A parsed trusted-bases file. */
export interface TrustedBasesConfig {
  readonly version: 1;
  readonly bases: readonly TrustedBaseEntry[];
}

const ENTRY_KEYS: ReadonlySet<string> = new Set(['image', 'pattern', 'digests', 'trusted', 'note']);
const TOP_KEYS: ReadonlySet<string> = new Set(['version', 'bases']);
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]{1,5})?$/;
const REPO_COMPONENT_GLOB = /^(?:\*\*|[a-z0-9*]+(?:(?:[._]|__|-+)[a-z0-9*]+)*)$/;
const TAG_GLOB = /^[\w.*-]{1,128}$/;

/** Parses a repository pattern (`debian:*`, `public.ecr.aws/docker/library/*`); throws a plain Error with the reason. */
export function parseBasePattern(input: string): { registry: string; repository: string; tag: string; pattern: string } {
  const s = input.trim();
  if (s === '') throw new Error('empty pattern');
  if (s.includes('@')) throw new Error(`pattern ${JSON.stringify(s)} names a digest: use "image:" for digests`);
  let rest = s;
  let tag = '*';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_GLOB.test(tag)) throw new Error(`invalid tag pattern ${JSON.stringify(tag)} in ${JSON.stringify(s)}`);
  }
  const split = splitDomain(rest);
  const registry = split.registry;
  let repository = split.repository;
  if (registry.includes('*')) throw new Error(`the registry of pattern ${JSON.stringify(s)} cannot hold a wildcard`);
  if (!REGISTRY.test(registry)) throw new Error(`invalid registry ${JSON.stringify(registry)} in pattern ${JSON.stringify(s)}`);
  if (registry === 'docker.io' && !repository.includes('/') && repository !== '**') repository = `library/${repository}`;
  const parts = repository.split('/');
  if (repository === '' || !parts.every((c) => REPO_COMPONENT_GLOB.test(c))) throw new Error(`invalid repository pattern ${JSON.stringify(repository)} in ${JSON.stringify(s)}`);
  return { registry, repository, tag, pattern: `${registry}/${repository}:${tag}` };
}

/** A glob as an anchored regular expression: `**` any characters, `*` any but `/` (or any, in a tag). */
function globRegExp(glob: string, slashAware: boolean): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `a/**/b` also matches `a/b`; `a/**` matches everything below `a/`.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i++;
        }
      } else {
        out += slashAware ? '[^/]*' : '.*';
      }
    } else {
      out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** True when the concrete `ref` is matched by the pattern entry. A ref without a tag matches only a `*` tag pattern. */
export function patternMatches(entry: Pick<PatternBaseEntry, 'registry' | 'repository' | 'tag'>, ref: ImageRef): boolean {
  if (ref.registry.toLowerCase() !== entry.registry.toLowerCase()) return false;
  if (!globRegExp(entry.repository, true).test(ref.repository)) return false;
  if (ref.tag === undefined) return entry.tag === '*';
  return globRegExp(entry.tag, false).test(ref.tag);
}

/** The entries of `config` that match `ref` (a pattern by name, a digest entry by repository and digest). */
export function matchingEntries(config: TrustedBasesConfig, ref: string | ImageRef): TrustedBaseEntry[] {
  const r = typeof ref === 'string' ? parseImageRef(ref) : ref;
  return config.bases.filter((e) => {
    if (e.kind === 'pattern') return patternMatches(e, r);
    return r.digest !== undefined && e.registry.toLowerCase() === r.registry.toLowerCase() && e.repository === r.repository && e.digests.includes(r.digest);
  });
}

/**
 * Whether `config` trusts `ref`: some entry matches and none of the matching ones says
 * `trusted: false`. `known` is true when any entry matches. For the registry adapter that turns the
 * configuration into {@link BaseImageRecord}s.
 */
export function trustOf(config: TrustedBasesConfig, ref: string | ImageRef): { readonly trusted: boolean; readonly known: boolean; readonly entries: readonly TrustedBaseEntry[] } {
  const entries = matchingEntries(config, ref);
  return { trusted: entries.length > 0 && entries.every((e) => e.trusted), known: entries.length > 0, entries };
}

/**
 * Parses a trusted-bases file (see the module documentation for the format). Throws
 * {@link TrustedBasesError} naming the line — and the entry — of the first problem.
 * `source` (a file name) prefixes every message.
 */
export function parseTrustedBases(text: string, source = 'trusted bases'): TrustedBasesConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: true });
  const fail = (msg: string, node?: Node | null, entry?: number): never => {
    const line = node?.range ? lc.linePos(node.range[0]).line : undefined;
    const where = [entry !== undefined ? `entry ${entry}` : '', line !== undefined ? `line ${line}` : ''].filter((w) => w !== '');
    const prefix = entry !== undefined && line !== undefined ? `entry ${entry} (line ${line})` : where.join(' ');
    throw new TrustedBasesError(`${source}: ${prefix ? `${prefix}: ` : ''}${msg}`, line, entry);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0].line;
    throw new TrustedBasesError(`${source}: ${line !== undefined ? `line ${line}: ` : ''}not valid YAML or JSON: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, line);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) fail('the file is empty: expected a mapping with a "bases" list');
  if (!isMap(root)) return fail('expected a mapping with a "bases" list at the top', root);
  let basesNode: Node | null = null;
  const version = 1 as const;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as Node | null;
    if (!TOP_KEYS.has(key)) fail(`unknown key ${JSON.stringify(key)} (expected "version" and "bases")`, pair.key as Node);
    if (key === 'version') {
      if (!isScalar(value) || (value.value !== 1 && value.value !== '1')) fail(`unsupported version ${JSON.stringify(isScalar(value) ? value.value : null)}: only version 1 exists`, value ?? (pair.key as Node));
    }
    if (key === 'bases') basesNode = value ?? (pair.key as Node);
  }
  if (basesNode === null) return fail('missing "bases": the list of base images', root);
  if (!isSeq(basesNode)) {
    if (isScalar(basesNode) && basesNode.value === null) return { version, bases: [] };
    return fail('"bases" must be a list', basesNode);
  }
  const bases: TrustedBaseEntry[] = basesNode.items.map((item, i) => parseEntry(item as Node | null, i + 1, (msg, node) => fail(msg, node ?? (item as Node), i + 1), lc));
  return { version, bases };
}

function parseEntry(node: Node | null, entry: number, fail: (msg: string, node?: Node | null) => never, lc: LineCounter): TrustedBaseEntry {
  if (!isMap(node)) return fail('each entry must be a mapping with "image" or "pattern"', node);
  const line = node.range ? lc.linePos(node.range[0]).line : 0;
  const fields = new Map<string, Node | null>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!ENTRY_KEYS.has(key)) fail(`unknown key ${JSON.stringify(key)} (expected image, pattern, digests, trusted, note)`, pair.key as Node);
    fields.set(key, pair.value as Node | null);
  }
  const str = (key: string): string | undefined => {
    if (!fields.has(key)) return undefined;
    const v = fields.get(key) ?? null;
    if (!isScalar(v) || typeof v.value !== 'string' || v.value.trim() === '') return fail(`"${key}" must be a non-empty string`, v);
    return v.value.trim();
  };
  let trusted = true;
  if (fields.has('trusted')) {
    const v = fields.get('trusted') ?? null;
    if (!isScalar(v) || typeof v.value !== 'boolean') fail('"trusted" must be true or false', v);
    else trusted = v.value;
  }
  const note = str('note');
  const common = { trusted, entry, line, ...(note !== undefined ? { note } : {}) };
  const image = str('image');
  const pattern = str('pattern');
  if ((image === undefined) === (pattern === undefined)) fail('give exactly one of "image" (digests) or "pattern"');

  if (pattern !== undefined) {
    if (fields.has('digests')) fail('"digests" goes with "image", not with "pattern"', fields.get('digests'));
    try {
      return { kind: 'pattern', ...parseBasePattern(pattern), ...common };
    } catch (err) {
      return fail((err as Error).message, fields.get('pattern'));
    }
  }

  if (image!.includes('*')) fail(`"image" ${JSON.stringify(image)} holds a wildcard: use "pattern"`, fields.get('image'));
  let ref: ImageRef;
  try {
    ref = parseImageRef(image!);
  } catch (err) {
    return fail((err as Error).message, fields.get('image'));
  }
  const digests: Digest[] = ref.digest ? [ref.digest] : [];
  if (fields.has('digests')) {
    const v = fields.get('digests') ?? null;
    if (ref.digest) fail(`"image" already names a digest: give digests either there or in "digests"`, v);
    if (!isSeq(v) || v.items.length === 0) fail('"digests" must be a non-empty list of sha256:… digests', v);
    for (const d of (v as { items: unknown[] }).items) {
      const value = isScalar(d) ? d.value : undefined;
      if (!isDigest(value)) fail(`invalid digest ${JSON.stringify(value ?? null)} (expected sha256:<64 hex> or sha512:<128 hex>)`, d as Node);
      else digests.push(value);
    }
  }
  if (digests.length === 0) fail(`"image" ${JSON.stringify(image)} names no digest: add @sha256:… or a "digests" list, or use "pattern" for a tag or repository`, fields.get('image'));
  // A ref without a tag gets `latest` from parseImageRef; a digest entry keeps only the tag it was given.
  const name = image!.split('@')[0];
  const tagGiven = name.lastIndexOf(':') > name.lastIndexOf('/');
  return {
    kind: 'digests',
    registry: ref.registry,
    repository: ref.repository,
    ...(tagGiven && ref.tag ? { tag: ref.tag } : {}),
    digests: [...new Set(digests)],
    ...common,
  };
}
