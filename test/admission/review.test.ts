/** Parsing AdmissionReview v1 requests: the corpus shapes and what is refused (HTTP 400 upstream). */
import { AdmissionReviewError } from '../../lib/admission/errors';
import { parseAdmissionReview, reviewResponse } from '../../lib/admission/review';
import { corpusBytes } from '../helpers/corpus';
import { corpusReview, podReview } from './fixtures';

describe('parseAdmissionReview', () => {
  it('reads a Pod review as the API server sends it (JSON text or parsed)', () => {
    const body = podReview({ containers: 'a.example/x:1' }, { uid: 'uid-1', namespace: 'ns-1' });
    for (const input of [body, JSON.stringify(body), Buffer.from(JSON.stringify(body))]) {
      const r = parseAdmissionReview(input);
      expect(r.request).toMatchObject({ uid: 'uid-1', namespace: 'ns-1', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } });
      expect(r.request.object).toBeDefined();
      expect(r.request.oldObject).toBeUndefined();
    }
  });

  it('reads the corpus full-field review once its placeholder operation is a real one', () => {
    const doc = corpusReview('k8s-api-testdata__admission.k8s.io.v1.AdmissionReview.json') as { request: Record<string, unknown> };
    expect(() => parseAdmissionReview(doc)).toThrow(/operation must be one of/);
    doc.request.operation = 'UPDATE';
    const r = parseAdmissionReview(doc);
    expect(r.request).toMatchObject({ uid: 'uidValue', namespace: 'namespaceValue', name: 'nameValue', subResource: 'subResourceValue', dryRun: true, kind: { group: 'groupValue', version: 'versionValue', kind: 'kindValue' } });
    expect(r.request.oldObject).toMatchObject({ kind: 'CustomType' });
  });

  const refused: { name: string; input: unknown; message: RegExp }[] = [
    { name: 'the OPA primer input (no apiVersion, no uid)', input: corpusReview('opa-docs__admissionreview-pod-partial-input.json'), message: /apiVersion must be admission.k8s.io\/v1/ },
    { name: 'the Kubernetes docs request (annotated: not JSON)', input: corpusBytes('events', 'kubernetes', 'k8s-docs__admissionreview-v1-request-scale.annotated.txt'), message: /not JSON/ },
    { name: 'admission.k8s.io/v1beta1', input: { ...podReview({}), apiVersion: 'admission.k8s.io/v1beta1' }, message: /apiVersion must be/ },
    { name: 'another kind', input: { ...podReview({}), kind: 'TokenReview' }, message: /kind must be AdmissionReview/ },
    { name: 'no request', input: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, message: /request is missing/ },
    { name: 'a JSON array', input: '[]', message: /not a JSON object/ },
    { name: 'empty body', input: '', message: /not JSON/ },
  ];
  it.each(refused)('refuses $name', ({ input, message }) => {
    expect(() => parseAdmissionReview(input)).toThrow(AdmissionReviewError);
    expect(() => parseAdmissionReview(input)).toThrow(message);
  });

  const mutate = (f: (req: Record<string, unknown>) => void): unknown => {
    const doc = podReview({}) as { request: Record<string, unknown> };
    f(doc.request);
    return doc;
  };
  it.each([
    { name: 'uid missing', input: mutate((r) => delete r.uid), message: /uid/ },
    { name: 'uid empty', input: mutate((r) => (r.uid = '')), message: /uid/ },
    { name: 'uid not a string', input: mutate((r) => (r.uid = 7)), message: /uid/ },
    { name: 'uid of 10 000 characters', input: mutate((r) => (r.uid = 'u'.repeat(10_000))), message: /uid/ },
    { name: 'kind missing', input: mutate((r) => delete r.kind), message: /request.kind/ },
    { name: 'kind.kind empty', input: mutate((r) => (r.kind = { group: '', version: 'v1', kind: '' })), message: /request.kind/ },
    { name: 'operation PATCH', input: mutate((r) => (r.operation = 'PATCH')), message: /operation/ },
    { name: 'namespace a number', input: mutate((r) => (r.namespace = 3)), message: /namespace/ },
  ])('refuses a request with $name', ({ input, message }) => {
    expect(() => parseAdmissionReview(input)).toThrow(message);
  });

  it('reviewResponse wraps a response in the v1 envelope', () => {
    expect(reviewResponse({ uid: 'u', allowed: true })).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } });
  });
});
