/**
 * Tag pinning on the mutating path against the real CNCF distribution registry (Debian's
 * docker-registry) on 127.0.0.1, with images built by the project's own builder (RELIABILITY.md 35,
 * 42): the tag is resolved with registryTagResolver, the digest checked, and the JSON Patch pins it.
 */
import { AdmissionController } from '../../lib/admission/decide';
import { registryTagResolver } from '../../lib/admission/tag-resolver';
import { NotFoundError } from '../../lib/engine/errors';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { parseImageRef } from '../../lib/engine/model';
import { RegistryClient } from '../../lib/engine/registry/client';
import { parseAdmissionReview } from '../../lib/admission/review';
import { buildImage, buildIndex, type BuiltImage } from '../../lib/local/builder/image-builder';
import { pushImage } from '../../lib/local/builder/push';
import { freePort, type RegistryServer, startRegistry } from '../helpers/registry-server';
import { CountingStore, FRESH, NOW, decodePatch, kind, podReview, podSpec, review, verdict } from './fixtures';

let registry: RegistryServer;
let app: BuiltImage;
let amd64: BuiltImage;
let arm64: BuiltImage;
let multi: BuiltImage;

const image = (arch: string, text: string): BuiltImage =>
  buildImage({ platform: { os: 'linux', architecture: arch }, layers: [{ entries: [{ path: 'app/', type: 'dir' }, { path: 'app/run', body: `#!/bin/sh\necho ${text}\n`, mode: 0o755 }] }] });

beforeAll(async () => {
  registry = await startRegistry();
  const client = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS });
  app = image('amd64', 'app');
  amd64 = image('amd64', 'multi amd64');
  arm64 = image('arm64', 'multi arm64');
  multi = buildIndex([amd64, arm64]);
  await pushImage(client, 'team/app', 'v1', app);
  await pushImage(client, 'team/multi', 'v2', multi);
});

afterAll(async () => {
  await registry?.stop();
});

describe('registryTagResolver', () => {
  it('resolves a tag to the digest the registry holds (image manifest and index)', async () => {
    const resolve = registryTagResolver();
    expect(await resolve(parseImageRef(`${registry.host}/team/app:v1`))).toBe(app.root.digest);
    expect(await resolve(parseImageRef(`${registry.host}/team/multi:v2`))).toBe(multi.root.digest);
  });

  it('a digest reference is returned as is, without asking', async () => {
    const resolve = registryTagResolver();
    const ref = parseImageRef(`127.0.0.1:1/team/app@${app.root.digest}`);
    expect(await resolve(ref)).toBe(app.root.digest);
  });

  it('a tag that does not exist → NotFoundError', async () => {
    await expect(registryTagResolver()(parseImageRef(`${registry.host}/team/app:nope`))).rejects.toThrow(NotFoundError);
  });
});

describe('the mutating path with a real registry (case 35)', () => {
  const trusted = (): string[] => [`${registry.host}/team/**`];
  const controller = (store: CountingStore): AdmissionController =>
    new AdmissionController({ trustedRegistries: trusted() }, { store, resolveTag: registryTagResolver(), now: () => NOW });

  it('pins a tag to its digest with a JSON Patch, after checking that digest', async () => {
    const store = new CountingStore();
    await store.put(verdict(app.root.digest, 'trusted', FRESH));
    const tagged = `${registry.host}/team/app:v1`;
    const pinnedApp = `${registry.host}/team/app@${app.root.digest}`;
    const res = await controller(store).review(podReview({ initContainers: pinnedApp, containers: tagged, ephemeralContainers: tagged }), 'mutate');
    expect(res.response.allowed).toBe(true);
    expect(res.response.patchType).toBe('JSONPatch');
    expect(decodePatch(res.response.patch)).toEqual([
      { op: 'replace', path: '/spec/containers/0/image', value: pinnedApp },
      { op: 'replace', path: '/spec/ephemeralContainers/0/image', value: pinnedApp },
    ]);
    expect(store.calls).toEqual([app.root.digest]);
  });

  it('a CronJob template is pinned at its own path', async () => {
    const store = new CountingStore();
    await store.put(verdict(app.root.digest, 'trusted', FRESH));
    const pinnedApp = `${registry.host}/team/app@${app.root.digest}`;
    const k = kind('CronJob');
    const d = await controller(store).decide(parseAdmissionReview(review(k.gvk, k.build(podSpec({ initContainers: `${registry.host}/team/app:v1`, containers: pinnedApp, ephemeralContainers: pinnedApp })))), 'mutate');
    expect(d.patch).toEqual([{ op: 'replace', path: '/spec/jobTemplate/spec/template/spec/initContainers/0/image', value: pinnedApp }]);
  });

  it('the same tag on the validating path is denied, telling to pin the digest', async () => {
    const store = new CountingStore();
    await store.put(verdict(app.root.digest, 'trusted', FRESH));
    const tagged = `${registry.host}/team/app:v1`;
    const res = await controller(store).review(podReview({ initContainers: tagged, containers: tagged, ephemeralContainers: tagged }), 'validate');
    expect(res.response.allowed).toBe(false);
    expect(res.response.status!.message).toContain('pin the digest');
    expect(store.calls).toEqual([]);
  });

  it('a tag naming an index whose aggregate is quarantined is denied, though one platform is trusted (case 42)', async () => {
    const store = new CountingStore();
    await store.put(verdict(amd64.root.digest, 'trusted', FRESH));
    await store.put(verdict(arm64.root.digest, 'quarantined', FRESH, [{ rule: 'no-critical', message: 'CVE-2024-0002 is critical', findings: ['CVE-2024-0002'] }]));
    await store.put(verdict(multi.root.digest, 'quarantined', FRESH, [{ rule: 'platforms', message: 'linux/arm64 is quarantined', findings: [] }]));
    const tagged = `${registry.host}/team/multi:v2`;
    const d = await controller(store).decide(parseAdmissionReview(podReview({ initContainers: tagged, containers: tagged, ephemeralContainers: tagged })), 'mutate');
    expect(d.allowed).toBe(false);
    expect(d.patch).toEqual([]);
    expect(d.failures.map((f) => [f.digest, f.failure!.kind])).toEqual([0, 1, 2].map(() => [multi.root.digest, 'quarantined']));
    expect(d.response.status!.message).toContain('platforms: linux/arm64 is quarantined');
    // The amd64 manifest named directly: its own verdict.
    const direct = `${registry.host}/team/multi@${amd64.root.digest}`;
    const ok = await controller(store).decide(parseAdmissionReview(podReview({ initContainers: direct, containers: direct, ephemeralContainers: direct })), 'mutate');
    expect(ok.allowed).toBe(true);
  });

  it('a missing tag and an unreachable registry deny (tag-unresolved)', async () => {
    const store = new CountingStore();
    const port = await freePort();
    const ctl = new AdmissionController({ trustedRegistries: [...trusted(), `127.0.0.1:${port}/**`], lookupTimeoutMs: 1500 }, { store, resolveTag: registryTagResolver({ client: { retries: { maxAttempts: 1 } } }), now: () => NOW });
    const d = await ctl.decide(parseAdmissionReview(podReview({ initContainers: `${registry.host}/team/app:nope`, containers: `127.0.0.1:${port}/team/app:v1`, ephemeralContainers: `${registry.host}/team/app:nope` })), 'mutate');
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['tag-unresolved', 'tag-unresolved', 'tag-unresolved']);
    expect(d.failures[0].failure!.message).toContain('NOT_FOUND');
    expect(store.calls).toEqual([]);
  });
});
