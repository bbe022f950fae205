import { boundedLines, checkTextSize, PARSE_BOUNDS, parseBoundError, parseJsonBounded, parseTomlBounded } from '../bounds';
import { normalizePythonName } from './metadata';

/** A pinned Python dependency from a lock or requirements file. */
export interface PythonPin {
  /** PEP 503 normalised name. */
  readonly name: string;
  readonly version: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function tomlPackages(text: string, what: string): PythonPin[] {
  const doc = parseTomlBounded(text, what) as { package?: unknown };
  if (doc.package === undefined) return [];
  if (!Array.isArray(doc.package)) throw new Error(`${what}: \`package\` is not an array of tables`);
  const out: PythonPin[] = [];
  for (const p of doc.package as unknown[]) {
    if (!isObject(p) || typeof p.name !== 'string' || typeof p.version !== 'string' || !p.name || !p.version) continue;
    out.push({ name: normalizePythonName(p.name), version: p.version });
  }
  return out;
}

/**
 * `poetry.lock` (TOML written by Poetry; lock-version 1.x and 2.x): every `[[package]]` with `name`
 * and `version`. Dev/optional groups are included — the lock does not record what was installed.
 * @throws Error on invalid TOML.
 */
export function parsePoetryLock(text: string): PythonPin[] {
  return tomlPackages(text, 'poetry.lock');
}

/**
 * `uv.lock` (TOML written by uv, docs.astral.sh/uv/concepts/projects/layout "The lockfile"): every
 * `[[package]]` with `name` and `version`, the project itself (`source = { virtual = "." }` or
 * `editable`) included. Entries without a version (dynamic-version workspace members) are skipped.
 * @throws Error on invalid TOML.
 */
export function parseUvLock(text: string): PythonPin[] {
  return tomlPackages(text, 'uv.lock');
}

/**
 * `Pipfile.lock` (JSON written by pipenv): `default` and `develop` map names to
 * `{ "version": "==X" }`; the `==` is removed. Entries without a pinned version (VCS or path
 * requirements) are skipped.
 * @throws Error when the text is not JSON or not an object with `default`/`develop`.
 */
export function parsePipfileLock(text: string): PythonPin[] {
  const doc = parseJsonBounded(text, 'Pipfile.lock');
  if (!isObject(doc) || (!isObject(doc.default) && !isObject(doc.develop))) throw new Error('Pipfile.lock has neither `default` nor `develop`');
  const out: PythonPin[] = [];
  for (const section of [doc.default, doc.develop]) {
    if (!isObject(section)) continue;
    for (const [name, dep] of Object.entries(section)) {
      if (!isObject(dep) || typeof dep.version !== 'string') continue;
      const v = /^===?\s*(\S+)$/.exec(dep.version.trim())?.[1];
      if (v) out.push({ name: normalizePythonName(name), version: v });
    }
  }
  return out;
}

/** PEP 508 name (letters, digits, `.`, `_`, `-`, starting and ending alphanumeric). */
const PIN = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*===?\s*([0-9A-Za-z!+._-]+)$/;

/**
 * `requirements.txt` (pip "Requirements File Format"): only exact pins `name==version` (or `===`)
 * are reported — ranges (`>=`, `~=`, `!=`, wildcards `==1.*`) do not say what is installed.
 * Comments (`#` to end of line), line continuations (`\`), pip options (`-r`, `--hash=…`,
 * `--index-url` …), environment markers (after `;`) and extras (`name[extra]`) are removed.
 * UTF-16 files (with a BOM, as Windows `pip freeze >` writes) are decoded. Lines that are not a
 * requirement (e.g. template syntax) are ignored, as pip would fail on them rather than install.
 */
export function parseRequirementsTxt(body: Buffer | string): PythonPin[] {
  checkTextSize(body.length, 'requirements.txt');
  let text: string;
  if (typeof body === 'string') text = body;
  else if (body[0] === 0xff && body[1] === 0xfe) text = body.subarray(2).toString('utf16le');
  else if (body[0] === 0xfe && body[1] === 0xff) text = Buffer.from(body.subarray(2)).swap16().toString('utf16le');
  else text = body.toString('utf8');
  text = text.replace(/^\uFEFF/, '');
  // Physical lines are bounded, and so is a logical line joined from continuations (`\\` at the
  // end of a line joins the next, pip's req_file.join_lines).
  const out: PythonPin[] = [];
  const take = (raw: string): void => {
    let line = raw.replace(/#.*$/, '');
    line = line.replace(/\s--?[A-Za-z][\w-]*(?:[= ]\S+)?/g, ' ').split(';')[0]!.trim();
    if (!line || line.startsWith('-')) return;
    line = line.replace(/\[[^\]]*\]/, '');
    const m = PIN.exec(line);
    if (m) out.push({ name: normalizePythonName(m[1]!), version: m[2]! });
  };
  let pending = '';
  for (const [physical, no] of boundedLines(text, 'requirements.txt')) {
    if (physical.endsWith('\\')) {
      pending += physical.slice(0, -1) + ' ';
      if (pending.length > PARSE_BOUNDS.maxLineChars) throw parseBoundError('maxLineChars', `requirements.txt: continued line ending at line ${no} is over ${PARSE_BOUNDS.maxLineChars} characters`);
      continue;
    }
    take(pending + physical);
    pending = '';
  }
  if (pending) take(pending);
  return out;
}
