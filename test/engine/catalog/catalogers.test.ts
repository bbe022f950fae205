import { CATALOGERS, catalogerFingerprint } from '../../../lib/engine/catalog/catalogers';

describe('the cataloger list', () => {
  it('names every cataloger once, each with a semver version', () => {
    const names = CATALOGERS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of CATALOGERS) expect(c.version).toMatch(/^\d+(\.\d+){0,2}$/);
  });

  it.each([
    ['/var/lib/dpkg/status', 'dpkg-db'],
    ['/lib/apk/db/installed', 'apk-db'],
    ['/var/lib/rpm/rpmdb.sqlite', 'rpm-db'],
    ['/app/package-lock.json', 'npm-lockfile'],
    ['/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA', 'pypi-metadata'],
    ['/src/go.mod', 'go-mod'],
    ['/app/app.jar', 'java-archive'],
    ['/usr/local/bundle/specifications/rack-3.0.8.gemspec', 'gem-spec'],
    ['/src/Cargo.lock', 'cargo-lock'],
    ['/app/app.deps.json', 'dotnet-deps'],
    ['/app/composer.lock', 'composer-lock'],
  ])('%s is wanted by %s', (path, name) => {
    expect(CATALOGERS.filter((c) => c.wants(path)).map((c) => c.name)).toContain(name);
  });

  it.each(['/etc/passwd', '/usr/share/doc/gzip/copyright', '/var/lib/dpkg/info/libc6.list'])('%s is wanted by none', (path) => {
    expect(CATALOGERS.filter((c) => c.wants(path)).map((c) => c.name)).toEqual([]);
  });

  it('the fingerprint changes when a version changes', () => {
    const bumped = CATALOGERS.map((c, i) => (i === 0 ? { ...c, version: `${c.version}-fix` } : c));
    expect(catalogerFingerprint(bumped)).not.toBe(catalogerFingerprint());
  });
});
