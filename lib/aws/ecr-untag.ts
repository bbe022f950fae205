import { BatchDeleteImageCommand, DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { RegistryError } from '../engine/errors';
import type { Digest } from '../engine/model';
import type { TagRemoval } from '../engine/pipeline/ports';

/**
 * Removes a stale trust tag from an ECR image without ever deleting the image. ECR has no "untag":
 * `BatchDeleteImage` by `imageTag` removes only the tag while another tag still references the image,
 * but deletes the image itself when that tag was its last one
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchDeleteImage.html). So the image's
 * tags are read first (`DescribeImages` by digest) and the tag is deleted only when it names this digest
 * and another tag keeps the image; otherwise it is left (`kept`) and reported. A tag moved or added
 * between the two calls is the remaining race: the tag check names the digest, and a concurrent removal
 * of the other tag is outside the pipeline's own writes (it only ever adds the new trust tag first).
 */
export async function untagEcrImage(client: ECRClient, target: { registryId: string; repository: string; digest: Digest; tag: string }): Promise<TagRemoval> {
  const { registryId, repository, digest, tag } = target;
  const described = await client.send(new DescribeImagesCommand({ registryId, repositoryName: repository, imageIds: [{ imageDigest: digest }] }));
  const tags = described.imageDetails?.find((d) => d.imageDigest === digest)?.imageTags ?? [];
  if (!tags.includes(tag)) return { result: 'absent', message: `${repository}:${tag} does not name ${digest}` };
  const others = tags.filter((t) => t !== tag);
  if (others.length === 0) return { result: 'kept', message: `${repository}:${tag} is the last tag of ${digest}: deleting it would delete the image` };
  const out = await client.send(new BatchDeleteImageCommand({ registryId, repositoryName: repository, imageIds: [{ imageTag: tag }] }));
  const failure = out.failures?.find((f) => f.imageId?.imageTag === tag);
  if (failure) {
    if (failure.failureCode === 'ImageNotFound' || failure.failureCode === 'ImageTagDoesNotMatchDigest') return { result: 'absent', message: `${repository}:${tag}: ${failure.failureCode}` };
    throw new RegistryError(`ECR BatchDeleteImage of ${repository}:${tag} failed: ${failure.failureCode ?? 'unknown'}${failure.failureReason ? ` (${failure.failureReason})` : ''}`);
  }
  return { result: 'removed', message: `still tagged ${others.join(', ')}` };
}
