/**
 * JAR manifest (`META-INF/MANIFEST.MF`) parser. Format: JAR File Specification, "JAR Manifest" —
 * `name: value` headers, lines wrapped at 72 bytes continue on the next line starting with one
 * SPACE, an empty line ends a section; the first section holds the main attributes.
 *
 * Leniency follows Syft's `parseJavaManifest` (the corpus `maven/syft-java-manifest-*` asserts its
 * output): lines without `:` and keys that are empty are skipped, a continuation with no preceding
 * header is dropped, and continuation text is whitespace-trimmed (the spec strips exactly one space;
 * the corpus `leading-space` case expects the trim).
 */

import { boundedLines } from '../bounds';

/** One header of a manifest section, in file order. */
export interface ManifestKeyValue {
  readonly key: string;
  readonly value: string;
}

/** A parsed manifest: main attributes and the per-entry sections after it. */
export interface JavaManifest {
  readonly main: ManifestKeyValue[];
  readonly sections: ManifestKeyValue[][];
}

/** Parses MANIFEST.MF text (CRLF, LF or CR line ends). Throws only a `LimitExceededError` for a line past `PARSE_BOUNDS.maxLineChars`. */
export function parseManifest(text: string): JavaManifest {
  const sections: { key: string; value: string }[][] = [];
  let lastKey = '';
  for (const [line] of boundedLines(text, 'MANIFEST.MF', 'any')) {
    if (line === '') { lastKey = ''; continue; } // section separator; no continuation after it
    if (line[0] === ' ') {
      if (!lastKey) continue;
      const sec = sections[sections.length - 1]!;
      sec[sec.length - 1]!.value += line.trim();
      continue;
    }
    const idx = line.indexOf(':');
    if (idx < 0) continue;
    const key = line.slice(0, idx).trim();
    if (!key) continue;
    if (!lastKey) sections.push([]);
    sections[sections.length - 1]!.push({ key, value: line.slice(idx + 1).trim() });
    lastKey = key;
  }
  return { main: sections[0] ?? [], sections: sections.slice(1) };
}

/** First value of `key` in the main attributes (header names are case-insensitive per the spec). */
export function manifestValue(m: JavaManifest, key: string): string | undefined {
  const k = key.toLowerCase();
  return m.main.find((kv) => kv.key.toLowerCase() === k)?.value || undefined;
}
