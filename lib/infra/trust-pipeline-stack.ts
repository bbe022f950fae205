import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * The deployable stack. Today it only establishes the CDK app and its offline synthesis; the
 * `TrustPipeline` construct (EventBridge → SQS → Lambda, DynamoDB tables, alarms) is added to it by
 * the serverless-pipeline work, and the stack's props will carry that construct's settings.
 */
export class TrustPipelineStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, { description: 'Container-image trust pipeline (trustctl)', ...props });
    Tags.of(this).add('app', 'trustctl');
  }
}
