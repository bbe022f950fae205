import { TrustError } from '../engine/errors';
import { type Digest, type ImageRef, parseImageRef } from '../engine/model';
import { matchesRepository, repositoryPatternProblem } from '../engine/policy/patterns';
import { instantNanos } from '../engine/verdicts/order';
import type { StoredVerdict, StoredVerdictReason, VerdictStore } from '../engine/verdicts/port';
import { TtlCache } from './cache';
import { formatDuration } from '../engine/duration';
import { AdmissionConfigError, LookupTimeoutError, UnreadableWorkloadError } from './errors';
import { type PodImage, extractImages, podSpecPath } from './images';
import {
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewRequest,
  type AdmissionReviewResponse,
  type StatusCause,
  parseAdmissionReview,
  reviewResponse,
} from './review';
import type { TagResolver } from './tag-resolver';

/**
 * The admission decision (DESIGN.md "Enforce"; RELIABILITY.md 35–42): an AdmissionReview in, an
 * AdmissionReview response out, with no I/O but through the injected ports (the verdict store, an
 * optional tag resolver, the clock). The server (./server.ts) and a future Lambda adapter only move
 * bytes. Kubernetes reference for every shape and rule here:
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
 *
 * Per image, in this order — the cheap local checks first, so that an image that fails them costs
 * no network call at all:
 * 1. a valid reference (distribution/reference grammar);
 * 2. its `registry/repository` on the trusted list (`trustedRegistries`, the policy file's pattern
 *    language; empty = any registry) — checked before any registry or store call (case 41);
 * 3. a digest: a tag-only image is denied on the validating path; on the mutating path with a tag
 *    resolver the tag is resolved, the digest checked and pinned by a JSON Patch (case 35);
 * 4. a verdict for that digest in the store, status trusted, evaluated within `maxVerdictAge`; no
 *    verdict, stale, quarantined, a store error or a lookup over `lookupTimeoutMs` deny (cases 38, 40).
 *
 * Index vs platform digest (case 42): the digest the Pod names is looked up as it is. The pipeline
 * stores an index's aggregate verdict under the index digest (quarantined if any platform is) and each
 * platform's verdict under its manifest digest. A Pod naming the index gets the aggregate — which
 * covers whichever platform the node pulls from it; a Pod naming one platform manifest gets that
 * manifest's verdict, and the node can pull nothing else by that digest. So a quarantined index is
 * denied even when the platform the node would choose is trusted on its own.
 */

/** What a namespace's failing images lead to: deny, admit with warnings, or no check at all. */
export type NamespaceMode = 'enforce' | 'warn' | 'off';

/** Which webhook called: the validating one never changes the object, the mutating one may pin tags. */
export type AdmissionPath = 'validate' | 'mutate';

const MODES: ReadonlySet<string> = new Set<NamespaceMode>(['enforce', 'warn', 'off']);

/** Configuration of {@link AdmissionController}; every field is optional. */
export interface AdmissionConfig {
  /** `registry/repository` patterns (`123456789012.dkr.ecr.*.amazonaws.com/**`, `ghcr.io/acme/*`); empty or absent: any registry. */
  readonly trustedRegistries?: readonly string[];
  /** Oldest `evaluatedAt` still accepted, in ms. Default 7 days: the nightly re-evaluation refreshes every live digest. */
  readonly maxVerdictAge?: number;
  /** Mode per namespace name; others get {@link AdmissionConfig.defaultMode}. */
  readonly namespaces?: Readonly<Record<string, NamespaceMode>>;
  /** Default `enforce` (DESIGN.md "Fail closed"). */
  readonly defaultMode?: NamespaceMode;
  /** Budget of one store lookup or tag resolution, in ms. Default 2000; must be below the webhook's timeout. */
  readonly lookupTimeoutMs?: number;
  /** How long a verdict (or "no verdict") is served from memory, in ms. Default 5000; 0 disables. Errors are never cached. */
  readonly cacheTtlMs?: number;
  /**
   * How long "no verdict" is served from memory, in ms, capped by `cacheTtlMs`. Default 2000; 0: a
   * miss is never cached. Kept short so that a long `cacheTtlMs` (fewer store reads for running
   * images) does not keep denying an image whose first verdict was just written.
   */
  readonly missCacheTtlMs?: number;
  /** Most digests cached. Default 10 000. */
  readonly maxCacheEntries?: number;
  /** The webhooks' `timeoutSeconds` (./manifests.ts default 5): the lookup budget is checked against it. */
  readonly webhookTimeoutSeconds?: number;
  /**
   * On UPDATE, also check images the old object already had. Default false: an update that keeps its
   * images (a label, a replica count, a finalizer removed on delete) brings nothing new to run, and
   * denying it would block scaling down or deleting a workload whose image was quarantined after it
   * started. Every Pod is still checked in full on its own CREATE.
   */
  readonly checkUnchangedOnUpdate?: boolean;
}

/** {@link AdmissionConfig} with every default applied. */
export type ResolvedAdmissionConfig = Required<AdmissionConfig>;

/** The defaults of {@link AdmissionConfig}. */
export const DEFAULT_ADMISSION_CONFIG: ResolvedAdmissionConfig = Object.freeze({
  trustedRegistries: [],
  maxVerdictAge: 7 * 24 * 3600 * 1000,
  namespaces: {},
  defaultMode: 'enforce',
  lookupTimeoutMs: 2000,
  cacheTtlMs: 5000,
  missCacheTtlMs: 2000,
  maxCacheEntries: 10_000,
  webhookTimeoutSeconds: 5,
  checkUnchangedOnUpdate: false,
});

/** Applies the defaults and validates; throws {@link AdmissionConfigError} on a bad value. */
export function resolveAdmissionConfig(config: AdmissionConfig = {}): ResolvedAdmissionConfig {
  const c: ResolvedAdmissionConfig = { ...DEFAULT_ADMISSION_CONFIG, ...stripUndefined(config) };
  for (const p of c.trustedRegistries) {
    const problem = repositoryPatternProblem(p);
    if (problem) throw new AdmissionConfigError(`trusted registry pattern ${JSON.stringify(p)} ${problem}`);
  }
  const positive = (name: keyof ResolvedAdmissionConfig, allowZero = false): void => {
    const v = c[name] as number;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new AdmissionConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`);
  };
  positive('maxVerdictAge');
  positive('lookupTimeoutMs');
  positive('cacheTtlMs', true);
  positive('missCacheTtlMs', true);
  positive('maxCacheEntries');
  positive('webhookTimeoutSeconds');
  if (!MODES.has(c.defaultMode)) throw new AdmissionConfigError(`defaultMode must be enforce, warn or off, got ${JSON.stringify(c.defaultMode)}`);
  for (const [ns, mode] of Object.entries(c.namespaces)) {
    if (!MODES.has(mode)) throw new AdmissionConfigError(`mode of namespace ${JSON.stringify(ns)} must be enforce, warn or off, got ${JSON.stringify(mode)}`);
  }
  // The API server gives up after timeoutSeconds and applies failurePolicy; we must answer (deny) first.
  if (c.lookupTimeoutMs >= c.webhookTimeoutSeconds * 1000) {
    throw new AdmissionConfigError(`lookupTimeoutMs (${c.lookupTimeoutMs}) must be below the webhook timeout (${c.webhookTimeoutSeconds} s)`);
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The ports of {@link AdmissionController}. */
export interface AdmissionPorts {
  /** Where verdicts are read, by digest. */
  readonly store: Pick<VerdictStore, 'get'>;
  /** Tag → digest, used on the mutating path only. Without it, a tag is denied on both paths. */
  readonly resolveTag?: TagResolver;
  /** Milliseconds since the epoch; default `Date.now` (tests inject a clock for TTL and staleness). */
  readonly now?: () => number;
  /** Where unexpected store and resolver errors are reported in full (the response carries a short form). */
  readonly log?: (message: string) => void;
  /**
   * Told of every digest a decision found a verdict for (./sightings.ts `AdmissionSightings`:
   * the nightly run re-evaluates digests in use). Must return at once and never throw. Absent: a
   * read-only caller records nothing.
   */
  readonly sightings?: { seen(digest: Digest): void };
}

/** Why one image is not admitted. */
export type ImageFailureKind =
  | 'unreadable'
  | 'invalid-reference'
  | 'untrusted-registry'
  | 'tag-not-pinned'
  | 'tag-unresolved'
  | 'no-verdict'
  | 'stale-verdict'
  | 'quarantined'
  | 'invalid-verdict'
  | 'store-unreachable';

/** One failing image. */
export interface ImageFailure {
  readonly kind: ImageFailureKind;
  /** One line, for the user: what is wrong and what to do. */
  readonly message: string;
  /** The verdict's reasons, for `quarantined`. */
  readonly reasons?: readonly StoredVerdictReason[];
}

/** The outcome for one image of the object. */
export interface ImageCheck {
  /** Where the image is (for an unreadable object: the path of what could not be read, `image` empty). */
  readonly image: PodImage;
  /** The digest checked: the one named, or the one the tag resolved to. */
  readonly digest?: Digest;
  /** For a tag pinned on the mutating path: the new `image` value, `registry/repository@digest`. */
  readonly pinned?: string;
  /** The verdict that decided, when one was read. */
  readonly verdict?: StoredVerdict;
  /** Absent when the image passes. */
  readonly failure?: ImageFailure;
}

/** One JSON Patch (RFC 6902) operation; we only ever replace an `image`. */
export interface JsonPatchOperation {
  readonly op: 'replace';
  readonly path: string;
  readonly value: string;
}

/** Everything a decision found, with the response it gives. */
export interface AdmissionDecision {
  readonly uid: string;
  readonly mode: NamespaceMode;
  readonly allowed: boolean;
  /** Why no image was checked: a kind without pod template, an operation we do not judge, the namespace's mode `off`. */
  readonly skipped?: 'kind' | 'operation' | 'mode-off';
  /** Every image checked, in object order. */
  readonly checks: readonly ImageCheck[];
  /** The checks that failed. */
  readonly failures: readonly ImageCheck[];
  /** The pins the response carries (mutating path, enforce mode, allowed). */
  readonly patch: readonly JsonPatchOperation[];
  readonly response: AdmissionResponse;
}

/** What a verdict lookup found; a lookup never rejects. */
export type VerdictLookup =
  | {
      readonly status: 'found';
      readonly verdict: StoredVerdict;
      /** `evaluatedAt` in ms since the epoch, parsed once when read (NaN when it is not RFC 3339). */
      readonly evaluatedMs: number;
    }
  | { readonly status: 'none' }
  | { readonly status: 'error'; readonly error: unknown };

/**
 * Runs `start` and settles as its promise does, or rejects with {@link LookupTimeoutError} after `ms`
 * (the promise is then abandoned, not cancelled: the port has no way to cancel). The timer is cleared
 * either way, and a synchronous throw from `start` is a rejection.
 */
export function withTimeout<T>(start: () => Promise<T>, ms: number, what: string): Promise<T> {
  let p: Promise<T>;
  try {
    p = start();
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LookupTimeoutError(what, ms)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** A short, single-line description of an error for a response: code and message, capped. */
function shortError(err: unknown): string {
  const text = err instanceof TrustError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

/** Most reasons of one quarantined verdict quoted in a message; the rest are counted. */
const MAX_REASONS_QUOTED = 5;
/** The API server may truncate warnings over 256 characters and drop many of them (docs, "Response"). */
const MAX_WARNING_CHARS = 256;
const MAX_WARNINGS = 32;

const ALLOW_EMPTY = (uid: string): AdmissionResponse => ({ uid, allowed: true });

/**
 * Decides AdmissionReviews against the verdict store. One instance serves every request of a
 * webhook process: it holds the verdict cache (per digest, `cacheTtlMs`) and the lookups in flight,
 * so that concurrent requests for the same digest share one store call.
 */
export class AdmissionController {
  /** The configuration with defaults applied. */
  readonly config: ResolvedAdmissionConfig;
  private readonly store: Pick<VerdictStore, 'get'>;
  private readonly resolveTag?: TagResolver;
  private readonly now: () => number;
  private readonly log?: (message: string) => void;
  private readonly sightings?: { seen(digest: Digest): void };
  /** Answers by digest: the cached object itself is returned on a hit (nothing allocated). */
  private readonly cache: TtlCache<VerdictLookup>;
  /** Parsed image strings and whether their repository is trusted: config-only facts, memoized. */
  private readonly images = new Map<string, ParsedImage>();
  private readonly inflight = new Map<string, Promise<VerdictLookup>>();
  private readonly anyRegistry: boolean;

  constructor(config: AdmissionConfig, ports: AdmissionPorts) {
    this.config = resolveAdmissionConfig(config);
    this.store = ports.store;
    this.resolveTag = ports.resolveTag;
    this.now = ports.now ?? Date.now;
    this.log = ports.log;
    this.sightings = ports.sightings;
    this.cache = new TtlCache(this.config.cacheTtlMs, this.config.maxCacheEntries);
    this.anyRegistry = this.config.trustedRegistries.length === 0;
    // A pinned tag costs a resolution and then a lookup, one after the other.
    if (this.resolveTag && 2 * this.config.lookupTimeoutMs >= this.config.webhookTimeoutSeconds * 1000) {
      throw new AdmissionConfigError(
        `with tag resolution, twice lookupTimeoutMs (${2 * this.config.lookupTimeoutMs}) must be below the webhook timeout (${this.config.webhookTimeoutSeconds} s)`,
      );
    }
  }

  /** The mode of `namespace` (the default for cluster-scoped requests). */
  modeFor(namespace: string | undefined): NamespaceMode {
    return (namespace !== undefined && Object.hasOwn(this.config.namespaces, namespace) ? this.config.namespaces[namespace] : undefined) ?? this.config.defaultMode;
  }

  /**
   * Parses a request body and answers it. Throws {@link AdmissionReviewError} for a body that is no
   * AdmissionReview v1 (the server answers 400); everything else, including an unreadable Pod, is an
   * answer with the request's uid.
   */
  async review(body: unknown, path: AdmissionPath): Promise<AdmissionReviewResponse> {
    const review = parseAdmissionReview(body);
    return reviewResponse((await this.decide(review, path)).response);
  }

  /** Decides one parsed review (see the module comment for the rules). */
  async decide(review: AdmissionReviewRequest, path: AdmissionPath): Promise<AdmissionDecision> {
    const req = review.request;
    const mode = this.modeFor(req.namespace);
    const skip = (skipped: AdmissionDecision['skipped']): AdmissionDecision => ({
      uid: req.uid,
      mode,
      allowed: true,
      skipped,
      checks: [],
      failures: [],
      patch: [],
      response: ALLOW_EMPTY(req.uid),
    });
    if (mode === 'off') return skip('mode-off');
    // DELETE and CONNECT bring no image to run (and our rules register neither).
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return skip('operation');
    if (!podSpecPath(req.kind)) return skip('kind');
    let images: PodImage[];
    try {
      images = extractImages(req.kind, req.object) ?? [];
    } catch (err) {
      if (!(err instanceof UnreadableWorkloadError)) throw err;
      const failure: ImageCheck = {
        image: { path: '', field: '', section: 'containers', index: 0, image: '' },
        failure: { kind: 'unreadable', message: err.message },
      };
      return this.finish(req, mode, path, [failure]);
    }
    if (req.operation === 'UPDATE' && !this.config.checkUnchangedOnUpdate) images = this.newImages(req, images);
    const checks = this.checkImages(images, path);
    return this.finish(req, mode, path, isPromise(checks) ? await checks : checks);
  }

  /** The images of an UPDATE's object that its old object did not have. */
  private newImages(req: AdmissionRequest, images: PodImage[]): PodImage[] {
    let old: PodImage[] | undefined;
    try {
      old = extractImages(req.kind, req.oldObject);
    } catch {
      // An unreadable old object: check everything.
      return images;
    }
    if (!old || old.length === 0) return images;
    const had = new Set(old.map((i) => i.image));
    return images.filter((i) => !had.has(i.image));
  }

  /** Checks every image; each distinct tag is resolved once and each distinct digest looked up once. */
  private checkImages(images: readonly PodImage[], path: AdmissionPath): ImageCheck[] | Promise<ImageCheck[]> {
    const resolutions = new Map<string, Promise<Digest>>();
    const lookups = new Map<string, Promise<VerdictLookup> | VerdictLookup>();
    const lookupOnce = (d: Digest): Promise<VerdictLookup> | VerdictLookup => {
      let l = lookups.get(d);
      if (l === undefined) lookups.set(d, (l = this.lookupVerdict(d)));
      return l;
    };
    const checks = images.map((image) => this.checkImage(image, path, resolutions, lookupOnce));
    // The warm path (every digest cached, no tag to resolve) stays synchronous: no promise per image.
    return checks.some(isPromise) ? Promise.all(checks) : (checks as ImageCheck[]);
  }

  /** The local checks, then the digest's verdict; synchronous unless a tag or an uncached digest needs I/O. */
  private checkImage(
    image: PodImage,
    path: AdmissionPath,
    resolutions: Map<string, Promise<Digest>>,
    lookupOnce: (d: Digest) => Promise<VerdictLookup> | VerdictLookup,
  ): ImageCheck | Promise<ImageCheck> {
    const parsed = this.parseImage(image.image);
    if ('error' in parsed) return failed(image, 'invalid-reference', `not a valid image reference: ${parsed.error}`);
    const { ref, repository } = parsed;
    if (!parsed.trusted) {
      return failed(image, 'untrusted-registry', `${repository} is not on the trusted registry list (${this.config.trustedRegistries.join(', ')})`);
    }
    if (ref.digest) return this.checkDigest(image, ref.digest, undefined, lookupOnce);
    const pinHint = `pin the digest: ${repository}@sha256:…`;
    if (path !== 'mutate' || !this.resolveTag) return failed(image, 'tag-not-pinned', `referenced by tag only (:${ref.tag}); ${pinHint}`);
    const key = `${repository}:${ref.tag}`;
    let r = resolutions.get(key);
    if (!r) {
      const resolve = this.resolveTag;
      resolutions.set(key, (r = withTimeout(() => resolve(ref), this.config.lookupTimeoutMs, `registry lookup of ${key}`)));
    }
    return r.then(
      (digest) => this.checkDigest(image, digest, `${repository}@${digest}`, lookupOnce),
      (err: unknown) => {
        this.log?.(`admission: resolving ${key} failed: ${shortError(err)}`);
        return failed(image, 'tag-unresolved', `cannot resolve the tag ${key} to a digest (${shortError(err)}); ${pinHint}`);
      },
    );
  }

  /** The verdict of `digest` for `image` (pinned from a tag when `pinned` is given). */
  private checkDigest(image: PodImage, digest: Digest, pinned: string | undefined, lookupOnce: (d: Digest) => Promise<VerdictLookup> | VerdictLookup): ImageCheck | Promise<ImageCheck> {
    const l = lookupOnce(digest);
    return isPromise(l) ? l.then((found) => this.afterLookup(image, digest, pinned, found)) : this.afterLookup(image, digest, pinned, l);
  }

  private afterLookup(image: PodImage, digest: Digest, pinned: string | undefined, found: VerdictLookup): ImageCheck {
    const extra: Partial<ImageCheck> = pinned ? { digest, pinned } : { digest };
    if (found.status === 'error') return failed(image, 'store-unreachable', `verdict store unreachable: ${shortError(found.error)}`, extra);
    if (found.status === 'none') return failed(image, 'no-verdict', `no verdict for ${digest}: the pipeline has not judged this image (push it to a scanned registry, or run trustctl scan)`, extra);
    // In use: the nightly run keeps its verdict fresh (issue 15 item 4). Synchronous, never throws.
    this.sightings?.seen(digest);
    return this.judge(image, found.verdict, found.evaluatedMs, digest, extra);
  }

  /** The reference, its `registry/repository` and whether that is on the trusted list — memoized per string. */
  private parseImage(text: string): ParsedImage {
    let p = this.images.get(text);
    if (p === undefined) {
      try {
        const ref = parseImageRef(text);
        const repository = `${ref.registry.toLowerCase()}/${ref.repository}`;
        p = { ref, repository, trusted: this.anyRegistry || this.config.trustedRegistries.some((pattern) => matchesRepository(pattern, repository)) };
      } catch (err) {
        p = { error: shortError(err) };
      }
      // Image strings are few in a cluster; the cap only bounds a hostile stream of unique ones.
      if (this.images.size >= MAX_PARSED_IMAGES) this.images.clear();
      this.images.set(text, p);
    }
    return p;
  }

  /** Trusted and fresh, or the failure. */
  private judge(image: PodImage, verdict: StoredVerdict, evaluatedMs: number, digest: Digest, extra: Partial<ImageCheck>): ImageCheck {
    const withVerdict = { image, ...extra, verdict };
    if (verdict.digest !== digest) {
      return { ...withVerdict, failure: { kind: 'invalid-verdict', message: `the verdict store answered for ${String(verdict.digest)} when asked for ${digest}` } };
    }
    if (verdict.status !== 'trusted') {
      const reasons = verdict.reasons ?? [];
      const quoted = reasons.slice(0, MAX_REASONS_QUOTED).map((r) => `${r.rule}: ${r.message}`);
      if (reasons.length > MAX_REASONS_QUOTED) quoted.push(`… ${reasons.length - MAX_REASONS_QUOTED} more`);
      const status = verdict.status === 'quarantined' ? 'quarantined' : `status ${JSON.stringify(verdict.status)}`;
      return { ...withVerdict, failure: { kind: 'quarantined', message: `${status} (evaluated ${verdict.evaluatedAt})${quoted.length > 0 ? `: ${quoted.join('; ')}` : ''}`, reasons } };
    }
    if (Number.isNaN(evaluatedMs)) {
      return { ...withVerdict, failure: { kind: 'invalid-verdict', message: `the verdict's evaluatedAt ${JSON.stringify(String(verdict.evaluatedAt).slice(0, 40))} is not an RFC 3339 time` } };
    }
    const age = this.now() - evaluatedMs;
    if (age > this.config.maxVerdictAge) {
      return {
        ...withVerdict,
        failure: {
          kind: 'stale-verdict',
          message: `verdict is stale: evaluated ${verdict.evaluatedAt}, ${formatDuration(Math.floor(age / 1000) * 1000)} ago, over the ${formatDuration(this.config.maxVerdictAge)} allowed; the image must be re-evaluated`,
        },
      };
    }
    return withVerdict;
  }

  /**
   * The verdict of `digest`: from the cache when fresh, else from the store within `lookupTimeoutMs`,
   * sharing a lookup already in flight. Returns synchronously on a cache hit (the warm path allocates
   * nothing). Answers are cached — a verdict for `cacheTtlMs`, "none" for `missCacheTtlMs` at most;
   * errors and timeouts never are.
   */
  lookupVerdict(digest: Digest): Promise<VerdictLookup> | VerdictLookup {
    const hit = this.cache.get(digest, this.now());
    if (hit !== undefined) return hit;
    let p = this.inflight.get(digest);
    if (!p) {
      p = this.fetchLookup(digest);
      this.inflight.set(digest, p);
    }
    return p;
  }

  private async fetchLookup(digest: Digest): Promise<VerdictLookup> {
    try {
      const v = await this.fetchVerdict(digest);
      const found: VerdictLookup = v ? { status: 'found', verdict: v, evaluatedMs: parseInstantMs(v.evaluatedAt) } : NONE;
      this.cache.set(digest, found, this.now(), v ? this.config.cacheTtlMs : this.config.missCacheTtlMs);
      return found;
    } catch (error) {
      this.log?.(`admission: verdict lookup of ${digest} failed: ${shortError(error)}`);
      return { status: 'error', error };
    } finally {
      this.inflight.delete(digest);
    }
  }

  /** One uncached store read within `lookupTimeoutMs` (the verdict API's read); rejects on error or timeout. */
  fetchVerdict(digest: Digest): Promise<StoredVerdict | undefined> {
    return withTimeout(() => this.store.get(digest), this.config.lookupTimeoutMs, `verdict store lookup of ${digest}`);
  }

  /** Forgets every cached verdict (e.g. after a known store update). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Builds the decision and its response from the checks. */
  private finish(req: AdmissionRequest, mode: NamespaceMode, path: AdmissionPath, checks: readonly ImageCheck[]): AdmissionDecision {
    const failures = checks.filter((c) => c.failure);
    const base = { uid: req.uid, mode, checks, failures };
    if (failures.length === 0) {
      const patch: JsonPatchOperation[] = [];
      if (path === 'mutate' && mode === 'enforce') {
        for (const c of checks) if (c.pinned) patch.push({ op: 'replace', path: c.image.path, value: c.pinned });
      }
      const response: AdmissionResponse =
        patch.length > 0 ? { uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : ALLOW_EMPTY(req.uid);
      return { ...base, allowed: true, patch, response };
    }
    if (mode === 'warn') {
      // Short lines (the docs ask for ≤ 120 characters where possible): the path, then the reason, which names the repository.
      // Warn observes and changes nothing: no patch either, so that switching a namespace to enforce is the only change.
      const warnings = failures.slice(0, MAX_WARNINGS).map((c) => capWarning(`trustctl would deny ${c.image.path || 'the object'}: ${c.failure!.message}`));
      if (failures.length > MAX_WARNINGS) warnings.push(`trustctl would deny ${failures.length - MAX_WARNINGS} more images`);
      return { ...base, allowed: true, patch: [], response: { uid: req.uid, allowed: true, warnings } };
    }
    const what = `${req.kind.kind}${req.name ? ` ${req.name}` : ''}${req.namespace ? ` in namespace ${req.namespace}` : ''}`;
    const head = failures[0].failure!.kind === 'unreadable' ? `trustctl denied the ${what}` : `trustctl denied ${failures.length} of ${checks.length} image${checks.length === 1 ? '' : 's'} of the ${what}`;
    const message = `${head}:\n${failures.map((c) => `- ${describeImage(c)}: ${c.failure!.message}`).join('\n')}`;
    const causes: StatusCause[] = failures.map((c) => ({ reason: 'FieldValueForbidden', message: c.failure!.message, ...(c.image.field ? { field: c.image.field } : {}) }));
    return {
      ...base,
      allowed: false,
      patch: [],
      response: { uid: req.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message, details: { causes } } },
    };
  }
}

const NONE: VerdictLookup = Object.freeze({ status: 'none' });

/** A failing check. */
function failed(image: PodImage, kind: ImageFailureKind, message: string, extra: Partial<ImageCheck> = {}): ImageCheck {
  return { image, ...extra, failure: { kind, message } };
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown })?.then === 'function';
}

/** Most image strings memoized by {@link AdmissionController}. */
const MAX_PARSED_IMAGES = 10_000;

/** A memoized image string: parsed, or why not. */
type ParsedImage = { readonly ref: ImageRef; readonly repository: string; readonly trusted: boolean } | { readonly error: string };

/** An RFC 3339 time in ms since the epoch (exact for any offset and precision), NaN when it is none. */
function parseInstantMs(timestamp: string): number {
  try {
    return Number(instantNanos(timestamp) / 1_000_000n);
  } catch {
    return Number.NaN;
  }
}

/** `/spec/containers/0/image (app) "ghcr.io/acme/app:1"`, or the object for an unreadable one. */
function describeImage(c: ImageCheck): string {
  if (!c.image.path) return 'object';
  return `${c.image.path}${c.image.container ? ` (${c.image.container})` : ''} ${JSON.stringify(c.image.image.slice(0, 300))}`;
}

function capWarning(s: string): string {
  return s.length <= MAX_WARNING_CHARS ? s : `${s.slice(0, MAX_WARNING_CHARS - 1)}…`;
}
