import { AuthError } from '../../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { MediaType, sha256Digest } from '../../../lib/engine/model';
import { RegistryClient } from '../../../lib/engine/registry/client';
import { applyTrustTag, trustTagFor } from '../../../lib/engine/registry/trust-tags';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { pushImage } from '../../../lib/local/builder/push';
import { type RegistryServer, startRegistry } from '../../helpers/registry-server';
import { type FakeServer, startFakeServer } from './fake-server';

const image = buildImage({ layers: [{ entries: [{ path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' }] }] });
const digest = image.root.digest;

describe('verdict tags', () => {
  it.each([
    ['trusted', 'trust-trusted-'],
    ['quarantined', 'trust-quarantined-'],
  ] as const)('%s: the scheme is trust-<status>-<12 hex>, a valid tag', (status, prefix) => {
    const tag = trustTagFor(status, digest);
    expect(tag).toBe(`${prefix}${digest.slice(7, 19)}`);
    expect(tag).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
  });

  describe('against the real registry (Debian docker-registry)', () => {
    let registry: RegistryServer;
    let client: RegistryClient;
    beforeAll(async () => {
      registry = await startRegistry({ auth: 'none' });
      client = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS, credentials: { getCredentials: async () => undefined } });
      await pushImage(client, 'team/app', '1.0', image);
    });
    afterAll(async () => registry?.stop());

    it('writes the tag once (same manifest bytes), then leaves it alone; a status change adds the other tag', async () => {
      expect(await applyTrustTag(client, 'team/app', digest, 'quarantined')).toEqual({ tag: trustTagFor('quarantined', digest), result: 'written' });
      expect(await applyTrustTag(client, 'team/app', digest, 'quarantined')).toEqual({ tag: trustTagFor('quarantined', digest), result: 'unchanged' });
      expect((await client.headManifest('team/app', trustTagFor('quarantined', digest)))?.digest).toBe(digest);
      expect((await applyTrustTag(client, 'team/app', digest, 'trusted')).result).toBe('written');
      expect((await client.headManifest('team/app', trustTagFor('trusted', digest)))?.digest).toBe(digest);
    });
  });

  describe('registries that refuse', () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: sha256Digest('c'), size: 1 }, layers: [] }));
    const d = sha256Digest(manifest);
    let server: FakeServer | undefined;
    afterEach(async () => server?.stop());

    /** A registry that serves the manifest and answers a PUT with `status`/`body` (ECR's answer for an IMMUTABLE repository, or a denial). */
    const refusing = async (status: number, body: unknown) => {
      server = await startFakeServer((req, res) => {
        if (req.method === 'HEAD') return res.writeHead(404).end();
        if (req.method === 'GET') {
          res.writeHead(200, { 'Content-Type': MediaType.OciManifest, 'Docker-Content-Digest': d });
          return res.end(manifest);
        }
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      return new RegistryClient({ registry: server.host, limits: DEFAULT_LIMITS, retries: { sleep: async () => undefined } });
    };

    it('an immutable-tag repository (ECR TAG_INVALID): recorded and skipped, not an error', async () => {
      const client = await refusing(400, { errors: [{ code: 'TAG_INVALID', message: "The image tag 'x' already exists in the 'team/app' repository and cannot be overwritten because the repository is immutable." }] });
      const out = await applyTrustTag(client, 'team/app', d, 'trusted');
      expect(out).toMatchObject({ result: 'immutable', tag: trustTagFor('trusted', d) });
      expect(out.message).toMatch(/immutable/);
    });

    it('any other refusal propagates, so the fan-out retries it', async () => {
      const client = await refusing(403, { errors: [{ code: 'DENIED', message: 'denied' }] });
      await expect(applyTrustTag(client, 'team/app', d, 'trusted')).rejects.toBeInstanceOf(AuthError);
    });
  });
});
