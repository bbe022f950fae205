/**
 * untagEcrImage / PipelineRegistryAccess.untag: the stale trust tag of a flipped verdict is removed
 * from ECR only when another tag keeps the image (BatchDeleteImage by tag deletes the image with its
 * last tag). Through aws-sdk-client-mock with the API's real payload shapes.
 */
import { BatchDeleteImageCommand, type BatchDeleteImageCommandOutput, DescribeImagesCommand, type DescribeImagesCommandOutput, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { untagEcrImage } from '../../lib/aws/ecr-untag';
import { PipelineRegistryAccess } from '../../lib/aws/pipeline-ports';
import { RegistryError } from '../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import type { Digest } from '../../lib/engine/model';
import type { TagRemoval } from '../../lib/engine/pipeline/ports';
import { trustTagFor } from '../../lib/engine/registry/trust-tags';

const ecr = mockClient(ECRClient);
beforeEach(() => ecr.reset());

const ACCOUNT = '123456789012';
const REPO = 'team/app';
const DIGEST = `sha256:${'3f4f60575ede'.padEnd(64, 'a')}` as Digest;
const STALE = trustTagFor('trusted', DIGEST);
const NEW = trustTagFor('quarantined', DIGEST);
const described = (tags: string[] | undefined): Partial<DescribeImagesCommandOutput> => ({
  imageDetails: [{
    registryId: ACCOUNT, repositoryName: REPO, imageDigest: DIGEST, ...(tags ? { imageTags: tags } : {}), imageSizeInBytes: 31_000_000,
    imagePushedAt: new Date('2026-11-01T00:00:00Z'), imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactMediaType: 'application/vnd.oci.image.config.v1+json',
  }],
});
const deleted: Partial<BatchDeleteImageCommandOutput> = { imageIds: [{ imageDigest: DIGEST, imageTag: STALE }], failures: [] };
const failed = (failureCode: string, failureReason: string): Partial<BatchDeleteImageCommandOutput> => ({ imageIds: [], failures: [{ imageId: { imageTag: STALE }, failureCode: failureCode as never, failureReason }] });
const client = () => new ECRClient({ region: 'eu-west-1' });

describe('untagEcrImage', () => {
  const cases: { name: string; tags?: string[]; batch?: Partial<BatchDeleteImageCommandOutput>; want: TagRemoval['result']; deletes: boolean }[] = [
    { name: 'the new trust tag keeps the image: only the stale tag is deleted', tags: [NEW, STALE], batch: deleted, want: 'removed', deletes: true },
    { name: 'a release tag keeps the image', tags: ['v1.2.3', STALE], batch: deleted, want: 'removed', deletes: true },
    { name: 'the stale tag is the last one: left, deleting it would delete the image', tags: [STALE], want: 'kept', deletes: false },
    { name: 'the stale tag is gone already (a replayed record)', tags: [NEW, 'v1.2.3'], want: 'absent', deletes: false },
    { name: 'an untagged image', tags: undefined, want: 'absent', deletes: false },
    { name: 'the tag vanished between DescribeImages and BatchDeleteImage', tags: [NEW, STALE], batch: failed('ImageNotFound', 'Requested image not found'), want: 'absent', deletes: true },
  ];
  it.each(cases)('$name', async ({ tags, batch, want, deletes }) => {
    ecr.on(DescribeImagesCommand).resolves(described(tags));
    if (batch) ecr.on(BatchDeleteImageCommand).resolves(batch);
    const out = await untagEcrImage(client(), { registryId: ACCOUNT, repository: REPO, digest: DIGEST, tag: STALE });
    expect(out.result).toBe(want);
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([{ registryId: ACCOUNT, repositoryName: REPO, imageIds: [{ imageDigest: DIGEST }] }]);
    // Only ever by tag, never by digest (that would delete the image and every tag on it).
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input)).toEqual(deletes ? [{ registryId: ACCOUNT, repositoryName: REPO, imageIds: [{ imageTag: STALE }] }] : []);
  });

  it('another BatchDeleteImage failure is a RegistryError (the stream record is retried)', async () => {
    ecr.on(DescribeImagesCommand).resolves(described([NEW, STALE]));
    ecr.on(BatchDeleteImageCommand).resolves(failed('KmsError', 'The KMS key is disabled'));
    await expect(untagEcrImage(client(), { registryId: ACCOUNT, repository: REPO, digest: DIGEST, tag: STALE })).rejects.toThrow(RegistryError);
  });

  it('an error of DescribeImages propagates and nothing is deleted', async () => {
    ecr.on(DescribeImagesCommand).rejects(new ImageNotFoundException({ message: 'image not found', $metadata: {} }));
    await expect(untagEcrImage(client(), { registryId: ACCOUNT, repository: REPO, digest: DIGEST, tag: STALE })).rejects.toThrow(/image not found/);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });
});

describe('PipelineRegistryAccess.untag', () => {
  it('an ECR host goes through the ECR API of its region and account', async () => {
    ecr.on(DescribeImagesCommand).resolves(described([NEW, STALE]));
    ecr.on(BatchDeleteImageCommand).resolves(deleted);
    const regions: string[] = [];
    const access = new PipelineRegistryAccess({ limits: DEFAULT_LIMITS, ecrFor: (region) => (regions.push(region), client()) });
    expect(await access.untag(`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`, REPO, DIGEST, STALE)).toMatchObject({ result: 'removed' });
    expect(regions).toEqual(['eu-west-1']);
    expect(ecr.commandCalls(BatchDeleteImageCommand)[0].args[0].input).toMatchObject({ registryId: ACCOUNT, repositoryName: REPO });
  });
});
