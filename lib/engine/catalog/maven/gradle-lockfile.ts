/**
 * Gradle dependency lock file (`gradle.lockfile`, https://docs.gradle.org/current/userguide/dependency_locking.html):
 * one `group:artifact:version=conf1,conf2` line per module, `#` comments and an `empty=` line.
 * Parsed like Trivy's `pkg/dependency/parser/gradle/lockfile`: lines that are not three `:`-separated
 * coordinates are skipped; a module used only by `test*` configurations is a dev dependency.
 */

import { boundedLines, checkTextSize } from '../bounds';

/** One locked module. */
export interface GradleLockEntry {
  readonly name: string;
  readonly version: string;
  readonly dev: boolean;
  readonly line: number;
}

/** Parses gradle.lockfile text. Throws only a `LimitExceededError` past `PARSE_BOUNDS` (text size, line length). */
export function parseGradleLockfile(text: string): GradleLockEntry[] {
  const out: GradleLockEntry[] = [];
  checkTextSize(text.length, 'gradle.lockfile');
  for (const [raw, lineNo] of boundedLines(text, 'gradle.lockfile', 'any')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3) continue;
    const eq = parts[2]!.indexOf('=');
    const version = eq < 0 ? parts[2]! : parts[2]!.slice(0, eq);
    const confs = eq < 0 ? [] : parts[2]!.slice(eq + 1).split(',').map((c) => c.trim()).filter(Boolean);
    if (!parts[0] || !parts[1] || !version) continue;
    out.push({ name: `${parts[0]}:${parts[1]}`, version, dev: confs.length > 0 && confs.every((c) => c.startsWith('test')), line: lineNo });
  }
  return out;
}
