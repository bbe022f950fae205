// The house rule (../shared/DESIGN.md): lib/engine is pure — it never imports the AWS SDK, the CDK,
// or the adapters around it. Everything else is typescript-eslint's recommended set.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'cdk.out/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['lib/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'lib/engine is pure: CDK code lives in lib/infra.' },
          { group: ['@aws-sdk/*'], message: 'lib/engine is pure: AWS SDK code lives in lib/aws.' },
          { group: ['**/aws/**', '**/local/**', '**/infra/**', '**/cli/**', '**/lambdas/**', '**/admission/**', '**/notify/**'],
            message: 'lib/engine imports nothing from the adapters around it.' },
        ],
      }],
    },
  },
);
