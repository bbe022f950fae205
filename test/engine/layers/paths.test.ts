import { LimitExceededError } from '../../../lib/engine/errors';
import { baseName, canonicalPath, canonicalPathWithin, isWithin, joinPath, linkTargetPath, parentPath } from '../../../lib/engine/layers/paths';

describe('canonicalPath', () => {
  it.each([
    ['plain relative name', 'usr/lib/x.so', '/usr/lib/x.so'],
    ['leading ./', './etc/passwd', '/etc/passwd'],
    ['root dir ./', './', '/'],
    ['dot alone', '.', '/'],
    ['trailing slash of a directory', 'usr/share/', '/usr/share'],
    ['doubled separators', 'usr//lib///x', '/usr/lib/x'],
    ['case 1: ../../x clamped at the root', '../../x', '/x'],
    ['case 1: absolute name re-rooted', '/abs', '/abs'],
    ['case 1: .. in the middle', 'a/b/../../../../etc/shadow', '/etc/shadow'],
    ['case 1: C:../x is an ordinary name then a component', 'C:../x', '/C:../x'],
    ['case 1: backslashes are literal characters', 'C:..\\x', '/C:..\\x'],
    ['case 1: backslash traversal is not traversal', '..\\..\\etc\\passwd', '/..\\..\\etc\\passwd'],
    ['dots that are not dot components', '...', '/...'],
    ['.hidden file', 'root/.ssh/authorized_keys', '/root/.ssh/authorized_keys'],
    ['case 8: names are not normalised', 'caf\u0065\u0301', '/caf\u0065\u0301'],
    ['case 8: case kept', 'README', '/README'],
  ])('%s', (_name, input, expected) => {
    expect(canonicalPath(input)).toBe(expected);
  });

  it.each([
    ['empty name', ''],
    ['NUL inside', 'etc/pass\0wd'],
  ])('rejects %s', (_name, input) => {
    expect(canonicalPath(input)).toBeUndefined();
  });

  it.each([
    ['case 13: 10,000-deep path', Array.from({ length: 10_000 }, () => 'a').join('/'), 256],
    ['case 13: deep path through the slow path', `./${Array.from({ length: 300 }, () => 'b').join('/')}`, 256],
  ])('%s → LimitExceededError(maxPathDepth)', (_name, input, max) => {
    expect(() => canonicalPath(input, max)).toThrow(LimitExceededError);
    try {
      canonicalPath(input, max);
    } catch (e) {
      expect((e as LimitExceededError).limit).toBe('maxPathDepth');
    }
  });

  it('accepts a path exactly at the depth limit', () => {
    expect(canonicalPath('a/b/c', 3)).toBe('/a/b/c');
    expect(() => canonicalPath('a/b/c/d', 3)).toThrow(LimitExceededError);
  });

  it('counts depth after .. is resolved', () => {
    expect(canonicalPath('a/../b/../c', 1)).toBe('/c');
  });
});

describe('isWithin (case 2: containment needs a separator)', () => {
  it.each([
    ['the root itself', '/root', '/root', true],
    ['a child', '/root/.ssh', '/root', true],
    ['case 2: sibling sharing a prefix', '/root-evil', '/root', false],
    ['case 2: sibling sharing a prefix, deeper', '/root-evil/x', '/root', false],
    ['everything is within /', '/anything', '/', true],
    ['parent is not within child', '/', '/root', false],
  ])('%s', (_name, p, root, expected) => {
    expect(isWithin(p, root)).toBe(expected);
  });
});

describe('path helpers', () => {
  it.each([
    ['top-level', '/etc', '/', 'etc'],
    ['nested', '/etc/ssl/certs', '/etc/ssl', 'certs'],
    ['root', '/', '/', ''],
  ])('parentPath/baseName: %s', (_name, p, parent, base) => {
    expect(parentPath(p)).toBe(parent);
    expect(baseName(p)).toBe(base);
  });

  it('joinPath', () => {
    expect(joinPath('/', 'a')).toBe('/a');
    expect(joinPath('/a', 'b')).toBe('/a/b');
  });

  it.each([
    ['relative target', '/usr/bin/python', 'python3.11', '/usr/bin/python3.11'],
    ['case 3: relative target climbing out is clamped', '/a', '../..', '/'],
    ['case 4: absolute target re-rooted at the image root', '/x', '/root/.ssh', '/root/.ssh'],
    ['target with ..', '/usr/lib/libx.so', '../../lib/libx.so.1', '/lib/libx.so.1'],
  ])('linkTargetPath: %s', (_name, link, target, expected) => {
    expect(linkTargetPath(link, target)).toBe(expected);
  });
});

describe('canonicalPathWithin (the depth check for an already canonical name)', () => {
  it.each<[string, string, number]>([
    ['plain name within the limit', 'a/b/c', 3],
    ['plain name beyond the limit', 'a/b/c/d', 3],
    ['.. resolved back within the limit', 'a/../b/../c', 1],
    ['.. climbing from beyond the limit', 'a/b/c/d/../../..', 2],
    ['trailing slash', 'a/b/', 2],
    ['empty name', '', 3],
    ['no limit', Array.from({ length: 500 }, () => 'x').join('/'), Number.POSITIVE_INFINITY],
  ])('%s: the same result or error as canonicalPath(name, max)', (_name, input, max) => {
    const outcome = (f: () => string | undefined): string => {
      try {
        return `ok ${f()}`;
      } catch (e) {
        return `${(e as Error).constructor.name} ${(e as LimitExceededError).limit}`;
      }
    };
    expect(outcome(() => canonicalPathWithin(input, canonicalPath(input), max))).toBe(outcome(() => canonicalPath(input, max)));
  });
});
