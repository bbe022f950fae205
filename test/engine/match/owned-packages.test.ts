/**
 * A language package an OS package installed is judged by the distribution's feed through its owner
 * (issue 14): the matcher looks nothing up for it and reports no `no-vulnerability-data` unknown; the
 * same package without an owner is matched against its ecosystem.
 */
import { MemoryAdvisoryStore } from '../../../lib/engine/advisories/memory-store';
import { uncoveredPackages } from '../../../lib/engine/match/coverage';
import { lookupKeys, matchPackages } from '../../../lib/engine/match/matcher';
import type { Digest, Package } from '../../../lib/engine/model';
import { SCHEMES } from '../../../lib/engine/versions/schemes';
import { toOsvRecord } from '../../helpers/osv';

const LAYER = `sha256:${'b'.repeat(64)}` as Digest;
const flask: Package = {
  ecosystem: 'PyPI', name: 'flask', version: '2.2.2', purl: 'pkg:pypi/flask@2.2.2',
  locations: [{ layer: LAYER, path: '/usr/lib/python3/dist-packages/Flask-2.2.2.egg-info/PKG-INFO' }], cataloger: { name: 'pypi-metadata', version: '1.1.0' },
};
const owned: Package = { ...flask, ownedBy: { purl: 'pkg:deb/debian/python3-flask@2.2.2-3?arch=all', name: 'python3-flask' } };

/** GHSA-m2qf-hxjv-5gpq (CVE-2023-30861) as OSV's PyPI export has it, reduced to what matching reads. */
const record = toOsvRecord({
  id: 'GHSA-m2qf-hxjv-5gpq', aliases: ['CVE-2023-30861', 'PYSEC-2023-62'], modified: '2024-01-01T00:00:00Z', published: '2023-05-02T18:18:15Z',
  affected: [{ package: { ecosystem: 'PyPI', name: 'flask' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.3.0' }, { fixed: '2.3.2' }, { introduced: '0' }, { fixed: '2.2.5' }] }] }],
});

describe('owned language packages are not matched against their ecosystem', () => {
  const store = new MemoryAdvisoryStore();
  beforeAll(async () => { await store.upsert([record]); });

  test.each([
    ['unowned flask 2.2.2 → the PyPI advisory', flask, ['CVE-2023-30861']],
    ['dpkg-owned flask 2.2.2 → nothing (Debian judges python3-flask)', owned, []],
  ] as const)('%s', async (_name, p, ids) => {
    const r = await matchPackages([p], store, SCHEMES);
    expect(r.findings.map((f) => f.id)).toEqual(ids);
    expect(r.unknowns).toEqual([]);
  });

  test('an owned package has no lookup, so no feed needs to cover its ecosystem', () => {
    expect(lookupKeys(owned)).toEqual([]);
    expect(uncoveredPackages([owned], [])).toEqual([]);
    expect(uncoveredPackages([flask], []).map((u) => u.class)).toEqual(['no-vulnerability-data']);
  });
});
