import {
  BASE_IMAGE_RULES,
  BASE_NOT_TRUSTED,
  BASE_OUTDATED,
  type BaseImageCatalog,
  type BaseImageFinding,
  type BaseImageRecord,
  InMemoryBaseImageCatalog,
  createBaseImageCheck,
  detectBaseImage,
} from '../../../../lib/engine/checks/base-image';
import type { Digest } from '../../../../lib/engine/model';
import { type BuiltImage, type LayerSpec, buildImage } from '../../../../lib/local/builder/image-builder';
import { runOnBuilt } from '../misconfig/harness';

/**
 * Base-image detection and trust on built images: a "base" is built, "apps" are built on top of it
 * with the very same first layer(s) — so the same diff_ids, as `FROM base` gives — and the check runs
 * over what the real layer reader read back, against an in-memory catalog.
 */

const debianRootfs: LayerSpec = {
  entries: [
    { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' },
    { path: 'usr/bin/sh', body: 'ELF dash', mode: 0o755 },
  ],
  createdBy: '# debian.sh --arch amd64 bookworm @1704067200',
};
const debianRootfsRebuilt: LayerSpec = {
  entries: [
    { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' },
    { path: 'usr/bin/sh', body: 'ELF dash (security update)', mode: 0o755 },
  ],
  createdBy: '# debian.sh --arch amd64 bookworm @1709251200',
};
const alpineRootfs: LayerSpec = { entries: [{ path: 'etc/os-release', body: 'ID=alpine\nVERSION_ID=3.19.1\n' }], createdBy: 'ADD alpine-minirootfs.tar.gz / # buildkit' };
const pythonLayer: LayerSpec = { entries: [{ path: 'usr/local/bin/python3', body: 'ELF python', mode: 0o755 }], createdBy: 'RUN /bin/sh -c ./configure && make install # buildkit' };
const minerLayer: LayerSpec = { entries: [{ path: 'usr/local/bin/python3', body: 'ELF python + extras', mode: 0o755 }], createdBy: 'RUN /bin/sh -c make install # buildkit' };
const appLayer: LayerSpec = { entries: [{ path: 'app/server.js', body: 'console.log("hi")' }], createdBy: 'COPY . /app # buildkit' };

const JAN = '2024-01-01T00:00:00Z';
const MAR = '2024-03-01T00:00:00Z';

const debian = buildImage({ layers: [debianRootfs], created: JAN });
const debianRebuilt = buildImage({ layers: [debianRootfsRebuilt], created: MAR });
const debianSlim = buildImage({ layers: [{ ...debianRootfs, entries: debianRootfs.entries!.slice(0, 1) }], created: MAR });
const alpine = buildImage({ layers: [alpineRootfs], created: JAN });
const python = buildImage({ layers: [debianRootfs, pythonLayer], created: JAN });
const pythonWithMiner = buildImage({ layers: [debianRootfs, minerLayer], created: JAN });

const appOnDebian = buildImage({ layers: [debianRootfs, appLayer], config: { User: '1000' } });
const appOnDebianRebuilt = buildImage({ layers: [debianRootfsRebuilt, appLayer] });
const appOnPython = buildImage({ layers: [debianRootfs, pythonLayer, appLayer] });
const appOnMiner = buildImage({ layers: [debianRootfs, minerLayer, appLayer] });
const appFromScratch = buildImage({ layers: [appLayer] });

/** A catalog record for a built image. */
function rec(img: BuiltImage, ref: string, trusted: boolean, extra: Partial<BaseImageRecord> = {}): BaseImageRecord {
  const c = img.images[0].configJson;
  return { ref, digest: img.root.digest, diffIds: c.rootfs.diff_ids, ...(c.created ? { created: c.created } : {}), trusted, ...extra };
}

const DEBIAN_12 = 'docker.io/library/debian:12';

interface Expected {
  readonly id: string;
  readonly message: RegExp;
  /** The base the finding names (`null`: none). */
  readonly base: { ref: string; digest: Digest; layers: number; trusted: boolean } | null;
  /** Index of the image layer the finding points at. */
  readonly layer?: number;
  readonly newer?: Digest;
}

interface Case {
  readonly name: string;
  readonly image: BuiltImage;
  readonly records: readonly BaseImageRecord[];
  /** `none`: no base-image finding. */
  readonly expect: Expected | 'none';
}

const CASES: readonly Case[] = [
  // TC-BI-001 not from a trusted source
  { name: 'an app on a trusted base', image: appOnDebian, records: [rec(debian, DEBIAN_12, true), rec(alpine, 'docker.io/library/alpine:3.19', true)], expect: 'none' },
  { name: 'the trusted base image itself (full match)', image: debian, records: [rec(debian, DEBIAN_12, true)], expect: 'none' },
  { name: 'the nearest trusted ancestor wins (python on debian)', image: appOnPython, records: [rec(debian, DEBIAN_12, true), rec(python, 'docker.io/library/python:3.12', true)], expect: 'none' },
  { name: 'the same layers under a trusted and an untrusted ref', image: appOnDebian, records: [rec(debian, 'docker.io/someone/debian:12', false), rec(debian, DEBIAN_12, true)], expect: 'none' },
  {
    name: 'an app on a known but untrusted base',
    image: appOnDebian,
    records: [rec(debian, DEBIAN_12, false)],
    expect: { id: 'TC-BI-001', message: /the base image docker\.io\/library\/debian:12@sha256:[0-9a-f]{64} \(the first 1 of 2 layers\) is known but not trusted$/, base: { ref: DEBIAN_12, digest: debian.root.digest, layers: 1, trusted: false }, layer: 0 },
  },
  {
    name: 'an untrusted base built on a trusted one is still untrusted (longest prefix)',
    image: appOnMiner,
    records: [rec(debian, DEBIAN_12, true), rec(pythonWithMiner, 'docker.io/someone/python:3.12', false, { pattern: 'docker.io/someone/*:*' })],
    expect: { id: 'TC-BI-001', message: /someone\/python:3\.12@sha256:.* is known but not trusted \(pattern docker\.io\/someone\/\*:\*\); it is itself built on the trusted docker\.io\/library\/debian:12@sha256:[0-9a-f]{64} \(1 layer\)/, base: { ref: 'docker.io/someone/python:3.12', digest: pythonWithMiner.root.digest, layers: 2, trusted: false }, layer: 1 },
  },
  {
    name: 'the image is itself a known, untrusted base',
    image: debian,
    records: [rec(debian, DEBIAN_12, false)],
    expect: { id: 'TC-BI-001', message: /the image is the known base docker\.io\/library\/debian:12@sha256:.* is known but not trusted/, base: { ref: DEBIAN_12, digest: debian.root.digest, layers: 1, trusted: false }, layer: 0 },
  },
  {
    name: 'no base at all (built from scratch)',
    image: appFromScratch,
    records: [rec(debian, DEBIAN_12, true), rec(alpine, 'docker.io/library/alpine:3.19', true)],
    expect: { id: 'TC-BI-001', message: /no known base image: none of the 2 catalogued base images \(2 trusted\) is a layer prefix/, base: null },
  },
  {
    name: 'a base that shares no layer prefix (the rebuilt debian is not the old one)',
    image: appOnDebianRebuilt,
    records: [rec(debian, DEBIAN_12, true)],
    expect: { id: 'TC-BI-001', message: /no known base image/, base: null },
  },
  { name: 'an empty catalog', image: appOnDebian, records: [], expect: { id: 'TC-BI-001', message: /none of the 0 catalogued base images/, base: null } },

  // TC-BI-002 outdated
  {
    name: 'an app on an older trusted digest of a tag that moved on',
    image: appOnDebian,
    records: [rec(debian, DEBIAN_12, true), rec(debianRebuilt, DEBIAN_12, true)],
    expect: { id: 'TC-BI-002', message: new RegExp(`debian:12@${debian.root.digest} \\(created ${JAN}\\) is outdated: a newer trusted digest ${debianRebuilt.root.digest} \\(docker\\.io/library/debian:12, created ${MAR}\\) exists`), base: { ref: DEBIAN_12, digest: debian.root.digest, layers: 1, trusted: true }, layer: 0, newer: debianRebuilt.root.digest },
  },
  {
    name: 'pinned digests without a tag compare within the repository',
    image: appOnDebian,
    records: [rec(debian, `docker.io/library/debian@${debian.root.digest}`, true), rec(debianRebuilt, `docker.io/library/debian@${debianRebuilt.root.digest}`, true)],
    expect: { id: 'TC-BI-002', message: /is outdated: a newer trusted digest/, base: { ref: `docker.io/library/debian@${debian.root.digest}`, digest: debian.root.digest, layers: 1, trusted: true }, newer: debianRebuilt.root.digest },
  },
  { name: 'the base is the newest digest of its tag', image: appOnDebianRebuilt, records: [rec(debian, DEBIAN_12, true), rec(debianRebuilt, DEBIAN_12, true)], expect: 'none' },
  { name: 'a newer digest of another tag (12-slim) does not make 12 outdated', image: appOnDebian, records: [rec(debian, DEBIAN_12, true), rec(debianSlim, 'docker.io/library/debian:12-slim', true)], expect: 'none' },
  { name: 'a newer digest that is not trusted does not count', image: appOnDebian, records: [rec(debian, DEBIAN_12, true), rec(debianRebuilt, DEBIAN_12, false)], expect: 'none' },
  { name: 'a newer digest of another repository does not count', image: appOnDebian, records: [rec(debian, DEBIAN_12, true), rec(debianRebuilt, 'docker.io/library/ubuntu:12', true)], expect: 'none' },
  { name: 'without created dates nothing is outdated', image: appOnDebian, records: [rec(debian, DEBIAN_12, true, { created: undefined }), rec(debianRebuilt, DEBIAN_12, true)], expect: 'none' },
];

describe('base-image check on built images', () => {
  it('an app built on a base shares its first diff_ids', () => {
    expect(appOnDebian.images[0].configJson.rootfs.diff_ids[0]).toBe(debian.images[0].configJson.rootfs.diff_ids[0]);
    expect(appOnPython.images[0].configJson.rootfs.diff_ids.slice(0, 2)).toEqual(python.images[0].configJson.rootfs.diff_ids);
    expect(appOnDebianRebuilt.images[0].configJson.rootfs.diff_ids[0]).not.toBe(debian.images[0].configJson.rootfs.diff_ids[0]);
  });

  it.each(CASES.map((c) => [`${c.expect === 'none' ? '−' : `+ ${c.expect.id}`} ${c.name}`, c] as const))('%s', async (_name, c) => {
    const { result, layers } = await runOnBuilt(c.image, createBaseImageCheck(new InMemoryBaseImageCatalog(c.records)));
    expect(result.unknowns).toEqual([]);
    if (c.expect === 'none') {
      expect(result.findings).toEqual([]);
      return;
    }
    const e = c.expect;
    expect(result.findings).toHaveLength(1);
    const f = result.findings[0] as BaseImageFinding;
    const rule = BASE_IMAGE_RULES.find((r) => r.id === e.id)!;
    expect(f).toMatchObject({ type: 'base-image', id: e.id, aliases: [], severity: rule.severity, remediation: rule.remediation, path: 'config:rootfs.diff_ids' });
    expect(f.message).toMatch(e.message);
    if (e.base === null) expect(f.base).toBeUndefined();
    else expect(f.base).toMatchObject(e.base);
    if (e.layer !== undefined) expect(f.layer).toBe(layers[e.layer].digest);
    if (e.newer !== undefined) expect(f.newer?.digest).toBe(e.newer);
    else expect(f.newer).toBeUndefined();
  });

  it('has a positive and a negative case for every rule', () => {
    for (const r of BASE_IMAGE_RULES) {
      const positive = CASES.some((c) => c.expect !== 'none' && c.expect.id === r.id);
      // A negative for TC-BI-001 is any trusted match; for TC-BI-002, a trusted match with other trusted records around.
      const negative = CASES.some((c) => c.expect === 'none' && (r.id === BASE_NOT_TRUSTED.id || c.records.filter((x) => x.trusted).length > 1));
      expect({ rule: r.id, positive, negative }).toEqual({ rule: r.id, positive: true, negative: true });
    }
    expect(BASE_IMAGE_RULES.map((r) => [r.id, r.severity])).toEqual([['TC-BI-001', 'high'], ['TC-BI-002', 'medium']]);
    expect(BASE_OUTDATED.remediation).not.toContain('\n');
  });

  it('a catalog that cannot be read is an unknown, never a pass or a guess', async () => {
    const broken: BaseImageCatalog = { entries: () => Promise.reject(new Error('registry unreachable')) };
    const { result } = await runOnBuilt(appOnDebian, createBaseImageCheck(broken));
    expect(result.findings).toEqual([]);
    expect(result.unknowns).toEqual([{ layer: appOnDebian.root.digest, path: 'config:rootfs.diff_ids', reason: expect.stringContaining('registry unreachable'), class: 'parse-error', consumer: 'base-image' }]);
  });

  it('is an image check named base-image that wants no file body', () => {
    const check = createBaseImageCheck(new InMemoryBaseImageCatalog());
    expect({ kind: check.kind, name: check.name, version: check.version, wants: check.wants }).toEqual({ kind: 'image', name: 'base-image', version: '1.0.0', wants: undefined });
  });
});

describe('detectBaseImage', () => {
  const diffIds = appOnPython.images[0].configJson.rootfs.diff_ids;

  it('picks the record whose diff_ids are the longest prefix, and every record with those layers', () => {
    const records = [rec(debian, DEBIAN_12, true), rec(python, 'docker.io/library/python:3.12', true), rec(python, 'docker.io/library/python:3.12-bookworm', true), rec(alpine, 'docker.io/library/alpine:3.19', true)];
    const m = detectBaseImage(diffIds, records);
    expect(m?.layers).toBe(2);
    expect(m?.records.map((r) => r.ref)).toEqual(['docker.io/library/python:3.12', 'docker.io/library/python:3.12-bookworm']);
    expect(m?.record.ref).toBe('docker.io/library/python:3.12');
    expect(m?.trusted).toBe(true);
  });

  it('never matches a record longer than the image or one that differs in any layer', () => {
    expect(detectBaseImage(debian.images[0].configJson.rootfs.diff_ids, [rec(python, 'docker.io/library/python:3.12', true)])).toBeUndefined();
    expect(detectBaseImage(diffIds, [rec(pythonWithMiner, 'x.example/p:1', true)])).toBeUndefined();
    expect(detectBaseImage([], [rec(debian, DEBIAN_12, true)])).toBeUndefined();
  });
});

describe('InMemoryBaseImageCatalog', () => {
  it('returns its records and validates them on the way in', async () => {
    const c = new InMemoryBaseImageCatalog([rec(debian, DEBIAN_12, true)]);
    c.add(rec(alpine, 'docker.io/library/alpine:3.19', true));
    expect((await c.entries()).map((r) => r.ref)).toEqual([DEBIAN_12, 'docker.io/library/alpine:3.19']);
    expect(() => c.add({ ...rec(alpine, 'docker.io/library/alpine:3.19', true), digest: 'sha256:abc' as Digest })).toThrow(/alpine:3\.19.*invalid digest/);
    expect(() => c.add({ ...rec(alpine, 'docker.io/library/alpine:3.19', true), diffIds: [] })).toThrow(/diffIds must be a non-empty list/);
    expect(() => c.add({ ...rec(alpine, 'docker.io/library/alpine:3.19', true), created: 'yesterday' })).toThrow(/not a date/);
    expect(() => c.add({ ...rec(alpine, 'Not A Ref!', true) })).toThrow();
  });
});
