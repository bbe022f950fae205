import { MemoryAdvisoryStore } from '../../lib/engine/advisories/memory-store';
import { SCHEMES } from '../../lib/engine/versions/schemes';
import type { AdvisorySource } from '../../lib/engine/scan-image';

/** Vulnerability data with no advisories in it: scans run the matcher and find nothing. */
export function emptyAdvisories(): AdvisorySource {
  return { store: new MemoryAdvisoryStore(), schemes: SCHEMES, feeds: [] };
}
