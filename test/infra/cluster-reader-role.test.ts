/**
 * The cluster reader role of the TrustPipeline construct (`clusterReaderRole` prop, issue 15 item 1):
 * the IAM role `trustctl serve --verdict-table` assumes in EKS through IRSA and/or EKS Pod Identity,
 * asserted on the synthesized template with cdk-nag on (bundling skipped: no function code changes).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/infra/app';
import type { ClusterReaderRoleProps } from '../../lib/infra/trust-pipeline';
import { CONTEXT_KEYS, TrustPipelineStack } from '../../lib/infra/trust-pipeline-stack';
import { acknowledgments, logicalId, newApp, removeOutdirs, validationReport } from './helpers';

/** Template JSON, typed as JSON.parse types it. */
type Json = ReturnType<typeof JSON.parse>;
type Resources = Record<string, { Type: string; Properties: Json }>;

const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const OIDC_ARN = `arn:aws:iam::123456789012:oidc-provider/${ISSUER}`;

afterAll(removeOutdirs);

/** Synthesizes the app as `cdk synth` does (cdk-nag on) with `clusterReaderRole`, or with it from context. */
function synth(reader?: ClusterReaderRoleProps, context?: Record<string, string>, recordAdmissionSightings?: boolean): { app: App; stack: TrustPipelineStack; template: Template; resources: Resources } {
  const pipeline = { ...(reader ? { clusterReaderRole: reader } : {}), ...(recordAdmissionSightings !== undefined ? { recordAdmissionSightings } : {}) };
  const app = buildApp(newApp({ bundle: false, ...(context ? { context } : {}) }), Object.keys(pipeline).length > 0 ? { stack: { pipeline } } : {});
  const stack = app.node.findChild('TrustPipeline') as TrustPipelineStack;
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName('TrustPipeline').template);
  return { app, stack, template, resources: template.toJSON().Resources as Resources };
}

/** The role's trust statements, each as `{ Action, Principal, Condition? }`. */
function trust(s: ReturnType<typeof synth>): Json[] {
  const role = s.resources[logicalId(s.stack.pipeline.clusterReaderRole!)];
  expect(role.Type).toBe('AWS::IAM::Role');
  return (role.Properties.AssumeRolePolicyDocument.Statement as Json[]).map(({ Effect, ...rest }: Json) => {
    expect(Effect).toBe('Allow');
    return rest;
  });
}

/** Every Allow statement of every AWS::IAM::Policy attached to the role, as `{ Action, Resource, Condition? }`. */
function permissions(s: ReturnType<typeof synth>): { statements: Json[]; managed: unknown; inline: unknown } {
  const id = logicalId(s.stack.pipeline.clusterReaderRole!);
  const statements: Json[] = [];
  for (const r of Object.values(s.resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !JSON.stringify(r.Properties.Roles).includes(`"${id}"`)) continue;
    for (const { Effect, ...st } of r.Properties.PolicyDocument.Statement as Json[]) {
      expect(Effect).toBe('Allow');
      statements.push(st);
    }
  }
  return { statements, managed: s.resources[id].Properties.ManagedPolicyArns, inline: s.resources[id].Properties.Policies };
}

const IRSA = {
  Action: 'sts:AssumeRoleWithWebIdentity',
  Principal: { Federated: OIDC_ARN },
  Condition: { StringEquals: { [`${ISSUER}:sub`]: 'system:serviceaccount:trustctl:trustctl-serve', [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
};
const POD_IDENTITY = { Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { Service: 'pods.eks.amazonaws.com' } };

describe('clusterReaderRole', () => {
  const both = synth({ oidcProviderArn: OIDC_ARN, namespace: 'trustctl', serviceAccount: 'trustctl-serve' });

  it.each([
    { name: 'IRSA and Pod Identity (default)', s: both, statements: [IRSA, POD_IDENTITY] },
    { name: 'IRSA only', s: synth({ oidcProviderArn: OIDC_ARN, namespace: 'trustctl', serviceAccount: 'trustctl-serve', podIdentity: false }), statements: [IRSA] },
    { name: 'Pod Identity only', s: synth({ namespace: 'trustctl', serviceAccount: 'trustctl-serve' }), statements: [POD_IDENTITY] },
  ])('trusts exactly the service account: $name', ({ s, statements }) => {
    expect(trust(s)).toEqual(statements);
  });

  const tableArn = (s: ReturnType<typeof synth>): Json => ({ 'Fn::GetAtt': [logicalId(s.stack.pipeline.verdictTable), 'Arn'] });
  it.each([
    { name: 'sightings recorded (default): GetItem, and UpdateItem of DIGESTS# items only — never a verdict', s: both, update: true },
    { name: 'recordAdmissionSightings: false: GetItem only', s: synth({ oidcProviderArn: OIDC_ARN, namespace: 'trustctl', serviceAccount: 'trustctl-serve' }, undefined, false), update: false },
  ])('may read verdicts and nothing else (no Query, Scan, BatchGet, other table): $name', ({ s, update }) => {
    const p = permissions(s);
    expect(p.statements).toEqual([
      { Action: 'dynamodb:GetItem', Resource: [tableArn(s)] },
      ...(update ? [{ Action: 'dynamodb:UpdateItem', Resource: tableArn(s), Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DIGESTS#*'] } } }] : []),
    ]);
    expect([p.managed, p.inline]).toEqual([undefined, undefined]);
  });

  it('is a stack output (ClusterReaderRoleArn) and a property', () => {
    both.template.hasOutput('ClusterReaderRoleArn', { Value: { 'Fn::GetAtt': [logicalId(both.stack.pipeline.clusterReaderRole!), 'Arn'] } });
    expect(both.stack.pipeline.clusterReaderRole).toBeDefined();
  });

  it('keeps cdk-nag clean (no finding, nothing acknowledged for the role)', () => {
    expect(validationReport(both.app.outdir)).toEqual([]);
    expect(acknowledgments(both.stack.pipeline.clusterReaderRole!)).toEqual([]);
  });

  it('is absent without the prop: no role trusting a cluster, no output', () => {
    const none = synth();
    expect(none.stack.pipeline.clusterReaderRole).toBeUndefined();
    expect(Object.keys(none.template.toJSON().Outputs)).not.toContain('ClusterReaderRoleArn');
    const roles = Object.values(none.resources).filter((r) => r.Type === 'AWS::IAM::Role');
    const trusted = roles.map((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument));
    expect(trusted.filter((t) => t.includes('pods.eks.amazonaws.com') || t.includes('AssumeRoleWithWebIdentity'))).toEqual([]);
  });

  it('is configured from CDK context too', () => {
    const s = synth(undefined, { [CONTEXT_KEYS.clusterReaderServiceAccount]: 'trustctl/trustctl-serve', [CONTEXT_KEYS.clusterReaderOidcProviderArn]: OIDC_ARN, [CONTEXT_KEYS.clusterReaderPodIdentity]: 'false' });
    expect(trust(s)).toEqual([IRSA]);
    s.template.hasOutput('ClusterReaderRoleArn', {});
  });

  it.each([
    { name: 'a namespace that is no Kubernetes name', reader: { namespace: 'Trust_Ctl', serviceAccount: 'sa' }, error: /clusterReaderRole.namespace "Trust_Ctl" is not a Kubernetes name/ },
    { name: 'an empty service account', reader: { namespace: 'ns', serviceAccount: '' }, error: /clusterReaderRole.serviceAccount "" is not a Kubernetes name/ },
    { name: 'an ARN that is no OIDC provider', reader: { namespace: 'ns', serviceAccount: 'sa', oidcProviderArn: 'arn:aws:iam::123456789012:role/x' }, error: /is not an IAM OIDC provider ARN/ },
    { name: 'neither IRSA nor Pod Identity', reader: { namespace: 'ns', serviceAccount: 'sa', podIdentity: false }, error: /needs oidcProviderArn \(IRSA\) or podIdentity/ },
  ])('refuses $name', ({ reader, error }) => {
    expect(() => new TrustPipelineStack(newApp({ bundle: false }), 'TrustPipeline', { pipeline: { clusterReaderRole: reader } })).toThrow(error);
  });

  it.each([
    { name: 'a service account without namespace', context: { [CONTEXT_KEYS.clusterReaderServiceAccount]: 'trustctl-serve' }, error: /expected <namespace>\/<serviceAccount>/ },
    { name: 'an OIDC provider without service account', context: { [CONTEXT_KEYS.clusterReaderOidcProviderArn]: OIDC_ARN }, error: /need trustctl:clusterReaderServiceAccount/ },
    { name: 'a pod identity flag that is no boolean', context: { [CONTEXT_KEYS.clusterReaderServiceAccount]: 'a/b', [CONTEXT_KEYS.clusterReaderPodIdentity]: 'yes' }, error: /expected true or false/ },
  ])('refuses context with $name', ({ context, error }) => {
    expect(() => new TrustPipelineStack(newApp({ bundle: false, context }), 'TrustPipeline')).toThrow(error);
  });
});
