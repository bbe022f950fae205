import type { Finding, Severity } from '../../engine/model';
import type { ScanResult } from '../../engine/scan-image';

/** SARIF levels by severity (SARIF 2.1.0 §3.27.10 `level`): critical and high fail a code-scanning gate. */
const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', unknown: 'warning' };

/**
 * The findings as a SARIF 2.1.0 log (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html),
 * the format GitHub code scanning and most CI dashboards ingest: one rule per finding id, one result per
 * finding located at the file in the image it came from (`image://<path>`, with the layer digest in
 * the result's properties), `security-severity` set from the CVSS score as GitHub expects.
 */
export function toSarif(r: ScanResult, opts: { toolVersion: string }): Record<string, unknown> {
  const findings: (Finding & { score?: number; summary?: string; installedVersion?: string })[] = [];
  const seen = new Set<string>();
  for (const img of r.images) {
    for (const f of img.findings) {
      const key = `${f.id}\0${f.package ?? ''}\0${f.path ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(f);
    }
  }
  const rules = new Map<string, Record<string, unknown>>();
  for (const f of findings) {
    if (rules.has(f.id)) continue;
    rules.set(f.id, {
      id: f.id,
      shortDescription: { text: f.summary ?? `${f.type} ${f.id}` },
      ...(f.aliases.length ? { properties: { aliases: f.aliases, tags: [f.type, 'security'] } } : { properties: { tags: [f.type, 'security'] } }),
      ...(f.score !== undefined ? { properties: { aliases: f.aliases, tags: [f.type, 'security'], 'security-severity': f.score.toFixed(1) } } : {}),
      ...(/^(CVE|GHSA|GO|PYSEC|RUSTSEC)-/.test(f.id) ? { helpUri: `https://osv.dev/vulnerability/${encodeURIComponent(f.id)}` } : {}),
    });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'trustctl', version: opts.toolVersion, informationUri: 'https://github.com/ossf/osv-schema', rules: [...rules.values()] } },
      results: findings.map((f) => ({
        ruleId: f.id,
        level: LEVEL[f.severity],
        message: { text: f.message },
        ...(f.path ? { locations: [{ physicalLocation: { artifactLocation: { uri: `image://${r.ref.replace(/^[a-z-]+:/, '')}${f.path}` } } }] } : {}),
        properties: { type: f.type, severity: f.severity, ...(f.package ? { package: f.package } : {}), ...(f.fixedIn ? { fixedIn: f.fixedIn } : {}), ...(f.layer ? { layer: f.layer } : {}) },
      })),
    }],
  };
}
