/**
 * EcrImageCatalog: the nightly sweep's listing of ECR (DescribeRepositories, DescribeImages) through
 * aws-sdk-client-mock with the API's real payload shapes — pages followed, artifacts left out, missing
 * configured repositories skipped.
 */
import { DescribeImagesCommand, type DescribeImagesCommandInput, DescribeRepositoriesCommand, type DescribeRepositoriesCommandInput, ECRClient, type ImageDetail, InvalidParameterException, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrImageCatalog } from '../../lib/aws/ecr-catalog';
import type { CatalogImage, CatalogRepository } from '../../lib/engine/pipeline/ports';

const ecr = mockClient(ECRClient);
beforeEach(() => ecr.reset());

const ACCOUNT = '123456789012';
const HOST = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const repo = (name: string) => ({
  repositoryArn: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/${name}`, registryId: ACCOUNT, repositoryName: name, repositoryUri: `${HOST}/${name}`,
  createdAt: new Date('2025-01-01T00:00:00Z'), imageTagMutability: 'IMMUTABLE' as const, imageScanningConfiguration: { scanOnPush: false }, encryptionConfiguration: { encryptionType: 'AES256' as const },
});
const dig = (c: string) => `sha256:${c.repeat(64)}`;
const image = (c: string, extra: Partial<ImageDetail> = {}): ImageDetail => ({
  registryId: ACCOUNT, repositoryName: 'team/app', imageDigest: dig(c), imageTags: [`v-${c}`], imageSizeInBytes: 31_000_000,
  imagePushedAt: new Date('2026-11-01T00:00:00Z'), imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  artifactMediaType: 'application/vnd.docker.container.image.v1+json', ...extra,
});
const all = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const client = () => new ECRClient({ region: 'eu-west-1' });

describe('EcrImageCatalog.repositories', () => {
  it('REPOSITORIES=*: every page of DescribeRepositories', async () => {
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => input.nextToken === 'p2'
      ? { repositories: [repo('team/c')] }
      : { repositories: [repo('team/a'), repo('team/b')], nextToken: 'p2' });
    expect(await all(new EcrImageCatalog({ client: client(), repositories: '*' }).repositories())).toEqual<CatalogRepository[]>([
      { registry: HOST, repository: 'team/a' }, { registry: HOST, repository: 'team/b' }, { registry: HOST, repository: 'team/c' },
    ]);
  });

  it('named repositories: one that does not exist is skipped, the others are swept', async () => {
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => {
      const names = input.repositoryNames ?? [];
      if (names.includes('team/gone')) throw new RepositoryNotFoundException({ message: "The repository with name 'team/gone' does not exist in the registry with id '123456789012'", $metadata: {} });
      return { repositories: names.map(repo) };
    });
    expect((await all(new EcrImageCatalog({ client: client(), repositories: ['team/a', 'team/gone', 'team/b'] }).repositories())).map((r) => r.repository)).toEqual(['team/a', 'team/b']);
  });

  it.each([
    ['a prefix pattern', ['team/*'], ['team/a', 'team/b/c']],
    ['a pattern and an exact name (listed once even when the pattern covers it)', ['team/*', 'web', 'team/a'], ['team/a', 'team/b/c', 'web']],
    ['a pattern in the middle', ['*/base'], ['platform/base']],
  ])('%s: every DescribeRepositories page, filtered here (repositoryNames rejects "*")', async (_n, configured, expected) => {
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => {
      if (input.repositoryNames) {
        if (input.repositoryNames.some((n) => n.includes('*'))) throw new InvalidParameterException({ message: "Invalid parameter at 'repositoryNames' failed to satisfy constraint", $metadata: {} });
        return { repositories: input.repositoryNames.map(repo) };
      }
      return input.nextToken === 'p2'
        ? { repositories: [repo('team/b/c'), repo('platform/base')] }
        : { repositories: [repo('team-x/a'), repo('team/a'), repo('teamwork')], nextToken: 'p2' };
    });
    const got = (await all(new EcrImageCatalog({ client: client(), repositories: configured }).repositories())).map((r) => r.repository);
    expect(got.sort()).toEqual(expected);
    expect(ecr.commandCalls(DescribeRepositoriesCommand).filter((c) => !c.args[0].input.repositoryNames).map((c) => c.args[0].input.nextToken)).toEqual([undefined, 'p2']);
  });

  it('a listing that fails is an error of the sweep, not an empty registry', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(new InvalidParameterException({ message: 'throttled for good', $metadata: {} }));
    await expect(all(new EcrImageCatalog({ client: client(), repositories: ['team/*'] }).repositories())).rejects.toThrow(/throttled/);
  });
});

describe('EcrImageCatalog.images', () => {
  it('every page; push and pull times; indexes kept; signatures, SBOMs and bad digests left out', async () => {
    const pulled = new Date('2026-11-27T00:00:00Z');
    ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => input.nextToken === 'next'
      ? { imageDetails: [
          image('3', { imageManifestMediaType: 'application/vnd.oci.image.index.v1+json', artifactMediaType: undefined, lastRecordedPullTime: pulled }),
          image('4', { imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', artifactMediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }),
          image('5', { imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', artifactMediaType: 'application/spdx+json' }),
          // cosign .sig/.att written with an image config type: left out by their tags alone.
          image('7', { imageTags: [`sha256-${'1'.repeat(64)}.sig`] }),
          image('8', { imageTags: [`sha256-${'1'.repeat(64)}.att`, `sha256-${'1'.repeat(64)}.sbom`] }),
          // An image that also carries a cosign-like tag among real ones is still an image.
          image('9', { imageTags: ['v9', `sha256-${'1'.repeat(64)}.sig`] }),
        ] }
      : { imageDetails: [image('1'), image('2', { imageTags: undefined }), { ...image('6'), imageDigest: 'sha256:short' }], nextToken: 'next' });
    const got = await all(new EcrImageCatalog({ client: client(), repositories: '*' }).images({ registry: HOST, repository: 'team/app' }));
    expect(got.map((i) => i.digest)).toEqual([dig('1'), dig('2'), dig('3'), dig('9')]);
    expect(got[1].tags).toEqual([]);
    expect(got[2]).toEqual<CatalogImage>({ digest: dig('3') as CatalogImage['digest'], tags: ['v-3'], mediaType: 'application/vnd.oci.image.index.v1+json', pushedAt: new Date('2026-11-01T00:00:00Z'), lastPulledAt: pulled });
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input.repositoryName)).toEqual(['team/app', 'team/app']);
  });
});
