import { readFileSync } from 'node:fs';
import { Document } from 'yaml';
import { AdmissionConfigError } from './errors';

/**
 * The ValidatingWebhookConfiguration and MutatingWebhookConfiguration (`admissionregistration.k8s.io/v1`)
 * that register ./server.ts with the API server, as YAML for `kubectl apply -f -`. Every field follows
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/ :
 * - rules: Pods (with the `pods/ephemeralcontainers` subresource, through which `kubectl debug`
 *   adds containers to a running Pod) and every pod template holder, on CREATE and UPDATE (case 36);
 * - `failurePolicy: Fail`: a webhook that is down or slow denies rather than admits (fail closed);
 * - `namespaceSelector` excluding kube-system and the webhook's own namespace, by the
 *   `kubernetes.io/metadata.name` label the API server sets and nobody can change — otherwise, with
 *   Fail, a webhook that is down could never be restarted (case 37);
 * - an exemption label whose RBAC is documented in the emitted comment (case 39);
 * - `matchPolicy: Equivalent`: a request through another API version of a kind is converted and
 *   still sent; `sideEffects: None`; `admissionReviewVersions: ["v1"]` only.
 */

/** Paths the server answers on (./server.ts). */
export const VALIDATE_PATH = '/admission/validate';
/** Path of the mutating webhook (tag → digest pinning). */
export const MUTATE_PATH = '/admission/mutate';

/** The label that exempts a namespace when its value is `true` (only cluster admins may set it: see the emitted RBAC comment). */
export const DEFAULT_EXEMPTION_LABEL = 'trustctl.dev/exempt';

/** Options of {@link webhookConfigurations} and {@link renderWebhookManifests}. */
export interface WebhookManifestOptions {
  /** The webhook's namespace (excluded from admission). Default `trustctl`. */
  readonly namespace?: string;
  /** The Service in front of `trustctl serve`. Default `trustctl`. Ignored with {@link url}. */
  readonly service?: string;
  /** The Service port. Default 8443. */
  readonly port?: number;
  /** An https URL of the server instead of a Service (a webhook outside the cluster); paths are appended. */
  readonly url?: string;
  /** PEM of the CA that signed the server's certificate; omitted: the API server's system roots. */
  readonly caBundlePem?: string;
  /** The webhooks' timeoutSeconds, 1–30. Default 5. */
  readonly timeoutSeconds?: number;
  /** Also emit the MutatingWebhookConfiguration (tag pinning). Default true. */
  readonly mutating?: boolean;
  /** metadata.name of both configurations. Default `trustctl-image-trust`. */
  readonly name?: string;
  /** Suffix of the webhooks' names (they must be fully qualified). Default `images.trustctl.dev`. */
  readonly webhookDomain?: string;
  /** Default {@link DEFAULT_EXEMPTION_LABEL}. */
  readonly exemptionLabel?: string;
  /** More namespaces never to check, besides kube-system and {@link namespace}. */
  readonly excludeNamespaces?: readonly string[];
}

/** Kubernetes API object as plain data. */
export type KubernetesObject = Record<string, unknown> & { apiVersion: string; kind: string };

/** RFC 1123 label: namespace and Service names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: webhook names and configuration names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A qualified label key: optional DNS-subdomain prefix and `/`, then a name. */
const LABEL_KEY = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** The rules both webhooks register (admissionregistration/v1 RuleWithOperations). */
export function webhookRules(): Record<string, unknown>[] {
  const operations = ['CREATE', 'UPDATE'];
  return [
    { apiGroups: [''], apiVersions: ['v1'], operations, resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' },
    { apiGroups: ['apps'], apiVersions: ['v1'], operations, resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], scope: 'Namespaced' },
    { apiGroups: ['batch'], apiVersions: ['v1'], operations, resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
  ];
}

/** base64 of a PEM file's bytes, as `clientConfig.caBundle` wants it; throws when it holds no certificate. */
export function caBundleFromPemFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AdmissionConfigError(`cannot read the CA bundle ${file}: ${(err as Error).message}`, { cause: err });
  }
  return encodeCaBundle(pem, file);
}

function encodeCaBundle(pem: string, what = 'the CA bundle'): string {
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) throw new AdmissionConfigError(`${what} holds no PEM certificate`);
  return Buffer.from(pem, 'utf8').toString('base64');
}

function checkUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AdmissionConfigError(`--url ${JSON.stringify(url)} is not a URL`);
  }
  // clientConfig.url rules (docs, "URL"): https only, no user info, no query, no fragment.
  if (u.protocol !== 'https:') throw new AdmissionConfigError(`the webhook URL must be https (the API server calls webhooks over TLS only), got ${u.protocol}`);
  if (u.username || u.password || u.search || u.hash) throw new AdmissionConfigError('the webhook URL must not carry user info, a query or a fragment');
  return u;
}

/**
 * The configuration objects: the ValidatingWebhookConfiguration, and unless `mutating: false` the
 * MutatingWebhookConfiguration. Throws {@link AdmissionConfigError} on a bad option.
 */
export function webhookConfigurations(options: WebhookManifestOptions = {}): KubernetesObject[] {
  const namespace = options.namespace ?? 'trustctl';
  const service = options.service ?? 'trustctl';
  const port = options.port ?? 8443;
  const timeoutSeconds = options.timeoutSeconds ?? 5;
  const name = options.name ?? 'trustctl-image-trust';
  const domain = options.webhookDomain ?? 'images.trustctl.dev';
  const label = options.exemptionLabel ?? DEFAULT_EXEMPTION_LABEL;
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) throw new AdmissionConfigError(`namespace ${JSON.stringify(namespace)} is not a DNS label`);
  if (!DNS_LABEL.test(service) || service.length > 63) throw new AdmissionConfigError(`service ${JSON.stringify(service)} is not a DNS label`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AdmissionConfigError(`port must be 1–65535, got ${port}`);
  // The API server refuses timeoutSeconds outside 1–30 (docs, "Timeouts").
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) throw new AdmissionConfigError(`timeoutSeconds must be an integer from 1 to 30, got ${timeoutSeconds}`);
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) throw new AdmissionConfigError(`name ${JSON.stringify(name)} is not a DNS subdomain`);
  if (!DNS_SUBDOMAIN.test(domain) || !domain.includes('.')) throw new AdmissionConfigError(`webhook domain ${JSON.stringify(domain)} must be a DNS name with a dot`);
  if (!LABEL_KEY.test(label)) throw new AdmissionConfigError(`exemption label ${JSON.stringify(label)} is not a label key`);
  for (const ns of options.excludeNamespaces ?? []) if (!DNS_LABEL.test(ns)) throw new AdmissionConfigError(`excluded namespace ${JSON.stringify(ns)} is not a DNS label`);
  const base = options.url !== undefined ? checkUrl(options.url) : undefined;
  const caBundle = options.caBundlePem !== undefined ? encodeCaBundle(options.caBundlePem) : undefined;

  const clientConfig = (path: string): Record<string, unknown> => ({
    ...(base ? { url: new URL(path, base).toString() } : { service: { namespace, name: service, path, port } }),
    ...(caBundle ? { caBundle } : {}),
  });
  const excluded = [...new Set(['kube-system', namespace, ...(options.excludeNamespaces ?? [])])];
  const namespaceSelector = {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded },
      // NotIn also matches namespaces without the label: only an explicit `true` exempts.
      { key: label, operator: 'NotIn', values: ['true'] },
    ],
  };
  const metadata = { name, labels: { 'app.kubernetes.io/name': 'trustctl', 'app.kubernetes.io/component': 'admission-webhook' } };
  const webhook = (prefix: string, path: string): Record<string, unknown> => ({
    name: `${prefix}.${domain}`,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(path),
    rules: webhookRules(),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds,
    namespaceSelector,
  });
  const out: KubernetesObject[] = [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata, webhooks: [webhook('validate', VALIDATE_PATH)] },
  ];
  if (options.mutating !== false) {
    out.push({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata,
      // IfNeeded: if a later mutating webhook rewrites an image, we are called again to pin it.
      webhooks: [{ ...webhook('mutate', MUTATE_PATH), reinvocationPolicy: 'IfNeeded' }],
    });
  }
  return out;
}

/** The comment block emitted before the configurations: why the exclusions, and who may exempt (case 39). */
export function rbacComment(options: WebhookManifestOptions = {}): string {
  const namespace = options.namespace ?? 'trustctl';
  const label = options.exemptionLabel ?? DEFAULT_EXEMPTION_LABEL;
  return [
    ' trustctl admission webhooks — generated by `trustctl admission manifests`.',
    ' https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/',
    '',
    ' failurePolicy: Fail — when the webhook is down or slow, Pods and workloads are denied, never',
    ` admitted unchecked. kube-system and ${namespace} (the webhook's own namespace) are excluded by the`,
    ' label kubernetes.io/metadata.name, which the API server sets to the namespace name and nobody can',
    ' change: the control plane and the webhook itself can always (re)start.',
    '',
    ` Exemption: a namespace labelled ${label}=true is not checked.`,
    ' Whoever can label a namespace can exempt it, so that power must stay with cluster admins',
    ' (RBAC, rbac.authorization.k8s.io/v1):',
    '   - grant NO ONE else the verbs `patch` or `update` on `namespaces` (apiGroups: [""]), in any',
    '     ClusterRole bound by a ClusterRoleBinding or aggregated into admin/edit/view;',
    '   - `create` on `namespaces` sets labels too: keep it with cluster admins as well, or reject the',
    '     label at creation with a policy of your own;',
    '   - the webhook\'s ServiceAccount needs no Kubernetes API access at all (no Role, no binding);',
    '   - check: kubectl auth can-i patch namespaces --as=<user>   (must say "no").',
    ' Labelling a namespace is then a cluster-admin act, recorded in the audit log.',
  ].join('\n');
}

/** Both configurations as one multi-document YAML text, headed by {@link rbacComment}. */
export function renderWebhookManifests(options: WebhookManifestOptions = {}): string {
  const objects = webhookConfigurations(options);
  return objects
    .map((o, i) => {
      // No anchors/aliases: shared option objects are written out in full, as kubectl users expect.
      const doc = new Document(o, { aliasDuplicateObjects: false });
      if (i === 0) doc.commentBefore = rbacComment(options);
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
