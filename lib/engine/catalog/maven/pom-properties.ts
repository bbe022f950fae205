/**
 * `META-INF/maven/<groupId>/<artifactId>/pom.properties`, written by maven-archiver. The format is
 * java.util.Properties (`key=value` or `key:value`, `#`/`!` comments); parsed like Syft's
 * `parsePomProperties` (the corpus `maven/syft-java-pom-properties-*` asserts its output): the key
 * ends at the first `=` or `:`, key and value are whitespace-trimmed.
 */

import { boundedLines } from '../bounds';

/** Parsed pom.properties: the coordinates, `name`, and every other key under `extra`. */
export interface PomProperties {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
  readonly name?: string;
  readonly extra: Record<string, string>;
}

/** Parses pom.properties text; throws `Error` on a non-comment line with no delimiter. */
export function parsePomProperties(text: string): PomProperties {
  const props: Record<string, string> = {};
  for (const [line] of boundedLines(text, 'pom.properties', 'any')) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith('!')) continue;
    const idx = line.search(/[=:]/);
    if (idx < 0) throw new Error(`unable to split pom.properties key-value pair: ${JSON.stringify(line.slice(0, 80))}`);
    props[line.slice(0, idx).trim()] = line.slice(idx + 1).trim();
  }
  const { groupId = '', artifactId = '', version = '', name, ...extra } = props;
  return { groupId, artifactId, version, ...(name !== undefined ? { name } : {}), extra };
}
