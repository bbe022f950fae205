/**
 * The check plug-ins beyond packages (DESIGN.md "checks/": malware, secrets, misconfig, base-image;
 * checks.ts is the explicit list). Two shapes:
 * - a {@link FileCheck} examines the file bodies of ONE layer as they stream by — so its findings are cached with the layer
 *   (lib/engine/scan-image.ts) and a file deleted by a later layer is still reported with its layer
 *   (RELIABILITY.md 10);
 * - an {@link ImageCheck} looks at the whole image: its config, history and squashed tree.
 * Both declare a name and a version (part of the layer-cache key / stored evaluation) and never throw
 * on bad input: what they cannot read becomes an {@link Unknown}.
 */
import type { FileTree } from '../layers/file-tree';
import type { EntryInfo } from '../layers/layer-reader';
import type { Digest, Finding, ImageConfig, PluginId, Unknown } from '../model';

/** What a check found. Findings carry `layer` and `path` when they come from a file. */
export interface CheckResult {
  readonly findings: readonly Finding[];
  readonly unknowns: readonly Unknown[];
}

/**
 * Where a {@link FileCheck} receives one body: every byte, in order, through `write` — the chunk may
 * be a view into a buffer that is reused after the call, so copy what you keep — then `end`.
 * Neither may block; asynchronous work (a clamd round trip) is awaited in {@link LayerFileCheck.finish}.
 */
export interface FileSink {
  write(chunk: Buffer): void;
  end(): void;
}

/** One file check's pass over one layer. */
export interface LayerFileCheck {
  /**
   * Offered every regular-file member of the layer as the tar streams by, in tar order: every
   * earlier member of a path that appears several times (the blob ships every body, RELIABILITY.md
   * 53), sparse files with their logical content. Hardlinks are not offered: their bytes are their
   * target's, streamed as the target (same layer) or with a lower layer. Return a sink to examine
   * the body, `undefined` to pass (then the body is not counted as examined by this check).
   */
  file(path: string, info: EntryInfo): FileSink | undefined;
  /** After the layer's last member: the findings, and an unknown for everything not examined. */
  finish(): Promise<CheckResult>;
  /** The layer could not be read to the end: release what is held (sockets); `finish` is not called. */
  abort(): void;
}

/**
 * A content check over one layer's files (malware, secrets): it examines bodies as they stream by,
 * never holding one whole, so every byte of a multi-GB layer is examined in bounded memory (issue 13,
 * item 2). The findings are cached with the layer.
 */
export interface FileCheck extends PluginId {
  readonly kind: 'file';
  /** Starts a pass over the layer `layer` (its digest goes into findings and unknowns). */
  openLayer(layer: Digest): LayerFileCheck;
}

/** One whole body, for {@link checkFiles} (tests, tools, a directory read in one go). */
export interface CheckFile {
  /** Canonical absolute path in the image. */
  readonly path: string;
  readonly info: EntryInfo;
  readonly body: Buffer;
}

/**
 * Runs a file check over whole bodies by streaming each through its sink in `chunkBytes` pieces (the
 * same path the layer reader takes). For tests and tools; a scan streams the layer instead.
 */
export async function checkFiles(check: FileCheck, layer: Digest, files: readonly CheckFile[], chunkBytes = 64 * 1024): Promise<CheckResult> {
  const run = check.openLayer(layer);
  for (const f of files) {
    const sink = run.file(f.path, f.info);
    if (!sink) continue;
    for (let off = 0; off < f.body.length; off += chunkBytes) sink.write(f.body.subarray(off, Math.min(off + chunkBytes, f.body.length)));
    sink.end();
  }
  return run.finish();
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
