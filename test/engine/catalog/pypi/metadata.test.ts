import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '../../../helpers/corpus';
import { normalizePythonName, parsePythonMetadata, pypiMetadataCataloger } from '../../../../lib/engine/catalog/pypi';
import type { Digest } from '../../../../lib/engine/model';

interface Expected { input: string; cases: { packages: { name: string; version: string }[] }[] }

const ROOT = corpusPath('pkgdb', 'pypi');
/** Every pypi fixture whose input is installed core metadata (METADATA / PKG-INFO / *.egg-info); the lockfiles have their own tests. */
const FIXTURES = readdirSync(ROOT).filter((d) => /^trivy-python-packaging-/.test(d));
const LAYER = `sha256:${'a'.repeat(64)}` as Digest;

describe('python core metadata (PEP 566) — corpus', () => {
  it('finds the metadata fixtures', () => expect(FIXTURES.length).toBe(10));

  it.each(FIXTURES)('%s', (folder) => {
    const exp = JSON.parse(readFileSync(join(ROOT, folder, 'expected.json'), 'utf8')) as Expected;
    const got = parsePythonMetadata(readFileSync(join(ROOT, folder, exp.input), 'utf8'));
    for (const c of exp.cases) {
      // Representation difference: trivy keeps the display name (`Unidecode`); we report the PEP 503
      // normalised name, so the expectation is normalised before comparing.
      expect([{ name: got.name, version: got.version }]).toEqual(c.packages.map((p) => ({ name: normalizePythonName(p.name), version: p.version })));
    }
  });
});

describe('normalizePythonName (PEP 503)', () => {
  it.each([
    ['Unidecode', 'unidecode'], ['zope.interface', 'zope-interface'], ['Foo__Bar-.baz', 'foo-bar-baz'], ['typing_extensions', 'typing-extensions'],
  ])('%s → %s', (a, b) => expect(normalizePythonName(a)).toBe(b));
});

describe('parsePythonMetadata', () => {
  it('stops at the first blank line (the body is the description)', () => {
    const d = parsePythonMetadata('Metadata-Version: 2.1\r\nName: Foo_Bar\r\nVersion: 1.0\r\n\r\nName: other\nVersion: 9\n');
    expect(d).toEqual({ name: 'foo-bar', displayName: 'Foo_Bar', version: '1.0' });
  });
  it.each([['', 'Name'], ['Name: x\n', 'Version'], ['\u0000\u0001garbage', 'Name'], ['Version: 1\n\nName: x', 'Name']])('rejects %j', (t, what) => {
    expect(() => parsePythonMetadata(t)).toThrow(what);
  });
});

describe('pypiMetadataCataloger', () => {
  it.each([
    ['/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA', true],
    ['/usr/local/lib/python3.11/site-packages/setuptools-51.3.3-py3.8.egg-info/PKG-INFO', true],
    ['/usr/lib/python3/dist-packages/distlib-0.3.1-py3.9.egg-info', true],
    ['/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/RECORD', false],
    ['/usr/lib/python3/dist-packages/METADATA', false],
  ])('wants(%s) = %s', (p, w) => expect(pypiMetadataCataloger.wants(p)).toBe(w));

  it('catalogs a METADATA file and records garbage as an unknown', () => {
    const r = pypiMetadataCataloger.catalog([
      { path: '/site-packages/Unidecode-0.4.1.dist-info/METADATA', layer: LAYER, body: Buffer.from('Metadata-Version: 2.1\nName: Unidecode\nVersion: 0.4.1\n'), truncated: false },
      { path: '/site-packages/bad.dist-info/METADATA', layer: LAYER, body: Buffer.from([0xff, 0x00, 0x13]), truncated: false },
    ]);
    expect(r.packages).toEqual([{
      ecosystem: 'PyPI', name: 'unidecode', version: '0.4.1', purl: 'pkg:pypi/unidecode@0.4.1',
      locations: [{ layer: LAYER, path: '/site-packages/Unidecode-0.4.1.dist-info/METADATA' }],
      cataloger: { name: 'pypi-metadata', version: '1.1.0' },
    }]);
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/site-packages/bad.dist-info/METADATA', reason: expect.stringContaining('no Name'), class: 'parse-error', consumer: 'pypi-metadata' }]);
  });
});
