import type { App } from 'aws-cdk-lib';
import { TrustPipelineStack } from './trust-pipeline-stack';

/**
 * Adds the product's stacks to a CDK app. Environment-agnostic (no account/region lookups), so
 * `cdk synth` runs offline; `cdk deploy` picks the account and region from the caller's profile.
 */
export function buildApp(app: App): App {
  new TrustPipelineStack(app, 'TrustPipeline');
  return app;
}
