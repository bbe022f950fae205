import { purl } from '../purl';
import type { Cataloger } from '../types';
import { fileCataloger } from '../file-cataloger';
import { projectLockfile } from '../installed-package-files';
import { textCataloger } from '../text-cataloger';
import { parsePythonMetadata } from './metadata';
import { parsePipfileLock, parsePoetryLock, parseRequirementsTxt, parseUvLock, type PythonPin } from './lockfiles';

export { normalizePythonName, parseCoreMetadataHeaders, parsePythonMetadata, type PythonDistribution } from './metadata';
export { parsePipfileLock, parsePoetryLock, parseRequirementsTxt, parseUvLock, type PythonPin } from './lockfiles';

const NAME = 'pypi-metadata';
const VERSION = '1.1.0';

/** `…/x.dist-info/METADATA`, `…/x.egg-info/PKG-INFO`, or a single-file `…/x.egg-info` (setuptools' legacy layout). */
const WANTED = /\/[^/]+\.dist-info\/METADATA$|\/[^/]+\.egg-info\/PKG-INFO$|\/[^/]+\.egg-info$/;

/**
 * Installed Python distributions from core metadata (PEP 566). `name` is the PEP 503 normalised
 * name — what OSV's PyPI ecosystem and the purl `pypi` type (purl-spec: "lowercased, `_` replaced
 * by `-`") match on — so `Unidecode` is reported as `unidecode`.
 */
export const pypiMetadataCataloger: Cataloger = textCataloger({
  name: NAME,
  version: VERSION,
  what: 'python metadata',
  wants: (path: string) => WANTED.test(path),
  // Core metadata is a header block first: a cut body still has the Name and Version headers.
  truncated: 'parse',
  parse: (text) => [parsePythonMetadata(text)],
  toPackage: (d) => ({ ecosystem: 'PyPI', name: d.name, version: d.version, purl: purl('pypi', undefined, d.name, d.version) }),
});

const LOCK_NAME = 'pypi-lockfile';
const LOCK_VERSION = '1.2.0';

/** Lock/requirements parsers by file base name. */
const LOCK_PARSERS: Record<string, (body: Buffer) => PythonPin[]> = {
  'poetry.lock': (b) => parsePoetryLock(b.toString('utf8')),
  'uv.lock': (b) => parseUvLock(b.toString('utf8')),
  'Pipfile.lock': (b) => parsePipfileLock(b.toString('utf8')),
  'requirements.txt': (b) => parseRequirementsTxt(b),
};

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * Python dependencies declared by an application: `poetry.lock`, `uv.lock`, `Pipfile.lock` and the
 * exact pins of `requirements.txt`. Names are PEP 503 normalised, as for installed metadata.
 */
export const pypiLockCataloger: Cataloger = fileCataloger<PythonPin>({
  name: LOCK_NAME,
  version: LOCK_VERSION,
  // A requirements.txt or lock inside site-packages/<pkg>/ is the package's own, not the image's (installed-package-files.ts).
  wants: projectLockfile((path: string) => Object.hasOwn(LOCK_PARSERS, baseName(path))),
  onlyWanted: true,
  truncated: { policy: 'skip', reason: (f) => `${baseName(f.path)} truncated at the read limit; not parsed` },
  parse: (f) => LOCK_PARSERS[baseName(f.path)](f.body),
  unreadableReason: (e, f) => `${baseName(f.path)}: ${(e as Error).message}`,
  toPackage: (p) => ({ ecosystem: 'PyPI', name: p.name, version: p.version, purl: purl('pypi', undefined, p.name, p.version) }),
});
