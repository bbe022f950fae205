import { TarFormatError } from '../../../lib/engine/errors';
import { canonicalPath } from '../../../lib/engine/layers/paths';
import { RuntimeModel } from '../../../lib/engine/layers/runtime-model';
import type { TarEntryKind, TarHeader } from '../../../lib/engine/layers/tar';
import { mulberry32 } from '../../helpers/prng';
import { RuntimeModel as ReferenceModel } from './reference/runtime-model-v1';

/**
 * The runtime model's fast path (a member under a directory it knows is resolved without walking
 * the path) and its lazy children index must decide exactly what the walking model decided: same
 * refusals, same bodies read, same paths removed beneath a replaced directory, same lower links.
 * The reference is the model before the change, kept verbatim (reference/runtime-model-v1.ts).
 */

const TYPEFLAG: Record<string, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1', fifo: '6', other: 'V' };

function header(name: string, kind: TarEntryKind, linkname = '', offset = 0): TarHeader {
  return { name, linkname, kind, typeflag: TYPEFLAG[kind], size: 0, realSize: 0, sparse: false, mode: 0o644, uid: 0, gid: 0, mtime: 0, pax: undefined, offset };
}

/** Every observable of one member: the refusal, or the body decision and what was removed beneath. */
function step(m: { member(h: TarHeader): boolean; removedBeneath: readonly string[] }, h: TarHeader): string {
  try {
    const reads = m.member(h);
    return `${reads ? 'reads' : 'skips'} removed=[${[...m.removedBeneath].join(',')}]`;
  } catch (e) {
    if (!(e instanceof TarFormatError)) throw e;
    return `refused: ${e.message}`;
  }
}

/** Runs both models over the same members, stopping at the first refusal (as the reader does). */
function compare(members: readonly TarHeader[]): { ours: string[]; reference: string[] } {
  const a = new RuntimeModel();
  const b = new ReferenceModel();
  const ours: string[] = [];
  const reference: string[] = [];
  for (const h of members) {
    ours.push(step({ member: (x) => a.member(x, canonicalPath(x.name)), get removedBeneath() { return a.removedBeneath; } }, h));
    reference.push(step(b, h));
    if (reference[reference.length - 1].startsWith('refused')) break;
  }
  ours.push(`lowerLinks=[${a.lowerLinks.join(',')}]`);
  reference.push(`lowerLinks=[${b.lowerLinks.join(',')}]`);
  return { ours, reference };
}

describe('RuntimeModel, fast path and lazy children index vs the walking model', () => {
  const H = header;
  it.each<[string, TarHeader[]]>([
    ['plain tree', [H('a/', 'dir'), H('a/b/', 'dir'), H('a/b/f', 'file'), H('a/g', 'file')]],
    ['implicit parents', [H('x/y/z/f', 'file'), H('x/y/g', 'file'), H('x/', 'dir')]],
    ['directory replaced by a file: its members are removed beneath', [H('d/', 'dir'), H('d/f', 'file'), H('d/e/g', 'file'), H('d', 'file')]],
    ['directory replaced by a symlink, then a member beneath the link', [H('d/f', 'file'), H('d', 'symlink', 't'), H('t/', 'dir'), H('d/g', 'file')]],
    ['member beneath a file is refused', [H('f', 'file'), H('f/g', 'file')]],
    ['member beneath a symlink to a file is refused', [H('f', 'file'), H('l', 'symlink', 'f'), H('l/g', 'file')]],
    ['name through a symlink, then the same name after the link is gone', [H('t/', 'dir'), H('l', 'symlink', 't'), H('l/f', 'file'), H('l', 'file'), H('l/f', 'file')]],
    ['file replaced by a file, then its directory replaced', [H('d/f', 'file'), H('d/f', 'file'), H('d', 'fifo')]],
    ['hardlink to a lower layer, to itself, to a directory', [H('h', 'hardlink', 'lower/x'), H('d/', 'dir'), H('h2', 'hardlink', 'd')]],
    ['hardlink to a symlink is a symlink to the model', [H('t/', 'dir'), H('s', 'symlink', 't'), H('h', 'hardlink', 's'), H('h/f', 'file')]],
    ['whiteouts and opaque markers create parents only', [H('w/.wh.x', 'file'), H('w/.wh..wh..opq', 'file'), H('w/f', 'file'), H('v/.wh..', 'file')]],
    ['unhandled typeflag', [H('a/b', 'other')]],
    ['symlink loop', [H('a', 'symlink', 'b'), H('b', 'symlink', 'a'), H('a/f', 'file')]],
    ['.. climbing out of a symlinked dir', [H('r/', 'dir'), H('r/l', 'symlink', '../../r'), H('r/l/l/f', 'file')]],
  ])('%s', (_name, members) => {
    const { ours, reference } = compare(members);
    expect(ours).toEqual(reference);
  });

  it('agrees on 3,000 random layers of dirs, files, symlinks, hardlinks and replacements', () => {
    const parts = ['a', 'b', 'c', '..', '.wh.a', '.wh..wh..opq'];
    const kinds: TarEntryKind[] = ['file', 'file', 'dir', 'dir', 'symlink', 'hardlink', 'fifo'];
    const diffs: string[] = [];
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
      const name = (): string => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(parts.slice(0, rnd() < 0.9 ? 3 : parts.length))).join('/');
      const members = Array.from({ length: 2 + Math.floor(rnd() * 12) }, (_, i) => {
        const kind = pick(kinds);
        const link = kind === 'symlink' ? `${rnd() < 0.3 ? '/' : ''}${name()}` : kind === 'hardlink' ? name() : '';
        return header(name(), kind, link, i * 512);
      });
      const { ours, reference } = compare(members);
      if (JSON.stringify(ours) !== JSON.stringify(reference)) diffs.push(`seed ${seed}: ${JSON.stringify(members.map((m) => [m.name, m.kind, m.linkname]))}\n ours ${ours.join(' | ')}\n  ref ${reference.join(' | ')}`);
    }
    expect(diffs.slice(0, 3)).toEqual([]);
  });
});
