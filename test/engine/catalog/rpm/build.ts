/** Builders of synthetic rpm headers and NDB databases for the negative tests. */

/** rpm header blob: il, dl, 16-byte index entries, data store (big-endian). Strings only, plus INT32 EPOCH. */
export function buildHeader(tags: Record<number, string | number>): Buffer {
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let off = 0;
  for (const [tagStr, v] of Object.entries(tags)) {
    const e = Buffer.alloc(16);
    e.writeUInt32BE(Number(tagStr), 0);
    let d: Buffer;
    if (typeof v === 'number') {
      const pad = (4 - (off % 4)) % 4;
      if (pad) { data.push(Buffer.alloc(pad)); off += pad; }
      d = Buffer.alloc(4); d.writeUInt32BE(v, 0);
      e.writeUInt32BE(4, 4);
    } else {
      d = Buffer.from(`${v}\0`, 'utf8');
      e.writeUInt32BE(6, 4);
    }
    e.writeUInt32BE(off, 8);
    e.writeUInt32BE(1, 12);
    index.push(e);
    data.push(d);
    off += d.length;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(index.length, 0);
  head.writeUInt32BE(off, 4);
  return Buffer.concat([head, ...index, ...data]);
}

/** NDB `Packages.db` with one slot page holding the given header blobs. */
export function buildNdb(blobs: Buffer[]): Buffer {
  const slotPage = Buffer.alloc(4096);
  slotPage.write('RpmP', 0, 'latin1');
  slotPage.writeUInt32LE(1, 12); // one slot page
  for (let i = 0; i < 254; i++) slotPage.write('Slot', 32 + i * 16, 'latin1');
  const parts: Buffer[] = [slotPage];
  let at = 4096;
  blobs.forEach((blob, i) => {
    const pkgIndex = i + 1;
    const s = 32 + i * 16;
    slotPage.writeUInt32LE(pkgIndex, s + 4);
    slotPage.writeUInt32LE(at / 16, s + 8);
    const head = Buffer.alloc(16);
    head.write('BlbS', 0, 'latin1');
    head.writeUInt32LE(pkgIndex, 4);
    head.writeUInt32LE(blob.length, 12);
    const padded = Buffer.alloc(Math.ceil((16 + blob.length) / 16) * 16);
    head.copy(padded, 0);
    blob.copy(padded, 16);
    slotPage.writeUInt32LE(padded.length / 16, s + 12);
    parts.push(padded);
    at += padded.length;
  });
  return Buffer.concat(parts);
}
