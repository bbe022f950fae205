/** Exit codes of the CLI contract (../shared/DESIGN.md "Contracts"): the same for scan, verify and inspect. */
export const ExitCode = {
  /** Trusted (scan/verify), or the command succeeded (inspect, feeds…). */
  Ok: 0,
  /** Quarantined. */
  Quarantined: 1,
  /** Could not scan / could not read the target / bad usage. */
  CannotScan: 2,
} as const;
