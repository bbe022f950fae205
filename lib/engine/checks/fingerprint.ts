import type { Check } from './types';

/** `name@version` of every check, sorted: the checks' part of the layer-cache key. */
export function checkFingerprint(checks: readonly Check[]): string {
  return checks.map((c) => `${c.kind}:${c.name}@${c.version}`).sort().join(',');
}
