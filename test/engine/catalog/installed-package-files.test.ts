import { installedPackageDirOf } from '../../../lib/engine/catalog/installed-package-files';
import { CATALOGERS } from '../../../lib/engine/catalog/catalogers';

/** Which catalogers want a path (by name, sorted). */
const wantedBy = (path: string): string[] => CATALOGERS.filter((c) => c.wants(path)).map((c) => c.name).sort();

/**
 * Lockfiles and manifests shipped inside an installed package are that package's own (issue 14
 * "Only what is installed is inventory"); a project's own lockfile is the image's inventory; an
 * installed package's own evidence is still catalogued.
 */
describe('installed-package-files: lockfiles inside installed packages are not inventory', () => {
  const inside: readonly [name: string, path: string, dir: string][] = [
    ['handlebars ships its package-lock.json', '/app/node_modules/handlebars/package-lock.json', 'node_modules'],
    ['npm-shrinkwrap.json of a nested dependency', '/app/node_modules/a/node_modules/b/npm-shrinkwrap.json', 'node_modules'],
    ['yarn.lock of a scoped package', '/usr/lib/node_modules/@scope/pkg/yarn.lock', 'node_modules'],
    ['pnpm-lock.yaml deep inside a package', '/srv/node_modules/.pnpm/x@1.0.0/node_modules/x/test/fixture/pnpm-lock.yaml', 'node_modules'],
    ['package-lock.json in a node_modules at the root', '/node_modules/x/package-lock.json', 'node_modules'],
    ['Debian postcss ships its pnpm-lock.yaml', '/usr/share/nodejs/postcss/pnpm-lock.yaml', 'debian-nodejs'],
    ['Debian scoped module lockfile', '/usr/share/nodejs/@babel/core/yarn.lock', 'debian-nodejs'],
    ['Debian arch-specific module lockfile', '/usr/lib/x86_64-linux-gnu/nodejs/foo/package-lock.json', 'debian-nodejs'],
    ['Debian /usr/lib/nodejs module lockfile', '/usr/lib/nodejs/foo/package-lock.json', 'debian-nodejs'],
    ['requirements.txt inside a site-packages package', '/usr/local/lib/python3.11/site-packages/foo/requirements.txt', 'python-site-packages'],
    ['Pipfile.lock inside a dist-packages package', '/usr/lib/python3/dist-packages/foo/tests/Pipfile.lock', 'python-site-packages'],
    ['poetry.lock inside a venv package', '/opt/venv/lib/python3.12/site-packages/bar/poetry.lock', 'python-site-packages'],
    ['a gem ships its Gemfile.lock (steep)', '/usr/local/bundle/gems/steep-1.4.0/Gemfile.lock', 'rubygems-gem-dir'],
    ['gem under /var/lib/gems', '/var/lib/gems/3.1.0/gems/rack-2.2.4/gems.locked', 'rubygems-gem-dir'],
    ['Bundler git gem checkout', '/usr/local/bundle/bundler/gems/rails-0123456789ab/Gemfile.lock', 'rubygems-gem-dir'],
    ['Bundler vendor/bundle', '/app/vendor/bundle/Gemfile.lock', 'vendor'],
    ['Go vendored module go.mod', '/src/app/vendor/github.com/x/y/go.mod', 'vendor'],
    ['Composer vendored package composer.lock', '/var/www/vendor/monolog/monolog/composer.lock', 'vendor'],
    ['Go module cache', '/go/pkg/mod/golang.org/x/net@v0.1.0/go.mod', 'go-module-cache'],
    ['Cargo registry source', '/usr/local/cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.0/Cargo.lock', 'cargo-home'],
    ['Cargo git checkout in ~/.cargo', '/root/.cargo/git/checkouts/foo-abc/1234567/Cargo.lock', 'cargo-home'],
  ];
  test.each(inside)('%s: %s is inside %s', (_name, path, dir) => {
    expect(installedPackageDirOf(path)).toBe(dir);
    expect(wantedBy(path)).toEqual([]);
  });

  const project: readonly [name: string, path: string, cataloger: string][] = [
    ['an app package-lock.json', '/app/package-lock.json', 'npm-lockfile'],
    ['an app npm-shrinkwrap.json', '/srv/app/npm-shrinkwrap.json', 'npm-lockfile'],
    ['an app yarn.lock', '/usr/src/app/yarn.lock', 'yarn-lockfile'],
    ['an app pnpm-lock.yaml', '/app/pnpm-lock.yaml', 'pnpm-lockfile'],
    ['an app Gemfile.lock', '/srv/app/Gemfile.lock', 'gemfile-lock'],
    ['an app requirements.txt', '/app/requirements.txt', 'pypi-lockfile'],
    ['an app poetry.lock', '/opt/service/poetry.lock', 'pypi-lockfile'],
    ['an app composer.lock', '/var/www/composer.lock', 'composer-lock'],
    ['an app Cargo.lock', '/build/app/Cargo.lock', 'cargo-lock'],
    ['an app go.mod', '/src/app/go.mod', 'go-mod'],
  ];
  test.each(project)('%s (%s) is the image inventory', (_name, path, cataloger) => {
    expect(installedPackageDirOf(path)).toBeUndefined();
    expect(wantedBy(path)).toEqual([cataloger]);
  });

  const evidence: readonly [name: string, path: string, cataloger: string][] = [
    ['an installed npm package', '/app/node_modules/handlebars/package.json', 'npm-installed'],
    ['a nested scoped npm package', '/app/node_modules/a/node_modules/@s/b/package.json', 'npm-installed'],
    ['a Debian nodejs module dependency', '/usr/share/nodejs/cacache/node_modules/fs-minipass/package.json', 'npm-installed'],
    ['a dist-info', '/usr/lib/python3/dist-packages/pip-23.0.1.dist-info/METADATA', 'pypi-metadata'],
    ['an egg-info', '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO', 'pypi-metadata'],
    ['a gemspec', '/usr/local/bundle/specifications/steep-1.4.0.gemspec', 'gem-spec'],
    ['Composer installed.json', '/var/www/vendor/composer/installed.json', 'composer-installed'],
  ];
  test.each(evidence)('%s (%s) is still catalogued', (_name, path, cataloger) => {
    expect(wantedBy(path)).toEqual([cataloger]);
  });
});
