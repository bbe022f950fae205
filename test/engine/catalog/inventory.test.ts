import { Readable } from 'node:stream';
import { catalogLayer, catalogWants, overlayInventories } from '../../../lib/engine/catalog/inventory';
import { FileTree } from '../../../lib/engine/layers/file-tree';
import { readLayer, type LayerResult } from '../../../lib/engine/layers/layer-reader';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { MediaType, sha256Digest } from '../../../lib/engine/model';
import { type TarEntry, buildTar } from '../../../lib/local/builder/tar-writer';

const stanza = (name: string, version: string) => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;
const pkgJson = (name: string, version: string) => JSON.stringify({ name, version });

async function layer(entries: TarEntry[]): Promise<LayerResult> {
  const tar = buildTar(entries);
  return readLayer(Readable.from([tar]), { layerDigest: sha256Digest(tar), mediaType: MediaType.OciLayer, limits: DEFAULT_LIMITS, wants: catalogWants() });
}

const names = (pkgs: readonly { name: string; version: string }[]) => pkgs.map((p) => `${p.name}@${p.version}`).sort();

describe('layer inventories and their overlay', () => {
  it('a package deleted or replaced by a later layer is not in the image inventory', async () => {
    const base = await layer([
      { path: 'var/lib/dpkg/status', body: stanza('libc6', '2.36-9') + stanza('openssl', '3.0.9-1') },
      { path: 'app/node_modules/left-pad/package.json', body: pkgJson('left-pad', '1.3.0') },
      { path: 'app/node_modules/lodash/package.json', body: pkgJson('lodash', '4.17.20') },
    ]);
    const upper = await layer([
      // apt-get upgrade: the status file is rewritten; npm rm left-pad: a whiteout deletes its folder.
      { path: 'var/lib/dpkg/status', body: stanza('libc6', '2.36-9') + stanza('openssl', '3.0.11-1') },
      { path: 'app/node_modules/.wh.left-pad' },
    ]);
    const inventories = [catalogLayer(base), catalogLayer(upper)];
    expect(names(inventories[0].packages)).toEqual(['left-pad@1.3.0', 'libc6@2.36-9', 'lodash@4.17.20', 'openssl@3.0.9-1']);
    const image = overlayInventories(inventories, FileTree.squash([base, upper], DEFAULT_LIMITS));
    expect(names(image)).toEqual(['libc6@2.36-9', 'lodash@4.17.20', 'openssl@3.0.11-1']);
    const lodash = image.find((p) => p.name === 'lodash');
    expect(lodash?.locations).toEqual([{ layer: base.digest, path: '/app/node_modules/lodash/package.json' }]);
    expect(image.find((p) => p.name === 'openssl')?.locations[0].layer).toBe(upper.digest);
  });

  it('an opaque directory hides the packages below it', async () => {
    const base = await layer([{ path: 'srv/app/node_modules/a/package.json', body: pkgJson('a', '1.0.0') }]);
    const upper = await layer([{ path: 'srv/app/node_modules/.wh..wh..opq' }, { path: 'srv/app/node_modules/b/package.json', body: pkgJson('b', '2.0.0') }]);
    const image = overlayInventories([catalogLayer(base), catalogLayer(upper)], FileTree.squash([base, upper], DEFAULT_LIMITS));
    expect(names(image)).toEqual(['b@2.0.0']);
  });

  it('only wanted bodies are captured', async () => {
    const l = await layer([{ path: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' }, { path: 'var/lib/dpkg/status', body: stanza('bash', '5.2-2') }]);
    expect(l.entries.get('/etc/passwd')?.body).toBeUndefined();
    expect(l.entries.get('/var/lib/dpkg/status')?.body?.toString()).toContain('bash');
  });
});
