import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { TrustPipelineStack, type TrustPipelineStackProps } from './trust-pipeline-stack';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Props of the TrustPipeline stack (`pipeline` carries the construct's settings). */
  readonly stack?: TrustPipelineStackProps;
  /** Run the cdk-nag rule packs (AwsSolutions, Serverless) at synthesis. Default true. */
  readonly nag?: boolean;
}

/**
 * Adds the product's stacks to a CDK app. Environment-agnostic (no account/region lookups), so
 * `cdk synth` runs offline; `cdk deploy` picks the account and region from the caller's profile.
 *
 * cdk-nag 3 runs as CDK policy-validation plugins: findings land in the cloud assembly's validation
 * report, an unacknowledged error fails synthesis. The findings the pipeline accepts are
 * acknowledged, each with its reason, next to the resource they concern (lib/infra/trust-pipeline.ts,
 * `Validations.of(construct).acknowledge`), so they travel with the construct into other apps.
 */
export function buildApp(app: App, options: BuildAppOptions = {}): App {
  new TrustPipelineStack(app, 'TrustPipeline', options.stack);
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}
