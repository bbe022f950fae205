import { parse as parseToml } from 'smol-toml';
import { LimitExceededError } from '../errors';

/**
 * Memory and time bounds of every parser a cataloger runs on bytes from an image (issue 13, "Parsers
 * without memory bounds"; ../shared/RELIABILITY.md case 61). A package file is attacker-controlled
 * input: each bound below turns a bomb (a YAML document flood, an alias bomb, a 100k-deep JSON array,
 * a zip bomb or a jar nested in itself) into an {@link Unknown} of class `cut-by-cap` for that one
 * file, instead of a heap out-of-memory, a stack overflow or a parse that never ends — which would
 * lose the verdict of the whole image. Hitting a bound never loses the file silently: the unknown
 * quarantines the image by default.
 *
 * The values sit far above what package managers write (sizes of real lockfiles and databases in the
 * comments) and far below what exhausts a Lambda's memory. They are deliberately not part of
 * `Limits` (lib/engine/limits.ts): they are properties of the parsers, not knobs of a scan — a user
 * who wants a bigger lockfile parsed changes them here, in one reviewed place.
 */
export const PARSE_BOUNDS = {
  /**
   * Bytes of one text file parsed into a tree or split into lines (lockfiles, manifests, package
   * databases). The largest real ones: `package-lock.json` of big monorepos ≈ 20–40 MB,
   * `/var/lib/dpkg/status` of a full desktop ≈ 10 MB. Node strings stop at 512 MiB; parsed trees
   * take 10–20× the text.
   */
  maxTextBytes: 64 * 1024 * 1024,
  /**
   * Characters of one line of a line-based format (dpkg/opkg status, apk installed, requirements.txt,
   * Gemfile.lock, go.mod, yarn.lock v1, gradle.lockfile, MANIFEST.MF, pom.properties, core metadata,
   * the rpm manifest). Debian's longest real line (a `Provides:` of a `librust-*-dev` package) is a
   * few hundred KB; regexes applied per line stay linear in it.
   */
  maxLineChars: 1024 * 1024,
  /**
   * Characters of one line of a TOML lockfile (Cargo.lock, poetry.lock, uv.lock). smol-toml resolves
   * a dotted key in time quadratic in its depth (`a.a.a… = 1`: 50k parts ≈ 0.6 s); cargo, poetry and
   * uv write lines of at most a few KB.
   */
  maxTomlLineChars: 64 * 1024,
  /**
   * Nesting depth of a JSON, YAML or TOML document (objects/arrays/mappings/sequences). npm v1
   * lockfiles nest 2 levels per dependency level (a deep node_modules tree: < 100); the `yaml`
   * composer overflows the stack near 900 block levels, our tree walkers recurse.
   */
  maxNestingDepth: 256,
  /**
   * Structural tokens of one JSON document (`{ [ , :`), an upper bound of the values it holds: each
   * costs 30–60 bytes of heap once parsed. A 40 MB package-lock.json holds about 2 M.
   */
  maxJsonTokens: 8_000_000,
  /**
   * Lexical tokens of one YAML file (scalars, indicators, whitespace runs, newlines). The `yaml`
   * package takes ≈ 160 bytes of heap and ≈ 6 µs per token to build a document; a 10 MB
   * pnpm-lock.yaml (a very large monorepo) has ≈ 2 M. At the cap: ≈ 650 MB, ≈ 25 s.
   */
  maxYamlTokens: 4_000_000,
  /**
   * YAML documents in one file. pnpm writes one, pnpm 11 two (its own `packageManagerDependencies`
   * document first); yarn berry one. A flood of empty documents (`---\n` × 5 M, 20 KB gzipped) took
   * ≈ 1.1 KB of heap each and aborted the scanner with a V8 heap OOM.
   */
  maxYamlDocuments: 16,
  /**
   * Alias nodes resolved while converting one YAML document (the `yaml` package's `maxAliasCount`,
   * its "billion laughs" guard). Lockfiles never use aliases.
   */
  maxYamlAliases: 100,
  /**
   * Archives nested in archives below the outer jar/war/ear (outer = depth 0). Spring Boot fat jars
   * nest 1 level, an ear holding a war holding jars 2. A nested archive below this depth is not
   * opened and is recorded (it could hold packages).
   */
  maxArchiveDepth: 3,
  /**
   * Uncompressed bytes inflated from one outer archive, nested archives included (declared sizes,
   * summed before inflating: fflate inflates into a buffer of the declared size).
   */
  maxArchiveInflatedBytes: 256 * 1024 * 1024,
  /**
   * Central-directory entries of one outer archive, nested archives included. A large Spring Boot
   * jar with its nested jars has ≈ 100 k.
   */
  maxArchiveEntries: 1_000_000,
  /**
   * Ratio of declared uncompressed to compressed size of one entry we inflate. DEFLATE cannot exceed
   * ≈ 1032:1; an entry declaring more is a lie or a bomb (checked for entries over 64 KiB).
   */
  maxCompressionRatio: 1100,
  /**
   * Bytes of one `pom.properties` or `MANIFEST.MF` inside an archive. Real ones: < 1 KB and, for OSGi
   * bundles with long `Export-Package` headers, < 1 MB.
   */
  maxArchiveTextBytes: 4 * 1024 * 1024,
  /**
   * Inflated bytes of a cargo-auditable `.dep-v0` section (cargo-auditable's own reader defaults to
   * 8 MiB).
   */
  maxAuditableBytes: 8 * 1024 * 1024,
} as const;

/** The name of one parse bound. */
export type ParseBound = keyof typeof PARSE_BOUNDS;

/**
 * A parse bound was hit: the file was not (fully) parsed. A {@link LimitExceededError} (one error
 * tree), so the catalogers' catch turns it into an unknown of class `cut-by-cap`; the limit name is
 * `PARSE_BOUNDS.<bound>`.
 */
export function parseBoundError(bound: ParseBound, what: string, max: number = PARSE_BOUNDS[bound]): LimitExceededError {
  return new LimitExceededError(`PARSE_BOUNDS.${bound}`, max, what);
}

/** True for an error that reports a hit bound (a {@link LimitExceededError}) rather than malformed input. */
export function isBoundError(e: unknown): e is LimitExceededError {
  return e instanceof LimitExceededError;
}

/** Throws when a text is longer than {@link PARSE_BOUNDS.maxTextBytes}. */
export function checkTextSize(byteLength: number, what: string): void {
  if (byteLength > PARSE_BOUNDS.maxTextBytes) throw parseBoundError('maxTextBytes', `${what} is ${byteLength} bytes`);
}

/**
 * How {@link boundedLines} ends lines: `lf` at `\n` only (a `\r` stays in the line), `crlf` at
 * `\n` with one `\r` before it removed (as `split(/\r?\n/)`), `any` at `\r\n`, `\n` or a lone `\r`
 * (as `split(/\r\n|\n|\r/)`: JAR manifests, Java properties).
 */
export type LineEnds = 'lf' | 'crlf' | 'any';

/**
 * The lines of a text, one at a time (the same lines `split` would give) — a flood of empty lines
 * costs no array of strings — refusing a line longer than {@link PARSE_BOUNDS.maxLineChars} (or the
 * given bound). The second value is the 1-based line number.
 */
export function* boundedLines(text: string, what: string, ends: LineEnds = 'crlf', bound: 'maxLineChars' | 'maxTomlLineChars' = 'maxLineChars'): Generator<[line: string, lineNo: number]> {
  const max = PARSE_BOUNDS[bound];
  let start = 0;
  let no = 0;
  // The next `\n` / `\r` at or after `start`, searched again only once passed: searching afresh
  // for each line would rescan to the end of a text without `\r` for every line (quadratic).
  let lf = -2;
  let cr = ends === 'any' ? -2 : -1;
  for (;;) {
    if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    let end = lf;
    if (cr >= 0 && (end < 0 || cr < end)) end = cr;
    const stop = end < 0 ? text.length : end;
    no++;
    if (stop - start > max) throw parseBoundError(bound, `${what}: line ${no} is ${stop - start} characters`);
    let line = text.slice(start, stop);
    if (ends === 'crlf' && line.endsWith('\r')) line = line.slice(0, -1);
    yield [line, no];
    if (end < 0) return;
    start = end + (ends === 'any' && text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1);
  }
}

/** Throws when a text has a line longer than `max` characters (a pre-check for parsers that split on their own). */
export function checkLineLengths(text: string, what: string, bound: 'maxLineChars' | 'maxTomlLineChars' = 'maxLineChars'): void {
  const max = PARSE_BOUNDS[bound];
  let start = 0;
  let no = 1;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (end - start > max) throw parseBoundError(bound, `${what}: line ${no} is ${end - start} characters`);
    if (nl < 0) return;
    start = nl + 1;
    no++;
  }
}

/**
 * Checks a JSON text before `JSON.parse` in one linear pass without allocation: nesting depth
 * ({@link PARSE_BOUNDS.maxNestingDepth}) and structural tokens ({@link PARSE_BOUNDS.maxJsonTokens}).
 * Strings are skipped (their brackets do not count); malformed JSON is left to `JSON.parse`.
 */
export function checkJson(text: string, what: string): void {
  checkTextSize(text.length, what);
  const maxDepth = PARSE_BOUNDS.maxNestingDepth;
  const maxTokens = PARSE_BOUNDS.maxJsonTokens;
  let depth = 0;
  let tokens = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) throw parseBoundError('maxNestingDepth', `${what}: JSON nested deeper than ${maxDepth} levels`);
      if (++tokens > maxTokens) throw parseBoundError('maxJsonTokens', `${what}: JSON has more than ${maxTokens} values`);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    } else if (c === 0x2c /* , */ || c === 0x3a /* : */) {
      if (++tokens > maxTokens) throw parseBoundError('maxJsonTokens', `${what}: JSON has more than ${maxTokens} values`);
    }
  }
}

/** `JSON.parse` after {@link checkJson}: a bound hit throws a {@link LimitExceededError}, bad JSON a `SyntaxError`. */
export function parseJsonBounded(text: string, what: string): unknown {
  checkJson(text, what);
  return JSON.parse(text) as unknown;
}

/**
 * TOML within `PARSE_BOUNDS`: size, line length (smol-toml's dotted keys are quadratic in their
 * depth) and inline nesting (smol-toml's own `maxDepth`, a `TomlError` → parse-error; the block
 * nesting of TOML tables is bounded by the line length).
 */
export function parseTomlBounded(text: string, what: string): Record<string, unknown> {
  checkTextSize(text.length, what);
  checkLineLengths(text, what, 'maxTomlLineChars');
  try {
    return parseToml(text, { maxDepth: PARSE_BOUNDS.maxNestingDepth }) as Record<string, unknown>;
  } catch (e) {
    // smol-toml's own depth guard throws a TomlError "document contains excessively nested structures".
    if (e instanceof Error && /excessively nested/.test(e.message)) throw parseBoundError('maxNestingDepth', `${what}: TOML nested deeper than ${PARSE_BOUNDS.maxNestingDepth} levels`);
    throw e;
  }
}
