/**
 * The runtime model as it was before the fast path (commit e113f7e), kept verbatim as the reference
 * that test/engine/layers/runtime-model.test.ts compares the current one against. Not used by lib.
 */
import { TarFormatError } from '../../../../lib/engine/errors';
import { ROOT, baseName, canonicalPath, joinPath, parentPath } from '../../../../lib/engine/layers/paths';
import type { TarHeader } from '../../../../lib/engine/layers/tar';

/**
 * What containerd's applier refuses inside one layer, decided while the layer streams by, so that
 * a layer the runtime would not apply is never judged (RELIABILITY.md 54, 58; issue 13 item 3).
 *
 * containerd applies a layer member by member (pkg/archive/tar.go `applyNaive`, `createTarFile`,
 * `mkparent`, `hardlinkRootPath`, `validateWhiteout`; continuity `fs.RootPath`), and one failing
 * member fails the whole layer. This model keeps the kind of every path the layer wrote so far and
 * throws {@link TarFormatError} where containerd's apply would fail whatever the lower layers hold:
 * - a typeflag other than file, directory, link, symlink, device or FIFO ("unhandled tar header
 *   type": `7` contiguous, `S` old GNU sparse, `D` dumpdir, `V`, `M`, `N`, unknown letters) — except
 *   on a name that resolves to the root or is a whiteout, which containerd skips before looking;
 * - a whiteout of `""`, `.` or `..` (`.wh.`, `.wh..`, `.wh...`: "invalid whiteout name");
 * - a member beneath a non-directory this layer wrote (`mkparent`/`RootPath`: ENOTDIR), parents
 *   resolved through this layer's symlinks as `fs.RootPath` does (at most 255 links);
 * - a symlink with an empty target (symlink(2): ENOENT);
 * - a hardlink to a directory, or to its own path (removed just before linking: ENOENT);
 * - a device number outside 0..2^32-1 (checked by the parser, which sees the raw header).
 * A hardlink whose target this layer never wrote may point into a lower layer: FileTree.squash
 * decides that one (its unknown has class `runtime-refuses`).
 *
 * Like the Go witness (test/witness/tarlist), whiteouts are applied to lower layers only (OCI
 * image-spec layer.md), so they remove nothing from this model.
 */

type Kind = 'dir' | 'symlink' | 'other';

interface Node {
  readonly kind: Kind;
  readonly link?: string;
  /** The canonical tar name of the member that created it (the layer reader's key). */
  key?: string;
}

const MAX_LINKS = 255;
const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';
const HANDLED = new Set(['0', '\0', '1', '2', '3', '4', '5', '6']);

/** The per-layer model; feed it every member in archive order. */
export class RuntimeModel {
  private readonly nodes = new Map<string, Node>();
  /** Children of each directory, so that removing a subtree costs its size, not the layer's. */
  private readonly kids = new Map<string, Set<string>>();

  /**
   * Resolved targets of this layer's hardlinks that this layer had not written when they were
   * linked: they must exist in a lower layer (FileTree.squash checks), else the apply fails.
   */
  readonly lowerLinks: string[] = [];
  /**
   * Members (by canonical tar name, the layer reader's key) the last member removed beneath the
   * path it replaced (containerd `os.RemoveAll`).
   */
  removedBeneath: string[] = [];
  /** Which resolved path each canonical tar name last created. */
  private readonly keyPath = new Map<string, string>();
  private key: string | undefined;

  /**
   * Checks one member and records it; throws {@link TarFormatError} where containerd fails.
   * Returns whether containerd reads the member's body (a regular file it creates): only then do
   * Go's sparse data checks (errMissData, errUnrefData) fire.
   */
  member(h: TarHeader): boolean {
    if (this.removedBeneath.length > 0) this.removedBeneath = [];
    const p = canonicalPath(h.name);
    this.key = p;
    if (p === undefined || p === ROOT) return false; // containerd: "file ignored: resolved to root"
    const rp = this.resolve(parentPath(p), h);
    const base = baseName(p);
    const path = joinPath(rp, base);
    if (path === ROOT) return false;
    if (rp !== ROOT) this.mkparent(rp, h);
    if (base === OPAQUE) return false;
    if (base.startsWith(WH)) {
      const orig = base.slice(WH.length);
      if (orig === '' || orig === '.' || orig === '..') refuse(h, `invalid whiteout name ${JSON.stringify(base)}`);
      return false;
    }
    if (!HANDLED.has(h.typeflag)) refuse(h, `unhandled tar header type ${JSON.stringify(h.typeflag)}`);
    const old = this.nodes.get(path);
    const isDir = h.kind === 'dir';
    if (old && !(old.kind === 'dir' && isDir)) this.removeAll(path);
    switch (h.kind) {
      case 'dir':
        this.set(path, { kind: 'dir' });
        return false;
      case 'symlink':
        if (h.linkname === '') refuse(h, 'symlink with an empty target');
        this.set(path, { kind: 'symlink', link: h.linkname });
        return false;
      case 'hardlink': {
        const cut = h.linkname.lastIndexOf('/');
        const lrp = this.resolve(cut < 0 ? '' : h.linkname.slice(0, cut + 1), h);
        const target = canonicalPath(`${lrp}/${h.linkname.slice(cut + 1)}`) ?? ROOT;
        const t = target === ROOT ? ({ kind: 'dir' } as Node) : this.nodes.get(target);
        if (t?.kind === 'dir') refuse(h, `hardlink to a directory (${target})`);
        if (target === path) refuse(h, 'hardlink to itself');
        if (t === undefined) this.lowerLinks.push(target);
        this.set(path, t ?? { kind: 'other' });
        return false;
      }
      default:
        this.set(path, { kind: 'other' });
        return h.kind === 'file';
    }
  }

  /** continuity fs.RootPath within this layer: symlinks followed, `..` clamped, missing = lexical. */
  private resolve(p: string, h: TarHeader): string {
    const stack = p.split('/').reverse();
    let cur = ROOT;
    let links = 0;
    while (stack.length > 0) {
      const c = stack.pop() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur = parentPath(cur);
        continue;
      }
      const here = cur === ROOT ? undefined : this.nodes.get(cur);
      if (here && here.kind !== 'dir') refuse(h, `${cur} is not a directory`);
      const cand = joinPath(cur, c);
      const n = this.nodes.get(cand);
      if (n?.kind === 'symlink') {
        if (++links > MAX_LINKS) refuse(h, 'too many levels of symbolic links');
        const t = n.link as string;
        if (t.startsWith('/')) cur = ROOT;
        const parts = t.split('/');
        for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
        continue;
      }
      cur = cand;
    }
    return cur;
  }

  private mkparent(p: string, h: TarHeader): void {
    // Iterative: a hostile path may be thousands of components deep.
    const missing: string[] = [];
    let q = p;
    for (;;) {
      const n = this.nodes.get(q);
      if (n) {
        if (n.kind !== 'dir') refuse(h, `${q} is not a directory`);
        break;
      }
      missing.push(q);
      q = parentPath(q);
      if (q === ROOT) break;
    }
    const key = this.key;
    this.key = undefined;
    for (let i = missing.length - 1; i >= 0; i--) this.set(missing[i], { kind: 'dir' });
    this.key = key;
  }

  private set(p: string, n: Node): void {
    if (this.key !== undefined) {
      n = { ...n, key: this.key };
      this.keyPath.set(this.key, p);
    }
    if (!this.nodes.has(p)) {
      const dir = parentPath(p);
      let s = this.kids.get(dir);
      if (s === undefined) this.kids.set(dir, (s = new Set()));
      s.add(p);
    }
    this.nodes.set(p, n);
  }

  private removeAll(p: string): void {
    this.kids.get(parentPath(p))?.delete(p);
    const stack = [p];
    while (stack.length > 0) {
      const q = stack.pop() as string;
      const n = this.nodes.get(q);
      this.nodes.delete(q);
      if (q !== p && n?.key !== undefined && this.keyPath.get(n.key) === q) this.removedBeneath.push(n.key);
      const s = this.kids.get(q);
      if (s) {
        this.kids.delete(q);
        stack.push(...s);
      }
    }
  }
}

function refuse(h: TarHeader, why: string): never {
  throw new TarFormatError(`the container runtime refuses this layer: ${why} (member ${JSON.stringify(h.name)})`, h.offset);
}
