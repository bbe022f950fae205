import type { Limits } from '../limits';
import type { Digest } from '../model';
import type { UnknownClass } from '../model/unknown';
import type { EntryInfo, EntryType, LayerEntry, LayerResult, LayerUnknown } from './layer-reader';
import { ROOT, baseName, canonicalPath, joinPath, parentPath, pathComponents } from './paths';

/**
 * The squashed, read-only, virtual file system of an image: what a container started from it sees,
 * with every path knowing the layer that put it there. Built from {@link LayerResult}s with overlay
 * semantics (OCI image-spec layer.md, "Applying Changesets" and "Whiteouts"):
 *
 * - an upper layer's entry replaces the lower one at the same path;
 * - `.wh.<name>` deletes `<name>` and everything beneath it; `.wh..wh..opq` hides all lower children
 *   of its directory (RELIABILITY.md 9);
 * - a directory replaced by a non-directory hides its lower subtree even without a whiteout, as
 *   extraction does (RELIABILITY.md 11; Trivy #2637);
 * - an entry written beneath a path that is a symlink (`x -> /root/.ssh`, then `x/authorized_keys`)
 *   is stored at the path the tar names; {@link FileTree.resolve} follows links inside the image
 *   root only, and also finds it where a container would see it (RELIABILITY.md 3, 4);
 * - hardlinks share the data of an earlier member of their layer or of the lower layers' file of
 *   that name; one that points nowhere is an unknown, never an empty file (RELIABILITY.md 5, 6).
 *
 * Nothing deleted is forgotten: files hidden or replaced by an upper layer are in {@link removed}
 * with their layer, so secrets and malware that a later layer "deleted" are still reported
 * (RELIABILITY.md 10; Trivy #2194). Names are exact strings — no case folding, no Unicode
 * normalisation — so colliding names never clobber (RELIABILITY.md 8).
 */

/** A path in the squashed tree. */
export interface TreeNode extends EntryInfo {
  /** Canonical absolute path, as the tar names it. */
  readonly path: string;
  /** Digest of the layer that put this node here (for implicit directories: the layer that needed it). */
  readonly layer: Digest;
  /** Position of that layer in the image, 0 = base. */
  readonly layerIndex: number;
  /** A directory no entry named, implied by an entry beneath it. */
  readonly implicit: boolean;
  /** Captured body (regular files and resolved hardlinks the consumers asked for). */
  readonly body?: Buffer;
  readonly truncated?: boolean;
  /** For a resolved hardlink: the file entry whose data it shares. */
  readonly target?: LayerEntry;
  /**
   * Set when the node was written beneath a symlink: the path a container sees it at, after
   * following the links inside the image (RELIABILITY.md 4).
   */
  readonly effectivePath?: string;
}

/** Why a lower node is not in the squashed view. */
export type RemovalReason = 'whiteout' | 'opaque' | 'replaced' | 'overwritten';

/** A non-directory that a lower layer added and an upper layer deleted, hid or replaced. */
export interface RemovedFile {
  readonly path: string;
  /** The layer that added it. */
  readonly layer: Digest;
  readonly layerIndex: number;
  readonly node: TreeNode;
  readonly reason: RemovalReason;
  /** The layer that removed it. */
  readonly removedBy: Digest;
}

type MutableNode = { -readonly [K in keyof TreeNode]: TreeNode[K] } & {
  underSymlink: boolean;
  /** The layer entry a non-implicit node came from (upper-layer hardlinks share its data). */
  entryRef?: LayerEntry;
};

/** How a walk through the tree ended. */
interface Walk {
  /** The canonical path reached (links followed). */
  readonly path: string;
  readonly node: MutableNode | undefined;
}

/** Sentinel of a walk that exceeded the hop budget (a cycle or a too-long chain). */
const LOOP = Symbol('loop');

/** The squashed view of an image's layers. Build it with {@link FileTree.squash}. */
export class FileTree {
  /** Entries the squash or a later resolve could not place, with their layer and reason. */
  readonly unknowns: LayerUnknown[] = [];
  /** Files deleted, hidden or replaced by upper layers, each with the layer that added it. */
  readonly removed: RemovedFile[] = [];
  /** Layer digests, base first. */
  readonly layers: readonly Digest[];

  private readonly nodes = new Map<string, MutableNode>();
  /** Children of each directory path (full paths), for subtree deletion without scanning the map. */
  private readonly kids = new Map<string, Set<string>>();
  /** Where nodes written beneath a symlink are seen by a container (effectivePath → node). */
  private readonly aliases = new Map<string, MutableNode>();
  private readonly unknownKeys = new Set<string>();
  private files_ = 0;

  private constructor(private readonly maxHops: number, layers: readonly LayerResult[]) {
    this.layers = layers.map((l) => l.digest);
    this.nodes.set(ROOT, dirNode(ROOT, -1, '' as Digest, false));
  }

  /**
   * Squashes layers (base first) into one tree. Never throws for odd content: problems become
   * {@link unknowns}. `limits.maxSymlinkHops` bounds every symlink walk (RELIABILITY.md 7).
   */
  static squash(layers: readonly LayerResult[], limits: Pick<Limits, 'maxSymlinkHops'>): FileTree {
    const t = new FileTree(limits.maxSymlinkHops, layers);
    layers.forEach((l, i) => t.apply(l, i));
    t.finish();
    return t;
  }

  /** Regular files (and hardlinks resolved to one) in the squashed view. */
  get fileCount(): number {
    return this.files_;
  }

  /** The node at exactly this path, links not followed (like lstat). Accepts relative or absolute names. */
  get(path: string): TreeNode | undefined {
    const p = canonicalPath(path);
    return p === undefined ? undefined : this.nodes.get(p);
  }

  /**
   * The node a container would reach at `path`: symlinks in every component (the last one too) are
   * followed inside the image — absolute targets re-rooted at the image root, `..` clamped at it —
   * for at most `maxSymlinkHops` hops. A cycle or a longer chain gives `undefined` and an unknown
   * (RELIABILITY.md 7); so does a path through a non-directory; a dangling link gives `undefined`.
   */
  resolve(path: string): TreeNode | undefined {
    const w = this.walkFrom(path);
    return w === undefined ? undefined : w.node;
  }

  /** The canonical path `path` leads to after following symlinks, or `undefined` for a cycle. */
  realPath(path: string): string | undefined {
    return this.walkFrom(path)?.path;
  }

  /** The captured body of the file at `path` (symlinks and hardlinks followed), or `undefined`. */
  readFile(path: string): Buffer | undefined {
    const n = this.resolve(path);
    return n && (n.type === 'file' || n.type === 'hardlink') ? n.body : undefined;
  }

  /** Direct children of the directory at `path` (the directory's own symlinks followed). */
  list(path: string): TreeNode[] {
    const dir = this.walkFrom(path);
    if (!dir?.node || dir.node.type !== 'dir') return [];
    const out: TreeNode[] = [];
    for (const c of this.kids.get(dir.path) ?? []) {
      const n = this.nodes.get(c);
      if (n) out.push(n);
    }
    return out;
  }

  /** Regular files and resolved hardlinks, in no particular order. */
  *files(): IterableIterator<TreeNode> {
    for (const n of this.nodes.values()) if (isFile(n)) yield n;
  }

  /** Every node, directories and links included. */
  *entries(): IterableIterator<TreeNode> {
    yield* this.nodes.values();
  }

  /** Same as {@link files}. */
  [Symbol.iterator](): IterableIterator<TreeNode> {
    return this.files();
  }

  private apply(l: LayerResult, li: number): void {
    const by = l.digest;
    // containerd links each hardlink when it meets it: a target this layer had not written yet
    // must be a non-directory of the lower layers, or the whole apply fails.
    // The target's parent is resolved through the lower layers' symlinks (hardlinkRootPath).
    for (const t of l.lowerLinks ?? []) {
      const dir = this.walk(parentPath(t), true);
      const n = dir === LOOP ? undefined : this.nodes.get(joinPath(dir.path, baseName(t)));
      if (!n || n.type === 'dir') this.unknown(by, t, `a hardlink names ${t}, which no earlier member or lower layer holds as a file`, 'runtime-refuses');
    }
    // Whiteouts and opaque markers only act on lower layers (layer.md), so they go first.
    for (const p of l.opaqueDirs) this.clearChildren(p, li, 'opaque', by);
    for (const p of l.whiteouts) {
      const n = this.nodes.get(p);
      if (n && p !== ROOT) {
        this.removeNode(p, n, 'whiteout', by);
        this.kids.get(parentPath(p))?.delete(p);
      }
    }
    // Hardlinks to no earlier member of their layer: the lower layers' file of that name, as
    // extraction onto the lower snapshot would link it — looked up by exact name, no symlinks.
    const lowerTargets = new Map<LayerEntry, LayerEntry>();
    for (const e of l.entries.values()) {
      if (e.type !== 'hardlink' || e.linkTarget) continue;
      const n = this.nodes.get(e.linkname ?? '');
      const t = n?.type === 'file' ? n.entryRef : n?.type === 'hardlink' ? n.target : undefined;
      if (t) lowerTargets.set(e, t);
      // Looked up by exact name (RELIABILITY.md 5: never through a symlink chain); whether the
      // runtime refuses the layer is decided from lowerLinks above.
      else this.unknown(by, e.path, `hardlink target ${e.linkname} is not a file in this or a lower layer`);
    }
    for (const e of l.entries.values()) this.insert(e, li, lowerTargets.get(e) ?? e.linkTarget);
    // The runtime creates the parent directories of whiteouts and opaque markers (containerd
    // mkparent runs before the whiteout is recognised), through symlinks as fs.RootPath does.
    for (const p of [...l.opaqueDirs, ...l.whiteouts.map(parentPath)]) {
      const w = p === ROOT ? LOOP : this.walk(p, true);
      if (w !== LOOP && w.node === undefined && w.path !== ROOT) this.ensureDir(w.path, li, by);
    }
  }

  private insert(e: LayerEntry, li: number, target: LayerEntry | undefined): void {
    const p = e.path;
    const node = entryNode(e, li, target);
    if (node.type === 'hardlink' && target && e.wanted && !target.body) {
      this.unknown(e.layer, p, `hardlink body not captured: its target ${target.path} was not requested`);
    }
    if (p === ROOT) {
      this.nodes.set(ROOT, node);
      return;
    }
    node.underSymlink = this.ensureParents(p, li, e.layer);
    const old = this.nodes.get(p);
    if (old) {
      if (old.layerIndex < li) {
        if (old.type !== 'dir') this.recordRemoved(old, 'overwritten', e.layer);
        else if (node.type !== 'dir') this.clearChildren(p, li, 'replaced', e.layer);
      } else if (old.type === 'dir' && node.type !== 'dir' && this.kids.get(p)?.size) {
        this.unknown(e.layer, p, 'entries beneath a non-directory of the same layer');
      }
    }
    this.nodes.set(p, node);
    this.addKid(parentPath(p), p);
  }

  /**
   * Makes sure the parents of `p` exist. Missing ones become implicit directories; a lower
   * non-directory in the way is replaced (and recorded); a symlink in the way is kept — the entry is
   * stored under the link's path and marked, to be aliased where the link leads (case 4).
   * Returns whether `p` lies beneath a symlink.
   */
  private ensureParents(p: string, li: number, layer: Digest): boolean {
    let dir = parentPath(p);
    const missing: string[] = [];
    let under: boolean;
    for (;;) {
      const n = this.nodes.get(dir);
      if (n === undefined) {
        missing.push(dir);
        dir = parentPath(dir);
        continue;
      }
      if (n.type === 'dir') under = n.underSymlink;
      else if (n.type === 'symlink') under = true;
      else if (n.layerIndex < li) {
        this.recordRemoved(n, 'replaced', layer);
        const d = dirNode(dir, li, layer, n.underSymlink);
        this.nodes.set(dir, d);
        under = d.underSymlink;
      } else {
        under = n.underSymlink; // a non-directory of this very layer: leave it as the tar says
      }
      break;
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      this.nodes.set(missing[i], dirNode(missing[i], li, layer, under));
      this.addKid(parentPath(missing[i]), missing[i]);
    }
    return under;
  }

  /** An implicit directory at `p` (and its parents) unless something is already there. */
  private ensureDir(p: string, li: number, layer: Digest): void {
    if (this.nodes.has(p)) return;
    const under = this.ensureParents(p, li, layer);
    this.nodes.set(p, dirNode(p, li, layer, under));
    this.addKid(parentPath(p), p);
  }

  private addKid(dir: string, p: string): void {
    let s = this.kids.get(dir);
    if (s === undefined) this.kids.set(dir, (s = new Set()));
    s.add(p);
  }

  /** Removes the lower-layer children of `dir` and their subtrees. */
  private clearChildren(dir: string, li: number, reason: RemovalReason, by: Digest): void {
    const set = this.kids.get(dir);
    if (!set) return;
    for (const c of [...set]) {
      const n = this.nodes.get(c);
      if (!n || n.layerIndex >= li) continue;
      this.removeNode(c, n, reason, by);
      set.delete(c);
    }
  }

  /** Deletes a node and everything beneath it, recording the non-directories. */
  private removeNode(p: string, n: MutableNode, reason: RemovalReason, by: Digest): void {
    if (n.type !== 'dir') this.recordRemoved(n, reason, by);
    const set = this.kids.get(p);
    if (set) {
      this.kids.delete(p);
      for (const c of set) {
        const cn = this.nodes.get(c);
        if (cn) this.removeNode(c, cn, reason, by);
      }
    }
    this.nodes.delete(p);
  }

  private recordRemoved(n: MutableNode, reason: RemovalReason, by: Digest): void {
    this.removed.push({ path: n.path, layer: n.layer, layerIndex: n.layerIndex, node: n, reason, removedBy: by });
  }

  private finish(): void {
    const implied: [string, number, Digest][] = [];
    for (const n of this.nodes.values()) {
      if (n.underSymlink) {
        // Where a container sees it: the parent directory with its links followed, inside the image.
        const dir = this.walk(parentPath(n.path), true);
        if (dir === LOOP) {
          this.unknown(n.layer, n.path, 'written beneath a symlink loop');
        } else {
          // containerd's mkparent creates the directories the link leads to when they are missing.
          if (dir.node === undefined && dir.path !== ROOT) implied.push([dir.path, n.layerIndex, n.layer]);
          const eff = joinPath(dir.path, baseName(n.path));
          if (eff !== n.path) {
            n.effectivePath = eff;
            const a = this.aliases.get(eff);
            if (!a || a.layerIndex < n.layerIndex) this.aliases.set(eff, n);
          }
        }
      }
      if (isFile(n)) this.files_++;
    }
    for (const [p, li, layer] of implied) {
      if (this.walk(p, true) !== LOOP && (this.walk(p, true) as Walk).node === undefined && !this.nodes.has(p)) this.ensureDir(p, li, layer);
    }
    for (const n of this.nodes.values()) {
      if (n.type === 'symlink' && this.walk(n.path, true) === LOOP) {
        this.unknown(n.layer, n.path, `symlink loop or a chain longer than ${this.maxHops} links`);
      }
    }
  }

  private walkFrom(path: string): Walk | undefined {
    const p = canonicalPath(path);
    if (p === undefined) return undefined;
    const w = this.walk(p, true);
    if (w !== LOOP) return w;
    const n = this.nodes.get(p);
    this.unknown(n?.layer ?? '', p, `symlink loop or a chain longer than ${this.maxHops} links`);
    return undefined;
  }

  /**
   * Follows `p` component by component from the image root. Symlink targets are pushed back as
   * components: absolute ones restart at the image root, `..` stops at it. A missing intermediate
   * component is taken lexically (it may hold an aliased entry); a non-directory in the middle ends
   * the walk with no node.
   */
  private walk(p: string, followLast: boolean): Walk | typeof LOOP {
    const stack = pathComponents(p).reverse();
    let cur = ROOT;
    let hops = 0;
    let node: MutableNode | undefined = this.nodes.get(ROOT);
    while (stack.length > 0) {
      const c = stack.pop() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur = parentPath(cur);
        node = this.nodes.get(cur);
        continue;
      }
      const cand = joinPath(cur, c);
      const last = stack.length === 0;
      let n = this.nodes.get(cand);
      if (this.aliases.size > 0) {
        const a = this.aliases.get(cand);
        if (a && (!n || a.layerIndex > n.layerIndex)) n = a;
      }
      if (n?.type === 'symlink' && (!last || followLast)) {
        if (++hops > this.maxHops) return LOOP;
        const t = n.linkname ?? '';
        if (t.startsWith('/')) cur = ROOT;
        const parts = t.split('/');
        for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]);
        node = this.nodes.get(cur);
        continue;
      }
      if (!last && n && n.type !== 'dir') {
        // A file used as a directory (ENOTDIR): nothing is there.
        stack.reverse();
        return { path: [cand, ...stack].join('/'), node: undefined };
      }
      cur = cand;
      node = n;
    }
    return { path: cur, node };
  }

  private unknown(layer: string, path: string, reason: string, cls?: UnknownClass): void {
    const k = `${layer}\0${path}\0${reason}`;
    if (this.unknownKeys.has(k)) return;
    this.unknownKeys.add(k);
    this.unknowns.push(cls ? { layer, path, reason, class: cls } : { layer, path, reason });
  }
}

function isFile(n: TreeNode): boolean {
  return n.type === 'file' || (n.type === 'hardlink' && n.target !== undefined);
}

/**
 * A tree node: the fields every node has are own properties; the ones most nodes lack (`linkname`,
 * `typeflag`, `sparse`, `body`, `truncated`, `target`, `effectivePath`, `entryRef`) are absent until
 * set, not stored as `undefined` — eight fewer slots per path of the image (issue 16 item 3).
 */
class Node {
  declare linkname?: string;
  declare typeflag?: string;
  declare sparse?: boolean;
  declare body?: Buffer;
  declare truncated?: boolean;
  declare target?: LayerEntry;
  declare effectivePath?: string;
  declare entryRef?: LayerEntry;
  constructor(
    readonly path: string,
    readonly type: EntryType,
    readonly size: number,
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    readonly mtime: number,
    readonly layer: Digest,
    readonly layerIndex: number,
    readonly implicit: boolean,
    public underSymlink: boolean,
  ) {}
}

function dirNode(path: string, layerIndex: number, layer: Digest, underSymlink: boolean): MutableNode {
  return new Node(path, 'dir', 0, 0o755, 0, 0, 0, layer, layerIndex, true, underSymlink);
}

/** A node for a layer entry; it keeps the entry (upper-layer hardlinks share its data). */
function entryNode(e: LayerEntry, li: number, target: LayerEntry | undefined): MutableNode {
  const hardlink = e.type === 'hardlink';
  const data = hardlink ? target : e;
  const n: MutableNode = new Node(e.path, e.type, hardlink ? (target?.size ?? 0) : e.size, e.mode, e.uid, e.gid, e.mtime, e.layer, li, false, false);
  if (e.linkname !== undefined) n.linkname = e.linkname;
  if (e.typeflag !== undefined) n.typeflag = e.typeflag;
  if (e.sparse !== undefined) n.sparse = e.sparse;
  if (data?.body !== undefined) n.body = data.body;
  if (data?.truncated !== undefined) n.truncated = data.truncated;
  if (hardlink && target !== undefined) n.target = target;
  if (e.type === 'file') n.entryRef = e; // read only for files (a hardlink to a lower file)
  return n;
}
