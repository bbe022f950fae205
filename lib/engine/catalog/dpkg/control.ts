/**
 * RFC822-style control-file stanzas as used by dpkg's database (`/var/lib/dpkg/status`, distroless
 * `status.d/*`) and opkg's (`/usr/lib/opkg/status`). Syntax per deb-control(5) / Debian Policy §5.1:
 * a stanza is a run of `Field: value` lines, stanzas are separated by one or more blank lines, a line
 * starting with a space or tab continues the previous field (multiline field), field names are
 * case-insensitive. Lines starting with `#` are comments (deb822(5)).
 */

import { boundedLines, checkTextSize } from '../bounds';

/** One stanza: field names lower-cased, values trimmed; continuation lines joined with `\n`. */
export interface Stanza {
  readonly fields: ReadonlyMap<string, string>;
  /** 1-based line number of the stanza's first line (for unknowns). */
  readonly line: number;
}

/** Stanzas and the lines that could not be read (they never abort parsing). */
export interface StanzaParseResult {
  readonly stanzas: Stanza[];
  readonly problems: string[];
}

/**
 * Splits control-file text into stanzas; malformed lines are reported in `problems` and skipped.
 * Throws a `LimitExceededError` for a text or a line past `PARSE_BOUNDS`.
 */
export function parseStanzas(text: string, what = 'control file'): StanzaParseResult {
  checkTextSize(text.length, what);
  const stanzas: Stanza[] = [];
  const problems: string[] = [];
  let fields: Map<string, string> | undefined;
  let start = 0;
  let last: string | undefined;
  const flush = (): void => {
    if (fields && fields.size > 0) stanzas.push({ fields, line: start });
    fields = undefined;
    last = undefined;
  };
  for (const [line, no] of boundedLines(text, what)) {
    const i = no - 1;
    if (line.trim() === '') { flush(); continue; }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // Continuation of the previous field (deb-control(5) "multiline" / "folded" fields).
      if (fields && last !== undefined) {
        const prev = fields.get(last) ?? '';
        fields.set(last, prev === '' ? line.trim() : `${prev}\n${line.trim()}`);
      } else {
        problems.push(`line ${i + 1}: continuation line without a field`);
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) { problems.push(`line ${i + 1}: not a "Field: value" line`); continue; }
    if (!fields) { fields = new Map(); start = i + 1; }
    last = line.slice(0, colon).trim().toLowerCase();
    fields.set(last, line.slice(colon + 1).trim());
  }
  flush();
  return { stanzas, problems };
}

/**
 * True when a `Status:` value ("want flag status", dpkg-query(1) "Package states" / dpkg(1)) says the
 * package's files are on disk: the third word, the package state, is `installed`. The want word
 * (`install`, `hold`, `deinstall`, `purge`) is only the user's selection and the flag (`ok`,
 * `reinstreq`; opkg writes `user`) marks a broken install — neither removes files, so a scanner must
 * count them. `half-installed`, `config-files`, `not-installed` etc. are not installed.
 */
export function isInstalledStatus(status: string): boolean {
  const words = status.trim().split(/\s+/);
  return words.length === 3 && words[2] === 'installed';
}
