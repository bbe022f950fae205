import { parseJsonBounded } from '../bounds';

/** One library from a .NET dependency manifest or NuGet lock file. */
export interface DotnetLibrary {
  readonly name: string;
  readonly version: string;
  /**
   * deps.json `libraries[].type`: `package` (a NuGet package), `project` (the application or a
   * project reference built with it — not a NuGet package), `runtimepack` (the self-contained
   * runtime, reported under its NuGet package id).
   */
  readonly type: 'package' | 'project' | 'runtimepack';
}

const RUNTIMEPACK_PREFIX = 'runtimepack.';
const ASSET_KEYS = ['runtime', 'runtimeTargets', 'native'] as const;

function splitKey(key: string): { name: string; version: string } | undefined {
  const slash = key.lastIndexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { name: key.slice(0, slash), version: key.slice(slash + 1) };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses a `*.deps.json` dependency manifest (dotnet/runtime docs/design/features/host-probing.md
 * and "DependencyModel" deps.json format): `libraries` keys are `Name/Version`.
 *
 * A library is reported when its entry under `targets[runtimeTarget.name]` lists deployed assets
 * (`runtime`, `runtimeTargets` or `native`): compile-only/meta packages such as
 * `Microsoft.NETCore.App` or `NETStandard.Library` put nothing on disk. A library absent from that
 * target, or a manifest whose runtime target is missing, is reported (nothing says it is not
 * deployed). `runtimepack.` prefixes are removed from runtime-pack names. Other library types
 * (e.g. `reference`) are skipped. Same rules as trivy's core_deps parser.
 * @throws Error when the text is not JSON or `libraries` is not an object.
 */
export function parseDepsJson(text: string): DotnetLibrary[] {
  const doc = parseJsonBounded(text, 'deps.json');
  if (!isObject(doc)) throw new Error('deps.json is not a JSON object');
  const libs = doc.libraries;
  if (libs === undefined) return [];
  if (!isObject(libs)) throw new Error('deps.json: `libraries` is not an object');
  const rtName = isObject(doc.runtimeTarget) && typeof doc.runtimeTarget.name === 'string' ? doc.runtimeTarget.name : undefined;
  const target = rtName !== undefined && isObject(doc.targets) && isObject(doc.targets[rtName]) ? doc.targets[rtName] : undefined;
  const out: DotnetLibrary[] = [];
  for (const [key, lib] of Object.entries(libs)) {
    if (!isObject(lib)) continue;
    const type = lib.type;
    if (type !== 'package' && type !== 'project' && type !== 'runtimepack') continue;
    const nv = splitKey(key);
    if (!nv) continue;
    const entry = target?.[key];
    if (isObject(entry) && !ASSET_KEYS.some((k) => isObject(entry[k]) && Object.keys(entry[k]).length > 0)) continue;
    const name = type === 'runtimepack' && nv.name.startsWith(RUNTIMEPACK_PREFIX) ? nv.name.slice(RUNTIMEPACK_PREFIX.length) : nv.name;
    out.push({ name, version: nv.version, type });
  }
  return out;
}

/**
 * Parses a NuGet `packages.lock.json` (learn.microsoft.com "Enable repeatable package restores
 * using a lock file"): `dependencies` maps each target framework to `{Name: {type, resolved}}`.
 * `Direct`, `Transitive` and `CentralTransitive` entries are packages; `Project` entries are
 * project references and are skipped. Packages locked for several frameworks are reported once
 * per name and resolved version.
 * @throws Error when the text is not JSON or `dependencies` is not an object.
 */
export function parseNugetLock(text: string): DotnetLibrary[] {
  const doc = parseJsonBounded(text, 'packages.lock.json');
  if (!isObject(doc)) throw new Error('packages.lock.json is not a JSON object');
  if (!isObject(doc.dependencies)) throw new Error('packages.lock.json: `dependencies` is not an object');
  const seen = new Map<string, DotnetLibrary>();
  for (const fw of Object.values(doc.dependencies)) {
    if (!isObject(fw)) continue;
    for (const [name, dep] of Object.entries(fw)) {
      if (!isObject(dep) || dep.type === 'Project' || typeof dep.resolved !== 'string' || !dep.resolved) continue;
      const k = `${name}@${dep.resolved}`;
      if (!seen.has(k)) seen.set(k, { name, version: dep.resolved, type: 'package' });
    }
  }
  return [...seen.values()];
}
