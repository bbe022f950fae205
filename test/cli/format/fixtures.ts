import { PackageURL } from 'packageurl-js';
import { purl } from '../../../lib/engine/catalog/purl';
import { sha256Digest, type Digest, type Package, type PluginId } from '../../../lib/engine/model';

/**
 * Building blocks of realistic scan results for the SBOM exporter tests: a two-platform Debian 12
 * index whose platforms have their own base and binary layers but share one arch-independent
 * application layer, and a single-platform Alpine image. Purls come from the engine's own builder.
 */
export const layer = (what: string): Digest => sha256Digest(`layer: ${what}`);
export const BASE_AMD64 = layer('debian:12 amd64');
export const BASE_ARM64 = layer('debian:12 arm64');
export const APP = layer('app, arch-independent');
export const BIN_AMD64 = layer('go binary amd64');
export const BIN_ARM64 = layer('go binary arm64');
export const ALPINE = layer('alpine:3.19 x86_64');

export const DPKG: PluginId = { name: 'dpkg-status', version: '1.0.0' };
export const NPM: PluginId = { name: 'npm-installed', version: '1.0.0' };
export const PYPI: PluginId = { name: 'python-installed', version: '1.0.0' };
export const GO: PluginId = { name: 'go-binary', version: '1' };
export const APK: PluginId = { name: 'apk-installed', version: '1.0.0' };

export const deb = (name: string, version: string, arch: string, at: Digest, source?: [string, string]): Package => ({
  ecosystem: 'Debian', name, version, arch, distro: 'Debian:12',
  purl: purl('deb', 'debian', name, version, { arch, distro: 'debian-12' }),
  ...(source ? { sourceName: source[0], sourceVersion: source[1] } : {}),
  locations: [{ layer: at, path: '/var/lib/dpkg/status' }], cataloger: DPKG,
});
export const npm = (name: string, version: string, path: string): Package => {
  const scoped = name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined;
  return {
    ecosystem: 'npm', name, version, purl: purl('npm', scoped, scoped ? name.slice(scoped.length + 1) : name, version),
    locations: [{ layer: APP, path }], cataloger: NPM,
  };
};
export const pypi = (name: string, version: string): Package => ({
  ecosystem: 'PyPI', name, version, purl: purl('pypi', undefined, name.toLowerCase().replace(/[-_.]+/g, '-'), version),
  locations: [{ layer: APP, path: `/usr/lib/python3/dist-packages/${name}-${version}.dist-info/METADATA` }], cataloger: PYPI,
});
export const go = (module: string, version: string, at: Digest, subpath?: string): Package => {
  const slash = module.lastIndexOf('/');
  return {
    ecosystem: 'Go', name: subpath ? `${module}/${subpath}` : module, version,
    purl: new PackageURL('golang', module.slice(0, slash), module.slice(slash + 1), version, undefined, subpath).toString(),
    locations: [{ layer: at, path: '/usr/local/bin/server' }], cataloger: GO,
  };
};
