import { InvalidReferenceError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { MediaType, parseImageRef, sha256Digest } from '../../../lib/engine/model';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { RegistrySource } from '../../../lib/engine/registry/registry-source';
import { type FakeServer, startFakeServer } from './fake-server';

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: sha256Digest('c'), size: 1 }, layers: [] }));
const DIGEST = sha256Digest(MANIFEST);

describe('RegistrySource', () => {
  let server: FakeServer;
  beforeEach(async () => {
    server = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': MediaType.OciManifest });
      res.end(MANIFEST);
    });
  });
  afterEach(() => server.stop());

  it.each([
    { ref: (h: string) => `${h}/team/app:1.0`, path: '/v2/team/app/manifests/1.0' },
    { ref: (h: string) => `${h}/team/app@${DIGEST}`, path: `/v2/team/app/manifests/${DIGEST}` },
    { ref: (h: string) => `${h}/team/app:1.0@${DIGEST}`, path: `/v2/team/app/manifests/${DIGEST}` },
  ])('root of $path', async ({ ref, path }) => {
    const client = new RegistryClient({ registry: server.host, limits: DEFAULT_LIMITS });
    const source = new RegistrySource(client, parseImageRef(ref(server.host)));
    expect(source.name).toBe(ref(server.host));
    expect((await source.getRootManifest()).digest).toBe(DIGEST);
    expect(server.requests.map((r) => r.path)).toEqual([path]);
  });

  it('refuses a reference to another registry than its client', () => {
    const client = new RegistryClient({ registry: server.host, limits: DEFAULT_LIMITS });
    expect(() => new RegistrySource(client, parseImageRef('registry.example.com/team/app:1.0'))).toThrow(InvalidReferenceError);
  });
});
