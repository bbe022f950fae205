import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '../../../helpers/corpus';
import { dotnetDepsCataloger, nugetLockCataloger, parseDepsJson, parseNugetLock } from '../../../../lib/engine/catalog/dotnet';
import type { Digest } from '../../../../lib/engine/model';

interface Expected { input: string; cases: { packages: { name: string; version: string }[] }[] }

const ROOT = corpusPath('pkgdb', 'nuget');
const FIXTURES = readdirSync(ROOT);
const LAYER = `sha256:${'d'.repeat(64)}` as Digest;
const byKey = (a: { name: string; version: string }, b: { name: string; version: string }) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`);

describe('.NET deps.json / packages.lock.json — corpus', () => {
  it('finds the nuget fixtures (7 deps.json, 4 packages.lock.json)', () => {
    expect(FIXTURES.filter((f) => f.startsWith('trivy-dotnet-core_deps-')).length).toBe(7);
    expect(FIXTURES.filter((f) => f.startsWith('trivy-nuget-lock-')).length).toBe(4);
    expect(FIXTURES.length).toBe(11);
  });

  it.each(FIXTURES)('%s', (folder) => {
    const exp = JSON.parse(readFileSync(join(ROOT, folder, 'expected.json'), 'utf8')) as Expected;
    const text = readFileSync(join(ROOT, folder, exp.input), 'utf8');
    const parse = exp.input.endsWith('.deps.json') ? parseDepsJson : parseNugetLock;
    const got = parse(text).map((l) => ({ name: l.name, version: l.version }));
    for (const c of exp.cases) {
      // Order: trivy sorts by package ID; we keep file order, so both sides are sorted.
      expect([...got].sort(byKey)).toEqual(c.packages.map((p) => ({ name: p.name, version: p.version })).sort(byKey));
    }
  });
});

describe('.NET catalogers', () => {
  it('wants', () => {
    expect(dotnetDepsCataloger.wants('/app/MyApp.deps.json')).toBe(true);
    expect(dotnetDepsCataloger.wants('/app/MyApp.runtimeconfig.json')).toBe(false);
    expect(nugetLockCataloger.wants('/src/packages.lock.json')).toBe(true);
    expect(nugetLockCataloger.wants('/src/package-lock.json')).toBe(false);
  });
  it('catalogs deps.json (BOM tolerated) and records garbage as unknowns', () => {
    const deps = { runtimeTarget: { name: 't' }, targets: { t: { 'Newtonsoft.Json/13.0.1': { runtime: { 'lib/Newtonsoft.Json.dll': {} } } } }, libraries: { 'Newtonsoft.Json/13.0.1': { type: 'package' } } };
    const r = dotnetDepsCataloger.catalog([
      { path: '/app/a.deps.json', layer: LAYER, body: Buffer.from('\uFEFF' + JSON.stringify(deps)), truncated: false },
      { path: '/app/b.deps.json', layer: LAYER, body: Buffer.from('{"libraries": '), truncated: false },
      { path: '/app/c.deps.json', layer: LAYER, body: Buffer.from('{"libraries": []}'), truncated: false },
    ]);
    expect(r.packages).toEqual([{ ecosystem: 'NuGet', name: 'Newtonsoft.Json', version: '13.0.1', purl: 'pkg:nuget/Newtonsoft.Json@13.0.1', locations: [{ layer: LAYER, path: '/app/a.deps.json' }], cataloger: { name: 'dotnet-deps', version: '1.1.0' } }]);
    expect(r.unknowns.map((u) => u.path)).toEqual(['/app/b.deps.json', '/app/c.deps.json']);
  });
  it('packages.lock.json: project references skipped, garbage → unknown', () => {
    const lock = { version: 1, dependencies: { net8: { A: { type: 'Direct', resolved: '1.0.0' }, Lib: { type: 'Project' } } } };
    const r = nugetLockCataloger.catalog([
      { path: '/src/packages.lock.json', layer: LAYER, body: Buffer.from(JSON.stringify(lock)), truncated: false },
      { path: '/bad/packages.lock.json', layer: LAYER, body: Buffer.from('{"version": 1}'), truncated: false },
    ]);
    expect(r.packages.map((p) => p.purl)).toEqual(['pkg:nuget/A@1.0.0']);
    expect(r.unknowns.map((u) => u.path)).toEqual(['/bad/packages.lock.json']);
  });
});
