/**
 * Reader for the build information the Go linker embeds in every binary (`go version -m`).
 *
 * Layout follows the Go source `src/debug/buildinfo/buildinfo.go` and `src/runtime/debug/mod.go`:
 * a 32-byte header starting with the magic `\xff Go buildinf:` at a 16-byte aligned address, then
 * byte 14 = pointer size, byte 15 = flags (bit 0 big-endian, bit 1 "inline strings", Go ≥ 1.18).
 * Inline format: two uvarint-length-prefixed strings (runtime version, module info) at offset 32.
 * Pointer format (Go < 1.18): at offset 16 two pointers to Go string headers `{ptr, len}` in the
 * binary's virtual address space, resolved here through the ELF section table.
 * ELF parsing follows the System V gABI, chapter 4 "Object Files" (ELF header, section header table).
 */

/** One module line of the build info (`mod`, `dep`, or the `=>` replacement that follows it). */
export interface GoModule {
  readonly path: string;
  readonly version: string;
  readonly sum?: string;
  readonly replace?: GoModule;
}

/** Decoded build information of a Go binary. */
export interface GoBuildInfo {
  /** Runtime version as the linker wrote it, e.g. `go1.19.8`. */
  readonly goVersion: string;
  /** The `path` line: the main package's import path (present even in GOPATH builds). */
  readonly path?: string;
  /** The `mod` line: the main module (absent for GOPATH / non-module builds). */
  readonly main?: GoModule;
  readonly deps: GoModule[];
  /** The `build` lines as key/value pairs. */
  readonly settings: { key: string; value: string }[];
}

/** Magic at the start of the build info blob (`buildInfoMagic` in debug/buildinfo). */
export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const BUILDINFO_ALIGN = 16;
const BUILDINFO_HEADER = 32;

/** Result of {@link readGoBuildInfo}: `info`, or `null` when there is no build info, or an error reason. */
export type BuildInfoResult = { readonly info: GoBuildInfo } | { readonly error: string } | null;

interface Section { readonly name: string; readonly addr: bigint; readonly offset: number; readonly size: number }
interface Elf { readonly le: boolean; readonly is64: boolean; readonly sections: Section[] }

/** True when the buffer starts with the ELF magic `\x7fELF` (gABI e_ident[EI_MAG0..3]). */
export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/**
 * True when the buffer starts like an executable Go can build and `debug/buildinfo` reads (Go's
 * src/debug/buildinfo/buildinfo.go `readRawBuildInfo` dispatch): ELF `\x7fELF`, Mach-O
 * (`0xfeedface`/`0xfeedfacf` in either byte order, fat `0xcafebabe`), PE `MZ`.
 */
export function isExecutable(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  if (isElf(buf)) return true;
  if (buf[0] === 0x4d && buf[1] === 0x5a) return true; // PE: the MS-DOS stub's `MZ`
  const be = buf.readUInt32BE(0);
  return be === 0xfeedface || be === 0xfeedfacf || be === 0xcefaedfe || be === 0xcffaedfe || be === 0xcafebabe;
}

/** Parses the ELF section header table; returns null when it is absent or malformed. */
function parseElf(buf: Buffer): Elf | null {
  if (!isElf(buf) || buf.length < 52) return null;
  const cls = buf[4]; // EI_CLASS: 1 = ELFCLASS32, 2 = ELFCLASS64
  const data = buf[5]; // EI_DATA: 1 = ELFDATA2LSB, 2 = ELFDATA2MSB
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return null;
  const is64 = cls === 2;
  const le = data === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number): bigint => (le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  if (is64 && buf.length < 64) return null;
  const shoff = is64 ? Number(u64(0x28)) : u32(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  const minEnt = is64 ? 64 : 40;
  if (shoff === 0 || shnum === 0 || shentsize < minEnt || shoff + shnum * shentsize > buf.length) return null;
  const raw: { nameOff: number; addr: bigint; offset: number; size: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push(is64
      ? { nameOff: u32(o), addr: u64(o + 16), offset: Number(u64(o + 24)), size: Number(u64(o + 32)) }
      : { nameOff: u32(o), addr: BigInt(u32(o + 12)), offset: u32(o + 16), size: u32(o + 20) });
  }
  const strtab = raw[shstrndx];
  const sections = raw.map((s) => {
    let name = '';
    if (strtab && strtab.offset + s.nameOff < buf.length) {
      const start = strtab.offset + s.nameOff;
      const end = buf.indexOf(0, start);
      name = buf.toString('latin1', start, end < 0 ? Math.min(buf.length, start + 256) : end);
    }
    return { name, addr: s.addr, offset: s.offset, size: s.size };
  });
  return { le, is64, sections };
}

/** Finds the magic at a 16-byte aligned offset in `[start, end)` (Go's `searchMagic`). */
function findMagic(buf: Buffer, start: number, end: number): number {
  let i = buf.indexOf(BUILDINFO_MAGIC, start);
  while (i >= 0 && i < end) {
    if ((i - start) % BUILDINFO_ALIGN === 0) return i;
    i = buf.indexOf(BUILDINFO_MAGIC, i + 1);
  }
  return -1;
}

/** Reads a uvarint (encoding/binary) at `off`; returns [value, bytesRead] or null. */
function uvarint(buf: Buffer, off: number): [number, number] | null {
  let x = 0;
  let s = 1;
  for (let i = 0; i < 10 && off + i < buf.length; i++) {
    const b = buf[off + i];
    x += (b & 0x7f) * s;
    if (b < 0x80) return [x, i + 1];
    s *= 128;
  }
  return null;
}

/**
 * Extracts and decodes the build info of a Go binary. ELF binaries are searched in `.go.buildinfo`
 * (Go ≥ 1.13), else the whole file is scanned for the 16-byte aligned magic (Mach-O, PE, stripped
 * section tables). Returns null when the file carries no build info; never throws.
 */
export function readGoBuildInfo(buf: Buffer): BuildInfoResult {
  try {
    const elf = parseElf(buf);
    let at = -1;
    const sec = elf?.sections.find((s) => s.name === '.go.buildinfo');
    if (sec && sec.offset + sec.size <= buf.length) at = findMagic(buf, sec.offset, sec.offset + sec.size);
    if (at < 0) at = findMagic(buf, 0, buf.length);
    if (at < 0) return null;
    if (at + BUILDINFO_HEADER > buf.length) return { error: 'Go build info header is truncated' };
    const ptrSize = buf[at + 14];
    const flags = buf[at + 15];
    const bigEndian = (flags & 1) !== 0;
    let vers: string;
    let mod: string;
    if ((flags & 2) !== 0) {
      // Go ≥ 1.18: inline, varint-length-prefixed strings after the 32-byte header.
      let o = at + BUILDINFO_HEADER;
      const strs: string[] = [];
      for (let k = 0; k < 2; k++) {
        const v = uvarint(buf, o);
        if (!v || o + v[1] + v[0] > buf.length) return { error: 'Go build info string is truncated or malformed' };
        strs.push(buf.toString('utf8', o + v[1], o + v[1] + v[0]));
        o += v[1] + v[0];
      }
      [vers, mod] = strs as [string, string];
    } else {
      if (ptrSize !== 4 && ptrSize !== 8) return { error: `Go build info has unsupported pointer size ${ptrSize}` };
      if (!elf) return { error: 'pre-Go 1.18 build info in a non-ELF file is not supported' };
      const r = readPointerStrings(buf, elf, at, ptrSize, bigEndian);
      if (typeof r === 'string') return { error: r };
      [vers, mod] = r;
    }
    if (!vers) return { error: 'Go build info has no runtime version' };
    // Strip the 16-byte sentinels around the module info (cmd/go/internal/modload infoStart/infoEnd).
    if (mod.length >= 33 && mod[mod.length - 17] === '\n') mod = mod.slice(16, mod.length - 16);
    else mod = '';
    return { info: parseModInfo(vers, mod) };
  } catch (e) {
    return { error: `unreadable Go build info: ${(e as Error).message}` };
  }
}

/** Pre-1.18 format: two pointers to Go string headers; addresses resolved through section headers. */
function readPointerStrings(buf: Buffer, elf: Elf, at: number, ptrSize: number, bigEndian: boolean): [string, string] | string {
  const readPtr = (o: number): bigint => {
    if (o + ptrSize > buf.length) throw new Error('pointer outside file');
    if (ptrSize === 8) return bigEndian ? buf.readBigUInt64BE(o) : buf.readBigUInt64LE(o);
    return BigInt(bigEndian ? buf.readUInt32BE(o) : buf.readUInt32LE(o));
  };
  const toOffset = (addr: bigint, len: number): number => {
    for (const s of elf.sections) {
      if (s.addr !== 0n && addr >= s.addr && addr + BigInt(len) <= s.addr + BigInt(s.size)) {
        const off = s.offset + Number(addr - s.addr);
        if (off + len <= buf.length) return off;
      }
    }
    throw new Error(`address 0x${addr.toString(16)} is not in any section`);
  };
  const readString = (hdrAddr: bigint): string => {
    const h = toOffset(hdrAddr, 2 * ptrSize);
    const data = readPtr(h);
    const len = Number(readPtr(h + ptrSize));
    if (len === 0) return '';
    if (len > buf.length) throw new Error('string length beyond file');
    const o = toOffset(data, len);
    return buf.toString('utf8', o, o + len);
  };
  try {
    return [readString(readPtr(at + 16)), readString(readPtr(at + 16 + ptrSize))];
  } catch (e) {
    return `pre-Go 1.18 build info unreadable: ${(e as Error).message}`;
  }
}

/** Parses module info text (runtime/debug.ParseBuildInfo line format, tab-separated). */
export function parseModInfo(goVersion: string, mod: string): GoBuildInfo {
  let path: string | undefined;
  let main: GoModule | undefined;
  const deps: GoModule[] = [];
  const settings: { key: string; value: string }[] = [];
  const modOf = (f: string[]): GoModule => ({ path: f[1] ?? '', version: f[2] ?? '', ...(f[3] ? { sum: f[3] } : {}) });
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'path': path = f[1]; break;
      case 'mod': main = modOf(f); break;
      case 'dep': deps.push(modOf(f)); break;
      case '=>': {
        // A replacement applies to the module line just before it.
        const r = modOf(f);
        if (deps.length) deps[deps.length - 1] = { ...deps[deps.length - 1]!, replace: r };
        else if (main) main = { ...main, replace: r };
        break;
      }
      case 'build': {
        const kv = f.slice(1).join('\t');
        const eq = kv.indexOf('=');
        settings.push(eq < 0 ? { key: kv, value: '' } : { key: kv.slice(0, eq), value: kv.slice(eq + 1) });
        break;
      }
      default: break;
    }
  }
  return { goVersion, ...(path ? { path } : {}), ...(main ? { main } : {}), deps, settings };
}

/**
 * Go release and pre-release tags (govulncheck's `tagRegexp`, golang.org/x/vuln
 * internal/semver/semver.go, a modified copy of pkgsite internal/stdlib `VersionForTag`): groups are
 * major.minor, `.patch` or empty, then the pre-release kind (`beta`, `rc`, `-pre`) and its number.
 */
const GO_TAG = /^go(\d+\.\d+)(\.\d+|)(?:(beta|rc|-pre)(\d+))?$/;

/**
 * The Go toolchain version a binary was built with, as the semantic version the Go vulnerability
 * database writes `stdlib` ranges in — govulncheck's `GoTagToSemver` (golang.org/x/vuln
 * internal/semver/semver.go): the first field only (`go1.22.5 X:boringcrypto` → `v1.22.5`),
 * `go1` → `v1.0.0`, `go1.20` → `v1.20.0`, `go1.22rc1` → `v1.22.0-rc.1`, `go1.21beta2` →
 * `v1.21.0-beta.2`, `go1.20-pre4` → `v1.20.0-pre.4`. Anything else — a development toolchain
 * (`devel go1.23-abc`, `devel +abc`), a vendor build (`go1.21.0-bigcorp`), an internal release
 * candidate (`go1.25-20250209-RC00`) — is not a release, and the standard library it linked is of an
 * unknown version: `undefined`, never the release it resembles (issue 14 item 4).
 */
export function goVersionToSemver(v: string): string | undefined {
  const tag = v.trim().split(/\s+/)[0] ?? '';
  if (tag === 'go1') return 'v1.0.0';
  const m = GO_TAG.exec(tag);
  if (!m || tag === 'go1.0') return undefined;
  const pre = m[3] ? `${m[3].startsWith('-') ? '' : '-'}${m[3]}.${m[4]}` : '';
  return `v${m[1]}${m[2] || '.0'}${pre}`;
}

const MiB = 1024 * 1024;
/** Binaries up to this size are kept whole (every build info format, pre-1.18 pointers included; cargo-auditable needs its ELF section too). */
export const GO_WHOLE_BINARY_BYTES = 64 * MiB;
/** Bytes kept from the build info magic on in a larger binary: the header and the inline strings. */
export const GO_BUILDINFO_WINDOW_BYTES = 1 * MiB;

/**
 * Finds a Go binary's build info as the body streams by, whatever the binary's size (issue 13 item 2:
 * a 90 MB Go binary keeps its module list): a body of at most {@link GO_WHOLE_BINARY_BYTES} is kept
 * whole; a larger one is searched for the 16-byte aligned `\xff Go buildinf:` magic (Go's
 * debug/buildinfo `searchMagic`; the `.go.buildinfo` section is 16-aligned in the file as in memory)
 * whose header is plausible (pointer size 4 or 8, no unknown flag bits), and only
 * {@link GO_BUILDINFO_WINDOW_BYTES} from it are kept — enough for the Go ≥ 1.18 inline strings,
 * which {@link readGoBuildInfo} decodes from a body that starts with the magic. The pre-1.18 pointer
 * format needs addresses resolved through the section table, which a window does not hold: decoding
 * such a window gives an error (an unknown), never an empty module list. A body that is not an
 * executable ({@link isExecutable}) is not kept (as the cataloger skips it).
 */
export class BuildInfoExtractor {
  private pos = 0;
  private readonly head = Buffer.alloc(4);
  private headFill = 0;
  private whole: Buffer[] | undefined;
  private carry: Buffer = Buffer.alloc(0);
  private window: Buffer | undefined;
  private windowFill = 0;

  constructor(size: number) {
    if (size <= GO_WHOLE_BINARY_BYTES) this.whole = [];
  }

  write(chunk: Buffer): void {
    const len = chunk.length;
    if (len === 0) return;
    if (this.headFill < 4) this.headFill += chunk.copy(this.head, this.headFill, 0, Math.min(len, 4 - this.headFill));
    if (this.headFill === 4 && !isExecutable(this.head)) {
      this.whole = undefined;
      this.pos += len;
      return;
    }
    if (this.whole) {
      this.whole.push(Buffer.from(chunk));
      this.pos += len;
      return;
    }
    if (this.window) {
      if (this.windowFill < this.window.length) this.windowFill += chunk.copy(this.window, this.windowFill, 0);
      this.pos += len;
      return;
    }
    const M = BUILDINFO_MAGIC.length;
    if (this.carry.length > 0) {
      const seam = Buffer.concat([this.carry, chunk.subarray(0, Math.min(len, M - 1 + 16))]);
      const seamBase = this.pos - this.carry.length;
      for (let i = seam.indexOf(BUILDINFO_MAGIC); i >= 0 && i < this.carry.length; i = seam.indexOf(BUILDINFO_MAGIC, i + 1)) {
        if ((seamBase + i) % BUILDINFO_ALIGN !== 0 || !plausible(seam, i)) continue;
        this.window = Buffer.alloc(GO_BUILDINFO_WINDOW_BYTES);
        this.windowFill = seam.copy(this.window, 0, i, this.carry.length);
        this.windowFill += chunk.copy(this.window, this.windowFill, 0);
        this.pos += len;
        return;
      }
    }
    for (let i = chunk.indexOf(BUILDINFO_MAGIC); i >= 0; i = chunk.indexOf(BUILDINFO_MAGIC, i + 1)) {
      if ((this.pos + i) % BUILDINFO_ALIGN !== 0 || !plausible(chunk, i)) continue;
      this.window = Buffer.alloc(GO_BUILDINFO_WINDOW_BYTES);
      this.windowFill = chunk.copy(this.window, 0, i);
      this.pos += len;
      return;
    }
    const keep = M - 1 + 2;
    this.carry = len >= keep ? Buffer.from(chunk.subarray(len - keep)) : Buffer.concat([this.carry, chunk]).subarray(-keep);
    this.pos += len;
  }

  /** The body to hand the cataloger: the whole binary, the window from the magic, or nothing. */
  end(): { readonly body: Buffer; readonly truncated: boolean } | undefined {
    if (this.headFill < 4 || !isExecutable(this.head)) return undefined;
    if (this.whole) return { body: Buffer.concat(this.whole), truncated: false };
    if (this.window) return { body: this.window.subarray(0, this.windowFill), truncated: true };
    return undefined;
  }
}

/** A header whose pointer size and flags make sense (a plain `\xff Go buildinf:` string elsewhere is not one). */
function plausible(buf: Buffer, at: number): boolean {
  if (at + 16 > buf.length) return true; // decided by the decoder
  const ptrSize = buf[at + 14];
  const flags = buf[at + 15];
  return (ptrSize === 4 || ptrSize === 8) && (flags & ~3) === 0;
}

/** True when `body` is a build info window kept by {@link BuildInfoExtractor} (it starts with the magic). */
export function isBuildInfoWindow(body: Buffer): boolean {
  return body.length >= BUILDINFO_MAGIC.length && body.subarray(0, BUILDINFO_MAGIC.length).equals(BUILDINFO_MAGIC);
}
