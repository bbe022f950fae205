import type { Location, Package, PluginId, Unknown } from '../../model';
import { classOfParseFailure } from '../file-cataloger';
import { purl } from '../purl';
import { isInsideInstalledPackage } from '../installed-package-files';
import type { CatalogFile, CatalogResult, Cataloger } from '../types';
import { goVersionToSemver, isBuildInfoWindow, isExecutable, readGoBuildInfo, type GoBuildInfo, type GoModule } from './buildinfo';
import { parseGoMod, type GoModOptions } from './gomod';

export * from './buildinfo';
export * from './gomod';

/**
 * purl for a Go module (purl-spec PURL-TYPES `golang`): namespace = module path without its last
 * element, name = last element; `stdlib` has no namespace.
 */
export function goPurl(modulePath: string, version: string | undefined): string {
  const i = modulePath.lastIndexOf('/');
  return purl('golang', i < 0 ? undefined : modulePath.slice(0, i), i < 0 ? modulePath : modulePath.slice(i + 1), version || undefined);
}

function goPackage(name: string, version: string, loc: Location, cataloger: PluginId): Package {
  return { ecosystem: 'Go', name, version, purl: goPurl(name, version), locations: [loc], cataloger };
}

/**
 * Packages of one decoded build info, as Syft's Go binary cataloger reports them: the main module
 * (version as recorded: `(devel)` for a build from a checkout, a pseudo-version when the toolchain
 * stamped one), every `dep` with its `=>` replacement applied, and `stdlib` at the runtime version
 * (see {@link goVersionToSemver}). A replacement by another module (`=> example.com/fork v1.2.3`) is
 * that module at that version — its code is what was linked. A replacement by a local directory
 * (`=> ./lib`, `=> ../x`: https://go.dev/ref/mod#go-mod-file-replace) has no version of its own:
 * `go version -m` prints the `dep` line's version (`v0.0.0-00010101000000-000000000000` when only
 * required for the replacement's sake) and the directory, so the package keeps the module path and
 * is `(devel)` — the directory is never a module name. The main module's `(devel)` is kept: the
 * matcher holds it affected only by ranges that cover every version (match/ranges.ts).
 */
export function buildInfoPackages(info: GoBuildInfo, loc: Location, cataloger: PluginId): Package[] {
  const out: Package[] = [];
  const add = (m: GoModule): void => {
    const r = m.replace;
    if (r && r.version && !isLocalPath(r.path)) out.push(goPackage(r.path, r.version, loc, cataloger));
    else if (r) { if (m.path) out.push(goPackage(m.path, GO_DEVEL, loc, cataloger)); }
    else if (m.path && m.version) out.push(goPackage(m.path, m.version, loc, cataloger));
  };
  if (info.main?.path) add(info.main.version ? info.main : { ...info.main, version: GO_DEVEL });
  for (const d of info.deps) add(d);
  const std = goVersionToSemver(info.goVersion);
  if (std) out.push(goPackage('stdlib', std, loc, cataloger));
  return out;
}

/** The version Go reports for a module built from a directory rather than a release (`runtime/debug` `(devel)`). */
export const GO_DEVEL = '(devel)';

/** A replacement that is a directory (go.dev/ref/mod#go-mod-file-replace: starts with `./`, `../` or `/`). */
function isLocalPath(p: string): boolean {
  return p.startsWith('./') || p.startsWith('../') || p.startsWith('/') || p === '.' || p === '..' || /^[A-Za-z]:[\\/]/.test(p);
}

/**
 * The unknown for a binary whose Go toolchain version is not a release (see {@link goVersionToSemver}):
 * the standard library it linked cannot be matched, which could hide stdlib vulnerabilities.
 */
function stdlibUnknown(info: GoBuildInfo, loc: Location): Unknown | undefined {
  if (goVersionToSemver(info.goVersion)) return undefined;
  return { layer: loc.layer, path: loc.path, reason: `Go toolchain version ${JSON.stringify(info.goVersion)} is not a Go release: the standard library's version is unknown and it is not matched`, class: 'parse-error', consumer: GO_BINARY_ID.name };
}

const GO_BINARY_ID: PluginId = { name: 'go-binary', version: '2' };
const BIN_DIR = /(^|\/)(s?bin|libexec)\/[^/]+$/;
const APP_ROOT = /^\/(app|opt|srv|go|usr\/local|home|root|ko-app)\//;
const NOT_BINARY = /\.(so(\.\d+)*|a|o|txt|md|json|ya?ml|toml|sh|py|pl|rb|js|ts|html|css|conf|cfg|ini|xml|jar|war|ear|zip|gz|tgz|xz|bz2|zst|png|jpe?g|gif|svg|pem|crt|key|mod|sum|go|c|h|log|lock)$/i;

/**
 * Go binaries: executables (ELF, Mach-O, PE) carrying Go build info. Wanted paths — bodies captured
 * whole — are files in `bin`/`sbin`/`libexec` directories and extension-less files under common
 * application roots (`/app`, `/opt`, `/usr/local`, `/go`, ...) or at `/`. Anywhere else a Go binary
 * is found by content ({@link wantsBody}, bodies kept by catalog/binary-extractor.ts: only those that
 * carry build info). Only executable bodies are inspected, other files are skipped silently.
 */
export const goBinaryCataloger: Cataloger = {
  ...GO_BINARY_ID,
  wants(path: string): boolean {
    if (NOT_BINARY.test(path)) return false;
    if (BIN_DIR.test(path)) return true;
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base.includes('.')) return false;
    return APP_ROOT.test(path) || path.lastIndexOf('/') === 0;
  },
  wantsBody(body: Buffer): boolean {
    return isExecutable(body) || isBuildInfoWindow(body);
  },
  catalog(files: readonly CatalogFile[]): CatalogResult {
    const packages: Package[] = [];
    const unknowns: Unknown[] = [];
    for (const f of files) {
      // A large binary arrives as its build info window (BuildInfoExtractor): complete for this purpose.
      const window = f.truncated && isBuildInfoWindow(f.body);
      if (!isExecutable(f.body) && !window) continue;
      const r = readGoBuildInfo(f.body);
      if (r === null) {
        if (f.truncated) unknowns.push({ layer: f.layer, path: f.path, reason: 'ELF file truncated before any Go build info was found', class: 'cut-by-cap', consumer: GO_BINARY_ID.name });
        continue;
      }
      if ('error' in r) { unknowns.push({ layer: f.layer, path: f.path, reason: r.error, class: 'parse-error', consumer: GO_BINARY_ID.name }); continue; }
      for (const p of buildInfoPackages(r.info, { layer: f.layer, path: f.path }, GO_BINARY_ID)) packages.push(p);
      const std = stdlibUnknown(r.info, { layer: f.layer, path: f.path });
      if (std) unknowns.push(std);
      if (f.truncated && !window) unknowns.push({ layer: f.layer, path: f.path, reason: 'binary truncated at the read limit (build info was read)', class: 'cut-by-cap', consumer: GO_BINARY_ID.name });
    }
    return { packages, unknowns };
  },
};

/**
 * go.mod files (Trivy's gomod analyzer semantics, see {@link parseGoMod}); the root module carries no
 * version and is not reported as a package. Options default to `replace: true, useMinVersion: false`
 * (the toolchain minimum is not the Go version a binary was actually built with). go.mod files in the
 * module cache and in `vendor/` are not wanted.
 */
export function createGoModCataloger(options: GoModOptions = {}): Cataloger {
  return {
    name: 'go-mod',
    version: '3',
    // The module cache (`$GOMODCACHE`, default `$GOPATH/pkg/mod`), `vendor/` and every other
    // installed-package folder hold dependencies' own go.mod files, not the application's: skip them
    // (https://go.dev/ref/mod#module-cache; installed-package-files.ts).
    wants: (path: string): boolean => path.endsWith('/go.mod') && !path.includes('/vendor/') && !isInsideInstalledPackage(path),
    catalog(files: readonly CatalogFile[]): CatalogResult {
      const packages: Package[] = [];
      const unknowns: Unknown[] = [];
      const id: PluginId = { name: this.name, version: this.version };
      for (const f of files) {
        try {
          for (const e of parseGoMod(f.body.toString('utf8'), options)) {
            if (e.relationship !== 'root' && e.version) packages.push(goPackage(e.name, e.version, { layer: f.layer, path: f.path }, id));
          }
          if (f.truncated) unknowns.push({ layer: f.layer, path: f.path, reason: 'go.mod truncated at the read limit', class: 'cut-by-cap', consumer: id.name });
        } catch (e) {
          unknowns.push({ layer: f.layer, path: f.path, reason: (e as Error).message, class: classOfParseFailure(e), consumer: id.name });
        }
      }
      return { packages, unknowns };
    },
  };
}

/** The default go.mod cataloger. */
export const goModCataloger: Cataloger = createGoModCataloger();
