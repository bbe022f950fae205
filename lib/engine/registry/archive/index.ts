import { statSync } from 'node:fs';
import { InvalidReferenceError, NotFoundError } from '../../errors';
import type { Limits } from '../../limits';
import type { ImageSource } from '../source';
import { openDockerArchiveSource } from './docker-archive';
import { openOciLayoutSource } from './oci-layout';
import { DirectoryStore, TarStore } from './store';
import { indexTar } from './tar-index';

export { DockerArchiveSource, openDockerArchiveSource } from './docker-archive';
export { OciLayoutSource, REF_NAME_ANNOTATION, chooseLayoutRoot, openOciLayoutSource, readLayoutIndex, verified, type LayoutIndex } from './oci-layout';
export { blobPath, digestFromBlobPath, isOciRefName, normalizeMemberName, validateMemberPath } from './paths';
export { DirectoryStore, TarStore, readMemberCapped, type MemberStore } from './store';
export { indexTar, parseTarNumber, type TarIndex, type TarMember } from './tar-index';

/** The archive transports, named as skopeo / containers-transports(5) name them. */
export type ArchiveKind = 'docker-archive' | 'oci-archive' | 'oci';

/** A parsed archive target. */
export interface ArchiveTarget {
  readonly kind: ArchiveKind;
  /** The file (docker-archive, oci-archive) or directory (oci). */
  readonly path: string;
  /** `repo:tag` or `@<n>` for docker-archive; an `org.opencontainers.image.ref.name` for the OCI kinds. */
  readonly ref?: string;
}

const KINDS: readonly ArchiveKind[] = ['docker-archive', 'oci-archive', 'oci'];

function defaultExists(path: string, kind: ArchiveKind): boolean {
  try {
    const st = statSync(path);
    return kind === 'oci' ? st.isDirectory() : st.isFile();
  } catch {
    return false;
  }
}

/**
 * Splits `docker-archive:<file>[:<repo:tag>|:@<n>]`, `oci-archive:<file>[:<ref>]` or `oci:<dir>[:<ref>]`.
 * A path may itself contain `:` and a docker reference always does, so the split is decided by the
 * file system: the whole rest when it exists, else the longest prefix ending before a `:` that exists
 * (a file for the archive kinds, a directory for `oci:`). When nothing exists the error names the
 * whole rest, so the message shows what the user typed.
 */
export function parseArchiveTarget(target: string, exists: (path: string, kind: ArchiveKind) => boolean = defaultExists): ArchiveTarget {
  const kind = KINDS.find((k) => target.startsWith(`${k}:`));
  if (!kind) throw new InvalidReferenceError(`not an archive target: ${JSON.stringify(target.slice(0, 200))}; expected ${KINDS.map((k) => `${k}:`).join(', ')}`);
  const rest = target.slice(kind.length + 1);
  if (rest.length === 0) throw new InvalidReferenceError(`${kind}: needs a path`);
  if (exists(rest, kind)) return { kind, path: rest };
  for (let i = rest.lastIndexOf(':'); i > 0; i = rest.lastIndexOf(':', i - 1)) {
    const path = rest.slice(0, i);
    const ref = rest.slice(i + 1);
    if (exists(path, kind)) {
      if (ref.length === 0) throw new InvalidReferenceError(`${kind}:${path}: empty reference after ':'`);
      return { kind, path, ref };
    }
  }
  throw new NotFoundError(`${kind}: no such ${kind === 'oci' ? 'directory' : 'file'}: ${rest}`);
}

/**
 * Opens an image archive named the way the CLI names it (DESIGN.md "Contracts"): `docker-archive:`,
 * `oci-archive:` (both read in place — the tar is indexed by its headers and members are served as
 * byte ranges, never extracted) or `oci:` (a layout directory).
 */
export async function openArchiveSource(target: string, limits: Limits): Promise<ImageSource> {
  const t = parseArchiveTarget(target);
  if (t.kind === 'oci') return openOciLayoutSource(new DirectoryStore(t.path, `oci:${t.path}`), { ref: t.ref, limits, name: target });
  const store = new TarStore(await indexTar(t.path, limits), limits, `${t.kind}:${t.path}`);
  if (t.kind === 'oci-archive') return openOciLayoutSource(store, { ref: t.ref, limits, name: target });
  return openDockerArchiveSource(store, { ref: t.ref, limits, name: target });
}
