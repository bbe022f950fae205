import { LimitExceededError } from '../errors';

/**
 * Paths of the virtual image tree.
 *
 * Every tar entry name is turned into one canonical absolute path before anything else looks at it:
 * `/` separated, no empty, `.` or `..` components, starting with `/`, the root itself being `/`.
 * Resolution is purely lexical and clamped at the root — `../../x` is `/x` — so no entry name can
 * ever address anything outside the image (RELIABILITY.md 1; node-tar CVE-2021-32804, stereoscope
 * CVE-2024-24579). Nothing here touches the host file system: these are names in a map.
 *
 * Names are kept as exact strings: no case folding and no Unicode normalisation (RELIABILITY.md 8,
 * node-tar CVE-2026-23950). A backslash is an ordinary character in a Linux file name, so
 * `C:..\x` is a single component named exactly that, not a Windows path.
 */

/** The root of the virtual tree. */
export const ROOT = '/';

/**
 * The canonical absolute path of a tar entry name, or `undefined` when the name can never be a file
 * name (it contains NUL, which no POSIX file name can; or it is empty). Leading `/` and `./` are
 * stripped, `.` components dropped and `..` resolved lexically, clamped at the root.
 *
 * Throws {@link LimitExceededError} (`maxPathDepth`) when the resolved path has more components than
 * `maxDepth` (RELIABILITY.md 13): the depth is checked while resolving, so the work stays linear in
 * the name's length.
 */
export function canonicalPath(name: string, maxDepth = Number.POSITIVE_INFINITY): string | undefined {
  if (name.length === 0 || name.includes('\0')) return undefined;
  // Fast path: already canonical-looking relative or absolute names without dot components or
  // doubled separators (the overwhelming majority of real entries, e.g. `usr/lib/x.so`).
  if (!name.includes('//') && !/(^|\/)\.\.?(\/|$)/.test(name)) {
    let s = name.charCodeAt(0) === 47 ? name : `/${name}`;
    if (s.length > 1 && s.charCodeAt(s.length - 1) === 47) s = s.slice(0, -1);
    if (maxDepth !== Number.POSITIVE_INFINITY) checkDepth(s, maxDepth);
    return s;
  }
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      out.pop(); // clamped: popping an empty stack stays at the root
      continue;
    }
    out.push(c);
    if (out.length > maxDepth) throw new LimitExceededError('maxPathDepth', maxDepth, `path deeper than ${maxDepth} components`);
  }
  return out.length === 0 ? ROOT : `/${out.join('/')}`;
}

/**
 * The depth check of `canonicalPath(name, maxDepth)` for a caller that already holds
 * `canonical = canonicalPath(name)`: the same result, the same {@link LimitExceededError}.
 */
export function canonicalPathWithin(name: string, canonical: string | undefined, maxDepth: number): string | undefined {
  if (canonical === undefined || maxDepth === Number.POSITIVE_INFINITY) return canonical;
  // Without `..`, no component is ever popped: the deepest point is the result's own depth.
  if (name.includes('..')) return canonicalPath(name, maxDepth);
  checkDepth(canonical, maxDepth);
  return canonical;
}

function checkDepth(p: string, maxDepth: number): void {
  if (p.length <= maxDepth) return; // each component is at least `/x`: a short path cannot be deep
  let depth = 0;
  for (let i = 0; i < p.length; i++) {
    if (p.charCodeAt(i) === 47 && ++depth > maxDepth) {
      throw new LimitExceededError('maxPathDepth', maxDepth, `path deeper than ${maxDepth} components`);
    }
  }
}

/** The parent directory of a canonical path (`/` for `/` and for top-level names). */
export function parentPath(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? ROOT : p.slice(0, i);
}

/** The last component of a canonical path (empty for the root). */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** `dir` + `/` + `name` for a canonical directory and a single component. */
export function joinPath(dir: string, name: string): string {
  return dir === ROOT ? `/${name}` : `${dir}/${name}`;
}

/**
 * Where a symlink target points, as a canonical path inside the image: an absolute target is
 * re-rooted at the image root (a container's `/` is the image root, never the host's), a relative
 * one is taken from the link's directory; `..` is clamped at the root (RELIABILITY.md 3, 4).
 * Only lexical: symlinks along the way are not followed (see FileTree.resolve for that).
 */
export function linkTargetPath(linkPath: string, target: string): string | undefined {
  return canonicalPath(target.startsWith('/') ? target : `${parentPath(linkPath)}/${target}`);
}

/**
 * True when canonical path `p` is `root` or lies beneath it. The comparison includes the separator,
 * so `/root-evil` is not inside `/root` (RELIABILITY.md 2; stereoscope #223).
 */
export function isWithin(p: string, root: string): boolean {
  if (root === ROOT) return p.startsWith('/');
  return p === root || (p.startsWith(root) && p.charCodeAt(root.length) === 47);
}

/** Components of a canonical path (`[]` for the root). */
export function pathComponents(p: string): string[] {
  return p === ROOT ? [] : p.slice(1).split('/');
}
