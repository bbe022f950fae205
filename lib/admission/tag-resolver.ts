import { NotFoundError } from '../engine/errors';
import { DEFAULT_LIMITS, type Limits } from '../engine/limits';
import type { Digest, ImageRef } from '../engine/model';
import { RegistryClient, type RegistryClientOptions } from '../engine/registry/client';
import type { CredentialProvider } from '../engine/registry/source';

/**
 * The port the mutating path resolves a tag through: `registry/repo:tag` → the digest the tag names
 * now (an image manifest, or an index for a multi-platform image). Rejects when the tag does not
 * exist or the registry cannot be asked; the decision then denies (fail closed).
 */
export type TagResolver = (ref: ImageRef) => Promise<Digest>;

/** Options of {@link registryTagResolver}. */
export interface RegistryTagResolverOptions {
  /** Credentials per registry (the CLI's chain: env, Docker config, then ECR). Default: anonymous. */
  readonly credentials?: CredentialProvider;
  readonly limits?: Limits;
  /** Milliseconds to wait for the registry's response headers. Default 2000: the webhook has seconds, not minutes. */
  readonly headersTimeoutMs?: number;
  /** Registry client options passed through (insecure, retries, userAgent). */
  readonly client?: Partial<Pick<RegistryClientOptions, 'insecure' | 'retries' | 'userAgent'>>;
}

/**
 * A {@link TagResolver} on the OCI distribution API: HEAD `/v2/<repo>/manifests/<tag>` and read
 * `Docker-Content-Digest` (falling back to a verified GET when a registry omits it), with one
 * {@link RegistryClient} per registry so that tokens are reused across requests.
 *
 * Trusting the registry's answer here is safe: whatever digest it names is the one we look the
 * verdict up for and the one the patch pins, and the kubelet verifies the content it pulls against
 * that digest — a lying registry can make us deny, never admit unjudged content.
 */
export function registryTagResolver(options: RegistryTagResolverOptions = {}): TagResolver {
  const clients = new Map<string, RegistryClient>();
  const clientFor = (registry: string): RegistryClient => {
    let c = clients.get(registry);
    if (!c) {
      c = new RegistryClient({
        registry,
        limits: options.limits ?? DEFAULT_LIMITS,
        credentials: options.credentials,
        headersTimeoutMs: options.headersTimeoutMs ?? 2000,
        // One quick retry at most: the decision has a deadline of its own.
        retries: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 200, maxRetryAfterMs: 500, ...(options.client?.retries ?? {}) },
        ...(options.client?.insecure !== undefined ? { insecure: options.client.insecure } : {}),
        ...(options.client?.userAgent !== undefined ? { userAgent: options.client.userAgent } : {}),
      });
      clients.set(registry, c);
    }
    return c;
  };
  return async (ref: ImageRef): Promise<Digest> => {
    if (ref.digest) return ref.digest;
    const tag = ref.tag ?? 'latest';
    const head = await clientFor(ref.registry).headManifest(ref.repository, tag);
    if (!head) throw new NotFoundError(`tag ${ref.registry}/${ref.repository}:${tag} does not exist`);
    return head.digest;
  };
}
