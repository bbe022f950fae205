import { mergeFindings } from '../../../lib/engine/match/merge-findings';
import type { Finding } from '../../../lib/engine/model';

const L1 = 'sha256:' + '1'.repeat(64);
const L2 = 'sha256:' + '2'.repeat(64);

/** A vulnerability finding as the matcher makes it (the fields the merge reads, plus a marker). */
function vuln(id: string, pkg: string, version: string, layer: string, path: string, extra: Record<string, unknown> = {}): Finding & { installedVersion: string } {
  return { type: 'vulnerability', id, aliases: [], severity: 'high', package: pkg, installedVersion: version, layer, path, message: `${pkg} ${id}`, ...extra };
}

const lodash = (layer: string, path: string) => vuln('CVE-2018-3721', 'pkg:npm/lodash@4.17.4', '4.17.4', layer, path);

describe('mergeFindings: one finding per (vulnerability, package, version), every location kept', () => {
  const cases: readonly { name: string; input: Finding[]; want: Partial<Finding>[] }[] = [
    {
      name: 'lodash in three node_modules copies → one finding, locations sorted by path',
      input: [lodash(L1, '/app/node_modules/x/node_modules/lodash/package.json'), lodash(L1, '/app/node_modules/lodash/package.json'), lodash(L2, '/srv/node_modules/lodash/package.json')],
      want: [{ id: 'CVE-2018-3721', layer: L1, path: '/app/node_modules/lodash/package.json', locations: [
        { layer: L1, path: '/app/node_modules/lodash/package.json' },
        { layer: L1, path: '/app/node_modules/x/node_modules/lodash/package.json' },
        { layer: L2, path: '/srv/node_modules/lodash/package.json' },
      ] }],
    },
    {
      name: 'cryptography via dist-info and egg-info → one finding',
      input: [
        vuln('GHSA-x', 'pkg:pypi/cryptography@3.3.2', '3.3.2', L1, '/usr/lib/python3/dist-packages/cryptography-3.3.2.egg-info/PKG-INFO'),
        vuln('GHSA-x', 'pkg:pypi/cryptography@3.3.2', '3.3.2', L1, '/usr/local/lib/python3.11/site-packages/cryptography-3.3.2.dist-info/METADATA'),
      ],
      want: [{ id: 'GHSA-x', path: '/usr/lib/python3/dist-packages/cryptography-3.3.2.egg-info/PKG-INFO', locations: [
        { layer: L1, path: '/usr/lib/python3/dist-packages/cryptography-3.3.2.egg-info/PKG-INFO' },
        { layer: L1, path: '/usr/local/lib/python3.11/site-packages/cryptography-3.3.2.dist-info/METADATA' },
      ] }],
    },
    {
      name: 'the same place twice (one copy catalogued twice) → one location',
      input: [lodash(L1, '/app/node_modules/lodash/package.json'), lodash(L1, '/app/node_modules/lodash/package.json')],
      want: [{ path: '/app/node_modules/lodash/package.json', locations: [{ layer: L1, path: '/app/node_modules/lodash/package.json' }] }],
    },
    {
      name: 'same path in two layers → two locations, ordered by layer',
      input: [lodash(L2, '/a/node_modules/lodash/package.json'), lodash(L1, '/a/node_modules/lodash/package.json')],
      want: [{ layer: L1, locations: [{ layer: L1, path: '/a/node_modules/lodash/package.json' }, { layer: L2, path: '/a/node_modules/lodash/package.json' }] }],
    },
    {
      name: 'two versions of one package stay two findings',
      input: [lodash(L1, '/a/node_modules/lodash/package.json'), vuln('CVE-2018-3721', 'pkg:npm/lodash@4.17.5', '4.17.5', L1, '/b/node_modules/lodash/package.json')],
      want: [{ package: 'pkg:npm/lodash@4.17.4' }, { package: 'pkg:npm/lodash@4.17.5' }],
    },
    {
      name: 'two vulnerabilities of one package stay two findings, in first-seen order',
      input: [lodash(L1, '/a/node_modules/lodash/package.json'), vuln('CVE-2019-10744', 'pkg:npm/lodash@4.17.4', '4.17.4', L1, '/a/node_modules/lodash/package.json'), lodash(L1, '/b/node_modules/lodash/package.json')],
      want: [{ id: 'CVE-2018-3721', locations: [{ layer: L1, path: '/a/node_modules/lodash/package.json' }, { layer: L1, path: '/b/node_modules/lodash/package.json' }] }, { id: 'CVE-2019-10744' }],
    },
    {
      name: 'a MAL- record on two copies of one package version → one malware finding; malware found in files stays per file',
      input: [
        { type: 'malware', id: 'MAL-2022-9', aliases: [], severity: 'critical', package: 'pkg:npm/evil@1.0.0', layer: L1, path: '/b/node_modules/evil/package.json', message: 'm' },
        { type: 'malware', id: 'EICAR', aliases: [], severity: 'critical', layer: L1, path: '/x', message: 'f' },
        { type: 'malware', id: 'MAL-2022-9', aliases: [], severity: 'critical', package: 'pkg:npm/evil@1.0.0', layer: L1, path: '/a/node_modules/evil/package.json', message: 'm' },
        { type: 'malware', id: 'EICAR', aliases: [], severity: 'critical', layer: L1, path: '/y', message: 'f' },
      ],
      want: [{ id: 'MAL-2022-9', path: '/a/node_modules/evil/package.json', locations: [{ layer: L1, path: '/a/node_modules/evil/package.json' }, { layer: L1, path: '/b/node_modules/evil/package.json' }] }, { id: 'EICAR', path: '/x' }, { id: 'EICAR', path: '/y' }],
    },
    {
      name: 'other findings pass through in place, untouched',
      input: [
        { type: 'secret', id: 'aws-key', aliases: [], severity: 'high', layer: L1, path: '/etc/x', message: 's' },
        lodash(L1, '/b/node_modules/lodash/package.json'),
        { type: 'secret', id: 'aws-key', aliases: [], severity: 'high', layer: L1, path: '/etc/x', message: 's' },
        lodash(L1, '/a/node_modules/lodash/package.json'),
      ],
      want: [{ type: 'secret', path: '/etc/x' }, { id: 'CVE-2018-3721', path: '/a/node_modules/lodash/package.json' }, { type: 'secret', path: '/etc/x' }],
    },
  ];
  test.each(cases)('$name', ({ input, want }) => {
    const frozen = JSON.stringify(input);
    const got = mergeFindings(input);
    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => expect(got[i]).toMatchObject(w));
    expect(JSON.stringify(input)).toBe(frozen);
  });

  test('a finding passed through alone keeps its fields and gains its one location', () => {
    const f = lodash(L1, '/a/node_modules/lodash/package.json');
    expect(mergeFindings([f])).toEqual([{ ...f, locations: [{ layer: L1, path: '/a/node_modules/lodash/package.json' }] }]);
  });

  test('merging is idempotent', () => {
    const once = mergeFindings([lodash(L2, '/b/node_modules/lodash/package.json'), lodash(L1, '/a/node_modules/lodash/package.json')]);
    expect(mergeFindings(once)).toEqual(once);
  });
});
