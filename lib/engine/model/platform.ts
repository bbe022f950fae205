import { InvalidReferenceError } from '../errors';

/** An image platform as in the OCI image index (image-index.md, `platform`). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const PART = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => PART.test(p))) {
    throw new InvalidReferenceError(`invalid platform ${JSON.stringify(s)}; expected os/arch[/variant]`);
  }
  return parts[2] ? { os: parts[0], architecture: parts[1], variant: parts[2] } : { os: parts[0], architecture: parts[1] };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * The variant a platform implies when none is given, following containerd's platforms normalisation
 * (arm64 → v8, arm → v7): `linux/arm64` and `linux/arm64/v8` are the same platform.
 */
function normalVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === 'arm64') return 'v8';
  if (p.architecture === 'arm') return 'v7';
  return undefined;
}

/** True when `candidate` satisfies `wanted` (same os and architecture, same normalised variant). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  return wanted.os === candidate.os && wanted.architecture === candidate.architecture && normalVariant(wanted) === normalVariant(candidate);
}

/** The platform of the machine we run on, in Go's GOOS/GOARCH vocabulary as registries use it. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}
