/**
 * Real-file test: the project's own installed tree (/work/main/node_modules, i.e. <repo>/node_modules)
 * read through the installed-package cataloger, compared with `npm ls --all --json --long`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Digest } from '../../../../lib/engine/model';
import type { CatalogFile } from '../../../../lib/engine/catalog/types';
import { npmInstalledCataloger, parsePackageLock } from '../../../../lib/engine/catalog/npm';

const REPO = resolve(__dirname, '..', '..', '..', '..');
const LAYER = `sha256:${'0'.repeat(64)}` as Digest;

/** Every file under `dir` the cataloger wants, as in-image paths rooted at `/app` (symlinks not followed). */
function collect(dir: string, image: string, out: CatalogFile[]): void {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, ent.name);
    const path = `${image}/${ent.name}`;
    if (ent.isDirectory()) collect(abs, path, out);
    else if (ent.isFile() && npmInstalledCataloger.wants(path)) {
      out.push({ path, layer: LAYER, body: readFileSync(abs), truncated: false });
    }
  }
}

interface LsNode { version?: string; name?: string; dependencies?: Record<string, LsNode> }

/**
 * `npm ls` keys a dependency by its install folder name, which for an npm alias
 * (`"string-width-cjs": "npm:string-width@^4.2.0"`, `"@jest/react-is-18": "npm:react-is@18.3.1"`) is the
 * alias; the installed package.json — what an image scan sees — carries the registry name. With `--long`
 * npm ls adds each node's package.json `name`, so the expectation uses that name where present.
 */
function lsPairs(node: LsNode, out: Set<string>): void {
  for (const [key, dep] of Object.entries(node.dependencies ?? {})) {
    // Missing (declared but not installed) dependencies carry no version: nothing is installed to find.
    if (dep.version) out.add(`${dep.name ?? key}@${dep.version}`);
    lsPairs(dep, out);
  }
}

describe('installed node_modules of this repository vs npm ls --all --json', () => {
  it('reports the same name@version set as npm ls', () => {
    const files: CatalogFile[] = [];
    collect(join(REPO, 'node_modules'), '/app/node_modules', files);
    const { packages, unknowns } = npmInstalledCataloger.catalog(files);
    const ours = new Set(packages.map((p) => `${p.name}@${p.version}`));

    const ls = JSON.parse(execFileSync('npm', ['ls', '--all', '--json', '--long'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 })) as LsNode;
    const theirs = new Set<string>();
    lsPairs(ls, theirs);

    const onlyOurs = [...ours].filter((id) => !theirs.has(id)).sort();
    const onlyTheirs = [...theirs].filter((id) => !ours.has(id)).sort();
    expect({ onlyOurs, onlyTheirs, unknowns }).toEqual({ onlyOurs: [], onlyTheirs: [], unknowns: [] });
    expect(ours.size).toBeGreaterThan(100);
  });
});

describe('this repository\'s package-lock.json vs its installed node_modules', () => {
  it('lists every installed package; the extra lockfile entries are optional packages not installed here', () => {
    const files: CatalogFile[] = [];
    collect(join(REPO, 'node_modules'), '/app/node_modules', files);
    const installed = new Set(npmInstalledCataloger.catalog(files).packages.map((p) => `${p.name}@${p.version}`));
    const lockText = readFileSync(join(REPO, 'package-lock.json'), 'utf8');
    const locked = new Set(parsePackageLock(lockText).map((e) => `${e.name}@${e.version}`));
    expect([...installed].filter((id) => !locked.has(id))).toEqual([]);
    // npm records the platform-specific optional packages of every platform (e.g. @esbuild/darwin-arm64)
    // but installs only the matching ones: each lockfile-only entry must be `optional` in the lockfile.
    const lock = JSON.parse(lockText) as { packages: Record<string, { name?: string; version?: string; optional?: boolean }> };
    const optional = new Set(Object.entries(lock.packages).filter(([, v]) => v.optional)
      .map(([k, v]) => `${v.name ?? k.slice(k.lastIndexOf('node_modules/') + 13)}@${v.version}`));
    const lockOnly = [...locked].filter((id) => !installed.has(id));
    expect(lockOnly.filter((id) => !optional.has(id))).toEqual([]);
  });
});
