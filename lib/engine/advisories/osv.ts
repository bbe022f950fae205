/**
 * The OSV record, as far as matching needs it (https://ossf.github.io/osv-schema/, schema 1.6/1.7).
 * Records are validated and normalised by the feed reader before they get here: every field below is
 * of the declared type; unknown fields are dropped. `parseOsvRecord` (record.ts) does that and documents
 * which malformed input skips a record and which only drops one `affected[]` entry; `readOsvZip`
 * (feed.ts) applies it to every record of an OSV export.
 */

/** `affected[].ranges[].events[]`: exactly one key per event (OSV "events" field). */
export type OsvEvent =
  | { readonly introduced: string }
  | { readonly fixed: string }
  | { readonly last_affected: string }
  | { readonly limit: string };

/** `affected[].ranges[]`. GIT ranges are kept but never match a package version. */
export interface OsvRange {
  readonly type: 'ECOSYSTEM' | 'SEMVER' | 'GIT';
  readonly repo?: string;
  readonly events: readonly OsvEvent[];
}

/** `severity[]` and `affected[].severity[]`. */
export interface OsvSeverity {
  readonly type: 'CVSS_V2' | 'CVSS_V3' | 'CVSS_V4' | 'Ubuntu' | string;
  readonly score: string;
}

/** `affected[]`: one package, its ranges and/or explicit versions. */
export interface OsvAffected {
  /** OSV ecosystem with an optional release suffix, e.g. `npm`, `Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`. */
  readonly ecosystem: string;
  readonly name: string;
  readonly purl?: string;
  readonly ranges: readonly OsvRange[];
  readonly versions: readonly string[];
  readonly severity: readonly OsvSeverity[];
  /** `ecosystem_specific` and `database_specific` as given (e.g. Debian `urgency`, GHSA `severity`). */
  readonly ecosystemSpecific?: Readonly<Record<string, unknown>>;
  readonly databaseSpecific?: Readonly<Record<string, unknown>>;
}

/** One vulnerability record. */
export interface OsvRecord {
  readonly id: string;
  /** RFC 3339; the feed sync is incremental on it. */
  readonly modified: string;
  readonly published?: string;
  /** Set when the record was withdrawn: it must no longer produce findings. */
  readonly withdrawn?: string;
  readonly aliases: readonly string[];
  readonly related: readonly string[];
  readonly upstream: readonly string[];
  readonly summary?: string;
  readonly details?: string;
  readonly severity: readonly OsvSeverity[];
  readonly affected: readonly OsvAffected[];
  readonly references: readonly { readonly type: string; readonly url: string }[];
  readonly databaseSpecific?: Readonly<Record<string, unknown>>;
}
