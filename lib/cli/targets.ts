import type { Limits } from '../engine/limits';
import { parseImageRef } from '../engine/model';
import { openArchiveSource } from '../engine/registry/archive';
import { RegistryClient } from '../engine/registry/client';
import { RegistrySource } from '../engine/registry/registry-source';
import type { CredentialProvider, ImageSource } from '../engine/registry/source';
import { EcrCredentialProvider } from '../aws/ecr-credentials';
import { ChainCredentialProvider, defaultCredentialProvider } from '../local/credentials';

/** Help text for a `<target>` argument (DESIGN.md "Contracts"). */
export const TARGET_HELP =
  'registry/repo:tag, registry/repo@sha256:…, docker-archive:<file.tar>, oci-archive:<file.tar>[:ref] or oci:<dir>[:ref]';

const ARCHIVE_PREFIXES = ['docker-archive:', 'oci-archive:', 'oci:'];

/**
 * The CLI's credentials: the environment and the Docker config first (what the user set up), then,
 * for ECR hosts only, ECR's GetAuthorizationToken with the default AWS credential chain.
 */
export function cliCredentialProvider(): CredentialProvider {
  return new ChainCredentialProvider([defaultCredentialProvider(), new EcrCredentialProvider()]);
}

/** True for a local archive or layout target (`oci-archive:`, `docker-archive:`, `oci:`): no registry behind it. */
export function isArchiveTarget(target: string): boolean {
  return ARCHIVE_PREFIXES.some((p) => target.startsWith(p));
}

/**
 * Opens what the user named: an archive on disk, or an image in a registry (credentials from the
 * Docker config / env). `signal` is the scan's deadline: registry requests and body reads stop with it.
 */
export async function openTarget(target: string, opts: { limits: Limits; credentials?: CredentialProvider; signal?: AbortSignal }): Promise<ImageSource> {
  if (isArchiveTarget(target)) return openArchiveSource(target, opts.limits);
  const ref = parseImageRef(target);
  const client = new RegistryClient({ registry: ref.registry, limits: opts.limits, credentials: opts.credentials ?? cliCredentialProvider() });
  return new RegistrySource(client, ref, opts.signal ? { signal: opts.signal } : {});
}
