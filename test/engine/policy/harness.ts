import type { Finding } from '../../../lib/engine/model';
import { parsePolicy, type Policy } from '../../../lib/engine/policy';

/** The clock of every evaluation test. */
export const NOW = new Date('2025-06-01T00:00:00Z');
export const DIGEST = `sha256:${'a'.repeat(64)}`;
export const OTHER_DIGEST = `sha256:${'b'.repeat(64)}`;
export const INDEX_DIGEST = `sha256:${'c'.repeat(64)}`;
export const REF = 'ghcr.io/acme/web:1.0';
/** A feed synced 12 hours before {@link NOW}. */
export const FRESH_FEEDS = [{ source: 'osv:npm', syncedAt: '2025-05-31T12:00:00Z' }];

/** A finding of `type` with `id`; the rest defaults to what the checks produce. */
export function finding(type: string, id: string, over: Partial<Finding> & Record<string, unknown> = {}): Finding {
  return { type, id, aliases: [], severity: 'unknown', message: `${type} ${id}`, ...over } as Finding;
}

export const vuln = (id: string, severity: Finding['severity'], over: Partial<Finding> & Record<string, unknown> = {}): Finding =>
  finding('vulnerability', id, { severity, package: 'pkg:npm/left-pad@1.0.0', ...over });
export const secret = (id: string, severity: Finding['severity'] = 'high'): Finding => finding('secret', id, { severity, path: '/app/.env' });
export const misconfig = (id: string, severity: Finding['severity']): Finding => finding('misconfig', id, { severity, path: 'config:User' });
export const baseImage = (id: string, severity: Finding['severity']): Finding => finding('base-image', id, { severity });
export const malware = (id = 'EICAR-Test-File'): Finding => finding('malware', id, { severity: 'critical', path: '/tmp/eicar.com' });
export const unscannable = (id = 'BAD_TAR'): Finding => finding('unscannable', id, { message: 'bad tar at byte 512' });

/** A policy from its `rules:` and `exceptions:` bodies (YAML, indented as under those keys). */
export function policyOf(rules = '', exceptions = ''): Policy {
  const text = ['apiVersion: trustctl/v1', 'kind: Policy', rules ? `rules:\n${indent(rules)}` : '', exceptions ? `exceptions:\n${indent(exceptions)}` : ''].filter((s) => s !== '').join('\n');
  return parsePolicy(text, 'test-policy.yaml');
}

/** Strips the common indentation of a template literal, then indents by two. */
function indent(s: string): string {
  const lines = s.replace(/^\n+/, '').replace(/\s+$/, '').split('\n');
  const common = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => `  ${l.slice(common)}`).join('\n');
}
