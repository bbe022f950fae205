/**
 * Package-name keys for the advisory store (ports.ts `AdvisoryStore.lookup`): a package is stored under
 * `(ecosystem, normalizePackageName(ecosystem, name))` and looked up the same way, so an installed
 * `Flask_Cors` finds the PyPI advisory for `flask-cors`.
 *
 * Each ecosystem's rule follows the OSV schema's "Defined ecosystems" table
 * (https://ossf.github.io/osv-schema/#defined-ecosystems) and the package manager's own definition of
 * "the same name". Ecosystems not listed keep names exactly as given: guessing a folding rule would
 * make different packages collide.
 */

/**
 * The OSV ecosystem without its release or repository suffix: everything before the first `:`.
 * `Debian:12` → `Debian`, `Alpine:v3.19` → `Alpine`, `Ubuntu:22.04:LTS` and `Ubuntu:Pro:18.04:LTS` →
 * `Ubuntu`, `Rocky Linux:9` → `Rocky Linux`, `Maven:https://maven.google.com` → `Maven`, `npm` → `npm`
 * (OSV schema, `affected[].package.ecosystem`: "ecosystem string might optionally have a `:<suffix>`").
 */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

/**
 * PEP 503 "Normalized Names" (https://peps.python.org/pep-0503/#normalized-names):
 * `re.sub(r"[-_.]+", "-", name).lower()`. OSV requires PyPI records to carry this form already.
 */
function pep503(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/**
 * Ecosystems whose package names are case-insensitive: the key is the lower-cased name.
 * - NuGet: package ids are case-insensitive (https://learn.microsoft.com/nuget/reference/nuspec#id);
 *   the v3 API addresses them lower-cased.
 * - Packagist: Composer names are lower-case `vendor/package`; Packagist treats them case-insensitively
 *   (https://getcomposer.org/doc/04-schema.md#name).
 */
const CASE_INSENSITIVE = new Set(['NuGet', 'Packagist']);

/**
 * The key under which a package of `ecosystem` (with or without a release suffix) is stored and looked up.
 *
 * | ecosystem | key |
 * |---|---|
 * | PyPI | PEP 503 normalised: lower-case, runs of `-`, `_`, `.` → one `-` |
 * | NuGet, Packagist | lower-cased |
 * | npm | as is (scoped `@scope/name` kept; npm names are case-sensitive for legacy packages) |
 * | Go | module path as is (module paths are case-sensitive) |
 * | Maven | `groupId:artifactId` as is |
 * | crates.io, RubyGems, Hackage, … | as is |
 * | Debian, Ubuntu, Alpine (and other distributions) | source package name as is |
 *
 * Never trims or otherwise rewrites: a name that differs only in whitespace is a different name.
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  const base = baseEcosystem(ecosystem);
  if (base === 'PyPI') return pep503(name);
  if (CASE_INSENSITIVE.has(base)) return name.toLowerCase();
  return name;
}
