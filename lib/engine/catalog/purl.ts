import { PackageURL } from 'packageurl-js';

/**
 * Builds a package-url string (purl-spec PURL-SPECIFICATION.rst) with correct percent-encoding of
 * namespace, name, version and qualifiers. Types follow purl-spec PURL-TYPES.rst: deb, apk, rpm,
 * npm, pypi, golang, maven, gem, cargo, nuget, composer, conda.
 */
export function purl(type: string, namespace: string | undefined, name: string, version: string | undefined, qualifiers?: Record<string, string | undefined>): string {
  const q = qualifiers ? Object.fromEntries(Object.entries(qualifiers).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string> : undefined;
  return new PackageURL(type, namespace ?? undefined, name, version ?? undefined, q && Object.keys(q).length ? q : undefined, undefined).toString();
}
