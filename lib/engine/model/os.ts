/** The detected distribution. */
export interface OsInfo {
  /** os-release `ID` (lower-case, e.g. `debian`, `alpine`, `ubuntu`, `rhel`). */
  readonly id: string;
  /** os-release `VERSION_ID` (e.g. `12`, `3.19.1`, `22.04`, `9.3`); empty for rolling releases without one. */
  readonly versionId: string;
  readonly versionCodename?: string;
  readonly prettyName?: string;
  /** The file the answer came from. */
  readonly source: string;
}
