import { inflateSync } from 'node:zlib';
import { PARSE_BOUNDS, parseBoundError, parseJsonBounded } from '../bounds';
import type { Crate } from './cargo-lock';

/**
 * cargo-auditable (github.com/rust-secure-code/cargo-auditable, PARSING.md / format spec): a Rust
 * binary built with `cargo auditable build` carries a linker section `.dep-v0` holding
 * zlib-compressed (RFC 1950) UTF-8 JSON
 * `{"packages":[{"name","version","source","kind"?,"dependencies"?,"root"?}]}` where `source` is
 * `"crates.io"`, `"git"`, `"local"`, `"registry"` or other, and `kind` is `"runtime"` (default) or
 * `"build"`.
 */

/** Crates listed in a decompressed-or-compressed `.dep-v0` payload. */
export interface AuditableCrate extends Crate {
  readonly kind: 'runtime' | 'build';
  readonly root: boolean;
}

/**
 * Decodes the `.dep-v0` section contents (zlib-compressed JSON).
 * @throws Error when the payload does not inflate or is not the documented JSON shape, and a
 * `LimitExceededError` when it inflates past `PARSE_BOUNDS.maxAuditableBytes` or its JSON past the
 * depth/size bounds.
 */
export function parseAuditableDepV0(section: Buffer): AuditableCrate[] {
  let text: string;
  try {
    text = inflateSync(section, { maxOutputLength: PARSE_BOUNDS.maxAuditableBytes }).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw parseBoundError('maxAuditableBytes', `.dep-v0 inflates past ${PARSE_BOUNDS.maxAuditableBytes} bytes`);
    }
    throw new Error(`.dep-v0: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseJsonBounded(text, '.dep-v0');
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`.dep-v0: ${e.message}`);
    throw e;
  }
  const pkgs = (json as { packages?: unknown })?.packages;
  if (!Array.isArray(pkgs)) throw new Error('.dep-v0: no `packages` array');
  return pkgs.map((p: unknown, i: number) => {
    const t = p as { name?: unknown; version?: unknown; source?: unknown; kind?: unknown; root?: unknown };
    if (typeof t.name !== 'string' || typeof t.version !== 'string' || !t.name || !t.version) throw new Error(`.dep-v0: package #${i + 1} has no name/version`);
    return {
      name: t.name,
      version: t.version,
      ...(typeof t.source === 'string' ? { source: t.source } : {}),
      kind: t.kind === 'build' ? 'build' : 'runtime',
      root: t.root === true,
    };
  });
}

/**
 * Finds a named section in an ELF file (System V gABI, "Sections": the section header table at
 * `e_shoff`, names in the section `e_shstrndx`). Handles ELFCLASS32/64 and both byte orders.
 * Returns undefined for non-ELF input or when the section is absent or lies beyond the buffer.
 */
export function findElfSection(buf: Buffer, name: string): Buffer | undefined {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  if ((buf[4] !== 1 && !is64) || (buf[5] !== 1 && buf[5] !== 2)) return undefined;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const uN = (o: number) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  if (is64 && buf.length < 64) return undefined;
  const shoff = uN(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0 || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > buf.length || shstrndx >= shnum) return undefined;
  const header = (i: number) => {
    const o = shoff + i * shentsize;
    return { name: u32(o), offset: uN(o + (is64 ? 0x18 : 0x10)), size: uN(o + (is64 ? 0x20 : 0x14)) };
  };
  const strtab = header(shstrndx);
  if (strtab.offset + strtab.size > buf.length) return undefined;
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const start = strtab.offset + h.name;
    const end = buf.indexOf(0, start);
    if (end < 0 || end > strtab.offset + strtab.size) continue;
    if (buf.toString('latin1', start, end) === name) {
      return h.offset + h.size <= buf.length ? buf.subarray(h.offset, h.offset + h.size) : undefined;
    }
  }
  return undefined;
}
