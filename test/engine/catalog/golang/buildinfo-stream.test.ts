import { BUILDINFO_MAGIC, BuildInfoExtractor, GO_BUILDINFO_WINDOW_BYTES, GO_WHOLE_BINARY_BYTES, isBuildInfoWindow, readGoBuildInfo } from '../../../../lib/engine/catalog/golang/buildinfo';

/** An ELF-looking body with an inline (Go ≥ 1.18) build info blob at `at` (16-aligned). */
function binaryWith(at: number, size: number, mod = 'path\tex.com/x\nmod\tex.com/x\t(devel)\t\ndep\tgithub.com/a/b\tv1.2.3\th1:x=\n'): Buffer {
  const body = Buffer.alloc(size);
  Buffer.from('\x7fELF\x02\x01\x01', 'latin1').copy(body, 0);
  const vers = Buffer.from('go1.22.5');
  const modInfo = Buffer.concat([Buffer.alloc(16, 0x30), Buffer.from(mod), Buffer.from('\n'), Buffer.alloc(16, 0x31)]);
  modInfo[modInfo.length - 17] = 0x0a;
  const blob = Buffer.concat([BUILDINFO_MAGIC, Buffer.from([8, 2]), Buffer.alloc(16), Buffer.from([vers.length]), vers, Buffer.from([modInfo.length & 0x7f | 0x80, modInfo.length >> 7]), modInfo]);
  blob.copy(body, at);
  return body;
}

describe('BuildInfoExtractor: the build info of a large binary, found while it streams', () => {
  const size = GO_WHOLE_BINARY_BYTES + 4096;
  const at = GO_WHOLE_BINARY_BYTES - 1024; // 16-aligned
  const body = binaryWith(at, size);

  it.each([[1 << 20, 0], [4093, 0], [65_536, 0], [1 << 20, 5], [1 << 20, 13], [1 << 20, 15]])('in chunks of %i bytes (a seam %i bytes into the magic): keeps a window from the magic that decodes like the whole binary', (chunk, seam) => {
    const x = new BuildInfoExtractor(size);
    // With a seam: one cut exactly `seam` bytes into the magic/header, the rest in `chunk`-byte pieces.
    const cuts = seam > 0 ? [at + seam] : [];
    let off = 0;
    while (off < body.length) {
      const next = cuts.find((c) => c > off && c < off + chunk) ?? Math.min(off + chunk, body.length);
      x.write(body.subarray(off, next));
      off = next;
    }
    const kept = x.end();
    expect(kept?.truncated).toBe(true);
    expect(kept!.body.length).toBe(Math.min(GO_BUILDINFO_WINDOW_BYTES, size - at));
    expect(isBuildInfoWindow(kept!.body)).toBe(true);
    expect(readGoBuildInfo(kept!.body)).toEqual(readGoBuildInfo(body));
    expect(readGoBuildInfo(kept!.body)).toMatchObject({ info: { goVersion: 'go1.22.5', deps: [{ path: 'github.com/a/b', version: 'v1.2.3' }] } });
  });

  it('a magic that is not 16-aligned, or whose header is implausible, is passed over', () => {
    const b = binaryWith(at, size);
    BUILDINFO_MAGIC.copy(b, 4096 + 3); // unaligned
    BUILDINFO_MAGIC.copy(b, 8192);
    b[8192 + 14] = 99; // pointer size 99: a string, not a header
    const x = new BuildInfoExtractor(size);
    x.write(b);
    expect(readGoBuildInfo(x.end()!.body)).toMatchObject({ info: { goVersion: 'go1.22.5' } });
  });

  it('a small binary is kept whole; a non-ELF body and a large ELF without build info are not kept', () => {
    const small = binaryWith(4096, 64 * 1024);
    const x = new BuildInfoExtractor(small.length);
    x.write(small);
    expect(x.end()).toEqual({ body: small, truncated: false });
    const text = new BuildInfoExtractor(size);
    text.write(Buffer.alloc(size, 0x41));
    expect(text.end()).toBeUndefined();
    const plain = new BuildInfoExtractor(size);
    const elf = Buffer.alloc(size);
    elf.write('\x7fELF', 'latin1');
    plain.write(elf);
    expect(plain.end()).toBeUndefined();
  });

  it('a pre-1.18 (pointer format) header in a large binary: the window cannot resolve it, and says so (never an empty module list)', () => {
    const b = binaryWith(at, size);
    b[at + 15] = 0; // flags: pointer format
    const x = new BuildInfoExtractor(size);
    x.write(b);
    expect(readGoBuildInfo(x.end()!.body)).toEqual({ error: expect.stringContaining('pre-Go 1.18') });
  });
});
