import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileTree } from '../../lib/engine/layers/file-tree';
import { readLayer } from '../../lib/engine/layers/layer-reader';
import { resolveLimits } from '../../lib/engine/limits';
import { MediaType, type Digest } from '../../lib/engine/model';

/**
 * Both sides of the differential harness (RELIABILITY.md 58): the Go witness
 * (test/witness/tarlist, Go's archive/tar + a model of containerd's applier) and our product code
 * (readLayer + FileTree.squash), each turning one tar into the same listing — or a refusal.
 */

const SRC = join(__dirname, '..', 'witness', 'tarlist');

/** True when a Go toolchain is on PATH. */
export function haveGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore', env: goEnv(tmpdir()) });
    return true;
  } catch {
    return false;
  }
}

function goEnv(dir: string): NodeJS.ProcessEnv {
  // Stdlib only: no module proxy, no network, caches in a temp dir, the installed toolchain.
  return { ...process.env, GOCACHE: join(dir, 'gocache'), GOPATH: join(dir, 'gopath'), GOTOOLCHAIN: 'local', GOFLAGS: '', GOPROXY: 'off', CGO_ENABLED: '0' };
}

/** Builds the witness once per source hash (cached in the temp dir) and returns the binary's path. */
export function buildWitness(): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'main.go']) h.update(readFileSync(join(SRC, f)));
  const dir = join(tmpdir(), `trustctl-tarlist-${h.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'tarlist');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  execFileSync('go', ['build', '-o', tmp, '.'], { cwd: SRC, env: goEnv(dir), stdio: 'pipe' });
  renameSync(tmp, bin); // atomic: concurrent test workers may build at once
  return bin;
}

/** The long-lived witness process: one framed request and answer per tar. */
export class Witness {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = Buffer.alloc(0);
  private readonly waiting: ((s: string) => void)[] = [];

  constructor(bin: string) {
    this.proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      while (this.buf.length >= 4) {
        const n = this.buf.readUInt32BE(0);
        if (this.buf.length < 4 + n) break;
        const s = this.buf.toString('utf8', 4, 4 + n);
        this.buf = this.buf.subarray(4 + n);
        (this.waiting.shift() as (s: string) => void)(s);
      }
    });
  }

  /** The witness's answer for one tar: a listing, or `refused: …`. */
  list(tar: Buffer): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(tar.length);
      this.proc.stdin.write(len);
      this.proc.stdin.write(tar);
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}

/** The raw bytes of a name as tar.ts decodes it (lone surrogates U+DC80–U+DCFF stand for bytes). */
function nameBytes(s: string): Buffer {
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(run, 'utf8'), Buffer.from([c - 0xdc00]));
      run = '';
    } else run += ch;
  }
  parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** As the witness's `show`: printable ASCII as is, anything else as hex of the bytes. */
function show(b: Buffer): string {
  return b.every((c) => c >= 0x20 && c <= 0x7e) ? b.toString('latin1') : `hex:${b.toString('hex')}`;
}

const LIMITS = resolveLimits({ maxCatalogFileBytes: 1 << 30 });
const DIGEST = `sha256:${'0'.repeat(64)}` as Digest;
const TYPES: Record<string, string> = { '3': 'char', '4': 'block', '6': 'fifo' };

/**
 * Our side: the product's readLayer (every body captured) and FileTree.squash of that one layer,
 * listed as the witness lists (see test/witness/tarlist/main.go). A thrown error, or an unknown of
 * class `runtime-refuses`, is a refusal.
 */
export async function ourListing(tar: Buffer): Promise<string> {
  let tree: FileTree;
  try {
    const layer = await readLayer(Readable.from([tar]), { layerDigest: DIGEST, mediaType: MediaType.OciLayer, limits: LIMITS, wants: () => true });
    tree = FileTree.squash([layer], LIMITS);
    const refusal = [...layer.unknowns, ...tree.unknowns].find((u) => (u as { class?: string }).class === 'runtime-refuses');
    if (refusal) return `refused: ${refusal.reason}\n`;
  } catch (e) {
    return `refused: ${(e as Error).message}\n`;
  }
  const lines: [Buffer, string][] = [];
  for (const n of tree.entries()) {
    if (n.path === '/') continue;
    const data = n.type === 'hardlink' ? n.target : n;
    const type = n.type === 'hardlink' ? (n.target?.type ?? 'missing') : n.type === 'other' ? (TYPES[n.typeflag ?? ''] ?? `other:${n.typeflag}`) : n.type;
    const isFile = type === 'file';
    const body = isFile ? (data?.body ?? Buffer.alloc(0)) : undefined;
    const raw = nameBytes(n.effectivePath ?? n.path);
    const p = show(raw);
    const mode = type === 'symlink' ? '-' : (n.mode & 0o7777).toString(8).padStart(4, '0');
    const link = type === 'symlink' ? show(nameBytes(n.type === 'hardlink' ? (n.target?.linkname ?? '') : (n.linkname ?? ''))) : '-';
    const sum = body ? createHash('sha256').update(body).digest('hex') : '-';
    lines.push([raw, `${p}\t${type}\t${mode}\t${n.uid}\t${n.gid}\t${body?.length ?? 0}\t${link}\t${sum}\n`]);
  }
  lines.sort((a, b) => Buffer.compare(a[0], b[0]));
  return lines.map((l) => l[1]).join('');
}
