import { InvalidVersionError, type VersionScheme } from './scheme';
import { compareDigits } from './util';

/*
 * NuGet package versions (https://learn.microsoft.com/en-us/nuget/concepts/package-versioning), as
 * NuGet.Versioning's NuGetVersion.TryParse and VersionComparer.Default order them
 * (https://github.com/NuGet/NuGet.Client/blob/dev/src/NuGet.Core/NuGet.Versioning/VersionComparer.cs).
 */

/** One to four dot-separated numbers, `-` pre-release labels, `+` metadata. */
const PATTERN = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

const INT32_MAX = '2147483647';
/** Fits System.Int32, as System.Version's parts and Int32.TryParse require. */
const fitsInt32 = (digits: string): boolean => compareDigits(digits, INT32_MAX) <= 0;

interface Parsed {
  readonly parts: readonly string[];
  readonly labels: readonly string[] | undefined;
}

function parse(v: string): Parsed | undefined {
  const m = PATTERN.exec(v);
  if (!m) return undefined;
  const parts = [m[1], m[2] ?? '0', m[3] ?? '0', m[4] ?? '0'];
  if (!parts.every(fitsInt32)) return undefined;
  return { parts, labels: m[5]?.split('.') };
}

/** Int32.TryParse on a label: an optional `-` and digits within range make it numeric. */
function labelNumber(label: string): bigint | undefined {
  if (!/^-?\d+$/.test(label)) return undefined;
  const n = BigInt(label);
  return n >= -2147483648n && n <= 2147483647n ? n : undefined;
}

/** VersionComparer.CompareRelease: numbers by value below strings; strings case-insensitively (ordinal). */
function compareLabel(a: string, b: string): number {
  const x = labelNumber(a);
  const y = labelNumber(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  if (x !== undefined || y !== undefined) return x !== undefined ? -1 : 1;
  const p = a.toUpperCase();
  const q = b.toUpperCase();
  return p < q ? -1 : p > q ? 1 : 0;
}

/** True when NuGetVersion.TryParse accepts `v`. */
export function nugetValid(v: string): boolean {
  return parse(v) !== undefined;
}

/** VersionComparer.Default: the four numbers, then release labels (none above any); metadata ignored. */
export function compareNuget(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (!x) throw new InvalidVersionError('nuget', a);
  if (!y) throw new InvalidVersionError('nuget', b);
  for (let i = 0; i < 4; i++) {
    const c = compareDigits(x.parts[i], y.parts[i]);
    if (c !== 0) return c;
  }
  if (x.labels === undefined || y.labels === undefined) return x.labels === y.labels ? 0 : x.labels === undefined ? 1 : -1;
  for (let i = 0; i < Math.max(x.labels.length, y.labels.length); i++) {
    if (i >= x.labels.length) return -1;
    if (i >= y.labels.length) return 1;
    const c = compareLabel(x.labels[i], y.labels[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * NuGet versions: SemVer 2.0 with up to four numeric parts (missing ones are 0, so `1.0` ==
 * `1.0.0.0`), leading zeros allowed (`1.0.01` == `1.0.1`), pre-release labels compared
 * case-insensitively (numeric labels by value, below alphanumeric ones), build metadata ignored.
 * Parts must fit a 32-bit integer, as NuGet requires.
 */
export const nugetScheme: VersionScheme = {
  name: 'nuget',
  version: '1.0.0',
  ecosystems: ['NuGet'],
  isValid: nugetValid,
  compare: compareNuget,
};
