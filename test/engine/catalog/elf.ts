/** A minimal ELF64 little-endian file with sections: null, .shstrtab, .dep-v0 (holding `payload`). */
export function elfWith(payload: Buffer, sectionName = '.dep-v0'): Buffer {
  const shstr = Buffer.from(`\0.shstrtab\0${sectionName}\0`, 'latin1');
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0); ehdr[4] = 2; ehdr[5] = 1; ehdr[6] = 1;
  const strOff = 64, payOff = strOff + shstr.length, shoff = payOff + payload.length;
  ehdr.writeBigUInt64LE(BigInt(shoff), 0x28);
  ehdr.writeUInt16LE(64, 0x3a); ehdr.writeUInt16LE(3, 0x3c); ehdr.writeUInt16LE(1, 0x3e);
  const sh = Buffer.alloc(64 * 3);
  const sec = (i: number, nameOff: number, off: number, size: number) => { sh.writeUInt32LE(nameOff, i * 64); sh.writeBigUInt64LE(BigInt(off), i * 64 + 0x18); sh.writeBigUInt64LE(BigInt(size), i * 64 + 0x20); };
  sec(1, 1, strOff, shstr.length);
  sec(2, 11, payOff, payload.length);
  return Buffer.concat([ehdr, shstr, payload, sh]);
}
