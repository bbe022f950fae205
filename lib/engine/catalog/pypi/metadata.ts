/**
 * Python installed-distribution metadata: `*.dist-info/METADATA` (wheel installs) and
 * `*.egg-info/PKG-INFO` or a single-file `*.egg-info` (setuptools installs).
 *
 * Format: the Core Metadata specification (PEP 241/314/345/566, packaging.python.org
 * "core-metadata"): RFC 822 style `Key: value` header fields, continuation lines start with
 * whitespace, the header ends at the first blank line (PEP 566: the rest is the long description).
 * Only `Name` and `Version` (both mandatory since Metadata-Version 1.0) are read.
 */

import { boundedLines } from '../bounds';

/** A distribution read from core metadata. */
export interface PythonDistribution {
  /** PEP 503 normalised name (what OSV and PyPI's simple index match on). */
  readonly name: string;
  /** The `Name:` field exactly as written. */
  readonly displayName: string;
  /** The `Version:` field as written (PEP 440 normalisation is left to version comparison). */
  readonly version: string;
}

/**
 * PEP 503 name normalisation: runs of `-`, `_` and `.` become one `-`, then lower-case
 * (`re.sub(r"[-_.]+", "-", name).lower()`).
 */
export function normalizePythonName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/**
 * Reads the header fields of a core-metadata document (RFC 822 style, continuation lines folded).
 * Field names are returned lower-cased; repeated fields keep every value in order.
 */
export function parseCoreMetadataHeaders(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: { key: string; idx: number } | undefined;
  for (const [raw] of boundedLines(text.replace(/^\uFEFF/, ''), 'core metadata')) {
    if (raw.trim() === '') break; // PEP 566: the body (description) follows the first blank line
    if (/^[ \t]/.test(raw) && last) {
      const values = fields.get(last.key)!;
      values[last.idx] += '\n' + raw.trim();
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) { last = undefined; continue; }
    const key = raw.slice(0, colon).trim().toLowerCase();
    const value = raw.slice(colon + 1).trim();
    const values = fields.get(key) ?? [];
    values.push(value);
    fields.set(key, values);
    last = { key, idx: values.length - 1 };
  }
  return fields;
}

/**
 * Parses a METADATA / PKG-INFO document into one distribution.
 * @throws Error when `Name` or `Version` is missing or empty (the cataloger records an unknown).
 */
export function parsePythonMetadata(text: string): PythonDistribution {
  const fields = parseCoreMetadataHeaders(text);
  const displayName = fields.get('name')?.[0] ?? '';
  const version = fields.get('version')?.[0] ?? '';
  if (!displayName) throw new Error('core metadata has no Name field');
  if (!version) throw new Error('core metadata has no Version field');
  return { name: normalizePythonName(displayName), displayName, version };
}
