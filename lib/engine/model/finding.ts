/** Kinds of finding (DESIGN.md "Contracts": findings[].type). */
export type FindingType = 'vulnerability' | 'malware' | 'secret' | 'misconfig' | 'base-image' | 'unscannable';

/** Severity scale shared by every check (OSV/CVSS qualitative ratings plus `unknown`). */
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'unknown';

/** One reason for concern about an image (DESIGN.md "Contracts": findings[] of the JSON report). */
export interface Finding {
  readonly type: FindingType;
  /** Advisory id (`GHSA-…`, `CVE-…`), rule id, or error code for `unscannable`. */
  readonly id: string;
  readonly aliases: readonly string[];
  readonly severity: Severity;
  /** The package's purl, for findings about a package. */
  readonly package?: string;
  readonly fixedIn?: string;
  readonly layer?: string;
  readonly path?: string;
  /**
   * Every place the finding's package was found (sorted by path, then layer; `layer`/`path` above are
   * the first): one vulnerability of one package version is one finding, however many copies the
   * image holds (match/merge-findings.ts).
   */
  readonly locations?: readonly { readonly layer: string; readonly path: string }[];
  readonly message: string;
}

/** The two answers the pipeline gives per digest; anything it cannot vouch for is `quarantined`. */
export type VerdictStatus = 'trusted' | 'quarantined';

/** The answer for one digest, with the rules that decided it. */
export interface Verdict {
  readonly status: VerdictStatus;
  readonly reasons: readonly { readonly rule: string; readonly message: string }[];
}
