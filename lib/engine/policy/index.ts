/**
 * The policy engine (DESIGN.md "policy/": policy file schema, evaluation → Verdict, exceptions):
 * - schema.ts — the file format, {@link parsePolicy} / {@link parseExceptions}, the policy hash;
 * - json-schema.ts — the same format as JSON Schema, for editors;
 * - default-policy.ts — {@link DEFAULT_POLICY} (default-policy.yaml, shipped as a string);
 * - evaluate.ts — {@link evaluatePolicy}: findings → {@link PolicyVerdict};
 * - explain.ts — {@link explainPolicy}: `trustctl policy test` as data;
 * - baseline.ts — the rules no policy can lift.
 */
export * from './baseline';
export * from './default-policy';
export * from './evaluate';
export * from './explain';
export * from './patterns';
export * from './schema';
export * from './vocabulary';
