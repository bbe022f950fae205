/**
 * The local sweep's listing (lib/local/pipeline/registry-catalog.ts) and the client call under it
 * (RegistryClient.listRepositories: `/v2/_catalog` with Link pagination) against Debian's
 * docker-registry: REPOSITORIES patterns as on AWS (`team/*`), one image per digest with all its
 * tags, cosign signature tags left out, registry hosts named as events name them.
 */
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import type { CatalogImage, CatalogRepository } from '../../../lib/engine/pipeline/ports';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { pushImage } from '../../../lib/local/builder/push';
import { RegistryImageCatalog } from '../../../lib/local/pipeline/registry-catalog';
import { type RegistryServer, startRegistry } from '../../helpers/registry-server';
import { crateImage, ECR_HOST } from '../../engine/pipeline/helpers/fixtures';

let registry: RegistryServer;
let direct: RegistryClient;
const a = crateImage([['serde', '1.0.197']], 'amd64', 'catalog a');
const b = crateImage([['serde', '1.0.197']], 'amd64', 'catalog b');
const sig = crateImage([['serde', '1.0.197']], 'amd64', 'catalog signature');

beforeAll(async () => {
  registry = await startRegistry({ auth: 'none' });
  direct = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS });
  await pushImage(direct, 'team/a', '1', a);
  await pushImage(direct, 'team/a', 'latest', a);
  await pushImage(direct, 'team/a', `sha256-${'5'.repeat(64)}.sig`, sig);
  await pushImage(direct, 'team/b/deep', '1', b);
  await pushImage(direct, 'teamx', '1', b);
  await pushImage(direct, 'other/c', '1', b);
}, 60_000);

afterAll(async () => {
  await registry?.stop();
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('RegistryClient.listRepositories', () => {
  it.each([
    ['one page', {}],
    ['a page per repository (Link: rel="next")', { page: 1 }],
  ] as const)('%s: every repository, in the registry\'s order', async (_name, opts) => {
    expect(await direct.listRepositories(opts)).toEqual(['other/c', 'team/a', 'team/b/deep', 'teamx']);
  });

  it('at most `max`', async () => {
    expect(await direct.listRepositories({ page: 1, max: 2 })).toEqual(['other/c', 'team/a']);
  });
});

describe('RegistryImageCatalog', () => {
  const catalog = (repositories: '*' | readonly string[]) =>
    new RegistryImageCatalog({ registry: { client: () => direct }, registries: [ECR_HOST], repositories });

  it.each([
    ['team/* (a prefix: any depth under team/)', ['team/*'], ['team/a', 'team/b/deep']],
    ['every repository', '*', ['other/c', 'team/a', 'team/b/deep', 'teamx']],
    ['an exact name and a pattern', ['other/c', 'team/b/*'], ['other/c', 'team/b/deep']],
    ['a name that does not exist', ['nothing/here'], []],
  ] as const)('%s', async (_name, repositories, want) => {
    const repos: CatalogRepository[] = await all(catalog(repositories).repositories());
    expect(repos).toEqual(want.map((repository) => ({ registry: ECR_HOST, repository })));
  });

  it('one image per digest with every tag naming it; a cosign signature tag is no image', async () => {
    const images: CatalogImage[] = await all(catalog(['team/*']).images({ registry: ECR_HOST, repository: 'team/a' }));
    expect(images).toEqual([{ digest: a.root.digest, tags: ['1', 'latest'], mediaType: a.root.mediaType }]);
    // No push or pull time: the registry API has none.
    expect(images[0].pushedAt).toBeUndefined();
  });
});
