/**
 * Default gems (issue 14 item 4): Debian's libruby3.1 ships Ruby's default gems as
 * `/usr/lib/ruby/gems/3.1.0/specifications/default/<name>-<version>.gemspec` (`uri`, `cgi`, …) beside
 * the bundled gems' `specifications/*.gemspec`. The truth is the package's own file list
 * (`dpkg-deb -c`): every gemspec file name is `<name>-<version>.gemspec`, which is how RubyGems
 * names them (Gem::Specification#spec_name). The scan is the CLI's `dir:` path (scanDirectory).
 */
import { rmSync } from 'node:fs';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { scanDirectory } from '../../../../lib/local/dir-target';
import { wantsGemspec } from '../../../../lib/engine/catalog/gem';
import { emptyAdvisories } from '../../../helpers/advisories';
import { debFileList, fetchDeb, unpackDeb } from '../../../helpers/deb-fixture';

jest.setTimeout(180_000);

describe('Debian libruby3.1: installed and default gemspecs', () => {
  const deb = fetchDeb('libruby3.1');
  let root = '';
  beforeAll(() => { root = unpackDeb(deb); });
  afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  const specs = debFileList(deb).filter((p) => /\/specifications\/(default\/)?[^/]+\.gemspec$/.test(p));
  const truth = (defaults: boolean): string[] => specs
    .filter((p) => p.includes('/specifications/default/') === defaults)
    .map((p) => /([^/]+)-([^-/]+)\.gemspec$/.exec(p)!)
    .map((m) => `${m[1]}@${m[2]}`).sort();

  it('the package ships default gems (uri, cgi, net-http…)', () => {
    expect(truth(true).length).toBeGreaterThanOrEqual(60);
    expect(truth(true)).toEqual(expect.arrayContaining([expect.stringMatching(/^uri@/), expect.stringMatching(/^cgi@/), expect.stringMatching(/^net-http@/)]));
  });

  it.each([
    { name: 'default gem', path: '/usr/lib/ruby/gems/3.1.0/specifications/default/uri-0.11.0.gemspec', want: true },
    { name: 'bundled gem', path: '/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec', want: true },
    { name: 'a gem\'s own source gemspec', path: '/usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/rbs.gemspec', want: false },
    { name: 'deeper than default/', path: '/usr/lib/ruby/gems/3.1.0/specifications/default/x/y-1.gemspec', want: false },
  ])('wants: $name', ({ path, want }) => expect(wantsGemspec(path)).toBe(want));

  it('every gemspec of the package is a RubyGems package of the scan, at its version, and nothing else', async () => {
    const r = (await scanDirectory(root, { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() })).images[0]!;
    const fromSpecs = r.packages.filter((p) => p.cataloger?.name === 'gem-spec');
    const got = (defaults: boolean): string[] => fromSpecs
      .filter((p) => p.locations.some((l) => l.path.includes('/specifications/default/') === defaults))
      .map((p) => `${p.name}@${p.version}`).sort();
    expect(got(true)).toEqual(truth(true));
    expect(got(false)).toEqual(truth(false));
    expect(fromSpecs.find((p) => p.name === 'uri')?.purl).toMatch(/^pkg:gem\/uri@\d/);
    expect(r.unknowns.filter((u) => u.consumer === 'gem-spec')).toEqual([]);
  });
});
