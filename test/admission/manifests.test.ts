/**
 * The generated webhook configurations, parsed back from YAML and checked field by field against the
 * admissionregistration.k8s.io/v1 API (RELIABILITY.md 36, 37, 39).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AdmissionConfigError } from '../../lib/admission/errors';
import { caBundleFromPemFile, renderWebhookManifests, type WebhookManifestOptions } from '../../lib/admission/manifests';

type Obj = Record<string, unknown>;
interface Webhook extends Obj {
  name: string;
  admissionReviewVersions: string[];
  clientConfig: { service?: { namespace: string; name: string; path: string; port: number }; url?: string; caBundle?: string };
  rules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[]; scope: string }[];
  failurePolicy: string;
  matchPolicy: string;
  sideEffects: string;
  timeoutSeconds: number;
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  reinvocationPolicy?: string;
}
interface Config extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  webhooks: Webhook[];
}

function parse(text: string): Config[] {
  const docs = parseAllDocuments(text);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Config);
}

let dir: string;
let caPem: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trustctl-manifests-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '2', '-subj', '/CN=trustctl-test-ca'], { stdio: 'pipe' });
  caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('renderWebhookManifests', () => {
  it('emits a ValidatingWebhookConfiguration and a MutatingWebhookConfiguration (admissionregistration.k8s.io/v1)', () => {
    const docs = parse(renderWebhookManifests({ caBundlePem: caPem }));
    expect(docs.map((d) => [d.apiVersion, d.kind])).toEqual([
      ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration'],
      ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration'],
    ]);
    for (const d of docs) {
      expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
      expect(d.webhooks).toHaveLength(1);
    }
  });

  const webhooks = (opts: WebhookManifestOptions = {}): Webhook[] => parse(renderWebhookManifests(opts)).map((d) => d.webhooks[0]);

  it.each([
    ['validating', 0, '/admission/validate'],
    ['mutating', 1, '/admission/mutate'],
  ] as const)('the %s webhook, field by field', (_, i, path) => {
    const w = webhooks({ caBundlePem: caPem })[i];
    // name: a fully qualified name (it must have a dot), unique per configuration.
    expect(w.name).toContain('.');
    expect(w.name).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
    expect(w.admissionReviewVersions).toEqual(['v1']);
    expect(['None', 'NoneOnDryRun']).toContain(w.sideEffects);
    expect(w.sideEffects).toBe('None');
    expect(w.failurePolicy).toBe('Fail');
    expect(w.matchPolicy).toBe('Equivalent');
    expect(Number.isInteger(w.timeoutSeconds) && w.timeoutSeconds >= 1 && w.timeoutSeconds <= 30).toBe(true);
    expect(w.timeoutSeconds).toBe(5);
    expect(w.clientConfig.service).toEqual({ namespace: 'trustctl', name: 'trustctl', path, port: 8443 });
    expect(w.clientConfig.url).toBeUndefined();
    expect(Buffer.from(w.clientConfig.caBundle!, 'base64').toString('utf8')).toBe(caPem);
    expect(w.rules).toEqual([
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' },
      { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], scope: 'Namespaced' },
      { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
    ]);
    for (const r of w.rules) for (const op of r.operations) expect(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', '*']).toContain(op);
    // Case 37: kube-system and the webhook's own namespace are never sent to the webhook.
    expect(w.namespaceSelector.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'trustctl'] },
      { key: 'trustctl.dev/exempt', operator: 'NotIn', values: ['true'] },
    ]);
    expect(w.reinvocationPolicy).toBe(i === 1 ? 'IfNeeded' : undefined);
  });

  it('the two webhooks have distinct names', () => {
    const [v, m] = webhooks();
    expect(v.name).not.toBe(m.name);
  });

  it('options: namespace, service, port, timeout, more excluded namespaces, another exemption label', () => {
    const [v] = webhooks({ namespace: 'security', service: 'image-gate', port: 443, timeoutSeconds: 10, excludeNamespaces: ['istio-system'], exemptionLabel: 'example.com/no-image-gate', mutating: false });
    expect(v.clientConfig.service).toEqual({ namespace: 'security', name: 'image-gate', path: '/admission/validate', port: 443 });
    expect(v.timeoutSeconds).toBe(10);
    expect(v.namespaceSelector.matchExpressions[0].values).toEqual(['kube-system', 'security', 'istio-system']);
    expect(v.namespaceSelector.matchExpressions[1].key).toBe('example.com/no-image-gate');
    expect(v.clientConfig.caBundle).toBeUndefined();
  });

  it('--no-mutating: only the validating configuration', () => {
    expect(parse(renderWebhookManifests({ mutating: false })).map((d) => d.kind)).toEqual(['ValidatingWebhookConfiguration']);
  });

  it('a URL instead of a Service', () => {
    const [v, m] = webhooks({ url: 'https://gate.example.com:8443/trust/' });
    expect(v.clientConfig).toEqual({ url: 'https://gate.example.com:8443/admission/validate' });
    expect(m.clientConfig).toEqual({ url: 'https://gate.example.com:8443/admission/mutate' });
  });

  it('documents the RBAC that keeps the exemption label for cluster admins (case 39)', () => {
    const text = renderWebhookManifests({ namespace: 'security' });
    const comment = text.slice(0, text.indexOf('apiVersion:'));
    expect(comment.split('\n').filter((l) => l.trim() !== '').every((l) => l.startsWith('#'))).toBe(true);
    expect(comment).toContain('trustctl.dev/exempt=true');
    expect(comment).toMatch(/`patch` or `update` on `namespaces`/);
    expect(comment).toContain('cluster admins');
    expect(comment).toContain('kube-system and security');
    expect(comment).toContain('kubectl auth can-i patch namespaces');
  });

  it('has no YAML anchors or aliases (kubectl users read it)', () => {
    expect(renderWebhookManifests()).not.toMatch(/[&*]a\d/);
  });

  it.each([
    { name: 'timeout 0', opts: { timeoutSeconds: 0 }, message: /timeoutSeconds must be an integer from 1 to 30/ },
    { name: 'timeout 31', opts: { timeoutSeconds: 31 }, message: /from 1 to 30/ },
    { name: 'a plain http URL', opts: { url: 'http://gate.example.com/' }, message: /must be https/ },
    { name: 'a URL with a query', opts: { url: 'https://gate.example.com/?x=1' }, message: /query/ },
    { name: 'a namespace with capitals', opts: { namespace: 'Trust' }, message: /DNS label/ },
    { name: 'port 0', opts: { port: 0 }, message: /port/ },
    { name: 'a CA bundle without a certificate', opts: { caBundlePem: 'hello' }, message: /no PEM certificate/ },
    { name: 'a webhook domain without a dot', opts: { webhookDomain: 'trustctl' }, message: /with a dot/ },
  ])('refuses $name', ({ opts, message }) => {
    expect(() => renderWebhookManifests(opts)).toThrow(AdmissionConfigError);
    expect(() => renderWebhookManifests(opts)).toThrow(message);
  });
});

describe('caBundleFromPemFile', () => {
  it('base64 of the PEM file', () => {
    expect(Buffer.from(caBundleFromPemFile(join(dir, 'ca.crt')), 'base64').toString('utf8')).toBe(caPem);
  });
  it('refuses a key file and a missing file', () => {
    expect(() => caBundleFromPemFile(join(dir, 'ca.key'))).toThrow(/no PEM certificate/);
    writeFileSync(join(dir, 'empty.pem'), '');
    expect(() => caBundleFromPemFile(join(dir, 'empty.pem'))).toThrow(AdmissionConfigError);
    expect(() => caBundleFromPemFile(join(dir, 'missing.pem'))).toThrow(/cannot read the CA bundle/);
  });
});
