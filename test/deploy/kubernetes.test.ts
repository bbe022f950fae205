import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderWebhookManifests, webhookConfigurations } from '../../lib/admission/manifests';
import { NONROOT, SERVE_PORT, TLS_DIR } from '../../lib/local/builder/serve-image';

/**
 * deploy/kubernetes: `kubectl kustomize` (kubectl 1.32's built-in kustomize, /usr/bin/kubectl) builds the
 * base and the EKS overlay, and the objects it prints are checked against what the cluster needs: two
 * replicas that a drain cannot both take, a Pod that runs under the `restricted` Pod Security Standard
 * with a read-only root, the IRSA role on the ServiceAccount, and webhook configurations that are the
 * product's own generator's (lib/admission/manifests.ts) with the CA injected by cert-manager.
 */

const ROOT = join(__dirname, '..', '..');
const DEPLOY = join(ROOT, 'deploy', 'kubernetes');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
/** The generator options the base's webhooks.yaml was written with (see its kustomization.yaml). */
const WEBHOOK_OPTIONS = { namespace: 'trustctl', service: 'trustctl', port: 443 };

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are walked as parsed YAML. */
type K8s = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; [k: string]: any };

function kustomize(dir: string): K8s[] {
  const r = spawnSync('/usr/bin/kubectl', ['kustomize', dir.startsWith('/') ? dir : join(DEPLOY, dir)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as K8s;
  });
}

function one(objects: readonly K8s[], kind: string, name?: string): K8s {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

const base = kustomize('base');
const eks = kustomize('overlays/eks');
const builds: [string, K8s[]][] = [
  ['base', base],
  ['overlays/eks', eks],
];

describe('the webhook configurations are the generator\'s', () => {
  it('base/webhooks.yaml is byte for byte what `trustctl admission manifests --port 443` prints', () => {
    // On failure, regenerate: npm run -s trustctl -- admission manifests --namespace trustctl --service trustctl --port 443 > deploy/kubernetes/base/webhooks.yaml
    expect(readFileSync(join(DEPLOY, 'base', 'webhooks.yaml'), 'utf8')).toBe(renderWebhookManifests(WEBHOOK_OPTIONS));
  });

  it.each(builds)('%s: the built webhooks equal the generator\'s (only labels and annotations added)', (_name, objects) => {
    for (const generated of webhookConfigurations(WEBHOOK_OPTIONS)) {
      const built = one(objects, generated.kind, (generated.metadata as { name: string }).name);
      expect([generated.kind, built.webhooks]).toEqual([generated.kind, generated.webhooks]);
    }
  });
});

describe.each(builds)('%s', (_name, objects) => {
  const deployment = one(objects, 'Deployment', 'trustctl');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
  const selects = (selector: { matchLabels: Record<string, string> }): boolean => Object.entries(selector.matchLabels).every(([k, v]) => podLabels[k] === v);
  const arg = (flag: string): string | undefined => {
    const i = (container.args as string[]).indexOf(flag);
    return i < 0 ? undefined : container.args[i + 1];
  };

  it('has every kind the webhook needs, all in the trustctl namespace', () => {
    const kinds = objects.map((o) => o.kind);
    expect(kinds).toEqual(expect.arrayContaining(['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']));
    const cluster = new Set(['Namespace', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
    expect(objects.filter((o) => !cluster.has(o.kind) && o.metadata.namespace !== 'trustctl').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(one(objects, 'Namespace', 'trustctl').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('runs two replicas spread over nodes and zones, never both taken by a drain', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const pdb = one(objects, 'PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(selects(pdb.spec.selector)).toBe(true);
    expect(selects(deployment.spec.selector)).toBe(true);
    const anti = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    expect([anti.topologyKey, selects(anti.labelSelector)]).toEqual(['kubernetes.io/hostname', true]);
    expect(pod.topologySpreadConstraints.map((t: any) => [t.topologyKey, selects(t.labelSelector)])).toEqual([['topology.kubernetes.io/zone', true]]);
  });

  it.each([
    ['runAsNonRoot as the image\'s nonroot user', () => expect([pod.securityContext.runAsNonRoot, pod.securityContext.runAsUser, container.securityContext.runAsNonRoot]).toEqual([true, NONROOT.uid, true])],
    ['seccomp RuntimeDefault', () => expect([pod.securityContext.seccompProfile.type, container.securityContext.seccompProfile.type]).toEqual(['RuntimeDefault', 'RuntimeDefault'])],
    ['a read-only root filesystem', () => expect(container.securityContext.readOnlyRootFilesystem).toBe(true)],
    ['no privilege escalation, not privileged', () => expect([container.securityContext.allowPrivilegeEscalation, container.securityContext.privileged]).toEqual([false, false])],
    ['every capability dropped', () => expect(container.securityContext.capabilities).toEqual({ drop: ['ALL'] })],
    ['requests and limits for CPU and memory', () => expect(Object.keys(container.resources.requests).sort().concat(Object.keys(container.resources.limits).sort())).toEqual(['cpu', 'memory', 'cpu', 'memory'])],
    ['no Kubernetes API token', () => expect([pod.automountServiceAccountToken, one(objects, 'ServiceAccount', 'trustctl').automountServiceAccountToken]).toEqual([false, false])],
  ])('the Pod: %s', (_case, check) => check());

  it('probes /healthz over HTTPS on the port serve listens on', () => {
    const port = container.ports.find((p: any) => p.name === 'https');
    expect(port.containerPort).toBe(SERVE_PORT);
    expect(arg('--port')).toBe(String(SERVE_PORT));
    for (const probe of [container.readinessProbe, container.livenessProbe]) expect(probe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
  });

  it('serves from the DynamoDB verdict table named in its ConfigMap', () => {
    expect(container.args[0]).toBe('serve');
    expect(arg('--verdict-table')).toBe('$(VERDICT_TABLE)');
    expect(arg('--region')).toBe('$(AWS_REGION)');
    // Sightings feed the nightly live window (the cluster reader role may write exactly them).
    expect(container.args).toContain('--record-sightings');
    const config = one(objects, 'ConfigMap');
    for (const name of ['VERDICT_TABLE', 'AWS_REGION']) {
      const env = container.env.find((e: any) => e.name === name);
      expect([name, env.valueFrom.configMapKeyRef]).toEqual([name, { name: config.metadata.name, key: name }]);
      expect(config.data[name]).toBeDefined();
    }
  });

  it('reads its TLS pair from the Secret volume where the image\'s command expects it', () => {
    expect([arg('--tls-cert'), arg('--tls-key')]).toEqual([`${TLS_DIR}/tls.crt`, `${TLS_DIR}/tls.key`]);
    const mount = container.volumeMounts.find((m: any) => m.mountPath === TLS_DIR);
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    expect([mount.readOnly, volume.secret.secretName]).toEqual([true, 'trustctl-tls']);
    // /tmp is a small tmpfs: nothing is written to the read-only root.
    expect(pod.volumes.find((v: any) => v.name === 'tmp').emptyDir.medium).toBe('Memory');
  });

  it('gives the webhooks the same timeout as serve\'s lookups', () => {
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      for (const w of one(objects, kind).webhooks) expect([kind, String(w.timeoutSeconds)]).toEqual([kind, arg('--webhook-timeout')]);
    }
  });

  it('points the webhooks at the Service, which forwards 443 to serve\'s port', () => {
    const service = one(objects, 'Service', 'trustctl');
    expect(selects({ matchLabels: service.spec.selector })).toBe(true);
    expect(service.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      for (const w of one(objects, kind).webhooks) {
        expect([kind, w.clientConfig.service.namespace, w.clientConfig.service.name, w.clientConfig.service.port]).toEqual([kind, service.metadata.namespace, service.metadata.name, 443]);
        expect([kind, w.failurePolicy]).toEqual([kind, 'Fail']);
        // kube-system and the webhook's own namespace are never sent to it: its own Pods can always start.
        const names = w.namespaceSelector.matchExpressions.find((e: any) => e.key === 'kubernetes.io/metadata.name');
        expect([kind, names.operator, names.values]).toEqual([kind, 'NotIn', expect.arrayContaining(['kube-system', deployment.metadata.namespace])]);
      }
    }
  });

  it('lets in only 8443 and lets out only DNS and HTTPS, never to the instance metadata service', () => {
    const np = one(objects, 'NetworkPolicy');
    expect(selects(np.spec.podSelector)).toBe(true);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress.flatMap((r: any) => r.ports)).toEqual([{ port: SERVE_PORT, protocol: 'TCP' }]);
    expect(np.spec.egress.flatMap((r: any) => r.ports.map((p: any) => `${p.port}/${p.protocol}`)).sort()).toEqual(['443/TCP', '53/TCP', '53/UDP']);
    const https = np.spec.egress.find((r: any) => r.ports.some((p: any) => p.port === 443));
    expect(https.to[0].ipBlock.except).toContain('169.254.169.254/32');
  });
});

describe('base and overlay differ where a deployment must decide', () => {
  it.each([
    ['base', base, `trustctl-serve:${PKG.version}`],
    ['overlays/eks', eks, `111122223333.dkr.ecr.eu-west-1.amazonaws.com/trustctl-serve:${PKG.version}`],
  ])('%s: the image reference (the base tag follows package.json)', (_name, objects, image) => {
    expect(one(objects, 'Deployment').spec.template.spec.containers[0].image).toBe(image);
  });

  it.each([
    ['base', base, 'arn:aws:iam::000000000000:role/set-ClusterReaderRoleArn-in-overlay'],
    ['overlays/eks', eks, 'arn:aws:iam::111122223333:role/TrustPipeline-ClusterReaderRole'],
  ])('%s: the ServiceAccount carries the IRSA role, and the Deployment runs as it', (_name, objects, arn) => {
    const sa = one(objects, 'ServiceAccount');
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe(arn);
    expect(one(objects, 'Deployment').spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
  });

  it('the overlay\'s role ARN comes from its ConfigMap value (replacement), not a second copy', () => {
    expect(one(eks, 'ConfigMap').data.CLUSTER_READER_ROLE_ARN).toBe(one(eks, 'ServiceAccount').metadata.annotations?.['eks.amazonaws.com/role-arn']);
  });

  it('the base has no CA for the webhooks; the overlay has cert-manager inject the CA of the serving certificate', () => {
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      expect([kind, one(base, kind).metadata.annotations?.['cert-manager.io/inject-ca-from']]).toEqual([kind, undefined]);
      expect([kind, one(base, kind).webhooks.some((w: any) => w.clientConfig.caBundle !== undefined)]).toEqual([kind, false]);
      const inject = one(eks, kind).metadata.annotations?.['cert-manager.io/inject-ca-from'];
      const [ns, name] = (inject ?? '/').split('/');
      const cert = one(eks, 'Certificate', name);
      expect([kind, cert.metadata.namespace]).toEqual([kind, ns]);
      expect(cert.spec.secretName).toBe('trustctl-tls');
      expect(cert.spec.dnsNames).toContain('trustctl.trustctl.svc');
      // Signed by a CA issuer whose root is a cert-manager CA certificate: a rotated leaf keeps the injected CA valid.
      const issuer = one(eks, 'Issuer', cert.spec.issuerRef.name);
      expect(one(eks, 'Certificate', 'trustctl-ca').spec.secretName).toBe(issuer.spec.ca.secretName);
    }
  });
});

describe('the openssl path of deploy/kubernetes/README.md', () => {
  it('its caBundle patch sets the CA on both webhook configurations', () => {
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    const patch = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const dir = mkdtempSync(join(tmpdir(), 'trustctl-overlay-'));
    try {
      const kustomization = `resources:\n  - ${relative(dir, join(DEPLOY, 'base'))}\n${patch.replace('<the value of $CA>', ca)}`;
      writeFileSync(join(dir, 'kustomization.yaml'), kustomization);
      const objects = kustomize(dir);
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        expect([kind, one(objects, kind).webhooks.map((w: any) => w.clientConfig.caBundle)]).toEqual([kind, [ca]]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
