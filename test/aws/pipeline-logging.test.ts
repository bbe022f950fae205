import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * lib/aws/pipeline-logging.ts `traced`: the functions' SDK clients get X-Ray subsegments in Lambda (active
 * tracing, Powertools Tracer) and stay untouched everywhere else — tests, the local pipeline, the CLI.
 * The tracer decides at load from the environment, so each case loads the module afresh.
 */
const XRAY = /XRaySDKInstrumentation/;

function middlewareOf(env: Record<string, string | undefined>): string[] {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    let names: string[] = [];
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { traced } = require('../../lib/aws/pipeline-logging') as typeof import('../../lib/aws/pipeline-logging');
      const client = traced(new DynamoDBClient({ region: 'us-east-1' }));
      names = client.middlewareStack.identify();
      client.destroy();
    });
    return names;
  } finally {
    process.env = saved;
  }
}

describe('traced (X-Ray subsegments for SDK calls)', () => {
  const lambda = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_LAMBDA_FUNCTION_NAME: 'trustctl-scan-worker', POWERTOOLS_SERVICE_NAME: 'trustctl-scan-worker', _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' };
  const cases: { name: string; env: Record<string, string | undefined>; instrumented: boolean }[] = [
    { name: 'in Lambda with active tracing', env: lambda, instrumented: true },
    { name: 'in Lambda with POWERTOOLS_TRACE_ENABLED=false', env: { ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' }, instrumented: false },
    { name: 'outside Lambda (tests, local pipeline, CLI)', env: { AWS_EXECUTION_ENV: undefined, AWS_LAMBDA_FUNCTION_NAME: undefined, _X_AMZN_TRACE_ID: undefined }, instrumented: false },
  ];
  it.each(cases)('$name → instrumented: $instrumented', ({ env, instrumented }) => {
    const names = middlewareOf(env);
    expect(names.length).toBeGreaterThan(0);
    expect(names.some((n) => XRAY.test(n))).toBe(instrumented);
  });
});
