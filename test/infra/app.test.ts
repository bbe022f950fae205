import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/infra/app';

describe('CDK app', () => {
  it('synthesizes the TrustPipeline stack offline, environment-agnostic', () => {
    const app = buildApp(new App());
    const assembly = app.synth();
    const stack = assembly.getStackByName('TrustPipeline');
    expect(stack.environment.account).toBe('unknown-account');
    expect(stack.environment.region).toBe('unknown-region');
    const template = Template.fromJSON(stack.template);
    expect(template.toJSON().Description).toBe('Container-image trust pipeline (trustctl)');
  });
});
