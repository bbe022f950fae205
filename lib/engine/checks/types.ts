/**
 * The check plug-ins beyond packages (DESIGN.md "checks/": malware, secrets, misconfig, base-image;
 * checks.ts is the explicit list). Two shapes:
 * - a {@link FileCheck} looks at file bodies of ONE layer — so its findings are cached with the layer
 *   (lib/engine/scan-image.ts) and a file deleted by a later layer is still reported with its layer
 *   (RELIABILITY.md 10);
 * - an {@link ImageCheck} looks at the whole image: its config, history and squashed tree.
 * Both declare a name and a version (part of the layer-cache key / stored evaluation) and never throw
 * on bad input: what they cannot read becomes an {@link Unknown}.
 */
import type { FileTree } from '../layers/file-tree';
import type { EntryInfo } from '../layers/layer-reader';
import type { Digest, Finding, ImageConfig, PluginId, Unknown } from '../model';

/** One file body handed to a {@link FileCheck}. */
export interface CheckFile {
  /** Canonical absolute path in the image. */
  readonly path: string;
  readonly layer: Digest;
  readonly info: EntryInfo;
  /** The captured bytes (at most `maxFileReadBytes`). */
  readonly body: Buffer;
  /** True when `body` is only the start of the file. */
  readonly truncated: boolean;
}

/** What a check found. Findings carry `layer` and `path` when they come from a file. */
export interface CheckResult {
  readonly findings: readonly Finding[];
  readonly unknowns: readonly Unknown[];
}

/** A content check over one layer's files (malware, secrets). */
export interface FileCheck extends PluginId {
  readonly kind: 'file';
  /**
   * Which bodies this check needs, asked once per regular file as the layer streams by. Say yes only
   * to what can matter (the layer benchmark measures the cost of every yes).
   */
  wants(path: string, info: EntryInfo): boolean;
  /** Examines the wanted files of one layer. May be async (a clamd round trip). */
  scan(files: readonly CheckFile[]): Promise<CheckResult>;
}

/** What an {@link ImageCheck} sees. */
export interface ImageCheckContext {
  readonly config: ImageConfig;
  /** The squashed tree: what a container started from the image sees. */
  readonly tree: FileTree;
  /** Layer digests, base first (aligned with `config.rootfs.diff_ids`). */
  readonly layers: readonly Digest[];
  /** The image's manifest digest (for base-image findings). */
  readonly manifestDigest: Digest;
}

/** A check over the whole image (misconfiguration, base image). */
export interface ImageCheck extends PluginId {
  readonly kind: 'image';
  /** Bodies this check needs from the squashed tree (e.g. `/etc/ssh/sshd_config`); default none. */
  wants?(path: string, info: EntryInfo): boolean;
  run(ctx: ImageCheckContext): Promise<CheckResult>;
}

export type Check = FileCheck | ImageCheck;
