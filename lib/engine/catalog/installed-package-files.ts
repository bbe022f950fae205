/**
 * Which lockfiles and dependency manifests are the image's inventory, and which are only part of an
 * installed package's own files (issue 14, "Only what is installed is inventory").
 *
 * A published package often ships its authors' lockfile: `handlebars@4.0.11` carries the
 * `package-lock.json` of its development tree (605 packages, none of them installed), Debian's
 * `/usr/share/nodejs/postcss/pnpm-lock.yaml` its upstream's, a gem its `Gemfile.lock`. Those files
 * describe how the package was *built*, not what the image *runs*; what is installed is catalogued from
 * the installed package's own evidence (`node_modules/<pkg>/package.json`, `*.dist-info/METADATA`,
 * `specifications/*.gemspec`, `vendor/composer/installed.json`).
 *
 * Trivy applies the same rule: its npm analyzer "Don't save package-lock.json from the `node_modules`
 * directory to avoid duplication and mistakes" (aquasecurity/trivy
 * pkg/fanal/analyzer/language/nodejs/npm/npm.go, `Required`: `fileName == types.NpmPkgLock &&
 * !xpath.Contains(filePath, "node_modules")` — any path element `node_modules`, at any depth). Here the
 * rule is extended to the other places package managers unpack packages into, each named below.
 * A project's own lockfile (`/app/package-lock.json`, `/srv/app/Gemfile.lock`) is still read.
 */

/** One place installed packages live, with why a lockfile below it is not inventory. */
interface InstalledDir {
  readonly name: string;
  readonly test: RegExp;
}

const INSTALLED_DIRS: readonly InstalledDir[] = [
  // npm, yarn, pnpm: every package is unpacked into a `node_modules` folder (Trivy's rule, above).
  { name: 'node_modules', test: /\/node_modules\// },
  // Debian's Node.js modules (Debian JavaScript Policy: /usr/share/nodejs, /usr/lib/nodejs and
  // /usr/lib/<triplet>/nodejs hold one folder per installed module).
  { name: 'debian-nodejs', test: /^\/usr\/(?:share\/nodejs|lib\/nodejs|lib\/[^/]+\/nodejs)\/[^/]+\// },
  // Python: every file below site-packages / dist-packages belongs to an installed distribution
  // (or to the interpreter's own path configuration), never to the application's lock.
  { name: 'python-site-packages', test: /\/(?:site|dist)-packages\/[^/]+\// },
  // RubyGems unpacks each gem into `<GEM_HOME>/gems/<name>-<version>/` (`Gem::Specification#full_name`);
  // Bundler's git gems into `bundler/gems/<name>-<revision>/`.
  { name: 'rubygems-gem-dir', test: /\/gems\/[^/]+-\d[^/]*\// },
  { name: 'bundler-git-gem-dir', test: /\/bundler\/gems\/[^/]+-[0-9a-f]{7,}\// },
  // Go's `vendor/<module>/…`, Composer's `vendor/<vendor>/<package>/…`, Bundler's `vendor/bundle/…`:
  // a folder below `vendor/` is a dependency's copy.
  { name: 'vendor', test: /\/vendor\/[^/]+\// },
  // Go's module cache, `$GOMODCACHE` (default `$GOPATH/pkg/mod`, https://go.dev/ref/mod#module-cache).
  { name: 'go-module-cache', test: /\/pkg\/mod\// },
  // Cargo's registry and git sources under `$CARGO_HOME` (default `~/.cargo`; `/usr/local/cargo` in
  // the rust images): `registry/src/<index>/<crate>-<version>/`, `git/checkouts/<repo>/<rev>/`
  // (https://doc.rust-lang.org/cargo/guide/cargo-home.html).
  { name: 'cargo-home', test: /\/\.?cargo\/(?:registry|git)\// },
];

/**
 * The kind of installed-package folder `path` lies inside (`node_modules`, `python-site-packages`, …),
 * or undefined for a file that is not inside one. For lockfiles and dependency manifests only: an
 * installed package's own evidence (its package.json, METADATA, gemspec) is what is installed.
 */
export function installedPackageDirOf(path: string): string | undefined {
  return INSTALLED_DIRS.find((d) => d.test.test(path))?.name;
}

/**
 * True for a lockfile or dependency manifest that belongs to an installed package's own files (see
 * {@link installedPackageDirOf}): lockfile catalogers do not read it as the image's inventory.
 */
export function isInsideInstalledPackage(path: string): boolean {
  return installedPackageDirOf(path) !== undefined;
}

/**
 * A lockfile cataloger's `wants`, restricted to files that are not inside an installed package
 * ({@link isInsideInstalledPackage}): the one place the rule is applied.
 */
export function projectLockfile(wants: (path: string) => boolean): (path: string) => boolean {
  return (path) => wants(path) && !isInsideInstalledPackage(path);
}
