/**
 * The nightly sweep's registry listing on a laptop (issue 15 items 2 and 4): a distribution registry
 * standing in for ECR (`TRUSTCTL_REGISTRY_OVERRIDE`) has no DescribeRepositories/DescribeImages, so
 * the local pipeline lists what the registry API offers — the repository catalog (`/v2/_catalog`),
 * each repository's tags and the digest each tag names — filtered by the same REPOSITORIES patterns
 * as on AWS (lib/aws/ecr-catalog.ts `globRegExp`: `team/*` is every repository under `team/`).
 *
 * The distribution API tells no push or pull time: images come without one, so the nightly run treats
 * them as within the window for a sweep scan (after the dated ones, under the same cap) but never as
 * evidence of use for a re-evaluation.
 */
import { globRegExp } from '../../aws/ecr-catalog';
import type { Digest } from '../../engine/model';
import { isSignatureTag } from '../../engine/pipeline/messages';
import type { CatalogImage, CatalogRepository, ImageCatalog, RegistryAccess } from '../../engine/pipeline/ports';

/** Options of {@link RegistryImageCatalog}. */
export interface RegistryImageCatalogOptions {
  /** Clients by registry host (the pipeline's: an overridden host is served from elsewhere). */
  readonly registry: Pick<RegistryAccess, 'client'>;
  /** The registry hosts to sweep, as events and verdicts name them. */
  readonly registries: readonly string[];
  /** REPOSITORIES: names, patterns with `*`, or `*` for every repository. */
  readonly repositories: '*' | readonly string[];
}

/** {@link ImageCatalog} over the distribution registry API (see the module comment). */
export class RegistryImageCatalog implements ImageCatalog {
  private readonly patterns: readonly RegExp[];

  constructor(private readonly opts: RegistryImageCatalogOptions) {
    this.patterns = (opts.repositories === '*' ? ['*'] : opts.repositories).map(globRegExp);
  }

  /** Every repository of each registry that a REPOSITORIES entry matches, in the registry's order. */
  async *repositories(): AsyncIterable<CatalogRepository> {
    for (const registry of this.opts.registries) {
      for (const repository of await this.opts.registry.client(registry).listRepositories()) {
        if (this.patterns.some((p) => p.test(repository))) yield { registry, repository };
      }
    }
  }

  /** The images the tags of `repository` name, one per digest (cosign signature tags left out). */
  async *images(repository: CatalogRepository): AsyncIterable<CatalogImage> {
    const client = this.opts.registry.client(repository.registry);
    const byDigest = new Map<Digest, { tags: string[]; mediaType: string }>();
    for (const tag of await client.listTags(repository.repository)) {
      if (isSignatureTag(tag)) continue;
      const head = await client.headManifest(repository.repository, tag);
      if (!head) continue; // deleted between the listing and now
      const e = byDigest.get(head.digest) ?? { tags: [], mediaType: head.mediaType };
      e.tags.push(tag);
      byDigest.set(head.digest, e);
    }
    for (const [digest, e] of byDigest) yield { digest, tags: e.tags.sort(), ...(e.mediaType ? { mediaType: e.mediaType } : {}) };
  }
}
