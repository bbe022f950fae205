import { Readable } from 'node:stream';
import { FileTree } from '../../lib/engine/layers/file-tree';
import { readLayer, type LayerResult } from '../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { MediaType, sha256Digest } from '../../lib/engine/model';
import { keptBodies, releaseCatalogBodies, scanImage } from '../../lib/engine/scan-image';
import { allChecks } from '../../lib/engine/checks/checks';
import { buildImage } from '../../lib/local/builder/image-builder';
import { emptyAdvisories } from '../helpers/advisories';
import { MemorySource } from '../helpers/memory-source';
import { buildTar, type TarEntry } from '../../lib/local/builder/tar-writer';

/** Bodies captured for catalogers are dropped once a layer's catalogers ran (issue 16, memory); what the tree is read for stays. */
async function layer(entries: TarEntry[], wants: (p: string) => boolean): Promise<LayerResult> {
  const tar = buildTar(entries);
  return readLayer(Readable.from([tar]), { layerDigest: sha256Digest(tar), mediaType: MediaType.OciLayer, limits: DEFAULT_LIMITS, wants });
}

const bodies = (l: LayerResult) => Object.fromEntries([...l.entries].filter(([, e]) => e.body !== undefined).map(([p, e]) => [p, e.body!.toString()]));

describe('releaseCatalogBodies', () => {
  const entries: TarEntry[] = [
    { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID=12\n' },
    { path: 'var/lib/dpkg/info/bash.list', body: '/bin/bash\n' },
    { path: 'app/package.json', body: '{"name":"app","version":"1.0.0"}' },
    { path: 'app/node_modules/left-pad/package.json', body: '{"name":"left-pad","version":"1.3.0"}' },
    // A same-layer hardlink at a kept path: its bytes are its target's, whose own path is not kept.
    { path: 'opt/release', body: 'ID=alpine\n' },
    { path: 'usr/lib/os-release', type: 'hardlink', linkname: 'opt/release' },
    { path: 'srv/readme.txt', body: 'not captured' },
  ];
  const wants = (p: string) => p !== '/srv/readme.txt';
  const keep = keptBodies([]);

  it.each([
    ['kept paths (release files, package databases\u2019 file lists) keep their bodies', '/etc/os-release', 'ID=debian\nVERSION_ID=12\n'],
    ['a dpkg file list keeps its body', '/var/lib/dpkg/info/bash.list', '/bin/bash\n'],
    ['a kept hardlink\u2019s target keeps its body', '/opt/release', 'ID=alpine\n'],
  ])('%s', async (_name, path, body) => {
    const l = await layer(entries, wants);
    releaseCatalogBodies(l, keep);
    expect(bodies(l)[path]).toBe(body);
  });

  it('drops the bodies only catalogers wanted', async () => {
    const l = await layer(entries, wants);
    expect(Object.keys(bodies(l))).toEqual(expect.arrayContaining(['/app/package.json', '/app/node_modules/left-pad/package.json']));
    releaseCatalogBodies(l, keep);
    expect(Object.keys(bodies(l)).sort()).toEqual(['/etc/os-release', '/opt/release', '/usr/lib/os-release', '/var/lib/dpkg/info/bash.list']);
    // Only bodies go: the entries, sizes and coverage stay.
    expect(l.entries.get('/app/package.json')?.size).toBe('{"name":"app","version":"1.0.0"}'.length);
  });

  it('the squashed tree reads the kept paths as before (through the hardlink too)', async () => {
    const before = FileTree.squash([await layer(entries, wants)], DEFAULT_LIMITS);
    const released = await layer(entries, wants);
    releaseCatalogBodies(released, keep);
    const after = FileTree.squash([released], DEFAULT_LIMITS);
    for (const p of ['/etc/os-release', '/usr/lib/os-release', '/var/lib/dpkg/info/bash.list']) expect(after.readFile(p)?.toString()).toBe(before.readFile(p)?.toString());
    expect(after.readFile('/app/package.json')).toBeUndefined();
    expect(after.unknowns).toEqual(before.unknowns);
  });
});

describe('released bodies and a hardlink from a higher layer (what the release cannot make trusted)', () => {
  it('an os-release hardlinked to a lower layer\u2019s cataloger-only file is not read through it: quarantined, with the reason at the path', async () => {
    const stanza = 'Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n\n';
    const metadata = 'usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA';
    const image = buildImage({
      layers: [
        { entries: [{ path: 'var/lib/dpkg/status', body: stanza }, { path: metadata, body: 'ID=debian\nVERSION_ID="12"\n' }] },
        { entries: [{ path: 'etc/os-release', type: 'hardlink', linkname: metadata }] },
      ],
    });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), checks: allChecks() });
    expect(r.verdict.status).toBe('quarantined');
    expect(r.images[0].unknowns.filter((u) => u.path === '/etc/os-release').map((u) => u.class)).toContain('body-not-read');
  });
});
