import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { RegistryClient } from '../../lib/engine/registry/client';
import { trustTagFor } from '../../lib/engine/registry/trust-tags';
import { buildImage } from '../../lib/local/builder/image-builder';
import { pushImage } from '../../lib/local/builder/push';
import { trustctl } from '../helpers/cli';
import { SHARED } from '../helpers/corpus';
import { type RegistryServer, startRegistry } from '../helpers/registry-server';

const LOCK = 'version = 3\n\n[[package]]\nname = "serde"\nversion = "1.0.197"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n';

describe('trustctl scan --tag (against the real registry)', () => {
  let registry: RegistryServer;
  let client: RegistryClient;
  let dir: string;
  const image = buildImage({ config: { User: '1000' }, layers: [{ entries: [{ path: 'app/Cargo.lock', body: LOCK }] }] });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-scan-tag-'));
    registry = await startRegistry({ auth: 'none' });
    client = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS, credentials: { getCredentials: async () => undefined } });
    await pushImage(client, 'team/app', '1.0', image);
    const sync = await trustctl('feeds', 'sync', '--feed', join(SHARED, 'feeds', 'osv', 'crates.io', 'all.zip'), '--data-dir', join(dir, 'adv'));
    if (sync.code !== 0) throw new Error(sync.err);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const scan = (...extra: string[]) => trustctl('scan', `${registry.host}/team/app:1.0`, '--no-cache', '--data-dir', join(dir, 'adv'), '--verdict-dir', join(dir, 'verdicts'), ...extra);

  it('records the verdict, then tags the digest trust-<status>-<12 hex>; a re-scan leaves the tag alone', async () => {
    const tag = trustTagFor('trusted', image.root.digest);
    const first = await scan('--tag');
    expect(first.code).toBe(0);
    expect(first.err).toContain(`tag ${tag}: written`);
    expect((await client.headManifest('team/app', tag))?.digest).toBe(image.root.digest);
    const again = await scan('--tag');
    expect(again.err).toContain(`tag ${tag}: unchanged`);
    // Enforcement never reads tags (RELIABILITY.md 43): the gate answers from the store by digest.
    expect((await trustctl('verify', `${registry.host}/team/app@${image.root.digest}`, '--verdict-dir', join(dir, 'verdicts'))).code).toBe(0);
  });

  it('a hand-pushed trust tag changes nothing: verify reads the store (RELIABILITY.md 43)', async () => {
    const evil = buildImage({ config: { User: '0' }, layers: [{ entries: [{ path: 'x', body: 'not scanned' }] }] });
    await pushImage(client, 'team/app', trustTagFor('trusted', evil.root.digest), evil);
    const r = await trustctl('verify', `${registry.host}/team/app@${evil.root.digest}`, '--verdict-dir', join(dir, 'verdicts'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no verdict/);
  });

  it.each([
    ['--tag with --no-record', [`REG/team/app:1.0`, '--tag', '--no-record'], /cannot be used with --no-record/],
    ['--tag on an archive', ['oci-archive:/nonexistent.tar', '--tag'], /--tag needs a registry image/],
  ])('%s is refused (exit 2)', async (_n, args, message) => {
    const a = args.map((x) => x.replace('REG', registry.host));
    const r = await trustctl('scan', ...a, '--no-cache', '--data-dir', join(dir, 'adv'), '--verdict-dir', join(dir, 'verdicts'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
