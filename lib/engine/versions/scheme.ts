import { TrustError } from '../errors';

/**
 * One ecosystem's version ordering (DESIGN.md "versions/": one file per scheme, schemes.ts the explicit
 * list). OSV ranges are evaluated with the scheme of the affected package's ecosystem
 * (https://ossf.github.io/osv-schema/#affectedrangestype-field: ECOSYSTEM ranges use the ecosystem's own
 * ordering; SEMVER ranges use SemVer 2.0 with an optional leading `v`).
 */
export interface VersionScheme {
  /** Plug-in name, e.g. `dpkg`, `apk`, `rpm`, `semver`, `go`, `pep440`, `maven`, `rubygems`, `nuget`. */
  readonly name: string;
  /** Plug-in version: part of every cached match result, so a fix re-judges what it touched. */
  readonly version: string;
  /**
   * OSV ecosystem names (the part before any `:` release suffix) this scheme orders, e.g.
   * `['Debian', 'Ubuntu']`, `['Alpine']`, `['npm', 'crates.io']`.
   */
  readonly ecosystems: readonly string[];
  /** True when `v` is a version this scheme can order. Invalid versions never match a range. */
  isValid(v: string): boolean;
  /**
   * Sign of the ordering of two valid versions: negative when a < b, 0 when equal, positive when a > b.
   * Throws {@link InvalidVersionError} for a version {@link isValid} rejects.
   */
  compare(a: string, b: string): number;
  /**
   * Optional parsed form, so that a caller comparing one version against many (the matcher against an
   * advisory's range events) parses each string once. Contract, checked by each scheme's tests:
   * `parse(v)` is undefined exactly when `isValid(v)` is false, and
   * `compareParsed(parse(a), parse(b)) === compare(a, b)` for every valid `a`, `b`.
   */
  parse?(v: string): unknown;
  /** {@link compare} on two values {@link parse} returned. */
  compareParsed?(a: unknown, b: unknown): number;
}

/** A version a scheme cannot order. Callers record it as an unknown instead of guessing. */
export class InvalidVersionError extends TrustError {
  constructor(readonly scheme: string, readonly input: string, reason?: string) {
    super('INVALID_VERSION', `${scheme}: invalid version ${JSON.stringify(input.slice(0, 200))}${reason ? ` (${reason})` : ''}`);
    this.name = 'InvalidVersionError';
  }
}
