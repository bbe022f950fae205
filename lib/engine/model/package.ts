import type { Digest } from './digest';

/**
 * Ecosystem names, as OSV spells them (https://ossf.github.io/osv-schema/#affectedpackage-field) so
 * that matching needs no translation; OS packages carry their package-manager family here and the
 * distro release separately.
 */
export type Ecosystem =
  | 'Debian' | 'Ubuntu' | 'Alpine' | 'RPM' | 'opkg'
  | 'npm' | 'PyPI' | 'Go' | 'Maven' | 'RubyGems' | 'crates.io' | 'NuGet' | 'Packagist' | 'conda';

/** Where a package was found: the layer that holds the file and the file's path in the image. */
export interface Location {
  readonly layer: Digest;
  readonly path: string;
}

/** The plug-in that produced a result (its version is part of the layer-cache key). */
export interface PluginId {
  readonly name: string;
  readonly version: string;
}

/** One installed package (DESIGN.md "Contracts": packages[] of the JSON report). */
export interface Package {
  readonly ecosystem: Ecosystem;
  readonly name: string;
  readonly version: string;
  /** package-url (https://github.com/package-url/purl-spec). */
  readonly purl: string;
  /** OS packages: the source package a binary package was built from (dpkg `Source:`, apk `o:`, rpm SOURCERPM). */
  readonly sourceName?: string;
  readonly sourceVersion?: string;
  readonly arch?: string;
  /**
   * OS packages: the OSV ecosystem of the distribution release they were installed from (`Debian:12`,
   * `Alpine:v3.19`, `Ubuntu:22.04:LTS`), set once the image's release files are known; absent when unknown.
   */
  readonly distro?: string;
  /**
   * Language packages: the OS package whose database lists this package's evidence file (Debian's
   * `python3-flask` for `/usr/lib/python3/dist-packages/Flask-2.2.2.dist-info/METADATA`). Such a package
   * is judged by the distribution's feed through its owner, not matched against its ecosystem's
   * advisories (catalog/owners.ts, match/matcher.ts `lookupKeys`).
   */
  readonly ownedBy?: { readonly purl: string; readonly name: string };
  readonly locations: readonly Location[];
  readonly cataloger: PluginId;
}

export type { Unknown } from './unknown';
