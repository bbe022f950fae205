import { hidesContent, unknownClass, type Finding, type Severity } from '../../engine/model';
import type { ScanResult } from '../../engine/scan-image';
import { isKnownExploited, knownExploitedFirst } from './report';

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
  // What the scan could not examine is a result too (rule `unknown:<class>`): a gate reading only
  // the SARIF must see why an image with no findings is still not trusted. Notes hide nothing.
  const unknowns: { id: string; path: string; layer: string; reason: string; consumer?: string }[] = [];
  const seenUnknown = new Set<string>();
  for (const img of r.images) {
    for (const u of img.unknowns) {
      if (!hidesContent(u)) continue;
      const id = `unknown:${unknownClass(u)}`;
      const key = `${id}\0${u.layer}\0${u.path}\0${u.reason}`;
      if (seenUnknown.has(key)) continue;
      seenUnknown.add(key);
      unknowns.push({ id, path: u.path, layer: u.layer, reason: u.reason, ...(u.consumer ? { consumer: u.consumer } : {}) });
      if (!rules.has(id)) rules.set(id, { id, shortDescription: { text: `not examined: ${unknownClass(u)}` }, properties: { tags: ['unscannable', 'security'] } });
    }
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'trustctl', version: opts.toolVersion, informationUri: 'https://github.com/ossf/osv-schema', rules: [...rules.values()] } },
      results: knownExploitedFirst(findings).map((f): Record<string, unknown> => {
        const v = f as typeof f & { severitySource?: string; knownExploited?: unknown };
        const kev = isKnownExploited(f);
        // Unknown is not low (issue 14): a vulnerability no source rates is an error, like a high one,
        // and says so — the default policy judges it as high (vulnerabilities.unknownSeverityAs).
        const unrated = f.type === 'vulnerability' && f.severity === 'unknown';
        return {
          ruleId: f.id,
          level: kev || unrated ? 'error' : LEVEL[f.severity],
          message: { text: `${kev ? 'KNOWN EXPLOITED (CISA KEV): ' : ''}${f.message}${unrated ? ' (severity unknown to every source; the default policy treats it as high: vulnerabilities.unknownSeverityAs)' : ''}` },
          ...(f.path ? { locations: [{ physicalLocation: { artifactLocation: { uri: `image://${r.ref.replace(/^[a-z-]+:/, '')}${f.path}` } } }] } : {}),
          properties: {
            type: f.type, severity: f.severity, ...(f.package ? { package: f.package } : {}), ...(f.fixedIn ? { fixedIn: f.fixedIn } : {}), ...(f.layer ? { layer: f.layer } : {}),
            ...(v.severitySource !== undefined ? { severitySource: v.severitySource } : {}),
            ...(unrated ? { severityUnknown: true } : {}),
            ...(kev ? { knownExploited: v.knownExploited } : {}),
          },
        };
      }).concat(unknowns.map((u): Record<string, unknown> => ({
        ruleId: u.id,
        level: 'error' as const,
        message: { text: u.reason },
        ...(u.path.startsWith('/') ? { locations: [{ physicalLocation: { artifactLocation: { uri: `image://${r.ref.replace(/^[a-z-]+:/, '')}${u.path}` } } }] } : {}),
        properties: { type: 'unknown', severity: 'unknown', layer: u.layer, ...(u.consumer ? { consumer: u.consumer } : {}) },
      }))),
    }],
  };
}
