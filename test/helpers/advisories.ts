import { MemoryAdvisoryStore } from '../../lib/engine/advisories/memory-store';
import { SCHEMES } from '../../lib/engine/versions/schemes';
import type { AdvisorySource } from '../../lib/engine/scan-image';

/**
 * The OSV ecosystems the tests' images use, as a complete feed would cover them: an empty store that
 * *knows* it has no advisories for them (coverage.ts), rather than one that never synced anything.
 */
export const TEST_ECOSYSTEMS: readonly string[] = [
  'Debian:9', 'Debian:10', 'Debian:11', 'Debian:12', 'Debian:13', 'Ubuntu:20.04:LTS', 'Ubuntu:22.04:LTS', 'Ubuntu:24.04:LTS',
  'Alpine:v3.16', 'Alpine:v3.17', 'Alpine:v3.18', 'Alpine:v3.19', 'Alpine:v3.20', 'Red Hat', 'Rocky Linux', 'AlmaLinux',
  'npm', 'PyPI', 'Go', 'Maven', 'RubyGems', 'crates.io', 'NuGet', 'Packagist', 'Hex', 'Pub', 'CRAN', 'Hackage', 'SwiftURL', 'opkg',
];

/**
 * Vulnerability data with no advisories in it, from a feed that was synced completely and covers
 * every ecosystem the tests use: scans run the matcher and find nothing, and nothing is uncovered.
 */
export function emptyAdvisories(syncedAt = new Date().toISOString()): AdvisorySource {
  return {
    store: new MemoryAdvisoryStore(),
    schemes: SCHEMES,
    feeds: [{ source: 'test:empty', syncedAt, status: 'complete', revision: 'r1', records: 0, ecosystems: TEST_ECOSYSTEMS }],
  };
}
