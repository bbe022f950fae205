/**
 * What a scan could not examine, recorded with its place instead of aborting the scan (Syft's
 * "unknowns") — and, unlike Syft's, handed to the policy: an image is only as trusted as what was
 * looked at (issue 13, "Completeness as a first-class result").
 */

/**
 * Why something was not examined. Every class except `note` could hide content or packages, so the
 * default policy quarantines on it (`rules.unknowns`).
 * - `cut-by-cap`: a body, a file or a document was larger than a cap and was examined in part only;
 * - `body-not-read`: a consumer wanted a body and never got it (a hardlink whose target was not read…);
 * - `unsupported-entry`: a tar member of a kind the scanner cannot judge (an unknown typeflag);
 * - `parse-error`: a package database, manifest, lockfile or binary that could not be parsed;
 * - `scanner-unavailable`: a scanner that was asked for did not answer (clamd down, timed out, refused);
 * - `no-vulnerability-data`: packages of an ecosystem or distribution release with no synced feed;
 * - `runtime-refuses`: content the container runtime would refuse or treat differently;
 * - `note`: an oddity that hides nothing (a whiteout that deletes nothing, a dangling symlink).
 */
export type UnknownClass =
  | 'cut-by-cap'
  | 'body-not-read'
  | 'unsupported-entry'
  | 'parse-error'
  | 'scanner-unavailable'
  | 'no-vulnerability-data'
  | 'runtime-refuses'
  | 'note';

/** Every class, in the order reports list them. */
export const UNKNOWN_CLASSES: readonly UnknownClass[] = [
  'cut-by-cap', 'body-not-read', 'unsupported-entry', 'parse-error', 'scanner-unavailable', 'no-vulnerability-data', 'runtime-refuses', 'note',
];

/** One thing a scan could not examine. */
export interface Unknown {
  /** The layer digest (or the manifest digest for image-level unknowns). */
  readonly layer: string;
  readonly path: string;
  readonly reason: string;
  /**
   * Why it was not examined. Absent (a record from an older scanner, or a site not yet classified)
   * is judged as `parse-error`: fail closed — never as harmless.
   */
  readonly class?: UnknownClass;
  /** The cataloger or check (`name`, as in plug-in ids) that needed it, when one did. */
  readonly consumer?: string;
}

/** The class an unknown is judged by: its own, or `parse-error` when it has none or one this version does not know. */
export function unknownClass(u: Pick<Unknown, 'class'>): UnknownClass {
  return u.class !== undefined && (UNKNOWN_CLASSES as readonly string[]).includes(u.class) ? u.class : 'parse-error';
}

/** True when the unknown could hide content or packages (every class but `note`). */
export function hidesContent(u: Pick<Unknown, 'class'>): boolean {
  return unknownClass(u) !== 'note';
}
