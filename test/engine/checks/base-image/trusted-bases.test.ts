import { TrustedBasesError, parseBasePattern, parseTrustedBases, trustOf } from '../../../../lib/engine/checks/base-image';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;

const GOOD_YAML = `# the platform team's vetted bases
version: 1
bases:
  - image: docker.io/library/debian:12-slim@${D1}
  - image: public.ecr.aws/docker/library/alpine
    digests:
      - ${D2}
      - ${D3}
  - pattern: debian:*
  - pattern: public.ecr.aws/docker/library/*
  - pattern: registry.example.com/base/**:stable-*
    note: the golden images
  - pattern: docker.io/library/centos
    trusted: false
    note: end of life since 2024-06-30
`;

describe('parseTrustedBases', () => {
  it('reads every entry form, normalising names as docker pull does', () => {
    const c = parseTrustedBases(GOOD_YAML, 'trusted-bases.yaml');
    expect(c.version).toBe(1);
    expect(c.bases).toEqual([
      { kind: 'digests', registry: 'docker.io', repository: 'library/debian', tag: '12-slim', digests: [D1], trusted: true, entry: 1, line: 4 },
      { kind: 'digests', registry: 'public.ecr.aws', repository: 'docker/library/alpine', digests: [D2, D3], trusted: true, entry: 2, line: 5 },
      { kind: 'pattern', pattern: 'docker.io/library/debian:*', registry: 'docker.io', repository: 'library/debian', tag: '*', trusted: true, entry: 3, line: 9 },
      { kind: 'pattern', pattern: 'public.ecr.aws/docker/library/*:*', registry: 'public.ecr.aws', repository: 'docker/library/*', tag: '*', trusted: true, entry: 4, line: 10 },
      { kind: 'pattern', pattern: 'registry.example.com/base/**:stable-*', registry: 'registry.example.com', repository: 'base/**', tag: 'stable-*', trusted: true, note: 'the golden images', entry: 5, line: 11 },
      { kind: 'pattern', pattern: 'docker.io/library/centos:*', registry: 'docker.io', repository: 'library/centos', tag: '*', trusted: false, note: 'end of life since 2024-06-30', entry: 6, line: 13 },
    ]);
  });

  it('reads the same file as JSON', () => {
    const json = JSON.stringify({ version: 1, bases: [{ image: `debian@${D1}` }, { pattern: 'public.ecr.aws/docker/library/*', trusted: true }] }, null, 2);
    const c = parseTrustedBases(json);
    expect(c.bases.map((b) => (b.kind === 'pattern' ? b.pattern : `${b.registry}/${b.repository}@${b.digests.join(',')}`))).toEqual([`docker.io/library/debian@${D1}`, 'public.ecr.aws/docker/library/*:*']);
  });

  it('accepts an empty list (trusts nothing) and a file without version', () => {
    expect(parseTrustedBases('bases: []\n')).toEqual({ version: 1, bases: [] });
    expect(parseTrustedBases('bases:\n')).toEqual({ version: 1, bases: [] });
  });

  const BAD: readonly (readonly [string, string, RegExp])[] = [
    ['not YAML at all', 'bases:\n  - image: [unclosed\n', /^f\.yaml: line \d+: not valid YAML or JSON/],
    ['a duplicate key', 'bases: []\nbases: []\n', /^f\.yaml: line 2: not valid YAML or JSON: .*[Uu]nique/],
    ['an empty file', '', /the file is empty/],
    ['a list at the top', '- image: x\n', /^f\.yaml: line 1: expected a mapping with a "bases" list/],
    ['no bases', 'version: 1\n', /missing "bases"/],
    ['an unknown top-level key', 'version: 1\nbase: []\n', /^f\.yaml: line 2: unknown key "base"/],
    ['version 2', 'version: 2\nbases: []\n', /line 1: unsupported version 2: only version 1 exists/],
    ['bases not a list', 'bases: debian\n', /line 1: "bases" must be a list/],
    ['an entry that is a string', `bases:\n  - debian@${D1}\n`, /^f\.yaml: entry 1 \(line 2\): each entry must be a mapping/],
    ['both image and pattern', `bases:\n  - image: debian@${D1}\n    pattern: debian:*\n`, /^f\.yaml: entry 1 \(line 2\): give exactly one of "image" \(digests\) or "pattern"/],
    ['neither image nor pattern', 'bases:\n  - note: hello\n', /entry 1 \(line 2\): give exactly one/],
    ['an image without a digest', `bases:\n  - pattern: debian:*\n  - image: docker.io/library/debian:12\n`, /^f\.yaml: entry 2 \(line 3\): "image" "docker\.io\/library\/debian:12" names no digest: add @sha256:… or a "digests" list, or use "pattern"/],
    ['a bad digest in digests', `bases:\n  - image: alpine\n    digests:\n      - ${D1}\n      - sha256:abc\n`, /^f\.yaml: entry 1 \(line 5\): invalid digest "sha256:abc"/],
    ['an empty digests list', 'bases:\n  - image: alpine\n    digests: []\n', /entry 1 \(line 3\): "digests" must be a non-empty list/],
    ['a digest in both places', `bases:\n  - image: alpine@${D1}\n    digests: [${D2}]\n`, /entry 1 \(line 3\): "image" already names a digest/],
    ['a typo in a key', `bases:\n  - image: alpine\n    digest: ${D1}\n`, /^f\.yaml: entry 1 \(line 3\): unknown key "digest" \(expected image, pattern, digests, trusted, note\)/],
    ['an invalid image reference', `bases:\n  - image: Not/A Ref@${D1}\n`, /entry 1 \(line 2\): invalid/],
    ['a wildcard in image', 'bases:\n  - image: debian:*\n', /entry 1 \(line 2\): "image" "debian:\*" holds a wildcard: use "pattern"/],
    ['a digest in a pattern', `bases:\n  - pattern: debian@${D1}\n`, /entry 1 \(line 2\): pattern .* names a digest: use "image:" for digests/],
    ['a wildcard registry', 'bases:\n  - pattern: "*.example.com/base/*"\n', /entry 1 \(line 2\): the registry of pattern .* cannot hold a wildcard/],
    ['digests with a pattern', `bases:\n  - pattern: debian:*\n    digests: [${D1}]\n`, /entry 1 \(line 3\): "digests" goes with "image", not with "pattern"/],
    ['trusted not a boolean', `bases:\n  - image: debian@${D1}\n    trusted: "yes"\n`, /entry 1 \(line 3\): "trusted" must be true or false/],
    ['a bad tag pattern', 'bases:\n  - pattern: debian:12?\n', /entry 1 \(line 2\): invalid tag pattern "12\?"/],
    ['an upper-case repository', 'bases:\n  - pattern: docker.io/Library/*\n', /entry 1 \(line 2\): invalid repository pattern/],
  ];

  it.each(BAD)('rejects %s, naming the entry and line', (_name, text, message) => {
    let err: unknown;
    try {
      parseTrustedBases(text, 'f.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrustedBasesError);
    expect((err as TrustedBasesError).code).toBe('BAD_TRUSTED_BASES');
    expect((err as Error).message).toMatch(message);
  });

  it('puts the line and entry on the error', () => {
    try {
      parseTrustedBases(`bases:\n  - pattern: debian:*\n  - image: alpine\n`, 'f.yaml');
      throw new Error('no error');
    } catch (e) {
      expect(e).toMatchObject({ line: 3, entry: 2 });
    }
  });
});

describe('trustOf and patterns', () => {
  const config = parseTrustedBases(GOOD_YAML);

  const TABLE: readonly (readonly [string, boolean, boolean])[] = [
    // ref, trusted, known
    [`docker.io/library/debian:12-slim@${D1}`, true, true],
    [`debian@${D1}`, true, true],
    ['debian:12', true, true],
    ['docker.io/library/debian', true, true],
    [`public.ecr.aws/docker/library/alpine@${D2}`, true, true],
    ['public.ecr.aws/docker/library/alpine:3.19', true, true],
    ['public.ecr.aws/docker/library/team/x:1', false, false], // `*` stays inside one component
    ['registry.example.com/base/a/b:stable-2024', true, true], // `**` crosses components
    ['registry.example.com/base/a:latest', false, false],
    ['centos:7', false, true], // known, not trusted
    ['docker.io/someone/debian:12', false, false],
    [`public.ecr.aws/docker/library/alpine@${D1}`, true, true], // the pattern trusts every alpine digest
    [`docker.io/library/ubuntu@${D1}`, false, false],
  ];

  it.each(TABLE)('%s → trusted %s, known %s', (ref, trusted, known) => {
    const t = trustOf(config, ref);
    expect({ trusted: t.trusted, known: t.known }).toEqual({ trusted, known });
  });

  it('lets a trusted: false entry win over a trusted one', () => {
    const c = parseTrustedBases('bases:\n  - pattern: docker.io/library/*\n  - pattern: centos:*\n    trusted: false\n');
    expect(trustOf(c, 'debian:12').trusted).toBe(true);
    expect(trustOf(c, 'centos:7')).toMatchObject({ trusted: false, known: true });
    expect(trustOf(c, 'centos:7').entries).toHaveLength(2);
  });

  it('normalises patterns', () => {
    expect(parseBasePattern('alpine').pattern).toBe('docker.io/library/alpine:*');
    expect(parseBasePattern('bitnami/redis:7.*').pattern).toBe('docker.io/bitnami/redis:7.*');
    expect(parseBasePattern('localhost:5000/base/*').pattern).toBe('localhost:5000/base/*:*');
    expect(parseBasePattern('docker.io/*').pattern).toBe('docker.io/library/*:*');
  });
});
