import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { parseYamlBounded } from '../../../lib/engine/catalog/bounded-yaml';
import { boundedLines, checkJson, PARSE_BOUNDS, parseTomlBounded } from '../../../lib/engine/catalog/bounds';
import { CATALOGERS } from '../../../lib/engine/catalog/catalogers';
import { catalogFiles } from '../../../lib/engine/catalog/inventory';
import { createJavaArchiveCataloger, parseManifest } from '../../../lib/engine/catalog/maven';
import { pnpmLockCataloger } from '../../../lib/engine/catalog/npm';
import type { CatalogFile, Cataloger } from '../../../lib/engine/catalog/types';
import { LimitExceededError } from '../../../lib/engine/errors';
import type { Digest, Unknown, UnknownClass } from '../../../lib/engine/model';
import { elfWith } from './elf';

/**
 * Issue 13 class 8 / RELIABILITY 61: every parser of package files is bounded in memory and time,
 * and its refusal is a classified unknown (`cut-by-cap` for a hit bound, `parse-error` for malformed
 * input, `unsupported-entry` for a zip method we cannot inflate) naming the cataloger — while the
 * good packages of the same layer are still reported. Hostile inputs are generated here, never
 * committed.
 */

const LAYER = `sha256:${'c'.repeat(64)}` as Digest;
const file = (path: string, body: string | Uint8Array, truncated = false): CatalogFile => ({
  path, layer: LAYER, body: typeof body === 'string' ? Buffer.from(body) : Buffer.from(body), truncated,
});

/** Good files in every hostile layer: their packages must survive the hostile neighbour. */
const GOOD: CatalogFile[] = [
  file('/var/lib/dpkg/status', 'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n\n'),
  file('/app/node_modules/left-pad/package.json', JSON.stringify({ name: 'left-pad', version: '1.3.0' })),
  file('/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n\nbody\n'),
];
const GOOD_NAMES = ['libc6@2.36-9', 'left-pad@1.3.0', 'six@1.16.0'];

const pom = (g: string, a: string, v: string): Uint8Array => strToU8(`groupId=${g}\nartifactId=${a}\nversion=${v}\n`);

/** Rewrites, in every central-directory header of a zip, the fields `patch` names (APPNOTE 4.3.12: method @10, csize @20, usize @24). */
function patchCentral(zip: Uint8Array, name: string, patch: { method?: number; size?: number; originalSize?: number }): Buffer {
  const z = Buffer.from(zip);
  for (let i = 0; i + 46 <= z.length; i++) {
    if (z.readUInt32LE(i) !== 0x02014b50) continue;
    const n = z.readUInt16LE(i + 28);
    if (z.toString('latin1', i + 46, i + 46 + n) !== name) continue;
    if (patch.method !== undefined) z.writeUInt16LE(patch.method, i + 10);
    if (patch.size !== undefined) z.writeUInt32LE(patch.size, i + 20);
    if (patch.originalSize !== undefined) z.writeUInt32LE(patch.originalSize, i + 24);
  }
  return z;
}

/** A jar nested `depth` times (`l1.jar` in `l2.jar` …), a pom.properties at every level. */
function nestedJar(depth: number): Uint8Array {
  let inner = zipSync({ 'META-INF/maven/g/level0/pom.properties': pom('g', 'level0', '1') });
  for (let d = 1; d <= depth; d++) inner = zipSync({ [`lib/l${d}.jar`]: [inner, { level: 0 }], [`META-INF/maven/g/level${d}/pom.properties`]: pom('g', `level${d}`, '1') } as Zippable);
  return inner;
}

/** "Billion laughs" in YAML: 9 levels of 10 aliases each. */
function aliasBomb(): string {
  let y = 'lockfileVersion: "9.0"\na: &a ["x","x","x","x","x","x","x","x","x","x"]\n';
  for (let i = 1; i < 10; i++) {
    const n = String.fromCharCode(97 + i), p = String.fromCharCode(96 + i);
    y += `${n}: &${n} [${Array(10).fill(`*${p}`).join(',')}]\n`;
  }
  return y;
}

interface HostileCase {
  /** The hostile input class. */
  readonly name: string;
  readonly file: CatalogFile;
  readonly cls: UnknownClass;
  readonly consumer: string;
  /** Matched against the unknown's reason. */
  readonly reason: RegExp;
  /** Packages the hostile file itself still yields (e.g. the outer jar's), besides {@link GOOD_NAMES}. */
  readonly alsoPackages?: readonly string[];
}

const CASES: readonly HostileCase[] = [
  // YAML (pnpm-lock.yaml, yarn berry yarn.lock)
  { name: 'YAML document flood (5 M empty documents, 20 MB)', file: file('/app/pnpm-lock.yaml', '---\n'.repeat(5_000_000)), cls: 'cut-by-cap', consumer: 'pnpm-lockfile', reason: /maxYamlDocuments/ },
  { name: 'YAML alias bomb (billion laughs)', file: file('/app/pnpm-lock.yaml', aliasBomb()), cls: 'cut-by-cap', consumer: 'pnpm-lockfile', reason: /maxYamlAliases/ },
  { name: 'YAML deep flow nesting (100 k [)', file: file('/app/pnpm-lock.yaml', `packages: ${'['.repeat(100_000)}`), cls: 'cut-by-cap', consumer: 'pnpm-lockfile', reason: /maxNestingDepth/ },
  { name: 'YAML deep block nesting (1 000 levels)', file: file('/app/pnpm-lock.yaml', Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')), cls: 'cut-by-cap', consumer: 'pnpm-lockfile', reason: /maxNestingDepth/ },
  { name: 'YAML token flood (4 M+ tokens)', file: file('/app/pnpm-lock.yaml', `[${'0,'.repeat(2_100_000)}0]`), cls: 'cut-by-cap', consumer: 'pnpm-lockfile', reason: /maxYamlTokens/ },
  { name: 'YAML duplicate key (yarn berry)', file: file('/app/yarn.lock', '__metadata:\n  version: 6\n"a@npm:1":\n  version: 1.0.0\n"a@npm:1":\n  version: 2.0.0\n'), cls: 'parse-error', consumer: 'yarn-lockfile', reason: /duplicate mapping key/ },
  // JSON
  { name: 'deep JSON array (100 k [[[…)', file: file('/app/package-lock.json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`), cls: 'cut-by-cap', consumer: 'npm-lockfile', reason: /maxNestingDepth/ },
  { name: 'deep JSON object in an installed package.json', file: file('/app/node_modules/evil/package.json', `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`), cls: 'cut-by-cap', consumer: 'npm-installed', reason: /maxNestingDepth/ },
  { name: 'JSON value flood (8 M+ values)', file: file('/app/composer.lock', `[${'0,'.repeat(8_000_001)}0]`), cls: 'cut-by-cap', consumer: 'composer-lock', reason: /maxJsonTokens/ },
  { name: 'text over maxTextBytes (Pipfile.lock)', file: file('/app/Pipfile.lock', Buffer.alloc(PARSE_BOUNDS.maxTextBytes + 1, 0x20)), cls: 'cut-by-cap', consumer: 'pypi-lockfile', reason: /maxTextBytes/ },
  { name: 'malformed JSON stays a parse error', file: file('/app/deps/app.deps.json', '{"libraries": '), cls: 'parse-error', consumer: 'dotnet-deps', reason: /deps\.json/ },
  // TOML
  { name: 'TOML dotted key on one huge line (Cargo.lock)', file: file('/src/Cargo.lock', `a${'.a'.repeat(40_000)} = 1\n`), cls: 'cut-by-cap', consumer: 'cargo-lock', reason: /maxTomlLineChars/ },
  { name: 'TOML deep inline nesting (poetry.lock)', file: file('/src/poetry.lock', `x = ${'['.repeat(10_000)}`), cls: 'cut-by-cap', consumer: 'pypi-lockfile', reason: /maxNestingDepth/ },
  // line formats: one line over maxLineChars
  { name: 'huge single line (dpkg status.d)', file: file('/var/lib/dpkg/status.d/evil', `Package: evil\nVersion: 1\nDescription: ${'x'.repeat(PARSE_BOUNDS.maxLineChars)}\n`), cls: 'cut-by-cap', consumer: 'dpkg-db', reason: /maxLineChars/ },
  { name: 'huge single line (apk installed)', file: file('/lib/apk/db/installed', `P:musl\nV:1.2.4-r2\nT:${'x'.repeat(PARSE_BOUNDS.maxLineChars)}\n`), cls: 'cut-by-cap', consumer: 'apk-db', reason: /maxLineChars/ },
  { name: 'huge single line (requirements.txt)', file: file('/app/requirements.txt', `flask==3.0.0 ${'#'.repeat(PARSE_BOUNDS.maxLineChars)}\n`), cls: 'cut-by-cap', consumer: 'pypi-lockfile', reason: /maxLineChars/ },
  { name: 'continuation flood (requirements.txt)', file: file('/app/requirements.txt', 'a \\\n'.repeat(400_000)), cls: 'cut-by-cap', consumer: 'pypi-lockfile', reason: /maxLineChars/ },
  { name: 'huge single line (Gemfile.lock)', file: file('/app/Gemfile.lock', `GEM\n  specs:\n    rake (13.0.3)${' '.repeat(PARSE_BOUNDS.maxLineChars)}\n`), cls: 'cut-by-cap', consumer: 'gemfile-lock', reason: /maxLineChars/ },
  { name: 'huge single line (go.mod)', file: file('/src/go.mod', `module x\nrequire ${'a'.repeat(PARSE_BOUNDS.maxLineChars)} v1.0.0\n`), cls: 'cut-by-cap', consumer: 'go-mod', reason: /maxLineChars/ },
  { name: 'huge single line (yarn.lock v1)', file: file('/app/yarn.lock', `"a@^1":\n  version "${'1'.repeat(PARSE_BOUNDS.maxLineChars)}"\n`), cls: 'cut-by-cap', consumer: 'yarn-lockfile', reason: /maxLineChars/ },
  { name: 'huge single line (gradle.lockfile)', file: file('/src/gradle.lockfile', `a:b:${'1'.repeat(PARSE_BOUNDS.maxLineChars)}=runtimeClasspath\n`), cls: 'cut-by-cap', consumer: 'gradle-lockfile', reason: /maxLineChars/ },
  { name: 'huge single line (rpm manifest)', file: file('/var/lib/rpmmanifest/container-manifest-2', `${'x'.repeat(PARSE_BOUNDS.maxLineChars + 1)}\n`), cls: 'cut-by-cap', consumer: 'rpm-db', reason: /maxLineChars/ },
  // zip / jar
  { name: 'zip bomb in a jar (nested entries declare more than the inflate budget)',
    file: file('/app/app.jar', zipSync({
      'META-INF/maven/g/outer/pom.properties': pom('g', 'outer', '1'),
      'BOOT-INF/lib/bomb.jar': [patchCentral(patchCentral(zipSync({ 'a.jar': [strToU8('x'), { level: 0 }], 'b.jar': [strToU8('y'), { level: 0 }] } as Zippable), 'a.jar', { size: 200 << 20, originalSize: 200 << 20 }), 'b.jar', { size: 200 << 20, originalSize: 200 << 20 }), { level: 0 }],
    } as Zippable)),
    cls: 'cut-by-cap', consumer: 'java-archive', reason: /maxArchiveInflatedBytes/, alsoPackages: ['g:outer@1'] },
  { name: 'zip entry lying about its compression ratio',
    file: file('/app/ratio.jar', patchCentral(zipSync({ 'META-INF/maven/g/r/pom.properties': pom('g', 'r', '1'), 'lib/x.jar': zipSync({ 'a': strToU8('a') }) }), 'lib/x.jar', { originalSize: 1 << 30 })),
    cls: 'cut-by-cap', consumer: 'java-archive', reason: /maxCompressionRatio/, alsoPackages: ['g:r@1'] },
  { name: 'deeply nested jars (jar in jar × 6)', file: file('/app/deep.jar', nestedJar(6)), cls: 'cut-by-cap', consumer: 'java-archive', reason: /maxArchiveDepth/,
    alsoPackages: ['g:level6@1', 'g:level5@1', 'g:level4@1', 'g:level3@1'] },
  { name: 'pom.properties over maxArchiveTextBytes', file: file('/app/big.jar', zipSync({ 'META-INF/maven/g/big/pom.properties': new Uint8Array(PARSE_BOUNDS.maxArchiveTextBytes + 1) })), cls: 'cut-by-cap', consumer: 'java-archive', reason: /maxArchiveTextBytes/ },
  { name: 'pom.properties with an unsupported compression method', file: file('/app/bz.jar', patchCentral(zipSync({ 'META-INF/maven/g/bz/pom.properties': pom('g', 'bz', '1') }), 'META-INF/maven/g/bz/pom.properties', { method: 12 })), cls: 'unsupported-entry', consumer: 'java-archive', reason: /compression method 12/ },
  // binaries
  { name: 'cargo-auditable .dep-v0 inflating past 8 MiB', file: file('/usr/bin/rusty', elfWith(deflateSync(Buffer.alloc(PARSE_BOUNDS.maxAuditableBytes + 1, 0x20)))), cls: 'cut-by-cap', consumer: 'cargo-auditable', reason: /maxAuditableBytes/ },
  { name: 'cargo-auditable .dep-v0 with deep JSON', file: file('/usr/bin/rusty', elfWith(deflateSync(Buffer.from(`${'['.repeat(100_000)}`)))), cls: 'cut-by-cap', consumer: 'cargo-auditable', reason: /maxNestingDepth/ },
];

const names = (pkgs: readonly { name: string; version: string }[]): string[] => pkgs.map((p) => `${p.name}@${p.version}`).sort();

describe('hostile package files become classified unknowns; the layer\'s good packages survive (RELIABILITY.md 61)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const inv = catalogFiles(LAYER, [...GOOD, c.file]);
    expect(names(inv.packages)).toEqual([...GOOD_NAMES, ...(c.alsoPackages ?? [])].sort());
    const mine = inv.unknowns.filter((u) => u.path === c.file.path);
    expect(mine).toEqual([expect.objectContaining({ layer: LAYER, path: c.file.path, class: c.cls, consumer: c.consumer, reason: expect.stringMatching(c.reason) })]);
    // Every unknown of the layer is classified and names its consumer.
    for (const u of inv.unknowns) expect(u).toEqual(expect.objectContaining({ class: expect.any(String), consumer: expect.any(String) }));
  });

  it('a gemspec after a run of 1 M blank lines is read (the name/version regexes were quadratic over it)', () => {
    const inv = catalogFiles(LAYER, [file('/g/specifications/rake-13.0.3.gemspec', `${'\n'.repeat(1_000_000)}s.name = "rake"\ns.version = "13.0.3"\n`)]);
    expect(names(inv.packages)).toEqual(['rake@13.0.3']);
    expect(inv.unknowns).toEqual([]);
  });

  it('a pnpm-lock.yaml with 20 k packages keys is parsed (the yaml package\'s duplicate-key check was quadratic)', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `  /p${i}@1.0.${i}:\n    resolution: {integrity: x}`).join('\n');
    const inv = catalogFiles(LAYER, [file('/app/pnpm-lock.yaml', `lockfileVersion: '6.0'\npackages:\n${keys}\n`)]);
    expect(inv.packages).toHaveLength(20_000);
    expect(inv.unknowns).toEqual([]);
  });

  it('pnpm 11: two documents, the last one is the lockfile', () => {
    const inv = catalogFiles(LAYER, [file('/app/pnpm-lock.yaml', "---\nlockfileVersion: '9.0'\nimporters: {}\npackages:\n  pnpm@11.0.0: {}\n---\nlockfileVersion: '9.0'\npackages:\n  left-pad@1.3.0: {}\n")]);
    expect(names(inv.packages)).toEqual(['left-pad@1.3.0']);
    expect(inv.unknowns).toEqual([]);
  });
});

describe('catalogFiles: a throwing or careless cataloger cannot lose a file silently', () => {
  const throwing: Cataloger = {
    name: 'throws', version: '0', wants: (p) => p.endsWith('.boom'),
    catalog: () => { throw new RangeError('Maximum call stack size exceeded'); },
  };
  const careless: Cataloger = {
    name: 'careless', version: '0', wants: (p) => p.endsWith('.odd'),
    catalog: (files) => ({ packages: [], unknowns: files.map((f): Unknown => ({ layer: f.layer, path: f.path, reason: 'odd' })) }),
  };
  it.each([
    ['a cataloger that throws: each of its files is a parse-error unknown', throwing, '/x/a.boom', { class: 'parse-error', consumer: 'throws', reason: expect.stringContaining('RangeError: Maximum call stack') }],
    ['an unknown without a class is a parse-error (fail closed) with the cataloger as consumer', careless, '/x/a.odd', { class: 'parse-error', consumer: 'careless', reason: 'odd' }],
  ] as const)('%s', (_n, cataloger, path, want) => {
    const inv = catalogFiles(LAYER, [...GOOD, file(path, 'x')], [cataloger, ...CATALOGERS]);
    expect(names(inv.packages)).toEqual([...GOOD_NAMES].sort());
    expect(inv.unknowns).toEqual([{ layer: LAYER, path, ...want }]);
  });
});

describe('bound helpers', () => {
  it.each([
    ['LF', 'a\nb\n', 'lf', ['a', 'b', '']],
    ['CRLF kept by lf', 'a\r\nb', 'lf', ['a\r', 'b']],
    ['CRLF', 'a\r\nb\r\n', 'crlf', ['a', 'b', '']],
    ['lone CR (any)', 'a\rb\r\nc\nd', 'any', ['a', 'b', 'c', 'd']],
    ['empty', '', 'crlf', ['']],
  ] as const)('boundedLines %s gives the lines split() gives', (_n, text, ends, want) => {
    expect([...boundedLines(text, 't', ends)].map(([l]) => l)).toEqual(want);
  });

  it.each([
    ['brackets inside strings do not count', `{"a": "${'['.repeat(1000)}"}`, undefined],
    ['escaped quotes do not end a string', `{"a": "\\"${'['.repeat(1000)}"}`, undefined],
    ['depth at the bound passes', `${'['.repeat(PARSE_BOUNDS.maxNestingDepth)}${']'.repeat(PARSE_BOUNDS.maxNestingDepth)}`, undefined],
    ['one past the bound is refused', `${'['.repeat(PARSE_BOUNDS.maxNestingDepth + 1)}${']'.repeat(PARSE_BOUNDS.maxNestingDepth + 1)}`, 'maxNestingDepth'],
  ])('checkJson: %s', (_n, text, bound) => {
    if (bound === undefined) expect(() => checkJson(text, 't')).not.toThrow();
    else expect(() => checkJson(text, 't')).toThrow(LimitExceededError);
  });

  it.each([
    ['single document', 'a: 1\n', 'single', { a: 1 }],
    ['last of several', 'a: 1\n---\nb: 2\n', 'last', { b: 2 }],
    ['more than one where one is wanted', 'a: 1\n---\nb: 2\n', 'single', /more than one YAML document/],
    ['syntax error', 'a: [1\n', 'single', /pnpm-lock|t:/],
    ['documents at the bound', '---\n'.repeat(PARSE_BOUNDS.maxYamlDocuments - 1) + 'a: 1\n', 'last', { a: 1 }],
  ] as const)('parseYamlBounded: %s', (_n, text, choice, want) => {
    if (want instanceof RegExp) expect(() => parseYamlBounded(text, 't', choice)).toThrow(want);
    else expect(parseYamlBounded(text, 't', choice)).toEqual(want);
  });

  it('a MANIFEST.MF of 300 k LF-only lines is read in one pass (line ends searched once, not per line)', () => {
    const m = parseManifest(`Manifest-Version: 1.0\nImplementation-Version: 1\n${'X-A: b\n'.repeat(300_000)}`);
    expect(m.main).toHaveLength(300_002);
  });

  it('parseTomlBounded reads a normal lockfile', () => {
    expect(parseTomlBounded('[[package]]\nname = "a"\nversion = "1"\n', 't')).toEqual({ package: [{ name: 'a', version: '1' }] });
  });

  it('a custom entry cap on the jar walk refuses the entry flood', () => {
    const entries: Zippable = { 'META-INF/maven/g/a/pom.properties': pom('g', 'a', '1') };
    for (let i = 0; i < 1000; i++) entries[`c/${i}.class`] = strToU8('');
    const r = createJavaArchiveCataloger({ maxDepth: 3, maxInflatedBytes: 1 << 20, maxEntries: 1000 }).catalog([file('/app/flood.jar', zipSync(entries))]);
    expect(r.packages).toEqual([]);
    expect(r.unknowns).toEqual([expect.objectContaining({ class: 'cut-by-cap', consumer: 'java-archive', reason: expect.stringContaining('maxArchiveEntries') })]);
  });
});

describe('the 20 MB pnpm-lock.yaml of empty documents (issue 13 class 8), in a child process with a 256 MB heap', () => {
  // Before the bounds this aborted the process with a V8 heap OOM: run it where an abort cannot take jest down.
  it('ends with a cut-by-cap unknown, not a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trustctl-yaml-flood-'));
    try {
      const script = join(dir, 'flood.ts');
      const lib = resolve(__dirname, '../../../lib/engine/catalog/npm');
      writeFileSync(script, [
        `import { pnpmLockCataloger } from ${JSON.stringify(lib)};`,
        "const body = Buffer.from('---\\n'.repeat(5_000_000));",
        `const r = pnpmLockCataloger.catalog([{ path: '/app/pnpm-lock.yaml', layer: ${JSON.stringify(LAYER)}, body, truncated: false }]);`,
        'process.stdout.write(JSON.stringify(r.unknowns));',
      ].join('\n'));
      const run = spawnSync(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', script], { cwd: resolve(__dirname, '../../..'), encoding: 'utf8', timeout: 120_000 });
      expect({ status: run.status, signal: run.signal, stderr: run.stderr.slice(-500) }).toEqual({ status: 0, signal: null, stderr: '' });
      expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ class: 'cut-by-cap', consumer: pnpmLockCataloger.name, reason: expect.stringContaining('maxYamlDocuments') })]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
