import { createSecretsFileCheck, createSecretsImageCheck } from '../../../../lib/engine/checks/secrets';
import { FileTree } from '../../../../lib/engine/layers/file-tree';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import type { ImageConfig } from '../../../../lib/engine/model';
import { scanImage } from '../../../../lib/engine/scan-image';
import { buildImage } from '../../../../lib/local/builder/image-builder';
import { MemorySource } from '../../../helpers/memory-source';
import { checkBuiltLayers, expectNoLeak, fake, generatedKeys, pemBody, readBuiltLayers } from './helpers';

describe('built as real images (RELIABILITY.md 10: a secret deleted by a later layer is still reported with its layer)', () => {
  const { rsa, ec } = generatedKeys();
  const ghp = fake.github('ghp', 41);
  const npm = fake.npm(42);
  const binaryToken = fake.github('ghp', 43);
  const password = fake.password(44);
  const secrets = [pemBody(rsa), pemBody(ec), ghp, npm, binaryToken, password];

  const image = buildImage({
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin', `GITHUB_TOKEN=${ghp}`, 'NODE_ENV=production'], Cmd: ['node', 'server.js'] },
    layers: [
      {
        createdBy: 'COPY . /',
        entries: [
          { path: 'root/.ssh/id_rsa', body: rsa, mode: 0o600 },
          { path: 'app/config.yml', body: 'listen: 8080\ndatabase:\n  password: ${DB_PASSWORD}\n' },
          // A binary with a token inside: captured (no extension) but not scanned (NUL bytes).
          { path: 'usr/local/bin/tool', body: Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01\x00\0\0', 'latin1'), Buffer.from(`token=${binaryToken}`)]), mode: 0o755 },
          // Third-party test data: never captured.
          { path: 'app/node_modules/tunnel/test/keys/agent1-key.pem', body: ec },
        ],
      },
      {
        createdBy: 'RUN rm /root/.ssh/id_rsa && echo "DB_PASSWORD=..." > /app/.env',
        entries: [
          { path: 'root/.ssh/.wh.id_rsa' },
          { path: 'app/.env', body: `DB_PASSWORD=${password}\n` },
        ],
      },
    ],
    emptyHistory: [`ARG NPM_TOKEN=${npm}`],
  });
  const fileCheck = createSecretsFileCheck();
  const imageCheck = createSecretsImageCheck();

  it('the file check, streaming each layer through the real reader, reports the deleted key with layer 1', async () => {
    const read = await checkBuiltLayers(image, fileCheck);
    const layers = read.map((l) => l.layer);
    const [{ layer: l1, result: r1 }, { layer: l2, result: r2 }] = read;
    const built = image.images[0].layers;
    expect(l1.digest).toBe(built[0].descriptor.digest);
    expect(l1.diffId).toBe(built[0].diffId);

    // What the check examined: the key, the config, the binary (probed, not scanned) — not the package's
    // test key; nothing was captured for it.
    expect(l1.coverage?.consumers.secrets).toEqual({ files: 3, bytes: Buffer.byteLength(rsa) + Buffer.byteLength('listen: 8080\ndatabase:\n  password: ${DB_PASSWORD}\n') + 10 + Buffer.byteLength(`token=${binaryToken}`) });
    expect(l1.entries.get('/root/.ssh/id_rsa')?.body).toBeUndefined();
    expect(l2.whiteouts).toEqual(['/root/.ssh/id_rsa']);

    // The key is gone from what a container sees…
    const tree = FileTree.squash(layers, DEFAULT_LIMITS);
    expect(tree.get('/root/.ssh/id_rsa')).toBeUndefined();
    expect(tree.get('/app/.env')).toBeDefined();

    // …but still in layer 1's blob, and reported with that layer.
    expect(r1.findings).toEqual([
      { type: 'secret', id: 'private-key', aliases: [], severity: 'high', layer: built[0].descriptor.digest, path: '/root/.ssh/id_rsa', message: expect.stringMatching(/^Private key \(RSA PRIVATE KEY\) in \/root\/\.ssh\/id_rsa line 2: MIIE\*\*\* \[\d+ chars\]$/) },
    ]);
    expect(r2.findings).toEqual([
      { type: 'secret', id: 'generic-secret', aliases: [], severity: 'medium', layer: built[1].descriptor.digest, path: '/app/.env', message: `Hard-coded secret assignment (DB_PASSWORD) in /app/.env line 1: ${password.slice(0, 4)}*** [20 chars]` },
    ]);
    expect([...r1.unknowns, ...r2.unknowns]).toEqual([]);
    expectNoLeak([r1, r2, layers.map((l) => l.unknowns)], secrets);
  });

  it('the image check, on the built config JSON and the squashed tree, reports the Env token and the build argument', async () => {
    const layers = await readBuiltLayers(image);
    const config = JSON.parse(image.images[0].config.bytes.toString('utf8')) as ImageConfig;
    expect(config).toEqual(image.images[0].configJson);
    const r = await imageCheck.run({ config, tree: FileTree.squash(layers, DEFAULT_LIMITS), layers: layers.map((l) => l.digest), manifestDigest: image.images[0].manifest.digest });
    expect(r.unknowns).toEqual([]);
    expect(r.findings).toEqual([
      { type: 'secret', id: 'github-token', aliases: [], severity: 'critical', path: 'config:Env[1]', message: `GitHub token (personal access token) in config:Env[1]: ${ghp.slice(0, 4)}*** [40 chars]` },
      { type: 'secret', id: 'npm-token', aliases: [], severity: 'critical', path: 'history[2]', message: `npm access token in history[2]: ${npm.slice(0, 4)}*** [40 chars]` },
    ]);
    expectNoLeak(r, secrets);
  });

  it('through scanImage: both checks\' findings are in the image report, and no part of the scan result holds a secret', async () => {
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, checks: [fileCheck, imageCheck] });
    const img = r.images[0];
    const secretFindings = img.findings.filter((f) => f.type === 'secret');
    expect(secretFindings.map((f) => [f.id, f.path, f.layer])).toEqual(
      expect.arrayContaining([
        ['private-key', '/root/.ssh/id_rsa', image.images[0].layers[0].descriptor.digest],
        ['generic-secret', '/app/.env', image.images[0].layers[1].descriptor.digest],
        ['github-token', 'config:Env[1]', undefined],
        ['npm-token', 'history[2]', undefined],
      ]),
    );
    expect(secretFindings).toHaveLength(4);
    expectNoLeak(r, secrets);
  });
});
