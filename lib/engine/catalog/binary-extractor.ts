import type { BodyExtractor } from '../layers/layer-reader';
import { findElfSection } from './cargo/auditable';
import { BuildInfoExtractor, GO_WHOLE_BINARY_BYTES, isExecutable, readGoBuildInfo } from './golang/buildinfo';

/** Files shorter than an ELF header (64 bytes) are no executable worth a look. */
export const MIN_EXECUTABLE_BYTES = 64;

/**
 * Finds Go and Rust (cargo-auditable) binaries by content wherever they are in the tree (issue 14
 * item 4: `/usr/lib/cni/bridge` is a Go binary outside any `bin` directory), as Syft's and Trivy's
 * binary catalogers do by file magic rather than by path. It sees every byte of one file as the
 * layer streams (a {@link BodyExtractor}) and keeps the body only when it is one of those binaries:
 *
 * - the first 4 bytes decide: a file that is not an executable ({@link isExecutable}: ELF, Mach-O,
 *   PE) costs nothing more — nothing is buffered, nothing searched;
 * - an executable of at most {@link GO_WHOLE_BINARY_BYTES} is buffered while it streams (one file at
 *   a time) and at its end kept whole only if it carries Go build info (the 16-aligned
 *   `\xff Go buildinf:` magic, debug/buildinfo) or a cargo-auditable `.dep-v0` ELF section; any other
 *   executable (a C library, a C program) is dropped: only the transient buffer and one search of it;
 * - a larger executable goes to {@link BuildInfoExtractor}, which searches the stream for the build
 *   info and keeps a bounded window from it, never the binary. A cargo-auditable section in an
 *   executable larger than that is not looked for (its offset is in the section table at the end of
 *   the file, after the section has streamed by).
 */
export class ExecutableExtractor implements BodyExtractor {
  private readonly stream: BuildInfoExtractor | undefined;
  private readonly head = Buffer.alloc(4);
  private headFill = 0;
  private state: 'undecided' | 'executable' | 'other' = 'undecided';
  /** The first bytes, until the magic decides. */
  private pending: Buffer[] = [];
  /** An executable's bytes: allocated at the declared size once the magic says so, filled in place. */
  private whole: Buffer | undefined;
  private fill = 0;
  /** More bytes than declared (a file growing under a directory scan): the body is not what was declared. */
  private overflow = false;

  constructor(private readonly size: number) {
    if (size > GO_WHOLE_BINARY_BYTES) this.stream = new BuildInfoExtractor(size);
  }

  write(chunk: Buffer): void {
    if (this.stream) {
      this.stream.write(chunk);
      return;
    }
    if (this.state === 'other' || chunk.length === 0) return;
    if (this.state === 'undecided') {
      this.headFill += chunk.copy(this.head, this.headFill, 0, Math.min(chunk.length, 4 - this.headFill));
      if (this.headFill < 4) {
        this.pending.push(Buffer.from(chunk));
        return;
      }
      this.state = isExecutable(this.head) ? 'executable' : 'other';
      if (this.state === 'other') {
        this.pending = [];
        return;
      }
      this.whole = Buffer.allocUnsafe(this.size);
      for (const p of this.pending) this.append(p);
      this.pending = [];
    }
    this.append(chunk);
  }

  private append(chunk: Buffer): void {
    if (this.fill + chunk.length > this.whole!.length) {
      this.overflow = true;
      return;
    }
    this.fill += chunk.copy(this.whole!, this.fill);
  }

  end(): { readonly body: Buffer; readonly truncated: boolean } | undefined {
    if (this.stream) return this.stream.end();
    if (this.state !== 'executable' || this.overflow) return undefined;
    const body = this.whole!.subarray(0, this.fill);
    this.whole = undefined;
    // An error from the build info reader is kept too: the Go cataloger records it as an unknown.
    if (readGoBuildInfo(body) !== null || findElfSection(body, '.dep-v0') !== undefined) return { body, truncated: false };
    return undefined;
  }
}
