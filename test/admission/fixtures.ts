/**
 * Shared fixtures of the admission tests: the real Pod and Deployment from the corpus
 * (k8s.io/api testdata, every field populated) with chosen images, every pod template holder built by
 * placing that real Pod spec where its kind keeps it, AdmissionReview requests around them, verdicts,
 * and small real VerdictStore variants (counting, failing, never answering).
 */
import type { GroupVersionKind } from '../../lib/admission/review';
import { type Digest, sha256Digest } from '../../lib/engine/model';
import { MemoryVerdictStore } from '../../lib/engine/verdicts/memory-store';
import type { StoredVerdict, StoredVerdictReason, VerdictEvaluation, VerdictStore } from '../../lib/engine/verdicts/port';
import { corpusBytes } from '../helpers/corpus';

type Json = Record<string, unknown>;

const corpusJson = (file: string): Json => JSON.parse(corpusBytes('events', 'kubernetes', file).toString('utf8')) as Json;

/** The corpus core/v1 Pod (containers, initContainers, ephemeralContainers; images `imageValue`). */
export const CORPUS_POD: Json = corpusJson('k8s-api-testdata__core.v1.Pod.json');
/** The corpus apps/v1 Deployment. */
export const CORPUS_DEPLOYMENT: Json = corpusJson('k8s-api-testdata__apps.v1.Deployment.json');

/** Reads a corpus file of events/kubernetes as JSON. */
export function corpusReview(file: string): Json {
  return corpusJson(file);
}

/** The three sections, in the order the extractor reports them. */
export const SECTIONS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
/** One of {@link SECTIONS}. */
export type Section = (typeof SECTIONS)[number];

/** Images per section (the first container of each; the corpus has one per section). */
export type SectionImages = Partial<Record<Section, string>>;

/** A copy of the corpus Pod spec with the first container of each section given `images`. */
export function podSpec(images: SectionImages): Json {
  const spec = structuredClone(CORPUS_POD.spec) as Record<string, Json[]>;
  for (const s of SECTIONS) if (images[s] !== undefined) spec[s][0].image = images[s];
  return spec;
}

/** A workload kind under test: how the API server names it and where it keeps the Pod spec. */
export interface KindCase {
  readonly name: string;
  readonly gvk: GroupVersionKind;
  /** JSON Pointer of the Pod spec inside the object. */
  readonly specPointer: string;
  /** The object carrying `spec` (a Pod spec) as its kind does. */
  build(spec: Json): Json;
}

const meta = (kind: string): Json => ({ ...(structuredClone(CORPUS_POD.metadata) as Json), name: `${kind.toLowerCase()}-under-test` });
const template = (spec: Json): Json => ({ metadata: { labels: { app: 'under-test' } }, spec });

/** Pod and every pod template holder (RELIABILITY.md 36). */
export const KINDS: readonly KindCase[] = [
  { name: 'Pod', gvk: { group: '', version: 'v1', kind: 'Pod' }, specPointer: '/spec', build: (spec) => ({ ...structuredClone(CORPUS_POD), spec }) },
  {
    name: 'Deployment',
    gvk: { group: 'apps', version: 'v1', kind: 'Deployment' },
    specPointer: '/spec/template/spec',
    build: (spec) => {
      const d = structuredClone(CORPUS_DEPLOYMENT) as { spec: { template: Json } };
      d.spec.template.spec = spec;
      return d as unknown as Json;
    },
  },
  { name: 'ReplicaSet', gvk: { group: 'apps', version: 'v1', kind: 'ReplicaSet' }, specPointer: '/spec/template/spec', build: (spec) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta('ReplicaSet'), spec: { replicas: 2, selector: { matchLabels: { app: 'under-test' } }, template: template(spec) } }) },
  { name: 'StatefulSet', gvk: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, specPointer: '/spec/template/spec', build: (spec) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('StatefulSet'), spec: { serviceName: 'under-test', selector: { matchLabels: { app: 'under-test' } }, template: template(spec) } }) },
  { name: 'DaemonSet', gvk: { group: 'apps', version: 'v1', kind: 'DaemonSet' }, specPointer: '/spec/template/spec', build: (spec) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('DaemonSet'), spec: { selector: { matchLabels: { app: 'under-test' } }, template: template(spec) } }) },
  { name: 'Job', gvk: { group: 'batch', version: 'v1', kind: 'Job' }, specPointer: '/spec/template/spec', build: (spec) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta('Job'), spec: { backoffLimit: 1, template: template(spec) } }) },
  {
    name: 'CronJob',
    gvk: { group: 'batch', version: 'v1', kind: 'CronJob' },
    specPointer: '/spec/jobTemplate/spec/template/spec',
    build: (spec) => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta('CronJob'), spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: template(spec) } } } }),
  },
];

/** The kind case named `name`. */
export function kind(name: string): KindCase {
  const k = KINDS.find((c) => c.name === name);
  if (!k) throw new Error(`no kind ${name}`);
  return k;
}

/** Options of {@link review}. */
export interface ReviewOptions {
  readonly uid?: string;
  readonly namespace?: string;
  readonly operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly oldObject?: unknown;
  readonly subResource?: string;
}

/** An AdmissionReview v1 request for `object` of kind `k`, shaped as the API server sends it. */
export function review(k: GroupVersionKind, object: unknown, opts: ReviewOptions = {}): Json {
  const plural = `${k.kind.toLowerCase()}s`;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: k,
      resource: { group: k.group, version: k.version, resource: plural },
      requestKind: k,
      requestResource: { group: k.group, version: k.version, resource: plural },
      ...(opts.subResource ? { subResource: opts.subResource, requestSubResource: opts.subResource } : {}),
      name: 'under-test',
      namespace: opts.namespace ?? 'team-a',
      operation: opts.operation ?? 'CREATE',
      userInfo: { username: 'admin', uid: '014fbff9a07c', groups: ['system:authenticated'] },
      object: opts.operation === 'DELETE' ? null : object,
      oldObject: opts.oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** A Pod review with the given section images. */
export function podReview(images: SectionImages, opts: ReviewOptions = {}): Json {
  const k = kind('Pod');
  return review(k.gvk, k.build(podSpec(images)), opts);
}

/** The trusted registry of the tests and images in it. */
export const TRUSTED = 'registry.example.com';
/** A digest per name. */
export const digestOf = (name: string): Digest => sha256Digest(`admission-test:${name}`);
/** `registry.example.com/team/<name>@<digest of name>`. */
export const pinned = (name: string, registry = TRUSTED): string => `${registry}/team/${name}@${digestOf(name)}`;

/** One evaluation of `digest`, as the pipeline writes it. */
export function verdict(digest: Digest, status: 'trusted' | 'quarantined', evaluatedAt: string, reasons: StoredVerdictReason[] = []): VerdictEvaluation {
  return {
    digest,
    ref: `${TRUSTED}/team/app:1.0.0`,
    status,
    reasons,
    counts: { critical: status === 'quarantined' ? 1 : 0, high: 0, medium: 0, low: 0, unknown: 0 },
    policyHash: 'sha256:5f1c0ffee',
    feedRevision: '2026-03-01T00:00:00Z',
    plugins: ['dpkg@1.0.0', 'osv-matcher@1.0.0'],
    evaluatedAt,
  };
}

/** The fixed "now" of the decision tests: 2026-03-10T12:00:00Z. */
export const NOW = Date.parse('2026-03-10T12:00:00Z');
/** An evaluation a day before {@link NOW}: fresh under the 7-day default. */
export const FRESH = '2026-03-09T12:00:00Z';
/** An evaluation 30 days before {@link NOW}: stale. */
export const STALE = '2026-02-08T12:00:00Z';

/** A MemoryVerdictStore that records the digests it was asked for. */
export class CountingStore extends MemoryVerdictStore {
  readonly calls: Digest[] = [];
  override async get(digest: Digest): Promise<StoredVerdict | undefined> {
    this.calls.push(digest);
    return super.get(digest);
  }
}

/** A store whose reads fail the first `failures` times, like a DynamoDB throttle or a dropped connection. */
export class FlakyStore extends CountingStore {
  constructor(private failures: number) {
    super();
  }
  override async get(digest: Digest): Promise<StoredVerdict | undefined> {
    if (this.failures > 0) {
      this.failures--;
      this.calls.push(digest);
      throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
    }
    return super.get(digest);
  }
}

/** A store whose reads never answer (a store 5 s slow and more: RELIABILITY.md 38). */
export class HangingStore implements Pick<VerdictStore, 'get'> {
  readonly calls: Digest[] = [];
  get(digest: Digest): Promise<StoredVerdict | undefined> {
    this.calls.push(digest);
    return new Promise(() => undefined);
  }
}

/** Decodes a response's base64 JSON Patch. */
export function decodePatch(patch: string | undefined): unknown {
  return patch === undefined ? undefined : JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
}
