import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectReport } from '../../lib/engine/inspect-image';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { RegistryClient } from '../../lib/engine/registry/client';
import { buildImage, buildIndex, type BuiltImage } from '../../lib/local/builder/image-builder';
import { pushImage } from '../../lib/local/builder/push';
import { writeSampleArchive } from '../../lib/local/builder/sample';
import { writeDockerArchive, writeOciLayout } from '../../lib/local/builder/writers';
import { type RegistryServer, startRegistry } from '../helpers/registry-server';
import { trustctl } from '../helpers/cli';

function smallImage(opts: { corruptDiffId?: boolean; platform?: 'amd64' | 'arm64' } = {}): BuiltImage {
  return buildImage({
    platform: { os: 'linux', architecture: opts.platform ?? 'amd64' },
    layers: [
      { entries: [{ path: 'etc/', type: 'dir' }, { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' }, { path: 'etc/hostname', body: 'x\n' }], compression: 'gzip' },
      { entries: [{ path: 'etc/.wh.hostname' }, { path: 'app/', type: 'dir' }, { path: 'app/main.js', body: 'console.log(1)\n' }], compression: 'zstd' },
    ],
    ...(opts.corruptDiffId ? { corrupt: { diffIds: [1] } } : {}),
  });
}

describe('trustctl inspect', () => {
  let dir: string;
  let sampleDigest: string;
  const sample = () => `oci-archive:${join(dir, 'sample.oci.tar')}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-cli-'));
    sampleDigest = (await writeSampleArchive(join(dir, 'sample.oci.tar'))).root.digest;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the quick-start sample: an index, two platforms, each layer read and squashed', async () => {
    const r = await trustctl('inspect', sample(), '--format', 'json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as InspectReport;
    expect(report.digest).toBe(sampleDigest);
    expect(report.isIndex).toBe(true);
    expect(report.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    for (const img of report.images) {
      expect(img.layers.map((l) => l.compression)).toEqual(['gzip', 'zstd']);
      expect(img.layers.every((l) => l.entries > 0 && l.uncompressedSize > l.size / 2)).toBe(true);
      expect(img.files).toBeGreaterThan(0);
    }
  });

  it('table output names every layer and the file count', async () => {
    const r = await trustctl('inspect', sample(), '--platform', 'linux/arm64');
    expect(r.code).toBe(0);
    expect(r.out).toContain('linux/arm64');
    expect(r.out).not.toContain('linux/amd64  manifest');
    expect(r.out).toMatch(/Files in the squashed tree: \d+/);
  });

  it('whiteouts are applied in the file count; docker-archive and oci: agree with each other', async () => {
    const img = smallImage();
    await writeDockerArchive(join(dir, 'small.docker.tar'), img, { style: 'legacy', repoTags: ['small:1'] });
    writeOciLayout(join(dir, 'layout'), img, { tag: '1' });
    const fromDocker = JSON.parse((await trustctl('inspect', `docker-archive:${join(dir, 'small.docker.tar')}`, '--format', 'json')).out) as InspectReport;
    const fromLayout = JSON.parse((await trustctl('inspect', `oci:${join(dir, 'layout')}:1`, '--format', 'json')).out) as InspectReport;
    // etc/os-release and app/main.js: etc/hostname was deleted by the upper layer's whiteout.
    expect(fromLayout.images[0].files).toBe(2);
    expect(fromDocker.images[0].files).toBe(2);
    expect(fromDocker.images[0].layers.map((l) => l.diffId)).toEqual(fromLayout.images[0].layers.map((l) => l.diffId));
    expect(fromLayout.digest).toBe(img.root.digest);
  });

  it.each([
    ['a config lying about diff_ids (case 19)', () => smallImage({ corruptDiffId: true }), [], /DIGEST_MISMATCH.*diff_id/],
    ['a cap hit (--limit maxLayers=1)', () => smallImage(), ['--limit', 'maxLayers=1'], /LIMIT_EXCEEDED.*maxLayers=1/],
    ['a decompression cap hit (--limit maxLayerBytes=1024)', () => smallImage(), ['--limit', 'maxLayerBytes=1024'], /LIMIT_EXCEEDED.*maxLayerBytes/],
  ])('%s exits 2 with the reason, nothing on stdout', async (_n, build, extra, reason) => {
    const file = join(dir, `bad-${Math.random().toString(16).slice(2)}`);
    writeOciLayout(file, build(), { tag: 'x' });
    const r = await trustctl('inspect', `oci:${file}:x`, ...extra);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(reason);
  });

  it.each([
    ['an invalid reference', ['inspect', 'Registry.example/UPPER:tag'], /INVALID_REFERENCE/],
    ['a missing archive', ['inspect', 'docker-archive:/nonexistent/file.tar'], /./],
    ['a bad --limit', ['inspect', 'oci:/x', '--limit', 'maxLayers=lots'], /name=integer/],
    ['an unknown limit', ['inspect', 'oci:/x', '--limit', 'maxNothing=1'], /unknown limit/],
  ])('%s exits 2', async (_n, args, message) => {
    const r = await trustctl(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  describe('against a real registry (Debian docker-registry)', () => {
    let registry: RegistryServer;
    beforeAll(async () => {
      registry = await startRegistry({ auth: 'htpasswd' });
    });
    afterAll(async () => registry?.stop());

    it('pulls by tag and by digest with credentials from the environment; the digest equals the archive\'s', async () => {
      const image = buildIndex([smallImage(), smallImage({ platform: 'arm64' })]);
      const creds = { getCredentials: async () => ({ kind: 'basic' as const, username: 'alice', password: registry.users.alice }) };
      await pushImage(new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS, credentials: creds }), 'team/app', '1.0', image);
      const saved = { ...process.env };
      try {
        process.env.TRUSTCTL_REGISTRY_USER = 'alice';
        process.env.TRUSTCTL_REGISTRY_PASSWORD = registry.users.alice;
        const byTag = await trustctl('inspect', `${registry.host}/team/app:1.0`, '--format', 'json');
        expect(byTag.err).toBe('');
        const report = JSON.parse(byTag.out) as InspectReport;
        expect(report.digest).toBe(image.root.digest);
        expect(report.images.map((i) => i.files)).toEqual([2, 2]);
        const byDigest = await trustctl('inspect', `${registry.host}/team/app@${image.root.digest}`, '--format', 'json');
        expect((JSON.parse(byDigest.out) as InspectReport).images).toEqual(report.images);
        delete process.env.TRUSTCTL_REGISTRY_PASSWORD;
        delete process.env.TRUSTCTL_REGISTRY_USER;
        process.env.DOCKER_CONFIG = join(dir, 'no-docker-config');
        const anonymous = await trustctl('inspect', `${registry.host}/team/app:1.0`);
        expect(anonymous.code).toBe(2);
        expect(anonymous.err).toMatch(/AUTH_ERROR/);
        expect(anonymous.err).not.toContain(registry.users.alice);
      } finally {
        process.env = saved;
      }
    });
  });
});
