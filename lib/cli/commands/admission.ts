import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { AdmissionConfigError } from '../../admission/errors';
import { DEFAULT_EXEMPTION_LABEL, renderWebhookManifests } from '../../admission/manifests';
import { ExitCode } from '../exit-codes';
import type { CliContext } from '../main';

const intArg = (min: number, max: number) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
  return Number(value);
};

const collect = (value: string, prev: string[] = []): string[] => [...prev, value];

/** Options of `trustctl admission manifests` as commander hands them over. */
interface ManifestsOptions {
  namespace: string;
  service: string;
  port: number;
  caBundle?: string;
  url?: string;
  timeout: number;
  mutating: boolean;
  exemptionLabel: string;
  excludeNamespace: string[];
}

/**
 * `trustctl admission manifests`: prints the ValidatingWebhookConfiguration and (unless
 * `--no-mutating`) the MutatingWebhookConfiguration for `trustctl serve` as YAML, for
 * `kubectl apply -f -` (lib/admission/manifests.ts).
 */
export function registerAdmission(program: Command, ctx: CliContext): void {
  const admission = program.command('admission').description('Kubernetes admission webhook configuration');
  admission
    .command('manifests')
    .description('print the webhook configurations (admissionregistration.k8s.io/v1) as YAML')
    .option('--namespace <ns>', 'namespace of the webhook Service (excluded from admission, as is kube-system)', 'trustctl')
    .option('--service <name>', 'name of the Service in front of `trustctl serve`', 'trustctl')
    .option('--port <n>', 'port of the Service', intArg(1, 65535), 8443)
    .option('--ca-bundle <pem file>', 'CA certificate(s) that signed the server certificate (default: the API server\'s system roots)')
    .option('--url <https url>', 'call the webhook at this URL instead of the Service (a server outside the cluster)')
    .option('--timeout <seconds>', 'timeoutSeconds of the webhooks (1–30)', intArg(1, 30), 5)
    .option('--no-mutating', 'omit the mutating webhook (no tag pinning: tags are then denied)')
    .option('--exemption-label <key>', 'namespaces labelled <key>=true are not checked (only cluster admins may label namespaces: see the comment in the output)', DEFAULT_EXEMPTION_LABEL)
    .option('--exclude-namespace <ns>', 'another namespace never checked (repeatable)', collect, [])
    .action(async (opts: ManifestsOptions) => {
      let caBundlePem: string | undefined;
      if (opts.caBundle !== undefined) {
        try {
          caBundlePem = await readFile(opts.caBundle, 'utf8');
        } catch (err) {
          throw new AdmissionConfigError(`cannot read --ca-bundle ${opts.caBundle}: ${(err as Error).message}`, { cause: err });
        }
      }
      ctx.io.stdout.write(
        renderWebhookManifests({
          namespace: opts.namespace,
          service: opts.service,
          port: opts.port,
          ...(opts.url !== undefined ? { url: opts.url } : {}),
          ...(caBundlePem !== undefined ? { caBundlePem } : {}),
          timeoutSeconds: opts.timeout,
          mutating: opts.mutating,
          exemptionLabel: opts.exemptionLabel,
          excludeNamespaces: opts.excludeNamespace,
        }),
      );
      ctx.exitCode = ExitCode.Ok;
    });
}
