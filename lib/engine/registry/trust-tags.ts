import { ImmutableTagError } from '../errors';
import type { Digest, VerdictStatus } from '../model';
import type { RegistryClient } from './client';

/**
 * The tag that shows a verdict in the registry (DESIGN.md "Fan out": a convenience for humans, never
 * read by enforcement — RELIABILITY.md 43): `trust-<status>-<first 12 hex of the digest>`, e.g.
 * `trust-quarantined-3f4f60575ede`. Per digest, so tags of different images never collide, and valid
 * under the distribution-spec tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
 */
export function trustTagFor(status: VerdictStatus, digest: Digest): string {
  const hex = digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
  return `trust-${status}-${hex}`;
}

/** What {@link applyTrustTag} did. */
export interface TrustTagOutcome {
  readonly tag: string;
  /** `written`: the tag now names the digest; `unchanged`: it already did; `immutable`: the repository refuses moving tags (recorded, skipped). */
  readonly result: 'written' | 'unchanged' | 'immutable';
  readonly message?: string;
}

/**
 * Writes the verdict's tag by pushing the digest's exact manifest bytes under it
 * (`RegistryClient.tagManifest`). Idempotent: an existing tag on the same digest is left alone. A
 * repository with immutable tags (ECR `IMMUTABLE`, Harbor immutability rules) answers with
 * {@link ImmutableTagError}: that is recorded and skipped, never an error of the verdict — the verdict
 * store, not the tag, is the truth. Other registry errors propagate so the caller retries.
 */
export async function applyTrustTag(client: RegistryClient, repo: string, digest: Digest, status: VerdictStatus): Promise<TrustTagOutcome> {
  const tag = trustTagFor(status, digest);
  try {
    return { tag, result: (await client.tagManifest(repo, digest, tag)) ? 'written' : 'unchanged' };
  } catch (e) {
    if (e instanceof ImmutableTagError) return { tag, result: 'immutable', message: e.message };
    throw e;
  }
}
