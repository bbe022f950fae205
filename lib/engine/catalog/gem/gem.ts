import { boundedLines } from '../bounds';

/** A gem read from a gemspec or Gemfile.lock. */
export interface Gem {
  readonly name: string;
  readonly version: string;
}

/**
 * `<recv>.<field> = "v"` / `'v'` / `%q{v}` (the last is what RubyGems 1.x wrote into stubs), matched
 * on one line. (Matched over the whole text with `^\s*` and the `m` flag, `\s*` crossed line ends:
 * quadratic in a run of blank lines — 40 k newlines ≈ 5 s.)
 */
const STRING_ASSIGN = (field: string, prefix = '') => new RegExp(`^[ \\t]*\\w+\\.${field}[ \\t]*=[ \\t]*${prefix}(?:["']([^"'\\s]+)["']|%q\\{([^}\\s]+)\\})`);

/**
 * Reads name and version from an installed gem's `specifications/<name>-<version>.gemspec`: the
 * Ruby stub RubyGems writes (`Gem::Specification#to_ruby`), with `s.name = "x".freeze` and
 * `s.version = "1.2.3"` (or `Gem::Version.new("1.2.3")`, single quotes or `%q{…}`). The file is not
 * evaluated; the first assignment of each wins.
 * @throws Error when either assignment is missing.
 */
export function parseGemspec(text: string): Gem {
  const nameRe = STRING_ASSIGN('name');
  const versionRe = STRING_ASSIGN('version', '(?:Gem::Version\\.new\\([ \\t]*)?');
  let name: RegExpExecArray | null = null;
  let version: RegExpExecArray | null = null;
  for (const [line] of boundedLines(text, 'gemspec')) {
    name ??= nameRe.exec(line);
    version ??= versionRe.exec(line);
    if (name && version) break;
  }
  if (!name) throw new Error('gemspec has no `.name = "…"` assignment');
  if (!version) throw new Error('gemspec has no `.version = "…"` assignment');
  return { name: (name[1] ?? name[2])!, version: (version[1] ?? version[2])! };
}

/**
 * Parses a Bundler `Gemfile.lock` (bundler's LockfileParser): in the `GEM`, `GIT` and `PATH`
 * sections, the `specs:` entries at exactly four spaces of indent are `name (version)` — deeper
 * lines are their dependency requirements. A platform suffix (`nokogiri (1.16.0-x86_64-linux)`)
 * is removed from the version: RubyGems versions never contain `-`. A file with no such section
 * yields nothing.
 */
export function parseGemfileLock(text: string): Gem[] {
  const out: Gem[] = [];
  const seen = new Set<string>();
  let inSource = false;
  for (const [line] of boundedLines(text, 'Gemfile.lock')) {
    if (/^\S/.test(line)) { inSource = /^(GEM|GIT|PATH)\s*$/.test(line); continue; }
    if (!inSource) continue;
    const m = /^ {4}([^\s(]+) \(([^)\s]+)\)\s*$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const version = m[2]!.split('-')[0]!;
    const key = `${name}@${version}`;
    if (!seen.has(key)) { seen.add(key); out.push({ name, version }); }
  }
  return out;
}
