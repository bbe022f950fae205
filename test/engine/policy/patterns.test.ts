import { imageRepository, matchesPackage, matchesRepository, parsePurl, repositoryPatternProblem } from '../../../lib/engine/policy';

describe('imageRepository', () => {
  const CASES: readonly (readonly [string, string | undefined])[] = [
    ['alpine', 'docker.io/library/alpine'],
    ['alpine:3.19', 'docker.io/library/alpine'],
    ['bitnami/redis:7', 'docker.io/bitnami/redis'],
    ['GHCR.io/acme/web@sha256:' + 'a'.repeat(64), 'ghcr.io/acme/web'],
    ['localhost:5000/x/y:1', 'localhost:5000/x/y'],
    ['docker-archive:/tmp/x.tar', undefined],
    ['oci-archive:/tmp/x.tar:web', undefined],
    ['oci:web', undefined],
    ['dir:/srv/app', undefined],
    ['not a reference!', undefined],
  ];
  it.each(CASES)('%s → %s', (ref, repo) => expect(imageRepository(ref)).toBe(repo));
});

describe('repository patterns', () => {
  const VALID: readonly (readonly [string, string, boolean])[] = [
    ['ghcr.io/acme/*', 'ghcr.io/acme/web', true],
    ['ghcr.io/acme/*', 'ghcr.io/acme/a/b', false],
    ['ghcr.io/acme/**', 'ghcr.io/acme/a/b', true],
    ['ghcr.io/acme/**/web', 'ghcr.io/acme/web', true],
    ['ghcr.io/acme/**/web', 'ghcr.io/acme/a/b/web', true],
    ['ghcr.io/acme/web', 'ghcr.io/acme/web', true],
    ['ghcr.io/acme/web', 'ghcr.io/acme/web2', false],
    ['ghcr.io/acme/web-*', 'ghcr.io/acme/web-api', true],
    ['*.example.com/**', 'registry.example.com/x', true],
    ['*.example.com/**', 'a.b.example.com/x', false],
    ['GHCR.IO/acme/*', 'ghcr.io/acme/web', true],
    ['docker.io/alpine', 'docker.io/library/alpine', true],
    ['registry.local:5000/**', 'registry.local:5000/a', true],
    ['registry.local:5000/**', 'registry.local:5001/a', false],
    ['ghcr.io/acme.corp/*', 'ghcr.io/acmeXcorp/web', false],
  ];
  it.each(VALID)('%s matches %s: %s', (pattern, repo, want) => {
    expect(repositoryPatternProblem(pattern)).toBeUndefined();
    expect(matchesRepository(pattern, repo)).toBe(want);
  });

  const INVALID: readonly (readonly [string, RegExp])[] = [
    ['', /1 to 512/],
    ['ghcr.io', /registry\/repository/],
    ['ghcr.io/', /registry\/repository/],
    ['library/alpine', /registry host/],
    ['ghcr.**/x', /not a host/],
    ['ghcr.io/acme/web:1', /no tag or digest/],
    ['ghcr.io/acme/web@sha256:' + 'a'.repeat(64), /no tag or digest/],
    ['ghcr.io/Acme/*', /lower-case/],
    ['ghcr.io/acme/***', /not a wildcard/],
    ['ghcr.io/acme/(x|y)', /lower-case/],
  ];
  it.each(INVALID)('%j is refused', (pattern, why) => expect(repositoryPatternProblem(pattern)).toMatch(why));
});

describe('package selectors', () => {
  const PURLS: readonly (readonly [string, ReturnType<typeof parsePurl>])[] = [
    ['pkg:npm/lodash@4.17.20', { type: 'npm', name: 'lodash', version: '4.17.20' }],
    ['pkg:npm/%40angular/core@17.0.0', { type: 'npm', namespace: '@angular', name: 'core', version: '17.0.0' }],
    ['pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12', { type: 'deb', namespace: 'debian', name: 'openssl', version: '3.0.11-1~deb12u2' }],
    ['pkg:golang/golang.org/x/crypto@v0.17.0', { type: 'golang', namespace: 'golang.org/x', name: 'crypto', version: 'v0.17.0' }],
    ['pkg:maven/org.apache.logging.log4j/log4j-core', { type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core' }],
    ['pkg:npm', undefined],
    ['lodash', undefined],
  ];
  it.each(PURLS)('parsePurl(%s)', (s, want) => expect(parsePurl(s)).toEqual(want));

  const MATCHES: readonly (readonly [string, string | undefined, boolean])[] = [
    ['pkg:npm/lodash', 'pkg:npm/lodash@4.17.20', true],
    ['pkg:npm/lodash@4.17.20', 'pkg:npm/lodash@4.17.20', true],
    ['pkg:npm/lodash@4.17.21', 'pkg:npm/lodash@4.17.20', false],
    ['pkg:pypi/lodash', 'pkg:npm/lodash@4.17.20', false],
    ['pkg:deb/debian/openssl', 'pkg:deb/debian/openssl@3.0.11-1?arch=amd64', true],
    ['pkg:deb/ubuntu/openssl', 'pkg:deb/debian/openssl@3.0.11-1', false],
    ['lodash', 'pkg:npm/lodash@4.17.20', true],
    ['LoDash', 'pkg:npm/lodash@4.17.20', true],
    ['@angular/core', 'pkg:npm/%40angular/core@17.0.0', true],
    ['core', 'pkg:npm/%40angular/core@17.0.0', true],
    ['golang.org/x/crypto', 'pkg:golang/golang.org/x/crypto@v0.17.0', true],
    ['lodash', undefined, false],
    ['lodash', 'pkg:npm/lodash-es@4.17.20', false],
  ];
  it.each(MATCHES)('%s matches %s: %s', (selector, purl, want) => expect(matchesPackage(selector, purl)).toBe(want));
});
