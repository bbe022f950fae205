import { baseEcosystem, normalizePackageName } from '../../../lib/engine/advisories/names';

describe('baseEcosystem', () => {
  it.each([
    ['npm', 'npm'],
    ['Debian:12', 'Debian'],
    ['Alpine:v3.19', 'Alpine'],
    ['Ubuntu:22.04:LTS', 'Ubuntu'],
    ['Ubuntu:Pro:18.04:LTS', 'Ubuntu'],
    ['Rocky Linux:9', 'Rocky Linux'],
    ['Maven:https://maven.google.com', 'Maven'],
    ['Packagist:https://packages.drupal.org/8', 'Packagist'],
    ['Red Hat:rhel_aus:8.4::appstream', 'Red Hat'],
    ['crates.io', 'crates.io'],
  ])('%s → %s', (ecosystem, base) => {
    expect(baseEcosystem(ecosystem)).toBe(base);
  });
});

describe('normalizePackageName', () => {
  it.each([
    // PEP 503: lower-case, runs of -_. → one -
    ['PyPI: case and separators (PEP 503)', 'PyPI', 'Flask_Cors', 'flask-cors'],
    ['PyPI: runs of separators collapse', 'PyPI', 'zope..interface__-x', 'zope-interface-x'],
    ['PyPI: already normal', 'PyPI', 'requests', 'requests'],
    ['PyPI: PEP 503 example', 'PyPI', 'Friendly-Bard', 'friendly-bard'],
    ['npm: scoped name kept', 'npm', '@babel/traverse', '@babel/traverse'],
    ['npm: legacy upper-case name kept', 'npm', 'JSONStream', 'JSONStream'],
    ['Go: module path kept (case-sensitive)', 'Go', 'github.com/BurntSushi/toml', 'github.com/BurntSushi/toml'],
    ['Maven: groupId:artifactId kept', 'Maven', 'org.apache.logging.log4j:log4j-core', 'org.apache.logging.log4j:log4j-core'],
    ['Maven with a repository suffix', 'Maven:https://maven.google.com', 'androidx.core:core', 'androidx.core:core'],
    ['NuGet: lower-cased', 'NuGet', 'Newtonsoft.Json', 'newtonsoft.json'],
    ['crates.io: kept', 'crates.io', 'serde_yaml', 'serde_yaml'],
    ['Packagist: lower-cased', 'Packagist', 'League/Flysystem', 'league/flysystem'],
    ['Packagist with a repository suffix: lower-cased', 'Packagist:https://packages.drupal.org/8', 'Drupal/Core', 'drupal/core'],
    ['RubyGems: kept', 'RubyGems', 'RedCloth', 'RedCloth'],
    ['Debian release: source package kept', 'Debian:12', 'openssl', 'openssl'],
    ['Ubuntu release: source package kept', 'Ubuntu:22.04:LTS', 'linux-meta', 'linux-meta'],
    ['Alpine release: source package kept', 'Alpine:v3.19', 'py3-Pillow', 'py3-Pillow'],
    ['an ecosystem without a rule: kept', 'Hackage', 'Cabal', 'Cabal'],
    ['never trimmed', 'npm', ' lodash', ' lodash'],
  ])('%s', (_name, ecosystem, name, key) => {
    expect(normalizePackageName(ecosystem, name)).toBe(key);
  });

  it('is idempotent', () => {
    for (const [e, n] of [['PyPI', 'A_b.C'], ['NuGet', 'X.Y'], ['npm', '@a/B']]) {
      const once = normalizePackageName(e, n);
      expect(normalizePackageName(e, once)).toBe(once);
    }
  });
});
