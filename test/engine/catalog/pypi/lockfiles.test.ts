import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusPath } from '../../../helpers/corpus';
import { normalizePythonName, parsePipfileLock, parsePoetryLock, parseRequirementsTxt, parseUvLock, pypiLockCataloger, type PythonPin } from '../../../../lib/engine/catalog/pypi';
import type { Digest } from '../../../../lib/engine/model';

interface Expected { input: string; cases: { options?: Record<string, unknown>; packages: { name: string; version: string }[] }[] }

const ROOT = corpusPath('pkgdb', 'pypi');
/** Every pypi fixture that is a lock or requirements file (installed metadata is tested in metadata.test.ts). */
const FIXTURES = readdirSync(ROOT).filter((d) => /^trivy-python-(pip|pipenv|poetry|uv)-/.test(d));
const LAYER = `sha256:${'f'.repeat(64)}` as Digest;
const byKey = (a: PythonPin, b: PythonPin) => `${a.name}@${a.version}`.localeCompare(`${b.name}@${b.version}`);

function parserFor(input: string): (b: Buffer) => PythonPin[] {
  if (input.endsWith('.txt')) return parseRequirementsTxt;
  if (input.startsWith('Pipfile')) return (b) => parsePipfileLock(b.toString('utf8'));
  if (input.startsWith('poetry')) return (b) => parsePoetryLock(b.toString('utf8'));
  if (input.startsWith('uv')) return (b) => parseUvLock(b.toString('utf8'));
  throw new Error(`no parser for ${input}`);
}

/**
 * Real disagreements with the peer, each asserted exactly: what we report instead.
 */
const DISAGREEMENTS: Record<string, { reason: string; ours: PythonPin[] }> = {
  'trivy-python-pip-requirements_compatible': {
    reason: 'The peer test runs with trivy\'s non-default `useMinVersion` option, which reports the lower bound of a range '
      + '(`keyring >= 4.1.1` → 4.1.1, `python-gitlab==2.0.*` → 2.0.0) as if it were installed. A range does not say what is '
      + 'installed, and guessing the minimum invents versions (false positives/negatives in matching), so we report exact pins only '
      + 'and this file has none.',
    ours: [],
  },
};

describe('python lock/requirements files — corpus', () => {
  it('finds the lockfile fixtures (11 requirements, 3 Pipfile.lock, 3 poetry.lock, 1 uv.lock)', () => expect(FIXTURES.length).toBe(18));

  it.each(FIXTURES)('%s', (folder) => {
    const exp = JSON.parse(readFileSync(join(ROOT, folder, 'expected.json'), 'utf8')) as Expected;
    const got = parserFor(exp.input)(readFileSync(join(ROOT, folder, exp.input))).sort(byKey);
    const dis = DISAGREEMENTS[folder];
    for (const c of exp.cases) {
      if (dis) {
        expect(c.options).toEqual({ useMinVersion: true });
        expect(got).toEqual(dis.ours);
        expect(c.packages.length).toBeGreaterThan(0);
        continue;
      }
      // Representation: trivy keeps requirement names as written (`Flask`); we report PEP 503
      // normalised names, so expectations are normalised. Order: both sides sorted.
      expect(got).toEqual(c.packages.map((p) => ({ name: normalizePythonName(p.name), version: p.version })).sort(byKey));
    }
  });
});

describe('parseRequirementsTxt', () => {
  it('keeps exact pins only and strips options, markers, extras, comments', () => {
    const txt = '-r base.txt\n--index-url https://x\nA_B[x]==1.0 ; python_version<"3.8" # c\nC>=2\nD==1.*\nE===2.0 \\\n  --hash=sha256:00\n-e git+https://x#egg=f\n';
    expect(parseRequirementsTxt(txt)).toEqual([{ name: 'a-b', version: '1.0' }, { name: 'e', version: '2.0' }]);
  });
  it('ignores binary garbage', () => expect(parseRequirementsTxt(Buffer.from([0, 1, 2, 0xff]))).toEqual([]));
});

describe('pypiLockCataloger', () => {
  it('wants', () => {
    for (const p of ['/app/poetry.lock', '/app/uv.lock', '/app/Pipfile.lock', '/app/requirements.txt']) expect(pypiLockCataloger.wants(p)).toBe(true);
    for (const p of ['/app/Pipfile', '/app/pyproject.toml', '/app/requirements-dev.txt', '/app/xpoetry.lock']) expect(pypiLockCataloger.wants(p)).toBe(false);
  });
  it('catalogs; garbage → unknown', () => {
    const r = pypiLockCataloger.catalog([
      { path: '/app/Pipfile.lock', layer: LAYER, body: Buffer.from(JSON.stringify({ default: { Django: { version: '==2.2' } }, develop: {} })), truncated: false },
      { path: '/app/poetry.lock', layer: LAYER, body: Buffer.from('[[package]\nname='), truncated: false },
      { path: '/b/Pipfile.lock', layer: LAYER, body: Buffer.from('[]'), truncated: false },
    ]);
    expect(r.packages).toEqual([{ ecosystem: 'PyPI', name: 'django', version: '2.2', purl: 'pkg:pypi/django@2.2', locations: [{ layer: LAYER, path: '/app/Pipfile.lock' }], cataloger: { name: 'pypi-lockfile', version: '1.2.0' } }]);
    expect(r.unknowns.map((u) => u.path)).toEqual(['/app/poetry.lock', '/b/Pipfile.lock']);
  });
});
