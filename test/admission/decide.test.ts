/**
 * The admission decision (RELIABILITY.md 35–42) with a real MemoryVerdictStore (and small real
 * variants of it: counting, failing, never answering), the corpus Pod spec in every holder kind, and
 * an injected clock. Tag pinning against a real registry is in tag-resolver.test.ts.
 */
import { type AdmissionConfig, AdmissionController, type AdmissionPorts, resolveAdmissionConfig, withTimeout } from '../../lib/admission/decide';
import { AdmissionConfigError, AdmissionReviewError, LookupTimeoutError } from '../../lib/admission/errors';
import { type AdmissionReviewResponse, parseAdmissionReview as asReview } from '../../lib/admission/review';
import type { Digest, ImageRef } from '../../lib/engine/model';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import {
  CountingStore,
  FRESH,
  FlakyStore,
  HangingStore,
  KINDS,
  NOW,
  SECTIONS,
  STALE,
  TRUSTED,
  corpusReview,
  decodePatch,
  digestOf,
  kind,
  pinned,
  podReview,
  podSpec,
  review,
  verdict,
} from './fixtures';

const TRUSTED_LIST = [`${TRUSTED}/team/*`];

/** A store with trusted, fresh verdicts for `names` (by {@link digestOf}). */
async function storeWith(names: string[], store = new CountingStore()): Promise<CountingStore> {
  for (const n of names) await store.put(verdict(digestOf(n), 'trusted', FRESH));
  return store;
}

function controller(store: AdmissionPorts['store'], config: AdmissionConfig = {}, ports: Partial<AdmissionPorts> = {}): AdmissionController {
  return new AdmissionController({ trustedRegistries: TRUSTED_LIST, ...config }, { store, now: () => NOW, ...ports });
}

/** The response keys, recursively (`status.code`, …), for shape comparisons. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

describe('every kind × every container section is checked (case 36)', () => {
  const good = { initContainers: pinned('init'), containers: pinned('app'), ephemeralContainers: pinned('debug') };
  const cases = KINDS.flatMap((k) => SECTIONS.map((s) => ({ name: `${k.name} ${s}`, k, s })));

  it.each(KINDS.map((k) => ({ name: k.name, k })))('$name with trusted images in all three sections is allowed', async ({ k }) => {
    const store = await storeWith(['init', 'app', 'debug']);
    const d = await controller(store).decide(asReview(review(k.gvk, k.build(podSpec(good)))), 'validate');
    expect(d.allowed).toBe(true);
    expect(d.checks.map((c) => c.image.path)).toEqual(SECTIONS.map((s) => `${k.specPointer}/${s}/0/image`));
    expect(store.calls.sort()).toEqual([digestOf('init'), digestOf('app'), digestOf('debug')].sort());
  });

  it.each(cases)('$name: a quarantined image there denies, naming its path', async ({ k, s }) => {
    const store = await storeWith(['init', 'app', 'debug']);
    await store.put(verdict(digestOf('bad'), 'quarantined', FRESH, [{ rule: 'no-critical', message: 'openssl: CVE-2024-0001 is critical', findings: ['CVE-2024-0001'] }]));
    const d = await controller(store).decide(asReview(review(k.gvk, k.build(podSpec({ ...good, [s]: pinned('bad') })))), 'validate');
    expect(d.allowed).toBe(false);
    expect(d.failures.map((f) => [f.image.path, f.failure!.kind])).toEqual([[`${k.specPointer}/${s}/0/image`, 'quarantined']]);
    expect(d.response.status!.message).toContain(`${k.specPointer}/${s}/0/image`);
    expect(d.response.status!.message).toContain('no-critical: openssl: CVE-2024-0001 is critical');
  });
});

describe('the rules per image', () => {
  interface RuleCase {
    readonly name: string;
    readonly image: string;
    readonly setup?: (store: CountingStore) => Promise<void>;
    readonly kind?: string;
    readonly message?: RegExp;
    /** Digests the store must have been asked for. */
    readonly lookups: Digest[];
  }
  const cases: RuleCase[] = [
    { name: 'trusted, fresh verdict → allowed', image: pinned('app'), setup: async (s) => void (await storeWith(['app'], s)), lookups: [digestOf('app')] },
    { name: 'registry not on the list → denied without contacting the store (case 41)', image: `evil.example.com/team/app@${digestOf('app')}`, setup: async (s) => void (await storeWith(['app'], s)), kind: 'untrusted-registry', message: /evil.example.com\/team\/app is not on the trusted registry list/, lookups: [] },
    { name: 'repository outside the trusted path → denied', image: `${TRUSTED}/other/app@${digestOf('app')}`, kind: 'untrusted-registry', lookups: [] },
    { name: 'Docker Hub short name → expanded, then denied', image: 'nginx', kind: 'untrusted-registry', message: /docker.io\/library\/nginx/, lookups: [] },
    { name: 'the corpus placeholder imageValue → not a valid reference', image: 'imageValue', kind: 'invalid-reference', message: /not a valid image reference/, lookups: [] },
    { name: 'tag only on validate → denied, telling to pin the digest (case 35)', image: `${TRUSTED}/team/app:1.0.0`, kind: 'tag-not-pinned', message: /tag only \(:1.0.0\); pin the digest: registry.example.com\/team\/app@sha256:/, lookups: [] },
    { name: 'no verdict → denied (case 40)', image: pinned('never-scanned'), kind: 'no-verdict', message: /no verdict for sha256:/, lookups: [digestOf('never-scanned')] },
    { name: 'stale verdict → denied (case 40)', image: pinned('old'), setup: async (s) => void (await s.put(verdict(digestOf('old'), 'trusted', STALE))), kind: 'stale-verdict', message: /stale: evaluated 2026-02-08T12:00:00Z, 30d ago, over the 7d allowed/, lookups: [digestOf('old')] },
    {
      name: 'quarantined → denied with the verdict reasons (case 40)',
      image: pinned('bad'),
      setup: async (s) => void (await s.put(verdict(digestOf('bad'), 'quarantined', FRESH, [
        { rule: 'no-critical', message: 'openssl: CVE-2024-0001 is critical', findings: ['CVE-2024-0001'] },
        { rule: 'no-secrets', message: 'AWS key in /app/.env', findings: ['aws-access-key'] },
      ]))),
      kind: 'quarantined',
      message: /quarantined \(evaluated 2026-03-09T12:00:00Z\): no-critical: openssl: CVE-2024-0001 is critical; no-secrets: AWS key in \/app\/.env/,
      lookups: [digestOf('bad')],
    },
    { name: 'quarantined and stale → reported as quarantined', image: pinned('both'), setup: async (s) => void (await s.put(verdict(digestOf('both'), 'quarantined', STALE))), kind: 'quarantined', lookups: [digestOf('both')] },
    { name: 'tag and digest → the digest is checked', image: `${TRUSTED}/team/app:1.0.0@${digestOf('app')}`, setup: async (s) => void (await storeWith(['app'], s)), lookups: [digestOf('app')] },
  ];

  it.each(cases)('$name', async (c) => {
    const store = new CountingStore();
    await c.setup?.(store);
    const d = await controller(store).decide(asReview(podReview({ containers: c.image })), 'validate');
    const mine = d.checks.find((x) => x.image.section === 'containers')!;
    if (c.kind === undefined) {
      expect(mine.failure).toBeUndefined();
    } else {
      expect(mine.failure?.kind).toBe(c.kind);
      if (c.message) expect(mine.failure!.message).toMatch(c.message);
      expect(d.allowed).toBe(false);
      expect(d.response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    }
    // The corpus Pod's other sections hold `imageValue`: refused before any lookup.
    expect(store.calls).toEqual(c.lookups);
  });

  it('a store that throws → denied "verdict store unreachable", and the error is not cached (case 40)', async () => {
    const store = new FlakyStore(1);
    await store.put(verdict(digestOf('app'), 'trusted', FRESH));
    const logged: string[] = [];
    const ctl = controller(store, {}, { log: (l) => logged.push(l) });
    const body = podReview({ containers: pinned('app'), initContainers: pinned('app'), ephemeralContainers: pinned('app') });
    const first = await ctl.decide(asReview(body), 'validate');
    expect(first.allowed).toBe(false);
    expect(first.failures.map((f) => f.failure!.kind)).toEqual(['store-unreachable', 'store-unreachable', 'store-unreachable']);
    expect(first.response.status!.message).toContain('verdict store unreachable: connect ECONNREFUSED');
    expect(logged.join('\n')).toContain('ECONNREFUSED');
    const second = await ctl.decide(asReview(body), 'validate');
    expect(second.allowed).toBe(true);
    expect(store.calls).toEqual([digestOf('app'), digestOf('app')]);
  });

  it('a store that never answers → denied within the lookup budget, nothing cached (case 38)', async () => {
    const store = new HangingStore();
    const ctl = controller(store, { lookupTimeoutMs: 50 });
    const body = podReview({ containers: pinned('app'), initContainers: pinned('app'), ephemeralContainers: pinned('other') });
    const d = await ctl.decide(asReview(body), 'validate');
    expect(d.allowed).toBe(false);
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['store-unreachable', 'store-unreachable', 'store-unreachable']);
    expect(d.response.status!.message).toContain('verdict store unreachable: LOOKUP_TIMEOUT: verdict store lookup of sha256:');
    expect(d.response.status!.message).toContain('did not answer within 50 ms');
    // One lookup per distinct digest, and a second request asks again (timeouts are not cached).
    expect(store.calls.sort()).toEqual([digestOf('app'), digestOf('other')].sort());
    await ctl.decide(asReview(body), 'validate');
    expect(store.calls).toHaveLength(4);
  });

  it('an empty trusted list admits any registry (the other rules still apply)', async () => {
    const store = new CountingStore();
    await store.put(verdict(digestOf('app'), 'trusted', FRESH));
    const ctl = controller(store, { trustedRegistries: [] });
    const d = await ctl.decide(asReview(podReview({ initContainers: `ghcr.io/anyone/app@${digestOf('app')}`, containers: `docker.io/library/nginx@${digestOf('app')}`, ephemeralContainers: pinned('app', 'quay.io') })), 'validate');
    expect(d.allowed).toBe(true);
  });

  it('trusted registry patterns: ECR in any region, ** across path components', async () => {
    const store = await storeWith(['app']);
    const ctl = controller(store, { trustedRegistries: ['123456789012.dkr.ecr.*.amazonaws.com/**', 'ghcr.io/acme/**'] });
    const ok = await ctl.decide(asReview(podReview({ initContainers: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web@${digestOf('app')}`, containers: `ghcr.io/acme/a/b/c@${digestOf('app')}`, ephemeralContainers: `123456789012.dkr.ecr.us-east-1.amazonaws.com/x@${digestOf('app')}` })), 'validate');
    expect(ok.allowed).toBe(true);
    const bad = await ctl.decide(asReview(podReview({ initContainers: `999999999999.dkr.ecr.eu-west-1.amazonaws.com/team/web@${digestOf('app')}`, containers: `ghcr.io/acme-evil/a@${digestOf('app')}`, ephemeralContainers: `123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example/x@${digestOf('app')}` })), 'validate');
    expect(bad.failures.map((f) => f.failure!.kind)).toEqual(['untrusted-registry', 'untrusted-registry', 'untrusted-registry']);
  });

  it('a verdict answered for another digest is not trusted', async () => {
    const other = await storeWith(['other']);
    const lying: AdmissionPorts['store'] = { get: async () => other.get(digestOf('other')) };
    const d = await controller(lying).decide(asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') })), 'validate');
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['invalid-verdict', 'invalid-verdict', 'invalid-verdict']);
  });
});

describe('index digest vs platform digest (case 42)', () => {
  const index = digestOf('index');
  const amd64 = digestOf('amd64');
  const arm64 = digestOf('arm64');
  async function store(): Promise<CountingStore> {
    const s = new CountingStore();
    // What the pipeline records for a two-platform image whose arm64 build has a critical finding.
    await s.put(verdict(amd64, 'trusted', FRESH));
    await s.put(verdict(arm64, 'quarantined', FRESH, [{ rule: 'no-critical', message: 'busybox: CVE-2024-0002 is critical', findings: ['CVE-2024-0002'] }]));
    await s.put(verdict(index, 'quarantined', FRESH, [{ rule: 'platforms', message: 'linux/arm64 is quarantined', findings: [] }]));
    return s;
  }
  it.each([
    { name: 'the index digest → its quarantined aggregate denies, though amd64 alone is trusted', digest: index, allowed: false },
    { name: 'the amd64 manifest digest → its own trusted verdict', digest: amd64, allowed: true },
    { name: 'the arm64 manifest digest → its own quarantined verdict', digest: arm64, allowed: false },
  ])('$name', async ({ digest, allowed }) => {
    const s = await store();
    const image = `${TRUSTED}/team/multi@${digest}`;
    const d = await controller(s).decide(asReview(podReview({ initContainers: image, containers: image, ephemeralContainers: image })), 'validate');
    expect(d.allowed).toBe(allowed);
    // Looked up as named, once.
    expect(s.calls).toEqual([digest]);
  });
});

describe('the response', () => {
  it('echoes the uid and lists every failing image with its reasons', async () => {
    const store = await storeWith(['app']);
    await store.put(verdict(digestOf('bad'), 'quarantined', FRESH, [{ rule: 'no-malware', message: 'EICAR in /app/x', findings: ['eicar'] }]));
    const ctl = controller(store);
    const res = await ctl.review(podReview({ initContainers: `${TRUSTED}/team/init:2`, containers: pinned('bad'), ephemeralContainers: 'quay.io/x/y@' + digestOf('app') }, { uid: 'e911857d-c318-11e8-bbad-025000000001', namespace: 'payments' }), 'validate');
    expect(res.apiVersion).toBe('admission.k8s.io/v1');
    expect(res.kind).toBe('AdmissionReview');
    expect(res.response.uid).toBe('e911857d-c318-11e8-bbad-025000000001');
    expect(res.response.allowed).toBe(false);
    const msg = res.response.status!.message;
    expect(msg).toMatch(/^trustctl denied 3 of 3 images of the Pod under-test in namespace payments:\n/);
    expect(msg).toContain('- /spec/initContainers/0/image (nameValue) "registry.example.com/team/init:2": referenced by tag only');
    expect(msg).toContain('- /spec/containers/0/image (nameValue) "registry.example.com/team/bad@sha256:');
    expect(msg).toContain('no-malware: EICAR in /app/x');
    expect(msg).toContain('- /spec/ephemeralContainers/0/image (nameValue) "quay.io/x/y@sha256:');
    expect(res.response.status!.details!.causes.map((c) => c.field)).toEqual(['spec.initContainers[0].image', 'spec.containers[0].image', 'spec.ephemeralContainers[0].image']);
    expect(store.calls).toEqual([digestOf('bad')]);
  });

  it('a DELETE, a kind without pod template, the scale subresource → allowed without a lookup', async () => {
    const store = new CountingStore();
    const ctl = controller(store);
    const del = await ctl.review(podReview({ containers: 'evil.example/x:1' }, { operation: 'DELETE', uid: 'd-1' }), 'validate');
    expect(del.response).toEqual({ uid: 'd-1', allowed: true });
    const custom = corpusReview('k8s-api-testdata__admission.k8s.io.v1.AdmissionReview.json') as { request: Record<string, unknown>; response?: unknown };
    custom.request.operation = 'CREATE';
    delete custom.response;
    expect((await ctl.review(custom, 'validate')).response).toEqual({ uid: 'uidValue', allowed: true });
    const scale = review({ group: 'autoscaling', version: 'v1', kind: 'Scale' }, { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 3 } }, { operation: 'UPDATE', subResource: 'scale', uid: 's-1' });
    expect((await ctl.review(scale, 'validate')).response).toEqual({ uid: 's-1', allowed: true });
    expect(store.calls).toEqual([]);
  });

  it('a Pod we cannot read is denied, never allowed silently (fail closed)', async () => {
    const ctl = controller(new CountingStore());
    const body = review(kind('Pod').gvk, { apiVersion: 'v1', kind: 'Pod', spec: { containers: 'nginx' } }, { uid: 'u-bad' });
    const res = await ctl.review(body, 'validate');
    expect(res.response).toMatchObject({ uid: 'u-bad', allowed: false, status: { code: 403 } });
    expect(res.response.status!.message).toContain('cannot read the Pod: /spec/containers is not a list');
    const noObject = await ctl.review(review(kind('Deployment').gvk, null, { uid: 'u-null' }), 'mutate');
    expect(noObject.response).toMatchObject({ uid: 'u-null', allowed: false });
  });

  it('a body that is no AdmissionReview throws AdmissionReviewError (the server answers 400)', async () => {
    await expect(controller(new CountingStore()).review(corpusReview('opa-docs__admissionreview-pod-partial-input.json'), 'validate')).rejects.toThrow(AdmissionReviewError);
  });

  it('repeated images are looked up once', async () => {
    const store = await storeWith(['app']);
    const ctl = controller(store, { cacheTtlMs: 0 });
    const spec = { containers: [1, 2, 3].map((i) => ({ name: `c${i}`, image: pinned('app') })), initContainers: [{ name: 'i', image: pinned('app') }] };
    const d = await ctl.decide(asReview(review(kind('Pod').gvk, { spec })), 'validate');
    expect(d.allowed).toBe(true);
    expect(d.checks).toHaveLength(4);
    expect(store.calls).toEqual([digestOf('app')]);
  });

  it('concurrent requests for one digest share one store call', async () => {
    const store = await storeWith(['app']);
    const ctl = controller(store);
    const body = asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }));
    const all = await Promise.all([1, 2, 3, 4].map(() => ctl.decide(body, 'validate')));
    expect(all.every((d) => d.allowed)).toBe(true);
    expect(store.calls).toEqual([digestOf('app')]);
  });

  describe('shapes match the Kubernetes docs examples (k8s-docs__admissionreview-v1-response-*.json)', () => {
    const allowedKeys = new Set(keyPaths((corpusReview('k8s-api-testdata__admission.k8s.io.v1.AdmissionReview.json') as { response: unknown }).response, 'response.'));
    allowedKeys.add('apiVersion').add('kind').add('response');
    const causeKeys = ['reason', 'message', 'field'];

    async function ours(which: string): Promise<AdmissionReviewResponse> {
      const store = await storeWith(['app']);
      await store.put(verdict(digestOf('bad'), 'quarantined', FRESH));
      const resolver = async (): Promise<Digest> => digestOf('app');
      switch (which) {
        case 'allow':
          return controller(store).review(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }), 'validate');
        case 'forbid-with-status':
          return controller(store).review(podReview({ containers: pinned('bad') }), 'validate');
        case 'allow-with-warnings':
          return controller(store, { defaultMode: 'warn' }).review(podReview({ containers: pinned('bad') }), 'validate');
        default:
          return controller(store, {}, { resolveTag: resolver }).review(podReview({ initContainers: pinned('app'), containers: `${TRUSTED}/team/app:1.0.0`, ephemeralContainers: pinned('app') }), 'mutate');
      }
    }

    it.each(['allow', 'forbid-with-status', 'allow-with-warnings', 'allow-with-jsonpatch'])('%s', async (which) => {
      const example = corpusReview(`k8s-docs__admissionreview-v1-response-${which}.json`);
      const res = await ours(which);
      const mine = keyPaths(res);
      // Every key of the docs example is in ours, with the same value type…
      for (const k of keyPaths(example)) expect(mine).toContain(k);
      const typeAt = (doc: unknown, path: string): string => typeof path.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)?.[p], doc);
      for (const k of keyPaths(example)) expect([k, typeAt(res, k)]).toEqual([k, typeAt(example, k)]);
      // …and ours are all AdmissionResponse fields (the full-field API fixture), StatusCause fields in causes.
      for (const k of mine) if (!k.startsWith('response.status.details.causes')) expect(allowedKeys).toContain(k);
      for (const c of res.response.status?.details?.causes ?? []) for (const k of Object.keys(c)) expect(causeKeys).toContain(k);
      expect(example.apiVersion).toBe(res.apiVersion);
      expect(example.kind).toBe(res.kind);
      expect((example.response as { allowed: boolean }).allowed).toBe(res.response.allowed);
    });
  });
});

describe('the mutating path pins tags (case 35; real registry in tag-resolver.test.ts)', () => {
  const tagged = `${TRUSTED}/team/app:1.0.0`;
  const resolved: ImageRef[] = [];
  const resolver = async (ref: ImageRef): Promise<Digest> => {
    resolved.push(ref);
    if (ref.tag === 'missing') throw new Error('manifest unknown');
    return ref.repository === 'team/bad' ? digestOf('bad') : digestOf('app');
  };
  beforeEach(() => {
    resolved.length = 0;
  });

  it('resolves, checks the digest and returns a JSON Patch replacing each tagged image', async () => {
    const store = await storeWith(['app']);
    const d = await controller(store, {}, { resolveTag: resolver }).decide(asReview(podReview({ initContainers: tagged, containers: pinned('app'), ephemeralContainers: tagged })), 'mutate');
    expect(d.allowed).toBe(true);
    expect(d.patch).toEqual([
      { op: 'replace', path: '/spec/initContainers/0/image', value: `${TRUSTED}/team/app@${digestOf('app')}` },
      { op: 'replace', path: '/spec/ephemeralContainers/0/image', value: `${TRUSTED}/team/app@${digestOf('app')}` },
    ]);
    expect(d.response.patchType).toBe('JSONPatch');
    expect(decodePatch(d.response.patch)).toEqual(d.patch);
    // One resolution for the two uses of the tag, one lookup for the digest.
    expect(resolved).toHaveLength(1);
    expect(store.calls).toEqual([digestOf('app')]);
  });

  it('every holder kind gets the patch at its own path', async () => {
    for (const k of KINDS) {
      const d = await controller(await storeWith(['app']), {}, { resolveTag: resolver }).decide(asReview(review(k.gvk, k.build(podSpec({ initContainers: pinned('app'), containers: tagged, ephemeralContainers: pinned('app') })))), 'mutate');
      expect([k.name, d.patch]).toEqual([k.name, [{ op: 'replace', path: `${k.specPointer}/containers/0/image`, value: `${TRUSTED}/team/app@${digestOf('app')}` }]]);
    }
  });

  it.each([
    { name: 'a tag resolving to a quarantined digest → denied, no patch', image: `${TRUSTED}/team/bad:1`, kind: 'quarantined' },
    { name: 'a tag that does not exist → denied', image: `${TRUSTED}/team/app:missing`, kind: 'tag-unresolved' },
    { name: 'a tag from an untrusted registry → denied before resolving', image: 'evil.example.com/team/app:1', kind: 'untrusted-registry' },
  ])('$name', async ({ image, kind: k }) => {
    const store = await storeWith(['app']);
    await store.put(verdict(digestOf('bad'), 'quarantined', FRESH));
    const d = await controller(store, {}, { resolveTag: resolver }).decide(asReview(podReview({ initContainers: pinned('app'), containers: image, ephemeralContainers: pinned('app') })), 'mutate');
    expect(d.allowed).toBe(false);
    expect(d.patch).toEqual([]);
    expect(d.response.patch).toBeUndefined();
    expect(d.failures.map((f) => f.failure!.kind)).toEqual([k]);
    if (k === 'untrusted-registry') expect(resolved).toEqual([]);
  });

  it('a tag on the validating path is denied even with a resolver', async () => {
    const d = await controller(await storeWith(['app']), {}, { resolveTag: resolver }).decide(asReview(podReview({ initContainers: pinned('app'), containers: tagged, ephemeralContainers: pinned('app') })), 'validate');
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['tag-not-pinned']);
    expect(resolved).toEqual([]);
  });

  it('a tag on the mutating path without a resolver is denied', async () => {
    const d = await controller(await storeWith(['app'])).decide(asReview(podReview({ initContainers: pinned('app'), containers: tagged, ephemeralContainers: pinned('app') })), 'mutate');
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['tag-not-pinned']);
  });

  it('a resolver that never answers → denied within the lookup budget', async () => {
    const d = await controller(await storeWith(['app']), { lookupTimeoutMs: 50 }, { resolveTag: () => new Promise(() => undefined) }).decide(asReview(podReview({ initContainers: pinned('app'), containers: tagged, ephemeralContainers: pinned('app') })), 'mutate');
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['tag-unresolved']);
    expect(d.failures[0].failure!.message).toContain('did not answer within 50 ms');
  });

  it('an all-digest Pod on the mutating path is allowed without a patch', async () => {
    const d = await controller(await storeWith(['app']), {}, { resolveTag: resolver }).review(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }), 'mutate');
    expect(d.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });
});

describe('namespace modes', () => {
  const bad = { initContainers: pinned('app'), containers: `${TRUSTED}/team/app:latest`, ephemeralContainers: 'evil.example.com/x/y:1' };
  const modeCases: { name: string; config: AdmissionConfig; namespace: string; allowed: boolean; warnings: number; lookups: number }[] = [
    { name: 'default enforce → denied', config: {}, namespace: 'team-a', allowed: false, warnings: 0, lookups: 1 },
    { name: 'warn by namespace → allowed with a warning per failing image', config: { namespaces: { 'team-a': 'warn'} }, namespace: 'team-a', allowed: true, warnings: 2, lookups: 1 },
    { name: 'off by namespace → allowed without lookup', config: { namespaces: { 'team-a': 'off'} }, namespace: 'team-a', allowed: true, warnings: 0, lookups: 0 },
    { name: 'another namespace keeps the default', config: { namespaces: { 'team-b': 'off'} }, namespace: 'team-a', allowed: false, warnings: 0, lookups: 1 },
    { name: 'defaultMode warn, one namespace enforced', config: { defaultMode: 'warn', namespaces: { prod: 'enforce'} }, namespace: 'prod', allowed: false, warnings: 0, lookups: 1 },
    { name: 'defaultMode off', config: { defaultMode: 'off'}, namespace: 'team-a', allowed: true, warnings: 0, lookups: 0 },
    { name: 'a namespace named like an Object.prototype key keeps the default', config: {}, namespace: 'constructor', allowed: false, warnings: 0, lookups: 1 },
  ];
  it.each(modeCases)('$name', async ({ config, namespace, allowed, warnings, lookups }) => {
    const store = await storeWith(['app']);
    const res = await controller(store, config).review(podReview(bad, { namespace }), 'validate');
    expect(res.response.allowed).toBe(allowed);
    expect(res.response.warnings ?? []).toHaveLength(warnings);
    if (allowed) expect(res.response.status).toBeUndefined();
    expect(store.calls).toHaveLength(lookups);
  });

  it('warn: each warning names the image and the reason, at most 256 characters', async () => {
    const store = await storeWith(['app']);
    const res = await controller(store, { defaultMode: 'warn' }).review(podReview({ ...bad, containers: `${TRUSTED}/team/${'x'.repeat(200)}:latest` }), 'validate');
    expect(res.response.warnings![0]).toMatch(/^trustctl would deny \/spec\/containers\/0\/image: referenced by tag only \(:latest\); pin the digest: registry.example.com\/team\/x+…$/);
    expect(res.response.warnings![1]).toContain('evil.example.com/x/y is not on the trusted registry list');
    for (const w of res.response.warnings!) expect(w.length).toBeLessThanOrEqual(256);
  });

  it('warn on the mutating path changes nothing (no patch)', async () => {
    const res = await controller(await storeWith(['app']), { defaultMode: 'warn' }, { resolveTag: async () => digestOf('app') }).review(podReview({ initContainers: pinned('app'), containers: `${TRUSTED}/team/app:1`, ephemeralContainers: pinned('app') }), 'mutate');
    expect(res.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });
});

describe('UPDATE', () => {
  const oldPod = kind('Pod').build(podSpec({ initContainers: pinned('init'), containers: pinned('old'), ephemeralContainers: pinned('debug') }));
  it('checks only images the old object did not have', async () => {
    const store = new CountingStore(); // nothing trusted at all: every lookup would deny
    const sameImages = await controller(store).decide(asReview(review(kind('Pod').gvk, oldPod, { operation: 'UPDATE', oldObject: oldPod })), 'validate');
    expect(sameImages.allowed).toBe(true);
    expect(sameImages.checks).toEqual([]);
    const changed = kind('Pod').build(podSpec({ initContainers: pinned('init'), containers: pinned('new'), ephemeralContainers: pinned('debug') }));
    const d = await controller(store).decide(asReview(review(kind('Pod').gvk, changed, { operation: 'UPDATE', oldObject: oldPod })), 'validate');
    expect(d.failures.map((f) => [f.image.path, f.failure!.kind])).toEqual([['/spec/containers/0/image', 'no-verdict']]);
    expect(store.calls).toEqual([digestOf('new')]);
  });

  it('an ephemeral container added through pods/ephemeralcontainers is checked', async () => {
    const store = await storeWith(['init', 'old']);
    const before = kind('Pod').build({ ...podSpec({ initContainers: pinned('init'), containers: pinned('old') }), ephemeralContainers: [] });
    const after = kind('Pod').build(podSpec({ initContainers: pinned('init'), containers: pinned('old'), ephemeralContainers: 'docker.io/library/busybox:latest' }));
    const d = await controller(store).decide(asReview(review(kind('Pod').gvk, after, { operation: 'UPDATE', oldObject: before, subResource: 'ephemeralcontainers' })), 'validate');
    expect(d.failures.map((f) => [f.image.path, f.failure!.kind])).toEqual([['/spec/ephemeralContainers/0/image', 'untrusted-registry']]);
  });

  it('checkUnchangedOnUpdate: true checks every image again', async () => {
    const d = await controller(new CountingStore(), { checkUnchangedOnUpdate: true }).decide(asReview(review(kind('Pod').gvk, oldPod, { operation: 'UPDATE', oldObject: oldPod })), 'validate');
    expect(d.failures).toHaveLength(3);
  });
});

describe('the verdict cache', () => {
  it('serves a verdict for cacheTtlMs (injected clock), then asks the store again', async () => {
    let now = NOW;
    const store = await storeWith(['app']);
    const ctl = new AdmissionController({ trustedRegistries: TRUSTED_LIST, cacheTtlMs: 5000 }, { store, now: () => now });
    const body = asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }));
    await ctl.decide(body, 'validate');
    now += 4999;
    await ctl.decide(body, 'validate');
    expect(store.calls).toHaveLength(1);
    now += 1;
    await ctl.decide(body, 'validate');
    expect(store.calls).toHaveLength(2);
  });

  it('"no verdict" is an answer and is cached too; a new verdict is seen after the TTL', async () => {
    let now = NOW;
    const store = new CountingStore();
    const ctl = new AdmissionController({ trustedRegistries: TRUSTED_LIST, cacheTtlMs: 1000 }, { store, now: () => now });
    const body = asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }));
    expect((await ctl.decide(body, 'validate')).allowed).toBe(false);
    await store.put(verdict(digestOf('app'), 'trusted', FRESH));
    expect((await ctl.decide(body, 'validate')).allowed).toBe(false);
    now += 1000;
    expect((await ctl.decide(body, 'validate')).allowed).toBe(true);
    expect(store.calls).toHaveLength(2);
  });

  it.each([
    { name: 'the default miss TTL (2 s) under a long verdict TTL', config: { cacheTtlMs: 60_000 }, missMs: 2000 },
    { name: 'a miss TTL given', config: { cacheTtlMs: 60_000, missCacheTtlMs: 500 }, missMs: 500 },
    { name: 'a miss TTL over the verdict TTL (capped by it)', config: { cacheTtlMs: 1000, missCacheTtlMs: 10_000 }, missMs: 1000 },
  ])('"no verdict" is kept only for the miss TTL, a found verdict for the full TTL: $name', async ({ config, missMs }) => {
    let now = NOW;
    const store = new CountingStore();
    const ctl = new AdmissionController({ trustedRegistries: TRUSTED_LIST, ...config }, { store, now: () => now });
    const body = asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }));
    expect((await ctl.decide(body, 'validate')).allowed).toBe(false);
    await store.put(verdict(digestOf('app'), 'trusted', new Date(NOW - 3600_000).toISOString()));
    now += missMs - 1;
    expect((await ctl.decide(body, 'validate')).allowed).toBe(false);
    expect(store.calls).toHaveLength(1);
    now += 1;
    expect((await ctl.decide(body, 'validate')).allowed).toBe(true);
    expect(store.calls).toHaveLength(2);
    // The verdict found is then served for the whole cacheTtlMs.
    now += config.cacheTtlMs - 1;
    expect((await ctl.decide(body, 'validate')).allowed).toBe(true);
    expect(store.calls).toHaveLength(2);
  });

  it('a miss TTL of 0 never caches "no verdict" (but still caches verdicts)', async () => {
    const now = NOW;
    const store = new CountingStore();
    const ctl = new AdmissionController({ trustedRegistries: TRUSTED_LIST, missCacheTtlMs: 0 }, { store, now: () => now });
    const body = asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }));
    expect((await ctl.decide(body, 'validate')).allowed).toBe(false);
    await store.put(verdict(digestOf('app'), 'trusted', new Date(NOW - 3600_000).toISOString()));
    expect((await ctl.decide(body, 'validate')).allowed).toBe(true);
    expect((await ctl.decide(body, 'validate')).allowed).toBe(true);
    expect(store.calls).toHaveLength(2);
  });

  it('staleness is judged at decision time, not cache time', async () => {
    let now = Date.parse(FRESH) + 7 * 86_400_000 - 1000;
    const store = await storeWith(['app']);
    const ctl = new AdmissionController({ trustedRegistries: TRUSTED_LIST, cacheTtlMs: 60_000 }, { store, now: () => now });
    const body = asReview(podReview({ initContainers: pinned('app'), containers: pinned('app'), ephemeralContainers: pinned('app') }));
    expect((await ctl.decide(body, 'validate')).allowed).toBe(true);
    now += 2000;
    const d = await ctl.decide(body, 'validate');
    expect(d.failures.map((f) => f.failure!.kind)).toEqual(['stale-verdict', 'stale-verdict', 'stale-verdict']);
    expect(store.calls).toHaveLength(1);
  });

  it('a warm lookup answers synchronously (no promise, no store call)', async () => {
    const store = await storeWith(['app']);
    const ctl = controller(store);
    const cold = ctl.lookupVerdict(digestOf('app'));
    expect(cold).toBeInstanceOf(Promise);
    await cold;
    const warm = ctl.lookupVerdict(digestOf('app'));
    expect(warm).not.toBeInstanceOf(Promise);
    expect(warm).toMatchObject({ status: 'found', verdict: { status: 'trusted' } });
    ctl.clearCache();
    expect(ctl.lookupVerdict(digestOf('app'))).toBeInstanceOf(Promise);
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(resolveAdmissionConfig()).toEqual({
      trustedRegistries: [],
      maxVerdictAge: 604_800_000,
      namespaces: {},
      defaultMode: 'enforce',
      lookupTimeoutMs: 2000,
      cacheTtlMs: 5000,
      missCacheTtlMs: 2000,
      maxCacheEntries: 10_000,
      webhookTimeoutSeconds: 5,
      checkUnchangedOnUpdate: false,
    });
  });

  it.each([
    { name: 'a pattern without registry', config: { trustedRegistries: ['library/alpine'] }, message: /must start with a registry host/ },
    { name: 'a pattern with a tag', config: { trustedRegistries: ['ghcr.io/acme/app:1'] }, message: /no tag or digest/ },
    { name: 'lookup timeout not below the webhook timeout', config: { lookupTimeoutMs: 5000 }, message: /must be below the webhook timeout/ },
    { name: 'a zero max age', config: { maxVerdictAge: 0 }, message: /maxVerdictAge must be a positive number/ },
    { name: 'a negative cache TTL', config: { cacheTtlMs: -1 }, message: /cacheTtlMs/ },
    { name: 'a negative miss cache TTL', config: { missCacheTtlMs: -1 }, message: /missCacheTtlMs/ },
    { name: 'an unknown mode', config: { namespaces: { a: 'audit' as never } }, message: /mode of namespace "a"/ },
    { name: 'an unknown default mode', config: { defaultMode: 'permissive' as never }, message: /defaultMode/ },
  ])('refuses $name', ({ config, message }) => {
    expect(() => resolveAdmissionConfig(config)).toThrow(AdmissionConfigError);
    expect(() => resolveAdmissionConfig(config)).toThrow(message);
  });

  it('with a tag resolver, resolution and lookup together must fit the webhook timeout', () => {
    const ports = { store: new MemoryVerdictStore(), resolveTag: async () => digestOf('x') };
    expect(() => new AdmissionController({ lookupTimeoutMs: 2500 }, ports)).toThrow(/twice lookupTimeoutMs/);
    expect(() => new AdmissionController({ lookupTimeoutMs: 2500, webhookTimeoutSeconds: 10 }, ports)).not.toThrow();
  });
});

describe('withTimeout', () => {
  it('settles as the promise does, or with LookupTimeoutError', async () => {
    await expect(withTimeout(async () => 1, 50, 'x')).resolves.toBe(1);
    await expect(withTimeout(async () => Promise.reject(new Error('boom')), 50, 'x')).rejects.toThrow('boom');
    await expect(withTimeout(() => new Promise(() => undefined), 20, 'the thing')).rejects.toThrow(LookupTimeoutError);
    await expect(
      withTimeout(() => {
        throw new Error('sync');
      }, 20, 'x'),
    ).rejects.toThrow('sync');
  });
});
