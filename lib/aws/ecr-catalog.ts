import { DescribeImagesCommand, DescribeRepositoriesCommand, type ECRClient, type Repository } from '@aws-sdk/client-ecr';
import { TrustError } from '../engine/errors';
import { INDEX_TYPES, isDigest, isRepository, MediaType, type Digest } from '../engine/model';
import { isSignatureTag } from '../engine/pipeline/messages';
import type { CatalogImage, CatalogRepository, ImageCatalog } from '../engine/pipeline/ports';

/** ECR answered something the sweep cannot use, or kept failing (`cause` holds the SDK error). */
export class EcrCatalogError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECR_CATALOG_ERROR', message, options);
  }
}

/** Options of {@link EcrImageCatalog}. */
export interface EcrImageCatalogOptions {
  /** The client of the region to sweep (throttling is retried by the SDK: give it `maxAttempts`). */
  readonly client: ECRClient;
  /**
   * Repository names to sweep, or `*` for every repository of the registry (REPOSITORIES). A name
   * with `*` is a pattern (`team/*`: every repository under `team/`; `*` matches any characters,
   * `/` included, as the push rule's prefix match does).
   */
  readonly repositories: '*' | readonly string[];
  /** The registry (account) id; default the caller's own. */
  readonly registryId?: string;
}

/** DescribeRepositories takes at most 100 names per call (ECR API reference). */
const NAMES_PER_CALL = 100;
/** DescribeImages pages hold at most 1000 images (ECR API reference, `maxResults`). */
const IMAGES_PER_PAGE = 1000;

/** Config media types of container images: anything else (a signature, an SBOM, a Helm chart) is an artifact, not an image to scan. */
const IMAGE_CONFIG_TYPES = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig]);

/** The registry host and repository of a DescribeRepositories entry (`repositoryUri` = `<host>/<name>`). */
function repositoryOf(r: Repository): CatalogRepository | undefined {
  const uri = r.repositoryUri ?? '';
  const slash = uri.indexOf('/');
  const registry = slash > 0 ? uri.slice(0, slash) : '';
  const repository = r.repositoryName ?? uri.slice(slash + 1);
  if (!registry || !isRepository(repository)) return undefined;
  return { registry, repository };
}

/** `team/*` → /^team\/.*$/: `*` is any run of characters, everything else literal (REPOSITORIES patterns; the local registry catalog uses it too). */
export function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
}

/**
 * True for images that are cosign artifacts by their tags (`sha256-<hex>.sig|.att|.sbom`, every tag
 * such): signatures, in-toto attestations and SBOMs attached to an image, never run on their own.
 */
function onlyArtifactTags(tags: readonly string[]): boolean {
  return tags.length > 0 && tags.every(isSignatureTag);
}

const errorName = (err: unknown): string | undefined => (err as { name?: string } | null)?.name;

/**
 * The ECR listing the nightly sweep walks (RELIABILITY.md 32: a push event that never arrived):
 * DescribeRepositories (every page, or the configured names) and DescribeImages (every page) with
 * each image's digest, tags, media type, push time and last recorded pull. Artifacts that are not
 * container images (cosign signatures, SBOMs, charts: an `artifactMediaType` that is no image config)
 * are left out.
 */
export class EcrImageCatalog implements ImageCatalog {
  constructor(private readonly opts: EcrImageCatalogOptions) {}

  /**
   * The repositories to sweep; configured names that do not exist are skipped. Patterns (`team/*`)
   * are matched client-side against every page of DescribeRepositories: its `repositoryNames`
   * takes names only and rejects `*` (ECR API reference, DescribeRepositories).
   */
  async *repositories(): AsyncIterable<CatalogRepository> {
    const registryId = this.opts.registryId;
    const configured = this.opts.repositories === '*' ? ['*'] : [...new Set(this.opts.repositories)];
    const patterns = configured.filter((n) => n.includes('*')).map(globRegExp);
    const names = configured.filter((n) => !n.includes('*'));
    const yielded = new Set<string>();
    if (patterns.length > 0) {
      let nextToken: string | undefined;
      do {
        const page = await this.opts.client.send(new DescribeRepositoriesCommand({ ...(registryId ? { registryId } : {}), nextToken, maxResults: 1000 }));
        for (const r of page.repositories ?? []) {
          const repo = repositoryOf(r);
          if (!repo || !patterns.some((p) => p.test(repo.repository))) continue;
          yielded.add(repo.repository);
          yield repo;
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    const left = names.filter((n) => !yielded.has(n));
    for (let i = 0; i < left.length; i += NAMES_PER_CALL) {
      const chunk = left.slice(i, i + NAMES_PER_CALL);
      let found: Repository[];
      try {
        found = (await this.opts.client.send(new DescribeRepositoriesCommand({ ...(registryId ? { registryId } : {}), repositoryNames: chunk }))).repositories ?? [];
      } catch (err) {
        if (errorName(err) !== 'RepositoryNotFoundException') throw err;
        // One missing name fails the whole call: ask one by one, skipping the missing ones.
        found = [];
        for (const name of chunk) {
          try {
            found.push(...((await this.opts.client.send(new DescribeRepositoriesCommand({ ...(registryId ? { registryId } : {}), repositoryNames: [name] }))).repositories ?? []));
          } catch (e) {
            if (errorName(e) !== 'RepositoryNotFoundException') throw e;
          }
        }
      }
      for (const r of found) {
        const repo = repositoryOf(r);
        if (repo) yield repo;
      }
    }
  }

  /** Every container image of `repository`, every page. */
  async *images(repository: CatalogRepository): AsyncIterable<CatalogImage> {
    let nextToken: string | undefined;
    do {
      const page = await this.opts.client.send(new DescribeImagesCommand({
        ...(this.opts.registryId ? { registryId: this.opts.registryId } : {}),
        repositoryName: repository.repository,
        nextToken,
        maxResults: IMAGES_PER_PAGE,
      }));
      for (const d of page.imageDetails ?? []) {
        if (!isDigest(d.imageDigest)) continue;
        const mediaType = d.imageManifestMediaType;
        const isIndex = mediaType !== undefined && INDEX_TYPES.includes(mediaType);
        if (!isIndex && d.artifactMediaType !== undefined && !IMAGE_CONFIG_TYPES.has(d.artifactMediaType)) continue;
        // cosign's `.sig`/`.att`/`.sbom` tags: some cosign versions write them with an image config type.
        if (!isIndex && onlyArtifactTags(d.imageTags ?? [])) continue;
        yield {
          digest: d.imageDigest as Digest,
          tags: d.imageTags ?? [],
          ...(mediaType ? { mediaType } : {}),
          ...(d.imagePushedAt ? { pushedAt: d.imagePushedAt } : {}),
          ...(d.lastRecordedPullTime ? { lastPulledAt: d.lastRecordedPullTime } : {}),
        };
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
}
