import type { EntryInfo } from '../../layers/layer-reader';
import type { Digest, Finding, ImageConfig, Unknown } from '../../model';
import type { CheckResult, FileCheck, ImageCheck, ImageCheckContext, LayerFileCheck } from '../types';
import { type SecretHit, SecretStreamScanner, findSecrets, redact, rulesFingerprint } from './rules';

/**
 * The secrets check (issue "Beyond packages", item 2), in two parts over the same rules (./rules.ts):
 *
 * - {@link createSecretsFileCheck}, a {@link FileCheck}: the text files of each layer. Its findings
 *   are made per layer, so a key added in layer 1 and deleted by a whiteout in layer 2 is still
 *   reported, with layer 1's digest (RELIABILITY.md 10; Trivy #2194) — it is still in the image's
 *   blobs for anyone who pulls them.
 * - {@link createSecretsImageCheck}, an {@link ImageCheck}: the image config — every `Env` entry
 *   (`KEY=value`), `Entrypoint`/`Cmd` argument and label — and every history `created_by` line, where
 *   build arguments and `ENV`/`ARG` values end up (`RUN |1 NPM_TOKEN=… /bin/sh -c npm ci`).
 *
 * Every finding is `type: 'secret'`, `id` = the rule id, with `layer` (when known) and `path`
 * (`/app/.env`, `config:Env[3]`, `history[5]`), and a message with the rule, the line and the match
 * passed through {@link redact} — never the secret itself.
 *
 * ## What {@link secretsWants} asks for, and what it costs
 *
 * The layer reader streams every regular-file body past the check; a wanted body is scanned in
 * bounded windows as it passes ({@link SecretStreamScanner}: the rules whose keywords a window
 * contains run over it), never held whole. The decision is taken from the tar header alone (path,
 * type, size), so the rule is a few string tests:
 * a regular file (or hardlink) is wanted when
 * - it is non-empty and at most `maxFileBytes` (default 1 MiB: configuration, scripts, sources, key
 *   files and `.env` files are small; bigger text is data or bundles), and
 * - it is not under a folder of distribution data that holds no credentials ({@link SKIPPED_DIRS}:
 *   locales, time zones, icons and fonts, CA bundles of public certificates, C headers,
 *   package-manager databases), nor documentation wherever it is installed (`…/share/doc/`,
 *   `…/share/man/`, `…/share/info/`, `…/share/locale/`), nor a multiarch library folder
 *   (`/usr/lib/x86_64-linux-gnu/`, `/lib/aarch64-linux-gnu/`…: shared objects and their data), nor a
 *   `.git/objects/` store (zlib data, no text), and
 * - its extension is not one of binary or non-text formats ({@link SKIPPED_EXTENSIONS}: objects and
 *   libraries, Java archives and classes, Python bytecode, WebAssembly, archives and compressed files,
 *   images, fonts, media, gettext catalogues, databases, source maps) nor documentation markup
 *   (`.md`, `.rst`: Trivy's `markdown` allow rule — READMEs are full of example tokens, and every
 *   `node_modules` package ships one), and
 * - it is not a test, fixture or example of a third-party package ({@link isThirdPartyTestData}).
 *
 * Binaries without an extension (`/usr/bin/*`) are still wanted — the header cannot tell an ELF from
 * an entrypoint script — and dropped at scan time: a body with a NUL byte in its first 8 KiB is
 * binary (git's and grep's test) and is not scanned, so a token inside an executable is not reported
 * (nor are UTF-16 text files). On a Debian-based image that is a few MiB of `/usr/bin` per base layer,
 * paid once: findings are cached with the layer.
 *
 * ## Third-party tests and examples
 *
 * Packages published to npm, PyPI, Go modules or Packagist ship their own test fixtures and examples,
 * private keys and tokens included (`node_modules/tunnel/test/keys/*.pem`, TruffleHog #5299;
 * `node_modules/public-encrypt/test/*.priv`, browserify/publicEncrypt #23; `Crypto/SelfTest` of
 * pycryptodome; botocore's `data/…/examples-1.json`, Trivy #2296; CPython's `Lib/test/certdata/`;
 * `testdata/` and `*_test.go` in the Go toolchain and module cache). They are public, identical in
 * every install, and not the image owner's secret; reporting them would bury the real findings. So a
 * path is skipped when it is inside a package tree — a `node_modules`, `site-packages`,
 * `dist-packages`, `vendor` or `third_party` folder, a Python standard library (`lib/python3.12/`),
 * the Go toolchain `/usr/local/go/`, or a Go module cache `…/pkg/mod/` — AND, below that, in a test,
 * example or documentation folder (`test`, `tests`, `__tests__`, `testdata`, `fixtures`,
 * `__fixtures__`, `SelfTest`, `example`, `examples`, `doc`, `docs`) or is a test or example file by
 * name (`*_test.go`, `*_test.py`, `test_*.py`, `*.test.js`, `*.spec.ts`, `examples-1.json`). A
 * package's own code is scanned, and so are the image's own `test/` folders: an image is production.
 *
 * ## Measured
 *
 * Rules and skips were tuned on a real file system (a developer machine, not an image: Google Cloud
 * SDK, seven pyenv Pythons with botocore and moto, Rust toolchains, an npm cache; /usr /etc /opt
 * /root /var /bin /sbin): of 367,555 regular files (22 GiB), 85,397 are wanted (1.0 GiB, under 5 % of
 * the bytes; 6,829 of them, 210 MiB, turn out binary and are dropped at scan time), and the rules report
 * 29 findings — private keys that really are installed (a mocking library's CA key, a vendored test
 * server's key) and hard-coded OAuth client secrets and passwords in installed code — where a first
 * cut without the package skips and generic-rule filters reported about 900.
 */

/** The file check's name (part of the layer-cache key). */
export const SECRETS_CHECK_NAME = 'secrets';
/** The image check's name. */
export const SECRETS_CONFIG_CHECK_NAME = 'secrets-config';
/** Version of the checks' logic (acceptance thresholds, wants); the `version` adds the rules' fingerprint. */
export const SECRETS_CHECK_VERSION = '2.0.0';

const MiB = 1024 * 1024;
/** Default `maxFileBytes`: larger files are not examined. */
export const DEFAULT_MAX_FILE_BYTES = 1 * MiB;
/** A NUL byte in this many first bytes makes a body binary (not scanned). */
export const BINARY_PROBE_BYTES = 8192;
/** At most this many findings per file or config string; the last says how many more there were. */
export const MAX_FINDINGS_PER_TEXT = 25;

/** Extensions (lower-case, without the dot) of files that are binary or hold no credentials. */
export const SKIPPED_EXTENSIONS: ReadonlySet<string> = new Set([
  // native code, bytecode, packages
  'so', 'a', 'o', 'ko', 'dll', 'exe', 'dylib', 'node', 'wasm', 'class', 'jar', 'war', 'ear', 'jmod',
  'pyc', 'pyo', 'beam', 'elc', 'bc', 'whl', 'egg', 'deb', 'rpm', 'apk', 'bin',
  // archives and compressed files
  'gz', 'tgz', 'bz2', 'xz', 'zst', 'lz4', 'lzma', 'zip', '7z', 'rar', 'tar', 'cpio', 'z', 'br',
  // images and fonts
  'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'icns', 'webp', 'tif', 'tiff', 'psd', 'svg', 'svgz',
  'ttf', 'otf', 'woff', 'woff2', 'eot', 'pfb', 'pfa', 'pcf', 'afm',
  // media and documents
  'mp3', 'mp4', 'm4a', 'ogg', 'wav', 'flac', 'avi', 'mov', 'mkv', 'webm', 'pdf',
  // data: gettext catalogues, databases, git packs, models, source maps
  'mo', 'db', 'sqlite', 'sqlite3', 'pack', 'idx', 'npy', 'onnx', 'pt', 'map',
  // documentation markup (Trivy's `markdown` allow rule)
  'md', 'markdown', 'rst',
]);

/** Folders of distribution data with no credentials in them (see the module documentation). */
export const SKIPPED_DIRS: readonly string[] = [
  '/usr/lib/locale/', '/usr/share/i18n/', '/usr/share/zoneinfo/', '/usr/share/terminfo/', '/usr/share/common-licenses/',
  '/usr/share/mime/', '/usr/share/icons/', '/usr/share/fonts/', '/usr/share/X11/locale/',
  '/usr/share/ca-certificates/', '/usr/include/',
  '/var/lib/dpkg/', '/var/lib/apt/lists/', '/var/cache/apt/', '/var/lib/rpm/', '/usr/lib/sysimage/rpm/',
  '/lib/apk/db/', '/var/cache/apk/', '/var/cache/ldconfig/',
  '/proc/', '/sys/', '/dev/',
];

/** Debian/Ubuntu multiarch library folders: `/usr/lib/x86_64-linux-gnu/`, `/lib/arm-linux-gnueabihf/`… */
const MULTIARCH_LIB = /^\/(?:usr\/)?lib(?:32|64)?\/[a-z0-9_]+-linux-gnu[a-z0-9_]*\//;

/** Folders that hold third-party packages (the Go toolchain and module cache and Python standard libraries are found by path). */
const THIRD_PARTY_ROOTS: ReadonlySet<string> = new Set(['node_modules', 'site-packages', 'dist-packages', 'vendor', 'third_party']);
/** Folders of a package's tests, fixtures, examples and documentation. */
const PACKAGE_SAMPLE_DIRS: ReadonlySet<string> = new Set(['test', 'tests', '__tests__', 'testdata', 'fixtures', '__fixtures__', 'SelfTest', 'example', 'examples', 'doc', 'docs']);
/** File names of a package's tests and examples: `x_test.go`, `x_test.py`, `test_x.py`, `x.test.js`, `x.spec.ts`, `examples-1.json`. */
const PACKAGE_SAMPLE_FILE = /_test\.(?:go|py)$|^test_.*\.py$|\.(?:test|spec)\.[cm]?[jt]sx?$|^examples?[-_.]/i;
/** Folders of documentation wherever they are installed (`/usr/share/doc/`, `/opt/x/share/man/`). */
const DOC_DIRS: readonly string[] = ['/share/doc/', '/share/man/', '/share/info/', '/share/locale/'];

/** The extension deciding {@link SKIPPED_EXTENSIONS}: `libfoo.so.1.2` → `so`, `x.tar.gz` → `gz`. */
function extension(path: string): string | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (/\.so(?:\.\d+)+$/.test(base)) return 'so';
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? undefined : base.slice(dot + 1);
}

/** True for tests, fixtures and examples shipped inside a third-party package tree (see the module documentation). */
export function isThirdPartyTestData(path: string): boolean {
  const parts = path.split('/');
  const file = parts.pop() ?? '';
  let inPackage = path.startsWith('/usr/local/go/');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (inPackage && PACKAGE_SAMPLE_DIRS.has(p)) return true;
    if (THIRD_PARTY_ROOTS.has(p) || (p === 'mod' && parts[i - 1] === 'pkg') || (/^python\d+(?:\.\d+)*$/.test(p) && parts[i - 1] === 'lib')) inPackage = true;
  }
  return inPackage && PACKAGE_SAMPLE_FILE.test(file);
}

/** The wants predicate of the secrets file check (see the module documentation for the rule and its cost). */
export function secretsWants(maxFileBytes: number = DEFAULT_MAX_FILE_BYTES): (path: string, info: EntryInfo) => boolean {
  return (path, info) => {
    if (info.type !== 'file' && info.type !== 'hardlink') return false;
    if (info.size <= 0 || info.size > maxFileBytes) return false;
    if (SKIPPED_DIRS.some((d) => path.startsWith(d)) || DOC_DIRS.some((d) => path.includes(d)) || MULTIARCH_LIB.test(path) || path.includes('/.git/objects/')) return false;
    const ext = extension(path);
    if (ext !== undefined && SKIPPED_EXTENSIONS.has(ext)) return false;
    return !isThirdPartyTestData(path);
  };
}

/** True when `body` has a NUL byte in its first {@link BINARY_PROBE_BYTES} bytes. */
export function looksBinary(body: Buffer): boolean {
  return body.subarray(0, BINARY_PROBE_BYTES).includes(0);
}

/** Where a text came from, for its findings. */
interface Place {
  readonly path: string;
  readonly layer?: string;
  /** Whether to say the line (a one-line config string has none worth saying). */
  readonly lines: boolean;
}

/**
 * Findings for the hits of one text: one per rule and distinct secret (the first line it is on), at
 * most {@link MAX_FINDINGS_PER_TEXT}. Messages carry the redacted match only.
 */
function findingsFor(hits: readonly SecretHit[], place: Place): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  let more = 0;
  for (const h of hits) {
    const key = `${h.rule.id}\0${h.secret}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (out.length >= MAX_FINDINGS_PER_TEXT) {
      more++;
      continue;
    }
    const at = place.lines ? `${place.path} line ${h.line}` : place.path;
    const label = h.label ? ` (${h.label})` : '';
    out.push({
      type: 'secret',
      id: h.rule.id,
      aliases: [],
      severity: h.rule.severity,
      ...(place.layer !== undefined ? { layer: place.layer } : {}),
      path: place.path,
      message: `${h.rule.title}${label} in ${at}: ${redact(h.secret)}`,
    });
  }
  if (more > 0) {
    const last = out[out.length - 1];
    out[out.length - 1] = { ...last, message: `${last.message} (and ${more} more secret${more === 1 ? '' : 's'} in ${place.path} not listed)` };
  }
  return out;
}

/** Options of {@link createSecretsFileCheck}. */
export interface SecretsFileCheckOptions {
  /** Files larger than this are not examined. Default {@link DEFAULT_MAX_FILE_BYTES} (1 MiB). */
  readonly maxFileBytes?: number;
  /** New characters per scan window of a streamed body (tests use small ones). Default 1 MiB. */
  readonly blockChars?: number;
}

/**
 * Creates the secrets file check. Each wanted body streams through a {@link SecretStreamScanner}
 * from its first byte; a NUL among the first {@link BINARY_PROBE_BYTES} makes it a binary, which is
 * dropped there (not scanned). The rules run over bounded windows — no body is held whole. Never throws.
 */
export function createSecretsFileCheck(opts: SecretsFileCheckOptions = {}): FileCheck {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes <= 0) throw new RangeError(`maxFileBytes must be a positive integer, got ${maxFileBytes}`);
  const wants = secretsWants(maxFileBytes);

  const openLayer = (layer: Digest): LayerFileCheck => {
    const findings: Finding[] = [];
    return {
      file(path, info) {
        if (!wants(path, info)) return undefined;
        // Fed from the first byte: a NUL in the first BINARY_PROBE_BYTES drops the body (a binary is not
        // scanned) — nothing is held or concatenated to decide it. The scanner (and the buffer it holds)
        // is made once the first bytes are known not to be binary.
        let scanner: SecretStreamScanner | undefined;
        let binary = false;
        let probed = 0;
        return {
          write(chunk) {
            if (binary || chunk.length === 0) return;
            if (probed < BINARY_PROBE_BYTES) {
              const n = Math.min(chunk.length, BINARY_PROBE_BYTES - probed);
              probed += n;
              if (looksBinary(chunk.subarray(0, n))) {
                binary = true;
                scanner = undefined;
                return;
              }
            }
            scanner ??= new SecretStreamScanner(undefined, opts.blockChars, info.size);
            scanner.write(chunk);
          },
          end() {
            if (!binary && scanner !== undefined) findings.push(...findingsFor(scanner.end(), { path, layer, lines: true }));
            scanner = undefined;
          },
        };
      },
      finish: () => Promise.resolve({ findings, unknowns: [] as Unknown[] }),
      abort: () => undefined,
    };
  };

  return { kind: 'file', name: SECRETS_CHECK_NAME, version: `${SECRETS_CHECK_VERSION}+rules.${rulesFingerprint()}`, openLayer };
}

/** One string of the image config to scan, with its finding path. */
interface ConfigText {
  readonly path: string;
  readonly text: string;
  readonly layer?: string;
}

/**
 * The strings of an image config the image check scans, with their paths: `config:Env[i]`,
 * `config:Entrypoint[i]`, `config:Cmd[i]`, `config:Labels["k"]` (scanned as `k=v`) and `history[i]`
 * (`created_by`; with the layer it made when the history lines up with the layers). What is not a
 * string where a string belongs is an unknown.
 */
function configTexts(ctx: ImageCheckContext, unknown: (path: string, reason: string) => void): ConfigText[] {
  const out: ConfigText[] = [];
  const cfg = (ctx.config as Partial<ImageConfig> | null | undefined)?.config;
  const list = (name: 'Env' | 'Entrypoint' | 'Cmd'): void => {
    const v: unknown = cfg?.[name];
    if (v === undefined || v === null) return;
    if (!Array.isArray(v)) {
      unknown(`config:${name}`, `config.${name} is not a list`);
      return;
    }
    v.forEach((s: unknown, i) => {
      if (typeof s === 'string') out.push({ path: `config:${name}[${i}]`, text: s });
      else unknown(`config:${name}[${i}]`, `config.${name}[${i}] is not a string`);
    });
  };
  list('Env');
  list('Entrypoint');
  list('Cmd');
  const labels: unknown = cfg?.Labels;
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) unknown('config:Labels', 'config.Labels is not an object');
    else {
      for (const [k, v] of Object.entries(labels)) {
        if (typeof v === 'string') out.push({ path: `config:Labels[${JSON.stringify(k)}]`, text: `${k}=${v}` });
        else unknown(`config:Labels[${JSON.stringify(k)}]`, 'label value is not a string');
      }
    }
  }
  const history: unknown = (ctx.config as Partial<ImageConfig> | null | undefined)?.history;
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) unknown('history', 'config history is not a list');
    else {
      // History entries that are not empty_layer made the layers, in order (image-spec config.md).
      const made = history.filter((h: unknown) => typeof h === 'object' && h !== null && (h as { empty_layer?: unknown }).empty_layer !== true).length;
      const aligned = made === ctx.layers.length;
      let li = 0;
      history.forEach((h: unknown, i) => {
        if (typeof h !== 'object' || h === null) {
          unknown(`history[${i}]`, `history[${i}] is not an object`);
          return;
        }
        const e = h as { created_by?: unknown; empty_layer?: unknown };
        const layer = e.empty_layer !== true && aligned ? ctx.layers[li++] : undefined;
        if (e.created_by === undefined) return;
        if (typeof e.created_by === 'string') out.push({ path: `history[${i}]`, text: e.created_by, ...(layer !== undefined ? { layer } : {}) });
        else unknown(`history[${i}]`, `history[${i}].created_by is not a string`);
      });
    }
  }
  return out;
}

/** Creates the secrets image check: the same rules over the image config and history. */
export function createSecretsImageCheck(): ImageCheck {
  const run = async (ctx: ImageCheckContext): Promise<CheckResult> => {
    const findings: Finding[] = [];
    const unknowns: Unknown[] = [];
    const texts = configTexts(ctx, (path, reason) => unknowns.push({ layer: ctx.manifestDigest, path, reason: `secrets: ${reason}` }));
    for (const t of texts) {
      findings.push(...findingsFor(findSecrets(t.text), { path: t.path, layer: t.layer, lines: t.text.includes('\n') }));
    }
    return { findings, unknowns };
  };
  return { kind: 'image', name: SECRETS_CONFIG_CHECK_NAME, version: `${SECRETS_CHECK_VERSION}+rules.${rulesFingerprint()}`, run };
}

export { SECRET_RULES, SecretStreamScanner, findSecrets, isPlaceholder, redact, rulesFingerprint, shannonEntropy } from './rules';
export type { SecretHit, SecretMatch, SecretRule } from './rules';
