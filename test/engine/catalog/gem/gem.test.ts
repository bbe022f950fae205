import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '../../../helpers/corpus';
import { gemfileLockCataloger, gemspecCataloger, parseGemfileLock, parseGemspec } from '../../../../lib/engine/catalog/gem';
import type { Digest } from '../../../../lib/engine/model';

interface Expected { input: string; cases: { packages: { name: string; version: string }[] }[] }

const ROOT = corpusPath('pkgdb', 'rubygems');
const FIXTURES = readdirSync(ROOT);
const LAYER = `sha256:${'e'.repeat(64)}` as Digest;
const byKey = (a: { name: string; version: string }, b: { name: string; version: string }) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`);

describe('gemspec / Gemfile.lock — corpus', () => {
  it('finds the rubygems fixtures', () => expect(FIXTURES.length).toBe(7));

  it.each(FIXTURES)('%s', (folder) => {
    const exp = JSON.parse(readFileSync(join(ROOT, folder, 'expected.json'), 'utf8')) as Expected;
    const text = readFileSync(join(ROOT, folder, exp.input), 'utf8');
    const got = exp.input.endsWith('.gemspec') ? [parseGemspec(text)] : parseGemfileLock(text);
    for (const c of exp.cases) {
      // Order: trivy sorts Gemfile.lock packages direct-first; we keep file order, so both sides are sorted.
      expect([...got].sort(byKey)).toEqual(c.packages.map((p) => ({ name: p.name, version: p.version })).sort(byKey));
    }
  });
});

describe('parseGemspec', () => {
  it('reads Gem::Version.new and single quotes', () => {
    expect(parseGemspec("Gem::Specification.new do |s|\n  s.name = 'nokogiri'\n  s.version = Gem::Version.new(\"1.16.0\")\n  s.rubygems_version = \"3.4\"\nend\n")).toEqual({ name: 'nokogiri', version: '1.16.0' });
  });
  it('reads the RubyGems 1.x %q{} form', () => {
    expect(parseGemspec('Gem::Specification.new do |s|\n  s.name = %q{rake}\n  s.version = "0.8.7"\nend\n')).toEqual({ name: 'rake', version: '0.8.7' });
  });
  it.each([['', 'name'], ['s.name = "x"', 'version'], ['\u0000garbage\u00ff', 'name']])('rejects %j', (t, what) => expect(() => parseGemspec(t)).toThrow(what));
});

describe('parseGemfileLock', () => {
  it('reads GIT and PATH specs, strips platforms, ignores dependency lines', () => {
    const lock = 'GIT\n  remote: https://x/y.git\n  specs:\n    y (0.1.0)\n\nGEM\n  specs:\n    nokogiri (1.16.0-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nDEPENDENCIES\n    notagem (1.0)\n';
    expect(parseGemfileLock(lock)).toEqual([{ name: 'y', version: '0.1.0' }, { name: 'nokogiri', version: '1.16.0' }, { name: 'racc', version: '1.7.3' }]);
  });
});

describe('gem catalogers', () => {
  it('wants', () => {
    expect(gemspecCataloger.wants('/usr/local/bundle/specifications/rake-13.0.3.gemspec')).toBe(true);
    expect(gemspecCataloger.wants('/usr/local/bundle/gems/rake-13.0.3/rake.gemspec')).toBe(false);
    expect(gemfileLockCataloger.wants('/app/Gemfile.lock')).toBe(true);
    expect(gemfileLockCataloger.wants('/app/Gemfile')).toBe(false);
  });
  it('catalogs gemspecs; garbage → unknown', () => {
    const r = gemspecCataloger.catalog([
      { path: '/g/specifications/rake-13.0.3.gemspec', layer: LAYER, body: Buffer.from('Gem::Specification.new do |s|\n  s.name = "rake".freeze\n  s.version = "13.0.3"\nend\n'), truncated: false },
      { path: '/g/specifications/bad.gemspec', layer: LAYER, body: Buffer.from('garbage'), truncated: false },
    ]);
    expect(r.packages).toEqual([{ ecosystem: 'RubyGems', name: 'rake', version: '13.0.3', purl: 'pkg:gem/rake@13.0.3', locations: [{ layer: LAYER, path: '/g/specifications/rake-13.0.3.gemspec' }], cataloger: { name: 'gem-spec', version: '1.2.0' } }]);
    expect(r.unknowns).toEqual([{ layer: LAYER, path: '/g/specifications/bad.gemspec', reason: expect.stringContaining('name'), class: 'parse-error', consumer: 'gem-spec' }]);
  });
});
